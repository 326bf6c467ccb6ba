// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_pipeline.c - pipeline.c over a real store in a temporary directory: flows and port
 * reuse, a ClientHello split over two segments linked to its flow, secrets before and after
 * their session (linked counts), which secrets are kept (only those of recorded sessions,
 * waiting a bounded time and number; all with keep_all_secrets), process hints by direction, socket owners learned before
 * and after the first packet, one tuple in two network namespaces with an owner each (and a
 * socket of no known namespace owning nothing), a container's connection before and after
 * MASQUERADE linked and owned through its socket in another namespace (also after an index
 * rebuild; a malformed link refused), the same under -i any where each flow is seen in its
 * own namespace (paired once each was seen in one; a flow seen in two is not linked),
 * IP fragments, packets without a flow, key
 * log loading; and the
 * per-packet throughput (printed; the test fails only far below the goal).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chunkmeta.h"
#include "idset.h"
#include "keylog.h"
#include "nat_sightings.h"
#include "pipeline.h"

#define SEC 1000000000ull
#define CLI 0x7f000001u
#define SRV 0x7f000002u
#define NS_HOST 4026531840u
#define NS_B 4026532200u

struct fx {
	char dir[64];
	struct store *store;
	struct pipeline *p;
	uint32_t eth, raw, eth_b;   /* eth and raw in NS_HOST, eth_b in NS_B */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ecap-test-pipeline-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	struct store_options so;
	store_options_default(&so);
	so.no_sync = true;
	so.quiet = true;
	int r = store_open(fx->dir, STORE_WRITE, &so, &fx->store);
	if (r < 0)
		fail_msg("store_open: %s", fx->store ? store_errmsg(fx->store) : strerror(-r));
	struct ecap_iface ifc = { .name = "eth0", .linktype = 1 };
	assert_int_equal(store_add_interface(fx->store, &ifc, &fx->eth), 0);
	struct ecap_iface raw = { .name = "tun0", .linktype = 101 };
	assert_int_equal(store_add_interface(fx->store, &raw, &fx->raw), 0);
	struct pipeline_options po;
	pipeline_options_default(&po);
	po.max_flows = 4096;
	assert_int_equal(pipeline_new(fx->store, &po, &fx->p), 0);
	struct ecap_iface ifb = { .name = "eth0@b", .linktype = 1 };
	assert_int_equal(store_add_interface(fx->store, &ifb, &fx->eth_b), 0);
	assert_int_equal(pipeline_iface_netns(fx->p, fx->eth, NS_HOST), 0);
	assert_int_equal(pipeline_iface_netns(fx->p, fx->raw, NS_HOST), 0);
	assert_int_equal(pipeline_iface_netns(fx->p, fx->eth_b, NS_B), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	pipeline_free(fx->p);
	store_close(fx->store);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
	free(fx);
	return 0;
}

/* ---- packet building ---------------------------------------------------------------------- */

struct pb {
	uint8_t b[2048];
	size_t n;
};

static void put(struct pb *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void put16(struct pb *p, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(p, b, 2);
}

static void put32(struct pb *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}

static void eth_ipv4(struct pb *p, uint8_t proto, uint32_t src, uint32_t dst, size_t l4len,
		     uint16_t id, uint16_t frag)
{
	put(p, "\2\0\0\0\0\1\2\0\0\0\0\2", 12);
	put16(p, 0x0800);
	put16(p, 0x4500);
	put16(p, (uint16_t)(20 + l4len));
	put16(p, id);
	put16(p, frag);
	put16(p, (uint16_t)(64 << 8 | proto));
	put16(p, 0);
	put32(p, src);
	put32(p, dst);
}

static struct pb tcp_pkt(uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, uint32_t seq,
			 uint8_t flags, const uint8_t *payload, size_t plen)
{
	struct pb p = { .n = 0 };
	eth_ipv4(&p, 6, src, dst, 20 + plen, 0, 0x4000);
	put16(&p, sp);
	put16(&p, dp);
	put32(&p, seq);
	put32(&p, 0);
	put16(&p, (uint16_t)(5 << 12 | flags));
	put16(&p, 65535);
	put32(&p, 0);
	if (plen)
		put(&p, payload, plen);
	return p;
}

static struct pb udp_pkt(uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, size_t plen)
{
	struct pb p = { .n = 0 };
	eth_ipv4(&p, 17, src, dst, 8 + plen, 0, 0);
	put16(&p, sp);
	put16(&p, dp);
	put16(&p, (uint16_t)(8 + plen));
	put16(&p, 0);
	for (size_t i = 0; i < plen; i++)
		put(&p, "x", 1);
	return p;
}

static uint64_t send_pkt_on(struct fx *fx, uint32_t iface, const struct pb *b, uint64_t ts,
			    uint32_t dir, const struct ecap_proc *proc)
{
	struct ecap_packet pkt = {
		.ts_ns = ts, .iface = iface, .caplen = (uint32_t)b->n,
		.origlen = (uint32_t)b->n, .flags = dir, .data = b->b,
	};
	int r = pipeline_packet(fx->p, &pkt, proc);
	if (r < 0)
		fail_msg("pipeline_packet: %s", store_errmsg(fx->store));
	return pkt.flow_id;
}

static uint64_t send_pkt(struct fx *fx, const struct pb *b, uint64_t ts, uint32_t dir,
			 const struct ecap_proc *proc)
{
	return send_pkt_on(fx, fx->eth, b, ts, dir, proc);
}

/* A ClientHello record stream with the given random. */
static size_t client_hello_random(uint8_t *out, const uint8_t random[32])
{
	size_t body = 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2;
	size_t n = 0;
	out[n++] = 22;
	out[n++] = 3;
	out[n++] = 1;
	out[n++] = (uint8_t)((body + 4) >> 8);
	out[n++] = (uint8_t)(body + 4);
	out[n++] = 1;
	out[n++] = 0;
	out[n++] = (uint8_t)(body >> 8);
	out[n++] = (uint8_t)body;
	out[n++] = 3;
	out[n++] = 3;
	memcpy(out + n, random, 32);
	n += 32;
	const uint8_t rest[] = { 0, 0, 2, 0x13, 0x01, 1, 0, 0, 0 };
	memcpy(out + n, rest, sizeof(rest));
	return n + sizeof(rest);
}

/* ... whose random is 32 bytes of fill. */
static size_t client_hello(uint8_t *out, uint8_t fill)
{
	uint8_t random[32];
	memset(random, fill, sizeof(random));
	return client_hello_random(out, random);
}

static void secret_for(struct tls_secret *s, const char *label, uint8_t fill)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", label);
	memset(s->client_random, fill, 32);
	s->secret_len = 48;
	memset(s->secret, 0x33, 48);
}

struct seen {
	uint64_t flow[8];
	uint8_t cr0[8];
	size_t n;
};

static int collect(const struct tls_secret *sec, uint64_t flow_id, void *ctx)
{
	struct seen *s = ctx;
	if (s->n < 8) {
		s->flow[s->n] = flow_id;
		s->cr0[s->n] = sec->client_random[0];
	}
	s->n++;
	return 0;
}

/* One TLS connection, closed, then the same tuple reused by a second one. */
static void test_tls_flows_and_reuse(void **state)
{
	struct fx *fx = *state;
	uint8_t ch[256];
	struct tls_secret sec;

	/* The first session's secret arrives before its ClientHello. */
	secret_for(&sec, "CLIENT_RANDOM", 0xa1);
	assert_int_equal(pipeline_secret(fx->p, &sec), 1);
	assert_int_equal(pipeline_secret(fx->p, &sec), 0);

	uint64_t t = 1000 * SEC;
	uint64_t ids[16];
	size_t n = 0;
	size_t chl = client_hello(ch, 0xa1);
	struct pb pk;
	pk = tcp_pkt(CLI, 40000, SRV, 443, 100, 0x02, NULL, 0);
	ids[n++] = send_pkt(fx, &pk, t++, 0, NULL);
	pk = tcp_pkt(SRV, 443, CLI, 40000, 900, 0x12, NULL, 0);
	ids[n++] = send_pkt(fx, &pk, t++, 0, NULL);
	/* ClientHello split in the middle of the random. */
	pk = tcp_pkt(CLI, 40000, SRV, 443, 101, 0x18, ch, 20);
	ids[n++] = send_pkt(fx, &pk, t++, 0, NULL);
	pk = tcp_pkt(CLI, 40000, SRV, 443, 121, 0x18, ch + 20, chl - 20);
	ids[n++] = send_pkt(fx, &pk, t++, 0, NULL);
	pk = tcp_pkt(CLI, 40000, SRV, 443, (uint32_t)(101 + chl), 0x11, NULL, 0);
	ids[n++] = send_pkt(fx, &pk, t++, 0, NULL);
	pk = tcp_pkt(SRV, 443, CLI, 40000, 901, 0x11, NULL, 0);
	ids[n++] = send_pkt(fx, &pk, t++, 0, NULL);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(ids[i], ids[0]);
	assert_true(ids[0] > 0);

	/* Port reuse: a new SYN on the closed tuple, another session. */
	chl = client_hello(ch, 0xb2);
	pk = tcp_pkt(CLI, 40000, SRV, 443, 5000, 0x02, NULL, 0);
	uint64_t id2 = send_pkt(fx, &pk, t++, 0, NULL);
	assert_int_not_equal(id2, ids[0]);
	pk = tcp_pkt(CLI, 40000, SRV, 443, 5001, 0x18, ch, chl);
	assert_int_equal(send_pkt(fx, &pk, t++, 0, NULL), id2);

	/* The second session's secret arrives after it. */
	secret_for(&sec, "CLIENT_RANDOM", 0xb2);
	assert_int_equal(pipeline_secret(fx->p, &sec), 1);
	/* A secret with no session. */
	secret_for(&sec, "CLIENT_TRAFFIC_SECRET_0", 0xc3);
	assert_int_equal(pipeline_secret(fx->p, &sec), 1);

	struct pipeline_stats st;
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.packets, 8);
	assert_int_equal(st.flows, 2);
	assert_int_equal(st.active_flows, 1);
	assert_int_equal(st.tls_sessions, 2);
	/* the secret with no session waits for its ClientHello, and is not stored */
	assert_int_equal(st.secrets, 2);
	assert_int_equal(st.secrets_dup, 1);
	assert_int_equal(st.secrets_linked, 2);
	assert_int_equal(st.secrets_held, 1);
	assert_int_equal(st.secrets_not_kept, 0);
	assert_int_equal(st.non_flow_packets, 0);
	assert_int_equal(st.decode_errors, 0);

