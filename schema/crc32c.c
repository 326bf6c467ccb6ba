// SPDX-License-Identifier: GPL-2.0-only
/*
 * crc32c.c - CRC-32C (reflected polynomial 0x82F63B78). With SSE4.2 (every x86-64 server of
 * the last decade) the crc32 instruction does 8 bytes a step, on three streams at once for
 * long buffers, and with AVX-512's VPCLMULQDQ buffers of 256 bytes or more are folded 256
 * bytes a step by carry-less multiplication (crc_fold); elsewhere a table does one byte.
 * Every data block the recorder writes and every block an export reads goes through it.
 */
#include "crc32c.h"

#include "cpu_choice.h"

#include <pthread.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static uint32_t table[256];
static int table_ready;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[i] = c;
	}
	__atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t crc_table(uint32_t crc, const uint8_t *p, size_t len)
{
	if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
		table_init();
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
/*
 * Three streams: the crc32 instruction takes 3 cycles but starts one per cycle, so a long
 * buffer goes as three interleaved runs of S bytes each, whose registers are joined at the
 * end of every round: crc(A B C) = shift(shift(crc(A)) ^ crc0(B)) ^ crc0(C), where crc0
 * starts from 0 and shift(c) is c advanced over S zero bytes. shift is linear over GF(2), so
 * it is four table lookups, one per byte of c; the tables are made once from the images of
 * the 32 one-bit registers advanced over S zero bytes (shift_fill).
 *
 * Rounds of the long stride (3 x 2048 bytes) first, then of the short one (3 x 256) for what
 * is left, and one stream only for the last bytes (under 768). A data block of 16-17 KiB
 * (CHUNK_BLOCK_TARGET and its last EPB) used to leave 4-5 KiB to the one stream, at a third of
 * the speed: about half of its time.
 */
#define LONG_STRIDE 2048
#define SHORT_STRIDE 256
static uint32_t shift_long[4][256], shift_short[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

__attribute__((target("sse4.2"))) static uint32_t run1(uint32_t crc, const uint8_t *p,
						       size_t len)
{
	uint64_t c = crc;
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return c32;
}

/*
 * t: c advanced over stride zero bytes, by bytes of c. Linear, so each entry is the XOR of the
 * images of its one bits, and an entry is the one without its lowest bit XOR that bit's
 * image: one XOR each. The image of bit i is that of bit i+1 advanced one zero bit (a
 * one-bit register 1 << (i+1) becomes 1 << i), so only bit 31's goes through the crc32
 * instruction: this was 160,000 instructions of every export (two strides of 32 runs).
 */
static void shift_fill(uint32_t t[4][256], size_t stride)
{
	static const uint8_t zeros[LONG_STRIDE];
	uint32_t bit[32];
	bit[31] = run1(1u << 31, zeros, stride);
	for (int i = 30; i >= 0; i--)
		bit[i] = bit[i + 1] & 1 ? (bit[i + 1] >> 1) ^ 0x82F63B78u : bit[i + 1] >> 1;
	for (int lane = 0; lane < 4; lane++) {
		t[lane][0] = 0;
		for (uint32_t b = 1; b < 256; b++)
			t[lane][b] = t[lane][b & (b - 1)] ^ bit[lane * 8 + __builtin_ctz(b)];
	}
}

static void shift_init(void)
{
	shift_fill(shift_long, LONG_STRIDE);
	shift_fill(shift_short, SHORT_STRIDE);
}

static uint32_t shift(const uint32_t t[4][256], uint32_t c)
{
	return t[0][c & 0xff] ^ t[1][c >> 8 & 0xff] ^ t[2][c >> 16 & 0xff] ^ t[3][c >> 24];
}

/* Rounds of three streams of stride bytes while they fit; *p and *len move past them. */
__attribute__((target("sse4.2"), always_inline)) static inline uint32_t
rounds(uint32_t crc, const uint8_t **pp, size_t *lenp, size_t stride, const uint32_t t[4][256])
{
	const uint8_t *p = *pp;
	size_t len = *lenp;
	while (len >= 3 * stride) {
		uint64_t a = crc, b = 0, c = 0;
		for (size_t i = 0; i < stride; i += 8) {
			uint64_t va, vb, vc;
			memcpy(&va, p + i, 8);
			memcpy(&vb, p + stride + i, 8);
			memcpy(&vc, p + 2 * stride + i, 8);
			a = __builtin_ia32_crc32di(a, va);
			b = __builtin_ia32_crc32di(b, vb);
			c = __builtin_ia32_crc32di(c, vc);
		}
		crc = shift(t, shift(t, (uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)c;
		p += 3 * stride;
		len -= 3 * stride;
	}
	*pp = p;
	*lenp = len;
	return crc;
}

/*
 * Folding by carry-less multiplication (VPCLMULQDQ on 512-bit registers, where the CPU and the
 * kernel have AVX-512), for long buffers: 256 bytes a step in four registers of four 128-bit
 * lanes, where the crc32 instruction's three streams do 24 bytes a step (a data block of
 * 16 KiB: about 3 times faster in the cache). CRC-32C is the remainder of the message
 * polynomial (times x^32) by P, and only the remainder matters: a 128-bit piece X (in the
 * reflected order the crc32 instruction uses: bit 0 of byte 0 is the highest power) moved D
 * bits further on is X x^D, which has the remainder of H (x^(D+64) mod P) + L (x^D mod P)
 * for X's halves H (its first 64 bits) and L, each product 96 bits at most. A carry-less
 * product of two reflected 64-bit numbers comes out one bit short of the reflected 128-bit
 * product (the bit of highest power is bit 0, the product has 127 bits), so the multipliers
 * are x^(D+63) and x^(D-1) mod P, reflected (fold_consts). Every 256 bytes each lane is moved
 * on by 2048 bits and the next 16 bytes are XORed in; at the end the four registers and then
 * the four lanes are moved onto the last 16 bytes, which stand for all that came before, and
 * the crc32 instruction goes over those 16 bytes and the last (under 256). The CRC so far
 * enters as the first 32 bits of the message XORed with it.
 */
#define FOLD_MIN 256u
static int fold_state; /* cpu_choice.h: crc_fold or not */
static uint64_t fold_2048[2], fold_512[2], fold_384[2], fold_256[2], fold_128[2];
static pthread_once_t fold_once = PTHREAD_ONCE_INIT;

/* x^n mod P, bit d the coefficient of x^d. */
static uint64_t xpow_mod(unsigned n)
{
	uint64_t r = 1;
	while (n--) {
		r <<= 1;
		if (r >> 32 & 1)
			r ^= 0x11EDC6F41ull;
	}
	return r;
}

static uint64_t reflect64(uint64_t v)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i++)
		r |= (v >> i & 1) << (63 - i);
	return r;
}

/* The multipliers that move a 128-bit piece `bits` on: k[0] for its low 64 bits, k[1] for its
 * high 64 bits (the message's later ones). */
static void fold_consts(uint64_t k[2], unsigned bits)
{
	k[0] = reflect64(xpow_mod(bits + 63));
	k[1] = reflect64(xpow_mod(bits - 1));
}

static void fold_init(void)
{
	fold_consts(fold_2048, 2048);
	fold_consts(fold_512, 512);
	fold_consts(fold_384, 384);
	fold_consts(fold_256, 256);
	fold_consts(fold_128, 128);
}

#define FOLD_TARGET __attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.2")))

/* a (each lane) moved on by the distance of k, and XORed into next. */
FOLD_TARGET static inline __m512i fold512(__m512i a, __m512i k, __m512i next)
{
	return _mm512_ternarylogic_epi32(_mm512_clmulepi64_epi128(a, k, 0x00),
					 _mm512_clmulepi64_epi128(a, k, 0x11), next, 0x96);
}

FOLD_TARGET static inline __m128i fold128(__m128i a, const uint64_t k[2], __m128i next)
{
	__m128i kk = _mm_set_epi64x((long long)k[1], (long long)k[0]);
	return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(a, kk, 0x00),
					   _mm_clmulepi64_si128(a, kk, 0x11)), next);
}

