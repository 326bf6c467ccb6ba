// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_proc_owner.c - a socket owner's process named from the kernel's record of it
 * (recorder/proc_owner.c), with this very process as the owner: the record's own parent,
 * command line and pid in its namespace are what is kept (made printable, bounded); the
 * executable is read from /proc once and then remembered by its file, but only when the link
 * leads to the file the record names; a start time that is not this process's (a reused pid)
 * takes nothing from /proc; a command line the kernel could not read comes from /proc; a name
 * told by the exec handler serves a process gone, and an old name is checked by its path in
 * our own mount namespace only; a name answers only for the mount namespace (by its id) it
 * was learnt in; names told for a thousand new namespaces (a loop of `ip netns exec` clients)
 * take no page faults of the table's; a start on the wall clock from the offset the recorder
 * gave (no clock read per process), else from the clocks, and 0 where it cannot be.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "page_faults.h"
#include "proc_info.h"
#include "proc_owner.h"

struct fixture {
	struct ecap_owner w;
	uint64_t start;
	char exe[PATH_MAX];
	char cgroup[ECAP_CGROUP_MAX];
	bool own_id;    /* the kernel says our mount namespace's id (Linux 6.11+) */
};

static int setup(void **state)
{
	static struct fixture f;
	struct stat st;
	uint32_t ppid;
	ssize_t n;

	memset(&f, 0, sizeof(f));
	if (proc_info_start(getpid(), &f.start, &ppid) < 0 || stat("/proc/self/exe", &st) < 0)
		return -1;
	n = readlink("/proc/self/exe", f.exe, sizeof(f.exe) - 1);
	if (n <= 0)
		return -1;
	f.exe[n] = '\0';
	f.w.pid = f.w.tid = (uint32_t)getpid();
	f.w.start_ns = f.start;
	f.w.ppid = ppid;
	f.w.nspid = 4242;
	memcpy(f.w.parent_comm, "parent\x1b[31mnames", 16); /* no NUL: all 16 bytes */
	f.w.exe_ino = st.st_ino;
	f.w.exe_dev = ((uint32_t)major(st.st_dev) << 20) | minor(st.st_dev);
	/* our namespace's id, as the kernel side reads it; without the ioctl an id of our own
	 * (names are then remembered but never checked by their path) */
	f.w.mntns_id = proc_info_own_mntns_id();
	f.own_id = f.w.mntns_id != 0;
	if (!f.own_id)
		f.w.mntns_id = 1;
	memcpy(f.w.args, "from-the-record\0-x\0\n", 20);
	f.w.args_len = f.w.args_total = 20;
	proc_info_cgroup_of(getpid(), f.cgroup);
	f.w.cgroup_id = proc_info_cgroup_id(f.cgroup);
	*state = &f;
	return 0;
}

static void test_named_once(void **state)
{
	struct fixture *f = *state;
	struct proc_owner *c = proc_owner_new();
	struct proc_owner_stats st;
	struct ecap_proc_info pi;

	assert_non_null(c);
	proc_owner_info(c, &f->w, f->start, 1000, &pi);
	assert_int_equal(pi.pid, getpid());
	assert_int_equal(pi.start_ns, f->start);
	assert_int_equal(pi.ppid, f->w.ppid);
	assert_int_equal(pi.nspid, 4242);
	assert_string_equal(pi.parent_comm, "parent?[31mname"); /* 15 of the 16: bounded */
	assert_string_equal(pi.args, "from-the-record -x ?");
	assert_string_equal(pi.exe, f->exe);
	assert_string_equal(pi.cgroup, f->cgroup);
	proc_owner_get_stats(c, &st);
	assert_int_equal(st.exe_named, 1);
	assert_int_equal(st.exe_cached, 0);
	/* the next process of the same executable: nothing read from /proc */
	proc_owner_info(c, &f->w, f->start, 2000, &pi);
	assert_string_equal(pi.exe, f->exe);
	proc_owner_get_stats(c, &st);
	assert_int_equal(st.exe_named, 1);
	assert_int_equal(st.exe_cached, 1);
	if (f->w.cgroup_id) /* a cgroup2 mount to name it by id */
		assert_int_equal(st.proc_reads, 1);
	/* a minute later the name is checked again (files can be renamed): in our own mount
	 * namespace by the path itself, which still leads to the file, else from /proc */
	proc_owner_info(c, &f->w, f->start, 1000 + 61000000000ull, &pi);
	assert_string_equal(pi.exe, f->exe);
	proc_owner_get_stats(c, &st);
	assert_int_equal(st.exe_checked + st.exe_named, 2);
	if (f->own_id)
		assert_int_equal(st.exe_checked, 1);
	proc_owner_free(c);
}

/* A name told by the exec handler is used as if read from /proc, while it is fresh; once old,
 * a name that no longer leads to the file is not used: /proc says. */
