// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_chunk_runs.c - a flow's chunk list (schema/chunk_runs.h): the rule for one more chunk
 * (the run extended, over up to CHUNK_RUNS_GAP chunks too, a run started past that, a chunk
 * indexed again ignored, the last run extended over any gap once the list holds
 * CHUNK_RUNS_MAX runs); the same list whatever batches the chunks
 * come in (chunk_runs_merge of a list with the runs of a batch, as the index's commit does,
 * against one chunk at a time, for random chunk sequences cut at random points, below and
 * past the cap); damaged lists refused; and the SQL function ecap_chunk_runs_add on a SQLite
 * connection: NULL stays NULL, nothing to add keeps the list, an empty list is an empty blob
 * (not NULL), a damaged list becomes NULL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk_runs.h"
#include "idruns.h"

static void test_one_chunk_at_a_time(void **state)
{
	(void)state;
	struct chunk_id_run v[CHUNK_RUNS_MAX];
	size_t n = 0;
	chunk_runs_add(v, &n, 5, 5);
	chunk_runs_add(v, &n, 6, 6); /* the next chunk: the run grows */
	assert_int_equal(n, 1);
	assert_true(v[0].lo == 5 && v[0].hi == 6);
	chunk_runs_add(v, &n, 6, 6); /* indexed again */
	chunk_runs_add(v, &n, 3, 4); /* before the list's end */
	assert_int_equal(n, 1);
	assert_true(v[0].lo == 5 && v[0].hi == 6);
	chunk_runs_add(v, &n, 7 + CHUNK_RUNS_GAP, 7 + CHUNK_RUNS_GAP); /* a gap it passes over */
	assert_int_equal(n, 1);
	assert_true(v[0].lo == 5 && v[0].hi == 7 + CHUNK_RUNS_GAP);
	uint64_t far = 9 + 2 * CHUNK_RUNS_GAP; /* one chunk more than it passes over */
	chunk_runs_add(v, &n, far, far);
	assert_int_equal(n, 2);
	assert_true(v[1].lo == far && v[1].hi == far);
	chunk_runs_add(v, &n, far - 1, far + 3); /* overlapping the end: only what is after it */
	assert_int_equal(n, 2);
	assert_true(v[1].lo == far && v[1].hi == far + 3);
}

