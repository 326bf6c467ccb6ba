// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_hex.c - hex_encode() and hex_decode() (schema/hex.h), which write and read the key log
 * lines of the store's DSBs and the digests that ecap-verify prints: every byte value gives
 * its two lower-case digits as printf's %02x does, at every length up to 5 runs of 16 bytes
 * and from every alignment (the 16-byte path and the byte path meet anywhere), nothing is
 * written past 2n, and decoding gives the bytes back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"

static void test_every_byte(void **state)
{
	(void)state;
	uint8_t all[256];
	char got[2 * 256 + 1], want[2 * 256 + 1];
	for (int i = 0; i < 256; i++) {
		all[i] = (uint8_t)i;
		snprintf(want + 2 * i, 3, "%02x", i);
	}
	*hex_encode(all, 256, got) = 0;
	assert_string_equal(got, want);
}

static void test_lengths_and_alignment(void **state)
{
	(void)state;
	uint8_t src[96], back[96];
	char got[2 * 96 + 8], want[2 * 96 + 1];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 151 + 89);
	for (size_t off = 0; off < 16; off++)
		for (size_t n = 0; off + n <= 80; n++) {
			for (size_t i = 0; i < n; i++)
				snprintf(want + 2 * i, 3, "%02x", src[off + i]);
			memset(got, '#', sizeof(got));
			char *end = hex_encode(src + off, n, got + 1);
			assert_ptr_equal(end, got + 1 + 2 * n);
			assert_memory_equal(got + 1, want, 2 * n);
			assert_int_equal(got[0], '#');
			assert_int_equal(got[1 + 2 * n], '#');
			memset(back, 0, sizeof(back));
			assert_int_equal(hex_decode(got + 1, 2 * n, back), 0);
			assert_memory_equal(back, src + off, n);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_lengths_and_alignment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
