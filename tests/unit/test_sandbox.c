// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_sandbox.c - the calibration sandbox (recorder/sandbox.h) and what goes through it:
 * forbidden system calls kill the child, it runs as nobody without capabilities under seccomp,
 * time and output are bounded (CPU time: a child that spins is stopped after its CPU bound
 * even when it shares its CPU, so its wall time runs longer, and not taken for idle; one that
 * sleeps, or naps between bursts of work, is stopped by the idle bound, with or without
 * namespaces; a child given up is killed at once, even one without namespaces that closed its
 * pipes), a planted library (planted_libssl.c, built by meson in six modes) is run only there, a library swapped at its path after it was opened is not the one
 * loaded, and the child's answer is parsed as hostile input. As root the uid and namespace
 * checks are strict; as another user the sandbox cannot change the uid and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <seccomp.h>

#include "sandbox.h"
#include "tls_calibrate.h"
#include "tls_lib.h"

static const char *planted_dir(void)
{
	const char *d = getenv("ECAP_PLANTED_DIR");

	return d && *d ? d : ".";
}

/*
 * The CPU bound of the children below (their wall-clock bound is 20 times that). Each ends
 * long before it by its own doing (a seccomp kill, an exit). When the bound was wall time, a
 * busy host (sanitizers, other tests) left a child without the CPU for more than 5 s, the
 * forbidden call not reached yet.
 */
#define CHILD_BOUND_MS 60000

static int run(int (*fn)(void *), void *arg, struct sandbox_result *res)
{
	return sandbox_run(fn, arg, NULL, 0, 4096, CHILD_BOUND_MS, res);
}

static void assert_killed_by_seccomp(const struct sandbox_result *res)
{
	char how[96];

	if (!WIFSIGNALED(res->status) || WTERMSIG(res->status) != SIGSYS)
		fail_msg("the child was not killed by seccomp: %s (stderr: %s)",
			 sandbox_describe(res, how, sizeof(how)), res->err);
}

static int do_socket(void *arg)
{
	socket(AF_INET, SOCK_STREAM, 0);
	printf("socket returned\n");
	return 0;
}

static int do_execve(void *arg)
{
	char *const argv[] = { "true", NULL };

	execve("/bin/true", argv, NULL);
	printf("execve returned\n");
	return 0;
}

static int do_write_file(void *arg)
{
	int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	printf("open returned %d\n", fd);
	return 0;
}

static int do_kill(void *arg)
{
	kill(1, SIGTERM);
	printf("kill returned\n");
	return 0;
}

static void test_forbidden_calls(void **state)
{
	char dir[] = "/tmp/test_sandbox.XXXXXX", path[PATH_MAX];
	int (*const fns[])(void *) = { do_socket, do_execve, do_write_file, do_kill };
	struct sandbox_result res;

	assert_non_null(mkdtemp(dir));
	chmod(dir, 01777);
	snprintf(path, sizeof(path), "%s/written", dir);
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		assert_int_equal(run(fns[i], path, &res), 0);
		assert_killed_by_seccomp(&res);
		assert_int_equal(res.out_len, 0); /* it never got past the call */
		sandbox_result_free(&res);
	}
	assert_int_equal(access(path, F_OK), -1);
	rmdir(dir);
}

/* Prints the lines of /proc/self/status that say what the child may do, and /etc/shadow. */
static int do_report(void *arg)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	int fd;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) ||
		    !strncmp(line, "Groups:", 7) || !strncmp(line, "Cap", 3) ||
		    !strncmp(line, "NoNewPrivs:", 11) || !strncmp(line, "Seccomp:", 8) ||
		    !strncmp(line, "NSpid:", 6))
			fputs(line, stdout);
	if (f)
		fclose(f);
	fd = open("/etc/shadow", O_RDONLY);
	printf("shadow: %s\n", fd >= 0 ? "readable" : "no");
	printf("env: %s\n", getenv("PATH") ? "PATH set" : "empty");
	printf("fd9: %s\n", fcntl(9, F_GETFD) >= 0 ? "open" : "closed");
	return 0;
}

static void expect_line(const char *out, const char *line)
{
	if (!strstr(out, line))
		fail_msg("missing \"%s\" in:\n%s", line, out);
}