	assert_int_equal(pipeline_finish(fx->p), 0);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.secrets_held, 0);
	assert_int_equal(st.secrets_not_kept, 1);
	struct store_stats ss;
	assert_int_equal(store_get_stats(fx->store, &ss), 0);
	assert_int_equal(ss.secrets, 2);
	struct flow_record fr;
	assert_int_equal(store_get_flow(fx->store, ids[0], &fr), 0);
	assert_int_equal(fr.key.port_a, 40000);
	assert_int_equal(fr.key.port_b, 443);
	assert_int_equal(fr.first_ns, 1000 * SEC);
	assert_int_equal(store_get_flow(fx->store, id2, &fr), 0);
	assert_int_equal(fr.first_ns, 1000 * SEC + 6);

	struct idset flows = { 0 };
	assert_int_equal(idset_add(&flows, ids[0]), 0);
	idset_seal(&flows);
	struct seen seen = { .n = 0 };
	assert_int_equal(store_walk_secrets(fx->store, &flows, collect, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.flow[0], ids[0]);
	assert_int_equal(seen.cr0[0], 0xa1);
	idset_free(&flows);
}

/* A fresh pipeline on the fixture's store with these secret settings. */
static void repipe(struct fx *fx, bool keep_all, uint64_t hold_ns, uint32_t hold_max)
{
	pipeline_free(fx->p);
	struct pipeline_options po;
	pipeline_options_default(&po);
	po.max_flows = 1u << 18;
	po.keep_all_secrets = keep_all;
	po.secret_hold_ns = hold_ns;
	po.secret_hold_max = hold_max;
	assert_int_equal(pipeline_new(fx->store, &po, &fx->p), 0);
	assert_int_equal(pipeline_iface_netns(fx->p, fx->eth, NS_HOST), 0);
}

/* A TLS connection on client port cport whose ClientHello carries random fill. */
static uint64_t tls_session(struct fx *fx, uint16_t cport, uint8_t fill, uint64_t t)
{
	uint8_t ch[256];
	size_t chl = client_hello(ch, fill);
	struct pb pk = tcp_pkt(CLI, cport, SRV, 443, 100, 0x02, NULL, 0);
	uint64_t id = send_pkt(fx, &pk, t, 0, NULL);
	pk = tcp_pkt(CLI, cport, SRV, 443, 101, 0x18, ch, chl);
	assert_int_equal(send_pkt(fx, &pk, t + 1, 0, NULL), id);
	return id;
}

/* Which secrets are kept: those of recorded sessions, waiting a bounded time and number for
 * their ClientHello; every one with keep_all_secrets. */
