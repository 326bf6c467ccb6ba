// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_live_udp.c - owners of unconnected UDP sockets matched to packets (recorder/live_udp.c),
 * over a real pipeline and store in a temporary directory: a socket known before its packets,
 * a socket learned after its first packet (the ring of recent tuples), both ends local (lo)
 * reported once each however many packets follow, a socket bound to a specific address not
 * matching another address, an end taken over by a connected socket, TCP ignored, and a
 * socket of another network namespace never owning a packet recorded in this one (two
 * interfaces in two namespaces, the same tuple on both).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "live_internal.h"
#include "pipeline.h"

#define SEC 1000000000ull
#define HOST_A 0x7f000001u
#define HOST_B 0x7f000002u
#define NS_A 4026531840u
#define NS_B 4026532100u

struct fx {
	char dir[64];
	struct store *store;
	struct pipeline *p;
	struct live_clock clock;
	struct live_udp *u;
	uint32_t eth, eth_b;     /* interfaces of namespaces NS_A and NS_B */
	uint64_t ts;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct store_options so;
	struct pipeline_options po;
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	struct ecap_iface ifc_b = { .name = "lo@b", .linktype = 1 };
	int r;

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ecap-test-live-udp-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	store_options_default(&so);
	so.no_sync = true;
	so.quiet = true;
	r = store_open(fx->dir, STORE_WRITE, &so, &fx->store);
	if (r < 0)
		fail_msg("store_open: %s", fx->store ? store_errmsg(fx->store) : strerror(-r));
	assert_int_equal(store_add_interface(fx->store, &ifc, &fx->eth), 0);
	pipeline_options_default(&po);
	po.max_flows = 1024;
	assert_int_equal(store_add_interface(fx->store, &ifc_b, &fx->eth_b), 0);
	assert_int_equal(pipeline_new(fx->store, &po, &fx->p), 0);
	assert_int_equal(pipeline_iface_netns(fx->p, fx->eth, NS_A), 0);
	assert_int_equal(pipeline_iface_netns(fx->p, fx->eth_b, NS_B), 0);
	assert_int_equal(live_udp_new(fx->p, &fx->clock, &fx->u), 0);
	fx->ts = 1700000000ull * SEC;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	live_udp_free(fx->u);
	pipeline_free(fx->p);
	store_close(fx->store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
	free(fx);
	return 0;
}

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, (uint16_t)(v >> 16));
	be16(p + 2, (uint16_t)v);
}

/* Ethernet + IPv4 + UDP or TCP header + 8 payload bytes; returns the length. */
static uint32_t build(uint8_t *b, uint8_t proto, uint32_t src, uint16_t sp, uint32_t dst,
		      uint16_t dp)
{
	uint32_t l4 = proto == 17 ? 8 : 20, len = 14 + 20 + l4 + 8;

	memset(b, 0, len);
	be16(b + 12, 0x0800);
	b[14] = 0x45;
	be16(b + 16, (uint16_t)(20 + l4 + 8));
	b[22] = 64;
	b[23] = proto;
	be32(b + 26, src);
	be32(b + 30, dst);
	be16(b + 34, sp);
	be16(b + 36, dp);
	if (proto == 17) {
		be16(b + 38, (uint16_t)(8 + 8));
	} else {
		b[46] = 5 << 4;
		b[47] = 0x18; /* PSH ACK */
	}
	return len;
}

/* One packet recorded on interface iface of namespace netns through the pipeline, then
 * live_udp; returns its flow id. */
static uint64_t packet_in(struct fx *fx, uint32_t iface, uint32_t netns, uint8_t proto,
			  uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp)
{
	uint8_t b[128];
	struct ecap_packet pkt = { 0 };

	pkt.caplen = pkt.origlen = build(b, proto, src, sp, dst, dp);
	pkt.ts_ns = fx->ts += 1000;
	pkt.iface = iface;
	pkt.flags = PKT_DIR_OUTBOUND;
	pkt.data = b;
	struct decoded d;
	int res;
	assert_int_equal(pipeline_packet_decoded(fx->p, &pkt, NULL, &d, &res), 0);
	assert_int_equal(live_udp_packet(fx->u, netns, &d, res, pkt.ts_ns), 0);
	return pkt.flow_id;
}