static void test_who_it_is(void **state)
{
	struct sandbox_result res;
	char how[96];
	int leak = open("/dev/null", O_RDONLY); /* not given: must not reach the child */

	assert_true(leak >= 0);
	if (leak != 9) {
		assert_int_equal(dup2(leak, 9), 9);
		close(leak);
	}
	assert_int_equal(run(do_report, NULL, &res), 0);
	close(9);
	if (!WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0)
		fail_msg("%s: %s", sandbox_describe(&res, how, sizeof(how)), res.err);
	print_message("%s", res.out);
	expect_line(res.out, "CapEff:\t0000000000000000");
	expect_line(res.out, "CapPrm:\t0000000000000000");
	expect_line(res.out, "CapAmb:\t0000000000000000");
	expect_line(res.out, "NoNewPrivs:\t1");
	expect_line(res.out, "Seccomp:\t2");
	expect_line(res.out, "shadow: no");
	expect_line(res.out, "env: empty");
	expect_line(res.out, "fd9: closed");
	if (geteuid() == 0) {
		expect_line(res.out, "Uid:\t65534\t65534\t65534\t65534");
		expect_line(res.out, "Gid:\t65534\t65534\t65534\t65534");
		expect_line(res.out, "CapBnd:\t0000000000000000");
		/* its own PID namespace, where the kernel gives one: PID 1 there */
		if (!strstr(res.err, "no namespaces"))
			assert_non_null(strstr(res.out, "\t1\n"));
	}
	sandbox_result_free(&res);
}

static int do_hang(void *arg)
{
	for (;;)
		sleep(10);
	return 0;
}

static int do_flood(void *arg)
{
	for (int i = 0; i < 100000; i++)
		printf("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	return 0;
}

static int do_spin(void *arg)
{
	for (volatile unsigned long n = 0;; n++)
		;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double children_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * A child that never finishes is stopped by its CPU bound, and only by that: here it shares
 * one CPU with a process of ours that spins too (both pinned to the CPU we run on), so it gets
 * half of it at most, and its wall time is about twice its bound. It must have had its whole
 * bound of CPU time (a bound of wall time gave it half; fails so before this change).
 */
static void test_cpu_bound(void **state)
{
	const unsigned bound_ms = 2000;
	struct sandbox_result res;
	cpu_set_t one, all;
	double cpu0, t0, cpu, wall;
	pid_t rival;

	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	rival = fork();
	assert_true(rival >= 0);
	if (rival == 0) {
		do_spin(NULL);
		_exit(0);
	}
	cpu0 = children_cpu_s();
	t0 = now_s();
	assert_int_equal(sandbox_run(do_spin, NULL, NULL, 0, 4096, bound_ms, &res), 0);
	wall = now_s() - t0;
	cpu = children_cpu_s() - cpu0;
	kill(rival, SIGKILL);
	waitpid(rival, NULL, 0);
	sched_setaffinity(0, sizeof(all), &all);
	print_message("spinning child: %.2f s of CPU in %.2f s, bound %.2f s of CPU\n", cpu, wall,
		      bound_ms / 1e3);
	assert_true(WIFSIGNALED(res.status) && WTERMSIG(res.status) == SIGKILL);
	if (wall >= SANDBOX_WALL_PER_CPU * bound_ms / 1e3) {
		/* starved below a twentieth of the CPU (a host busier than the rival): the wall
		 * bound ended it first, as it must; nothing to tell of the CPU bound */
		print_message("the wall-clock bound came first: the CPU bound not checked\n");
		sandbox_result_free(&res);
		skip();
	}
	assert_false(res.timed_out);
	sandbox_result_free(&res);
	/* rusage, read here, gave 0.80-0.98 of the bound on this VM under load (the kernel
	 * counts the limit on its own clock); a bound of wall time gave 0.01 here */
	assert_true(cpu >= 0.6 * bound_ms / 1e3);
	assert_true(cpu < bound_ms / 1e3 + 1.0);
	assert_true(wall >= 1.5 * bound_ms / 1e3);
}

/* A child that sleeps in naps between short bursts of work (2 ms of CPU every 22 ms): a
 * library that would stay under any bound of CPU time while it held the calibration. */
static int do_nap(void *arg)
{
	struct timespec nap = { 0, 20 * 1000000L };
	double t;

	for (;;) {
		for (t = now_s(); now_s() - t < 0.002;)
			;
		nanosleep(&nap, NULL);
	}
	return 0;
}

/* The CPU bound of a calibration (tls_calibrate.c): a wall-clock bound of 600 s. */
#define CALIB_BOUND_MS 30000

/* fn, which never ends and mostly waits, is ended by the idle bound: killed after about
 * SANDBOX_IDLE_MS, not after its wall-clock bound (before the idle bound: 600 s). */
static void assert_idle_bound(int (*fn)(void *), const char *what)
{
	struct sandbox_result res;
	char how[128];
	double t0 = now_s(), wall;

	assert_int_equal(sandbox_run(fn, NULL, NULL, 0, 4096, CALIB_BOUND_MS, &res), 0);
	wall = now_s() - t0;
	print_message("%s: %s after %.2f s\n", what, sandbox_describe(&res, how, sizeof(how)),
		      wall);
	assert_true(WIFSIGNALED(res.status) && WTERMSIG(res.status) == SIGKILL);
	assert_true(res.timed_out && res.idle);
	assert_non_null(strstr(how, "neither running nor waiting for a CPU"));
	assert_true(wall >= SANDBOX_IDLE_MS / 1e3 - 0.2);
	/* naps: idle 20 ms of every 22 ms, and the host's load */
	assert_true(wall <= 2 * SANDBOX_IDLE_MS / 1e3 + 5);
	sandbox_result_free(&res);
}

static void test_bounds(void **state)
{
	struct sandbox_result res;

	/* a child that sleeps uses no CPU, and does not wait for one: the idle bound ends it */
	assert_idle_bound(do_hang, "sleeping child");
	assert_idle_bound(do_nap, "napping child");
	assert_int_equal(run(do_flood, NULL, &res), 0);
	assert_int_equal(res.out_len, 4096);
	assert_int_equal(strlen(res.out), 4096);
	assert_false(res.timed_out);
	sandbox_result_free(&res);
}

static int do_close_and_hang(void *arg)
{
	close(1);
	close(2);
	return do_hang(arg);
}

static void give_up(int sig)
{
	(void)sig;
	sandbox_give_up = 1;
}

/* The tests below, in a process of their own, where the child gets no namespaces (a host that
 * refuses them to unprivileged users, Ubuntu's AppArmor default): the child itself runs the
 * function, which closes its stdout and stderr and sleeps. given_up: sandbox_give_up is set
 * after 1 s, and sandbox_run must come back within 5 s; else it must come back by the idle
 * bound (before it: the wall-clock bound, 600 s). 0, or a code that says what went wrong. */
static int closed_pipes_without_ns(bool given_up)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	struct sigaction sa = { .sa_handler = give_up };
	struct sandbox_result res;
	double t0, wall;

	if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 0) < 0 ||
	    seccomp_load(ctx) < 0)
		return 10;
	seccomp_release(ctx);
	if (given_up) {
		sigaction(SIGALRM, &sa, NULL);
		alarm(1);
	}
	t0 = now_s();
	/* given up: a CPU bound of 1 s, a wall-clock bound of 20 s */
	if (sandbox_run(do_close_and_hang, NULL, NULL, 0, 4096, given_up ? 1000 : CALIB_BOUND_MS,
			&res) < 0)
		return 11;
	wall = now_s() - t0;
	fprintf(stderr, "%s: back after %.2f s (stderr: %s)\n",
		given_up ? "given up after 1 s" : "idle", wall, res.err);
	if (!strstr(res.err, "no namespaces"))
		return 12;
	if (given_up ? wall > 5 : wall > 2 * SANDBOX_IDLE_MS / 1e3 + 5)
		return 13;
	if (!res.timed_out || !WIFSIGNALED(res.status) || WTERMSIG(res.status) != SIGKILL)
		return 14;
	if (res.idle == given_up)
		return 15;
	sandbox_result_free(&res);
	return 0;
}

