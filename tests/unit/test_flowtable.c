// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_flowtable.c - flowtable.c: one flow per connection (port reuse after FIN/RST and idle
 * gaps start new flows), initiator rules, ICMP echo keying, expiry with bounded work,
 * eviction of the least recently active flow when full, lookups in either orientation, one
 * tuple in two network namespaces as two flows; a fresh table's first flows take no page fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flowtable.h"
#include "page_faults.h"

#define SEC 1000000000ull

struct ctx {
	uint64_t next_id;
	uint64_t removed[64];
	size_t n_removed;
};

static uint64_t alloc_id(void *c)
{
	return ++((struct ctx *)c)->next_id;
}

static void removed(void *c, struct flow *f)
{
	struct ctx *x = c;
	if (x->n_removed < 64)
		x->removed[x->n_removed] = f->rec.id;
	x->n_removed++;
}

/* A table with TCP's and UDP's idle times of 10 and 2 minutes, and the given times for
 * closed TCP flows and short-lived UDP ones (0: their defaults). */
static struct flowtable *mk_table_idle(struct ctx *c, uint32_t max, uint64_t closed_idle,
				       uint64_t short_idle)
{
	struct flowtable_options o = {
		.tcp_idle_ns = 600 * SEC,
		.udp_idle_ns = 120 * SEC,
		.tcp_closed_idle_ns = closed_idle,
		.udp_short_idle_ns = short_idle,
		.max_flows = max,
		.new_id = alloc_id,
		.on_remove = removed,
		.ctx = c,
	};
	struct flowtable *ft = NULL;
	memset(c, 0, sizeof(*c));
	assert_int_equal(flowtable_new(&o, &ft), 0);
	return ft;
}

static struct flowtable *mk_table(struct ctx *c, uint32_t max)
{
	return mk_table_idle(c, max, 10 * SEC, 0);
}

static void v4(uint8_t a[16], uint32_t ip)
{
	memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)(ip >> 24);
	a[13] = (uint8_t)(ip >> 16);
	a[14] = (uint8_t)(ip >> 8);
	a[15] = (uint8_t)ip;
}

static struct decoded pkt(uint8_t proto, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp,
			  uint8_t flags)
{
	struct decoded d;
	memset(&d, 0, sizeof(d));
	d.family = 4;
	d.proto = proto;
	v4(d.src, src);
	v4(d.dst, dst);
	d.sport = sp;
	d.dport = dp;
	d.flags = DECODE_F_L4HDR;
	if (proto == FLOW_PROTO_TCP) {
		d.flags |= DECODE_F_TCP_HDR;
		d.tcp_flags = flags;
	}
	return d;
}

static struct flow_hit feed(struct flowtable *ft, const struct decoded *d, uint64_t ts)
{
	struct ft_key k;
	bool lo;
	struct flow_hit h;
	assert_true(flowtable_key(d, 0, &k, &lo));
	assert_int_equal(flowtable_packet(ft, &k, lo, d, ts, &h), 0);
	return h;
}

#define CLI 0x0a000001u
#define SRV 0x0a000002u

static void test_handshake_sides(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 16);
	struct decoded syn = pkt(6, CLI, 40000, SRV, 443, TCP_SYN);
	struct decoded synack = pkt(6, SRV, 443, CLI, 40000, TCP_SYN | TCP_ACK);
	struct decoded ack = pkt(6, CLI, 40000, SRV, 443, TCP_ACK);

	struct flow_hit h = feed(ft, &syn, 1 * SEC);
	assert_true(h.created);
	assert_int_equal(h.sender, FLOW_SIDE_A);
	assert_int_equal(h.flow->rec.id, 1);
	assert_int_equal(h.flow->rec.first_ns, 1 * SEC);
	uint8_t a[16];
	v4(a, CLI);
	assert_memory_equal(h.flow->rec.key.addr_a, a, 16);
	assert_int_equal(h.flow->rec.key.port_a, 40000);
	assert_int_equal(h.flow->rec.key.port_b, 443);
	assert_int_equal(h.flow->rec.key.family, 4);
	assert_int_equal(h.flow->rec.key.proto, 6);

	struct flow *f = h.flow;
	h = feed(ft, &synack, 1 * SEC + 10);
	assert_false(h.created);
	assert_ptr_equal(h.flow, f);
	assert_int_equal(h.sender, FLOW_SIDE_B);
	h = feed(ft, &ack, 1 * SEC + 20);
	assert_int_equal(h.sender, FLOW_SIDE_A);
	assert_int_equal(f->last_ns, 1 * SEC + 20);
	/* A retransmitted SYN with no FIN in between stays in the flow. */
	h = feed(ft, &syn, 2 * SEC);
	assert_false(h.created);
	assert_int_equal(c.next_id, 1);
	flowtable_free(ft);
}