static uint64_t packet(struct fx *fx, uint8_t proto, uint32_t src, uint16_t sp, uint32_t dst,
		       uint16_t dp)
{
	return packet_in(fx, fx->eth, NS_A, proto, src, sp, dst, dp);
}

static void addr4(uint8_t out[16], uint32_t a)
{
	memset(out, 0, 16);
	out[10] = out[11] = 0xff;
	be32(out + 12, a);
}

static struct ecap_proc proc(uint32_t pid, const char *comm)
{
	struct ecap_proc p = { .valid = true, .pid = pid, .tid = pid, .uid = 1000, .gid = 1000 };

	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	return p;
}

static void bind_any_in(struct fx *fx, uint32_t netns, uint16_t port, uint32_t pid,
			const char *comm)
{
	uint8_t any[16];
	struct ecap_proc p = proc(pid, comm);

	addr4(any, 0);
	p.netns = netns;
	assert_int_equal(live_udp_bind(fx->u, netns, any, port, &p, fx->ts), 0);
}

static void bind_any(struct fx *fx, uint16_t port, uint32_t pid, const char *comm)
{
	bind_any_in(fx, NS_A, port, pid, comm);
}

/* The pid owning the end with port `port` of flow id (0: none). */
static uint32_t owner(struct fx *fx, uint64_t id, uint16_t port)
{
	struct flow_record fr;

	assert_int_equal(store_sync(fx->store), 0);
	assert_int_equal(store_get_flow(fx->store, id, &fr), 0);
	if (fr.key.port_a == port)
		return fr.proc[FLOW_SIDE_A].valid ? fr.proc[FLOW_SIDE_A].pid : 0;
	if (fr.key.port_b == port)
		return fr.proc[FLOW_SIDE_B].valid ? fr.proc[FLOW_SIDE_B].pid : 0;
	fail_msg("flow %llu has no port %u", (unsigned long long)id, port);
	return 0;
}

static void test_known_before(void **state)
{
	struct fx *fx = *state;
	uint64_t id;

	bind_any(fx, 5353, 42, "avahi");
	id = packet(fx, 17, HOST_A, 40000, HOST_B, 5353);
	assert_true(id != 0);
	assert_int_equal(packet(fx, 17, HOST_B, 5353, HOST_A, 40000), id);
	assert_int_equal(packet(fx, 17, HOST_A, 40000, HOST_B, 5353), id);
	assert_int_equal(live_udp_attributed(fx->u), 1);
	assert_int_equal(owner(fx, id, 5353), 42);
	assert_int_equal(owner(fx, id, 40000), 0);
}

static void test_learned_after(void **state)
{
	struct fx *fx = *state;
	uint64_t id;

	/* a one-datagram exchange: the packet comes first, its sender's socket after */
	id = packet(fx, 17, HOST_A, 41000, HOST_B, 9999);
	assert_int_equal(live_udp_attributed(fx->u), 0);
	bind_any(fx, 41000, 77, "sender");
	assert_int_equal(live_udp_attributed(fx->u), 1);
	assert_int_equal(owner(fx, id, 41000), 77);
}

static void test_both_ends_once(void **state)
{
	struct fx *fx = *state;
	uint64_t id;
	int i;

	bind_any(fx, 6000, 10, "client");
	bind_any(fx, 7000, 20, "server");
	id = packet(fx, 17, HOST_A, 6000, HOST_A, 7000);
	for (i = 0; i < 20; i++) {
		packet(fx, 17, HOST_A, 7000, HOST_A, 6000);
		packet(fx, 17, HOST_A, 6000, HOST_A, 7000);
	}
	assert_int_equal(live_udp_attributed(fx->u), 2);
	assert_int_equal(owner(fx, id, 6000), 10);
	assert_int_equal(owner(fx, id, 7000), 20);
}

