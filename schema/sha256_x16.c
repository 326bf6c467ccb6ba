// SPDX-License-Identifier: GPL-2.0-only
/*
 * sha256_x16.c - the SHA-256 compression function (FIPS 180-4 6.2.2) on sixteen messages at
 * once in AVX-512 registers (sha256_x16.h): each 512-bit register holds one working variable
 * or schedule word of all sixteen lanes, so a round is the same few instructions for all of
 * them (rotations, three-input logic, additions), with no SHA instruction. On a CPU whose SHA
 * round instruction is a single unit's (sha256_x2.c: four lanes keep it busy), the vector
 * units do more bytes a second this way when most lanes have data (sha256_xn's choice).
 *
 * Each step takes one 64-byte block of every lane: the sixteen blocks are loaded as rows and
 * turned into sixteen columns (schedule word t of every lane) by a 16 x 16 transpose of
 * 32-bit words (interleaves of 32 and 64 bits within 128-bit lanes, then two shuffles of
 * 128-bit lanes), and byte-swapped (the message is big-endian).
 */
#include "sha256_x16.h"

/* FIPS 180-4 4.2.2 */
const uint32_t sha256_round_k[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

#if defined(__x86_64__)
#include <immintrin.h>

#define X16_TARGET __attribute__((target("avx512f,avx512bw")))
#define XOR3 0x96 /* _mm512_ternarylogic_epi32: a ^ b ^ c */
#define CH 0xCA   /* a ? b : c */
#define MAJ 0xE8  /* the majority of a, b, c */

bool sha256_x16_cpu(void)
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

/* Rows r[0..15] (lane l's 64 bytes in r[l]) into columns: r[t] holds word t of every lane. */
X16_TARGET static void transpose(__m512i r[16])
{
	__m512i a[16], b[16];
	for (int k = 0; k < 16; k += 2) {
		a[k] = _mm512_unpacklo_epi32(r[k], r[k + 1]);
		a[k + 1] = _mm512_unpackhi_epi32(r[k], r[k + 1]);
	}
	for (int m = 0; m < 16; m += 4) {
		b[m] = _mm512_unpacklo_epi64(a[m], a[m + 2]);
		b[m + 1] = _mm512_unpackhi_epi64(a[m], a[m + 2]);
		b[m + 2] = _mm512_unpacklo_epi64(a[m + 1], a[m + 3]);
		b[m + 3] = _mm512_unpackhi_epi64(a[m + 1], a[m + 3]);
	}
	/* b[4m + q], 128-bit lane L: rows 4m..4m+3 at column 4L + q */
	for (int q = 0; q < 4; q++) {
		__m512i u0 = _mm512_shuffle_i32x4(b[q], b[4 + q], 0x44);
		__m512i u1 = _mm512_shuffle_i32x4(b[q], b[4 + q], 0xEE);
		__m512i u2 = _mm512_shuffle_i32x4(b[8 + q], b[12 + q], 0x44);
		__m512i u3 = _mm512_shuffle_i32x4(b[8 + q], b[12 + q], 0xEE);
		r[q] = _mm512_shuffle_i32x4(u0, u2, 0x88);
		r[4 + q] = _mm512_shuffle_i32x4(u0, u2, 0xDD);
		r[8 + q] = _mm512_shuffle_i32x4(u1, u3, 0x88);
		r[12 + q] = _mm512_shuffle_i32x4(u1, u3, 0xDD);
	}
}

/* The rotations' counts must be constants (clang checks it before inlining): macros. */
#define SIGMA(x, r1, r2, r3) \
	_mm512_ternarylogic_epi32(_mm512_ror_epi32(x, r1), _mm512_ror_epi32(x, r2), \
				  _mm512_ror_epi32(x, r3), XOR3)
#define SMALL_SIGMA(x, r1, r2, sh) \
	_mm512_ternarylogic_epi32(_mm512_ror_epi32(x, r1), _mm512_ror_epi32(x, r2), \
				  _mm512_srli_epi32(x, sh), XOR3)

X16_TARGET void sha256_x16_blocks(uint32_t s[8][16], const uint8_t *p[16], uint16_t advance,
				  size_t n)
{
	const __m512i bswap = _mm512_broadcast_i32x4(
		_mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL));
	__m512i v[8];
	for (int j = 0; j < 8; j++)
		v[j] = _mm512_loadu_si512(s[j]);
	for (; n; n--) {
		__m512i w[16];
		for (int l = 0; l < 16; l++) {
			w[l] = _mm512_loadu_si512(p[l]);
			if (advance >> l & 1)
				p[l] += 64;
		}
		transpose(w);
		for (int t = 0; t < 16; t++)
			w[t] = _mm512_shuffle_epi8(w[t], bswap);
		__m512i a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6],
			h = v[7];
		for (int t = 0; t < 64; t++) {
			if (t >= 16) { /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] */
				__m512i s0 = SMALL_SIGMA(w[(t - 15) & 15], 7, 18, 3);
				__m512i s1 = SMALL_SIGMA(w[(t - 2) & 15], 17, 19, 10);
				w[t & 15] = _mm512_add_epi32(_mm512_add_epi32(w[t & 15], s0),
							     _mm512_add_epi32(w[(t - 7) & 15], s1));
			}
			__m512i wk = _mm512_add_epi32(w[t & 15],
						      _mm512_set1_epi32((int)sha256_round_k[t]));
			__m512i t1 = _mm512_add_epi32(
				_mm512_add_epi32(h, SIGMA(e, 6, 11, 25)),
				_mm512_add_epi32(_mm512_ternarylogic_epi32(e, f, g, CH), wk));
			__m512i t2 = _mm512_add_epi32(SIGMA(a, 2, 13, 22),
						      _mm512_ternarylogic_epi32(a, b, c, MAJ));
			h = g;
			g = f;
			f = e;
			e = _mm512_add_epi32(d, t1);
			d = c;
			c = b;
			b = a;
			a = _mm512_add_epi32(t1, t2);
		}
		v[0] = _mm512_add_epi32(v[0], a);
		v[1] = _mm512_add_epi32(v[1], b);
		v[2] = _mm512_add_epi32(v[2], c);
		v[3] = _mm512_add_epi32(v[3], d);
		v[4] = _mm512_add_epi32(v[4], e);
		v[5] = _mm512_add_epi32(v[5], f);
		v[6] = _mm512_add_epi32(v[6], g);
		v[7] = _mm512_add_epi32(v[7], h);
	}
	for (int j = 0; j < 8; j++)
		_mm512_storeu_si512(s[j], v[j]);
}

#else
bool sha256_x16_cpu(void)
{
	return false;
}

void sha256_x16_blocks(uint32_t s[8][16], const uint8_t *p[16], uint16_t advance, size_t n)
{
	(void)s;
	(void)p;
	(void)advance;
	(void)n;
}
#endif