static void test_initiator_when_start_missed(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 16);
	/* First packet a SYN+ACK: its receiver is the initiator. */
	struct decoded synack = pkt(6, SRV, 443, CLI, 40001, TCP_SYN | TCP_ACK);
	struct flow_hit h = feed(ft, &synack, SEC);
	assert_int_equal(h.sender, FLOW_SIDE_B);
	assert_int_equal(h.flow->rec.key.port_a, 40001);

	/* Mid-stream, server speaks first: the higher port is the client. */
	struct decoded data = pkt(6, SRV, 22, CLI, 51000, TCP_ACK | TCP_PSH);
	h = feed(ft, &data, SEC);
	assert_int_equal(h.sender, FLOW_SIDE_B);
	assert_int_equal(h.flow->rec.key.port_a, 51000);
	assert_int_equal(h.flow->rec.key.port_b, 22);

	/* Mid-stream, equal ports: the sender. */
	struct decoded eq = pkt(6, SRV, 7000, CLI, 7000, TCP_ACK);
	h = feed(ft, &eq, SEC);
	assert_int_equal(h.sender, FLOW_SIDE_A);

	/* UDP: the first sender, whatever the ports. */
	struct decoded dns = pkt(17, SRV, 53, CLI, 33000, 0);
	h = feed(ft, &dns, SEC);
	assert_int_equal(h.sender, FLOW_SIDE_A);
	assert_int_equal(h.flow->rec.key.port_a, 53);
	flowtable_free(ft);
}

static void test_port_reuse_after_fin_and_rst(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 16);
	struct decoded syn = pkt(6, CLI, 40000, SRV, 80, TCP_SYN);
	struct decoded fin = pkt(6, CLI, 40000, SRV, 80, TCP_FIN | TCP_ACK);
	struct decoded finb = pkt(6, SRV, 80, CLI, 40000, TCP_FIN | TCP_ACK);
	struct decoded last = pkt(6, CLI, 40000, SRV, 80, TCP_ACK);
	struct decoded rst = pkt(6, SRV, 80, CLI, 40000, TCP_RST | TCP_ACK);

	uint64_t id1 = feed(ft, &syn, SEC).flow->rec.id;
	feed(ft, &fin, 2 * SEC);
	feed(ft, &finb, 2 * SEC + 1);
	struct flow_hit h = feed(ft, &last, 2 * SEC + 2);
	assert_false(h.created);
	assert_int_equal(h.flow->rec.id, id1);
	assert_true(h.flow->tcp_state & FT_FIN_A);
	assert_true(h.flow->tcp_state & FT_FIN_B);

	/* The same tuple again: a new connection. */
	h = feed(ft, &syn, 3 * SEC);
	assert_true(h.created);
	uint64_t id2 = h.flow->rec.id;
	assert_int_not_equal(id2, id1);
	assert_int_equal(c.n_removed, 1);
	assert_int_equal(c.removed[0], id1);
	assert_int_equal(h.flow->rec.first_ns, 3 * SEC);

	/* Refused by RST, then retried on the same port: a third flow. */
	feed(ft, &rst, 3 * SEC + 1);
	h = feed(ft, &syn, 4 * SEC);
	assert_true(h.created);
	assert_int_not_equal(h.flow->rec.id, id2);

	/* A FIN from one side only, then a SYN: also a new connection (half-closed reuse). */
	feed(ft, &fin, 5 * SEC);
	h = feed(ft, &syn, 6 * SEC);
	assert_true(h.created);

	struct flowtable_stats st;
	flowtable_get_stats(ft, &st);
	assert_int_equal(st.created, 4);
	assert_int_equal(st.replaced, 3);
	assert_int_equal(st.active, 1);
	flowtable_free(ft);
}

