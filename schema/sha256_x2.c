// SPDX-License-Identifier: GPL-2.0-only
/*
 * sha256_x2.c - SHA-256 of two or four messages at once (sha256_x2.h), written from FIPS
 * 180-4 (the constants of 4.2.2 and 5.3.3, the padding of 5.1.1, the schedule and rounds of
 * 6.2.2) and Intel's description of the SHA extensions (the SHA256RNDS2, SHA256MSG1 and SHA256MSG2
 * instructions, and the state layout they work on).
 *
 * The extensions keep the eight working variables in two registers, ABEF and CDGH (A in the
 * highest 32 bits); SHA256RNDS2 makes two rounds from CDGH, ABEF and the two words W+K in the
 * low half of its third operand, and returns the new ABEF (the old ABEF is the new CDGH).
 * SHA256MSG1 and SHA256MSG2 compute the sigma0 and sigma1 halves of the message schedule four
 * words at a time. Each message is a lane: its state, and a list of 64-byte blocks (its whole
 * blocks where they are, then the one or two padded blocks made from its tail). While four
 * (or two) lanes have blocks, each group of four rounds is issued for each lane in turn, so
 * that the CPU overlaps their dependency chains; then two lanes, and the one left over alone.
 *
 * Run-time choice: CPUID leaf 7 EBX bit 29 (SHA), leaf 1 ECX bits 9 and 19 (SSSE3, SSE4.1).
 * Without them, or on another architecture, each message goes through sha256_once().
 */
#include "sha256_x2.h"

#include <errno.h>
#include <string.h>

#include "cpu_choice.h"
#include "sha256_x16.h"

#if defined(__x86_64__) || defined(__i386__)
#define SHA256_X2_HW 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* 0: not asked yet; 1: use the extensions; 2: do not (absent, or forbidden). */
static int hw_state;
/* cpu_choice.h: sixteen lanes in AVX-512 registers (sha256_x16.h) or not. */
static int x16_state;

#ifdef SHA256_X2_HW

static const uint32_t sha256_init_h[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static bool cpu_has_sha(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19)))
		return false;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}

#define HW_TARGET __attribute__((target("sha,sse4.1")))

/* A lane's state in the instructions' layout. */
struct lane {
	__m128i abef, cdgh;
};

HW_TARGET static struct lane lane_load(const uint32_t h[8])
{
	__m128i dcba = _mm_loadu_si128((const __m128i *)h);       /* a b c d, low to high */
	__m128i hgfe = _mm_loadu_si128((const __m128i *)(h + 4)); /* e f g h */
	__m128i badc = _mm_shuffle_epi32(dcba, 0xB1);              /* b a d c */
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);              /* h g f e */
	struct lane s;
	s.abef = _mm_alignr_epi8(badc, efgh, 8);                   /* f e b a */
	s.cdgh = _mm_blend_epi16(efgh, badc, 0xF0);                /* h g d c */
	return s;
}

HW_TARGET static void lane_store(struct lane s, uint32_t h[8])
{
	__m128i feba = _mm_shuffle_epi32(s.abef, 0x1B);            /* a b e f */
	__m128i dchg = _mm_shuffle_epi32(s.cdgh, 0xB1);            /* g h c d */
	_mm_storeu_si128((__m128i *)h, _mm_blend_epi16(feba, dchg, 0xF0));     /* a b c d */
	_mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(dchg, feba, 8)); /* e f g h */
}

/* Four big-endian message words. */
#define LOAD_W(p, i) _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p) + (i)), bswap)

/* The next four schedule words from the last sixteen (w0 oldest): W[t-16] + s0(W[t-15]) +
 * W[t-7] + s1(W[t-2]). */
#define NEXT_W(w0, w1, w2, w3) \
	_mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), \
					   _mm_alignr_epi8(w3, w2, 4)), w3)

/* Four rounds of state s with the schedule words w, from round 4 * g. After the first pair
 * of rounds, cdgh holds the new ABEF and abef (the ABEF before) the new CDGH; the second pair
 * takes them so, and leaves the new ABEF in abef and the new CDGH (the ABEF between) in cdgh. */
