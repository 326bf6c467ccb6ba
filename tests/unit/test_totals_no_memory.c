// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_totals_no_memory.c - a flow's totals when the memory to gather them for the commit
 * cannot be had (schema/index.c: agg_reserve, totals_now). The table of the flows' slots is
 * refused through a wrapped calloc (-Wl,--wrap=calloc): every table, or every one past the
 * first (256 slots). The chunks of two transactions (records, packets of a flow in several
 * chunks, sessions in a chunk without their flow's packets) must be indexed all the same, and
 * leave the same rows as an index that had the memory: the flows' totals and chunk lists (what
 * an export reads to find a flow's packets), the chunks, the sessions. Before, index_add_chunk
 * failed with -ENOMEM, and the store cut the chunk off and counted its packets lost.
 * And the table's size: a chunk's flows with their sessions take one slot each, not two (a
 * session's flow counted again made the table grow before it had to).
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
#include <unistd.h>

#include "index.h"
#include "test_flow.h"
#include "tmp_store.h"

#define FLOWS 2000u /* far beyond the first table's 127 flows (it doubles at half full) */
#define SLOT_SIZE 64 /* sizeof(struct flow_agg) in index.c */

/* While refusing, a calloc of more than refuse_above slots of SLOT_SIZE bytes fails. */
static bool refusing;
static size_t refuse_above;
static unsigned refused;
static bool watching;        /* while set, the largest table asked for is kept: */
static size_t largest_table; /* the most slots of a table asked for */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
	if (watching && size == SLOT_SIZE && n > largest_table)
		largest_table = n;
	if (refusing && size == SLOT_SIZE && n > refuse_above) {
		refused++;
		return NULL;
	}
	return __real_calloc(n, size);
}

/* Session i's client_random: i in its first bytes. */
static void random_of(uint32_t i, uint8_t cr[32])
{
	memset(cr, 0xa5, 32);
	memcpy(cr, &i, sizeof(i));
}

/* Chunk id with room for FLOWS records, flow statistics and sessions (free_chunk). */
static struct chunk_meta new_chunk(uint64_t id)
{
	struct chunk_meta m = { .id = id, .first_ns = 1000000 * id, .last_ns = 1000000 * id + 999,
				.packets = 1, .segment = 1, .offset = 100 * (id - 1),
				.length = 100 };
	m.flows = calloc(FLOWS, sizeof(*m.flows));
	m.flowstats = calloc(FLOWS, sizeof(*m.flowstats));
	m.sessions = calloc(FLOWS, sizeof(*m.sessions));
	assert_true(m.flows && m.flowstats && m.sessions);
	return m;
}

static void free_chunk(struct chunk_meta *m)
{
	free(m->flows);
	free(m->flowstats);
	free(m->sessions);
	free(m->flowdir);
}

/* A session on flow i into m. */
static void add_session(struct chunk_meta *m, uint32_t i)
{
	m->sessions[m->n_sessions].flow_id = i;
	random_of(i, m->sessions[m->n_sessions++].client_random);
}

/* Chunk id: records of flows [rec_lo, rec_hi), 1 + id packets of every step-th flow from 1,
 * and a session on every sess_step-th flow from 1 (0: none). */
static void add_chunk(struct index *ix, uint64_t id, uint32_t rec_lo, uint32_t rec_hi,
		      uint32_t step, uint32_t sess_step)
{
	struct chunk_meta m = new_chunk(id);
	for (uint32_t i = rec_lo; i < rec_hi; i++)
		m.flows[m.n_flows++] = test_flow(i);
	for (uint32_t i = 1; step && i <= FLOWS; i += step)
		m.flowstats[m.n_flowstats++] = (struct chunkmeta_flowstat){
			.flow_id = i, .packets = 1 + id, .bytes = 100 * (1 + id),
			.first_ns = 1000000 * id + i, .last_ns = 1000000 * id + 2 * i };
	for (uint32_t i = 1; sess_step && i <= FLOWS; i += sess_step)
		add_session(&m, i);
	refusing = true;
	int err = index_add_chunk(ix, &m, NULL, 0, false);
	refusing = false;
	assert_int_equal(err, 0);
	free_chunk(&m);
}

/* What a user of the index sees of the flows, chunks and sessions, as one text (malloc'ed). */
static char *dump(struct index *ix)
{
	static const char *const sql =
		"SELECT (SELECT group_concat(r, ';') FROM (SELECT id || ',' || packets || ',' || "
		"bytes || ',' || first_ns || ',' || last_ns || ',' || first_chunk || ',' || "
		"last_chunk || ',' || quote(chunk_runs) || ',' || quote(client_random) AS r FROM "
		"flows ORDER BY id)) || '|' || (SELECT group_concat(r, ';') FROM (SELECT id || ',' "
		"|| packets || ',' || quote(flows) AS r FROM chunks ORDER BY id)) || '|' || "
		"(SELECT count(*) FROM tls_sessions_extra)";
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(index_db(ix), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char *s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_non_null(s);
	return s;
}

/* The two transactions, into a new index in dir (refusing tables past `above` slots when
 * refuse): its dump. */
static char *index_them(const char *dir, bool refuse, size_t above, uint64_t *now_chunks)
{
	struct index *ix;
	char err[256], path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, refuse ? "refused.db" : "had.db");
	assert_int_equal(index_open(path, true, true, &ix, err, sizeof(err)), 0);
	refuse_above = refuse ? above : SIZE_MAX;
	assert_int_equal(index_begin(ix), 0);
	/* the records and packets of every flow, and sessions on every 7th */
	add_chunk(ix, 1, 1, FLOWS + 1, 1, 7);
	/* packets of every 3rd flow, sessions on every 5th (mostly flows without packets here) */
	add_chunk(ix, 2, 0, 0, 3, 5);
	/* a flow's record again (it has one), and packets of every 2nd flow after a gap */
	add_chunk(ix, 5, 10, 11, 2, 0);
	assert_int_equal(index_commit(ix), 0);
	assert_int_equal(index_begin(ix), 0);
	add_chunk(ix, 6, 0, 0, 1, 0);
	add_chunk(ix, 7, 0, 0, 11, 13);
	/* a chunk small enough for the first table: packets of every 50th flow */
	add_chunk(ix, 8, 0, 0, 50, 0);
	assert_int_equal(index_commit(ix), 0);
	*now_chunks = index_totals_now_chunks(ix);
	char *d = dump(ix);
	index_close(ix);
	return d;
}

static void test_no_memory_to_gather(void **state)
{
	struct fixture *f = *state;
	uint64_t had_now, none_now, first_now;
	assert_int_equal(mkdir(f->dir, 0700), 0);
	char *had = index_them(f->dir, false, 0, &had_now);
	assert_int_equal(had_now, 0);
	/* a flow's totals are there: flow 1 has 2 + 3 + 6 + 7 + 8 + 9 packets, in chunks 1, 2, 5-8 */
	assert_non_null(strstr(had, "1,35,3500,"));

	refused = 0;
	char *none = index_them(f->dir, true, 0, &none_now);
	print_message("no table at all: %u tables refused, %llu chunks written flow by flow\n",
		      refused, (unsigned long long)none_now);
	assert_true(refused > 0);
	assert_int_equal(none_now, 6);
	assert_string_equal(none, had);
	free(none);

	char path[128];
	snprintf(path, sizeof(path), "%s/refused.db", f->dir);
	assert_int_equal(unlink(path), 0);
	refused = 0;
	char *first = index_them(f->dir, true, 256, &first_now);
	print_message("no table past the first: %u tables refused, %llu chunks written flow by "
		      "flow\n", refused, (unsigned long long)first_now);
	assert_true(refused > 0);
	assert_int_equal(first_now, 5); /* all but chunk 8 */
	assert_string_equal(first, had);
	free(first);
	free(had);
}

/* Chunk id with the records and packets of flows [lo, hi), sealed as the store seals it (its
 * flow directory), and a session on each of flows [s_lo, s_hi). */
static void add_sealed_chunk(struct index *ix, uint64_t id, uint32_t lo, uint32_t hi,
			     uint32_t s_lo, uint32_t s_hi)
{
	struct chunk_meta m = new_chunk(id);
	for (uint32_t i = lo; i < hi; i++) /* each flow's record before its first packet */
		m.flows[m.n_flows++] = test_flow(i);
	for (uint32_t i = hi; i-- > lo;) /* a chunk's flows in the order first seen, not by id */
		m.flowstats[m.n_flowstats++] = (struct chunkmeta_flowstat){
			.flow_id = i, .packets = 1, .bytes = 100, .first_ns = 1000000 * id + i,
			.last_ns = 1000000 * id + i };
	for (uint32_t i = s_lo; i < s_hi; i++)
		add_session(&m, i);
	assert_int_equal(chunkmeta_sort_flows(&m), 0);
	watching = true;
	int err = index_add_chunk(ix, &m, NULL, 0, false);
	watching = false;
	assert_int_equal(err, 0);
	free_chunk(&m);
}

/* A transaction's flow table holds a flow once, whether it comes with packets, sessions or
 * both: 127 flows with a session each fit the first table (256 slots, doubled at half full),
 * and it doubles with the 128th flow. */
static void test_table_size(void **state)
{
	struct fixture *f = *state;
	struct index *ix;
	char err[256], path[128];
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/size.db", f->dir);
	assert_int_equal(index_open(path, true, true, &ix, err, sizeof(err)), 0);
	largest_table = 0;
	assert_int_equal(index_begin(ix), 0);
	/* flows 1-127, each with its packets and a session, in one chunk */
	add_sealed_chunk(ix, 1, 1, 128, 1, 128);
	print_message("127 flows with sessions: a table of %zu slots\n", largest_table);
	assert_int_equal(largest_table, 256);
	/* their sessions again, in a chunk without their packets: slots they have */
	add_sealed_chunk(ix, 2, 0, 0, 1, 128);
	assert_int_equal(largest_table, 256);
	/* the 128th flow: more than half of 256 slots, the table doubles */
	add_sealed_chunk(ix, 3, 128, 129, 128, 129);
	print_message("128 flows: a table of %zu slots\n", largest_table);
	assert_int_equal(largest_table, 512);
	assert_int_equal(index_commit(ix), 0);
	assert_int_equal(index_totals_now_chunks(ix), 0);
	char *d = dump(ix);
	/* each flow's packets and chunks: 1-127 in chunks 1 and 2 (their sessions), 128 in 3 */
	assert_true(strncmp(d, "1,1,100,1000,1000001,1,2,", 25) == 0);
	assert_non_null(strstr(d, ";127,1,100,127000,1000127,1,2,"));
	assert_non_null(strstr(d, ";128,1,100,128000,3000128,3,3,"));
	free(d);
	index_close(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_memory_to_gather, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_table_size, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