static void test_told(void **state)
{
	struct fixture *f = *state;
	struct proc_owner *c = proc_owner_new();
	struct ecap_owner w = f->w;
	struct proc_owner_stats st;
	struct ecap_proc_info pi;

	assert_non_null(c);
	if (!f->own_id)
		skip();
	/* a name that is another file (what a rename since would leave) */
	proc_owner_exe_named(c, w.exe_dev, w.exe_ino, w.mntns_id, "/proc/self/status", 1000);
	w.pid = 0x7ffffff0; /* gone: the name comes from what was told */
	proc_owner_info(c, &w, f->start, 2000, &pi);
	assert_string_equal(pi.exe, "/proc/self/status");
	proc_owner_get_stats(c, &st);
	assert_int_equal(st.exe_told, 1);
	assert_int_equal(st.exe_cached, 1);
	assert_int_equal(st.exe_named, 0);
	/* a minute later: the name leads elsewhere, and the process is gone: unknown */
	proc_owner_info(c, &w, f->start, 1000 + 61000000000ull, &pi);
	assert_string_equal(pi.exe, "");
	/* the process itself, alive: its /proc says, and is remembered */
	proc_owner_info(c, &f->w, f->start, 2000 + 61000000000ull, &pi);
	assert_string_equal(pi.exe, f->exe);
	proc_owner_get_stats(c, &st);
	assert_int_equal(st.exe_checked, 0);
	assert_int_equal(st.exe_named, 1);
	/* in another mount namespace an old name is never checked by its path here */
	proc_owner_exe_named(c, w.exe_dev, w.exe_ino, w.mntns_id + 1, f->exe, 1000);
	w.mntns_id++;
	proc_owner_info(c, &w, f->start, 1000 + 61000000000ull, &pi);
	assert_string_equal(pi.exe, "");
	proc_owner_get_stats(c, &st);
	assert_int_equal(st.exe_checked, 0);
	proc_owner_free(c);
}

/* A name is remembered for its mount namespace only: another namespace (a later one may have
 * the same inode number; its id differs) is not answered with it, and a record without a
 * namespace id is never answered from memory nor adds to it. */
static void test_other_namespace(void **state)
{
	struct fixture *f = *state;
	struct proc_owner *c = proc_owner_new();
	struct ecap_owner w = f->w;
	struct proc_owner_stats st;
	struct ecap_proc_info pi;

	assert_non_null(c);
	/* no id: a name told is dropped, and nothing read from /proc is remembered */
	w.mntns_id = 0;
	proc_owner_exe_named(c, w.exe_dev, w.exe_ino, 0, "/no/id/client", 1000);
	for (uint64_t now = 2000; now <= 3000; now += 1000) {
		proc_owner_info(c, &w, f->start, now, &pi);
		assert_string_equal(pi.exe, f->exe);
	}
	w.pid = 0x7ffffff0; /* gone: only memory could name it */
	proc_owner_info(c, &w, f->start, 4000, &pi);
	assert_string_equal(pi.exe, "");
	/* an id: its name, and for another namespace none */
	w.mntns_id = f->w.mntns_id;
	proc_owner_exe_named(c, w.exe_dev, w.exe_ino, w.mntns_id, "/first/namespace/client", 5000);
	proc_owner_info(c, &w, f->start, 6000, &pi);
	assert_string_equal(pi.exe, "/first/namespace/client");
	w.mntns_id = f->w.mntns_id + 1;
	proc_owner_info(c, &w, f->start, 6000, &pi);
	assert_string_equal(pi.exe, "");
	proc_owner_get_stats(c, &st);
	assert_int_equal(st.exe_told, 1);
	assert_int_equal(st.exe_cached, 1);
	assert_int_equal(st.exe_named, 2);
	proc_owner_free(c);
}

static void test_reused_pid(void **state)
{
	struct fixture *f = *state;
	struct proc_owner *c = proc_owner_new();
	struct ecap_owner w = f->w;
	struct ecap_proc_info pi;

	assert_non_null(c);
	/* the record's process started one tick later: the pid's /proc is another process */
	w.start_ns = f->start + proc_info_tick_ns();
	w.args_len = 0; /* not paged in: /proc would have to say, and must not */
	proc_owner_info(c, &w, w.start_ns, 1000, &pi);
	assert_int_equal(pi.pid, getpid());
	assert_string_equal(pi.exe, "");
	assert_string_equal(pi.args, "");
	assert_int_equal(pi.ppid, f->w.ppid); /* the record's own, still */
	proc_owner_free(c);
}

