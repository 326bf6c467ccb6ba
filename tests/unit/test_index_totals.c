// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_index_totals.c - a flow's totals (packets, bytes, first and last chunk) gathered over the
 * chunks of one transaction and written at its commit (schema/index.c, flush_aggregates). The
 * commit writes and then forgets only the flows its transaction gathered, whatever size the
 * table reached before: a transaction of 3,000 flows (the table grows while it gathers), one
 * rolled back, and small ones after them must each leave exactly their own totals, as a user
 * summing the flows table would see them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "index.h"
#include "index_sql.h"
#include "test_flow.h"
#include "tmp_store.h"

#define FLOWS 3000u /* beyond the aggregate table's first sizes (it doubles at half full) */

static struct chunk_meta chunk(uint64_t id, struct flow_record *flows, size_t n_flows,
			       struct chunkmeta_flowstat *stats, size_t n_stats)
{
	struct chunk_meta m = { .id = id, .first_ns = 1000000 * id, .last_ns = 1000000 * id + 999,
				.packets = 1, .segment = 1, .offset = 100 * (id - 1),
				.length = 100 };
	m.flows = flows;
	m.n_flows = n_flows;
	m.flowstats = stats;
	m.n_flowstats = n_stats;
	return m;
}

/* Stats in chunk `chunk_id` for the flows first, first + step, ... up to FLOWS: packets each. */
static size_t stats(struct chunkmeta_flowstat *st, uint64_t chunk_id, uint32_t first,
		    uint32_t step, uint64_t packets)
{
	size_t n = 0;
	for (uint32_t id = first; id <= FLOWS; id += step)
		st[n++] = (struct chunkmeta_flowstat){ .flow_id = id, .packets = packets,
						       .bytes = 10 * packets,
						       .first_ns = 1000000 * chunk_id + id,
						       .last_ns = 1000000 * chunk_id + id };
	return n;
}

static void test_totals(void **state)
{
	struct fixture *f = *state;
	struct flow_record *flows = calloc(FLOWS, sizeof(*flows));
	struct chunkmeta_flowstat *st = calloc(FLOWS, sizeof(*st));
	struct index *ix;
	char err[256], path[128];
	struct chunk_meta m;
	size_t n;

	assert_non_null(flows);
	assert_non_null(st);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/index.db", f->dir);
	assert_int_equal(index_open(path, true, true, &ix, err, sizeof(err)), 0);

	/* chunk 1: the flows' records, no packets */
	for (uint32_t i = 0; i < FLOWS; i++)
		flows[i] = test_flow(i + 1);
	m = chunk(1, flows, FLOWS, NULL, 0);
	assert_int_equal(index_begin(ix), 0);
	assert_int_equal(index_add_chunk(ix, &m, NULL, 0, false), 0);
	assert_int_equal(index_commit(ix), 0);

	/* one transaction: every flow 2 packets in chunk 2, every odd one 1 more in chunk 3 */
	assert_int_equal(index_begin(ix), 0);
	n = stats(st, 2, 1, 1, 2);
	m = chunk(2, NULL, 0, st, n);
	assert_int_equal(index_add_chunk(ix, &m, NULL, 0, false), 0);
	n = stats(st, 3, 1, 2, 1);
	m = chunk(3, NULL, 0, st, n);
	assert_int_equal(index_add_chunk(ix, &m, NULL, 0, false), 0);
	assert_int_equal(index_commit(ix), 0);
	assert_int_equal(index_int(f->dir, "SELECT sum(packets) FROM flows"), 2 * FLOWS + FLOWS / 2);
	assert_int_equal(index_int(f->dir, "SELECT sum(bytes) FROM flows"), 10 * (2 * FLOWS + FLOWS / 2));
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM flows WHERE packets = 3 AND "
				   "last_chunk = 3 AND id % 2 = 1"), FLOWS / 2);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM flows WHERE packets = 2 AND "
				   "last_chunk = 2 AND id % 2 = 0"), FLOWS / 2);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM flows WHERE first_chunk = 1"),
			 FLOWS);

	/* 100 packets for every flow in chunk 4, rolled back; then chunk 4 again with flow 7's 5 */
	assert_int_equal(index_begin(ix), 0);
	n = stats(st, 4, 1, 1, 100);
	m = chunk(4, NULL, 0, st, n);
	assert_int_equal(index_add_chunk(ix, &m, NULL, 0, false), 0);
	assert_int_equal(index_rollback(ix), 0);
	assert_int_equal(index_begin(ix), 0);
	n = stats(st, 4, 7, FLOWS, 5);
	assert_int_equal(n, 1);
	m = chunk(4, NULL, 0, st, n);
	assert_int_equal(index_add_chunk(ix, &m, NULL, 0, true), 0);
	assert_int_equal(index_commit(ix), 0);
	assert_int_equal(index_int(f->dir, "SELECT sum(packets) FROM flows"),
			 2 * FLOWS + FLOWS / 2 + 5);
	assert_int_equal(index_int(f->dir, "SELECT packets * 10 + last_chunk FROM flows "
				   "WHERE id = 7"), 84);

	/* a small transaction after the large ones: flow 8 alone moves */
	assert_int_equal(index_begin(ix), 0);
	n = stats(st, 5, 8, FLOWS, 4);
	m = chunk(5, NULL, 0, st, n);
	assert_int_equal(index_add_chunk(ix, &m, NULL, 0, false), 0);
	assert_int_equal(index_commit(ix), 0);
	assert_int_equal(index_int(f->dir, "SELECT sum(packets) FROM flows"),
			 2 * FLOWS + FLOWS / 2 + 9);
	assert_int_equal(index_int(f->dir, "SELECT packets * 10 + last_chunk FROM flows "
				   "WHERE id = 8"), 65);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM flows WHERE last_chunk >= 4"), 2);

	index_close(ix);
	free(flows);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_totals, tmp_store_setup, tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
