// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_u32scan.c - u32_holds (schema/u32scan.h): for every length from 0 to 40 and every
 * start offset of 0 to 3 values (unaligned for SSE2), the value at each position found,
 * a value absent not found, one in the value just past the end not found, and values that
 * differ from the one asked for only in one byte or one bit (a compare of fewer bits than 32
 * would take them) not found.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "u32scan.h"

#define MAX_LEN 40

static void fill(uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = 0x01000000u + (uint32_t)i; /* none of them the value asked for */
}

static void test_each_position(void **state)
{
	(void)state;
	uint32_t buf[MAX_LEN + 8];
	const uint32_t x = 0xCAFEF00Du;
	for (size_t off = 0; off < 4; off++)
		for (size_t n = 0; n <= MAX_LEN; n++) {
			uint32_t *v = buf + off;
			fill(buf, sizeof(buf) / sizeof(buf[0]));
			assert_false(u32_holds(v, n, x));
			v[n] = x; /* just past the end */
			assert_false(u32_holds(v, n, x));
			fill(buf, sizeof(buf) / sizeof(buf[0]));
			for (size_t at = 0; at < n; at++) {
				v[at] = x;
				assert_true(u32_holds(v, n, x));
				v[at] = 0x01000000u + (uint32_t)(off + at);
			}
		}
}

static void test_near_values(void **state)
{
	(void)state;
	uint32_t v[MAX_LEN];
	const uint32_t x = 0x80000001u;
	for (size_t n = 1; n <= MAX_LEN; n++)
		for (int bit = 0; bit < 32; bit++) {
			for (size_t i = 0; i < n; i++)
				v[i] = x ^ (1u << bit);
			assert_false(u32_holds(v, n, x));
			v[n - 1] = x;
			assert_true(u32_holds(v, n, x));
		}
	/* the chunk's "no flow" value asked for, and present */
	for (size_t i = 0; i < MAX_LEN; i++)
		v[i] = 0xFFFFFFFEu;
	assert_false(u32_holds(v, MAX_LEN, 0xFFFFFFFFu));
	v[MAX_LEN / 2] = 0xFFFFFFFFu;
	assert_true(u32_holds(v, MAX_LEN, 0xFFFFFFFFu));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_position),
		cmocka_unit_test(test_near_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
