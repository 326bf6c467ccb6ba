// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_replay.c - unit tests of the replay source's reading of per-packet process comments
 * (recorder/replay.c, replay_comment_proc): ptcpdump's multi-line format in its variants,
 * ecap's key=value words, comments that name no process, and what ecap's own comments say
 * of a process beyond its pid (read back for its block only, and only with its start time).
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
	return replay_comment_proc(c, strlen(c), p, NULL);
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
	assert_true(replay_comment_proc(buf, 9, &p, NULL));
	assert_int_equal(p.pid, 1234);
}

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_info(void **state)
{
	const char *c = "PID: 10\nTID: 11\nUID: 0\nCmd: curl\nArgs: curl -s http://x/\n"
			"Exe: /usr/bin/curl\nParentPID: 9\nParentCmd: bash\nNsPID: 3\n"
			"Start: 2026-12-05T19:40:01.23Z\nCgroup: /p/libpod-" ID64 "\n"
			"ContainerId: " ID64 "\nContainerRuntime: podman\n"
			"PodUID: 5e1c7b0a-1111-4222-8333-944455556666\n"
			"Peer PID: 20\nPeer Exe: /usr/bin/python3\nPeer Args: python3 -m x\n"
			"Peer ContainerId: ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
	struct ecap_proc_info pi;
	struct ecap_proc p;

	assert_true(replay_comment_proc(c, strlen(c), &p, &pi));
	assert_int_equal(p.pid, 10);
	assert_int_equal(pi.pid, 10);
	assert_int_equal(pi.start_ns, 1796499601230000000ull);
	assert_int_equal(pi.start_wall_ns, pi.start_ns);
	assert_int_equal(p.start_ns, pi.start_ns);
	assert_string_equal(pi.args, "curl -s http://x/");
	assert_string_equal(pi.exe, "/usr/bin/curl");
	assert_int_equal(pi.ppid, 9);
	assert_string_equal(pi.parent_comm, "bash");
	assert_int_equal(pi.nspid, 3);
	assert_string_equal(pi.cgroup, "/p/libpod-" ID64);
	assert_string_equal(pi.container_id, ID64);
	assert_string_equal(pi.runtime, "podman");
	assert_string_equal(pi.pod_uid, "5e1c7b0a-1111-4222-8333-944455556666");

	/* without a start time the details name no process for certain */
	const char *nostart = "PID: 10\nCmd: curl\nExe: /usr/bin/curl\nContainerId: " ID64;
	assert_true(replay_comment_proc(nostart, strlen(nostart), &p, &pi));
	assert_int_equal(pi.pid, 0);
	assert_string_equal(pi.exe, "");
	assert_int_equal(p.start_ns, 0);
	/* a malformed container id is not kept; control bytes are made printable */
	const char *bad = "PID: 10\nStart: @1700000000\nContainerId: 12ab\nArgs: a\x1b[2Jb";
	assert_true(replay_comment_proc(bad, strlen(bad), &p, &pi));
	assert_int_equal(pi.start_ns, 1700000000ull * 1000000000ull);
	assert_string_equal(pi.container_id, "");
	assert_string_equal(pi.args, "a?[2Jb");
}

/* The container's lines of the comment's own block: labels made again, Peer lines left. */
static void test_container(void **state)
{
	const char *c = "PID: 10\nStart: @1700000000\nContainerId: " ID64 "\n"
			"ContainerRuntime: podman\nContainerName: web-1\n"
			"ContainerImage: localhost/img:1\n"
			"ContainerLabels: {\"z\":\"1\",\"a\":\"\\u0007\",\"n\":3}\n"
			"PodName: web-7d9f\nPodNamespace: prod\n"
			"PodUID: 5e1c7b0a-1111-4222-8333-944455556666\n"
			"Peer PID: 20\nPeer ContainerName: other";
	struct ecap_container ct;

	assert_true(replay_comment_container(c, strlen(c), &ct));
	assert_string_equal(ct.id, ID64);
	assert_string_equal(ct.runtime, "podman");
	assert_string_equal(ct.name, "web-1");
	assert_string_equal(ct.image, "localhost/img:1");
	assert_string_equal(ct.labels, "{\"a\":\"?\",\"z\":\"1\"}");
	assert_string_equal(ct.pod_name, "web-7d9f");
	assert_string_equal(ct.pod_namespace, "prod");
	assert_string_equal(ct.pod_uid, "5e1c7b0a-1111-4222-8333-944455556666");
	/* labels that are not a JSON object are not kept */
	const char *bad = "PID: 10\nContainerId: " ID64 "\nContainerName: x\n"
			  "ContainerLabels: {\"a\":";
	assert_true(replay_comment_container(bad, strlen(bad), &ct));
	assert_string_equal(ct.labels, "");
	/* an id alone, or runtime facts without an id, make no container */
	const char *idonly = "PID: 10\nContainerId: " ID64 "\nContainerRuntime: podman";
	assert_false(replay_comment_container(idonly, strlen(idonly), &ct));
	const char *noid = "PID: 10\nContainerName: web-1";
	assert_false(replay_comment_container(noid, strlen(noid), &ct));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_container),
		cmocka_unit_test(test_ptcpdump),
		cmocka_unit_test(test_key_value),
		cmocka_unit_test(test_no_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