/*
 * A connection's packets delivered out of order (-i any reads per-CPU buffers in turn): the
 * server's data and both FINs first, then the SYN and the request, all older. The late SYN
 * is the connection's own, not a next one: one flow, its first packet the SYN's time.
 */
static void test_late_syn_same_connection(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 16);
	struct decoded syn = pkt(6, CLI, 40000, SRV, 80, TCP_SYN);
	struct decoded synack = pkt(6, SRV, 80, CLI, 40000, TCP_SYN | TCP_ACK);
	struct decoded data = pkt(6, SRV, 80, CLI, 40000, TCP_ACK | TCP_PSH);
	struct decoded fin = pkt(6, CLI, 40000, SRV, 80, TCP_FIN | TCP_ACK);
	struct decoded finb = pkt(6, SRV, 80, CLI, 40000, TCP_FIN | TCP_ACK);

	struct flow_hit h = feed(ft, &data, 5 * SEC);
	uint64_t id = h.flow->rec.id;
	feed(ft, &finb, 6 * SEC);
	feed(ft, &fin, 6 * SEC + 1);
	h = feed(ft, &syn, 1 * SEC);
	assert_false(h.created);
	assert_int_equal(h.flow->rec.id, id);
	assert_int_equal(h.flow->rec.first_ns, 1 * SEC);
	h = feed(ft, &synack, 1 * SEC + 1);
	assert_false(h.created);
	assert_int_equal(h.flow->rec.id, id);
	/* a SYN after the close is still the next connection */
	h = feed(ft, &syn, 7 * SEC);
	assert_true(h.created);
	assert_int_not_equal(h.flow->rec.id, id);
	flowtable_free(ft);
}

static void test_idle_gap(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 16);
	struct decoded t = pkt(6, CLI, 40000, SRV, 80, TCP_ACK);
	struct decoded u = pkt(17, CLI, 5000, SRV, 53, 0);
	uint64_t t1 = feed(ft, &t, SEC).flow->rec.id;
	uint64_t u1 = feed(ft, &u, SEC).flow->rec.id;
	/* Within each idle time: same flows. */
	assert_int_equal(feed(ft, &t, 600 * SEC).flow->rec.id, t1);
	assert_int_equal(feed(ft, &u, 121 * SEC).flow->rec.id, u1);
	/* Just past: new flows. */
	struct flow_hit h = feed(ft, &u, 241 * SEC + 1);
	assert_true(h.created);
	h = feed(ft, &t, 1200 * SEC + 1);
	assert_true(h.created);
	/* An older timestamp (out of order across interfaces) does not go back in time. */
	h = feed(ft, &t, 1100 * SEC);
	assert_false(h.created);
	assert_int_equal(h.flow->last_ns, 1200 * SEC + 1);
	flowtable_free(ft);
}

static struct decoded echo(uint32_t src, uint32_t dst, uint8_t type, uint16_t id)
{
	struct decoded d = pkt(1, src, 0, dst, 0, 0);
	d.icmp_type = type;
	d.icmp_id = id;
	d.flags |= DECODE_F_ECHO;
	return d;
}

static void test_icmp_echo(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 16);
	struct decoded req = echo(CLI, SRV, 8, 77), rep = echo(SRV, CLI, 0, 77);
	struct decoded other = echo(CLI, SRV, 8, 78);
	struct flow_hit h = feed(ft, &req, SEC);
	assert_true(h.created);
	assert_int_equal(h.flow->rec.key.port_a, 8 << 8);
	assert_int_equal(h.flow->rec.key.port_b, 77);
	struct flow *f = h.flow;
	h = feed(ft, &rep, SEC + 1);
	assert_ptr_equal(h.flow, f);
	assert_int_equal(h.sender, FLOW_SIDE_B);
	h = feed(ft, &other, SEC + 2);
	assert_true(h.created);

	/* A reply seen first: the pinger (its receiver) is still side A. */
	struct decoded late = echo(SRV, CLI, 0, 99);
	h = feed(ft, &late, SEC + 3);
	assert_int_equal(h.sender, FLOW_SIDE_B);
	uint8_t a[16];
	v4(a, CLI);
	assert_memory_equal(h.flow->rec.key.addr_a, a, 16);

	/* Not an echo: one flow per address pair, type/code in port_a. */
	struct decoded unreach = pkt(1, SRV, 0, CLI, 0, 0);
	unreach.icmp_type = 3;
	unreach.icmp_code = 1;
	h = feed(ft, &unreach, SEC + 4);
	assert_true(h.created);
	assert_int_equal(h.flow->rec.key.port_a, 3 << 8 | 1);
	assert_int_equal(h.flow->rec.key.port_b, 0);
	flowtable_free(ft);
}