static void test_secret_policy(void **state)
{
	struct fx *fx = *state;
	struct tls_secret sec;
	struct pipeline_stats st;
	struct store_stats ss;

	/* keep every secret: one with no session is stored, unlinked */
	repipe(fx, true, 30 * SEC, 16);
	secret_for(&sec, "CLIENT_RANDOM", 0xc3);
	assert_int_equal(pipeline_secret(fx->p, &sec), 1);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.secrets, 1);
	assert_int_equal(st.secrets_linked, 0);
	assert_int_equal(st.secrets_held, 0);

	/* the default: held until its ClientHello, for 30 s at most */
	repipe(fx, false, 30 * SEC, 4);
	assert_int_equal(pipeline_tick(fx->p, 100 * SEC), 0);
	secret_for(&sec, "CLIENT_RANDOM", 0xd4); /* its ClientHello comes in time */
	assert_int_equal(pipeline_secret(fx->p, &sec), 1);
	secret_for(&sec, "EXPORTER_SECRET", 0xd4);
	assert_int_equal(pipeline_secret(fx->p, &sec), 1);
	secret_for(&sec, "CLIENT_RANDOM", 0xe5); /* its ClientHello comes too late */
	assert_int_equal(pipeline_secret(fx->p, &sec), 1);
	assert_int_equal(pipeline_tick(fx->p, 129 * SEC), 0);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.secrets_held, 3);
	assert_int_equal(st.secrets, 0);
	tls_session(fx, 42000, 0xd4, 1000 * SEC);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.secrets, 2);
	assert_int_equal(st.secrets_linked, 2);
	assert_int_equal(st.secrets_held, 1);
	assert_int_equal(pipeline_tick(fx->p, 130 * SEC), 0);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.secrets_held, 0);
	assert_int_equal(st.secrets_not_kept, 1);
	tls_session(fx, 42001, 0xe5, 1001 * SEC);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.secrets, 2);
	/* at most 4 wait: the oldest go first */
	for (uint8_t f = 0x10; f < 0x16; f++) {
		secret_for(&sec, "CLIENT_RANDOM", f);
		assert_int_equal(pipeline_secret(fx->p, &sec), 1);
	}
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.secrets_held, 4);
	assert_int_equal(st.secrets_not_kept, 3);
	tls_session(fx, 42002, 0x10, 1002 * SEC); /* dropped already */
	tls_session(fx, 42003, 0x15, 1003 * SEC); /* still held */
	assert_int_equal(pipeline_finish(fx->p), 0);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.secrets, 3);
	assert_int_equal(st.secrets_not_kept, 6);
	assert_int_equal(store_get_stats(fx->store, &ss), 0);
	assert_int_equal(ss.secrets, 4); /* 0xc3 (kept all), 0xd4 twice, 0x15 */
}

/* A TLS 1.3 session's material (the OpenSSL probes'): its handshake traffic secrets are
 * derived only when its session is recorded, before or after it comes, and once; material no
 * recorded session claims is dropped underived. */
static void test_tls13_material(void **state)
{
	struct fx *fx = *state;
	struct tls13_material m;
	struct pipeline_stats st;
	struct store_stats ss;

	repipe(fx, false, 30 * SEC, 64);
	assert_int_equal(pipeline_tick(fx->p, 100 * SEC), 0);
	memset(&m, 0, sizeof(m));
	m.hash_len = 48;
	m.has = TLS13_CLIENT_HS | TLS13_SERVER_HS | TLS13_CLIENT_APP | TLS13_SERVER_APP |
		TLS13_EXPORTER;
	memset(m.hs_secret, 0x5a, 48);
	memset(m.hs_hash, 0xa5, 48);
	memset(m.app, 0x3c, sizeof(m.app));
	/* before its ClientHello: held, nothing derived */
	memset(m.client_random, 0xd4, 32);
	assert_int_equal(pipeline_tls13(fx->p, &m), 1);
	assert_int_equal(pipeline_tls13(fx->p, &m), 0); /* the other end's copy */
	/* never recorded */
	memset(m.client_random, 0xe5, 32);
	assert_int_equal(pipeline_tls13(fx->p, &m), 1);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.secrets_held, 10);
	assert_int_equal(st.secrets_dup, 5);
	assert_int_equal(st.tls_derived, 0);
	assert_int_equal(st.secrets, 0);
	tls_session(fx, 42100, 0xd4, 1000 * SEC);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.tls_derived, 1);
	assert_int_equal(st.secrets, 5);
	assert_int_equal(st.secrets_linked, 5);
	assert_int_equal(st.secrets_held, 5);
	/* after its ClientHello: derived at once */
	tls_session(fx, 42101, 0xf6, 1001 * SEC);
	memset(m.client_random, 0xf6, 32);
	assert_int_equal(pipeline_tls13(fx->p, &m), 1);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.tls_derived, 2);
	assert_int_equal(st.secrets, 10);
	assert_int_equal(pipeline_tick(fx->p, 131 * SEC), 0);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.secrets_not_kept, 5);
	assert_int_equal(st.secrets_held, 0);
	assert_int_equal(st.tls_derived, 2);
	assert_int_equal(pipeline_finish(fx->p), 0);
	assert_int_equal(store_get_stats(fx->store, &ss), 0);
	assert_int_equal(ss.secrets, 10);
}

/* A replay's key log, loaded before its capture, larger than a generation of the pipeline's
 * client_random table (131072): every secret still finds its ClientHello. */
static void test_secret_policy_big_keylog(void **state)
{
	struct fx *fx = *state;
	enum { N = 140000 };
	struct tls_secret sec;
	struct pipeline_stats st;
	uint8_t ch[256];

	repipe(fx, false, 0, 1u << 20);
	for (uint32_t i = 0; i < N; i++) {
		secret_for(&sec, "CLIENT_RANDOM", 0x5a);
		memcpy(sec.client_random, &i, sizeof(i));
		assert_int_equal(pipeline_secret(fx->p, &sec), 1);
	}
	for (uint32_t i = 0; i < N; i++) {
		uint8_t random[32];
		memset(random, 0x5a, sizeof(random));
		memcpy(random, &i, sizeof(i));
		size_t chl = client_hello_random(ch, random);
		uint32_t cli = CLI + 16 + i / 50000;
		uint16_t port = (uint16_t)(10000 + i % 50000);
		struct pb pk = tcp_pkt(cli, port, SRV, 443, 100, 0x02, NULL, 0);
		uint64_t id = send_pkt(fx, &pk, 2000 * SEC + i, 0, NULL);
		pk = tcp_pkt(cli, port, SRV, 443, 101, 0x18, ch, chl);
		assert_int_equal(send_pkt(fx, &pk, 2000 * SEC + i, 0, NULL), id);
	}
	assert_int_equal(pipeline_finish(fx->p), 0);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.tls_sessions, N);
	assert_int_equal(st.secrets, N);
	assert_int_equal(st.secrets_linked, N);
	assert_int_equal(st.secrets_not_kept, 0);
}

static struct ecap_proc mkproc(uint32_t pid, const char *comm)
{
	struct ecap_proc p = { .valid = true, .pid = pid, .tid = pid, .uid = 1000, .gid = 1000 };
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	return p;
}