static void test_args_and_other_file(void **state)
{
	struct fixture *f = *state;
	struct proc_owner *c = proc_owner_new();
	struct ecap_owner w = f->w;
	struct proc_owner_stats st;
	struct ecap_proc_info pi;

	assert_non_null(c);
	/* the kernel could not read the command line: /proc's, checked by the start time */
	w.args_len = 0;
	w.args_total = 200;
	/* an executable that is not the file /proc/self/exe leads to (the process ran another
	 * program when its socket was seen): named for this process, never remembered */
	w.exe_ino = f->w.exe_ino + 1;
	proc_owner_info(c, &w, f->start, 1000, &pi);
	assert_non_null(strstr(pi.args, "test_proc_owner"));
	assert_string_equal(pi.exe, f->exe);
	proc_owner_info(c, &w, f->start, 2000, &pi);
	proc_owner_get_stats(c, &st);
	assert_int_equal(st.exe_named, 2);
	assert_int_equal(st.exe_cached, 0);
	/* a process gone: what the record says, and no executable */
	w.pid = 0x7ffffff0;
	w.args_len = 5;
	w.args_total = 5;
	memcpy(w.args, "gone\0", 5);
	proc_owner_info(c, &w, f->start, 3000, &pi);
	assert_string_equal(pi.args, "gone");
	assert_string_equal(pi.exe, "");
	proc_owner_free(c);
}

/*
 * Each client of an `ip netns exec` loop runs in a mount namespace of its own, so each name
 * told falls in a slot of its own: the table is made memory when the cache is made, not a
 * page fault at a time on the thread that reads the rings (72 pages: 72 faults before).
 */
static void test_new_namespaces_no_faults(void **state)
{
	struct fixture *f = *state;
	struct proc_owner *c = proc_owner_new();
	struct ecap_owner w = f->w;
	struct ecap_proc_info pi;
	long before;
	uint64_t i;

	assert_non_null(c);
	before = page_faults();
	for (i = 0; i < 1000; i++)
		proc_owner_exe_named(c, w.exe_dev, w.exe_ino, 1000 + i, "/usr/bin/curl", 1000 + i);
	/* not under a sanitizer: its shadow memory faults at each first touch too */
	if (page_faults_checked())
		assert_true(page_faults() - before < 10);
	/* the names are there: the last one answers for its namespace, a gone process */
	w.pid = 0x7ffffff0;
	w.mntns_id = 1000 + 999;
	proc_owner_info(c, &w, f->start, 5000, &pi);
	assert_string_equal(pi.exe, "/usr/bin/curl");
	proc_owner_free(c);
}

/* The start on the wall clock: from the clocks until an offset is given (within the time the
 * test takes of CLOCK_REALTIME less CLOCK_BOOTTIME), then start plus that offset exactly; 0
 * when the sum would be before 1970 or past what it holds. */
static void test_start_wall(void **state)
{
	struct fixture *f = *state;
	struct proc_owner *c = proc_owner_new();
	struct ecap_proc_info pi;
	struct timespec b, w;

	assert_non_null(c);
	clock_gettime(CLOCK_BOOTTIME, &b);
	clock_gettime(CLOCK_REALTIME, &w);
	int64_t off = ((int64_t)w.tv_sec - b.tv_sec) * 1000000000ll + (w.tv_nsec - b.tv_nsec);
	proc_owner_info(c, &f->w, f->start, 1000, &pi);
	int64_t d = (int64_t)pi.start_wall_ns - ((int64_t)f->start + off);
	assert_true(d > -1000000000ll && d < 1000000000ll);
	proc_owner_set_wall(c, 1234567);
	proc_owner_info(c, &f->w, f->start, 2000, &pi);
	assert_int_equal(pi.start_wall_ns, f->start + 1234567);
	proc_owner_set_wall(c, -(int64_t)f->start - 1);
	proc_owner_info(c, &f->w, f->start, 3000, &pi);
	assert_int_equal(pi.start_wall_ns, 0);
	proc_owner_set_wall(c, INT64_MAX);
	proc_owner_info(c, &f->w, f->start, 4000, &pi);
	assert_int_equal(pi.start_wall_ns, 0);
	proc_owner_free(c);
}

int main(void)
{
	/* the allocator as ecap-rec runs: meson test sets MALLOC_PERTURB_, under which calloc()
	 * fills what it gives (its pages made at once), hiding what test_new_namespaces_no_faults
	 * looks for */
	mallopt(M_PERTURB, 0);

	const struct CMUnitTest tests[] = {
		/* first: a cache made before any other was made and freed, as ecap-rec makes it */
		cmocka_unit_test(test_new_namespaces_no_faults),
		cmocka_unit_test(test_named_once),
		cmocka_unit_test(test_start_wall),
		cmocka_unit_test(test_reused_pid),
		cmocka_unit_test(test_told),
		cmocka_unit_test(test_other_namespace),
		cmocka_unit_test(test_args_and_other_file),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
