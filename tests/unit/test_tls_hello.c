// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_tls_hello.c - tls_hello.c: the client_random of a ClientHello in one segment, split at
 * every byte over two segments, over several records, with retransmissions and overlaps;
 * giving up on gaps, non-TLS streams, snap-length cuts and an empty buffer pool.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls_hello.h"

static uint8_t want_random[32];

/* A ClientHello body (from legacy_version on) of about body_len bytes. */
static size_t hello_body(uint8_t *b, size_t body_len)
{
	size_t n = 0;
	b[n++] = 3;
	b[n++] = 3;
	for (int i = 0; i < 32; i++)
		want_random[i] = (uint8_t)(i * 7 + 3);
	memcpy(b + n, want_random, 32);
	n += 32;
	b[n++] = 32; /* session id */
	memset(b + n, 0xaa, 32);
	n += 32;
	b[n++] = 0;
	b[n++] = 4;  /* two cipher suites */
	b[n++] = 0x13;
	b[n++] = 0x01;
	b[n++] = 0x13;
	b[n++] = 0x02;
	b[n++] = 1;
	b[n++] = 0;  /* null compression */
	size_t ext = body_len > n + 2 ? body_len - n - 2 : 0;
	b[n++] = (uint8_t)(ext >> 8);
	b[n++] = (uint8_t)ext;
	memset(b + n, 0, ext); /* padding-like extension bytes */
	return n + ext;
}

/* The whole stream: records of at most rec_max handshake bytes each. */
static size_t client_hello(uint8_t *out, size_t body_len, size_t rec_max)
{
	uint8_t hs[4096];
	size_t blen = hello_body(hs + 4, body_len);
	hs[0] = 1;
	hs[1] = (uint8_t)(blen >> 16);
	hs[2] = (uint8_t)(blen >> 8);
	hs[3] = (uint8_t)blen;
	size_t hlen = blen + 4, n = 0;
	for (size_t off = 0; off < hlen;) {
		size_t r = hlen - off < rec_max ? hlen - off : rec_max;
		out[n++] = 22;
		out[n++] = 3;
		out[n++] = 1;
		out[n++] = (uint8_t)(r >> 8);
		out[n++] = (uint8_t)r;
		memcpy(out + n, hs + off, r);
		n += r;
		off += r;
	}
	return n;
}

static void test_parse_whole_and_prefixes(void **state)
{
	(void)state;
	uint8_t s[8192], rnd[32];
	size_t n = client_hello(s, 512, 16384);
	assert_int_equal(tls_hello_parse(s, n, rnd), 1);
	assert_memory_equal(rnd, want_random, 32);
	for (size_t k = 0; k < n; k++) {
		int r = tls_hello_parse(s, k, rnd);
		assert_int_equal(r, k >= 5 + 39 ? 1 : 0);
	}
}

static void test_parse_many_records(void **state)
{
	(void)state;
	uint8_t s[8192], rnd[32];
	/* Tiny records: 3 handshake bytes each. */
	size_t n = client_hello(s, 200, 3);
	memset(rnd, 0, sizeof(rnd));
	assert_int_equal(tls_hello_parse(s, n, rnd), 1);
	assert_memory_equal(rnd, want_random, 32);
	/* 39 handshake bytes take 13 records of 8 bytes. */
	assert_int_equal(tls_hello_parse(s, 13 * 8 - 1, rnd), 0);
	assert_int_equal(tls_hello_parse(s, 13 * 8, rnd), 1);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	uint8_t rnd[32];
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(tls_hello_parse((const uint8_t *)http, strlen(http), rnd), -EINVAL);
	assert_int_equal(tls_hello_parse((const uint8_t *)"SSH-2.0-", 1, rnd), -EINVAL);

	uint8_t s[8192];
	size_t n = client_hello(s, 300, 16384);
	struct {
		size_t off;
		uint8_t val;
	} bad[] = {
		{ 0, 23 },    /* application data record */
		{ 1, 2 },     /* SSL 2 style version */
		{ 2, 0 },     /* record version 0x0300 */
		{ 2, 5 },     /* record version 0x0305 */
		{ 5, 2 },     /* ServerHello */
		{ 9, 2 },     /* client_version 0x0202 */
		{ 10, 9 },    /* client_version 0x0309 */
		{ 43, 33 },   /* session id longer than 32 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t c[8192];
		memcpy(c, s, n);
		c[bad[i].off] = bad[i].val;
		assert_int_equal(tls_hello_parse(c, n, rnd), -EINVAL);
		/* Recognised as soon as the byte is there. */
		assert_int_equal(tls_hello_parse(c, bad[i].off + 1, rnd), -EINVAL);
	}
	uint8_t z[8192];
	memcpy(z, s, n);
	z[3] = z[4] = 0; /* empty record */
	assert_int_equal(tls_hello_parse(z, n, rnd), -EINVAL);
	memcpy(z, s, n);
	z[6] = z[7] = 0;
	z[8] = 10; /* handshake length too small for a ClientHello */
	assert_int_equal(tls_hello_parse(z, n, rnd), -EINVAL);
}