static void test_specific_address(void **state)
{
	struct fx *fx = *state;
	struct ecap_proc p = proc(55, "bound");
	uint8_t a[16];
	uint64_t id1, id2;

	addr4(a, HOST_B);
	assert_int_equal(live_udp_bind(fx->u, NS_A, a, 8053, &p, fx->ts), 0);
	id1 = packet(fx, 17, HOST_A, 42000, HOST_B, 8053);
	id2 = packet(fx, 17, HOST_B, 42001, HOST_A, 8053); /* to 127.0.0.1:8053: not its end */
	assert_int_equal(live_udp_attributed(fx->u), 1);
	assert_int_equal(owner(fx, id1, 8053), 55);
	assert_int_equal(owner(fx, id2, 8053), 0);
}

static void test_connected_takes_end(void **state)
{
	struct fx *fx = *state;
	struct socket_owner so = { .proto = 17, .local_port = 43000, .remote_port = 53 };
	uint64_t id;

	bind_any(fx, 43000, 30, "old");
	addr4(so.local_addr, HOST_A);
	addr4(so.remote_addr, HOST_B);
	so.proc = proc(31, "new");
	so.netns = NS_A;
	assert_int_equal(pipeline_socket_owner(fx->p, &so, fx->ts), 0);
	live_udp_connected(fx->u, &so);
	id = packet(fx, 17, HOST_A, 43000, HOST_B, 53);
	assert_int_equal(live_udp_attributed(fx->u), 0);
	assert_int_equal(owner(fx, id, 43000), 31);
}

static void test_other_netns(void **state)
{
	struct fx *fx = *state;
	uint64_t id_a, id_b, id_late;

	/* a socket of namespace B on port 5353; the same tuple in both namespaces */
	bind_any_in(fx, NS_B, 5353, 61, "in-b");
	id_a = packet_in(fx, fx->eth, NS_A, 17, HOST_A, 40000, HOST_B, 5353);
	id_b = packet_in(fx, fx->eth_b, NS_B, 17, HOST_A, 40000, HOST_B, 5353);
	assert_true(id_a != 0 && id_b != 0 && id_a != id_b);
	assert_int_equal(owner(fx, id_a, 5353), 0);
	assert_int_equal(owner(fx, id_b, 5353), 61);
	assert_int_equal(live_udp_attributed(fx->u), 1);
	/* then a socket of A on that port: A's flow gets it, B's keeps its own */
	bind_any_in(fx, NS_A, 5353, 62, "in-a");
	assert_int_equal(owner(fx, id_a, 5353), 62);
	assert_int_equal(owner(fx, id_b, 5353), 61);
	/* a packet waiting for its socket is not given one of another namespace */
	id_late = packet_in(fx, fx->eth, NS_A, 17, HOST_A, 41000, HOST_B, 9999);
	bind_any_in(fx, NS_B, 41000, 63, "late-b");
	assert_int_equal(owner(fx, id_late, 41000), 0);
	/* a socket of no known namespace owns nothing */
	bind_any_in(fx, 0, 41000, 64, "nowhere");
	assert_int_equal(owner(fx, id_late, 41000), 0);
	bind_any_in(fx, NS_A, 41000, 65, "late-a");
	assert_int_equal(owner(fx, id_late, 41000), 65);
}

static void test_tcp_ignored(void **state)
{
	struct fx *fx = *state;

	bind_any(fx, 44000, 40, "udp-only");
	packet(fx, 6, HOST_A, 44000, HOST_B, 80);
	assert_int_equal(live_udp_attributed(fx->u), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_before, setup, teardown),
		cmocka_unit_test_setup_teardown(test_learned_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_both_ends_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_specific_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connected_takes_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_netns, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
