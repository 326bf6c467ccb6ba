// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_decimal.c - decimal_u64 (schema/decimal.h) writes what snprintf("%" PRIu64) writes, and
 * its length, for 0, every power of ten and its neighbours, UINT64_MAX and random numbers.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decimal.h"

static void check(uint64_t v)
{
	char want[32], got[DECIMAL_U64_MAX];
	int n = snprintf(want, sizeof(want), "%" PRIu64, v);

	memset(got, 'x', sizeof(got));
	assert_int_equal(decimal_u64(got, v), (size_t)n);
	assert_string_equal(got, want);
}

static void test_as_printf(void **state)
{
	uint64_t p = 1;

	(void)state;
	check(0);
	check(UINT64_MAX);
	check(UINT64_MAX - 1);
	for (int i = 0; i < 20; i++, p *= 10) {
		check(p);
		check(p - 1);
		check(p + 1);
	}
	srand(7);
	for (int i = 0; i < 100000; i++)
		check(((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 11) ^ (uint64_t)rand());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_as_printf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