#define ROUNDS4(s, w, g) \
	do { \
		__m128i wk_ = _mm_add_epi32(w, _mm_load_si128((const __m128i *)sha256_round_k + \
							      (g))); \
		s.cdgh = _mm_sha256rnds2_epu32(s.cdgh, s.abef, wk_); \
		wk_ = _mm_shuffle_epi32(wk_, 0x0E); \
		s.abef = _mm_sha256rnds2_epu32(s.abef, s.cdgh, wk_); \
	} while (0)

/*
 * One 64-byte block of each lane, as a list of steps applied to every lane in turn (EACHk
 * names the lanes: a, b, c, d), so that the CPU has k independent chains to overlap. A lane x
 * has its state x, its schedule words x0..x3 and its data pointer x_p.
 */
#define EACH1(M, ...) M(a, __VA_ARGS__)
#define EACH2(M, ...) M(a, __VA_ARGS__) M(b, __VA_ARGS__)
#define EACH4(M, ...) M(a, __VA_ARGS__) M(b, __VA_ARGS__) M(c, __VA_ARGS__) M(d, __VA_ARGS__)
#define L_LOAD(x, ...) \
	struct lane x##_save = x; \
	__m128i x##0 = LOAD_W(x##_p, 0), x##1 = LOAD_W(x##_p, 1), x##2 = LOAD_W(x##_p, 2), \
		x##3 = LOAD_W(x##_p, 3);
#define L_ROUNDS(x, w, g) ROUNDS4(x, x##w, g);
#define L_NEXT(x, w0, w1, w2, w3) x##w0 = NEXT_W(x##w0, x##w1, x##w2, x##w3);
#define L_END(x, ...) \
	x.abef = _mm_add_epi32(x.abef, x##_save.abef); \
	x.cdgh = _mm_add_epi32(x.cdgh, x##_save.cdgh); \
	x##_p += 64;
#define BLOCK(EACH) \
	do { \
		EACH(L_LOAD, 0) \
		EACH(L_ROUNDS, 0, 0) \
		EACH(L_ROUNDS, 1, 1) \
		EACH(L_ROUNDS, 2, 2) \
		EACH(L_ROUNDS, 3, 3) \
		for (int g = 4; g < 16; g += 4) { \
			EACH(L_NEXT, 0, 1, 2, 3) \
			EACH(L_ROUNDS, 0, g) \
			EACH(L_NEXT, 1, 2, 3, 0) \
			EACH(L_ROUNDS, 1, g + 1) \
			EACH(L_NEXT, 2, 3, 0, 1) \
			EACH(L_ROUNDS, 2, g + 2) \
			EACH(L_NEXT, 3, 0, 1, 2) \
			EACH(L_ROUNDS, 3, g + 3) \
		} \
		EACH(L_END, 0) \
	} while (0)

/* n 64-byte blocks of one lane. */
HW_TARGET static void compress1(uint32_t h[8], const uint8_t *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	struct lane a = lane_load(h);
	const uint8_t *a_p = p;
	for (; n; n--)
		BLOCK(EACH1);
	lane_store(a, h);
}

/* n 64-byte blocks of each of two lanes, their rounds interleaved. */
HW_TARGET static void compress2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8],
				const uint8_t *pb, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	struct lane a = lane_load(ha), b = lane_load(hb);
	const uint8_t *a_p = pa, *b_p = pb;
	for (; n; n--)
		BLOCK(EACH2);
	lane_store(a, ha);
	lane_store(b, hb);
}

/* n 64-byte blocks of each of four lanes, their rounds interleaved: more independent chains
 * than two keep the round instruction busier still (2.3-2.8 against 2.1-2.2 GB/s here),
 * although four lanes' schedule words no longer all fit in the sixteen XMM registers. */
HW_TARGET static void compress4(uint32_t *h[4], const uint8_t *const q[4], size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	struct lane a = lane_load(h[0]), b = lane_load(h[1]), c = lane_load(h[2]),
		    d = lane_load(h[3]);
	const uint8_t *a_p = q[0], *b_p = q[1], *c_p = q[2], *d_p = q[3];
	for (; n; n--)
		BLOCK(EACH4);
	lane_store(a, h[0]);
	lane_store(b, h[1]);
	lane_store(c, h[2]);
	lane_store(d, h[3]);
}

