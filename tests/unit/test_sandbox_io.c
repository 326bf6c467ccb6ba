// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_sandbox_io.c - the sandbox's idle bound (recorder/sandbox_idle.h) and a child that waits
 * for a slow disk: a calibration whose reads wait in uninterruptible sleep (state D) for longer
 * than SANDBOX_IDLE_MS is working, not idle, and must end by itself; but such waits count only
 * up to the child's CPU bound, past which a child that keeps the disk busy is idle and killed.
 * The slow disk: this machine's own, throttled to 64 KiB/s of reads (blkio.throttle in a cgroup
 * v1 of this test's, io.max in a cgroup v2 whose io controller is on) for a helper process that
 * calls sandbox_run, whose child reads a file of it with O_DIRECT (no page cache between). Needs
 * root and a file system on a block device (/var/tmp); skipped otherwise, and says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

#define READ_BPS 65536u /* the throttled disk's reads, bytes a second */
#define FILE_BYTES (1024u * 1024u)
#define FD_IN_CHILD 3 /* sandbox_run's first fd in the child */

/* The CPU bound of a calibration (tls_calibrate.c): 30 s of reads' waits are allowed too. */
#define CALIB_BOUND_MS 30000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct slow_disk {
	char dir[64], file[96], cgroup[128];
	int fd; /* the file, O_DIRECT */
};
static struct slow_disk disk = { .fd = -1 };

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The whole disk under st_dev (a partition's disk: blk-throttle takes disks only). */
static void whole_disk(dev_t dev, unsigned *maj, unsigned *min)
{
	char path[96], buf[32];
	FILE *f;

	*maj = major(dev);
	*min = minor(dev);
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", *maj, *min);
	if (access(path, F_OK) != 0)
		return;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", *maj, *min);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f))
		sscanf(buf, "%u:%u", maj, min);
	if (f)
		fclose(f);
}

/* The file and the throttled cgroup: NULL, or why the test cannot run here. */
static const char *make_slow_disk(void)
{
	static char why[160];
	unsigned maj, min;
	char rule[64];
	struct stat st;
	char *data;
	int fd;

	if (geteuid() != 0)
		return "needs root (a cgroup's I/O throttle)";
	snprintf(disk.dir, sizeof(disk.dir), "/var/tmp/ecap-test-sandbox-io.XXXXXX");
	if (!mkdtemp(disk.dir))
		return "mkdtemp in /var/tmp failed";
	snprintf(disk.file, sizeof(disk.file), "%s/data", disk.dir);
	data = malloc(FILE_BYTES);
	fd = open(disk.file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (!data || fd < 0)
		return "cannot make the file";
	memset(data, 0x5a, FILE_BYTES);
	if (write(fd, data, FILE_BYTES) != (ssize_t)FILE_BYTES || fsync(fd) != 0 ||
	    fstat(fd, &st) != 0) {
		free(data);
		close(fd);
		return "cannot write the file";
	}
	free(data);
	close(fd);
	if (major(st.st_dev) == 0)
		return "/var/tmp is not on a block device";
	disk.fd = open(disk.file, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (disk.fd < 0)
		return "/var/tmp does not take O_DIRECT";
	whole_disk(st.st_dev, &maj, &min);
	if (access("/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device", W_OK) == 0) {
		snprintf(disk.cgroup, sizeof(disk.cgroup),
			 "/sys/fs/cgroup/blkio/ecap-test-sandbox-io-%d", (int)getpid());
		snprintf(rule, sizeof(rule), "%u:%u %u", maj, min, READ_BPS);
		if (mkdir(disk.cgroup, 0755) != 0)
			return "cannot make a blkio cgroup";
		snprintf(why, sizeof(why), "%s/blkio.throttle.read_bps_device", disk.cgroup);
	} else {
		/* cgroup v2: a child of the root, whose io controller must be on for children */
		FILE *f = fopen("/sys/fs/cgroup/cgroup.subtree_control", "r");
		char ctl[256] = "";

		if (f) {
			if (!fgets(ctl, sizeof(ctl), f))
				ctl[0] = '\0';
			fclose(f);
		}
		if (!strstr(ctl, "io"))
			return "no blkio throttle (cgroup v1) nor io controller (cgroup v2) here";
		snprintf(disk.cgroup, sizeof(disk.cgroup), "/sys/fs/cgroup/ecap-test-sandbox-io-%d",
			 (int)getpid());
		snprintf(rule, sizeof(rule), "%u:%u rbps=%u", maj, min, READ_BPS);
		if (mkdir(disk.cgroup, 0755) != 0)
			return "cannot make a cgroup";
		snprintf(why, sizeof(why), "%s/io.max", disk.cgroup);
	}
	if (!write_file(why, rule)) {
		snprintf(why, sizeof(why), "the throttle of %u:%u is refused", maj, min);
		return why;
	}
	return NULL;
}

/* Whether the cgroup has no process left: a child killed in state D ends only when its read
 * has come (up to 16 s after it started, here). */
static bool cgroup_empty(void)
{
	char path[160], buf[16];
	FILE *f;
	bool empty;

	snprintf(path, sizeof(path), "%s/cgroup.procs", disk.cgroup);
	f = fopen(path, "r");
	if (!f)
		return true;
	empty = !fgets(buf, sizeof(buf), f);
	fclose(f);
	return empty;
}

static void remove_slow_disk(void)
{
	if (disk.fd >= 0)
		close(disk.fd);
	for (int i = 0; disk.cgroup[0] && !cgroup_empty() && i < 600; i++)
		usleep(100000);
	if (disk.cgroup[0] && rmdir(disk.cgroup) != 0)
		fprintf(stderr, "test_sandbox_io: rmdir %s: %s\n", disk.cgroup, strerror(errno));
	if (disk.file[0])
		unlink(disk.file);
	if (disk.dir[0])
		rmdir(disk.dir);
}

static int setup(void **state)
{
	const char *why = make_slow_disk();

	*state = (void *)why;
	return 0;
}

static int teardown(void **state)
{
	remove_slow_disk();
	return 0;
}

/* The child: reads *len bytes of the file from its start, O_DIRECT. 0 when all came. */
static int do_slow_read(void *arg)
{
	size_t len = *(const size_t *)arg, got = 0;
	void *buf;
	ssize_t n;

	if (posix_memalign(&buf, 4096, len) != 0)
		return 1;
	while (got < len && (n = pread(FD_IN_CHILD, (char *)buf + got, len - got, (off_t)got)) > 0)
		got += (size_t)n;
	printf("read %zu bytes\n", got);
	return got == len ? 0 : 1;
}

struct outcome {
	double wall;
	int status;
	bool timed_out, idle;
	bool no_ns; /* the child ran the function itself: killed in D, it ends when its read does */
	char out[64];
};

/* sandbox_run(do_slow_read) with cpu_ms, from a helper process in the throttled cgroup. */
static struct outcome run_throttled(size_t len, unsigned cpu_ms)
{
	struct outcome o = { 0 };
	int p[2], st;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char path[160], self[16];
		struct sandbox_result res;
		double t0;

		close(p[0]);
		snprintf(path, sizeof(path), "%s/cgroup.procs", disk.cgroup);
		snprintf(self, sizeof(self), "%d", (int)getpid());
		if (!write_file(path, self))
			_exit(2);
		t0 = now_s();
		if (sandbox_run(do_slow_read, &len, &disk.fd, 1, 4096, cpu_ms, &res) < 0)
			_exit(3);
		o.wall = now_s() - t0;
		o.status = res.status;
		o.timed_out = res.timed_out;
		o.idle = res.idle;
		o.no_ns = strstr(res.err, "no namespaces") != NULL;
		snprintf(o.out, sizeof(o.out), "%s", res.out ? res.out : "");
		fprintf(stderr, "%s", res.err);
		_exit(write(p[1], &o, sizeof(o)) == sizeof(o) ? 0 : 4);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &o, sizeof(o)), sizeof(o));
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return o;
}

/* Skips the test, saying why, when there is no slow disk to be had. */
static void skip_without_disk(const char *why)
{
	if (!why)
		return;
	print_message("skipped: %s\n", why);
	skip();
}

static void describe(const char *what, const struct outcome *o)
{
	struct sandbox_result r = { .status = o->status, .timed_out = o->timed_out,
				    .idle = o->idle };
	char how[128];

	print_message("%s: %s after %.2f s (%s)\n", what, sandbox_describe(&r, how, sizeof(how)),
		      o->wall, o->out[0] ? o->out : "no answer");
}

/* 512 KiB at 64 KiB/s: about 8 s in state D, more than the idle bound, and the child ends by
 * itself with all its bytes (before: killed as idle after 5 s). */
static void test_slow_disk_is_not_idle(void **state)
{
	size_t len = FILE_BYTES / 2;
	struct outcome o;

	skip_without_disk(*state);
	o = run_throttled(len, CALIB_BOUND_MS);
	describe("a read of 512 KiB at 64 KiB/s", &o);
	assert_false(o.timed_out);
	assert_false(o.idle);
	assert_true(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0);
	assert_string_equal(o.out, "read 524288 bytes\n");
	/* the throttle made it wait longer than the idle bound, or this proves nothing */
	assert_true(o.wall >= SANDBOX_IDLE_MS / 1e3 + 1.0);
}

/* The same waits count as work up to the child's CPU bound only (2 s here): a child that keeps
 * the disk busy longer (1 MiB: 16 s) is then idle, and killed 5 s later. */
static void test_disk_waits_bounded(void **state)
{
	struct outcome o;

	skip_without_disk(*state);
	o = run_throttled(FILE_BYTES, 2000);
	describe("a read of 1 MiB at 64 KiB/s, CPU bound 2 s", &o);
	assert_true(o.timed_out && o.idle);
	assert_true(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGKILL);
	assert_true(o.wall >= 2.0 + SANDBOX_IDLE_MS / 1e3 - 0.2);
	/* killed before its read was done: with namespaces the caller's child, which only
	 * waits, goes at once; without (ThreadSanitizer's thread makes unshare refuse), the
	 * child killed in state D ends only when its read does */
	if (!o.no_ns)
		assert_true(o.wall < FILE_BYTES / (double)READ_BPS - 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_disk_is_not_idle),
		cmocka_unit_test(test_disk_waits_bounded),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
