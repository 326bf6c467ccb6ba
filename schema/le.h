/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * le.h - explicit little- and big-endian loads and stores.
 *
 * Every on-disk and on-wire integer in ecap is read and written through these helpers,
 * never by casting a struct over bytes: the store format is little-endian whatever the
 * host, and network headers are big-endian.
 */
#ifndef ECAP_LE_H
#define ECAP_LE_H

#include <stdint.h>
#include <string.h>

/*
 * Each value goes through memcpy and, on a big-endian host, a byte swap: the compiler makes
 * one load or store of it. (Written byte by byte, GCC 12 assembled the seven fields of an
 * EPB header with shifts and ORs, about 100 instructions for each packet recorded.)
 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LE_HOST_(bits, v) (v)
#define BE_HOST_(bits, v) __builtin_bswap##bits(v)
#else
#define LE_HOST_(bits, v) __builtin_bswap##bits(v)
#define BE_HOST_(bits, v) (v)
#endif

static inline uint16_t le16_load(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return LE_HOST_(16, v);
}

static inline uint32_t le32_load(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return LE_HOST_(32, v);
}

static inline uint64_t le64_load(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return LE_HOST_(64, v);
}

static inline void le16_store(uint8_t *p, uint16_t v)
{
	v = LE_HOST_(16, v);
	memcpy(p, &v, 2);
}

static inline void le32_store(uint8_t *p, uint32_t v)
{
	v = LE_HOST_(32, v);
	memcpy(p, &v, 4);
}

static inline void le64_store(uint8_t *p, uint64_t v)
{
	v = LE_HOST_(64, v);
	memcpy(p, &v, 8);
}

static inline uint16_t be16_load(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t be32_load(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Eight bytes in network order as one number: comparing two of them compares the bytes as
 * memcmp would. */
static inline uint64_t be64_load(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return BE_HOST_(64, v);
}

static inline uint16_t bswap16_if(uint16_t v, int swap)
{
	return swap ? (uint16_t)(v >> 8 | v << 8) : v;
}

static inline uint32_t bswap32_if(uint32_t v, int swap)
{
	return swap ? __builtin_bswap32(v) : v;
}

#endif
