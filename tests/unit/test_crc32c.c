// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_crc32c.c - CRC-32C against a bit-at-a-time reference: the check value of the
 * standard, every length up to a few strides of the three-stream path at odd alignments,
 * and a CRC continued over pieces equal to the CRC of the whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

static uint32_t reference(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

static void test_check_value(void **state)
{
	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c(0, "", 0), 0);
}

static void test_against_reference(void **state)
{
	(void)state;
	enum { MAX = 3 * 3 * 2048 + 100 };
	uint8_t *buf = malloc(MAX + 8);
	uint32_t x = 1;
	for (size_t i = 0; i < MAX + 8; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t len = 0; len <= MAX; len += len < 64 ? 1 : 61)
		for (size_t align = 0; align < 8; align += 3)
			assert_int_equal(crc32c(7, buf + align, len), reference(7, buf + align, len));
	/* in pieces: the running CRC continues where the last piece ended */
	uint32_t c = 0;
	for (size_t at = 0, piece = 1; at < MAX; at += piece, piece = piece * 3 + 1)
		c = crc32c(c, buf + at, piece < MAX - at ? piece : MAX - at);
	assert_int_equal(c, reference(0, buf, MAX));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
