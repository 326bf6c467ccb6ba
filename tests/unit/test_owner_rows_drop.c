// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_owner_rows_drop.c - retention's owner_flows rows (owner_rows_drop.c) are exactly those
 * the range of pids X - OWNER_PID_SPAN .. X per gone owner dropped before (index.c until
 * index schema 12, kept here as the reference): on random tables of owner_flows and flows
 * whose names (one empty), uids, netns and pids collide often (processes of one pid with
 * several starts, groups of start 0 up to OWNER_PID_SPAN wide and some wider, as a damaged
 * index may have them, a process of start 0, pids below the span, a daemon with many rows
 * among them), the rows left after each are the same, over many seeds and last flows gone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "owner_ranges.h"
#include "owner_rows_drop.h"

#define SEEDS 60
#define FLOWS 400
#define ROWS 300

static const char tables_sql[] =
	"CREATE TABLE owner_flows (pid INTEGER NOT NULL, start INTEGER NOT NULL, uid INTEGER "
	"NOT NULL, comm TEXT NOT NULL, netns INTEGER NOT NULL, first_flow INTEGER NOT NULL, "
	"last_flow INTEGER NOT NULL, pid_last INTEGER, PRIMARY KEY (comm, uid, pid, start, "
	"netns, first_flow)) WITHOUT ROWID;"
	"CREATE INDEX owner_flows_by_pid ON owner_flows(pid, start, last_flow);"
	"CREATE TABLE flows (id INTEGER PRIMARY KEY, a_pid, a_start, a_uid, a_comm, a_netns, "
	"b_pid, b_start, b_uid, b_comm, b_netns);"
	"CREATE TEMP TABLE gone_owners(comm, uid, pid, start, netns, PRIMARY KEY (comm, uid, "
	"pid, start, netns)) WITHOUT ROWID;";

/* index.c's statement before owner_rows_drop.c, per gone owner (?1 comm, ?2 uid, ?3 pid,
 * ?4 start, ?5 netns) and last flow gone (?6): the reference. */
static const char range_sql[] =
	"DELETE FROM owner_flows AS o WHERE comm = ?1 AND uid = ?2 AND pid BETWEEN ?3 - "
	OWNER_PID_SPAN_SQL " AND ?3 AND coalesce(pid_last, pid) >= ?3 AND (pid_last IS NOT NULL "
	"OR start = ?4) AND netns = ?5 AND first_flow <= ?6 AND NOT EXISTS (SELECT 1 FROM flows p "
	"WHERE p.id BETWEEN o.first_flow AND o.last_flow AND ((p.a_comm, p.a_uid, p.a_netns) = "
	"(o.comm, o.uid, o.netns) AND p.a_pid BETWEEN o.pid AND coalesce(o.pid_last, o.pid) AND "
	"(o.pid_last IS NOT NULL OR p.a_start = o.start) OR (p.b_comm, p.b_uid, p.b_netns) = "
	"(o.comm, o.uid, o.netns) AND p.b_pid BETWEEN o.pid AND coalesce(o.pid_last, o.pid) AND "
	"(o.pid_last IS NOT NULL OR p.b_start = o.start)))";

static uint64_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state % n);
}

struct owner {
	int pid, start, uid, netns;
	const char *comm;
};

/* An owner: most near pid 200 (a daemon at 150 with start 9 among them), some below the
 * span, some far; starts few, 0 among them. */
