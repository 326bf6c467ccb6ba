// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_export_merge.c - the k-way merge of export/merge.c over real stores. Chunks of
 * separate recordings that overlap in time: packets come out in timestamp order, and each
 * chunk is opened only when the merge reaches its first timestamp. One recording whose
 * clocks tie and step back, within a chunk and across chunks, on two interfaces, and a second
 * recording beside it: each interface keeps its recorded order, interfaces and recordings
 * interleave by time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "merge.h"
#include "store.h"

static char dir[64];

static void append(struct store *s, uint32_t iface, const uint64_t *ts, size_t n)
{
	uint8_t data[64];

	for (size_t i = 0; i < n; i++) {
		memset(data, (int)(ts[i] & 0xff), sizeof(data));
		struct ecap_packet p = { .ts_ns = ts[i], .iface = iface, .caplen = sizeof(data),
					 .origlen = sizeof(data), .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
	}
	assert_int_equal(store_sync(s), 0); /* closes the chunk */
}

static int setup(void **state)
{
	struct store *s;
	struct ecap_iface lo = { .name = "lo", .linktype = 1 };
	uint32_t id;
	/* Three chunks: [10..50], [20..60] overlap; [5..7] starts before both. */
	static const uint64_t c1[] = { 10, 30, 50 }, c2[] = { 20, 40, 60 }, c3[] = { 5, 7 };
	const uint64_t base = 1795672800000000000ull;
	uint64_t t1[3], t2[3], t3[2];

	for (int i = 0; i < 3; i++) {
		t1[i] = base + c1[i];
		t2[i] = base + c2[i];
	}
	for (int i = 0; i < 2; i++)
		t3[i] = base + c3[i];
	snprintf(dir, sizeof(dir), "/tmp/test_export_merge.XXXXXX");
	assert_non_null(mkdtemp(dir));
	strcat(dir, "/store");
	/* Three recordings, one chunk each: their times interleave. */
	const uint64_t *t[] = { t1, t2, t3 };
	const size_t n[] = { 3, 3, 2 };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_open(dir, STORE_WRITE, NULL, &s), 0);
		assert_int_equal(store_add_interface(s, &lo, &id), 0);
		append(s, id, t[i], n[i]);
		assert_int_equal(store_close(s), 0);
	}
	(void)state;
	return 0;
}

static int setup_empty(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_export_merge.XXXXXX");
	assert_non_null(mkdtemp(dir));
	strcat(dir, "/store");
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)state;
	return system(cmd);
}

static void test_order(void **state)
{
	struct store *s;
	struct chunk_list cl = { 0 };
	struct merge m;
	struct ecap_packet pkt;
	static const uint64_t want[] = { 5, 7, 10, 20, 30, 40, 50, 60 };
	/* Chunks open when the frontier reaches them: after 5, 7 only the first is open. */
	static const uint64_t opened[] = { 1, 1, 2, 3, 3, 3, 3, 3 };
	const uint64_t base = 1795672800000000000ull;
	size_t n = 0;
	int r;

	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, NULL, &cl), 0);
	assert_int_equal(cl.n, 3);
	assert_int_equal(cl.v[0].first_ns, base + 5);
	assert_int_equal(merge_init(&m, s, cl.v, cl.n), 0);
	while ((r = merge_next(&m, &pkt)) == 1) {
		assert_true(n < 8);
		assert_int_equal(pkt.ts_ns, base + want[n]);
		assert_int_equal(pkt.caplen, 64);
		assert_int_equal(pkt.data[0], (uint8_t)((base + want[n]) & 0xff));
		assert_int_equal(m.chunks_opened, opened[n]);
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 8);
	assert_int_equal(m.chunks_failed, 0);
	merge_free(&m);

	/* An empty list is an empty merge. */
	assert_int_equal(merge_init(&m, s, NULL, 0), 0);
	assert_int_equal(merge_next(&m, &pkt), 0);
	merge_free(&m);
	chunk_list_free(&cl);
	store_close(s);
	(void)state;
}

