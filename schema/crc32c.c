// SPDX-License-Identifier: GPL-2.0-only
/*
 * crc32c.c - CRC-32C (reflected polynomial 0x82F63B78). With SSE4.2 (every x86-64 server of
 * the last decade) the crc32 instruction does 8 bytes a step, on three streams at once for
 * long buffers; elsewhere a table does one byte. Every data block the recorder writes and
 * every block an export reads goes through it.
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

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

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const uint8_t *p,
							     size_t len)
{
	if (len >= 3 * SHORT_STRIDE) {
		pthread_once(&shift_once, shift_init);
		crc = rounds(crc, &p, &len, LONG_STRIDE, shift_long);
		crc = rounds(crc, &p, &len, SHORT_STRIDE, shift_short);
	}
	return run1(crc, p, len);
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