static void test_key_rules(void **state)
{
	(void)state;
	struct ft_key k;
	bool lo;
	struct decoded d = pkt(6, CLI, 1, SRV, 2, 0);
	d.flags = 0; /* no ports read */
	assert_false(flowtable_key(&d, 0, &k, &lo));
	d.family = 0;
	assert_false(flowtable_key(&d, 0, &k, &lo));
	/* GRE (47): addresses only. */
	struct decoded g = pkt(47, SRV, 0, CLI, 0, 0);
	g.flags = 0;
	assert_true(flowtable_key(&g, 0, &k, &lo));
	assert_false(lo);
	assert_int_equal(k.port_lo, 0);
	/* Both orientations give one key. */
	struct ft_key k1, k2;
	bool lo1, lo2;
	struct decoded x = pkt(17, CLI, 9, SRV, 10, 0), y = pkt(17, SRV, 10, CLI, 9, 0);
	assert_true(flowtable_key(&x, 0, &k1, &lo1));
	assert_true(flowtable_key(&y, 0, &k2, &lo2));
	assert_memory_equal(&k1, &k2, sizeof(k1));
	assert_true(lo1 != lo2);
	/* Same address, ports decide. */
	struct decoded s1 = pkt(17, CLI, 9, CLI, 10, 0), s2 = pkt(17, CLI, 10, CLI, 9, 0);
	assert_true(flowtable_key(&s1, 0, &k1, &lo1));
	assert_true(flowtable_key(&s2, 0, &k2, &lo2));
	assert_memory_equal(&k1, &k2, sizeof(k1));
	assert_true(lo1 != lo2);
}

static void test_find(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 16);
	struct decoded syn = pkt(6, CLI, 40000, SRV, 443, TCP_SYN);
	struct flow *f = feed(ft, &syn, SEC).flow;
	uint8_t a[16], b[16];
	v4(a, CLI);
	v4(b, SRV);
	enum flow_side side;
	assert_ptr_equal(flowtable_find(ft, 0, 6, a, 40000, b, 443, &side), f);
	assert_int_equal(side, FLOW_SIDE_A);
	assert_ptr_equal(flowtable_find(ft, 0, 6, b, 443, a, 40000, &side), f);
	assert_int_equal(side, FLOW_SIDE_B);
	assert_null(flowtable_find(ft, 0, 17, a, 40000, b, 443, &side));
	assert_null(flowtable_find(ft, 0, 6, a, 40001, b, 443, &side));
	/* the same through a key made beforehand, end 1 either way */
	struct ft_key k;
	bool one_is_lo;
	flowtable_tuple_key(&k, 0, 6, b, 443, a, 40000, &one_is_lo);
	assert_ptr_equal(flowtable_find_key(ft, &k, one_is_lo, &side), f);
	assert_int_equal(side, FLOW_SIDE_B);
	flowtable_tuple_key(&k, 0, 6, a, 40000, b, 443, &one_is_lo);
	assert_ptr_equal(flowtable_find_key(ft, &k, one_is_lo, &side), f);
	assert_int_equal(side, FLOW_SIDE_A);
	flowtable_tuple_key(&k, 7, 6, a, 40000, b, 443, &one_is_lo);
	assert_null(flowtable_find_key(ft, &k, one_is_lo, &side));
	flowtable_free(ft);
}

/* The key hash the flow table and the recorder's tuple-keyed tables share: known answers for
 * one key (computed apart from this code, in Python, from the six little-endian words), every
 * bit of the key's fields moving it, and a seed giving another value for the same key. */
