// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_segment.c - libFuzzer target for the store's segment and chunk reader (schema/
 * segment.c, chunkmeta.c, chunk_view.c), the code that reads segment files back for
 * export, recovery, rebuild and fsck.
 *
 * Each input is used six ways:
 *  1. as a whole segment file (in a memfd) scanned front to back as ecap-fsck does:
 *     segment_read_pad() (a padding frame accepted must end on a page boundary inside the
 *     file), segment_read_chunk(), segment_decompress(), chunk_view_parse(), the DSB lines,
 *     and segment_resync() past damage;
 *  2. chunkmeta_decode() directly, with the metadata checksum fixed up so that the body
 *     decoder is reached;
 *  3. as "metadata frame, then a raw pcapng section": the harness fixes the checksum,
 *     compresses the section into an LZ4 frame as the writer does and writes both frames
 *     as a one-chunk segment, so the pcapng walk behind the checksums is fuzzed too;
 *  4. that chunk again with the input's own decompressed size in its (re-checksummed)
 *     metadata header: a size that lies must not drive an allocation;
 *  5. the input as a segment again with its first metadata checksum fixed and the data
 *     frame as is, so that block lists (section 7) that lie about a real frame of blocks
 *     reach the block readers (seeds with an uncompressed metadata body help there).
 *  6. that again with each block's CRC-32C of the first chunk recomputed from what the block
 *     decodes to (uncompressed metadata bodies only), so that hostile pcapng inside the
 *     blocks of a frame reaches the per-block walks.
 * Chunks made of blocks are also read block by block, some blocks left out, as an export
 * of some flows does, and through their read plan (segment_read_plan) as it reads them, and
 * their blocks before the first packet alone, as the reader of secrets does.
 * A chunk that is accepted must be readable packet by packet within its bytes.
 */
#define LZ4F_STATIC_LINKING_ONLY
#include <errno.h>
#include <stdbool.h>
#include <lz4.h>
#include <lz4frame.h>
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chunk.h"
#include "crc32c.h"
#include "le.h"
#include "lz4blocks.h"
#include "segment.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;

static int count_secret(const struct tls_secret *sec, void *ctx)
{
	(*(size_t *)ctx)++;
	return sec->secret_len > ECAP_SECRET_MAX ? -EINVAL : 0;
}

static void read_all_packets(struct chunk_view *v)
{
	struct ecap_packet pkt;
	volatile uint8_t sink = 0;
	uint64_t key, prev = 0;
	v->pos = 0;
	while (chunk_view_peek_key(v, &key)) {
		if (chunk_view_next(v, &pkt) != 1 || pkt.ts_ns > key || key < prev)
			abort(); /* packets come out in key order, a key never below its time */
		prev = key;
		if ((const uint8_t *)pkt.data < v->raw.data ||
		    (const uint8_t *)pkt.data + pkt.caplen > v->raw.data + v->raw.len)
			abort();
		for (uint32_t i = 0; i < pkt.caplen; i++)
			sink ^= pkt.data[i];
	}
	size_t n = 0;
	chunk_view_walk_secrets(v, count_secret, &n);
	(void)sink;
}

/* Like an export of some flows: the blocks marked in want (block 0 always), the packets of
 * every other chunk-local flow; have: the chunk's bytes read already (NULL: none). */
