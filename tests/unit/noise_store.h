/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * noise_store.h - for the unit tests of direct writes (include after cmocka.h): a store of
 * incompressible packets written the same way every time, in chunks of 3 MiB (more than the
 * writer's 2 MiB staging buffer) and, after each of a few syncs, small chunks that leave the
 * next one at an unaligned offset; and the check that two such stores hold the same chunks,
 * byte for byte (those written directly end on a page boundary, padded: chunkmeta.c).
 */
#ifndef ECAP_TEST_NOISE_STORE_H
#define ECAP_TEST_NOISE_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "segment.h"
#include "store.h"

#define NOISE_PACKETS 30000u
#define NOISE_T0 (1764140400ull * 1000000000ull)

/* Options for noise_store_write: the writer on the caller's thread, so that no chunk is
 * compressed ahead and the bytes depend on the packets alone. */
static inline void noise_store_options(struct store_options *o, bool buffered)
{
	store_options_default(o);
	o->quiet = true;
	o->chunk_bytes = 3u << 20;
	o->segment_bytes = 16u << 20;
	o->buffered_writes = buffered;
	o->sync_writer = true;
}

/* Writes packets [from, to) (a store reopened: its writer goes on at the segment's end);
 * *ws gets the writer's counts. */
static inline void noise_store_write_range(const char *dir, const struct store_options *o,
					   struct store_stats *ws, uint32_t from, uint32_t to)
{
	struct store *s;
	assert_int_equal(store_open(dir, STORE_WRITE, o, &s), 0);
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	uint32_t ifid;
	assert_int_equal(store_add_interface(s, &ifc, &ifid), 0);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t data[1400];
	for (uint32_t i = 0; i < to; i++) {
		uint32_t len = i % 97 == 0 ? 61 : sizeof(data);
		for (uint32_t k = 0; k < len; k += 8) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			memcpy(data + k, &x, len - k < 8 ? len - k : 8);
		}
		if (i < from)
			continue; /* the generator's state as it was at packet `from` */
		struct ecap_packet p = { .ts_ns = NOISE_T0 + i * 1000ull, .iface = ifid,
					 .caplen = len, .origlen = len, .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
		if (i % 7001 == 7000)
			assert_int_equal(store_sync(s), 0);
	}
	assert_int_equal(store_sync(s), 0);
	store_writer_stats(s, ws);
	assert_int_equal(store_close(s), 0);
}

static inline void noise_store_write(const char *dir, const struct store_options *o,
				     struct store_stats *ws)
{
	noise_store_write_range(dir, o, ws, 0, NOISE_PACKETS);
}

/* Every chunk of store dir, its frames' bytes one after the other in segment and file
 * order (*len bytes, malloc'ed), the padding frames between them left out; *chunks and *pads
 * count them. Every byte of the segments must be a chunk or a padding frame. */
static inline uint8_t *noise_chunk_bytes(const char *dir, size_t *len, size_t *chunks,
					 size_t *pads)
{
	uint8_t *all = NULL;
	size_t cap = 0;
	*len = *chunks = *pads = 0;
	struct chunk_meta m = { 0 };
	struct buf frames = { 0 };
	for (uint32_t id = 1;; id++) {
		char path[160];
		snprintf(path, sizeof(path), "%s/seg-%08u.ecap", dir, id);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		uint64_t size = (uint64_t)lseek(fd, 0, SEEK_END);
		for (uint64_t off = 0; off < size;) {
			const char *why = NULL;
			long r = segment_read_pad(fd, off, size, &why);
			if (r > 0) {
				(*pads)++;
				off += (uint64_t)r;
				continue;
			}
			assert_int_equal(r, 0);
			r = segment_read_chunk(fd, off, size, &m, &frames, &why);
			if (r <= 0)
				fail_msg("%s: offset %llu: %s", path, (unsigned long long)off,
					 why ? why : strerror((int)-r));
			if (*len + (size_t)r > cap) {
				/* doubled, not grown by a chunk: ASan's realloc copies every time */
				cap = 2 * (*len + (size_t)r);
				all = realloc(all, cap);
				assert_non_null(all);
			}
			memcpy(all + *len, frames.data, (size_t)r);
			*len += (size_t)r;
			(*chunks)++;
			off += (uint64_t)r;
		}
		close(fd);
	}
	chunkmeta_free(&m);
	buf_free(&frames);
	return all;
}

/* Stores a and b hold the same chunks, byte for byte, in the same order (the padding frames
 * of direct writes, and so where segments end, may differ); returns their count, and the
 * padding frames of each in *pads_a, *pads_b (may be NULL). */
static inline size_t noise_same_chunks(const char *a, const char *b, size_t *pads_a,
				       size_t *pads_b)
{
	size_t la, lb, ca, cb, pa, pb;
	uint8_t *da = noise_chunk_bytes(a, &la, &ca, &pa);
	uint8_t *db = noise_chunk_bytes(b, &lb, &cb, &pb);
	assert_int_equal(ca, cb);
	assert_int_equal(la, lb);
	assert_memory_equal(da, db, la);
	free(da);
	free(db);
	if (pads_a)
		*pads_a = pa;
	if (pads_b)
		*pads_b = pb;
	return ca;
}

#endif