static void test_key_hash(void **state)
{
	(void)state;
	struct ft_key k;
	memset(&k, 0, sizeof(k));
	v4(k.lo, CLI);
	v4(k.hi, SRV);
	k.port_lo = 443;
	k.port_hi = 40000;
	k.proto = 6;
	k.netns = 4026531840u;
	uint32_t h = flowtable_key_hash(&k, 0);
	assert_int_equal(h, 0xfc362541u);
	assert_int_equal(flowtable_key_hash(&k, 7), 0x603c6206u);
	/* each bit of the fields (not the padding, always 0) */
	uint8_t *p = (uint8_t *)&k;
	for (size_t i = 0; i < sizeof(k); i++) {
		if (i >= offsetof(struct ft_key, pad) && i < offsetof(struct ft_key, netns))
			continue;
		if (i >= offsetof(struct ft_key, pad2))
			continue;
		for (int b = 0; b < 8; b++) {
			p[i] ^= (uint8_t)(1u << b);
			assert_int_not_equal(flowtable_key_hash(&k, 0), h);
			p[i] ^= (uint8_t)(1u << b);
		}
	}
	assert_int_equal(flowtable_key_hash(&k, 0), h);
}

/* Which end is the key's lo end: the lower address in memcmp's order, then the lower port.
 * Pairs that differ in each byte (the first, the eighth, the ninth, the last), in both
 * directions and with bytes that are negative as signed chars; equal addresses go by port. */
static void test_tuple_key_order(void **state)
{
	(void)state;
	static const size_t where[] = { 0, 7, 8, 9, 15 };
	static const uint8_t lo_hi[][2] = { { 0x00, 0x01 }, { 0x7f, 0x80 }, { 0x01, 0xff },
					    { 0xfe, 0xff } };
	uint8_t a[16], b[16];
	struct ft_key k;
	bool one_is_lo;
	for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		for (size_t v = 0; v < sizeof(lo_hi) / sizeof(lo_hi[0]); v++) {
			memset(a, 0xa5, 16);
			memcpy(b, a, 16);
			a[where[w]] = lo_hi[v][0];
			b[where[w]] = lo_hi[v][1];
			assert_true(memcmp(a, b, 16) < 0);
			/* the lower address is lo whatever the ports */
			flowtable_tuple_key(&k, 1, 6, a, 65535, b, 1, &one_is_lo);
			assert_true(one_is_lo);
			assert_memory_equal(k.lo, a, 16);
			assert_memory_equal(k.hi, b, 16);
			assert_int_equal(k.port_lo, 65535);
			assert_int_equal(k.port_hi, 1);
			flowtable_tuple_key(&k, 1, 6, b, 1, a, 65535, &one_is_lo);
			assert_false(one_is_lo);
			assert_memory_equal(k.lo, a, 16);
			assert_int_equal(k.port_lo, 65535);
		}
	}
	memset(a, 0x80, 16);
	flowtable_tuple_key(&k, 1, 17, a, 53, a, 40000, &one_is_lo);
	assert_true(one_is_lo);
	assert_int_equal(k.port_lo, 53);
	flowtable_tuple_key(&k, 1, 17, a, 40000, a, 53, &one_is_lo);
	assert_false(one_is_lo);
	assert_int_equal(k.port_lo, 53);
	flowtable_tuple_key(&k, 1, 17, a, 53, a, 53, &one_is_lo);
	assert_true(one_is_lo); /* equal ends: end 1 is lo */
}

