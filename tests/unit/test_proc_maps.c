// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_proc_maps.c - lines of /proc/PID/maps as the TLS rescans parse them
 * (recorder/proc_maps.c): the kernel's forms (a file, a replaced file, a path with spaces,
 * [heap], an anonymous name with a slash in it, no name at all) give the numbers and the path
 * a reader of proc(5) would; malformed or overlong lines are refused; this process's own maps
 * parse line by line and name its executable; and the same process's executable file mappings
 * through PROCMAP_QUERY (recorder/proc_maps_query.c) are exactly the text's executable lines
 * with a file, numbers and names alike (skipped on a kernel without the query).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_maps.h"
#include "proc_maps_query.h"

static void test_forms(void **state)
{
	struct proc_maps_line m;

	(void)state;
	assert_true(proc_maps_parse("7f2c1a000000-7f2c1a021000 r-xp 00002000 08:01 1835132    "
				    "/usr/lib/x86_64-linux-gnu/libssl.so.3\n", &m));
	assert_int_equal(m.start, 0x7f2c1a000000ull);
	assert_int_equal(m.end, 0x7f2c1a021000ull);
	assert_string_equal(m.perms, "r-xp");
	assert_int_equal(m.offset, 0x2000);
	assert_int_equal(m.major, 8);
	assert_int_equal(m.minor, 1);
	assert_int_equal(m.inode, 1835132);
	assert_string_equal(m.path, "/usr/lib/x86_64-linux-gnu/libssl.so.3\n");
	/* a device above 255, a replaced file, spaces in the path */
	assert_true(proc_maps_parse("1000-2000 r--s 00000000 fd:1a2 42 /tmp/a b (deleted)", &m));
	assert_int_equal(m.major, 0xfd);
	assert_int_equal(m.minor, 0x1a2);
	assert_string_equal(m.path, "/tmp/a b (deleted)");
	/* no path: [heap], an anonymous mapping's name (with a slash), nothing */
	assert_true(proc_maps_parse("55d0-55e0 rw-p 00000000 00:00 0          [heap]\n", &m));
	assert_null(m.path);
	assert_true(proc_maps_parse("55d0-55e0 rw-p 00000000 00:00 0   [anon:a/b]\n", &m));
	assert_null(m.path);
	assert_true(proc_maps_parse("55d0-55e0 ---p 00000000 00:00 0\n", &m));
	assert_null(m.path);
	assert_string_equal(m.perms, "---p");
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"1000 r-xp 00000000 08:01 1 /x",                 /* no end */
		"1000-2000 r-x 00000000 08:01 1 /x",             /* 3 perms */
		"1000-2000 r-xp 00000000 0801 1 /x",             /* no ':' */
		"1000-2000 r-xp 00000000 08:01 /x",              /* no inode */
		"1000-2000 r-xp 00000000 08:01 12a /x",          /* inode not decimal */
		"1000-2000 r-xp 00000000 1000:01 1 /x",          /* major above 12 bits */
		"1000-2000 r-xp 00000000 08:100000 1 /x",        /* minor above 20 bits */
		"10000000000000000-2000 r-xp 00000000 08:01 1 /x", /* 17 hex digits */
		"1000-2000 r-xp 00000000 08:01 12345678901234567890 /x", /* 20 decimal digits */
		"g000-2000 r-xp 00000000 08:01 1 /x",
	};
	struct proc_maps_line m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (proc_maps_parse(bad[i], &m))
			fail_msg("accepted: '%s'", bad[i]);
	}
}

/* This process's maps: every line parses, and one maps the executable /proc/self/exe is. */
static void test_own_maps(void **state)
{
	struct proc_maps_line m;
	char line[PATH_MAX + 128];
	struct stat st;
	int lines = 0, exe = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	(void)state;
	assert_non_null(f);
	assert_int_equal(stat("/proc/self/exe", &st), 0);
	while (fgets(line, sizeof(line), f)) {
		if (!proc_maps_parse(line, &m))
			fail_msg("refused: %s", line);
		lines++;
		if (m.path && m.inode == st.st_ino && makedev(m.major, m.minor) == st.st_dev &&
		    strchr(m.perms, 'x'))
			exe++;
	}
	fclose(f);
	assert_true(lines > 3);
	assert_true(exe >= 1);
}

/* The text's executable file mappings, in order, against the query's. */
static void test_query(void **state)
{
	char line[PATH_MAX + 128], name[PATH_MAX];
	struct proc_maps_line t, q;
	uint64_t addr = 0;
	int fd, rc, n = 0;
	FILE *f;

	(void)state;
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	rc = proc_maps_query_exec(fd, &addr, &q);
	if (rc == -ENOTTY) {
		close(fd);
		skip();
	}
	addr = 0;
	f = fopen("/proc/self/maps", "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		assert_true(proc_maps_parse(line, &t));
		if (!t.path || t.path[0] != '/' || t.perms[2] != 'x' || t.inode == 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		assert_int_equal(proc_maps_query_exec(fd, &addr, &q), 1);
		assert_true(q.start == t.start && q.end == t.end && q.offset == t.offset);
		assert_true(q.inode == t.inode && q.major == t.major && q.minor == t.minor);
		assert_string_equal(q.perms, t.perms);
		assert_null(q.path);
		assert_int_equal(proc_maps_query_name(fd, q.start, name, sizeof(name)), 0);
		assert_string_equal(name, t.path);
		/* a name longer than the buffer is refused, not cut */
		rc = proc_maps_query_name(fd, q.start, name, 4);
		assert_true(rc == -ENAMETOOLONG || rc == -E2BIG);
		n++;
	}
	fclose(f);
	assert_int_equal(proc_maps_query_exec(fd, &addr, &q), 0);
	close(fd);
	assert_true(n >= 2); /* the executable and the C library at least */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_own_maps),
		cmocka_unit_test(test_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
