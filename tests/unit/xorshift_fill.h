/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xorshift_fill.h - test input: n bytes of xorshift64 (13, 7, 17) from a seed, one byte per
 * step, so every test that hashes "random" bytes against a reference gets them the same way.
 */
#ifndef ECAP_TEST_XORSHIFT_FILL_H
#define ECAP_TEST_XORSHIFT_FILL_H

#include <stddef.h>
#include <stdint.h>

static inline void xorshift_fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

#endif
