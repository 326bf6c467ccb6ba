/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * u32scan.h - whether an array of 32-bit values holds a given one, eight at a time with SSE2
 * (every x86-64), one at a time elsewhere and for the last few.
 *
 * A read of one flow (store_read.c, read_flow_blocks) asks it of the packet flows of every
 * block of each chunk it opens, about 1,500 values a chunk: one by one with an early exit that
 * was about 10,000 instructions a chunk, a tenth of the cost of reading it.
 */
#ifndef ECAP_U32SCAN_H
#define ECAP_U32SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Whether v[0..n) holds x. v needs no alignment. */
static inline bool u32_holds(const uint32_t *v, size_t n, uint32_t x)
{
	size_t i = 0;
#ifdef __SSE2__
	const __m128i want = _mm_set1_epi32((int)x);
	for (; i + 8 <= n; i += 8) {
		__m128i a = _mm_loadu_si128((const __m128i *)(v + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(v + i + 4));
		__m128i eq = _mm_or_si128(_mm_cmpeq_epi32(a, want), _mm_cmpeq_epi32(b, want));
		if (_mm_movemask_epi8(eq))
			return true;
	}
#endif
	for (; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

#endif