static void read_blocks(struct chunk_view *v, unsigned step, const struct buf *have)
{
	const struct chunk_meta *m = &v->meta;
	size_t n_local = m->plan_only ? m->plan_flows : m->n_flowstats;
	uint8_t *want = calloc(m->n_blocks + 1, 1);
	uint64_t *keep = calloc(n_local + 1, sizeof(*keep));
	struct buf scratch = { 0 };
	const char *why = NULL;
	if (!want || !keep || !chunk_view_place_blocks(v, m->n_blocks))
		abort();
	for (size_t i = 0; i < m->n_blocks; i += step)
		want[i] = 1;
	for (size_t i = 0; i < n_local; i += 2)
		keep[i] = m->plan_only ? i + 1 : m->flowstats[i].flow_id;
	for (size_t i = 0; i < m->n_flowdir; i++) /* a plan's wanted flows */
		keep[m->flowdir[i].local] = m->flowdir[i].flow_id;
	if (!segment_read_blocks(memfd, m, want, have, &scratch, &v->raw, v->block_at, &why)) {
		/* raw holds the blocks read, one after the other: reading past them is a bug */
		ASAN_POISON_MEMORY_REGION(v->raw.data + v->raw.len, v->raw.cap - v->raw.len);
		if (!chunk_view_parse_blocks(v, want, keep, &why))
			read_all_packets(v);
		ASAN_UNPOISON_MEMORY_REGION(v->raw.data, v->raw.cap);
	}
	free(want);
	free(keep);
	buf_free(&scratch);
}

static void read_some_blocks(struct chunk_view *v)
{
	read_blocks(v, 1, NULL);
	read_blocks(v, 2, &v->frames); /* frames holds the whole chunk */
}

/* As an export reads a chunk's secrets: the blocks before its first packet alone. */
static void read_head(struct chunk_view *v, const struct buf *have)
{
	uint8_t *want = calloc(v->meta.n_blocks + 1, 1);
	struct buf scratch = { 0 };
	const char *why = NULL;
	if (!want || !chunk_view_place_blocks(v, v->meta.n_blocks))
		abort();
	size_t end = chunk_head_blocks(&v->meta, want);
	if (!segment_read_blocks(memfd, &v->meta, want, have, &scratch, &v->raw, v->block_at,
				 &why) &&
	    !chunk_view_parse_head(v, end, &why)) {
		size_t n = 0;
		if (v->n_pkts)
			abort(); /* no packet is listed from the head */
		chunk_view_walk_secrets(v, count_secret, &n);
	}
	free(want);
	buf_free(&scratch);
}

/* As an export of some flows reads a chunk: its read plan (the metadata's first part), then
 * blocks, from the bytes read with the plan where they are among them. */
static void read_plan(uint64_t off, size_t size, uint32_t length)
{
	struct chunk_view v = { 0 };
	const char *why = NULL;
	static const uint64_t ids[] = { 1, 2, 3, 5, 8, 13, 1000, UINT64_MAX };
	const struct chunkmeta_want want = { .flow_ids = ids, .n = length % 9,
					     .digest_only = length % 7 == 1 };
	long r = segment_read_plan(memfd, off, size, length, &want, &v.meta, &v.frames, &why);
	if (r > 0 && (v.meta.offset != off || v.meta.length != (uint32_t)r ||
		      v.frames.len < (size_t)r - v.meta.data_len))
		abort();
	if (r < 0 && r != -ENODATA && r != -EBADMSG)
		abort();
	/* the proof's peek at the frame's first bytes */
	uint8_t head[1024];
	ssize_t got = pread(memfd, head, sizeof(head) < size - off ? sizeof(head) : size - off,
			    (off_t)off);
	struct chunk_meta peek = { 0 };
	long pr = got > 0 ? chunkmeta_peek_digest(head, (size_t)got, &peek, &why) : 0;
	if (pr < 0 && pr != -ENODATA && pr != -ENOENT && pr != -EBADMSG && pr != -ENOMEM)
		abort();
	chunkmeta_free(&peek);
	if (r > 0 && (v.meta.flags & CHUNKMETA_FLAG_BLOCKS) && !want.digest_only) {
		struct buf have = v.frames;
		v.frames = (struct buf){ 0 };
		read_blocks(&v, 1, &have);
		read_blocks(&v, 3, &have);
		read_head(&v, &have);
		buf_free(&have);
	}
	chunk_view_free_contents(&v);
}