static void test_cap(void **state)
{
	(void)state;
	struct chunk_id_run v[CHUNK_RUNS_MAX];
	size_t n = 0;
	for (uint64_t i = 0; i < CHUNK_RUNS_MAX; i++)
		chunk_runs_add(v, &n, 10 * i + 1, 10 * i + 1);
	assert_int_equal(n, CHUNK_RUNS_MAX);
	uint64_t last = v[n - 1].hi;
	chunk_runs_add(v, &n, last + 7, last + 7); /* no room: the last run covers the gap */
	assert_int_equal(n, CHUNK_RUNS_MAX);
	assert_true(v[n - 1].lo == last && v[n - 1].hi == last + 7);
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* chunks: ascending ids, each a chunk with the flow; the list one at a time into *one. */
static void one_at_a_time(const uint64_t *chunks, size_t n_chunks, struct buf *one)
{
	struct chunk_id_run v[CHUNK_RUNS_MAX];
	size_t n = 0;
	uint64_t next = 0;
	for (size_t i = 0; i < n_chunks; i++)
		chunk_runs_add(v, &n, chunks[i], chunks[i]);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(idruns_put(one, &next, v[i].lo, v[i].hi), 0);
}

/* The same chunks in batches cut at random: each batch's runs (uncapped, as a transaction
 * gathers them) merged into the list so far. */
static void in_batches(const uint64_t *chunks, size_t n_chunks, struct buf *list)
{
	struct buf add = { 0 }, out = { 0 };
	for (size_t i = 0; i < n_chunks;) {
		size_t end = i + 1 + (size_t)(next_rand() % 40);
		if (end > n_chunks)
			end = n_chunks;
		buf_reset(&add);
		assert_int_equal(idruns_encode(&add, chunks + i, end - i), 0);
		buf_reset(&out);
		assert_int_equal(chunk_runs_merge(list->data, list->len, add.data, add.len, &out), 0);
		buf_reset(list);
		assert_int_equal(buf_append(list, out.data, out.len), 0);
		i = end;
	}
	buf_free(&add);
	buf_free(&out);
}

static void test_batches_make_the_same_list(void **state)
{
	(void)state;
	enum { MAX_CHUNKS = 3000 };
	uint64_t *chunks = malloc(MAX_CHUNKS * sizeof(*chunks));
	assert_non_null(chunks);
	for (int round = 0; round < 200; round++) {
		/* below the cap in half the rounds, past it (many gaps) in the others */
		size_t n = 1 + (size_t)(next_rand() % (round % 2 ? MAX_CHUNKS : 200));
		uint64_t id = 1 + next_rand() % 1000;
		for (size_t i = 0; i < n; i++) {
			chunks[i] = id;
			id += 1 + (next_rand() % 3 == 0 ? next_rand() % 20 : 0);
		}
		struct buf one = { 0 }, batched = { 0 };
		one_at_a_time(chunks, n, &one);
		in_batches(chunks, n, &batched);
		assert_int_equal(one.len, batched.len);
		assert_memory_equal(one.data, batched.data, one.len);
		/* every chunk of the flow is in the list */
		size_t off = 0, k = 0;
		uint64_t next = 0, lo, hi;
		while (idruns_next(one.data, one.len, &off, &next, &lo, &hi) == 1)
			for (; k < n && chunks[k] <= hi; k++)
				assert_true(chunks[k] >= lo);
		assert_int_equal(k, n);
		buf_free(&one);
		buf_free(&batched);
	}
	free(chunks);
}

static void test_damage_refused(void **state)
{
	(void)state;
	struct buf out = { 0 };
	const uint8_t cut[] = { 0x05, 0x80 };         /* a length cut short */
	const uint8_t adjacent[] = { 0x05, 0x00, 0x00, 0x00 }; /* two runs that touch */
	const uint8_t add[] = { 0x09, 0x00 };
	assert_int_equal(chunk_runs_merge(cut, sizeof(cut), add, sizeof(add), &out), -EBADMSG);
	assert_int_equal(chunk_runs_merge(adjacent, sizeof(adjacent), add, sizeof(add), &out),
			 -EBADMSG);
	assert_int_equal(chunk_runs_merge(add, sizeof(add), cut, sizeof(cut), &out), -EBADMSG);
	/* more runs than a list holds */
	struct buf many = { 0 };
	uint64_t next = 0;
	for (uint64_t i = 0; i <= CHUNK_RUNS_MAX; i++)
		assert_int_equal(idruns_put(&many, &next, 3 * i + 1, 3 * i + 1), 0);
	assert_int_equal(chunk_runs_merge(many.data, many.len, add, sizeof(add), &out), -EBADMSG);
	buf_free(&many);
	buf_free(&out);
}

/* SELECT ecap_chunk_runs_add(old, add) with old and add given as SQL expressions: its type
 * and, for a blob, its bytes into out (*len). */
static int sql_add(sqlite3 *db, const char *old, const char *add, uint8_t *out, int *len)
{
	char sql[256];
	sqlite3_stmt *st;
	snprintf(sql, sizeof(sql), "SELECT ecap_chunk_runs_add(%s, %s)", old, add);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int type = sqlite3_column_type(st, 0);
	*len = sqlite3_column_bytes(st, 0);
	if (type == SQLITE_BLOB && *len)
		memcpy(out, sqlite3_column_blob(st, 0), (size_t)*len);
	sqlite3_finalize(st);
	return type;
}

static void test_sql_function(void **state)
{
	(void)state;
	sqlite3 *db;
	uint8_t out[64];
	int len;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(chunk_runs_register(db), SQLITE_OK);
	/* runs [5,6] then chunks 20 and 21: gap 5 length 2, gap 13 length 2 */
	assert_int_equal(sql_add(db, "x'0501'", "x'1401'", out, &len), SQLITE_BLOB);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "\x05\x01\x0d\x01", 4);
	assert_int_equal(sql_add(db, "x'0501'", "x'0700'", out, &len), SQLITE_BLOB); /* 7 */
	assert_int_equal(len, 2);
	assert_memory_equal(out, "\x05\x02", 2);
	assert_int_equal(CHUNK_RUNS_GAP, 4); /* chunk 11 is 4 chunks after 6: [5,11] */
	assert_int_equal(sql_add(db, "x'0501'", "x'0b00'", out, &len), SQLITE_BLOB);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "\x05\x06", 2);
	assert_int_equal(sql_add(db, "NULL", "x'0901'", out, &len), SQLITE_NULL);
	assert_int_equal(sql_add(db, "x'0501'", "NULL", out, &len), SQLITE_BLOB);
	assert_int_equal(len, 2);
	assert_int_equal(sql_add(db, "x''", "NULL", out, &len), SQLITE_BLOB);
	assert_int_equal(len, 0);
	assert_int_equal(sql_add(db, "x'0580'", "x'0901'", out, &len), SQLITE_NULL);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_chunk_at_a_time),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_batches_make_the_same_list),
		cmocka_unit_test(test_damage_refused),
		cmocka_unit_test(test_sql_function),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
