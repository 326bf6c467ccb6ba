// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_proc_info.c - who a process is, from /proc (recorder/proc_info.c): container ids and
 * runtimes from the cgroup path layouts of docker, containerd, CRI-O, podman (systemd and
 * cgroupfs drivers) and kubepods, with the monitors (conmon) and malformed ids refused;
 * control characters and NULs made printable; and a read of this very process: executable,
 * command line, parent, start time, and a start time that is not this process's refused.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_info.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "5e1c7b0a-1111-4222-8333-944455556666"
#define UID_ "5e1c7b0a_1111_4222_8333_944455556666"

static void expect(const char *cgroup, const char *id, const char *runtime, const char *pod)
{
	char i[ECAP_CONTAINER_ID_MAX], r[ECAP_RUNTIME_MAX], p[ECAP_POD_UID_MAX];

	proc_info_container(cgroup, i, r, p);
	if (strcmp(i, id) || strcmp(r, runtime) || strcmp(p, pod))
		fail_msg("%s: got id '%s' runtime '%s' pod '%s', expected '%s' '%s' '%s'", cgroup,
			 i, r, p, id, runtime, pod);
}

static void test_container(void **state)
{
	expect("/system.slice/docker-" ID64 ".scope", ID64, "docker", "");
	expect("/docker/" ID64, ID64, "docker", "");
	expect("/system.slice/cri-containerd-" ID64 ".scope", ID64, "containerd", "");
	expect("/machine.slice/libpod-" ID64 ".scope/container", ID64, "podman", "");
	expect("/libpod_parent/libpod-" ID64, ID64, "podman", "");
	expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	       ".slice/crio-" ID64 ".scope", ID64, "crio", UID);
	expect("/kubepods/burstable/pod" UID "/" ID64, ID64, "cri", UID);
	expect("/kubepods.slice/kubepods-pod" UID_ ".slice", "", "", UID);
	/* not a container's process, or not an id */
	expect("/machine.slice/libpod-conmon-" ID64 ".scope", "", "", "");
	expect("/system.slice/crio-conmon-" ID64 ".scope", "", "", "");
	expect("/system.slice/docker-" ID64 "0.scope", "", "", "");
	expect("/system.slice/docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789"
	       "abcdef.scope", "", "", "");
	expect("/system.slice/docker.service", "", "", "");
	expect("/user.slice/user-1000.slice/session-2.scope", "", "", "");
	expect("/", "", "", "");
	expect("", "", "", "");
	expect("/kubepods/burstable/podnot-a-uid/" ID64, "", "", "");
	expect("/" ID64, "", "", "");
}

static void test_printable(void **state)
{
	char out[16];

	proc_info_printable(out, sizeof(out), "curl\0-s\0\nx\x1b[31m\0", 17);
	assert_string_equal(out, "curl -s ?x?[31m");
	proc_info_printable(out, 5, "abcdefgh", 8);
	assert_string_equal(out, "abcd");
	proc_info_printable(out, sizeof(out), "\xff\xfe", 2);
	assert_string_equal(out, "??");
}

/* proc_info_printable() as its comment says, a byte at a time */
static void printable_ref(char *dst, size_t size, const char *src, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < size - 1; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[k++] = c == 0 ? ' ' : c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	while (k > 0 && dst[k - 1] == ' ')
		k--;
	dst[k] = '\0';
}

/* The same as a byte at a time for every byte value at every place of a word that is
 * otherwise printable (the words copied whole must hold nothing else), for cuts of the output
 * at every length, and for random bytes. */
static void test_printable_words(void **state)
{
	char src[40], out[48], ref[48];
	uint32_t x = 12345;

	for (int v = 0; v < 256; v++)
		for (size_t at = 0; at < 24; at++) {
			memset(src, 'a' + (int)(at % 26), sizeof(src));
			src[at] = (char)v;
			for (size_t size = 1; size <= sizeof(out); size += 3) {
				memset(out, 'X', sizeof(out));
				proc_info_printable(out, size, src, 24 + at % 9);
				printable_ref(ref, size, src, 24 + at % 9);
				assert_string_equal(out, ref);
			}
		}
	for (int r = 0; r < 20000; r++) {
		size_t n = r % sizeof(src);
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			/* mostly printable, so that whole words are copied too */
			src[i] = (x >> 24) % 4 ? (char)(0x20 + (x >> 8) % 0x5f) : (char)(x >> 16);
		}
		size_t size = 1 + (size_t)r % sizeof(out);
		proc_info_printable(out, size, src, n);
		printable_ref(ref, size, src, n);
		assert_string_equal(out, ref);
	}
}

static void test_read_self(void **state)
{
	struct ecap_proc_info pi;
	char exe[PATH_MAX];
	uint64_t start;
	uint32_t ppid;
	ssize_t n;

	assert_int_equal(proc_info_start(getpid(), &start, &ppid), 0);
	assert_true(start > 0);
	assert_int_equal(start % proc_info_tick_ns(), 0);
	assert_int_equal(ppid, (uint32_t)getppid());
	assert_int_equal(proc_info_read(getpid(), start, &pi), 0);
	assert_int_equal(pi.pid, (uint32_t)getpid());
	assert_int_equal(pi.start_ns, start);
	assert_int_equal(pi.ppid, (uint32_t)getppid());
	assert_true(pi.parent_comm[0] != '\0');
	assert_true(pi.nspid != 0);
	assert_true(pi.start_wall_ns > 1600000000ull * 1000000000ull);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_string_equal(pi.exe, exe);
	assert_non_null(strstr(pi.args, "test_proc_info"));
	assert_true(pi.cgroup[0] == '/');
	/* the cgroup's id is its directory's inode under the cgroup2 mount, wherever that is */
	const char *mnt = proc_info_cgroup2_mount();
	if (mnt) {
		char dir[4096];
		struct stat st;
		snprintf(dir, sizeof(dir), "%s%s", mnt, pi.cgroup);
		assert_int_equal(stat(dir, &st), 0);
		assert_int_equal(proc_info_cgroup_id(pi.cgroup), st.st_ino);
		assert_int_equal(proc_info_cgroup_id("/no/such/cgroup-xyz"), 0);
		assert_int_equal(proc_info_cgroup_id("/../etc"), 0);
		assert_int_equal(proc_info_cgroup_id("/.."), 0);
	}
	/* the pid with another start time is another process: nothing */
	assert_int_equal(proc_info_read(getpid(), start + proc_info_tick_ns(), &pi), -ESRCH);
	assert_int_equal(pi.pid, 0);
	assert_int_equal(proc_info_read(0x7ffffff0, 0, &pi), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_printable_words),
		cmocka_unit_test(test_read_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
