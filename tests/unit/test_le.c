// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_le.c - schema/le.h: the bytes each store writes and the numbers each load reads, given
 * byte by byte (the store format is little-endian on any host, network headers big-endian),
 * at unaligned addresses, and be64_load's order against memcmp's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "le.h"

static void test_stores(void **state)
{
	(void)state;
	uint8_t b[19];
	static const uint8_t want16[] = { 0x34, 0x12 };
	static const uint8_t want32[] = { 0x78, 0x56, 0x34, 0x12 };
	static const uint8_t want64[] = { 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01 };
	for (size_t off = 0; off < 8; off++) {
		memset(b, 0xee, sizeof(b));
		le16_store(b + off, 0x1234);
		assert_memory_equal(b + off, want16, 2);
		memset(b, 0xee, sizeof(b));
		le32_store(b + off, 0x12345678u);
		assert_memory_equal(b + off, want32, 4);
		assert_int_equal(b[off + 4], 0xee); /* nothing past it */
		memset(b, 0xee, sizeof(b));
		le64_store(b + off, 0x0123456789abcdefull);
		assert_memory_equal(b + off, want64, 8);
		assert_int_equal(b[off + 8], 0xee);
		if (off)
			assert_int_equal(b[off - 1], 0xee); /* nothing before it */
	}
}

static void test_loads(void **state)
{
	(void)state;
	uint8_t b[16] = { 0 };
	static const uint8_t bytes[] = { 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01 };
	for (size_t off = 0; off < 8; off++) {
		memcpy(b + off, bytes, 8);
		assert_int_equal(le16_load(b + off), 0xcdef);
		assert_int_equal(le32_load(b + off), 0x89abcdefu);
		assert_true(le64_load(b + off) == 0x0123456789abcdefull);
		assert_int_equal(be16_load(b + off), 0xefcd);
		assert_int_equal(be32_load(b + off), 0xefcdab89u);
		assert_true(be64_load(b + off) == 0xefcdab8967452301ull);
	}
	/* a store read back */
	le32_store(b + 3, 0xdeadbeefu);
	assert_int_equal(le32_load(b + 3), 0xdeadbeefu);
	le64_store(b + 5, 0xfedcba9876543210ull);
	assert_true(le64_load(b + 5) == 0xfedcba9876543210ull);
}

/* Two 8-byte strings compare as their be64_load numbers do, bytes above 0x7f included. */
static void test_be64_order(void **state)
{
	(void)state;
	static const uint8_t v[] = { 0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff };
	uint8_t a[8], b[8];
	for (size_t pos = 0; pos < 8; pos++)
		for (size_t i = 0; i < sizeof(v); i++)
			for (size_t j = 0; j < sizeof(v); j++) {
				memset(a, 0x42, 8);
				memset(b, 0x42, 8);
				a[pos] = v[i];
				b[pos] = v[j];
				int c = memcmp(a, b, 8);
				uint64_t x = be64_load(a), y = be64_load(b);
				assert_int_equal(c < 0, x < y);
				assert_int_equal(c == 0, x == y);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stores),
		cmocka_unit_test(test_loads),
		cmocka_unit_test(test_be64_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
