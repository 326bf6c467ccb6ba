// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_hash_words.c - hash_words() (recorder/hash_words.h), which fingerprints TLS secrets and
 * handshakes for the recorder's repeat filters: against a reference that deals the words to
 * the four lanes by their index (whole rounds of 32 bytes; the rest and the zero-filled last
 * word to lane 0, the lanes mixed in after the rounds), at every length up to 3 rounds and a
 * half; every bit of a handshake-sized input moves it, and so does the order of its words.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "hash_words.h"

static uint64_t step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	return h ^ h >> 32;
}

static uint64_t word_at(const uint8_t *p, size_t n, size_t i)
{
	uint64_t w = 0;
	for (size_t b = 0; b < 8 && 8 * i + b < n; b++)
		w |= (uint64_t)p[8 * i + b] << (8 * b); /* x86-64 and arm64 are little-endian */
	return w;
}

static uint64_t reference(uint64_t seed, const uint8_t *p, size_t n)
{
	uint64_t lane[4] = { seed, seed ^ 0x243f6a8885a308d3ull, seed ^ 0x13198a2e03707344ull,
			     seed ^ 0xa4093822299f31d0ull };
	size_t words = (n + 7) / 8, rounds = n / 32;
	for (size_t i = 0; i < 4 * rounds; i++)
		lane[i % 4] = step(lane[i % 4], word_at(p, n, i));
	uint64_t h = lane[0];
	if (rounds)
		for (int k = 1; k < 4; k++)
			h = step(h, lane[k]);
	for (size_t i = 4 * rounds; i < words; i++)
		h = step(h, word_at(p, n, i));
	return h;
}

static void test_reference(void **state)
{
	(void)state;
	uint8_t buf[112];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(buf); n++) {
		assert_true(hash_words(5, buf, n) == reference(5, buf, n));
		assert_true(hash_words(0, buf, n) == reference(0, buf, n));
	}
	/* a hash of nothing is its seed; a word of zeros is not nothing */
	assert_true(hash_words(5, buf, 0) == 5);
	assert_true(hash_words(5, (const uint8_t[8]){ 0 }, 8) != 5);
}

static void test_every_bit_and_order(void **state)
{
	(void)state;
	uint8_t buf[376]; /* a TLS 1.3 handshake's fields (live_tls.c) */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	uint64_t h = hash_words(9, buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		for (int b = 0; b < 8; b++) {
			buf[i] ^= (uint8_t)(1u << b);
			assert_true(hash_words(9, buf, sizeof(buf)) != h);
			buf[i] ^= (uint8_t)(1u << b);
		}
	/* two words of the same lane swapped (0 and 4), and of two lanes (1 and 2) */
	uint8_t sw[sizeof(buf)];
	memcpy(sw, buf, sizeof(buf));
	memcpy(sw, buf + 32, 8);
	memcpy(sw + 32, buf, 8);
	assert_true(hash_words(9, sw, sizeof(sw)) != h);
	memcpy(sw, buf, sizeof(buf));
	memcpy(sw + 8, buf + 16, 8);
	memcpy(sw + 16, buf + 8, 8);
	assert_true(hash_words(9, sw, sizeof(sw)) != h);
	assert_true(hash_words(10, buf, sizeof(buf)) != h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_every_bit_and_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
