// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_index_ifaces.c - a chunk's interface rows (schema/index.c, add_iface): the first chunk
 * of an interface writes its `interfaces` and `interface_netns` rows; once a transaction of
 * index_commit() made them durable, the interface's later chunks run no statement for them
 * (two in every chunk before, once a second while recording); an interface whose rows were
 * rolled back is written again by its next chunk, and a new interface by its first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "index.h"
#include "index_sql.h"
#include "tmp_store.h"

/* Statements run on the index that write an interface's rows, as SQLite traces them. */
static int iface_statements;

static int on_trace(unsigned type, void *ctx, void *p, void *x)
{
	(void)ctx;
	(void)x;
	const char *sql = type == SQLITE_TRACE_STMT ? sqlite3_sql(p) : NULL;
	if (sql && (strstr(sql, "INTO interfaces") || strstr(sql, "INTO interface_netns")))
		iface_statements++;
	return 0;
}

static struct chunkmeta_iface iface(uint32_t id, const char *name)
{
	struct chunkmeta_iface f = { .store_id = id };
	snprintf(f.desc.name, sizeof(f.desc.name), "%s", name);
	f.desc.linktype = 1;
	f.desc.snaplen = 262144;
	f.desc.netns = 4026531840u + id;
	f.desc.ifindex = 1;
	snprintf(f.desc.description, sizeof(f.desc.description), "netns of %s", name);
	return f;
}

/* Chunk id of the interfaces v[0..n) in its own transaction, committed or rolled back: the
 * statements it ran for interface rows. */
static int add(struct index *ix, uint64_t id, struct chunkmeta_iface *v, size_t n, bool commit)
{
	struct chunk_meta m = { .id = id, .first_ns = 1000 * id, .last_ns = 1000 * id + 9,
				.packets = 1, .nonflow_packets = 1, .segment = 1,
				.offset = 100 * (id - 1), .length = 100 };
	m.ifaces = v;
	m.n_ifaces = n;
	iface_statements = 0;
	assert_int_equal(index_begin(ix), 0);
	assert_int_equal(index_add_chunk(ix, &m, NULL, 0, false), 0);
	assert_int_equal(commit ? index_commit(ix) : index_rollback(ix), 0);
	return iface_statements;
}

static void test_ifaces(void **state)
{
	struct fixture *f = *state;
	struct chunkmeta_iface v[2] = { iface(0, "lo"), iface(1, "veth0") };
	struct index *ix;
	char err[256], path[128];

	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/index.db", f->dir);
	assert_int_equal(index_open(path, true, true, &ix, err, sizeof(err)), 0);
	assert_int_equal(sqlite3_trace_v2(index_db(ix), SQLITE_TRACE_STMT, on_trace, NULL),
			 SQLITE_OK);

	/* lo's first chunk, rolled back: no rows */
	assert_int_equal(add(ix, 1, v, 1, false), 2);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM interfaces"), 0);
	/* so its next chunk writes them */
	assert_int_equal(add(ix, 1, v, 1, true), 2);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM interfaces WHERE id = 0 AND "
				   "name = 'lo' AND snaplen = 262144"), 1);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM interface_netns WHERE iface = 0 "
				   "AND netns = 4026531840 AND description = 'netns of lo'"), 1);
	/* lo's later chunks: no statement for its rows */
	assert_int_equal(add(ix, 2, v, 1, true), 0);
	assert_int_equal(add(ix, 3, v, 1, true), 0);
	/* a new interface beside it: its rows, and lo's none */
	assert_int_equal(add(ix, 4, v, 2, true), 2);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM interfaces"), 2);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM interface_netns WHERE iface = 1 "
				   "AND netns = 4026531841"), 1);
	assert_int_equal(add(ix, 5, v, 2, true), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM chunks"), 5);
	index_close(ix);

	/* a writer opening the index again knows none: each interface's next chunk writes
	 * (ignores) its rows once */
	assert_int_equal(index_open(path, false, true, &ix, err, sizeof(err)), 0);
	assert_int_equal(sqlite3_trace_v2(index_db(ix), SQLITE_TRACE_STMT, on_trace, NULL),
			 SQLITE_OK);
	assert_int_equal(add(ix, 6, v, 2, true), 4);
	assert_int_equal(add(ix, 7, v, 2, true), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM interfaces"), 2);
	index_close(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ifaces, tmp_store_setup, tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
