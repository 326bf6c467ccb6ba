// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_sha256_x2.c - sha256_x2.h against libcrypto's one-shot EVP_Digest: two messages of
 * every length from 0 to 300 bytes paired with each other (both lanes of different lengths:
 * the 55/56/64-byte padding boundaries, odd tails, one lane running on alone), long ones of
 * several blocks, at unaligned addresses; sha256_x4 with four lanes of lengths that end in
 * every order (four, then three of which two run on, then one); sha256_xn with every count of
 * messages up to SHA256_XN_MAX, of unequal lengths (lanes refilled), with and without its
 * sixteen lanes in AVX-512 registers (where the CPU has them); once on the SHA extensions
 * (when the CPU has them) and once forced onto the backend path, which must give the same
 * digests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "sha256_x2.h"
#include "xorshift_fill.h"

#define BUF_LEN (70000 + 64)

static uint8_t *buf;

static void reference(const uint8_t *p, size_t len, uint8_t out[SHA256_LEN])
{
	assert_int_equal(EVP_Digest(p, len, out, NULL, EVP_sha256(), NULL), 1);
}

static int setup(void **state)
{
	(void)state;
	buf = malloc(BUF_LEN);
	assert_non_null(buf);
	xorshift_fill(buf, BUF_LEN, 0x9e3779b97f4a7c15ull);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(buf);
	sha256_x2_allow_hw(true);
	return 0;
}

/* a at buf + ao, b at buf + bo, each against the reference. */
static void check_pair(size_t ao, size_t alen, size_t bo, size_t blen)
{
	uint8_t da[SHA256_LEN], db[SHA256_LEN], wa[SHA256_LEN], wb[SHA256_LEN];
	memset(da, 0xAA, sizeof(da));
	memset(db, 0x55, sizeof(db));
	assert_int_equal(sha256_x2(buf + ao, alen, da, buf + bo, blen, db), 0);
	reference(buf + ao, alen, wa);
	reference(buf + bo, blen, wb);
	if (memcmp(da, wa, SHA256_LEN) || memcmp(db, wb, SHA256_LEN))
		fail_msg("sha256_x2 (%s) of %zu bytes at +%zu and %zu at +%zu differs",
			 sha256_x2_hw() ? "SHA extensions" : "backend", alen, ao, blen, bo);
	assert_int_equal(sha256_x1(buf + ao, alen, da), 0);
	assert_memory_equal(da, wa, SHA256_LEN);
}

/* Four messages at buf + off[i] of len[i] bytes, each against the reference. */
static void check_four(const size_t off[4], const size_t len[4])
{
	const void *p[4];
	uint8_t d[4][SHA256_LEN], want[SHA256_LEN];
	memset(d, 0xAA, sizeof(d));
	for (int i = 0; i < 4; i++)
		p[i] = buf + off[i];
	assert_int_equal(sha256_x4(p, len, d), 0);
	for (int i = 0; i < 4; i++) {
		reference(buf + off[i], len[i], want);
		if (memcmp(d[i], want, SHA256_LEN))
			fail_msg("sha256_x4 (%s) lane %d: %zu bytes at +%zu differs (lengths %zu %zu "
				 "%zu %zu)", sha256_x2_hw() ? "SHA extensions" : "backend", i,
				 len[i], off[i], len[0], len[1], len[2], len[3]);
	}
}

static void four_lanes(void)
{
	static const size_t lens[] = { 0, 1, 55, 56, 63, 64, 119, 120, 128, 200, 1000, 16380,
				       16384, 16389 };
	const size_t nl = sizeof(lens) / sizeof(lens[0]);
	for (size_t a = 0; a < nl; a++)
		for (size_t b = 0; b < nl; b++)
			for (size_t c = 0; c < nl; c += 3) {
				size_t len[4] = { lens[a], lens[b], lens[c], lens[(a + b + c) % nl] };
				size_t off[4] = { a % 16, 17000 + b % 7, 34000 + c % 5, 51000 + 3 };
				check_four(off, len);
			}
}