/* Like ecap-fsck: every chunk of the file, resynchronising after damage. */
static void scan_segment(size_t size)
{
	struct chunk_view v = { 0 };
	uint64_t off = 0;
	unsigned guard = 0;
	while (off < size && guard++ < 10000) {
		const char *why = NULL;
		long r = segment_read_pad(memfd, off, size, &why);
		if (r > 0) {
			if (r < 8 || r > SEGMENT_PAD_MAX || off + (uint64_t)r > size ||
			    (off + (uint64_t)r) % SEGMENT_PAD_ALIGN)
				abort(); /* a padding frame ends on a page boundary, in the file */
			off += (uint64_t)r;
			continue;
		}
		if (r == 0)
			r = segment_read_chunk(memfd, off, size, &v.meta, &v.frames, &why);
		if (r > 0) {
			if (v.meta.length != (uint32_t)r || v.meta.offset != off ||
			    off + (uint64_t)r > size)
				abort();
			if (!segment_decompress(&v.meta, &v.frames, &v.raw, &why) &&
			    !chunk_view_parse(&v, &why))
				read_all_packets(&v);
			if (v.meta.flags & CHUNKMETA_FLAG_BLOCKS)
				read_some_blocks(&v);
			read_plan(off, size, (uint32_t)r);
			read_plan(off, size, 0);
			off += (uint64_t)r;
			continue;
		}
		if (r != -ENODATA && r != -EBADMSG)
			abort(); /* reading a memfd cannot fail otherwise */
		if (r == -EBADMSG && !why)
			abort(); /* damage is always explained */
		if (r == -ENODATA)
			break;
		uint64_t next = segment_resync(memfd, off + 1, size);
		if (next <= off || next > size)
			abort();
		off = next;
	}
	chunk_view_free_contents(&v);
}

static int put_file(const uint8_t *p, size_t n)
{
	if (ftruncate(memfd, 0) || (n && pwrite(memfd, p, n, 0) != (ssize_t)n))
		return -EIO;
	return 0;
}

/* Recompute the metadata checksum of a frame at p (n bytes); returns the frame length. */
static size_t fix_meta(uint8_t *p, size_t n)
{
	if (n < 8 + CHUNKMETA_HEADER_LEN || le32_load(p) != 0x184D2A5Eu)
		return 0;
	size_t flen = 8 + (size_t)le32_load(p + 4);
	if (flen > n || flen < 8 + CHUNKMETA_HEADER_LEN)
		return 0;
	uint8_t *h = p + 8;
	size_t body = flen - 8 - CHUNKMETA_HEADER_LEN;
	le32_store(h + 56, (uint32_t)body);
	le32_store(h + 60, crc32c(crc32c(0, h, 60), h + CHUNKMETA_HEADER_LEN, body));
	return flen;
}

/* For a first chunk made of blocks whose metadata body is stored uncompressed: set the
 * CRC-32C of each block that decodes to its listed size to that of what it decodes to, then
 * fix the metadata checksum; so that hostile pcapng inside blocks (EPBs across block ends,
 * headers in later blocks) reaches the per-block walks. Returns whether it could. */
