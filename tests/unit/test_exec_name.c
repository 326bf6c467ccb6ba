// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_exec_name.c - the executable's name an exec record carries (recorder/exec_name.c):
 * taken when the record is whole and the name is a path of name_len bytes; refused (and so
 * read from /proc as before) when the record is short, of another kind, without a name, with a
 * length beyond its field or the caller's buffer, with a NUL inside, not starting with '/', or
 * ending in " (deleted)". Odd bytes are kept as they are (made printable where the name is
 * stored, as readlink's text is).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "exec_name.h"

static struct keylog_exec record(const char *name, size_t len)
{
	struct keylog_exec x;

	memset(&x, 0, sizeof(x));
	x.kind = KL_EV_EXEC;
	x.pid = 42;
	x.ino = 7;
	x.mntns_id = 9;
	x.known = 1;
	memcpy(x.name, name, len < sizeof(x.name) ? len : sizeof(x.name));
	x.name_len = (uint32_t)len;
	return x;
}

static void test_taken(void **state)
{
	char out[KL_EXE_NAME_MAX], longest[KL_EXE_NAME_MAX];
	struct keylog_exec x = record("/usr/bin/curl", 13);

	(void)state;

	memset(out, 'x', sizeof(out));
	assert_true(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	assert_string_equal(out, "/usr/bin/curl");
	/* the length says where the name ends, whatever follows in the field */
	memcpy(x.name + 13, "GARBAGE", 7);
	assert_true(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	assert_string_equal(out, "/usr/bin/curl");
	/* odd bytes come through as they are */
	x = record("/tmp/a b\n\xc3\xa9\x01/c", 14);
	assert_true(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	assert_memory_equal(out, "/tmp/a b\n\xc3\xa9\x01/c", 15);
	/* the longest the field holds */
	memset(longest, 'a', sizeof(longest));
	longest[0] = '/';
	x = record(longest, KL_EXE_NAME_MAX - 1);
	assert_true(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	assert_int_equal(strlen(out), KL_EXE_NAME_MAX - 1);
}

static void test_refused(void **state)
{
	char out[KL_EXE_NAME_MAX], small[8];
	struct keylog_exec x = record("/usr/bin/curl", 13);

	(void)state;

	/* a short record, another kind, no record */
	assert_false(exec_record_name(&x, sizeof(x) - 1, out, sizeof(out)));
	assert_string_equal(out, "");
	x.kind = KL_EV_SECRET;
	assert_false(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	assert_false(exec_record_name(NULL, sizeof(x), out, sizeof(out)));
	/* no name: the probe could not build it for certain */
	x = record("", 0);
	assert_false(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	/* a length beyond the field, or beyond the caller's buffer */
	x = record("/usr/bin/curl", 13);
	x.name_len = KL_EXE_NAME_MAX;
	assert_false(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	x.name_len = 0xffffffffu;
	assert_false(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	x.name_len = 13;
	assert_false(exec_record_name(&x, sizeof(x), small, sizeof(small)));
	assert_string_equal(small, "");
	assert_false(exec_record_name(&x, sizeof(x), out, 13));
	assert_true(exec_record_name(&x, sizeof(x), out, 14));
	/* a NUL inside would cut the name short: another path */
	x = record("/usr/bin\0/curl", 14);
	assert_false(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	/* not a path */
	x = record("curl", 4);
	assert_false(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	/* what d_path says of an unlinked file is no path */
	x = record("/tmp/client (deleted)", 21);
	assert_false(exec_record_name(&x, sizeof(x), out, sizeof(out)));
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_taken),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