static void all_lengths(void)
{
	for (size_t a = 0; a <= 300; a++)
		for (size_t b = 0; b <= 300; b += 1 + (a & 3))
			check_pair(a % 16, a, 100 + (b % 13), b);
	static const size_t big[] = { 16384, 16383, 16385, 16384 + 55, 16384 + 56, 9000, 65536,
				      70000, 1, 0, 64 * 3 + 63 };
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		for (size_t j = 0; j < sizeof(big) / sizeof(big[0]); j++)
			check_pair(i & 7, big[i], 3 + (j & 31), big[j]);
}

/* n messages through sha256_xn, of lengths made from seed (some equal, some empty, some of a
 * padding boundary, most of several blocks), each against the reference. */
static void check_many(size_t n, uint64_t seed)
{
	static const size_t edge[] = { 0, 1, 55, 56, 63, 64, 119, 120, 16384, 16389 };
	const void *p[SHA256_XN_MAX] = { 0 };
	size_t len[SHA256_XN_MAX] = { 0 }, off[SHA256_XN_MAX];
	uint8_t d[SHA256_XN_MAX][SHA256_LEN], want[SHA256_LEN];
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		size_t r = (size_t)(seed >> 33);
		len[i] = r % 4 == 0 ? edge[r / 4 % 10] : r % 4 == 1 && i ? len[i - 1] : r % 17000;
		off[i] = (r >> 7) % (BUF_LEN - len[i]);
		p[i] = buf + off[i];
	}
	memset(d, 0xAA, sizeof(d));
	assert_int_equal(sha256_xn(p, len, n, d), 0);
	for (size_t i = 0; i < n; i++) {
		reference(buf + off[i], len[i], want);
		if (memcmp(d[i], want, SHA256_LEN))
			fail_msg("sha256_xn (%s) of %zu messages: message %zu (%zu bytes at +%zu) "
				 "differs", sha256_x2_hw() ? "SHA extensions" : "backend", n, i,
				 len[i], off[i]);
	}
}

/* sha256_xn: every count of messages from none to the most, lanes refilled in every order. */
static void many_lanes(void)
{
	for (size_t n = 0; n <= SHA256_XN_MAX; n++)
		check_many(n, 0x5851f42d4c957f2dull ^ n);
	for (uint64_t seed = 1; seed <= 40; seed++)
		check_many(SHA256_XN_MAX - seed % 9, seed);
	const void *p[1] = { buf };
	size_t len[1] = { 1 };
	uint8_t d[1][SHA256_LEN];
	assert_int_equal(sha256_xn(p, len, SHA256_XN_MAX + 1, d), -EINVAL);
}

/* FIPS 180-2's examples in both lanes. */
static void known_answers(void)
{
	uint8_t d1[SHA256_LEN], d2[SHA256_LEN];
	char h[2 * SHA256_LEN + 1];
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	assert_int_equal(sha256_x2("abc", 3, d1, two, strlen(two), d2), 0);
	*hex_encode(d1, SHA256_LEN, h) = 0;
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	*hex_encode(d2, SHA256_LEN, h) = 0;
	assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_hw(void **state)
{
	(void)state;
	sha256_x2_allow_hw(true);
	if (!sha256_x2_hw())
		print_message("no SHA extensions on this CPU: the backend path twice\n");
	known_answers();
	all_lengths();
	four_lanes();
	if (!sha256_x2_x16())
		print_message("no SHA extensions with AVX-512 F and BW here: sixteen lanes untried\n");
	many_lanes();
	sha256_x2_allow_x16(false); /* sha256_xn on the SHA extensions alone */
	many_lanes();
	sha256_x2_allow_x16(true);
}

static void test_backend_path(void **state)
{
	(void)state;
	sha256_x2_allow_hw(false);
	assert_false(sha256_x2_hw());
	known_answers();
	all_lengths();
	four_lanes();
	many_lanes();
	sha256_x2_allow_hw(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hw),
		cmocka_unit_test(test_backend_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
