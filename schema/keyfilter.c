// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyfilter.c - the blocked Bloom filter of keyfilter.h.
 *
 * Format (column `filter` of table chunk_flow_keys, index schema 7):
 *
 *   u8  version          1
 *   u8  k                7: bits set per key
 *   u8  blocks[n][64]    n >= 1 blocks of 512 bits; bit i of a block is bit (i & 7) of its
 *                        byte i >> 3
 *
 * The length is therefore 2 + 64 n; anything else, another version or another k is not a
 * filter, and a reader takes it to hold every key. n = ceil(keys * 10 / 512) for the number of
 * distinct keys (10 bits per key: about 1% false positives), at least 1, at most
 * KEYFILTER_BLOCKS_MAX.
 *
 * A key h (64 bits) sets k bits in one block: the block is (hi32(h) * n) >> 32, and the bits
 * are the seven 9-bit fields, lowest first, of mix(h ^ BITS_SEED). Keys are hashes of their
 * fields (addresses as two little-endian 64-bit words, ports as integers), each kind with its
 * own tag, through mix(): a rebuilt index makes the same bytes on any machine.
 */
#include "keyfilter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KEYFILTER_VERSION 1
#define KEYFILTER_K 7
#define KEYFILTER_HDR 2
#define BLOCK_BYTES 64
#define BITS_PER_KEY 10
#define KEYFILTER_BLOCKS_MAX (1u << 24)
#define BITS_SEED 0x5bd1e9955bd1e995ull

enum { TAG_ADDR = 1, TAG_PORT, TAG_ADDR_PORT };

static uint64_t mix(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return x;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t hash_fields(uint64_t tag, const uint8_t *addr, uint64_t port)
{
	uint64_t h = mix(tag * 0x9e3779b97f4a7c15ull);
	if (addr) {
		h = mix(h ^ le64(addr));
		h = mix(h ^ le64(addr + 8));
	}
	return mix(h ^ port);
}

uint64_t keyfilter_addr(const uint8_t addr[16])
{
	return hash_fields(TAG_ADDR, addr, 0);
}

uint64_t keyfilter_port(uint16_t port)
{
	return hash_fields(TAG_PORT, NULL, port);
}

uint64_t keyfilter_addr_port(const uint8_t addr[16], uint16_t port)
{
	return hash_fields(TAG_ADDR_PORT, addr, port);
}

/* The block of key among n, and its k bit numbers (0..511). */
static size_t block_of(uint64_t key, size_t n, unsigned bits[KEYFILTER_K])
{
	uint64_t g = mix(key ^ BITS_SEED);
	for (int i = 0; i < KEYFILTER_K; i++)
		bits[i] = (unsigned)(g >> (9 * i)) & 511u;
	return (size_t)(((key >> 32) * (uint64_t)n) >> 32);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* keys[0..n) made unique in place, in the order of their first copies; returns how many
 * are left. Open addressing over a table on the stack, twice as large as a chunk's group of
 * keys (FLOW_KEYS_GROUP flows of 6 keys: 384): a tenth of a sort's instructions there
 * (bench_sessions: 1,500 per TLS session); a longer list is sorted instead. */
static size_t make_unique(uint64_t *keys, size_t n)
{
	enum { SLOTS = 1024 };
	size_t m = 0;
	if (n > SLOTS / 2) {
		qsort(keys, n, sizeof(*keys), cmp_u64);
		for (size_t i = 0; i < n; i++)
			if (!m || keys[m - 1] != keys[i])
				keys[m++] = keys[i];
		return m;
	}
	uint64_t set[SLOTS];
	uint8_t used[SLOTS];
	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)((keys[i] * 0x9e3779b97f4a7c15ull) >> 54); /* 10 bits */
		while (used[h] && set[h] != keys[i])
			h = (h + 1) & (SLOTS - 1);
		if (used[h])
			continue;
		used[h] = 1;
		set[h] = keys[i];
		keys[m++] = keys[i];
	}
	return m;
}

int keyfilter_encode(struct buf *b, uint64_t *keys, size_t *n)
{
	size_t m = make_unique(keys, *n);
	*n = m;
	size_t blocks = (m * BITS_PER_KEY + BLOCK_BYTES * 8 - 1) / (BLOCK_BYTES * 8);
	if (blocks < 1)
		blocks = 1;
	if (blocks > KEYFILTER_BLOCKS_MAX)
		blocks = KEYFILTER_BLOCKS_MAX;
	int err = buf_reserve(b, KEYFILTER_HDR + blocks * BLOCK_BYTES);
	if (err)
		return err;
	uint8_t *p = b->data + b->len;
	p[0] = KEYFILTER_VERSION;
	p[1] = KEYFILTER_K;
	memset(p + KEYFILTER_HDR, 0, blocks * BLOCK_BYTES);
	for (size_t i = 0; i < m; i++) {
		unsigned bits[KEYFILTER_K];
		uint8_t *blk = p + KEYFILTER_HDR + block_of(keys[i], blocks, bits) * BLOCK_BYTES;
		for (int j = 0; j < KEYFILTER_K; j++)
			blk[bits[j] >> 3] |= (uint8_t)(1u << (bits[j] & 7));
	}
	b->len += KEYFILTER_HDR + blocks * BLOCK_BYTES;
	return 0;
}

bool keyfilter_may_have(const uint8_t *filter, size_t len, uint64_t key)
{
	if (!filter || len < KEYFILTER_HDR + BLOCK_BYTES || (len - KEYFILTER_HDR) % BLOCK_BYTES ||
	    filter[0] != KEYFILTER_VERSION || filter[1] != KEYFILTER_K ||
	    (len - KEYFILTER_HDR) / BLOCK_BYTES > KEYFILTER_BLOCKS_MAX)
		return true;
	unsigned bits[KEYFILTER_K];
	size_t blocks = (len - KEYFILTER_HDR) / BLOCK_BYTES;
	const uint8_t *blk = filter + KEYFILTER_HDR + block_of(key, blocks, bits) * BLOCK_BYTES;
	for (int j = 0; j < KEYFILTER_K; j++)
		if (!(blk[bits[j] >> 3] & (1u << (bits[j] & 7))))
			return false;
	return true;
}