/* The same tuple recorded in two network namespaces: two flows, each found only in its own. */
static void test_netns(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 16);
	struct decoded syn = pkt(6, CLI, 40000, SRV, 443, TCP_SYN);
	struct ft_key k1, k2;
	struct flow_hit h1, h2;
	bool lo1, lo2;
	uint8_t a[16], b[16];
	enum flow_side side;

	assert_true(flowtable_key(&syn, 4026531840u, &k1, &lo1));
	assert_true(flowtable_key(&syn, 4026532001u, &k2, &lo2));
	assert_int_equal(flowtable_packet(ft, &k1, lo1, &syn, SEC, &h1), 0);
	assert_int_equal(flowtable_packet(ft, &k2, lo2, &syn, SEC, &h2), 0);
	assert_true(h1.created);
	assert_true(h2.created);
	assert_ptr_not_equal(h1.flow, h2.flow);
	assert_true(h1.flow->rec.id != h2.flow->rec.id);
	v4(a, CLI);
	v4(b, SRV);
	assert_ptr_equal(flowtable_find(ft, 4026531840u, 6, a, 40000, b, 443, &side), h1.flow);
	assert_ptr_equal(flowtable_find(ft, 4026532001u, 6, b, 443, a, 40000, &side), h2.flow);
	assert_int_equal(side, FLOW_SIDE_B);
	assert_null(flowtable_find(ft, 0, 6, a, 40000, b, 443, &side));
	assert_null(flowtable_find(ft, 4026532002u, 6, a, 40000, b, 443, &side));
	/* the next packet of the second namespace stays in its flow */
	struct decoded ack = pkt(6, SRV, 443, CLI, 40000, TCP_SYN | TCP_ACK);
	assert_true(flowtable_key(&ack, 4026532001u, &k2, &lo2));
	assert_int_equal(flowtable_packet(ft, &k2, lo2, &ack, SEC + 1, &h2), 0);
	assert_false(h2.created);
	assert_int_equal(h2.sender, FLOW_SIDE_B);
	flowtable_free(ft);
}

static void test_expire_bounded(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 64);
	for (uint16_t i = 0; i < 10; i++) {
		struct decoded u = pkt(17, CLI, (uint16_t)(1000 + i), SRV, 53, 0);
		feed(ft, &u, SEC + i);
	}
	struct decoded t = pkt(6, CLI, 40000, SRV, 80, TCP_ACK);
	feed(ft, &t, SEC);
	assert_int_equal(flowtable_expire(ft, 100), 0);
	/* Advance the clock with one packet 200 s later: every UDP flow is now idle. */
	struct decoded late = pkt(17, CLI, 9999, SRV, 53, 0);
	feed(ft, &late, 200 * SEC);
	assert_int_equal(flowtable_now(ft), 200 * SEC);
	assert_int_equal(flowtable_expire(ft, 4), 4);
	assert_int_equal(c.removed[0], 1); /* oldest first */
	assert_int_equal(c.removed[3], 4);
	assert_int_equal(flowtable_expire(ft, 100), 6);
	assert_int_equal(flowtable_expire(ft, 100), 0);
	struct flowtable_stats st;
	flowtable_get_stats(ft, &st);
	assert_int_equal(st.active, 2); /* the TCP flow (600 s idle) and the late one */
	assert_int_equal(st.expired, 10);
	/* An expired tuple comes back as a new flow. */
	struct decoded u0 = pkt(17, CLI, 1000, SRV, 53, 0);
	struct flow_hit h = feed(ft, &u0, 201 * SEC);
	assert_true(h.created);
	flowtable_free(ft);
}

/* A connection closed both ways (or reset) leaves the table after 10 s of quiet; an open one
 * stays for the full TCP idle time; a closed one still takes its late ACK before that. */
static void test_closed_flows_leave_early(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 64);
	struct decoded syn = pkt(6, CLI, 40001, SRV, 80, TCP_SYN);
	struct decoded fin_a = pkt(6, CLI, 40001, SRV, 80, TCP_FIN | TCP_ACK);
	struct decoded fin_b = pkt(6, SRV, 80, CLI, 40001, TCP_FIN | TCP_ACK);
	struct decoded ack = pkt(6, CLI, 40001, SRV, 80, TCP_ACK);
	struct decoded open = pkt(6, CLI, 40002, SRV, 80, TCP_SYN);
	struct decoded rst = pkt(6, CLI, 40003, SRV, 80, TCP_RST);
	uint64_t closed_id = feed(ft, &syn, SEC).flow->rec.id;
	feed(ft, &open, SEC);
	feed(ft, &fin_a, 2 * SEC);
	feed(ft, &fin_b, 2 * SEC);
	uint64_t rst_id = feed(ft, &rst, 2 * SEC).flow->rec.id;
	struct flow_hit late = feed(ft, &ack, 5 * SEC); /* within the linger: same flow */
	assert_false(late.created);
	assert_int_equal(late.flow->rec.id, closed_id);
	struct decoded tick = pkt(17, CLI, 5000, SRV, 53, 0);
	feed(ft, &tick, 16 * SEC);
	assert_int_equal(flowtable_expire(ft, 100), 2);
	assert_int_equal(c.n_removed, 2);
	assert_true((c.removed[0] == closed_id && c.removed[1] == rst_id) ||
		    (c.removed[0] == rst_id && c.removed[1] == closed_id));
	struct flowtable_stats st;
	flowtable_get_stats(ft, &st);
	assert_int_equal(st.active, 2); /* the open connection and the UDP tick */
	flowtable_free(ft);
}