/* A packet: its time (from base), interface (0: a, 1: b) and chunk (each ends one). */
struct rec {
	uint64_t t;
	int iface;
	bool end_chunk;
};

static void append_recs(struct store *s, const uint32_t *ids, const struct rec *r, size_t n,
			uint8_t first_tag)
{
	const uint64_t base = 1795672800000000000ull;
	uint8_t data[64];

	for (size_t i = 0; i < n; i++) {
		memset(data, 0, sizeof(data));
		data[0] = (uint8_t)(first_tag + i); /* names the packet */
		struct ecap_packet p = { .ts_ns = base + r[i].t, .iface = ids[r[i].iface],
					 .caplen = sizeof(data), .origlen = sizeof(data),
					 .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
		if (r[i].end_chunk)
			assert_int_equal(store_sync(s), 0);
	}
}

static void test_recorded_order(void **state)
{
	/*
	 * Recording 1, three chunks. Interface a: 10 30 25 | 20 60 | 5 (steps back inside a
	 * chunk and across both chunk boundaries); b: 12 30 | 40 | 5 (ties a at 30, steps back
	 * across a boundary). Recording 2 on the same interface a: 15 35.
	 * Keys (running max per interface and recording):
	 *   tag 0 a10 k10, 1 b12 k12, 2 a30 k30, 3 a25 k30, 4 b30 k30 | 5 a20 k30, 6 b40 k40,
	 *   7 a60 k60 | 8 a5 k60, 9 b5 k40 || 10 a15 k15, 11 a35 k35
	 * Sorted by key, ties in recorded order (chunk, then position):
	 */
	static const struct rec run1[] = {
		{ 10, 0, false }, { 12, 1, false }, { 30, 0, false }, { 25, 0, false },
		{ 30, 1, true },  { 20, 0, false }, { 40, 1, false }, { 60, 0, true },
		{ 5, 0, false },  { 5, 1, true },
	};
	static const struct rec run2[] = { { 15, 0, false }, { 35, 0, true } };
	static const uint8_t want[] = { 0, 1, 10, 2, 3, 4, 5, 11, 6, 9, 7, 8 };
	struct ecap_iface a = { .name = "a", .linktype = 1 }, b = { .name = "b", .linktype = 1 };
	struct store *s;
	uint32_t ids[2];

	assert_int_equal(store_open(dir, STORE_WRITE, NULL, &s), 0);
	assert_int_equal(store_add_interface(s, &a, &ids[0]), 0);
	assert_int_equal(store_add_interface(s, &b, &ids[1]), 0);
	append_recs(s, ids, run1, sizeof(run1) / sizeof(run1[0]), 0);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(store_open(dir, STORE_WRITE, NULL, &s), 0);
	assert_int_equal(store_add_interface(s, &a, &ids[0]), 0);
	append_recs(s, ids, run2, sizeof(run2) / sizeof(run2[0]), 10);
	assert_int_equal(store_close(s), 0);

	/* The whole store, then a time window that holds every packet too: the same order. */
	for (int pass = 0; pass < 2; pass++) {
		struct chunk_list cl = { 0 };
		struct merge m;
		struct ecap_packet pkt;
		size_t n = 0;
		int r;
		const uint64_t base = 1795672800000000000ull;

		assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
		assert_int_equal(store_find_chunks(s, pass ? base : 0, pass ? base + 60 : UINT64_MAX,
						   NULL, &cl), 0);
		assert_int_equal(cl.n, 4);
		assert_int_equal(merge_init(&m, s, cl.v, cl.n), 0);
		while ((r = merge_next(&m, &pkt)) == 1) {
			assert_true(n < sizeof(want));
			assert_int_equal(pkt.data[0], want[n]);
			n++;
		}
		assert_int_equal(r, 0);
		assert_int_equal(n, sizeof(want));
		merge_free(&m);
		chunk_list_free(&cl);
		store_close(s);
	}
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recorded_order, setup_empty, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
