/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * index_sql.h - for the unit tests of the store (include after cmocka.h): a store's index read
 * or changed with SQLite directly, as a user with the sqlite3 CLI would, to check rows that
 * the store's API does not show or to turn an index into an older version's layout.
 */
#ifndef ECAP_TEST_INDEX_SQL_H
#define ECAP_TEST_INDEX_SQL_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

/* The index of the store in dir opened, and sql's first row stepped to: *st on it. */
static inline sqlite3 *index_row(const char *dir, const char *sql, sqlite3_stmt **st)
{
	char p[128];
	sqlite3 *db;
	snprintf(p, sizeof(p), "%s/index.db", dir);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(*st), SQLITE_ROW);
	return db;
}

/* One number the index gives for sql. */
static inline int64_t index_int(const char *dir, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3 *db = index_row(dir, sql, &st);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The text the index gives for sql (one row, one column), in out. */
static inline void index_text(const char *dir, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *st;
	sqlite3 *db = index_row(dir, sql, &st);
	const unsigned char *t = sqlite3_column_text(st, 0);
	snprintf(out, len, "%s", t ? (const char *)t : "");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Runs sql (statements separated by ';') on the index. */
static inline void index_exec(const char *dir, const char *sql)
{
	char p[128];
	sqlite3 *db;
	snprintf(p, sizeof(p), "%s/index.db", dir);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}
/* SQL that turns an index of schema 10 into schema 9's layout, as ecap at that version left it
 * (run in a transaction of the caller's or alone): flow_procs and tls_sessions tables (WITHOUT
 * ROWID) made from the flows' owner and session columns and tls_sessions_extra, which go, and
 * version 9's trigger on flow_procs. Older layouts are made from it. */
#define INDEX_SQL_TO_V9                                                                        \
	"DROP TRIGGER flows_owner_moved; DROP VIEW flow_procs; DROP VIEW tls_sessions;"          \
	"CREATE TABLE flow_procs_v9 (flow_id INTEGER NOT NULL, side INTEGER NOT NULL, "          \
	"pid INTEGER NOT NULL, tid INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, " \
	"comm TEXT NOT NULL, cgroup_id INTEGER NOT NULL DEFAULT 0, netns INTEGER NOT NULL "      \
	"DEFAULT 0, start INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (flow_id, side)) WITHOUT ROWID;" \
	"INSERT INTO flow_procs_v9 SELECT id, 0, a_pid, a_tid, a_uid, a_gid, a_comm, a_cgroup_id, " \
	"a_netns, a_start FROM flows WHERE a_pid IS NOT NULL UNION ALL SELECT id, 1, b_pid, "    \
	"b_tid, b_uid, b_gid, b_comm, b_cgroup_id, b_netns, b_start FROM flows WHERE b_pid IS "   \
	"NOT NULL;"                                                                              \
	"ALTER TABLE flow_procs_v9 RENAME TO flow_procs;"                                        \
	"CREATE TABLE tls_sessions_v9 (client_random BLOB NOT NULL, flow_id INTEGER NOT NULL, "   \
	"chunk_id INTEGER NOT NULL, PRIMARY KEY (flow_id, client_random)) WITHOUT ROWID;"        \
	"INSERT INTO tls_sessions_v9 SELECT client_random, id, session_chunk FROM flows WHERE "  \
	"client_random IS NOT NULL UNION ALL SELECT client_random, flow_id, chunk_id FROM "      \
	"tls_sessions_extra;"                                                                    \
	"ALTER TABLE tls_sessions_v9 RENAME TO tls_sessions; DROP TABLE tls_sessions_extra;"    \
	"ALTER TABLE flows DROP COLUMN a_pid;"                                                    \
	"ALTER TABLE flows DROP COLUMN a_tid;"                                                    \
	"ALTER TABLE flows DROP COLUMN a_uid;"                                                    \
	"ALTER TABLE flows DROP COLUMN a_gid;"                                                    \
	"ALTER TABLE flows DROP COLUMN a_comm;"                                                   \
	"ALTER TABLE flows DROP COLUMN a_cgroup_id;"                                              \
	"ALTER TABLE flows DROP COLUMN a_netns;"                                                  \
	"ALTER TABLE flows DROP COLUMN a_start;"                                                  \
	"ALTER TABLE flows DROP COLUMN b_pid;"                                                    \
	"ALTER TABLE flows DROP COLUMN b_tid;"                                                    \
	"ALTER TABLE flows DROP COLUMN b_uid;"                                                    \
	"ALTER TABLE flows DROP COLUMN b_gid;"                                                    \
	"ALTER TABLE flows DROP COLUMN b_comm;"                                                   \
	"ALTER TABLE flows DROP COLUMN b_cgroup_id;"                                              \
	"ALTER TABLE flows DROP COLUMN b_netns;"                                                  \
	"ALTER TABLE flows DROP COLUMN b_start;"                                                  \
	"ALTER TABLE flows DROP COLUMN client_random;"                                            \
	"ALTER TABLE flows DROP COLUMN session_chunk;"                                            \
	"CREATE TRIGGER flow_procs_owner_moved AFTER UPDATE ON flow_procs WHEN (old.pid, "        \
	"old.start, old.uid, old.comm, old.netns) IS NOT (new.pid, new.start, new.uid, new.comm, " \
	"new.netns) BEGIN DELETE FROM owner_flows WHERE comm = old.comm AND uid = old.uid AND "   \
	"pid = old.pid AND start = old.start AND netns = old.netns AND first_flow <= old.flow_id " \
	"AND last_flow >= old.flow_id AND NOT EXISTS (SELECT 1 FROM flow_procs p WHERE "          \
	"p.flow_id BETWEEN owner_flows.first_flow AND owner_flows.last_flow AND p.comm = "       \
	"old.comm AND p.uid = old.uid AND p.pid = old.pid AND p.start = old.start AND p.netns = " \
	"old.netns); END;"                                                                       \
	"PRAGMA user_version = 9;"

#endif