static void test_proc_hints(void **state)
{
	struct fx *fx = *state;
	struct ecap_proc curl = mkproc(1234, "curl"), nginx = mkproc(99, "nginx");
	struct pb pk = tcp_pkt(CLI, 41000, SRV, 80, 1, 0x02, NULL, 0);
	/* The client's SYN, sent by curl. */
	uint64_t id = send_pkt(fx, &pk, SEC, PKT_DIR_OUTBOUND, &curl);
	/* The server's SYN+ACK, sent by nginx (outbound on the server's host). */
	pk = tcp_pkt(SRV, 80, CLI, 41000, 1, 0x12, NULL, 0);
	assert_int_equal(send_pkt(fx, &pk, SEC + 1, PKT_DIR_OUTBOUND, &nginx), id);
	/* The same facts again change nothing; an unknown direction means the sender. */
	pk = tcp_pkt(CLI, 41000, SRV, 80, 2, 0x10, NULL, 0);
	send_pkt(fx, &pk, SEC + 2, PKT_DIR_UNKNOWN, &curl);

	/* A second flow: inbound to a local process means the receiver's side. */
	struct pb q = udp_pkt(SRV, 53, CLI, 5353, 10);
	uint64_t id2 = send_pkt(fx, &q, SEC + 3, PKT_DIR_INBOUND, &curl);
	assert_int_equal(pipeline_finish(fx->p), 0);

	struct flow_record fr;
	assert_int_equal(store_get_flow(fx->store, id, &fr), 0);
	assert_true(fr.proc[FLOW_SIDE_A].valid);
	assert_int_equal(fr.proc[FLOW_SIDE_A].pid, 1234);
	assert_string_equal(fr.proc[FLOW_SIDE_A].comm, "curl");
	assert_true(fr.proc[FLOW_SIDE_B].valid);
	assert_int_equal(fr.proc[FLOW_SIDE_B].pid, 99);
	assert_int_equal(store_get_flow(fx->store, id2, &fr), 0);
	/* UDP: the first sender (SRV:53) is A; curl received, so it is B. */
	assert_false(fr.proc[FLOW_SIDE_A].valid);
	assert_int_equal(fr.proc[FLOW_SIDE_B].pid, 1234);
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

static void test_socket_owner(void **state)
{
	struct fx *fx = *state;
	struct socket_owner so = { .netns = NS_HOST, .proto = 6, .local_port = 42000,
				   .remote_port = 443 };
	v4(so.local_addr, CLI);
	v4(so.remote_addr, SRV);
	so.proc = mkproc(555, "python3");
	/* Learned before the first packet (connect()). */
	assert_int_equal(pipeline_socket_owner(fx->p, &so, SEC), 0);
	struct pb pk = tcp_pkt(CLI, 42000, SRV, 443, 7, 0x02, NULL, 0);
	uint64_t id = send_pkt(fx, &pk, SEC + 1, 0, NULL);

	/* Learned after (accept() on the server side of another flow). */
	pk = tcp_pkt(CLI, 42001, SRV, 8443, 7, 0x02, NULL, 0);
	uint64_t id2 = send_pkt(fx, &pk, SEC + 2, 0, NULL);
	struct socket_owner acc = { .netns = NS_HOST, .proto = 6, .local_port = 8443,
				    .remote_port = 42001 };
	v4(acc.local_addr, SRV);
	v4(acc.remote_addr, CLI);
	acc.proc = mkproc(777, "s_server");
	assert_int_equal(pipeline_socket_owner(fx->p, &acc, SEC + 3), 0);

	/* An unconnected UDP socket: any flow on its local port. */
	struct socket_owner dns = { .netns = NS_HOST, .proto = 17, .local_port = 53 };
	dns.proc = mkproc(53, "dnsmasq");
	assert_int_equal(pipeline_socket_owner(fx->p, &dns, SEC + 4), 0);
	struct pb q = udp_pkt(CLI, 33333, SRV, 53, 20);
	uint64_t id3 = send_pkt(fx, &q, SEC + 5, 0, NULL);

	/* Loopback: both ends reported before the first packet. */
	struct socket_owner lc = { .netns = NS_HOST, .proto = 6, .local_port = 43000,
				   .remote_port = 9000 };
	v4(lc.local_addr, CLI);
	v4(lc.remote_addr, SRV);
	lc.proc = mkproc(1001, "client");
	struct socket_owner ls = { .netns = NS_HOST, .proto = 6, .local_port = 9000,
				   .remote_port = 43000 };
	v4(ls.local_addr, SRV);
	v4(ls.remote_addr, CLI);
	ls.proc = mkproc(1002, "server");
	assert_int_equal(pipeline_socket_owner(fx->p, &ls, SEC + 6), 0);
	assert_int_equal(pipeline_socket_owner(fx->p, &lc, SEC + 6), 0);
	pk = tcp_pkt(CLI, 43000, SRV, 9000, 1, 0x02, NULL, 0);
	uint64_t id4 = send_pkt(fx, &pk, SEC + 7, 0, NULL);
	pk = tcp_pkt(SRV, 9000, CLI, 43000, 1, 0x14, NULL, 0); /* refused: RST */
	assert_int_equal(send_pkt(fx, &pk, SEC + 8, 0, NULL), id4);
	/* The same client socket again: already the owner of the closed flow, nothing new. */
	assert_int_equal(pipeline_socket_owner(fx->p, &lc, SEC + 9), 0);
	/* Another process connects from the same port: pending for the next connection. */
	struct socket_owner lc2 = lc;
	lc2.proc = mkproc(1003, "retry");
	assert_int_equal(pipeline_socket_owner(fx->p, &lc2, SEC + 9), 0);
	pk = tcp_pkt(CLI, 43000, SRV, 9000, 50, 0x02, NULL, 0);
	uint64_t id5 = send_pkt(fx, &pk, SEC + 10, 0, NULL);
	assert_int_not_equal(id5, id4);
	assert_int_equal(pipeline_finish(fx->p), 0);

	struct flow_record fr;
	assert_int_equal(store_get_flow(fx->store, id, &fr), 0);
	assert_int_equal(fr.proc[FLOW_SIDE_A].pid, 555);
	assert_false(fr.proc[FLOW_SIDE_B].valid);
	assert_int_equal(store_get_flow(fx->store, id2, &fr), 0);
	assert_false(fr.proc[FLOW_SIDE_A].valid);
	assert_int_equal(fr.proc[FLOW_SIDE_B].pid, 777);
	assert_int_equal(store_get_flow(fx->store, id3, &fr), 0);
	assert_int_equal(fr.proc[FLOW_SIDE_B].pid, 53);
	assert_string_equal(fr.proc[FLOW_SIDE_B].comm, "dnsmasq");
	assert_int_equal(store_get_flow(fx->store, id4, &fr), 0);
	assert_int_equal(fr.proc[FLOW_SIDE_A].pid, 1001);
	assert_int_equal(fr.proc[FLOW_SIDE_B].pid, 1002);
	assert_int_equal(store_get_flow(fx->store, id5, &fr), 0);
	assert_int_equal(fr.proc[FLOW_SIDE_A].pid, 1003);
	assert_false(fr.proc[FLOW_SIDE_B].valid);
}

/* Two namespaces, each with a client and a server on the same tuple (the wrong-owner bug):
 * each flow gets the owners of its own namespace only, whatever the order. */
static void test_socket_owner_netns(void **state)
{
	struct fx *fx = *state;
	struct socket_owner ca = { .netns = NS_HOST, .proto = 6, .local_port = 29443,
				   .remote_port = 29080 };
	v4(ca.local_addr, CLI);
	v4(ca.remote_addr, CLI);
	ca.proc = mkproc(2001, "curl-a");
	struct socket_owner sa = { .netns = NS_HOST, .proto = 6, .local_port = 29080,
				   .remote_port = 29443 };
	v4(sa.local_addr, CLI);
	v4(sa.remote_addr, CLI);
	sa.proc = mkproc(2002, "srv-a");
	struct socket_owner cb = ca, sb = sa;
	cb.netns = sb.netns = NS_B;
	cb.proc = mkproc(3001, "curl-b");
	sb.proc = mkproc(3002, "srv-b");

	/* B's client is known before any packet; A's after its flow started. */
	assert_int_equal(pipeline_socket_owner(fx->p, &cb, SEC), 0);
	struct pb syn = tcp_pkt(CLI, 29443, CLI, 29080, 1, 0x02, NULL, 0);
	struct pb synack = tcp_pkt(CLI, 29080, CLI, 29443, 1, 0x12, NULL, 0);
	uint64_t id_a = send_pkt_on(fx, fx->eth, &syn, SEC + 1, PKT_DIR_OUTBOUND, NULL);
	uint64_t id_b = send_pkt_on(fx, fx->eth_b, &syn, SEC + 1, PKT_DIR_OUTBOUND, NULL);
	assert_int_not_equal(id_a, id_b);
	assert_int_equal(send_pkt_on(fx, fx->eth, &synack, SEC + 2, PKT_DIR_OUTBOUND, NULL), id_a);
	assert_int_equal(send_pkt_on(fx, fx->eth_b, &synack, SEC + 2, PKT_DIR_OUTBOUND, NULL),
			 id_b);
	assert_int_equal(pipeline_socket_owner(fx->p, &sb, SEC + 3), 0);
	assert_int_equal(pipeline_socket_owner(fx->p, &ca, SEC + 3), 0);
	assert_int_equal(pipeline_socket_owner(fx->p, &sa, SEC + 3), 0);
	/* A socket whose namespace is not known names no owner, not even where one is missing. */
	struct socket_owner unknown = ca;
	unknown.netns = 0;
	unknown.proc = mkproc(4001, "unknown");
	unknown.local_port = 29444;
	assert_int_equal(pipeline_socket_owner(fx->p, &unknown, SEC + 3), 0);
	struct pb syn2 = tcp_pkt(CLI, 29444, CLI, 29080, 1, 0x02, NULL, 0);
	uint64_t id_u = send_pkt_on(fx, fx->eth, &syn2, SEC + 4, PKT_DIR_OUTBOUND, NULL);
	assert_int_equal(pipeline_finish(fx->p), 0);

	struct flow_record fr;
	assert_int_equal(store_get_flow(fx->store, id_a, &fr), 0);
	assert_int_equal(fr.proc[FLOW_SIDE_A].pid, 2001);
	assert_int_equal(fr.proc[FLOW_SIDE_B].pid, 2002);
	assert_int_equal(store_get_flow(fx->store, id_b, &fr), 0);
	assert_int_equal(fr.proc[FLOW_SIDE_A].pid, 3001);
	assert_int_equal(fr.proc[FLOW_SIDE_B].pid, 3002);
	assert_int_equal(store_get_flow(fx->store, id_u, &fr), 0);
	assert_false(fr.proc[FLOW_SIDE_A].valid);
}

/* ---- NAT: a container's connection before and after MASQUERADE ---------------------------- */

#define NS_C 4026532300u   /* a container's namespace: its sockets, none of its interfaces */
#define CTR 0x0a9d0102u    /* the container, 10.157.1.2 */
#define GW 0x0a9d0101u     /* the host on the container's side */
#define UPL 0x0a9d0201u    /* the host on the uplink: what MASQUERADE makes of the container */
#define OUT 0x0a9d0202u    /* a server outside */

static struct socket_owner container_socket(uint16_t port, struct ecap_proc proc)
{
	struct socket_owner so = { .netns = NS_C, .proto = 6, .local_port = port,
				   .remote_port = 80, .proc = proc };
	so.proc.netns = NS_C;
	v4(so.local_addr, CTR);
	v4(so.remote_addr, OUT);
	return so;
}

/* What the kernel side reports of one container connection: its sending socket seen on the
 * bridge side, and its conntrack entry (original tuple the container's, reply to the uplink). */
static void kernel_reports(struct fx *fx, uint16_t port, uint32_t netns, uint64_t ts)
{
	struct peer_socket ps = { .netns = NS_HOST, .sock_netns = NS_C, .proto = 6,
				  .local_port = port, .remote_port = 80 };
	v4(ps.local_addr, CTR);
	v4(ps.remote_addr, OUT);
	assert_int_equal(pipeline_peer_socket(fx->p, &ps, ts), 0);
	struct nat_entry e = { .pre_netns = netns, .post_netns = netns, .proto = 6,
			       .kind = FLOW_LINK_SNAT,
			       .orig_sport = port, .orig_dport = 80, .reply_sport = 80,
			       .reply_dport = port };
	v4(e.orig_src, CTR);
	v4(e.orig_dst, OUT);
	v4(e.reply_src, OUT);
	v4(e.reply_dst, UPL);
	int linked = netns == NS_HOST; /* the flows' namespace */
	assert_int_equal(pipeline_nat(fx->p, &e, ts), linked);
	assert_int_equal(pipeline_nat(fx->p, &e, ts + 1), linked); /* again: linked once */
}

/* The flows a selection by pid finds, as a sorted list. */
static size_t select_pid(struct store *s, uint32_t pid, uint64_t *ids, size_t max)
{
	struct flow_filter f;
	struct idset set = { 0 };
	flow_filter_init(&f);
	f.pids[f.n_pids++] = pid;
	assert_int_equal(store_select_flows(s, &f, &set), 0);
	size_t n = set.n < max ? set.n : max;
	memcpy(ids, set.ids, n * sizeof(*ids));
	idset_free(&set);
	return n;
}

static void check_nat_store(struct store *s, const uint64_t pre[2], const uint64_t post[2],
			    uint64_t plain)
{
	uint64_t ids[8];
	struct flow_record fr;
	struct flow_link l[4];

	/* The pre-NAT flow (bridge side) is owned by the container's process; the post-NAT flow
	 * (uplink) has no owner of its own, and takes it from its link, on the same end. */
	for (int i = 0; i < 2; i++) {
		uint32_t pid = 5001 + (uint32_t)i;
		assert_int_equal(store_get_flow(s, pre[i], &fr), 0);
		assert_true(fr.proc[FLOW_SIDE_A].valid);
		assert_int_equal(fr.proc[FLOW_SIDE_A].pid, pid);
		assert_int_equal(fr.proc[FLOW_SIDE_A].netns, NS_C);
		assert_false(fr.proc[FLOW_SIDE_B].valid);
		assert_int_equal(store_get_flow(s, post[i], &fr), 0);
		assert_false(fr.proc[FLOW_SIDE_A].valid);
		assert_int_equal(store_fill_linked_owners(s, &fr), 0);
		assert_true(fr.proc[FLOW_SIDE_A].valid);
		assert_int_equal(fr.proc[FLOW_SIDE_A].pid, pid);
		assert_false(fr.proc[FLOW_SIDE_B].valid);
		assert_int_equal(store_get_links(s, post[i], l, 4), 1);
		assert_int_equal(l[0].pre_id, pre[i]);
		assert_int_equal(l[0].post_id, post[i]);
		assert_int_equal(l[0].kind, FLOW_LINK_SNAT);
		assert_int_equal(l[0].pre_a_side, FLOW_SIDE_A);
		assert_int_equal(store_get_links(s, pre[i], l, 4), 1);
		/* --pid of the container's process: both flows of its connection, no other */
		assert_int_equal(select_pid(s, pid, ids, 8), 2);
		assert_int_equal(ids[0], pre[i]);
		assert_int_equal(ids[1], post[i]);
	}
	assert_int_equal(store_get_links(s, plain, l, 4), 0);
	assert_int_equal(select_pid(s, 5003, ids, 8), 1);
	assert_int_equal(ids[0], plain);
}

static void test_nat_links(void **state)
{
	struct fx *fx = *state;
	struct ecap_iface ifc = { .name = "uplink", .linktype = 1 };
	uint32_t up;
	uint64_t pre[2], post[2];

	assert_int_equal(store_add_interface(fx->store, &ifc, &up), 0);
	assert_int_equal(pipeline_iface_netns(fx->p, up, NS_HOST), 0);
	for (int i = 0; i < 2; i++) {
		uint16_t port = (uint16_t)(40000 + i);
		uint64_t t = (uint64_t)(i + 1) * SEC;
		struct socket_owner so = container_socket(port, mkproc(5001 + (uint32_t)i, "curl"));
		struct pb out_pre = tcp_pkt(CTR, port, OUT, 80, 1, 0x02, NULL, 0);
		struct pb out_post = tcp_pkt(UPL, port, OUT, 80, 1, 0x02, NULL, 0);
		struct pb back_post = tcp_pkt(OUT, 80, UPL, port, 1, 0x12, NULL, 0);
		struct pb back_pre = tcp_pkt(OUT, 80, CTR, port, 1, 0x12, NULL, 0);
		/* The first connection's owner is reported before the kernel's records (it waits
		 * as a socket of NS_C, which has no recorded interface), the second's after. */
		if (i == 0)
			assert_int_equal(pipeline_socket_owner(fx->p, &so, t), 0);
		pre[i] = send_pkt_on(fx, fx->eth, &out_pre, t + 1, PKT_DIR_INBOUND, NULL);
		post[i] = send_pkt_on(fx, up, &out_post, t + 2, PKT_DIR_OUTBOUND, NULL);
		kernel_reports(fx, port, NS_HOST, t + 3);
		assert_int_equal(send_pkt_on(fx, up, &back_post, t + 4, PKT_DIR_INBOUND, NULL),
				 post[i]);
		assert_int_equal(send_pkt_on(fx, fx->eth, &back_pre, t + 5, PKT_DIR_OUTBOUND,
					     NULL), pre[i]);
		if (i == 1)
			assert_int_equal(pipeline_socket_owner(fx->p, &so, t + 6), 0);
	}
	/* Not linked: a conntrack entry of another namespace than the flows', and a flow that
	 * was not translated (to the host itself), owned by a host process. */
	kernel_reports(fx, 40001, NS_B, 3 * SEC);
	struct pb local = tcp_pkt(CTR, 40002, GW, 22, 1, 0x02, NULL, 0);
	uint64_t plain = send_pkt_on(fx, fx->eth, &local, 4 * SEC, PKT_DIR_INBOUND, NULL);
	struct socket_owner sshd = { .netns = NS_HOST, .proto = 6, .local_port = 22,
				     .remote_port = 40002, .proc = mkproc(5003, "sshd") };
	v4(sshd.local_addr, GW);
	v4(sshd.remote_addr, CTR);
	assert_int_equal(pipeline_socket_owner(fx->p, &sshd, 4 * SEC), 0);
	/* A socket of the interface's own namespace is no peer. */
	struct peer_socket self = { .netns = NS_HOST, .sock_netns = NS_HOST, .proto = 6,
				    .local_port = 40002, .remote_port = 22 };
	v4(self.local_addr, CTR);
	v4(self.remote_addr, GW);
	assert_int_equal(pipeline_peer_socket(fx->p, &self, 4 * SEC), 0);
	assert_int_equal(pipeline_finish(fx->p), 0);
	struct pipeline_stats st;
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.nat_links, 2);
	assert_int_equal(st.peer_owners, 2);
	check_nat_store(fx->store, pre, post, plain);

	/* The links live in the chunks' metadata: an index rebuilt from the segments has them. */
	pipeline_free(fx->p);
	fx->p = NULL;
	assert_int_equal(store_close(fx->store), 0);
	fx->store = NULL;
	struct store_options so;
	store_options_default(&so);
	so.quiet = true;
	assert_int_equal(store_rebuild(fx->dir, &so, false), 0);
	assert_int_equal(store_open(fx->dir, STORE_READ, &so, &fx->store), 0);
	check_nat_store(fx->store, pre, post, plain);
}

