// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_export_follow.c - ecap-export --follow (export/export.c) against a store that is
 * being written: a follower selecting two pids runs in a thread while the main thread, as
 * the recorder, first records a connection whose owner is not known yet, then learns the
 * owner and records more of it. The file must end up with every packet of both
 * connections exactly once, the late-attributed connection's earlier packets included,
 * each with its process comment.
 */
#include <errno.h>
#include <pthread.h>
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

#include "export.h"
#include "pcapng.h"

static const uint8_t LO4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };
static const uint64_t BASE = 1795672800000000000ull;

/* Ethernet + IPv4 + TCP header, 127.0.0.1:sport -> 127.0.0.1:dport, no payload. */
static size_t frame(uint8_t *f, uint16_t sport, uint16_t dport)
{
	memset(f, 0, 54);
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 40;
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, LO4 + 12, 4);
	memcpy(f + 30, LO4 + 12, 4);
	f[34] = (uint8_t)(sport >> 8), f[35] = (uint8_t)sport;
	f[36] = (uint8_t)(dport >> 8), f[37] = (uint8_t)dport;
	f[46] = 5 << 4;
	f[47] = 0x10;
	return 54;
}

static struct flow_record flow(uint64_t id, uint16_t sport)
{
	struct flow_record r = { .id = id, .first_ns = BASE };
	r.key.proto = 6;
	r.key.family = 4;
	memcpy(r.key.addr_a, LO4, 16);
	memcpy(r.key.addr_b, LO4, 16);
	r.key.port_a = sport;
	r.key.port_b = 443;
	return r;
}

/* Packets of a flow from its client (outbound) at the given offsets from BASE. */
static void packets(struct store *s, uint32_t iface, const struct flow_record *r,
		    const uint64_t *at, size_t n)
{
	uint8_t f[64];
	size_t len = frame(f, r->key.port_a, r->key.port_b);

	for (size_t i = 0; i < n; i++) {
		struct ecap_packet p = { .ts_ns = BASE + at[i], .iface = iface,
					 .caplen = (uint32_t)len, .origlen = (uint32_t)len,
					 .flags = PKT_DIR_OUTBOUND, .flow_id = r->id, .data = f };
		assert_int_equal(store_append_packet(s, &p), 0);
	}
}

struct run {
	struct export_options o;
	int rc;
};

static void *follower(void *arg)
{
	struct run *r = arg;
	r->rc = export_run(&r->o);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static void test_late_owner(void **state)
{
	char dir[64] = "/tmp/test_export_follow.XXXXXX", store_dir[80], out[80], cmd[160];
	struct ecap_iface lo = { .name = "lo", .linktype = 1, .snaplen = 262144 };
	struct store *s;
	uint32_t iface;
	struct query q;
	struct run run = { .rc = -1 };
	pthread_t th;
	static const uint64_t a1[] = { 0, 2, 4 }, b1[] = { 1, 3, 5 }, b2[] = { 10, 11 };

	assert_non_null(mkdtemp(dir));
	snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
	snprintf(out, sizeof(out), "%s/out.pcapng", dir);

	/* Recorded so far: flow 1 owned by pid 10, flow 2 with no known owner. */
	assert_int_equal(store_open(store_dir, STORE_WRITE, NULL, &s), 0);
	assert_int_equal(store_add_interface(s, &lo, &iface), 0);
	struct flow_record f1 = flow(store_new_flow_id(s), 40001);
	struct flow_record f2 = flow(store_new_flow_id(s), 40002);
	f1.proc[0] = (struct ecap_proc){ .valid = true, .pid = 10, .tid = 10, .comm = "early" };
	assert_int_equal(store_put_flow(s, &f1), 0);
	assert_int_equal(store_put_flow(s, &f2), 0);
	packets(s, iface, &f1, a1, 3);
	packets(s, iface, &f2, b1, 3);
	assert_int_equal(store_sync(s), 0);

	args_query_init(&q);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PID, "10", 0), 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PID, "20", 0), 1);
	run.o = (struct export_options){ .q = &q, .store_dir = store_dir, .out_path = out,
					 .follow = true, .cmdline = "test" };
	__atomic_store_n(&export_stop, 0, __ATOMIC_RELAXED);
	assert_int_equal(pthread_create(&th, NULL, follower, &run), 0);
	sleep_ms(900);

	/* The owner of flow 2 is learned (pid 20), and it sends two more packets. */
	f2.proc[0] = (struct ecap_proc){ .valid = true, .pid = 20, .tid = 21, .comm = "late" };
	assert_int_equal(store_put_flow(s, &f2), 0);
	packets(s, iface, &f2, b2, 2);
	assert_int_equal(store_sync(s), 0);
	sleep_ms(1500);
	__atomic_store_n(&export_stop, 1, __ATOMIC_RELAXED);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(run.rc, 0);
	assert_int_equal(store_close(s), 0);

	/* Every packet once: flow 1's three, then flow 2's five. */
	FILE *fp = fopen(out, "rb");
	assert_non_null(fp);
	uint8_t *data = malloc(1 << 16);
	size_t len = fread(data, 1, 1 << 16, fp);
	fclose(fp);
	uint64_t seen[16];
	int n = 0, late_comments = 0, early_comments = 0;
	bool swap = false;
	for (size_t off = 0; off < len;) {
		struct pcapng_block blk;
		long r = pcapng_block_parse(data + off, len - off, &swap, &blk);
		assert_true(r > 0);
		if (blk.type == PCAPNG_BT_EPB) {
			struct pcapng_epb e;
			assert_int_equal(pcapng_parse_packet(&blk, swap, &e), 0);
			assert_true(n < 16);
			seen[n++] = e.ts - BASE;
			assert_non_null(e.comment);
			if (e.comment_len >= 7 && !memcmp(e.comment, "PID: 20", 7))
				late_comments++;
			if (e.comment_len >= 7 && !memcmp(e.comment, "PID: 10", 7))
				early_comments++;
		}
		off += (size_t)r;
	}
	free(data);
	assert_int_equal(n, 8);
	static const uint64_t want[] = { 0, 2, 4, 1, 3, 5, 10, 11 };
	for (int i = 0; i < 8; i++)
		assert_int_equal(seen[i], want[i]);
	assert_int_equal(early_comments, 3);
	assert_int_equal(late_comments, 5);

	args_query_free(&q);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_late_owner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