static void run_closed_pipes_without_ns(bool given_up)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(closed_pipes_without_ns(given_up));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A child without namespaces that closes its stdout and stderr and lives on is still given up
 * at once (sandbox_give_up: the launcher's SIGTERM when the recorder stops), not waited for
 * until its wall-clock bound; and one not given up ends by the idle bound. */
static void test_give_up_closed_pipes(void **state)
{
	run_closed_pipes_without_ns(true);
	run_closed_pipes_without_ns(false);
}

/* A planted library given to calibration: it runs only in the sandbox and is killed there. */
static void test_planted(void **state)
{
	static const struct {
		const char *file, *want;
	} cases[] = {
		{ "planted_m0.so", "planted: constructor uid=" },
		{ "planted_m1.so", "planted: constructor uid=" },
		{ "planted_m2.so", "planted: constructor uid=" },
		{ "planted_m3.so", "planted: SSL_CTX_new uid=" },
	};
	struct tls_calibration cal;
	char path[PATH_MAX], err[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", planted_dir(), cases[i].file);
		if (access(path, R_OK) < 0)
			fail_msg("%s: %s (ECAP_PLANTED_DIR)", path, strerror(errno));
		err[0] = '\0';
		assert_int_equal(tls_calibrate(path, NULL, &cal, err, sizeof(err)), -EIO);
		print_message("%s\n", err);
		assert_non_null(strstr(err, "killed by the sandbox (SIGSYS"));
		assert_non_null(strstr(err, cases[i].want));
		assert_non_null(strstr(err, "capeff=0000000000000000"));
		assert_non_null(strstr(err, "nnp=1 seccomp=2 shadow=no"));
		assert_null(strstr(err, "uid=0 "));
	}
	assert_int_equal(access("/tmp/ecap-planted-marker", F_OK), -1);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	close(in);
	close(out);
	return n == 0 ? 0 : -1;
}

/* Swapped between open and load: the descriptor's file is what loads, not the path's. */
static void test_swap_after_open(void **state)
{
	char dir[] = "/tmp/test_sandbox.XXXXXX", sys[PATH_MAX], path[PATH_MAX + 32],
	     planted[PATH_MAX + 32], err[1024] = "";
	struct tls_calibration cal;
	int fd;

	if (tls_lib_default(sys, sizeof(sys)) < 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/libssl.so.3", dir);
	snprintf(planted, sizeof(planted), "%s/planted_m0.so", planted_dir());
	assert_int_equal(copy_file(sys, path), 0);
	fd = tls_lib_open(path, 0, 0);
	assert_true(fd >= 0);
	/* the attacker's move: another file at the same path */
	snprintf(sys, sizeof(sys), "%s/planted", dir);
	assert_int_equal(copy_file(planted, sys), 0);
	assert_int_equal(rename(sys, path), 0);
	if (tls_calibrate_fd(fd, path, NULL, &cal, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_true(strncmp(cal.library, "OpenSSL ", 8) == 0);
	assert_true(tls_calibrate_usable(&cal));
	close(fd);
	/* and by path now: the planted file, which the sandbox kills */
	assert_true(tls_calibrate(path, NULL, &cal, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "planted: constructor"));
	unlink(path);
	rmdir(dir);
}

/* A symlink at the last component is refused; a directory or FIFO is not a library. */
static void test_open_refuses(void **state)
{
	char dir[] = "/tmp/test_sandbox.XXXXXX", p[PATH_MAX + 16];
	struct stat st;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(tls_lib_open(p, 0, 0), -ELOOP);
	unlink(p);
	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(tls_lib_open(p, 0, 0), -EINVAL); /* and it did not block */
	unlink(p);
	assert_int_equal(tls_lib_open(dir, 0, 0), -EINVAL);
	assert_int_equal(stat("/etc/passwd", &st), 0);
	assert_int_equal(tls_lib_open("/etc/passwd", st.st_dev, st.st_ino + 1), -ESTALE);
	fd = tls_lib_open("/etc/passwd", st.st_dev, st.st_ino);
	assert_true(fd >= 0);
	close(fd);
	rmdir(dir);
}

/* The child's answer: anything at all is parsed without harm and with a bounded result. */
static void test_parse_answer(void **state)
{
	static const char *const bad[] = {
		"", "ok", "ok 12", "ok x\n", "garbage\n", "ok 1\nnot the format\n",
		"ok 1\necap-calibration 2\nclient_random 3 0 0 0\n",
		"ok 1\necap-calibration 2\nclient_random 0 70000 0 0\n",
		"ok 1\necap-calibration 2\nno_such_field 0 0 0 0\n",
	};
	struct tls_calibration cal;
	char err[256], buf[9000];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_true(tls_calibrate_parse_answer(bad[i], strlen(bad[i]), &cal, err,
						       sizeof(err)) < 0);
		assert_true(err[0] != '\0');
	}
	/* an error with control characters and a lying errno */
	snprintf(buf, sizeof(buf), "error 99999 \x1b[31mred\x07 text\n");
	assert_int_equal(tls_calibrate_parse_answer(buf, strlen(buf), &cal, err, sizeof(err)),
			 -EIO);
	assert_null(strchr(err, '\x1b'));
	assert_null(strchr(err, '\x07'));
	/* a good answer with a hostile library name and a path that is ignored */
	snprintf(buf, sizeof(buf), "ok 5\necap-calibration 2\npath /etc/shadow\nbuild_id ff\n"
		 "library evil\x1b]0;title\x07\nversion 0 0 0 0\nclient_random 0 0 0 352\n");
	assert_int_equal(tls_calibrate_parse_answer(buf, strlen(buf), &cal, err, sizeof(err)),
			 0);
	assert_string_equal(cal.path, "");
	assert_string_equal(cal.build_id, "");
	assert_null(strchr(cal.library, '\x1b'));
	assert_int_equal(cal.f[TLS_CAL_CLIENT_RANDOM].off, 352);
	assert_false(tls_calibrate_usable(&cal));
	/* longer than any answer can be, with a NUL inside */
	memset(buf, 'A', sizeof(buf));
	memcpy(buf, "ok 1\n", 5);
	buf[100] = '\0';
	assert_true(tls_calibrate_parse_answer(buf, sizeof(buf), &cal, err, sizeof(err)) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_calls), cmocka_unit_test(test_who_it_is),
		cmocka_unit_test(test_bounds),          cmocka_unit_test(test_cpu_bound),
		cmocka_unit_test(test_planted),         cmocka_unit_test(test_give_up_closed_pipes),
		cmocka_unit_test(test_swap_after_open), cmocka_unit_test(test_open_refuses),
		cmocka_unit_test(test_parse_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
