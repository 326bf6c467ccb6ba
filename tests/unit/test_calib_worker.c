// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_calib_worker.c - the order of the calibration thread's jobs (recorder/calib_worker.h).
 * A planted library whose constructor sleeps (planted_libssl.c, mode 4) is under calibration
 * when two more planted libraries (mode 1, killed by the sandbox) and then the system's libssl
 * are handed over: the system's, a file only root can have written, must come back before the
 * planted ones queued ahead of it (before this order: after them, behind every file a user
 * planted). And which files count as written by root only: owned by root, not writable by its
 * group or others.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "calib_worker.h"
#include "tls_lib.h"

static const char *planted_dir(void)
{
	const char *d = getenv("ECAP_PLANTED_DIR");

	return d && *d ? d : ".";
}

static int open_planted(int mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/planted_m%d.so", planted_dir(), mode);
	return tls_lib_open(path, 0, 0);
}

static void submit(struct calib_worker *w, int fd, const char *name, bool trusted)
{
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(calib_worker_submit(w, fd, name, st.st_dev, st.st_ino, trusted), 0);
}

/* The next result, waiting for it (a minute at most): its name. */
static void next_done(struct calib_worker *w, char *name, size_t len)
{
	struct pollfd p = { .fd = calib_worker_fd(w), .events = POLLIN };
	struct calib_job *j;

	for (int i = 0; i < 600 && !(j = calib_worker_take(w)); i++)
		poll(&p, 1, 100);
	assert_non_null(j);
	print_message("done: %s (%s)\n", j->path, j->rc == 0 ? "calibrated" : j->err);
	snprintf(name, len, "%.*s", (int)len - 1, j->path);
	calib_worker_job_free(j);
}

static void test_trusted_first(void **state)
{
	struct calib_worker *w;
	char sys[PATH_MAX], order[4][32];
	int fd;

	if (geteuid() != 0)
		skip(); /* the sandbox becomes nobody only from root; the order is what is tested */
	if (tls_lib_default(sys, sizeof(sys)) < 0)
		skip();
	assert_int_equal(calib_worker_new(NULL, &w), 0);
	submit(w, open_planted(4), "sleeper", false);
	assert_int_equal(calib_worker_start(w), 0);
	usleep(300 * 1000); /* the thread has taken the sleeper: it sleeps 5 s (the idle bound) */
	submit(w, open_planted(1), "planted-1", false);
	submit(w, open_planted(1), "planted-2", false);
	fd = tls_lib_open(sys, 0, 0);
	submit(w, fd, "system", true);
	for (int i = 0; i < 4; i++)
		next_done(w, order[i], sizeof(order[i]));
	calib_worker_free(w);
	assert_string_equal(order[0], "sleeper");
	assert_string_equal(order[1], "system");
	assert_string_equal(order[2], "planted-1");
	assert_string_equal(order[3], "planted-2");
}

/* Trusted jobs keep their order among themselves, and go before the others waiting. */
static void test_order_kept(void **state)
{
	struct calib_worker *w;
	char order[4][32];
	const char *want[] = { "t1", "t2", "u1", "u2" };

	assert_int_equal(calib_worker_new(NULL, &w), 0);
	/* not started: the jobs wait, and come back failed (the start refused) in their order */
	submit(w, open_planted(1), "u1", false);
	submit(w, open_planted(1), "t1", true);
	submit(w, open_planted(1), "u2", false);
	submit(w, open_planted(1), "t2", true);
	assert_int_equal(calib_worker_start(w), 0);
	for (int i = 0; i < 4; i++)
		next_done(w, order[i], sizeof(order[i]));
	calib_worker_free(w);
	for (int i = 0; i < 4; i++)
		assert_string_equal(order[i], want[i]);
}

static void test_who_wrote_it(void **state)
{
	char path[] = "/tmp/test_calib_worker.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	if (geteuid() != 0) {
		assert_false(calib_worker_trusted(fd)); /* ours, not root's */
		close(fd);
		unlink(path);
		skip();
	}
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_true(calib_worker_trusted(fd));
	assert_int_equal(fchmod(fd, 0664), 0);
	assert_false(calib_worker_trusted(fd)); /* its group may write it */
	assert_int_equal(fchmod(fd, 0646), 0);
	assert_false(calib_worker_trusted(fd));
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(fchown(fd, 65534, 65534), 0);
	assert_false(calib_worker_trusted(fd)); /* a user's */
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_who_wrote_it),
		cmocka_unit_test(test_order_kept),
		cmocka_unit_test(test_trusted_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
