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
/* tests/index_to_v9.sql: SQL that turns an index of schema 10 into schema 9's layout (see
 * there); older layouts are made from it. */
extern const char index_to_v9_sql[];

/* The index of the store in dir turned into schema 9's layout (index_to_v9_sql). */
static inline void index_to_v9(const char *dir)
{
	index_exec(dir, index_to_v9_sql);
}

#endif
