// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_index_dirfd.c - the index, its WAL and its shared memory are opened through the store
 * directory's descriptor (store_path_at(), the VFS of schema/index_vfs.c), never again by the
 * directory's path: a store whose path is longer than SQLite's 512 bytes opens and keeps what
 * it wrote; and a store directory covered by another directory (a bind mount over its path,
 * made after the store was checked and opened; in a mount namespace of the test's own, as
 * root) still gets its own index, the covering directory's index untouched and given no WAL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "index.h"
#include "store.h"
#include "store_path.h"

#define CHILD_SKIP 77

static char base[64];

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/ecap-test-dirfd.XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* The "marker" setting of the index at path (opened by its path), or -1 when it has none. */
static int64_t marker_at(const char *path)
{
	struct index *ix;
	char err[600];
	int64_t v = -1;
	if (index_open(path, false, false, &ix, err, sizeof(err)))
		return -2;
	if (index_get_setting(ix, "marker", &v))
		v = -1;
	index_close(ix);
	return v;
}

static int set_marker(struct index *ix, int64_t v)
{
	int e = index_begin(ix);
	if (!e)
		e = index_set_setting(ix, "marker", v);
	return e ? e : index_commit(ix);
}

/* A store deeper than 512 bytes of path: SQLite's default VFS refuses to name its index
 * ("unable to open database file"); through the descriptor the store opens, and its index,
 * opened again, has what was written into it. */
static void test_long_path(void **state)
{
	(void)state;
	char dir[1024], p[128], err[600];
	struct store *s;
	struct store_options o;
	struct index *ix;
	int64_t v = 0;
	size_t n = (size_t)snprintf(dir, sizeof(dir), "%s", base);
	while (n < 600) {
		n += (size_t)snprintf(dir + n, sizeof(dir) - n, "/%s",
				      "a-directory-name-of-forty-characters-xx");
		assert_int_equal(mkdir(dir, 0700), 0);
	}
	n += (size_t)snprintf(dir + n, sizeof(dir) - n, "/store");
	store_options_default(&o);
	o.quiet = true;
	if (store_open(dir, STORE_WRITE, &o, &s))
		fail_msg("store_open of a %zu-byte path: %s", n, s ? store_errmsg(s) : "");
	assert_int_equal(store_close(s), 0);
	int dirfd = store_path_open(dir, false, err, sizeof(err));
	assert_true(dirfd >= 0);
	assert_int_equal(store_path_at(dirfd, "index.db", p, sizeof(p)), 0);
	for (int round = 0; round < 2; round++) {
		if (index_open(p, false, true, &ix, err, sizeof(err)))
			fail_msg("index_open through the descriptor: %s", err);
		if (round == 0)
			assert_int_equal(set_marker(ix, 5), 0);
		else
			assert_int_equal(index_get_setting(ix, "marker", &v), 0);
		index_close(ix);
	}
	assert_int_equal(v, 5);
	if (store_open(dir, STORE_READ, &o, &s))
		fail_msg("store_open to read a %zu-byte path: %s", n, s ? store_errmsg(s) : "");
	assert_int_equal(store_close(s), 0);
	close(dirfd);
}

/*
 * In a child with a mount namespace of its own: the store directory d is opened (checked),
 * then another directory x, with an index of its own (marker 1), is bind-mounted over d's
 * path. The index opened through d's descriptor must be d's (no marker, then 2), and x must
 * have no WAL or shared memory file while it is open. Exit status: 0, CHILD_SKIP, or 1 with
 * the reason on stderr.
 */
static int covered_child(void)
{
	char d[96], x[96], p[128], err[600];
	struct index *ix;
	struct stat st;
	int64_t v = 0;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "no mount namespace of our own: %s\n", strerror(errno));
		return CHILD_SKIP;
	}
	snprintf(d, sizeof(d), "%s/store", base);
	snprintf(x, sizeof(x), "%s/other", base);
	snprintf(p, sizeof(p), "%s/index.db", x);
	if (mkdir(x, 0700) < 0 || index_open(p, true, true, &ix, err, sizeof(err)) ||
	    set_marker(ix, 1)) {
		fprintf(stderr, "the other index: %s\n", err);
		return 1;
	}
	index_close(ix);
	int dirfd = store_path_open(d, true, err, sizeof(err));
	if (dirfd < 0) {
		fprintf(stderr, "store_path_open: %s\n", err);
		return 1;
	}
	if (mount(x, d, NULL, MS_BIND, NULL) < 0) {
		fprintf(stderr, "bind mount over the store: %s\n", strerror(errno));
		return CHILD_SKIP;
	}
	if (store_path_at(dirfd, "index.db", p, sizeof(p)) ||
	    index_open(p, true, true, &ix, err, sizeof(err))) {
		fprintf(stderr, "index_open through the descriptor: %s\n", err);
		return 1;
	}
	if (index_get_setting(ix, "marker", &v) != -ENOENT) {
		fprintf(stderr, "the index opened through the store's descriptor has marker %lld: "
			"the covering directory's\n", (long long)v);
		return 1;
	}
	if (set_marker(ix, 2)) {
		fprintf(stderr, "writing the store's index: %s\n", index_errmsg(ix));
		return 1;
	}
	char wal[160], shm[160];
	snprintf(wal, sizeof(wal), "%s/index.db-wal", x);
	snprintf(shm, sizeof(shm), "%s/index.db-shm", x);
	if (stat(wal, &st) == 0 || stat(shm, &st) == 0) {
		fprintf(stderr, "a WAL or shared memory file in the covering directory\n");
		return 1;
	}
	if (fstatat(dirfd, "index.db-wal", &st, 0) < 0 || fstatat(dirfd, "index.db-shm", &st, 0) < 0) {
		fprintf(stderr, "no WAL or shared memory file in the store: %s\n", strerror(errno));
		return 1;
	}
	index_close(ix);
	if (umount(d) < 0) {
		fprintf(stderr, "umount: %s\n", strerror(errno));
		return 1;
	}
	snprintf(p, sizeof(p), "%s/index.db", d);
	if (marker_at(p) != 2) {
		fprintf(stderr, "the store's own index has marker %lld, not 2\n",
			(long long)marker_at(p));
		return 1;
	}
	snprintf(p, sizeof(p), "%s/index.db", x);
	if (marker_at(p) != 1) {
		fprintf(stderr, "the other index has marker %lld, not 1\n", (long long)marker_at(p));
		return 1;
	}
	close(dirfd);
	return 0;
}

static void test_covered_directory(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(covered_child());
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == CHILD_SKIP)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_long_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_covered_directory, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
