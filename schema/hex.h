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

/* Lower-case hex of n bytes into out (2n characters, no NUL); returns out + 2n. */
static inline char *hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char pairs[256][2] = { HEX_PAIRS64_(0), HEX_PAIRS64_(64), HEX_PAIRS64_(128),
					    HEX_PAIRS64_(192) };
	for (size_t i = 0; i < n; i++, out += 2)
		memcpy(out, pairs[p[i]], 2);
	return out;
}

#endif
