// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_recent_sessions.c - the index's table of recent sessions (schema/index.c), which says
 * whether a chunk's secrets are near their session (no index row: the chunk's DSB holds them),
 * is as large as the sessions of one window need and grows with them. Checked: 3,000 sessions
 * in one chunk (three times the first table) still have every secret of the next chunk near;
 * a session seen again past its window stays "never near" when the table grows after it (its
 * later secrets get rows); and a new index's first chunks of a few hundred sessions touch a
 * few pages of the table, not a page per session (the table was 2.5 MiB, hit at random);
 * and a growth that finds no memory (calloc wrapped: -Wl,--wrap=calloc) leaves the sessions
 * that found no slot out, their secrets with rows, instead of failing the chunk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "index.h"
#include "page_faults.h"
#include "test_flow.h"
#include "tmp_store.h"

#define MANY 3000u

/* The recent-sessions table's growth (40-byte slots, 2,048 and more of them) fails while
 * set; every other calloc goes through. */
static bool no_memory_to_grow;
static unsigned growths_refused;
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
	if (no_memory_to_grow && size == 40 && n >= 2048 && !(n & (n - 1))) {
		growths_refused++;
		return NULL;
	}
	return __real_calloc(n, size);
}

static struct index *open_index(const char *dir)
{
	struct index *ix;
	char err[256], path[128];
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/index.db", dir);
	assert_int_equal(index_open(path, true, true, &ix, err, sizeof(err)), 0);
	return ix;
}

/* Session n's client_random: 32 bytes that look random (splitmix64 of n and the word). */
static void random_of(uint32_t n, uint8_t cr[32])
{
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t z = ((uint64_t)n << 2 | i) * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		memcpy(cr + 8 * i, &z, 8);
	}
}

/* Chunk id with flows first..first+n-1 and a session on each, session i's client_random
 * random_of(rnd + i); and a secret for each random_of(sec[j]) of sec[0..n_sec). */
static void add_chunk(struct index *ix, uint64_t id, uint64_t first, uint32_t n, uint32_t rnd,
		      const uint32_t *sec, size_t n_sec)
{
	struct flow_record *flows = calloc(n ? n : 1, sizeof(*flows));
	struct chunkmeta_session *sessions = calloc(n ? n : 1, sizeof(*sessions));
	struct tls_secret *secrets = calloc(n_sec ? n_sec : 1, sizeof(*secrets));
	assert_true(flows && sessions && secrets);
	for (uint32_t i = 0; i < n; i++) {
		flows[i] = test_flow(first + i);
		sessions[i].flow_id = first + i;
		random_of(rnd + i, sessions[i].client_random);
	}
	for (size_t j = 0; j < n_sec; j++) {
		snprintf(secrets[j].label, sizeof(secrets[j].label), "CLIENT_TRAFFIC_SECRET_0");
		random_of(sec[j], secrets[j].client_random);
		secrets[j].secret_len = 32;
		memset(secrets[j].secret, (int)j, 32);
	}
	struct chunk_meta m = { .id = id, .first_ns = 1000 * id, .last_ns = 1000 * id + 999,
				.packets = n, .segment = 1, .offset = 100 * (id - 1), .length = 100,
				.flows = flows, .n_flows = n, .sessions = sessions,
				.n_sessions = n };
	assert_int_equal(index_add_chunk(ix, &m, secrets, n_sec, false), 0);
	free(flows);
	free(sessions);
	free(secrets);
}

/* 0, 1, ..., n - 1: the sessions whose secrets a chunk brings. */
static uint32_t *sessions_0_to(uint32_t n)
{
	uint32_t *v = malloc(n * sizeof(*v));
	assert_non_null(v);
	for (uint32_t i = 0; i < n; i++)
		v[i] = i;
	return v;
}

