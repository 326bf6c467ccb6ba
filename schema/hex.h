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

/* Lower-case hex of n bytes into out (2n characters, no NUL); returns out + 2n. */
static inline char *hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		*out++ = digits[p[i] >> 4];
		*out++ = digits[p[i] & 15];
	}
	return out;
}

#endif
