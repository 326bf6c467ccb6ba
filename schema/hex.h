/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hex.h - hexadecimal digits, as key log lines and /proc files spell bytes: one decoder and
 * one encoder for every parser and writer of them.
 */
#ifndef ECAP_HEX_H
#define ECAP_HEX_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* 0..15, or -1 when c is not a hex digit (either case). */
static inline int hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode `digits` hex digits (an even count) into digits / 2 bytes. 0 or -EINVAL. */
static inline int hex_decode(const char *s, size_t digits, uint8_t *out)
{
	for (size_t i = 0; i + 1 < digits; i += 2) {
		int hi = hex_digit_value(s[i]), lo = hex_digit_value(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Each byte's two lower-case digits: the store writes five key log lines per TLS session,
 * 128 digits each, and a table of pairs takes one load and one store per byte. */
#define HEX_DIGIT_(d) ((d) < 10 ? '0' + (d) : 'a' + (d) - 10)
#define HEX_PAIR_(n) { HEX_DIGIT_((n) >> 4), HEX_DIGIT_((n) & 15) }
#define HEX_PAIRS4_(n) HEX_PAIR_(n), HEX_PAIR_((n) + 1), HEX_PAIR_((n) + 2), HEX_PAIR_((n) + 3)
#define HEX_PAIRS16_(n) \
	HEX_PAIRS4_(n), HEX_PAIRS4_((n) + 4), HEX_PAIRS4_((n) + 8), HEX_PAIRS4_((n) + 12)
#define HEX_PAIRS64_(n) \
	HEX_PAIRS16_(n), HEX_PAIRS16_((n) + 16), HEX_PAIRS16_((n) + 32), HEX_PAIRS16_((n) + 48)

#if defined(__SSE2__)
/* 16 nibbles (one per byte of v, 0..15) as their digits: '0' + v, and 'a' - '0' - 10 more
 * where v > 9. */
static inline __m128i hex_digits16_(__m128i v)
{
	__m128i above9 = _mm_cmpgt_epi8(v, _mm_set1_epi8(9));
	return _mm_add_epi8(_mm_add_epi8(v, _mm_set1_epi8('0')),
			    _mm_and_si128(above9, _mm_set1_epi8('a' - '0' - 10)));
}
#endif

/* Lower-case hex of n bytes into out (2n characters, no NUL); returns out + 2n. With SSE2
 * (every x86-64) 16 bytes at a time: a key log line's random and secret are 32 and 32-48
 * bytes, 5 lines per TLS session. */
static inline char *hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char pairs[256][2] = { HEX_PAIRS64_(0), HEX_PAIRS64_(64), HEX_PAIRS64_(128),
					    HEX_PAIRS64_(192) };
	size_t i = 0;
#if defined(__SSE2__)
	for (; i + 16 <= n; i += 16, out += 32) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i lo = hex_digits16_(_mm_and_si128(v, _mm_set1_epi8(0x0f)));
		__m128i hi = hex_digits16_(_mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f)));
		_mm_storeu_si128((__m128i *)(void *)out, _mm_unpacklo_epi8(hi, lo));
		_mm_storeu_si128((__m128i *)(void *)(out + 16), _mm_unpackhi_epi8(hi, lo));
	}
#endif
	for (; i < n; i++, out += 2)
		memcpy(out, pairs[p[i]], 2);
	return out;
}

#endif