/* One message's 64-byte blocks: `whole` of them at p, then `tail_n` (1 or 2) padded ones in
 * tail (FIPS 180-4 5.1.1: the last bytes, 0x80, zeros, the length in bits big-endian). */
struct msg {
	uint32_t h[8];
	const uint8_t *p;
	size_t whole;
	uint8_t tail[128];
	size_t tail_len, tail_n; /* its padded blocks, those not done yet */
};

static void msg_begin(struct msg *m, const uint8_t *p, size_t len)
{
	memcpy(m->h, sha256_init_h, sizeof(m->h));
	m->p = p;
	m->whole = len / 64;
	size_t rest = len % 64;
	m->tail_len = m->tail_n = rest < 56 ? 1 : 2;
	memset(m->tail, 0, sizeof(m->tail));
	if (rest)
		memcpy(m->tail, p + 64 * m->whole, rest);
	m->tail[rest] = 0x80;
	uint64_t bits = (uint64_t)len * 8;
	uint8_t *e = m->tail + 64 * m->tail_n - 8;
	for (int i = 0; i < 8; i++)
		e[i] = (uint8_t)(bits >> (56 - 8 * i));
}

/* The blocks still to do that lie one after the other: *n of them at the returned address. */
static const uint8_t *msg_run(const struct msg *m, size_t *n)
{
	if (m->whole) {
		*n = m->whole;
		return m->p;
	}
	*n = m->tail_n;
	return m->tail + 64 * (m->tail_len - m->tail_n);
}

static void msg_done(struct msg *m, size_t n)
{
	if (m->whole) {
		m->whole -= n;
		m->p += 64 * n;
	} else {
		m->tail_n -= n;
	}
}

static size_t msg_left(const struct msg *m)
{
	return m->whole + m->tail_n;
}

static void msg_out(const struct msg *m, uint8_t d[SHA256_LEN])
{
	for (int i = 0; i < 8; i++) {
		d[4 * i] = (uint8_t)(m->h[i] >> 24);
		d[4 * i + 1] = (uint8_t)(m->h[i] >> 16);
		d[4 * i + 2] = (uint8_t)(m->h[i] >> 8);
		d[4 * i + 3] = (uint8_t)m->h[i];
	}
}

/* The lanes' blocks: four at a time while four lanes have blocks left, then two at a time,
 * then the one left over alone. */
static void run_lanes(struct msg *m, size_t k)
{
	for (;;) {
		struct msg *live[4];
		size_t nl = 0;
		for (size_t i = 0; i < k && nl < 4; i++)
			if (msg_left(&m[i]))
				live[nl++] = &m[i];
		if (!nl)
			return;
		if (nl == 3)
			nl = 2;
		const uint8_t *p[4];
		size_t n = SIZE_MAX;
		for (size_t i = 0; i < nl; i++) {
			size_t r;
			p[i] = msg_run(live[i], &r);
			n = r < n ? r : n;
		}
		if (nl == 4) {
			uint32_t *h[4] = { live[0]->h, live[1]->h, live[2]->h, live[3]->h };
			compress4(h, p, n);
		} else if (nl == 2) {
			compress2(live[0]->h, p[0], live[1]->h, p[1], n);
		} else {
			compress1(live[0]->h, p[0], n);
		}
		for (size_t i = 0; i < nl; i++)
			msg_done(live[i], n);
	}
}

static void hw_x2(const uint8_t *a, size_t alen, uint8_t da[SHA256_LEN], const uint8_t *b,
		  size_t blen, uint8_t db[SHA256_LEN])
{
	struct msg m[2];
	msg_begin(&m[0], a, alen);
	msg_begin(&m[1], b, blen);
	run_lanes(m, 2);
	msg_out(&m[0], da);
	msg_out(&m[1], db);
}

static void hw_x4(const void *const p[4], const size_t len[4], uint8_t d[4][SHA256_LEN])
{
	struct msg m[4];
	for (int i = 0; i < 4; i++)
		msg_begin(&m[i], p[i], len[i]);
	run_lanes(m, 4);
	for (int i = 0; i < 4; i++)
		msg_out(&m[i], d[i]);
}

