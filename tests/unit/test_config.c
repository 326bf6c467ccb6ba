// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_config.c - config.c: keys and values with blanks, CRLF, comments and blank lines, a
 * last line without a newline; each kind of bad line with its line number and reason; the
 * file reader's errors (missing file, file over the size limit).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static int parse(const char *text, struct config *c)
{
	memset(c, 0, sizeof(*c));
	return config_parse(text, strlen(text), c);
}

static void assert_entry(const struct config *c, size_t i, const char *key, const char *value,
			 unsigned line)
{
	assert_true(i < c->n);
	assert_string_equal(c->entries[i].key, key);
	assert_string_equal(c->entries[i].value, value);
	assert_int_equal(c->entries[i].line, line);
}

static void test_entries(void **state)
{
	(void)state;
	struct config c;
	const char *text =
		"# ecap-rec.conf\n"
		"\n"
		"interface = eth0\n"
		"  interface=lo\r\n"
		"\tmax-size\t=\t20G \t\n"
		"   # an indented comment = not a setting\n"
		"filter = tcp port 443 and not host 10.0.0.1 # kept: no comments after values\n"
		"store = /var/lib/ecap with spaces\n"
		"no-tls = yes";
	assert_int_equal(parse(text, &c), 0);
	assert_int_equal(c.n, 6);
	assert_entry(&c, 0, "interface", "eth0", 3);
	assert_entry(&c, 1, "interface", "lo", 4);
	assert_entry(&c, 2, "max-size", "20G", 5);
	assert_entry(&c, 3, "filter",
		     "tcp port 443 and not host 10.0.0.1 # kept: no comments after values", 7);
	assert_entry(&c, 4, "store", "/var/lib/ecap with spaces", 8);
	assert_entry(&c, 5, "no-tls", "yes", 9);
	assert_int_equal(c.err_line, 0);
	config_free(&c);
	assert_int_equal(c.n, 0);
	assert_null(c.entries);
}

static void test_empty(void **state)
{
	(void)state;
	struct config c;
	assert_int_equal(parse("", &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(parse("\n\n  \t\r\n# x\n#", &c), 0);
	assert_int_equal(c.n, 0);
	config_free(&c);
}

static void test_bad_lines(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		unsigned line;
		const char *reason;
	} cases[] = {
		{ "interface eth0\n", 1, "'interface' is not followed by '= value'" },
		{ "store = /x\ninterface\n", 2, "'interface' is not followed by '= value'" },
		{ "a = 1\nb = 2\nInterface = eth0\n", 3, "a line starts with a key" },
		{ "= eth0\n", 1, "a line starts with a key" },
		{ "store_dir = /x\n", 1, "'store' is not followed by '= value'" },
		{ "max-size =\n", 1, "'max-size' has an empty value" },
		{ "max-size =  \t\r\n", 1, "'max-size' has an empty value" },
		{ "--store = /x\n", 0, NULL }, /* syntax only: main.c rejects the key */
	};
	struct config c;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].text, &c);
		if (!cases[i].reason) {
			assert_int_equal(rc, 0);
			config_free(&c);
			continue;
		}
		assert_int_equal(rc, -EINVAL);
		assert_int_equal(c.err_line, cases[i].line);
		if (!strstr(c.err, cases[i].reason))
			fail_msg("case %zu: '%s' does not say '%s'", i, c.err, cases[i].reason);
		config_free(&c);
	}
	/* entries before the bad line stay (and are freed) */
	assert_int_equal(parse("store = /x\nbad line\n", &c), -EINVAL);
	assert_int_equal(c.n, 1);
	config_free(&c);
}

static void test_nul_and_long_lines(void **state)
{
	(void)state;
	struct config c;
	const char nul[] = "store = /x\nstore = /y\0z\n";
	memset(&c, 0, sizeof(c));
	assert_int_equal(config_parse(nul, sizeof(nul) - 1, &c), -EINVAL);
	assert_int_equal(c.err_line, 2);
	assert_non_null(strstr(c.err, "NUL"));
	config_free(&c);

	size_t n = CONFIG_LINE_MAX + 1;
	char *s = malloc(n + 16);
	assert_non_null(s);
	memcpy(s, "filter = ", 9);
	memset(s + 9, 'x', n - 9);
	memcpy(s + n, "\n", 2);
	assert_int_equal(parse(s, &c), -EINVAL);
	assert_int_equal(c.err_line, 1);
	assert_non_null(strstr(c.err, "longer than"));
	config_free(&c);
	/* exactly the limit is fine */
	s[n - 1] = '\n';
	s[n] = 0;
	assert_int_equal(parse(s, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(strlen(c.entries[0].value), CONFIG_LINE_MAX - 9);
	config_free(&c);
	free(s);
}

static void test_load(void **state)
{
	(void)state;
	struct config c;
	char path[] = "/tmp/test_config_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "interface = lo\nmax-age = 7d\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);

	memset(&c, 0, sizeof(c));
	assert_int_equal(config_load(path, &c), 0);
	assert_int_equal(c.n, 2);
	assert_entry(&c, 1, "max-age", "7d", 2);
	config_free(&c);

	/* one byte over the limit */
	assert_int_equal(ftruncate(fd, CONFIG_FILE_MAX + 1), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(config_load(path, &c), -EFBIG);
	assert_int_equal(c.err_line, 0);
	assert_non_null(strstr(c.err, "larger than"));
	config_free(&c);
	close(fd);
	unlink(path);

	memset(&c, 0, sizeof(c));
	assert_int_equal(config_load(path, &c), -ENOENT);
	assert_non_null(strstr(c.err, "No such file"));
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