FOLD_TARGET static __m512i lanes_of(const uint64_t k[2])
{
	return _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k[1], (long long)k[0]));
}

/* len >= 256. */
FOLD_TARGET static uint32_t crc_fold(uint32_t crc, const uint8_t *p, size_t len)
{
	pthread_once(&fold_once, fold_init);
	const __m512i k2048 = lanes_of(fold_2048), k512 = lanes_of(fold_512);
	__m512i a0 = _mm512_loadu_si512(p), a1 = _mm512_loadu_si512(p + 64),
		a2 = _mm512_loadu_si512(p + 128), a3 = _mm512_loadu_si512(p + 192);
	a0 = _mm512_xor_si512(a0, _mm512_maskz_mov_epi32(1, _mm512_set1_epi32((int)crc)));
	p += 256;
	len -= 256;
	for (; len >= 256; p += 256, len -= 256) {
		a0 = fold512(a0, k2048, _mm512_loadu_si512(p));
		a1 = fold512(a1, k2048, _mm512_loadu_si512(p + 64));
		a2 = fold512(a2, k2048, _mm512_loadu_si512(p + 128));
		a3 = fold512(a3, k2048, _mm512_loadu_si512(p + 192));
	}
	a3 = fold512(fold512(fold512(a0, k512, a1), k512, a2), k512, a3);
	__m128i x = _mm512_extracti32x4_epi32(a3, 3);
	x = fold128(_mm512_extracti32x4_epi32(a3, 0), fold_384, x);
	x = fold128(_mm512_extracti32x4_epi32(a3, 1), fold_256, x);
	x = fold128(_mm512_extracti32x4_epi32(a3, 2), fold_128, x);
	uint8_t last[16];
	_mm_storeu_si128((__m128i *)last, x);
	return run1(run1(0, last, 16), p, len);
}

static bool cpu_folds(void)
{
	/* fold128 takes the 128-bit PCLMULQDQ too: a hypervisor may hide a flag alone */
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") &&
	       __builtin_cpu_supports("pclmul");
}

static bool use_fold(void)
{
	return cpu_choice(&fold_state, cpu_folds);
}

void crc32c_allow_fold(bool allow)
{
	cpu_choice_allow(&fold_state, allow);
}

bool crc32c_folds(void)
{
	return use_fold();
}

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const uint8_t *p,
							     size_t len)
{
	if (len >= FOLD_MIN && use_fold())
		return crc_fold(crc, p, len);
	if (len >= 3 * SHORT_STRIDE) {
		pthread_once(&shift_once, shift_init);
		crc = rounds(crc, &p, &len, LONG_STRIDE, shift_long);
		crc = rounds(crc, &p, &len, SHORT_STRIDE, shift_short);
	}
	return run1(crc, p, len);
}
#else
void crc32c_allow_fold(bool allow)
{
	(void)allow;
}

bool crc32c_folds(void)
{
	return false;
}
#endif

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	crc = ~crc;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc_sse42(crc, p, len);
#endif
	return ~crc_table(crc, p, len);
}