static bool use_x16(void)
{
	return cpu_choice(&x16_state, sha256_x16_cpu);
}

/* Fewer lanes with data than this, and the SHA instructions' four lanes go faster than the
 * sixteen in AVX-512 registers (BENCHMARKS section 11, i26seal). */
#define X16_MIN_LIVE 12
_Static_assert(X16_MIN_LIVE >= 1 && X16_MIN_LIVE <= 16,
	       "hw_x16n must stop only once no message waits");

/*
 * The n messages in the order ord on sixteen lanes of AVX-512 registers, a lane refilled as
 * its message ends, while at least X16_MIN_LIVE lanes have data; the last few messages' rest
 * on the SHA instructions (run_lanes). Lanes without data read a block of zeros and their
 * state is thrown away.
 */
static void hw_x16n(const void *const p[], const size_t len[], size_t n, const size_t *ord,
		    uint8_t (*d)[SHA256_LEN])
{
	static const uint8_t idle[64];
	struct msg lane[16];
	uint32_t st[8][16];
	size_t idx[16], next = 0;
	uint16_t busy = 0;
	for (;;) {
		for (unsigned l = 0; l < 16 && next < n; l++) {
			if (busy >> l & 1)
				continue;
			idx[l] = ord[next];
			msg_begin(&lane[l], p[ord[next]], len[ord[next]]);
			next++;
			for (int j = 0; j < 8; j++)
				st[j][l] = sha256_init_h[j];
			busy |= (uint16_t)(1u << l);
		}
		if (__builtin_popcount(busy) < X16_MIN_LIVE)
			break;
		const uint8_t *q[16];
		size_t k = SIZE_MAX;
		for (unsigned l = 0; l < 16; l++) {
			size_t r;
			q[l] = busy >> l & 1 ? msg_run(&lane[l], &r) : idle;
			if (busy >> l & 1 && r < k)
				k = r;
		}
		sha256_x16_blocks(st, q, busy, k);
		for (unsigned l = 0; l < 16; l++) {
			if (!(busy >> l & 1))
				continue;
			msg_done(&lane[l], k);
			if (msg_left(&lane[l]))
				continue;
			for (int j = 0; j < 8; j++)
				lane[l].h[j] = st[j][l];
			msg_out(&lane[l], d[idx[l]]);
			busy &= (uint16_t)~(1u << l);
		}
	}
	/* fewer than X16_MIN_LIVE left, and no message waits: their rest on the SHA instructions */
	struct msg rest[X16_MIN_LIVE];
	size_t at[X16_MIN_LIVE], nr = 0;
	for (unsigned l = 0; l < 16; l++) {
		if (!(busy >> l & 1))
			continue;
		for (int j = 0; j < 8; j++)
			lane[l].h[j] = st[j][l];
		rest[nr] = lane[l];
		at[nr++] = idx[l];
	}
	run_lanes(rest, nr);
	for (size_t i = 0; i < nr; i++)
		msg_out(&rest[i], d[at[i]]);
}

/*
 * n messages (at most SHA256_XN_MAX), four lanes kept busy: a lane whose message ends takes
 * the next one at once, longest first, so that the lanes end together; only the last few
 * messages' ends run on fewer lanes (run_lanes). Grouped by four and each group run to its
 * longest, the lanes of messages of unequal lengths (compressed blocks, a chunk's short last
 * block) ran on in two lanes or one, at about half the rate (BENCHMARKS section 11, i26seal).
 * Where the CPU has AVX-512, X16_MIN_LIVE messages or more go to hw_x16n instead.
 */
