/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hash_words.h - a 64-bit hash of bytes in memory, for the recorder's own tables (never
 * stored): the TLS secrets' fingerprints and the handshakes seen (live_tls.c).
 *
 * Each 8-byte word (host order; the last one zero-filled) is mixed in as
 * h = (h ^ w) * K; h ^= h >> 32. One such chain costs a multiply's latency per word, so
 * from 32 bytes on four chains (lanes) take the words in turn, each from the seed xored with
 * a lane constant, and are mixed into the first at the end in lane order: a handshake's
 * 376 bytes are 12 steps deep instead of 47. Words past the last whole round go to lane 0.
 */
#ifndef ECAP_HASH_WORDS_H
#define ECAP_HASH_WORDS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t hash_words_step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	return h ^ h >> 32;
}

static inline uint64_t hash_words(uint64_t h, const uint8_t *p, size_t n)
{
	uint64_t l1 = h ^ 0x243f6a8885a308d3ull, l2 = h ^ 0x13198a2e03707344ull,
		 l3 = h ^ 0xa4093822299f31d0ull, w[4];
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		memcpy(w, p + i, 32);
		h = hash_words_step(h, w[0]);
		l1 = hash_words_step(l1, w[1]);
		l2 = hash_words_step(l2, w[2]);
		l3 = hash_words_step(l3, w[3]);
	}
	if (i) {
		h = hash_words_step(h, l1);
		h = hash_words_step(h, l2);
		h = hash_words_step(h, l3);
	}
	for (; i + 8 <= n; i += 8) {
		memcpy(w, p + i, 8);
		h = hash_words_step(h, w[0]);
	}
	if (i < n) {
		w[0] = 0;
		memcpy(w, p + i, n - i);
		h = hash_words_step(h, w[0]);
	}
	return h;
}

#endif
