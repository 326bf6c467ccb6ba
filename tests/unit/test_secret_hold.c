// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_secret_hold.c - the hold of TLS secrets and TLS 1.3 sessions' material waiting for their
 * ClientHello (recorder/secret_hold.h): a claim hands over the chain's secrets oldest first,
 * a session's material as its five key log records (the handshake traffic secrets derived
 * then, checked against RFC 8448's); a duplicate is seen; items expire by age and the oldest
 * go when the bound is reached; and no secret byte stays in memory the hold keeps or frees
 * after its item left: calloc and free are wrapped (-Wl,--wrap), every block the hold
 * allocated is searched for the secrets' bytes while it lives and when it is freed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "secret_hold.h"
#include "tls_hkdf.h"

#define SEC 1000000000ull

/* ---- the hold's memory: every block it callocs, searched for secret bytes ---- */

void *__real_calloc(size_t n, size_t size);
void __real_free(void *p);
void *__wrap_calloc(size_t n, size_t size);
void __wrap_free(void *p);

#define BLOCKS_MAX 64
static struct block {
	void *p;
	size_t n;
} blocks[BLOCKS_MAX];
static uint8_t needles[32][16]; /* the first 16 bytes of each secret put in a test */
static size_t n_needles;
static unsigned freed_with_secret; /* blocks freed that still held a secret's bytes */

static bool holds_secret(const void *p, size_t n)
{
	for (size_t i = 0; i < n_needles; i++)
		if (memmem(p, n, needles[i], sizeof(needles[i])))
			return true;
	return false;
}

void *__wrap_calloc(size_t n, size_t size)
{
	void *p = __real_calloc(n, size);
	for (size_t i = 0; p && i < BLOCKS_MAX; i++)
		if (!blocks[i].p) {
			blocks[i].p = p;
			blocks[i].n = n * size;
			break;
		}
	return p;
}

void __wrap_free(void *p)
{
	for (size_t i = 0; p && i < BLOCKS_MAX; i++)
		if (blocks[i].p == p) {
			if (holds_secret(p, blocks[i].n))
				freed_with_secret++;
			blocks[i].p = NULL;
		}
	__real_free(p);
}

/* Whether any block the hold has now holds a secret's bytes. */
static bool live_blocks_hold_secret(void)
{
	for (size_t i = 0; i < BLOCKS_MAX; i++)
		if (blocks[i].p && holds_secret(blocks[i].p, blocks[i].n))
			return true;
	return false;
}

static void needle(const uint8_t *b)
{
	assert_true(n_needles < 32);
	memcpy(needles[n_needles++], b, 16);
}

static int setup(void **state)
{
	n_needles = 0;
	freed_with_secret = 0;
	return 0;
}

/* ---- items ---- */

static void unhex(const char *s, uint8_t *out, size_t n)
{
	unsigned v;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void secret_of(struct tls_secret *s, const char *label, uint8_t cr, uint8_t fill)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", label);
	memset(s->client_random, cr, 32);
	s->secret_len = 48;
	s->secret[0] = fill; /* [fill, 0xee, ...]: no other test secret begins so */
	s->secret[1] = 0xee;
	for (int i = 2; i < 48; i++)
		s->secret[i] = (uint8_t)(7 * i);
	needle(s->secret);
}

/* RFC 8448's simple 1-RTT handshake (SHA-256): its handshake secret and transcript hash,
 * and three application secrets of our own, [fill, a, ...] for app[a]. */
static void material_of(struct tls13_material *m, uint8_t cr, uint8_t fill)
{
	memset(m, 0, sizeof(*m));
	memset(m->client_random, cr, 32);
	m->hash_len = 32;
	m->has = TLS13_CLIENT_HS | TLS13_SERVER_HS | TLS13_CLIENT_APP | TLS13_SERVER_APP |
		 TLS13_EXPORTER;
	unhex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac", m->hs_secret, 32);
	unhex("860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8", m->hs_hash, 32);
	for (int a = 0; a < 3; a++) {
		m->app[a][0] = fill;
		m->app[a][1] = (uint8_t)a;
		for (int i = 2; i < 32; i++)
			m->app[a][i] = (uint8_t)(7 * i);
	}
	needle(m->hs_secret);
	needle(m->hs_hash);
	for (int a = 0; a < 3; a++)
		needle(m->app[a]);
}

struct got {
	struct tls_secret s[16];
	int n;
};

static int collect(void *ctx, const struct tls_secret *sec)
{
	struct got *g = ctx;
	assert_true(g->n < 16);
	g->s[g->n++] = *sec;
	return 0;
}

static void assert_secret(const struct tls_secret *s, const char *label, const uint8_t *bytes,
			  size_t len)
{
	assert_string_equal(s->label, label);
	assert_int_equal(s->secret_len, len);
	assert_memory_equal(s->secret, bytes, len);
}