static void hw_xn(const void *const p[], const size_t len[], size_t n,
		  uint8_t (*d)[SHA256_LEN])
{
	size_t ord[SHA256_XN_MAX];
	for (size_t i = 0; i < n; i++) { /* longest first, in order among equals */
		size_t j = i;
		for (; j && len[ord[j - 1]] < len[i]; j--)
			ord[j] = ord[j - 1];
		ord[j] = i;
	}
	if (n >= X16_MIN_LIVE && use_x16()) {
		hw_x16n(p, len, n, ord, d);
		return;
	}
	struct msg lane[4];
	size_t idx[4], live = 0, next = 0;
	for (;;) {
		for (; live < 4 && next < n; live++, next++) {
			idx[live] = ord[next];
			msg_begin(&lane[live], p[ord[next]], len[ord[next]]);
		}
		if (live < 4)
			break;
		const uint8_t *q[4];
		size_t k = SIZE_MAX;
		for (size_t i = 0; i < 4; i++) {
			size_t r;
			q[i] = msg_run(&lane[i], &r);
			k = r < k ? r : k;
		}
		uint32_t *h[4] = { lane[0].h, lane[1].h, lane[2].h, lane[3].h };
		compress4(h, q, k);
		for (size_t i = 0; i < live;) {
			msg_done(&lane[i], k);
			if (msg_left(&lane[i])) {
				i++;
				continue;
			}
			msg_out(&lane[i], d[idx[i]]);
			live--;
			if (i < live) { /* the last lane's message moves here (its tail with it) */
				lane[i] = lane[live];
				idx[i] = idx[live];
			}
		}
	}
	run_lanes(lane, live);
	for (size_t i = 0; i < live; i++)
		msg_out(&lane[i], d[idx[i]]);
}

static void hw_x1(const uint8_t *p, size_t len, uint8_t d[SHA256_LEN])
{
	struct msg m;
	msg_begin(&m, p, len);
	while (msg_left(&m)) {
		size_t n;
		const uint8_t *q = msg_run(&m, &n);
		compress1(m.h, q, n);
		msg_done(&m, n);
	}
	msg_out(&m, d);
}

#else
static bool cpu_has_sha(void)
{
	return false;
}
#endif

bool sha256_x2_hw(void)
{
	int s = __atomic_load_n(&hw_state, __ATOMIC_RELAXED);
	if (!s) {
		s = cpu_has_sha() ? 1 : 2;
		__atomic_store_n(&hw_state, s, __ATOMIC_RELAXED);
	}
	return s == 1;
}

void sha256_x2_allow_x16(bool allow)
{
	cpu_choice_allow(&x16_state, allow);
}

bool sha256_x2_x16(void)
{
#ifdef SHA256_X2_HW
	return sha256_x2_hw() && use_x16();
#else
	return false;
#endif
}

void sha256_x2_allow_hw(bool allow)
{
	__atomic_store_n(&hw_state, allow && cpu_has_sha() ? 1 : 2, __ATOMIC_RELAXED);
}

int sha256_x2(const void *a, size_t alen, uint8_t da[SHA256_LEN], const void *b, size_t blen,
	      uint8_t db[SHA256_LEN])
{
#ifdef SHA256_X2_HW
	if (sha256_x2_hw()) {
		hw_x2(a, alen, da, b, blen, db);
		return 0;
	}
#endif
	int err = sha256_once(a, alen, da);
	return err ? err : sha256_once(b, blen, db);
}

int sha256_x4(const void *const p[4], const size_t len[4], uint8_t d[4][SHA256_LEN])
{
#ifdef SHA256_X2_HW
	if (sha256_x2_hw()) {
		hw_x4(p, len, d);
		return 0;
	}
#endif
	for (int i = 0; i < 4; i++) {
		int err = sha256_once(p[i], len[i], d[i]);
		if (err)
			return err;
	}
	return 0;
}

int sha256_xn(const void *const p[], const size_t len[], size_t n, uint8_t (*d)[SHA256_LEN])
{
	if (n > SHA256_XN_MAX)
		return -EINVAL;
#ifdef SHA256_X2_HW
	if (sha256_x2_hw()) {
		hw_xn(p, len, n, d);
		return 0;
	}
#endif
	for (size_t i = 0; i < n; i++) {
		int err = sha256_once(p[i], len[i], d[i]);
		if (err)
			return err;
	}
	return 0;
}

int sha256_x1(const void *p, size_t len, uint8_t d[SHA256_LEN])
{
#ifdef SHA256_X2_HW
	if (sha256_x2_hw()) {
		hw_x1(p, len, d);
		return 0;
	}
#endif
	return sha256_once(p, len, d);
}