static void test_evict_when_full(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 4);
	for (uint16_t i = 0; i < 4; i++) {
		struct decoded u = pkt(17, CLI, (uint16_t)(1000 + i), SRV, 53, 0);
		feed(ft, &u, SEC + i);
	}
	/* Flow 1 becomes the most recent; TCP flow 5 must evict flow 2. */
	struct decoded u0 = pkt(17, CLI, 1000, SRV, 53, 0);
	feed(ft, &u0, 10 * SEC);
	struct decoded t = pkt(6, CLI, 40000, SRV, 80, TCP_SYN);
	struct flow_hit h = feed(ft, &t, 11 * SEC);
	assert_true(h.created);
	assert_int_equal(c.n_removed, 1);
	assert_int_equal(c.removed[0], 2);
	struct flowtable_stats st;
	flowtable_get_stats(ft, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.active, 4);
	uint8_t a[16], b[16];
	v4(a, CLI);
	v4(b, SRV);
	enum flow_side side;
	assert_null(flowtable_find(ft, 0, 17, a, 1001, b, 53, &side));
	assert_non_null(flowtable_find(ft, 0, 17, a, 1000, b, 53, &side));
	flowtable_free(ft);
}

/* The table remembers the last packet's flow to skip the hash: a flow expired while it was
 * the last one (a late packet made it so) is not found again through that memory. */
static void test_last_flow_expired(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 8);
	struct decoded a = pkt(17, CLI, 1000, SRV, 53, 0);
	struct decoded b = pkt(17, CLI, 1001, SRV, 53, 0);
	struct flow_hit h = feed(ft, &a, 2 * SEC);
	uint64_t a_id = h.flow->rec.id;
	feed(ft, &b, 500 * SEC);
	h = feed(ft, &a, SEC); /* late: a is the last flow, its time stays 2 s */
	assert_false(h.created);
	assert_int_equal(h.flow->rec.id, a_id);
	flowtable_expire(ft, 50); /* a is 498 s idle */
	assert_int_equal(c.n_removed, 1);
	assert_int_equal(c.removed[0], a_id);
	h = feed(ft, &a, 501 * SEC);
	assert_true(h.created);
	assert_int_not_equal(h.flow->rec.id, a_id);
	flowtable_free(ft);
}

/* Flows other than TCP whose packets all came within 2 s of the first (a query and its
 * answer) end after the short idle time; one with a later packet is a stream and keeps the
 * long one, as Linux conntrack does for UDP. */
static void test_short_udp_flows(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table_idle(&c, 16, 10 * SEC, 30 * SEC);
	struct decoded q = pkt(17, CLI, 5000, SRV, 53, 0), r = pkt(17, SRV, 53, CLI, 5000, 0);
	struct decoded s1 = pkt(17, CLI, 6000, SRV, 514, 0);
	struct flow_hit h = feed(ft, &q, 10 * SEC);
	uint64_t dns = h.flow->rec.id;
	feed(ft, &r, 10 * SEC + 1000000);
	h = feed(ft, &s1, 10 * SEC);
	uint64_t stream = h.flow->rec.id;
	feed(ft, &s1, 13 * SEC); /* 3 s after its first packet: a stream */
	/* 40 s on: the exchange is over, the stream is not */
	h = feed(ft, &q, 51 * SEC);
	assert_true(h.created);
	assert_int_not_equal(h.flow->rec.id, dns);
	h = feed(ft, &s1, 53 * SEC);
	assert_false(h.created);
	assert_int_equal(h.flow->rec.id, stream);
	/* expiry: a short flow idle over 30 s leaves, a stream idle under 120 s stays */
	struct decoded q2 = pkt(17, CLI, 5001, SRV, 53, 0);
	feed(ft, &q2, 54 * SEC);
	c.n_removed = 0;
	h = feed(ft, &s1, 90 * SEC); /* the clock moves on */
	flowtable_expire(ft, 50);
	assert_int_equal(c.n_removed, 2); /* the new q flow (51 s) and q2 (54 s) */
	uint8_t a[16], b[16];
	enum flow_side side;
	v4(a, CLI);
	v4(b, SRV);
	assert_null(flowtable_find(ft, 0, 17, a, 5001, b, 53, &side));
	assert_non_null(flowtable_find(ft, 0, 17, a, 6000, b, 514, &side));
	flowtable_free(ft);
}

