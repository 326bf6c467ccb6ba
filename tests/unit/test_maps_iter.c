// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_maps_iter.c - the BPF iterator of every process's executable mappings (recorder/
 * maps_iter.h) past a process with millions of other mappings. The kernel visits at most a
 * million mappings in one read of the iterator, and a read that found no record among them
 * fails with EAGAIN; the next one goes on. A process with 2.1 million read-only anonymous
 * mappings (vm.max_map_count raised for the test, and set back) lies between this test and a
 * process started after it: the whole read must still succeed and name that later process.
 * Before, EAGAIN ended the read, and the recorder gave the iterator up for good (every rescan
 * then read /proc). Needs root and BPF iterators; skipped otherwise, and says why.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "maps_iter.h"

#define MAP_COUNT_FILE "/proc/sys/vm/max_map_count"
#define HOG_PAGES (1100u * 1000u) /* every other page read-only: 2.2 million mappings */

static long map_count_before = -1;

static long read_map_count(void)
{
	FILE *f = fopen(MAP_COUNT_FILE, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool write_map_count(long v)
{
	FILE *f = fopen(MAP_COUNT_FILE, "w");
	bool ok = f && fprintf(f, "%ld\n", v) > 0;

	if (f && fclose(f) != 0)
		ok = false;
	return ok;
}

static int teardown(void **state)
{
	if (map_count_before > 0)
		write_map_count(map_count_before);
	return 0;
}

/* A child with 2 * HOG_PAGES mappings that says so on fd (one byte) and waits to be killed. */
static void hog(int fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = 2 * HOG_PAGES * page;
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		_exit(1);
	for (size_t i = 0; i < HOG_PAGES; i++)
		if (mprotect(p + 2 * i * page, page, PROT_READ) != 0)
			_exit(2);
	if (write(fd, "r", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

struct seen {
	pid_t hog, after;
	bool hog_seen, after_seen;
};

static bool note(void *ctx, uint32_t pid, const struct proc_maps_line *m)
{
	struct seen *s = ctx;

	(void)m;
	s->hog_seen |= (pid_t)pid == s->hog;
	s->after_seen |= (pid_t)pid == s->after;
	return false; /* one mapping a process is enough */
}

static pid_t start_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0)
		for (;;)
			pause();
	return pid;
}

static void stop_child(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void test_read_past_many_mappings(void **state)
{
	struct maps_iter *it;
	struct seen s = { 0 };
	int p[2], rc, st;
	char c;

	(void)state;
	if (geteuid() != 0) {
		print_message("skipped: needs root (a BPF iterator, vm.max_map_count)\n");
		skip();
	}
	it = maps_iter_open();
	if (!it) {
		print_message("skipped: no task_vma iterator here (%s)\n", strerror(errno));
		skip();
	}
	map_count_before = read_map_count();
	assert_true(map_count_before > 0);
	if (map_count_before < 2 * (long)HOG_PAGES + 1000)
		assert_true(write_map_count(2 * (long)HOG_PAGES + 1000));
	assert_int_equal(pipe(p), 0);
	s.hog = fork();
	assert_true(s.hog >= 0);
	if (s.hog == 0) {
		close(p[0]);
		hog(p[1]);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		waitpid(s.hog, &st, 0);
		fail_msg("the child could not make its mappings (status %d)", st);
	}
	close(p[0]);
	s.after = start_sleeper();
	assert_true(s.after > 0);
	rc = maps_iter_read(it, note, &s);
	print_message("a read past 2.2 million mappings: %d processes (%s)\n", rc,
		      rc < 0 ? strerror(-rc) : "ok");
	stop_child(s.after);
	stop_child(s.hog);
	maps_iter_close(it);
	assert_true(rc > 0);
	assert_true(s.hog_seen);
	if (s.after > s.hog) /* pids in the order the iterator visits, unless they wrapped */
		assert_true(s.after_seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_read_past_many_mappings, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