/* -i any: the two flows of a NATed connection are seen apart, each where it is recorded (the
 * container's end of its veth in NS_B, the host's uplink in NS_HOST); nat_sightings.c pairs
 * them. */
static struct nat_sighting sighting(uint16_t port, bool reply, uint32_t rec_netns)
{
	struct nat_sighting s = { .ct_netns = NS_HOST, .rec_netns = rec_netns, .reply = reply };
	s.e.proto = 6;
	s.e.kind = FLOW_LINK_SNAT;
	s.e.orig_sport = port;
	s.e.orig_dport = 80;
	s.e.reply_sport = 80;
	s.e.reply_dport = port;
	v4(s.e.orig_src, CTR);
	v4(s.e.orig_dst, OUT);
	v4(s.e.reply_src, OUT);
	v4(s.e.reply_dst, UPL);
	return s;
}

/* A connection's first two packets on both sides: returns its flows in pre and post. */
static void nat_connection(struct fx *fx, uint16_t port, uint64_t t, uint64_t *pre,
			   uint64_t *post)
{
	struct pb out_pre = tcp_pkt(CTR, port, OUT, 80, 1, 0x02, NULL, 0);
	struct pb out_post = tcp_pkt(UPL, port, OUT, 80, 1, 0x02, NULL, 0);
	struct pb back_post = tcp_pkt(OUT, 80, UPL, port, 1, 0x12, NULL, 0);
	struct pb back_pre = tcp_pkt(OUT, 80, CTR, port, 1, 0x12, NULL, 0);
	*pre = send_pkt_on(fx, fx->eth_b, &out_pre, t, PKT_DIR_OUTBOUND, NULL);
	*post = send_pkt_on(fx, fx->eth, &out_post, t + 1, PKT_DIR_OUTBOUND, NULL);
	assert_int_equal(send_pkt_on(fx, fx->eth, &back_post, t + 2, PKT_DIR_INBOUND, NULL),
			 *post);
	assert_int_equal(send_pkt_on(fx, fx->eth_b, &back_pre, t + 3, PKT_DIR_INBOUND, NULL),
			 *pre);
}