/* Without a time of their own (tcp_closed_idle_ns 0), closed connections keep TCP's. */
static void test_closed_idle_default(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table_idle(&c, 16, 0, 0);
	struct decoded syn = pkt(6, CLI, 40000, SRV, 80, TCP_SYN);
	struct decoded rst = pkt(6, SRV, 80, CLI, 40000, TCP_RST);
	struct decoded ack = pkt(6, CLI, 40000, SRV, 80, TCP_ACK);
	struct flow_hit h = feed(ft, &syn, 1000 * SEC);
	uint64_t id = h.flow->rec.id;
	feed(ft, &rst, 1000 * SEC);
	h = feed(ft, &ack, 1200 * SEC); /* 200 s: longer than UDP's 120, shorter than TCP's */
	assert_false(h.created);
	assert_int_equal(h.flow->rec.id, id);
	flowtable_free(ft);
}

/* Many flows through a small table: every live flow stays findable, counts add up. */
static void test_churn(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 1000);
	uint64_t ts = SEC;
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t src = 0x0a000000u | (i * 2654435761u >> 12 & 0xffff);
		struct decoded u = pkt(i % 3 ? 17 : 6, src, (uint16_t)(1024 + i % 5000), SRV,
				       443, TCP_ACK);
		struct flow_hit h = feed(ft, &u, ts += 1000);
		assert_non_null(h.flow);
		uint8_t a[16], b[16];
		enum flow_side side;
		v4(a, src);
		v4(b, SRV);
		assert_ptr_equal(flowtable_find(ft, 0, u.proto, a, u.sport, b, 443, &side), h.flow);
		if (i % 4000 == 0)
			flowtable_expire(ft, 50);
	}
	struct flowtable_stats st;
	flowtable_get_stats(ft, &st);
	assert_true(st.active <= 1000);
	assert_int_equal(st.created, st.active + st.evicted + st.expired + st.replaced);
	assert_int_equal(st.created, c.next_id);
	assert_int_equal(c.n_removed, st.evicted + st.expired + st.replaced);
	flowtable_free(ft);
}

/* A fresh table's first few thousand flows take no page fault of their entries (made memory
 * at start: a fault is about 13 us on the development VM, one per 14 new flows otherwise). */
static void test_first_flows_resident(void **state)
{
	(void)state;
	struct ctx c;
	struct flowtable *ft = mk_table(&c, 1u << 20);
	long before = page_faults();
	for (uint32_t i = 0; i < 6000; i++) {
		struct decoded u = pkt(6, 0x0a000000u | i, (uint16_t)(1024 + i % 50000), SRV, 443,
				       TCP_SYN);
		assert_true(feed(ft, &u, SEC + i).created);
	}
	long taken = page_faults() - before;
	assert_true(!page_faults_checked() || taken <= 8); /* without: about 420 */
	flowtable_free(ft);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_sides),
		cmocka_unit_test(test_initiator_when_start_missed),
		cmocka_unit_test(test_port_reuse_after_fin_and_rst),
		cmocka_unit_test(test_late_syn_same_connection),
		cmocka_unit_test(test_idle_gap),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_key_rules),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_key_hash),
		cmocka_unit_test(test_tuple_key_order),
		cmocka_unit_test(test_netns),
		cmocka_unit_test(test_last_flow_expired),
		cmocka_unit_test(test_short_udp_flows),
		cmocka_unit_test(test_closed_idle_default),
		cmocka_unit_test(test_expire_bounded),
		cmocka_unit_test(test_closed_flows_leave_early),
		cmocka_unit_test(test_evict_when_full),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_first_flows_resident),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