static void test_feed_one_segment(void **state)
{
	(void)state;
	struct tls_hello_pool *pool;
	assert_int_equal(tls_hello_pool_new(4, &pool), 0);
	uint8_t s[8192], rnd[32];
	size_t n = client_hello(s, 500, 16384);
	struct tls_hello_state st;
	tls_hello_init(&st);
	tls_hello_syn(&st, 999);
	assert_int_equal(tls_hello_feed(&st, pool, 1000, s, (uint32_t)n, (uint32_t)n, rnd), 1);
	assert_memory_equal(rnd, want_random, 32);
	assert_true(tls_hello_done(&st));
	assert_int_equal(st.buf, 0);
	/* Later segments are ignored. */
	assert_int_equal(tls_hello_feed(&st, pool, 1000, s, (uint32_t)n, (uint32_t)n, rnd), 0);
	tls_hello_pool_free(pool);
}

/* Split at every byte, with a retransmission of the first part in between. */
static void test_feed_split_everywhere(void **state)
{
	(void)state;
	struct tls_hello_pool *pool;
	assert_int_equal(tls_hello_pool_new(2, &pool), 0);
	uint8_t s[8192], rnd[32];
	size_t n = client_hello(s, 300, 16384);
	for (size_t k = 1; k < n; k++) {
		struct tls_hello_state st;
		tls_hello_init(&st);
		tls_hello_syn(&st, 0xfffffff0u); /* sequence numbers wrap */
		uint32_t seq0 = 0xfffffff1u;
		memset(rnd, 0, 32);
		int r = tls_hello_feed(&st, pool, seq0, s, (uint32_t)k, (uint32_t)k, rnd);
		if (k >= 44) {
			assert_int_equal(r, 1);
			assert_memory_equal(rnd, want_random, 32);
			continue;
		}
		assert_int_equal(r, 0);
		assert_false(tls_hello_done(&st));
		assert_int_not_equal(st.buf, 0);
		r = tls_hello_feed(&st, pool, seq0, s, (uint32_t)k, (uint32_t)k, rnd);
		assert_int_equal(r, 0);
		r = tls_hello_feed(&st, pool, seq0 + (uint32_t)k, s + k, (uint32_t)(n - k),
				   (uint32_t)(n - k), rnd);
		assert_int_equal(r, 1);
		assert_memory_equal(rnd, want_random, 32);
		assert_int_equal(st.buf, 0); /* buffer back in the pool */
	}
	assert_int_equal(tls_hello_pool_exhausted(pool), 0);
	tls_hello_pool_free(pool);
}

static void test_feed_overlap_and_tiny(void **state)
{
	(void)state;
	struct tls_hello_pool *pool;
	assert_int_equal(tls_hello_pool_new(1, &pool), 0);
	uint8_t s[8192], rnd[32];
	size_t n = client_hello(s, 300, 16384);
	struct tls_hello_state st;
	tls_hello_init(&st);
	/* No SYN seen: the first data is taken as the stream start. */
	assert_int_equal(tls_hello_feed(&st, pool, 5000, s, 10, 10, rnd), 0);
	/* Overlapping: bytes 5..30. */
	assert_int_equal(tls_hello_feed(&st, pool, 5005, s + 5, 25, 25, rnd), 0);
	/* One byte at a time after that. */
	int r = 0;
	for (uint32_t i = 30; i < n && r == 0; i++)
		r = tls_hello_feed(&st, pool, 5000 + i, s + i, 1, 1, rnd);
	assert_int_equal(r, 1);
	assert_memory_equal(rnd, want_random, 32);
	tls_hello_pool_free(pool);
}

