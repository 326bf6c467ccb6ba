// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_kthread_set.c - the kernel threads the rescans skip (recorder/kthread_set.c): kthreadd
 * (pid 2, where this test runs in the host's pid namespace) is taken and kept while it runs;
 * this process and a pid that no process has are not taken; and a member whose process exited
 * is dropped at the next prune, so that a process taking its pid afterwards is looked at again
 * (the member is planted with a child's pidfd, as no test can make a kernel thread exit).
 * Also proc_info_kthread() on this process, kthreadd and a pid that is gone.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kthread_set.h"
#include "proc_info.h"

/* A pid that names no process now: a child that was reaped. */
static pid_t gone_pid(void)
{
	pid_t c = fork();

	if (c == 0)
		_exit(0);
	assert_true(c > 0);
	assert_int_equal(waitpid(c, NULL, 0), c);
	return c;
}

static void test_kthreadd(void **state)
{
	struct kthread_set k = { 0 };

	(void)state;
	assert_int_equal(proc_info_kthread(getpid()), 0);
	assert_int_equal(proc_info_kthread(gone_pid()), -ENOENT);
	if (proc_info_kthread(2) != 1)
		skip(); /* not the host's pid namespace: no kernel thread visible */
	assert_int_equal(kthread_set_consider(&k, 2), 1);
	assert_true(kthread_set_has(&k, 2));
	assert_int_equal(kthread_set_consider(&k, 2), 0); /* already a member */
	kthread_set_prune(&k);
	assert_true(kthread_set_has(&k, 2));
	assert_int_equal(k.n, 1);
	kthread_set_free(&k);
	assert_false(kthread_set_has(&k, 2));
}

static void test_not_kthreads(void **state)
{
	struct kthread_set k = { 0 };

	(void)state;
	assert_int_equal(kthread_set_consider(&k, (uint32_t)getpid()), 0);
	assert_int_equal(kthread_set_consider(&k, (uint32_t)gone_pid()), 0);
	assert_int_equal(kthread_set_consider(&k, 0), 0);
	assert_int_equal(k.n, 0);
	assert_false(kthread_set_has(&k, (uint32_t)getpid()));
	kthread_set_free(&k);
}

static void test_exited_member_dropped(void **state)
{
	struct kthread_set k = { 0 };
	int pipefd[2], fds[3];
	pid_t kids[3];
	char c;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	k.cap = 3;
	k.v = calloc(k.cap, sizeof(*k.v));
	assert_non_null(k.v);
	/* three members in pid order, held by the pidfds of children waiting on the pipe */
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(pipefd[1]);
			(void)!read(pipefd[0], &c, 1);
			_exit(0);
		}
		assert_true(kids[i] > 0);
		fds[i] = (int)syscall(SYS_pidfd_open, kids[i], 0);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (kids[j] < kids[i]) {
				pid_t p = kids[i];
				int f = fds[i];

				kids[i] = kids[j], fds[i] = fds[j];
				kids[j] = p, fds[j] = f;
			}
	for (int i = 0; i < 3; i++)
		k.v[i] = (struct kthread_member){ .pid = (uint32_t)kids[i], .pidfd = fds[i] };
	k.n = 3;
	kthread_set_prune(&k);
	assert_int_equal(k.n, 3); /* all alive */
	/* the middle one exits: its pid may go to any new process, which must not be skipped */
	kill(kids[1], SIGKILL);
	assert_int_equal(waitpid(kids[1], NULL, 0), kids[1]);
	kthread_set_prune(&k);
	assert_int_equal(k.n, 2);
	assert_true(kthread_set_has(&k, (uint32_t)kids[0]));
	assert_false(kthread_set_has(&k, (uint32_t)kids[1]));
	assert_true(kthread_set_has(&k, (uint32_t)kids[2]));
	close(pipefd[1]);
	waitpid(kids[0], NULL, 0);
	waitpid(kids[2], NULL, 0);
	kthread_set_prune(&k);
	assert_int_equal(k.n, 0);
	close(pipefd[0]);
	kthread_set_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kthreadd),
		cmocka_unit_test(test_not_kthreads),
		cmocka_unit_test(test_exited_member_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
