// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_crc32c.c - CRC-32C against a bit-at-a-time reference: the check value of the
 * standard, every length up to a few strides of the three-stream path at odd alignments,
 * the lengths on either side of each round of the long (3 x 2048) and short (3 x 256)
 * strides and those of data blocks (16-17 KiB), and a CRC continued over pieces equal to the
 * CRC of the whole; each on both paths of long buffers where the CPU has both (folding by
 * carry-less multiplication, and the crc32 instruction's three streams), and every length of
 * the folding path's first steps.
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

static uint8_t *random_bytes(size_t n)
{
	uint8_t *buf = malloc(n);
	assert_non_null(buf);
	uint32_t x = 99;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	return buf;
}

/* Every mix of long rounds, short rounds and a one-stream tail, cut one byte either side. */
static void test_stride_boundaries(void **state)
{
	(void)state;
	enum { LONG_ROUND = 3 * 2048, SHORT_ROUND = 3 * 256, MAX = 3 * LONG_ROUND + 8 * SHORT_ROUND };
	uint8_t *buf = random_bytes(MAX + 8);
	for (size_t l = 0; l <= 3; l++)
		for (size_t s = 0; s < 8; s++)
			for (size_t tail = 0; tail <= 9; tail += 3)
				for (int d = -1; d <= 1; d++) {
					size_t len = l * LONG_ROUND + s * SHORT_ROUND + tail;
					if (len == 0 && d < 0)
						continue;
					len += (size_t)d;
					assert_int_equal(crc32c(0, buf + 1, len), reference(0, buf + 1, len));
				}
	free(buf);
}

/* The lengths of the recorder's data blocks: CHUNK_BLOCK_TARGET and up to one EPB more. */
static void test_block_lengths(void **state)
{
	(void)state;
	enum { MAX = 16384 + 1600 };
	uint8_t *buf = random_bytes(MAX);
	for (size_t len = 16384 - 8; len <= MAX; len += 13)
		assert_int_equal(crc32c(5, buf, len), reference(5, buf, len));
	free(buf);
}

/* The folding path (crc32c.c) from its first length on: every length of one to eight of its
 * 256-byte steps and the tail after them, at odd addresses, with CRCs carried in. */
static void test_fold_lengths(void **state)
{
	(void)state;
	enum { MAX = 8 * 256 + 300 };
	uint8_t *buf = random_bytes(MAX + 8);
	uint32_t carry = 0x9e3779b9u;
	for (size_t len = 256; len <= MAX; len++)
		for (size_t align = 1; align < 8; align += 5) {
			carry = carry * 2654435761u + (uint32_t)len;
			assert_int_equal(crc32c(carry, buf + align, len),
					 reference(carry, buf + align, len));
		}
	free(buf);
}

static int fold_on(void **state)
{
	(void)state;
	crc32c_allow_fold(true);
	if (!crc32c_folds())
		print_message("no AVX-512 VPCLMULQDQ here: the crc32 instruction's path twice\n");
	return 0;
}

static int fold_off(void **state)
{
	(void)state;
	crc32c_allow_fold(false);
	assert_false(crc32c_folds());
	return 0;
}

static int fold_back(void **state)
{
	(void)state;
	crc32c_allow_fold(true);
	return 0;
}

#define BOTH(t) cmocka_unit_test_setup_teardown(t, fold_on, fold_back), \
		cmocka_unit_test_setup_teardown(t, fold_off, fold_back)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		BOTH(test_against_reference),
		BOTH(test_stride_boundaries),
		BOTH(test_block_lengths),
		BOTH(test_fold_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