static void test_nat_sightings(void **state)
{
	struct fx *fx = *state;
	struct nat_sightings *t;
	struct nat_sightings_stats st;
	struct pipeline_stats ps;
	struct flow_link l[4];
	uint64_t pre, post, pre2, post2, pre3, post3, ids[8];
	struct nat_sighting s;

	assert_int_equal(nat_sightings_new(&t), 0);
	/* The uplink's flow is reported before its packets are recorded (the host's end sends
	 * before the far end receives): nothing to link yet, and nothing is, until both are. */
	s = sighting(41000, false, NS_HOST);
	nat_sightings_add(t, &s, 1 * SEC);
	assert_int_equal(nat_sightings_resolve(t, fx->p, 1 * SEC), 0);
	nat_connection(fx, 41000, 1 * SEC + 10, &pre, &post);
	assert_int_equal(nat_sightings_resolve(t, fx->p, 2 * SEC), 0);
	pipeline_get_stats(fx->p, &ps);
	assert_int_equal(ps.nat_links, 0); /* the flow before NAT was not seen yet */
	s = sighting(41000, true, NS_B);
	nat_sightings_add(t, &s, 2 * SEC);
	nat_sightings_add(t, &s, 3 * SEC); /* reported again a second later */
	assert_int_equal(nat_sightings_resolve(t, fx->p, 3 * SEC), 0);
	assert_int_equal(nat_sightings_resolve(t, fx->p, 4 * SEC), 0);
	pipeline_get_stats(fx->p, &ps);
	assert_int_equal(ps.nat_links, 1);
	/* The container's socket is in NS_B, where its flow is recorded: owned with no peer
	 * socket, and --pid of its process finds both flows. */
	struct socket_owner so = { .netns = NS_B, .proto = 6, .local_port = 41000,
				   .remote_port = 80, .proc = mkproc(5101, "curl") };
	so.proc.netns = NS_B;
	v4(so.local_addr, CTR);
	v4(so.remote_addr, OUT);
	assert_int_equal(pipeline_socket_owner(fx->p, &so, 4 * SEC), 0);

	/* A flow seen in two namespaces (a packet flooded to two bridge ports): not linked,
	 * though both flows are there. */
	nat_connection(fx, 41001, 5 * SEC, &pre2, &post2);
	s = sighting(41001, false, NS_HOST);
	nat_sightings_add(t, &s, 5 * SEC);
	s = sighting(41001, true, NS_B);
	nat_sightings_add(t, &s, 5 * SEC);
	s = sighting(41001, true, NS_HOST + 7);
	nat_sightings_add(t, &s, 5 * SEC);
	assert_int_equal(nat_sightings_resolve(t, fx->p, 6 * SEC), 0);
	/* Sightings forgotten after their time: one side now, the other much later, no link. */
	nat_connection(fx, 41002, 7 * SEC, &pre3, &post3);
	s = sighting(41002, false, NS_HOST);
	nat_sightings_add(t, &s, 7 * SEC);
	assert_int_equal(nat_sightings_resolve(t, fx->p, 7 * SEC + NAT_SIGHTING_TTL_NS + 1), 0);
	s = sighting(41002, true, NS_B);
	nat_sightings_add(t, &s, 7 * SEC + NAT_SIGHTING_TTL_NS + 1);
	assert_int_equal(nat_sightings_resolve(t, fx->p, 7 * SEC + NAT_SIGHTING_TTL_NS + 2), 0);
	/* Malformed: no namespace. */
	s = sighting(41003, true, 0);
	nat_sightings_add(t, &s, 8 * SEC);

	nat_sightings_get_stats(t, &st);
	assert_int_equal(st.sightings, 8);
	assert_int_equal(st.linked, 1);
	assert_int_equal(st.ambiguous, 1);
	assert_int_equal(st.dropped, 0);
	nat_sightings_free(t);
	assert_int_equal(pipeline_finish(fx->p), 0);
	pipeline_get_stats(fx->p, &ps);
	assert_int_equal(ps.nat_links, 1);
	assert_int_equal(store_get_links(fx->store, pre, l, 4), 1);
	assert_int_equal(l[0].pre_id, pre);
	assert_int_equal(l[0].post_id, post);
	assert_int_equal(l[0].kind, FLOW_LINK_SNAT);
	assert_int_equal(store_get_links(fx->store, pre2, l, 4), 0);
	assert_int_equal(store_get_links(fx->store, post2, l, 4), 0);
	assert_int_equal(store_get_links(fx->store, pre3, l, 4), 0);
	assert_int_equal(select_pid(fx->store, 5101, ids, 8), 2);
	assert_int_equal(ids[0], pre);
	assert_int_equal(ids[1], post);
}

