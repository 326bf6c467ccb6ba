// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_index_vfs.c - the index's VFS (schema/index_vfs.c), which holds a commit's WAL frames
 * and writes them at once: what another connection (the default VFS, as an older ecap or the
 * sqlite3 shell would read) sees after each COMMIT, how many write calls a commit of many pages
 * costs, and a COMMIT whose frames the file system refuses (a file size limit): it must fail,
 * leave the committed rows as they were for every reader, and the next COMMIT must work.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index_vfs.h"

struct fixture {
	char dir[64], path[96];
	sqlite3 *w, *r; /* the writer through the VFS; a reader through the default VFS */
};

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
}

static long long scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ecap-test-vfs.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/index.db", f->dir);
	assert_int_equal(index_vfs_register(), SQLITE_OK);
	assert_int_equal(sqlite3_open_v2(f->path, &f->w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 INDEX_VFS_NAME),
			 SQLITE_OK);
	exec_ok(f->w, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
		      "PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY; "
		      "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); CREATE INDEX t_v ON t(v)");
	assert_int_equal(sqlite3_open_v2(f->path, &f->r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sqlite3_close(f->r);
	sqlite3_close(f->w);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* n rows of random 200-byte values (random keys: many index pages change) in one
 * transaction; the COMMIT's result. */
static int insert_rows(sqlite3 *db, int n)
{
	char sql[128];
	exec_ok(db, "BEGIN IMMEDIATE");
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d) "
		 "INSERT INTO t(v) SELECT randomblob(200) FROM c", n);
	exec_ok(db, sql);
	int rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Write system calls of this process so far (/proc/self/io). */
static long long write_calls(void)
{
	FILE *fp = fopen("/proc/self/io", "r");
	char line[128];
	long long v = -1;
	while (fp && fgets(line, sizeof(line), fp))
		if (sscanf(line, "syscw: %lld", &v) == 1)
			break;
	if (fp)
		fclose(fp);
	return v;
}

static void test_reader_sees_each_commit(void **state)
{
	struct fixture *f = *state;
	for (int i = 1; i <= 50; i++) {
		assert_int_equal(insert_rows(f->w, 20), SQLITE_OK);
		assert_int_equal(scalar(f->r, "SELECT count(*) FROM t"), 20 * i);
		assert_int_equal(scalar(f->r, "SELECT count(*) FROM t INDEXED BY t_v "
					      "WHERE v > x''"),
				 20 * i);
	}
	/* the writer reads back pages its own cache let go, from the WAL */
	exec_ok(f->w, "PRAGMA cache_size = 2");
	assert_int_equal(scalar(f->w, "SELECT count(*) FROM t INDEXED BY t_v WHERE v > x''"), 1000);
	exec_ok(f->w, "PRAGMA wal_checkpoint(TRUNCATE)");
	assert_int_equal(scalar(f->r, "SELECT count(*) FROM t"), 1000);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->r, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

static void test_one_commit_few_writes(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(insert_rows(f->w, 2000), SQLITE_OK); /* the tables' first pages */
	long long frames0 = scalar(f->w, "PRAGMA wal_checkpoint"); /* 0: done */
	assert_int_equal(frames0, 0);
	long long before = write_calls();
	if (before < 0)
		skip(); /* no /proc/self/io: nothing to count with */
	assert_int_equal(insert_rows(f->w, 2000), SQLITE_OK);
	long long calls = write_calls() - before;
	/* 2,000 random keys change well over 100 pages: 200 writes or more one by one, a few
	 * pieces of 124 KiB here */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->w, "PRAGMA wal_checkpoint", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long frames = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	assert_true(frames > 100);
	assert_true(calls <= frames * 4120 / (124 * 1024) + 4);
	assert_int_equal(scalar(f->r, "SELECT count(*) FROM t"), 4000);
}

static void test_refused_commit_fails(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(insert_rows(f->w, 100), SQLITE_OK);
	exec_ok(f->w, "PRAGMA wal_checkpoint(TRUNCATE)");
	/* no file may grow past its size now: the next commit's WAL frames are refused */
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	struct rlimit old, lim = { .rlim_cur = (rlim_t)st.st_size, .rlim_max = RLIM_INFINITY };
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc = insert_rows(f->w, 500);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_not_equal(rc, SQLITE_OK);
	assert_int_equal(scalar(f->r, "SELECT count(*) FROM t"), 100);
	assert_int_equal(scalar(f->w, "SELECT count(*) FROM t"), 100);
	assert_int_equal(insert_rows(f->w, 500), SQLITE_OK);
	assert_int_equal(scalar(f->r, "SELECT count(*) FROM t"), 600);
	assert_int_equal(scalar(f->r, "SELECT count(*) FROM t INDEXED BY t_v WHERE v > x''"), 600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reader_sees_each_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_commit_few_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_commit_fails, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
