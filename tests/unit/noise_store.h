/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * noise_store.h - for the unit tests of direct writes (include after cmocka.h): a store of
 * incompressible packets written the same way every time, in chunks of 3 MiB (more than the
 * writer's 2 MiB staging buffer) and, after each of a few syncs, small chunks that leave the
 * next one at an unaligned offset; and the check that two such stores hold the same segment
 * bytes.
 */
#ifndef ECAP_TEST_NOISE_STORE_H
#define ECAP_TEST_NOISE_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static inline char *noise_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	*len = (size_t)ftell(fp);
	rewind(fp);
	char *p = malloc(*len + 1);
	assert_int_equal(fread(p, 1, *len, fp), *len);
	fclose(fp);
	return p;
}

/* The segments of stores a and b are the same files, byte for byte; returns their count. */
static inline size_t noise_same_segments(const char *a, const char *b)
{
	size_t segs = 0;
	for (uint32_t id = 1;; id++) {
		char pa[160], pb[160];
		snprintf(pa, sizeof(pa), "%s/seg-%08u.ecap", a, id);
		snprintf(pb, sizeof(pb), "%s/seg-%08u.ecap", b, id);
		if (access(pa, F_OK)) {
			assert_int_not_equal(access(pb, F_OK), 0);
			return segs;
		}
		size_t la, lb;
		char *da = noise_read_file(pa, &la), *db = noise_read_file(pb, &lb);
		assert_int_equal(la, lb);
		assert_memory_equal(da, db, la);
		free(da);
		free(db);
		segs++;
	}
}

#endif