/* A link naming one flow twice is damage, said as such. */
static void test_nat_link_malformed(void **state)
{
	(void)state;
	struct chunk_meta m = { 0 };
	struct buf b = { 0 };
	const char *why;
	struct flow_link *l = chunkmeta_push(&m, links);
	assert_non_null(l);
	*l = (struct flow_link){ .pre_id = 7, .post_id = 7, .kind = FLOW_LINK_SNAT };
	assert_int_equal(chunkmeta_encode(&m, &b), 0);
	struct chunk_meta back = { 0 };
	assert_int_equal(chunkmeta_decode(b.data, b.len, &back, &why), -EBADMSG);
	assert_string_equal(why, "flow link is malformed");
	l->post_id = 8;
	buf_reset(&b);
	assert_int_equal(chunkmeta_encode(&m, &b), 0);
	assert_true(chunkmeta_decode(b.data, b.len, &back, &why) > 0);
	assert_int_equal(back.n_links, 1);
	assert_int_equal(back.links[0].post_id, 8);
	chunkmeta_free(&back);
	chunkmeta_free(&m);
	buf_free(&b);
}

/* Far more sockets than the pending table holds: the newest are kept, old ones expire. */
static void test_pending_bounded(void **state)
{
	struct fx *fx = *state;
	enum { N = 20000, KEEP = 500 };
	for (uint32_t i = 0; i < N; i++) {
		struct socket_owner so = { .netns = NS_HOST, .proto = 17,
					   .local_port = (uint16_t)(20000 + i % 40000),
					   .remote_port = 53 };
		v4(so.local_addr, 0x0a000000u + i);
		v4(so.remote_addr, SRV);
		so.proc = mkproc(100000 + i, "many");
		assert_int_equal(pipeline_socket_owner(fx->p, &so, SEC + i), 0);
	}
	uint64_t ids[KEEP];
	for (uint32_t i = N - KEEP; i < N; i++) {
		struct pb q = udp_pkt(0x0a000000u + i, (uint16_t)(20000 + i % 40000), SRV, 53, 4);
		ids[i - (N - KEEP)] = send_pkt(fx, &q, SEC + N, 0, NULL);
	}
	/* A socket reported 121 s before its first packet has expired. */
	struct pb late = udp_pkt(0x0a000000u + N - 1, 1, SRV, 53, 4);
	struct socket_owner so = { .netns = NS_HOST, .proto = 17, .local_port = 1,
				   .remote_port = 53 };
	v4(so.local_addr, 0x0a000000u + N - 1);
	v4(so.remote_addr, SRV);
	so.proc = mkproc(7, "old");
	assert_int_equal(pipeline_socket_owner(fx->p, &so, 2 * SEC), 0);
	uint64_t id_late = send_pkt(fx, &late, 123 * SEC + N, 0, NULL);
	assert_int_equal(pipeline_finish(fx->p), 0);
	for (uint32_t k = 0; k < KEEP; k++) {
		struct flow_record fr;
		assert_int_equal(store_get_flow(fx->store, ids[k], &fr), 0);
		assert_int_equal(fr.proc[FLOW_SIDE_A].pid, 100000 + N - KEEP + k);
	}
	struct flow_record fr;
	assert_int_equal(store_get_flow(fx->store, id_late, &fr), 0);
	assert_false(fr.proc[FLOW_SIDE_A].valid);
}