static bool fix_block_crcs(uint8_t *p, size_t n)
{
	if (n < 8 + CHUNKMETA_HEADER_LEN || le32_load(p) != 0x184D2A5Eu)
		return false;
	size_t flen = 8 + (size_t)le32_load(p + 4);
	uint8_t *h = p + 8;
	uint32_t flags = le32_load(h + 48), data_len = le32_load(h + 44);
	if (flen > n || flen < 8 + CHUNKMETA_HEADER_LEN || (flags & CHUNKMETA_FLAG_BODY_LZ4) ||
	    !(flags & CHUNKMETA_FLAG_BLOCKS) || data_len > n - flen)
		return false;
	const uint8_t *frame = p + flen;
	uint8_t *s = h + CHUNKMETA_HEADER_LEN, *end = p + flen;
	uint8_t *tmp = malloc(LZ4BLOCKS_MAX);
	if (!tmp)
		return false;
	while (end - s >= 12) {
		uint32_t count = le32_load(s + 4), blen = le32_load(s + 8);
		bool blocks = le16_load(s) == 7;
		s += 12;
		if (blen > (size_t)(end - s))
			break;
		for (uint32_t i = 0; blocks && (uint64_t)count * 28 == blen && i < count; i++) {
			uint8_t *e = s + 28 * (size_t)i;
			uint32_t raw_len = le32_load(e + 4), off = le32_load(e + 8);
			uint32_t len = le32_load(e + 12);
			if (raw_len == 0 || raw_len > LZ4BLOCKS_MAX || len < 5 || off > data_len ||
			    len > data_len - off)
				continue;
			uint32_t word = le32_load(frame + off), stored = word & 0x7FFFFFFFu;
			if (stored != len - 4)
				continue;
			const uint8_t *raw = frame + off + 4;
			if (!(word & 0x80000000u)) {
				if (LZ4_decompress_safe((const char *)raw, (char *)tmp, (int)stored,
							(int)raw_len) != (int)raw_len)
					continue;
				raw = tmp;
			} else if (stored != raw_len) {
				continue;
			}
			le32_store(e + 24, crc32c(0, raw, raw_len));
		}
		s += blen;
	}
	free(tmp);
	fix_meta(p, n);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (memfd < 0 && (memfd = memfd_create("fuzz-segment", MFD_CLOEXEC)) < 0)
		abort();
	if (size > (1u << 20))
		return 0;

	/* 1: the bytes as they are */
	if (put_file(data, size))
		abort();
	scan_segment(size);

	/* 2 and 3: with a valid checksum and a compressed data frame */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	size_t mlen = fix_meta(copy, size);
	if (!mlen) {
		free(copy);
		return 0;
	}
	struct chunk_meta m = { 0 };
	const char *why;
	long r = chunkmeta_decode(copy, mlen, &m, &why);
	if (r != 0 && r != (long)mlen && r != -EBADMSG && r != -ENOMEM)
		abort();
	chunkmeta_free(&m);
	/* 5: the segment with its first chunk's metadata checksum fixed and its data frame as
	 * is: metadata that lies about the blocks of a real data frame */
	if (memcmp(copy, data, mlen)) {
		if (put_file(copy, size))
			abort();
		scan_segment(size);
	}
	/* 6: that again with each block's CRC-32C made to match what it decodes to */
	uint8_t *crcs = malloc(size);
	if (crcs) {
		memcpy(crcs, copy, size);
		if (fix_block_crcs(crcs, size) && memcmp(crcs, copy, mlen)) {
			if (put_file(crcs, size))
				abort();
			scan_segment(size);
		}
		free(crcs);
	}

	const uint8_t *raw = copy + mlen;
	size_t raw_len = size - mlen;
	LZ4F_preferences_t prefs = { 0 };
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	prefs.frameInfo.contentSize = raw_len;
	size_t bound = LZ4F_compressFrameBound(raw_len, &prefs);
	uint8_t *seg = malloc(mlen + bound);
	if (!seg) {
		free(copy);
		return 0;
	}
	size_t dlen = LZ4F_compressFrame(seg + mlen, bound, raw, raw_len, &prefs);
	if (LZ4F_isError(dlen))
		abort();
	memcpy(seg, copy, mlen);
	le32_store(seg + 8 + 40, (uint32_t)raw_len);
	le32_store(seg + 8 + 44, (uint32_t)dlen);
	fix_meta(seg, mlen);
	if (put_file(seg, mlen + dlen))
		abort();
	scan_segment(mlen + dlen);
	/* 4: the same chunk with the input's own raw_len: a metadata header whose checksum
	 * holds but whose decompressed size lies */
	uint32_t claimed = le32_load(copy + 8 + 40);
	if (claimed != raw_len) {
		le32_store(seg + 8 + 40, claimed);
		fix_meta(seg, mlen);
		if (put_file(seg, mlen + dlen))
			abort();
		scan_segment(mlen + dlen);
	}
	free(seg);
	free(copy);
	return 0;
}
