/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * decimal.h - an unsigned number in decimal digits, as snprintf("%" PRIu64) writes it, without
 * printf's format parsing: for the writers that spell a number on a path taken often or cold
 * (an exec record's pid, a chunk's id in its section header). One writer for all of them.
 */
#ifndef ECAP_DECIMAL_H
#define ECAP_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define DECIMAL_U64_MAX 21 /* "18446744073709551615" and its NUL */

/* v's digits and a NUL into out; the count of digits. */
static inline size_t decimal_u64(char out[DECIMAL_U64_MAX], uint64_t v)
{
	char rev[DECIMAL_U64_MAX - 1];
	size_t n = 0, i;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	out[n] = '\0';
	return n;
}

#endif
