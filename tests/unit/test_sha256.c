// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_sha256.c - sha256.h against FIPS 180-2's examples and against libcrypto's one-shot
 * EVP_Digest, built once per backend (unit.sha256_nettle, unit.sha256_openssl; the binary is
 * told which it links, in EXPECT_BACKEND): both backends give the same digests whole, fed in
 * pieces of every awkward size, peeked at midway, copied midway and used again after a final.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "sha256.h"
#include "xorshift_fill.h"

static void reference(const uint8_t *p, size_t len, uint8_t out[SHA256_LEN])
{
	assert_int_equal(EVP_Digest(p, len, out, NULL, EVP_sha256(), NULL), 1);
}

static void assert_hex(const uint8_t d[SHA256_LEN], const char *want)
{
	char got[2 * SHA256_LEN + 1];
	*hex_encode(d, SHA256_LEN, got) = 0;
	assert_string_equal(got, want);
}

static void test_backend(void **state)
{
	(void)state;
	assert_string_equal(sha256_backend(), EXPECT_BACKEND);
}

/* FIPS 180-2, appendix B: one block, two blocks, a million 'a' fed 1000 at a time. */
static void test_known_answers(void **state)
{
	(void)state;
	uint8_t d[SHA256_LEN];
	assert_int_equal(sha256_once("", 0, d), 0);
	assert_hex(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(sha256_once("abc", 3, d), 0);
	assert_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	assert_int_equal(sha256_once(two, strlen(two), d), 0);
	assert_hex(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	struct sha256 h = { 0 };
	char a[1000];
	memset(a, 'a', sizeof(a));
	assert_int_equal(sha256_init(&h), 0);
	for (int i = 0; i < 1000; i++)
		sha256_update(&h, a, sizeof(a));
	sha256_final(&h, d);
	assert_hex(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	sha256_free(&h);
}

/* 1 MiB of pseudo-random bytes in pieces of 0, 1, 55, 56, 63, 64, 65 ... bytes, a peek and a
 * copy midway, then the same context again: each digest as libcrypto's of those bytes. */
static void test_pieces(void **state)
{
	(void)state;
	size_t len = 1u << 20;
	uint8_t *buf = malloc(len), d[SHA256_LEN], want[SHA256_LEN];
	assert_non_null(buf);
	xorshift_fill(buf, len, 88172645463325252ull);
	static const size_t sizes[] = { 0, 1, 55, 56, 63, 64, 65, 127, 4096, 100000, 7 };
	struct sha256 h = { 0 }, c = { 0 };
	for (int round = 0; round < 2; round++) { /* the second time: the context reused */
		assert_int_equal(sha256_init(&h), 0);
		size_t at = 0;
		for (size_t k = 0; at < len; k++) {
			size_t n = sizes[k % (sizeof(sizes) / sizeof(sizes[0]))];
			n = n < len - at ? n : len - at;
			sha256_update(&h, buf + at, n);
			at += n;
			if (k == 20) {
				assert_int_equal(sha256_peek(&h, d), 0);
				reference(buf, at, want);
				assert_memory_equal(d, want, SHA256_LEN);
				assert_int_equal(sha256_copy(&c, &h), 0);
				sha256_update(&c, "tail", 4);
				uint8_t *alt = malloc(at + 4);
				memcpy(alt, buf, at);
				memcpy(alt + at, "tail", 4);
				sha256_final(&c, d);
				reference(alt, at + 4, want);
				assert_memory_equal(d, want, SHA256_LEN);
				free(alt);
			}
		}
		sha256_final(&h, d);
		reference(buf, len, want);
		assert_memory_equal(d, want, SHA256_LEN);
		assert_int_equal(sha256_once(buf, len, d), 0);
		assert_memory_equal(d, want, SHA256_LEN);
	}
	sha256_free(&h);
	sha256_free(&c);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend),
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