static struct owner random_owner(void)
{
	static const char *const comms[] = { "curl", "sshd", "openssl", "" };
	struct owner o = { .uid = (int)rnd(2), .netns = 1 + (int)rnd(2), .comm = comms[rnd(4)] };
	uint32_t r = rnd(10);
	o.pid = r < 3 ? 150 : r < 8 ? 100 + (int)rnd(300) : r < 9 ? (int)rnd(100) : 5000;
	o.start = o.pid == 150 ? 9 : (int)rnd(3) * 5; /* 0, 5 or 10 */
	return o;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

/* The tables of seed, and the gone owners of the flows up to last_gone (those flows gone). */
static sqlite3 *make_tables(uint64_t seed, int last_gone)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	exec_ok(db, tables_sql);
	rnd_state = seed * 2654435761u + 1;
	char sql[512];
	for (int id = 1; id <= FLOWS; id++) {
		struct owner a = random_owner(), b = random_owner();
		bool has_b = rnd(2);
		snprintf(sql, sizeof(sql), "INSERT INTO flows VALUES (%d, %d, %d, %d, '%s', %d, %s)",
			 id, a.pid, a.start, a.uid, a.comm, a.netns, "NULL, NULL, NULL, NULL, NULL");
		if (has_b)
			snprintf(sql, sizeof(sql), "INSERT INTO flows VALUES (%d, %d, %d, %d, '%s', "
				 "%d, %d, %d, %d, '%s', %d)", id, a.pid, a.start, a.uid, a.comm,
				 a.netns, b.pid, b.start, b.uid, b.comm, b.netns);
		exec_ok(db, sql);
	}
	for (int i = 0; i < ROWS; i++) {
		struct owner o = random_owner();
		int first = 1 + (int)rnd(FLOWS), last = first + (int)rnd(40);
		bool group = rnd(3) == 0;
		snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO owner_flows VALUES (%d, %d, %d, "
			 "'%s', %d, %d, %d, NULL)", o.pid, o.start, o.uid, o.comm, o.netns, first,
			 last);
		if (group) /* start 0, as the writer makes them */
			snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO owner_flows VALUES (%d, 0, "
				 "%d, '%s', %d, %d, %d, %d)", o.pid, o.uid, o.comm, o.netns, first,
				 last, o.pid + (int)rnd(OWNER_PID_SPAN + 30));
		exec_ok(db, sql);
	}
	/* the daemon's many rows, one a flow */
	for (int id = 1; id <= FLOWS; id += 2) {
		snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO owner_flows VALUES (150, 9, 0, "
			 "'sshd', 1, %d, %d, NULL)", id, id);
		exec_ok(db, sql);
	}
	snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO temp.gone_owners SELECT a_comm, a_uid, "
		 "a_pid, a_start, a_netns FROM flows WHERE id <= %d UNION ALL SELECT b_comm, "
		 "b_uid, b_pid, b_start, b_netns FROM flows WHERE id <= %d AND b_pid IS NOT NULL;"
		 "DELETE FROM flows WHERE id <= %d", last_gone, last_gone, last_gone);
	exec_ok(db, sql);
	return db;
}

static void drop_by_range(sqlite3 *db, int last_gone)
{
	sqlite3_stmt *owners, *del;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT comm, uid, pid, start, netns FROM "
					    "temp.gone_owners", -1, &owners, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, range_sql, -1, &del, NULL), SQLITE_OK);
	while (sqlite3_step(owners) == SQLITE_ROW) {
		for (int c = 0; c < 5; c++)
			sqlite3_bind_value(del, c + 1, sqlite3_column_value(owners, c));
		sqlite3_bind_int(del, 6, last_gone);
		assert_int_equal(sqlite3_step(del), SQLITE_DONE);
		sqlite3_reset(del);
	}
	sqlite3_finalize(owners);
	sqlite3_finalize(del);
}

/* The rows of owner_flows, in key order, as text (malloc'd). */
static char *rows_text(sqlite3 *db, int *n)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(r, ';'), count(*) FROM "
					    "(SELECT comm || ',' || uid || ',' || pid || ',' || "
					    "start || ',' || netns || ',' || first_flow || ',' || "
					    "last_flow || ',' || coalesce(pid_last, '-') AS r FROM "
					    "owner_flows "
					    "ORDER BY comm, uid, pid, start, netns, first_flow)", -1,
					    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *t = sqlite3_column_text(st, 0);
	char *s = strdup(t ? (const char *)t : "");
	*n = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	return s;
}

static void test_same_rows_as_the_range(void **state)
{
	(void)state;
	int dropped = 0, total = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		int last_gone = (int)(seed * 37 % FLOWS) + 1;
		int before, n_ref, n_new;
		sqlite3 *ref = make_tables(seed, last_gone), *db = make_tables(seed, last_gone);
		free(rows_text(db, &before));
		drop_by_range(ref, last_gone);
		assert_int_equal(owner_rows_drop(db, last_gone), SQLITE_OK);
		char *want = rows_text(ref, &n_ref), *got = rows_text(db, &n_new);
		if (strcmp(want, got))
			fail_msg("seed %llu, last flow gone %d: %d rows left, the range left %d",
				 (unsigned long long)seed, last_gone, n_new, n_ref);
		dropped += before - n_ref;
		total += before;
		free(want);
		free(got);
		sqlite3_close(ref);
		sqlite3_close(db);
	}
	print_message("%d of %d rows dropped over %d seeds, the same as the range\n", dropped,
		      total, SEEDS);
	assert_true(dropped > total / 10); /* the comparison saw many drops */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_rows_as_the_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
