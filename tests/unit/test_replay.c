// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_replay.c - unit tests of the replay source's reading of per-packet process comments
 * (recorder/replay.c, replay_comment_proc): ptcpdump's multi-line format in its variants,
 * ecap's key=value words, and comments that name no process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "replay.h"

static bool parse(const char *c, struct ecap_proc *p)
{
	return replay_comment_proc(c, strlen(c), p);
}

static void test_ptcpdump(void **state)
{
	struct ecap_proc p;
	assert_true(parse("PID: 1234\nCmd: /usr/bin/curl\nArgs: -k https://x/", &p));
	assert_true(p.valid);
	assert_int_equal(p.pid, 1234);
	assert_int_equal(p.tid, 1234);
	assert_string_equal(p.comm, "curl");

	/* joined comments: thread, user, parent (ignored) */
	assert_true(parse("PID: 77\nCmd: /opt/some/very-long-program-name\nArgs: \n"
			  "ThreadId: 78\nThreadName: worker\nUserId: 1000\nGroupId: 100\n"
			  "ParentPID: 1\nParentCmd: /sbin/init", &p));
	assert_int_equal(p.pid, 77);
	assert_int_equal(p.tid, 78);
	assert_int_equal(p.uid, 1000);
	assert_int_equal(p.gid, 100);
	assert_string_equal(p.comm, "very-long-progr"); /* 15 bytes */

	/* "Cmd: curl https://..." (command with arguments), CRLF, odd case and spacing */
	assert_true(parse("pid:   42  \r\ncmd: curl https://example.test/\r\n", &p));
	assert_int_equal(p.pid, 42);
	assert_string_equal(p.comm, "curl");
}

static void test_key_value(void **state)
{
	struct ecap_proc p;
	assert_true(parse("pid=9 tid=10 uid=0 gid=0 comm=nginx", &p));
	assert_int_equal(p.pid, 9);
	assert_int_equal(p.tid, 10);
	assert_string_equal(p.comm, "nginx");
	assert_true(parse("pid=9, comm=/usr/sbin/nginx", &p));
	assert_string_equal(p.comm, "nginx");
}

static void test_no_process(void **state)
{
	struct ecap_proc p;
	assert_false(parse("", &p));
	assert_false(p.valid);
	assert_false(parse("just a note from an analyst", &p));
	assert_false(parse("Cmd: /usr/bin/curl", &p));     /* no PID */
	assert_false(parse("PID: abc\nCmd: curl", &p));     /* not a number */
	assert_false(parse("PID: 0\nCmd: curl", &p));       /* 0 is no process */
	assert_false(parse("PID: 99999999999\nCmd: x", &p)); /* out of range */
	assert_false(parse("ParentPID: 5", &p));
	assert_int_equal(p.pid, 0);
	assert_string_equal(p.comm, "");
	/* not NUL-terminated input: only len bytes are read */
	char buf[16];
	memcpy(buf, "PID: 12345678901", 16);
	assert_true(replay_comment_proc(buf, 9, &p));
	assert_int_equal(p.pid, 1234);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ptcpdump),
		cmocka_unit_test(test_key_value),
		cmocka_unit_test(test_no_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
