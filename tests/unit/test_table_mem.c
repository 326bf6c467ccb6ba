// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_table_mem.c - recorder/table_mem.c: tables come zeroed and whole (every byte can be
 * written and read back), a hot table from 1 MiB on starts on a 2 MiB boundary and spans whole
 * 2 MiB pages (the length that is unmapped again), small and cold ones are as long as asked,
 * and sizes that overflow are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "table_mem.h"

#define MIB (1u << 20)

static void check_table(size_t n, size_t size, bool hot)
{
	uint8_t *p = table_mem_new(n, size, hot);
	assert_non_null(p);
	for (size_t i = 0; i < n * size; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0x5a, n * size);
	assert_int_equal(p[0], 0x5a);
	assert_int_equal(p[n * size - 1], 0x5a);
	table_mem_free(p, n, size, hot);
}

static void test_zeroed_and_whole(void **state)
{
	(void)state;
	check_table(1000, 24, false);
	check_table(1000, 24, true);
	check_table(8192, 128, true); /* the pending owners: 1 MiB */
	check_table(1u << 20, 4, true); /* the flow buckets of 1 M flows: 4 MiB */
	check_table(3 * MIB + 5, 1, true);
	check_table(3 * MIB + 5, 1, false);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(table_mem_bytes(1000, 24, true), 24000);
	assert_int_equal(table_mem_bytes(1000, 24, false), 24000);
	assert_int_equal(table_mem_bytes(MIB - 1, 1, true), MIB - 1);
	assert_int_equal(table_mem_bytes(MIB, 1, true), 2 * MIB);
	assert_int_equal(table_mem_bytes(4 * MIB, 1, true), 4 * MIB);
	assert_int_equal(table_mem_bytes(4 * MIB + 1, 1, true), 6 * MIB);
	assert_int_equal(table_mem_bytes(4 * MIB + 1, 1, false), 4 * MIB + 1);
	assert_int_equal(table_mem_bytes(SIZE_MAX / 2 + 1, 2, false), 0);
	assert_int_equal(table_mem_bytes(SIZE_MAX - 1, 1, true), 0);
	errno = 0;
	assert_null(table_mem_new(SIZE_MAX / 2 + 1, 2, true));
	assert_int_equal(errno, ENOMEM);
}

static void test_hot_alignment(void **state)
{
	(void)state;
	for (int k = 0; k < 4; k++) {
		void *p = table_mem_new(MIB + (size_t)k * 4096, 1, true);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % (2 * MIB), 0);
		table_mem_free(p, MIB + (size_t)k * 4096, 1, true);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zeroed_and_whole),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_hot_alignment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