static void test_fragments_and_non_flow(void **state)
{
	struct fx *fx = *state;
	/* First fragment: UDP header and 16 bytes; second: 8 more bytes at offset 24. */
	struct pb f1 = { .n = 0 }, f2 = { .n = 0 };
	eth_ipv4(&f1, 17, CLI, SRV, 24, 0x7777, 0x2000);
	put16(&f1, 6000);
	put16(&f1, 7000);
	put16(&f1, 32);
	put16(&f1, 0);
	put(&f1, "0123456789abcdef", 16);
	eth_ipv4(&f2, 17, CLI, SRV, 8, 0x7777, 3);
	put(&f2, "ghijklmn", 8);
	uint64_t a = send_pkt(fx, &f1, SEC, 0, NULL);
	uint64_t b = send_pkt(fx, &f2, SEC + 1, 0, NULL);
	assert_true(a > 0);
	assert_int_equal(a, b);
	/* A later fragment of a datagram whose first one we never saw: no flow. */
	struct pb f3 = { .n = 0 };
	eth_ipv4(&f3, 17, CLI, SRV, 8, 0x7778, 3);
	put(&f3, "ghijklmn", 8);
	assert_int_equal(send_pkt(fx, &f3, SEC + 2, 0, NULL), 0);

	struct pb arp = { .n = 0 };
	put(&arp, "\377\377\377\377\377\377\2\0\0\0\0\1", 12);
	put16(&arp, 0x0806);
	put(&arp, "\0\1\10\0\6\4\0\1", 8);
	assert_int_equal(send_pkt(fx, &arp, SEC + 3, 0, NULL), 0);
	/* Cut inside the IPv4 header. */
	struct pb cut = udp_pkt(CLI, 1, SRV, 2, 4);
	cut.n = 20;
	assert_int_equal(send_pkt(fx, &cut, SEC + 4, 0, NULL), 0);

	struct pipeline_stats st;
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.packets, 5);
	assert_int_equal(st.non_flow_packets, 3);
	assert_int_equal(st.decode_errors, 1);
	assert_int_equal(pipeline_drops(fx->p, fx->eth, SEC + 5, 42), 0);
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.drops, 42);
	assert_int_equal(pipeline_finish(fx->p), 0);
	struct store_stats ss;
	assert_int_equal(store_get_stats(fx->store, &ss), 0);
	assert_int_equal(ss.packets, 5);
}

static void test_keylog_load(void **state)
{
	struct fx *fx = *state;
	char path[128];
	snprintf(path, sizeof(path), "%s/../ecap-test-keylog-%d.txt", fx->dir, (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# comment\r\n");
	fprintf(f, "CLIENT_RANDOM %s %s\r\n",
		"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
		"333333333333333333333333333333333333333333333333333333333333333333333333"
		"333333333333333333333333");
	fprintf(f, "SERVER_HANDSHAKE_TRAFFIC_SECRET %s %s\n",
		"A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1",
		"0011223344556677889900112233445566778899001122334455667788990011");
	fprintf(f, "CLIENT_RANDOM zz 00\n");
	fprintf(f, "CLIENT_RANDOM %s %s\n",
		"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
		"333333333333333333333333333333333333333333333333333333333333333333333333"
		"333333333333333333333333");
	fclose(f);
	char *msgs = NULL;
	size_t ml = 0;
	FILE *err = open_memstream(&msgs, &ml);
	struct keylog_report rep;
	assert_int_equal(keylog_load(path, fx->p, err, &rep), 0);
	fclose(err);
	assert_int_equal(rep.lines, 5);
	assert_int_equal(rep.secrets, 3);
	assert_int_equal(rep.new_secrets, 2);
	assert_int_equal(rep.duplicates, 1);
	assert_int_equal(rep.malformed, 1);
	char want[200];
	snprintf(want, sizeof(want), "%s:4: CLIENT_RANDOM: client_random", path);
	if (!strstr(msgs, want))
		fail_msg("messages: %s", msgs);
	free(msgs);
	unlink(path);
	assert_int_equal(keylog_load("/nonexistent/keys", fx->p, NULL, &rep), -ENOENT);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Small packets over 4000 flows: decode, lookup, append, with the store's chunking. */
static void test_throughput(void **state)
{
	struct fx *fx = *state;
	enum { NPKT = 2000000, NFLOW = 4000 };
	struct pb *tmpl = calloc(NFLOW, sizeof(*tmpl));
	assert_non_null(tmpl);
	for (uint32_t i = 0; i < NFLOW; i++)
		tmpl[i] = i % 2 ? udp_pkt(0x0a000000u + i, (uint16_t)(10000 + i), SRV, 53, 18)
				: tcp_pkt(0x0a000000u + i, (uint16_t)(10000 + i), SRV, 443, i,
					  0x10, (const uint8_t *)"0123456789", 10);
	uint64_t ts = 5000 * SEC;
	double t0 = now_s();
	uint32_t seed = 1;
	for (uint32_t i = 0; i < NPKT; i++) {
		seed = seed * 1103515245u + 12345u;
		const struct pb *b = &tmpl[(seed >> 8) % NFLOW];
		struct ecap_packet pkt = {
			.ts_ns = ts += 1000, .iface = fx->eth, .caplen = (uint32_t)b->n,
			.origlen = (uint32_t)b->n, .data = b->b,
		};
		if (pipeline_packet(fx->p, &pkt, NULL) < 0)
			fail_msg("%s", store_errmsg(fx->store));
		if ((i & 0xffff) == 0)
			pipeline_tick(fx->p, (uint64_t)((now_s() - t0) * 1e9) + 1);
	}
	double dt = now_s() - t0;
	double rate = NPKT / dt;
	fprintf(stderr, "pipeline_packet: %d packets of %zu-%zu bytes over %d flows in %.3f s: "
		"%.2f Mpkt/s (decode + flow lookup + store append, chunks compressed)\n", NPKT,
		tmpl[1].n, tmpl[0].n, NFLOW, dt, rate / 1e6);
	struct pipeline_stats st;
	pipeline_get_stats(fx->p, &st);
	assert_int_equal(st.flows, NFLOW);
	assert_int_equal(st.packets, NPKT);
	free(tmpl);
	/* The goal is well over 1M/s; fail only when far off (shared CI machines vary).
	 * ECAP_NO_PERF_CHECK=1 skips the check under valgrind or sanitizers. */
	const char *skip = getenv("ECAP_NO_PERF_CHECK");
	if (!skip || strcmp(skip, "1") != 0)
		assert_true(rate > 300000.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tls_flows_and_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_policy_big_keylog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls13_material, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proc_hints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_owner_netns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nat_links, setup, teardown),
		cmocka_unit_test(test_nat_link_malformed),
		cmocka_unit_test_setup_teardown(test_nat_sightings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fragments_and_non_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keylog_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