static void test_feed_gives_up(void **state)
{
	(void)state;
	struct tls_hello_pool *pool;
	assert_int_equal(tls_hello_pool_new(1, &pool), 0);
	uint8_t s[8192], rnd[32];
	size_t n = client_hello(s, 300, 16384);
	struct tls_hello_state st, st2;

	/* A gap: the second segment arrives first. */
	tls_hello_init(&st);
	tls_hello_syn(&st, 99);
	assert_int_equal(tls_hello_feed(&st, pool, 120, s + 20, (uint32_t)n - 20,
					(uint32_t)n - 20, rnd), 0);
	assert_true(tls_hello_done(&st));
	assert_int_equal(tls_hello_feed(&st, pool, 100, s, (uint32_t)n, (uint32_t)n, rnd), 0);

	/* Not TLS: decided on the first segment, no buffer taken. */
	tls_hello_init(&st);
	assert_int_equal(tls_hello_feed(&st, pool, 1, (const uint8_t *)"GET /", 5, 5, rnd), 0);
	assert_true(tls_hello_done(&st));
	assert_int_equal(st.buf, 0);

	/* Cut by the snap length before the random. */
	tls_hello_init(&st);
	assert_int_equal(tls_hello_feed(&st, pool, 1, s, 20, (uint32_t)n, rnd), 0);
	assert_true(tls_hello_done(&st));

	/* One buffer: the second flow that needs one gives up. */
	tls_hello_init(&st);
	tls_hello_init(&st2);
	assert_int_equal(tls_hello_feed(&st, pool, 1, s, 10, 10, rnd), 0);
	assert_int_equal(tls_hello_feed(&st2, pool, 1, s, 10, 10, rnd), 0);
	assert_true(tls_hello_done(&st2));
	assert_int_equal(tls_hello_pool_exhausted(pool), 1);
	/* The first flow ends: its buffer is reused. */
	tls_hello_release(&st, pool);
	tls_hello_init(&st2);
	assert_int_equal(tls_hello_feed(&st2, pool, 1, s, 10, 10, rnd), 0);
	assert_int_equal(tls_hello_feed(&st2, pool, 11, s + 10, (uint32_t)n - 10,
					(uint32_t)n - 10, rnd), 1);
	assert_int_equal(tls_hello_pool_exhausted(pool), 1);
	tls_hello_pool_free(pool);
}

/* Mutated ClientHellos fed in random pieces: no overread, no stuck buffer, and a stream
 * whose first 44 bytes are intact is always found. */
static void test_feed_mutations(void **state)
{
	(void)state;
	struct tls_hello_pool *pool;
	assert_int_equal(tls_hello_pool_new(1, &pool), 0);
	uint8_t s[8192];
	size_t n = client_hello(s, 400, 16384);
	uint32_t seed = 99;
	for (int iter = 0; iter < 20000; iter++) {
		uint8_t c[8192], rnd[32];
		memcpy(c, s, n);
		seed = seed * 1103515245u + 12345u;
		size_t pos = (seed >> 8) % n;
		c[pos] ^= (uint8_t)(1 + (seed >> 24) % 255);
		struct tls_hello_state st;
		tls_hello_init(&st);
		uint32_t seq = seed;
		int found = 0;
		for (size_t off = 0; off < n && !tls_hello_done(&st);) {
			seed = seed * 1103515245u + 12345u;
			size_t len = 1 + (seed >> 8) % 40;
			if (len > n - off)
				len = n - off;
			uint8_t *piece = malloc(len);
			assert_non_null(piece);
			memcpy(piece, c + off, len);
			uint32_t l32 = (uint32_t)len;
			found |= tls_hello_feed(&st, pool, seq + (uint32_t)off, piece, l32, l32, rnd);
			free(piece);
			off += len;
		}
		if (pos >= 44)
			assert_int_equal(found, 1);
		if (found && pos >= 44)
			assert_memory_equal(rnd, want_random, 32);
		tls_hello_release(&st, pool);
		assert_int_equal(st.buf, 0);
	}
	assert_int_equal(tls_hello_pool_exhausted(pool), 0);
	tls_hello_pool_free(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_whole_and_prefixes),
		cmocka_unit_test(test_parse_many_records),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_feed_one_segment),
		cmocka_unit_test(test_feed_split_everywhere),
		cmocka_unit_test(test_feed_overlap_and_tiny),
		cmocka_unit_test(test_feed_gives_up),
		cmocka_unit_test(test_feed_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
