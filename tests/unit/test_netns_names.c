// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_netns_names.c - namespace names by inode (recorder/netns_names.c), over a directory of
 * plain files standing in for /run/netns (whose entries are bind mounts showing the
 * namespace's inode; a plain file's own inode plays that part): a name is found by its
 * inode; entries that are not regular files or whose names are not printable are ignored; an
 * inode with no name is remembered as nameless, and found again once a name for it appears
 * (the directory changed).
 */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "netns_names.h"

static char dir[PATH_MAX], outside[PATH_MAX];

/* A new regular file at path; its inode. */
static uint32_t make_file(const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	return (uint32_t)st.st_ino;
}

static void in_dir(char *out, size_t cap, const char *base, const char *name)
{
	assert_true((size_t)snprintf(out, cap, "%s/%s", base, name) < cap);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ecap-netns-names-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/ecap-netns-outside-XXXXXX");
	return mkdtemp(dir) && mkdtemp(outside) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[2 * PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, outside);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_names_and_hostile_entries(void **state)
{
	char p[PATH_MAX], target[PATH_MAX];
	struct netns_names *n;
	uint32_t web, bad, linked;

	(void)state;
	in_dir(p, sizeof(p), dir, "web");
	web = make_file(p);
	in_dir(p, sizeof(p), dir, "bad\x01name");
	bad = make_file(p);
	in_dir(target, sizeof(target), outside, "target");
	linked = make_file(target);
	in_dir(p, sizeof(p), dir, "link");
	assert_int_equal(symlink(target, p), 0);

	assert_int_equal(netns_names_new(dir, &n), 0);
	assert_string_equal(netns_names_lookup(n, web), "web");
	assert_null(netns_names_lookup(n, bad));    /* not printable: ignored */
	assert_null(netns_names_lookup(n, linked)); /* a symlink is not followed */
	assert_string_equal(netns_names_lookup(n, web), "web");
	netns_names_free(n);
}

static void test_name_given_later(void **state)
{
	char p[PATH_MAX], later[PATH_MAX];
	struct netns_names *n;
	uint32_t ino;

	(void)state;
	in_dir(p, sizeof(p), outside, "unnamed");
	ino = make_file(p);
	assert_int_equal(netns_names_new(dir, &n), 0);
	assert_null(netns_names_lookup(n, ino));
	assert_null(netns_names_lookup(n, ino)); /* remembered as nameless */
	/* a later tick of the coarse clock that stamps the directory's mtime */
	nanosleep(&(struct timespec){ .tv_nsec = 30 * 1000 * 1000 }, NULL);
	in_dir(later, sizeof(later), dir, "later");
	assert_int_equal(link(p, later), 0);
	assert_string_equal(netns_names_lookup(n, ino), "later");
	netns_names_free(n);
}

static void test_missing_directory(void **state)
{
	char p[PATH_MAX];
	struct netns_names *n;

	(void)state;
	in_dir(p, sizeof(p), dir, "no-such-dir");
	assert_int_equal(netns_names_new(p, &n), 0);
	assert_null(netns_names_lookup(n, 12345));
	assert_null(netns_names_lookup(n, 12345));
	netns_names_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names_and_hostile_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_given_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_directory, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