/* A claim hands over the chain's items oldest first, a session's material as its records with
 * the handshake traffic secrets derived then; nothing of another client_random; once. */
static void test_claim(void **state)
{
	struct secret_hold *h = secret_hold_new(16);
	struct tls_secret a, b, other;
	struct tls13_material m;
	uint64_t head = 0, head2 = 0;
	uint8_t c_hs[32], s_hs[32];
	struct got g = { .n = 0 };

	secret_of(&a, "CLIENT_RANDOM", 0x11, 0x40);
	material_of(&m, 0x11, 0x90);
	secret_of(&b, "EARLY_EXPORTER_SECRET", 0x11, 0x60);
	secret_of(&other, "CLIENT_RANDOM", 0x22, 0x80);
	assert_int_equal(secret_hold_put(h, &a, 1 * SEC, &head), 0);
	assert_int_equal(secret_hold_put(h, &other, 1 * SEC, &head2), 0);
	assert_int_equal(secret_hold_put_tls13(h, &m, 2 * SEC, &head), 0);
	assert_int_equal(secret_hold_put(h, &b, 3 * SEC, &head), 0);
	assert_int_equal(secret_hold_count(h), 1 + 1 + 5 + 1);
	assert_int_equal(secret_hold_derived(h), 0); /* nothing derived while held */

	assert_int_equal(secret_hold_take(h, &head, collect, &g), 0);
	assert_int_equal(head, 0);
	assert_int_equal(g.n, 7);
	assert_secret(&g.s[0], "CLIENT_RANDOM", a.secret, 48);
	unhex("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21", c_hs, 32);
	unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38", s_hs, 32);
	assert_secret(&g.s[1], "CLIENT_HANDSHAKE_TRAFFIC_SECRET", c_hs, 32);
	assert_secret(&g.s[2], "SERVER_HANDSHAKE_TRAFFIC_SECRET", s_hs, 32);
	assert_secret(&g.s[3], "CLIENT_TRAFFIC_SECRET_0", m.app[0], 32);
	assert_secret(&g.s[4], "SERVER_TRAFFIC_SECRET_0", m.app[1], 32);
	assert_secret(&g.s[5], "EXPORTER_SECRET", m.app[2], 32);
	assert_secret(&g.s[6], "EARLY_EXPORTER_SECRET", b.secret, 48);
	for (int i = 1; i < 6; i++)
		assert_memory_equal(g.s[i].client_random, m.client_random, 32);
	assert_int_equal(secret_hold_derived(h), 1);
	assert_int_equal(secret_hold_count(h), 1);

	/* taken once: the chain is empty now, and the other client_random's secret stays */
	g.n = 0;
	head = 3; /* a link to what was taken names nothing */
	assert_int_equal(secret_hold_take(h, &head, collect, &g), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(secret_hold_take(h, &head2, collect, &g), 0);
	assert_int_equal(g.n, 1);
	assert_secret(&g.s[0], "CLIENT_RANDOM", other.secret, 48);

	/* material of a length no TLS 1.3 hash has makes nothing */
	struct tls13_material bad = m;
	bad.hash_len = 40;
	head = 0;
	g.n = 0;
	assert_int_equal(secret_hold_put_tls13(h, &bad, 4 * SEC, &head), 0);
	assert_int_equal(secret_hold_take(h, &head, collect, &g), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(secret_hold_count(h), 0);
	assert_false(live_blocks_hold_secret());
	secret_hold_free(h);
	assert_int_equal(freed_with_secret, 0);
}

/* A secret or a session's material reported twice is seen; another is not. */
static void test_duplicate(void **state)
{
	struct secret_hold *h = secret_hold_new(16);
	struct tls_secret a, a2;
	struct tls13_material m, m2;
	uint64_t head = 0;

	secret_of(&a, "CLIENT_RANDOM", 0x33, 0x10);
	material_of(&m, 0x33, 0x20);
	assert_false(secret_hold_has(h, head, &a));
	assert_false(secret_hold_has_tls13(h, head, &m));
	assert_int_equal(secret_hold_put(h, &a, SEC, &head), 0);
	assert_int_equal(secret_hold_put_tls13(h, &m, SEC, &head), 0);
	assert_true(secret_hold_has(h, head, &a));
	assert_true(secret_hold_has_tls13(h, head, &m));
	a2 = a;
	a2.secret[47] ^= 1;
	assert_false(secret_hold_has(h, head, &a2));
	m2 = m;
	m2.app[2][0] ^= 1; /* another session's exporter secret */
	assert_false(secret_hold_has_tls13(h, head, &m2));
	m2 = m;
	m2.has &= (uint8_t)~TLS13_EXPORTER;
	assert_false(secret_hold_has_tls13(h, head, &m2));
	assert_false(secret_hold_has(h, 0, &a)); /* an empty chain */
	secret_hold_free(h);
	assert_int_equal(freed_with_secret, 0);
}

/* Items older than the age given go (counted in secrets), wiped; younger ones stay. */
static void test_expiry(void **state)
{
	struct secret_hold *h = secret_hold_new(16);
	struct tls_secret young;
	struct tls13_material old;
	uint64_t h_old = 0, h_young = 0;
	struct got g = { .n = 0 };

	material_of(&old, 0x44, 0x30);
	assert_int_equal(secret_hold_put_tls13(h, &old, 10 * SEC, &h_old), 0);
	assert_int_equal(secret_hold_expire(h, 39 * SEC, 30 * SEC), 0);
	size_t young_needle = n_needles;
	secret_of(&young, "CLIENT_RANDOM", 0x55, 0x50);
	assert_int_equal(secret_hold_put(h, &young, 20 * SEC, &h_young), 0);
	assert_int_equal(secret_hold_expire(h, 41 * SEC, 30 * SEC), 5);
	assert_int_equal(secret_hold_count(h), 1);
	/* the young secret's bytes are there, the old material's are not */
	assert_true(live_blocks_hold_secret());
	n_needles = young_needle;
	assert_false(live_blocks_hold_secret());
	n_needles = young_needle + 1;
	assert_int_equal(secret_hold_take(h, &h_old, collect, &g), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(secret_hold_derived(h), 0);
	/* an age of 0: every item */
	assert_int_equal(secret_hold_expire(h, 41 * SEC, 0), 1);
	assert_int_equal(secret_hold_count(h), 0);
	assert_false(live_blocks_hold_secret());
	secret_hold_free(h);
	assert_int_equal(freed_with_secret, 0);
}

/* At most max items: the oldest goes first, its secrets counted and wiped; a claim of it finds
 * nothing, the rest are whole. */
static void test_bound(void **state)
{
	struct secret_hold *h = secret_hold_new(3);
	struct tls13_material m[5];
	uint64_t head[5] = { 0 };
	struct got g = { .n = 0 };

	for (int i = 0; i < 5; i++) {
		n_needles = 0;
		material_of(&m[i], (uint8_t)(0x60 + i), (uint8_t)(0x10 * i));
		assert_int_equal(secret_hold_put_tls13(h, &m[i], SEC, &head[i]), i < 3 ? 0 : 5);
	}
	assert_int_equal(secret_hold_count(h), 15);
	/* the first two sessions' application secrets are gone from memory */
	n_needles = 0;
	for (int a = 0; a < 3; a++) {
		needle(m[0].app[a]);
		needle(m[1].app[a]);
	}
	assert_false(live_blocks_hold_secret());
	n_needles = 0;
	needle(m[4].app[2]);
	assert_true(live_blocks_hold_secret());
	assert_int_equal(secret_hold_take(h, &head[0], collect, &g), 0);
	assert_int_equal(secret_hold_take(h, &head[1], collect, &g), 0);
	assert_int_equal(g.n, 0);
	for (int i = 2; i < 5; i++) {
		g.n = 0;
		assert_int_equal(secret_hold_take(h, &head[i], collect, &g), 0);
		assert_int_equal(g.n, 5);
		assert_secret(&g.s[2], "CLIENT_TRAFFIC_SECRET_0", m[i].app[0], 32);
	}
	assert_int_equal(secret_hold_count(h), 0);
	n_needles = 0;
	for (int i = 0; i < 5; i++)
		for (int a = 0; a < 3; a++)
			needle(m[i].app[a]);
	needle(m[0].hs_secret);
	needle(m[0].hs_hash);
	assert_false(live_blocks_hold_secret());
	secret_hold_free(h);
	assert_int_equal(freed_with_secret, 0);
}

/* The ring grows (256 slots first) and moves its items: the old ring is freed wiped; the
 * hold freed with items in it leaves none of their bytes either. */
static void test_wipe_grow_free(void **state)
{
	struct secret_hold *h = secret_hold_new(4096);
	struct tls_secret s;
	uint64_t head = 0;

	secret_of(&s, "CLIENT_RANDOM", 0x77, 0x99);
	for (int i = 0; i < 600; i++) {
		s.client_random[0] = (uint8_t)i;
		s.client_random[1] = (uint8_t)(i >> 8);
		head = 0;
		assert_int_equal(secret_hold_put(h, &s, SEC, &head), 0);
	}
	assert_int_equal(secret_hold_count(h), 600);
	assert_true(live_blocks_hold_secret());
	assert_int_equal(freed_with_secret, 0); /* two rings freed as it grew, wiped */
	secret_hold_free(h);
	assert_int_equal(freed_with_secret, 0);
	assert_false(live_blocks_hold_secret());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_claim, setup),
		cmocka_unit_test_setup(test_duplicate, setup),
		cmocka_unit_test_setup(test_expiry, setup),
		cmocka_unit_test_setup(test_bound, setup),
		cmocka_unit_test_setup(test_wipe_grow_free, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