static int64_t count(struct index *ix, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(index_db(ix), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* 3,000 sessions in chunk 1, their secrets in chunk 2: all near, no row; a secret of the
 * first session ten chunks later is not near: one row. */
static void test_many_sessions_near(void **state)
{
	struct fixture *f = *state;
	struct index *ix = open_index(f->dir);
	uint32_t *sec = sessions_0_to(MANY);
	assert_int_equal(index_begin(ix), 0);
	add_chunk(ix, 1, 1, MANY, 0, NULL, 0);
	add_chunk(ix, 2, MANY + 1, 0, 0, sec, MANY);
	add_chunk(ix, 12, MANY + 1, 0, 0, sec, 1);
	assert_int_equal(index_commit(ix), 0);
	assert_int_equal(count(ix, "SELECT near_secrets FROM chunks WHERE id = 2"), MANY);
	assert_int_equal(count(ix, "SELECT count(*) FROM secrets WHERE chunk_id = 2"), 0);
	assert_int_equal(count(ix, "SELECT count(*) FROM secrets WHERE chunk_id = 12"), 1);
	assert_int_equal(count(ix, "SELECT count(*) FROM secret_chunks WHERE chunk_id = 12"), 1);
	free(sec);
	index_close(ix);
}

/* Session X (random 100000) in chunk 1 and again in chunk 20, past its window: never near.
 * Chunk 21 brings 2,000 new sessions (the table grows); chunk 22 brings X once more with its
 * secret, which must get its row: the growth kept X as never near rather than dropping it
 * (X would then be taken as new in chunk 22, and its secret as near). */
static void test_never_near_kept_through_growth(void **state)
{
	struct fixture *f = *state;
	struct index *ix = open_index(f->dir);
	uint32_t x = 100000;
	assert_int_equal(index_begin(ix), 0);
	add_chunk(ix, 1, 1, 1, x, NULL, 0);
	add_chunk(ix, 20, 2, 1, x, NULL, 0);
	add_chunk(ix, 21, 3, 2000, 0, NULL, 0);
	add_chunk(ix, 22, 2003, 1, x, &x, 1);
	assert_int_equal(index_commit(ix), 0);
	assert_int_equal(count(ix, "SELECT near_secrets FROM chunks WHERE id = 22"), 0);
	assert_int_equal(count(ix, "SELECT count(*) FROM secrets WHERE chunk_id = 22"), 1);
	index_close(ix);
}

/* A new index's first chunks, of 100 and then 400 new sessions, take far fewer page faults
 * than their 500 sessions: with the 2.5 MiB table a new session touched a page of it at random
 * (or its allocation cleared it whole), 300 to 640 faults more. */
static void test_few_pages_for_few_sessions(void **state)
{
	struct fixture *f = *state;
	struct index *ix = open_index(f->dir);
	assert_int_equal(index_begin(ix), 0);
	long before = page_faults();
	add_chunk(ix, 1, 1, 100, 0, NULL, 0);
	add_chunk(ix, 2, 101, 400, 100, NULL, 0);
	long faults = page_faults() - before;
	assert_int_equal(index_commit(ix), 0);
	print_message("500 new sessions indexed: %ld page faults\n", faults);
	if (page_faults_checked())
		assert_true(faults < 250);
	index_close(ix);
}

/* 3,000 sessions in chunk 1 with no memory to grow the first table (1,024 slots): the chunk
 * is indexed all the same; its sessions that found a slot have their secrets of chunk 2 near,
 * the others' secrets have rows, and every secret is in the index (near or by its row). */
static void test_no_memory_to_grow(void **state)
{
	struct fixture *f = *state;
	struct index *ix = open_index(f->dir);
	uint32_t *sec = sessions_0_to(MANY);
	assert_int_equal(index_begin(ix), 0);
	no_memory_to_grow = true;
	growths_refused = 0;
	add_chunk(ix, 1, 1, MANY, 0, NULL, 0);
	add_chunk(ix, 2, MANY + 1, 0, 0, sec, MANY);
	no_memory_to_grow = false;
	assert_int_equal(index_commit(ix), 0);
	assert_true(growths_refused > 0);
	int64_t near = count(ix, "SELECT near_secrets FROM chunks WHERE id = 2");
	int64_t rows = count(ix, "SELECT count(*) FROM secrets WHERE chunk_id = 2");
	print_message("no memory to grow: %u growths refused, %lld secrets near, %lld with rows\n",
		      growths_refused, (long long)near, (long long)rows);
	assert_true(near > 0 && near <= 1024);
	assert_int_equal(near + rows, MANY);
	free(sec);
	index_close(ix);
}

int main(void)
{
	/* the page faults first: the others' tables, once freed, would be memory at hand */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_few_pages_for_few_sessions, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_many_sessions_near, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_never_near_kept_through_growth,
						tmp_store_setup, tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_no_memory_to_grow, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
