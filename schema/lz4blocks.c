// SPDX-License-Identifier: GPL-2.0-only
/*
 * lz4blocks.c - writing and reading the LZ4 data frame of a chunk block by block.
 *
 * FORMAT: a standard LZ4 frame (the LZ4 Frame Format Description, v1.6.x), so that
 * `lz4 -dc` decodes a segment as is:
 *
 *   u32 0x184D2204   magic
 *   u8  FLG 0x68     version 01, blocks independent, no block checksum, content size
 *                    present, no content checksum, no dictionary id
 *   u8  BD  0x50     block maximum size 256 KiB
 *   u64 content size (raw bytes of the whole frame)
 *   u8  HC           header checksum: bits 8-15 of the XXH32 (seed 0) of FLG, BD and the
 *                    content size (header_checksum: the xxHash specification's 32-bit hash,
 *                    for inputs under 16 bytes; unit.chunk_blocks compares it with liblz4's)
 *   blocks, each:  u32 size word (bit 31 set: the bytes are stored as is; else they are an
 *                  LZ4 block), then that many bytes. Each block decodes alone (independent
 *                  blocks: no match reaches into an earlier block).
 *   u32 0            end mark
 *
 * Checksums live outside the frame: the caller keeps a CRC-32C of each block's raw bytes (in
 * the chunk metadata), which reading one block can verify after decoding it, where an LZ4
 * content checksum would need the whole frame. The recorder computes it once per block, as
 * soon as the block is complete, while its bytes are still in the cache.
 *
 * A frame being written (lz4blocks_put_frame) is held in pieces: its own buffer, and the
 * bytes of blocks stored as is, which stay where the caller has them and are written from
 * there (lz4blocks_frame_iov), so that incompressible data is not copied once more.
 *
 * Incompressible data: when a block does not shrink by 1/32, the next `backoff` blocks are
 * stored without an attempt, and backoff doubles (up to SKIP_MAX) for as long as the attempts
 * keep failing; one block that compresses resets it.
 *
 * Barely compressible data (TLS records: random bytes between packet headers that repeat, a
 * block saving less than 1/8): LZ4's default search costs about 7 instructions per byte to
 * save a few percent. Such blocks switch the writer to ACCEL_FAST, LZ4's acceleration factor,
 * which skips ahead faster where it finds no match (about 3 instructions per byte here) and
 * still finds the headers' repeats (blocks of FAST_MIN_LEN bytes or more only). A block that
 * saves 1/8 or more at that speed, or every RETRY_DEFAULT-th attempt, goes back to the default
 * search, so text and headers compress as before. A block that the fast search cannot shrink
 * by 1/32 makes the next block go without an attempt, and the one after it is tried at the
 * fast search again (the default search every RETRY_DEFAULT-th attempt): data that only the
 * default search shrinks (by less than 1/8: whole frames of random bytes, where it saves about
 * 5% at 0.65 ns a byte against 1.4% at 0.15 ns) costs a fast attempt every other block instead
 * of a default one every third. That skip does not grow as the back-off does: a block that
 * does compress (a text packet among TLS records) is tried at the latest one block later.
 * The acceleration changes only the search: the blocks are LZ4 blocks as any, and readers need
 * not know.
 *
 * Text blocks (lz4blocks_put_text: a chunk's section header; lz4blocks_put_keylog: its key
 * log; a small share of its bytes that always compresses) are always tried, outside all of the
 * above: a run of incompressible packets does not store the key log as is, and the key log
 * does not reset the packets' back-off. The section header takes the default search. The key
 * log takes ACCEL_KEYLOG: it is hex digits whose repeats (the labels, and a session's client
 * random on each of its lines) are long, and the acceleration skips only through the random
 * secrets between them. On 16 KiB blocks of TLS 1.3 key log lines (five per session) the
 * default search saves 38.5% at 1.3 ns a byte, ACCEL_KEYLOG 34.8% at 0.32 ns: about 1 us less
 * of the writer per recorded session for 35 more bytes.
 */
#include "lz4blocks.h"

#include <errno.h>
#include <lz4.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "chunkmeta.h"
#include "crc32c.h"
#include "le.h"

#define FRAME_MAGIC 0x184D2204u
#define FLG 0x68u
#define BD 0x50u
#define STORED_BIT 0x80000000u
#define SKIP_MAX 32u
/* A block counts as compressible when it saves at least 1/32 of its bytes. */
#define worth_it(n, len) ((size_t)(n) + ((len) >> 5) < (len))
/* A block saving less than 1/8 of its bytes is barely compressible. */
#define barely(n, len) ((size_t)(n) + ((len) >> 3) > (len))
#define ACCEL_DEFAULT 1
#define ACCEL_FAST 32
#define ACCEL_KEYLOG 8
#define RETRY_DEFAULT 16u
/* Blocks shorter than this (a chunk's headers and secrets, small chunks) always take the
 * default search and leave the choice alone: they cost little either way. */
#define FAST_MIN_LEN (16u * 1024)

int lz4blocks_enc_init(struct lz4blocks_enc *e)
{
	memset(e, 0, sizeof(*e));
	e->state = malloc((size_t)LZ4_sizeofState());
	if (!e->state)
		return -ENOMEM;
	e->backoff = 1;
	e->accel = ACCEL_DEFAULT;
	return 0;
}

int lz4blocks_enc_prepare(struct lz4blocks_enc *e, size_t frame_bytes)
{
	mem_populate(e->state, (size_t)LZ4_sizeofState());
	return frame_bytes ? buf_prepare(&e->frame, frame_bytes) : 0;
}

void lz4blocks_enc_free(struct lz4blocks_enc *e)
{
	free(e->state);
	buf_free(&e->frame);
	free(e->refs);
	memset(e, 0, sizeof(*e));
}

static uint32_t rotl32(uint32_t v, unsigned r)
{
	return v << r | v >> (32 - r);
}

/* The frame descriptor's checksum byte: XXH32 with seed 0 over the len (< 16) bytes at p, as
 * the xxHash specification gives it for short inputs, bits 8-15. Written here so that a
 * chunk's seal does not go through liblz4's frame context (its code and memory, touched
 * once a second, cost more than the header's few instructions). */
static uint8_t header_checksum(const uint8_t *p, size_t len)
{
	const uint32_t p1 = 0x9E3779B1u, p2 = 0x85EBCA77u, p3 = 0xC2B2AE3Du, p4 = 0x27D4EB2Fu,
		       p5 = 0x165667B1u;
	uint32_t acc = p5 + (uint32_t)len;
	size_t i = 0;
	for (; i + 4 <= len; i += 4)
		acc = rotl32(acc + le32_load(p + i) * p3, 17) * p4;
	for (; i < len; i++)
		acc = rotl32(acc + p[i] * p5, 11) * p1;
	acc ^= acc >> 15;
	acc *= p2;
	acc ^= acc >> 13;
	acc *= p3;
	acc ^= acc >> 16;
	return (uint8_t)(acc >> 8);
}

int lz4blocks_begin(struct lz4blocks_enc *e, struct buf *out, uint64_t content_size)
{
	(void)e;
	int err = buf_reserve(out, LZ4BLOCKS_HEADER_LEN);
	if (err)
		return err;
	uint8_t *h = out->data + out->len;
	le32_store(h, FRAME_MAGIC);
	h[4] = FLG;
	h[5] = BD;
	le64_store(h + 6, content_size);
	h[14] = header_checksum(h + 4, 10);
	out->len += LZ4BLOCKS_HEADER_LEN;
	return 0;
}

/* The acceleration for the next attempt, after one at accel gave n bytes from len. */
static void next_accel(struct lz4blocks_enc *e, int accel, int n, size_t len)
{
	if (n <= 0 || !barely(n, len)) {
		e->accel = ACCEL_DEFAULT;
		e->fast_tries = 0;
	} else if (accel == ACCEL_DEFAULT) {
		e->accel = ACCEL_FAST;
	} else if (++e->fast_tries >= RETRY_DEFAULT) { /* has the data changed? */
		e->accel = ACCEL_DEFAULT;
		e->fast_tries = 0;
	}
}

/* Compress src into w + 4 when that is worth trying and saves room: the compressed length,
 * or 0 when the block is to be stored as is. */
static int try_compress(struct lz4blocks_enc *e, const uint8_t *src, size_t len, uint8_t *w,
			int bound)
{
	if (e->skip) {
		e->skip--;
		return 0;
	}
	e->tried++;
	bool big = len >= FAST_MIN_LEN;
	int accel = big ? e->accel : ACCEL_DEFAULT;
	if (accel != ACCEL_DEFAULT)
		e->tried_fast++;
	int n = LZ4_compress_fast_extState(e->state, (const char *)src, (char *)w + 4, (int)len,
					   bound, accel);
	if (n > 0 && worth_it(n, len)) {
		e->backoff = 1;
		if (big)
			next_accel(e, accel, n, len);
	} else if (accel == ACCEL_DEFAULT) {
		e->skip = e->backoff;
		if (e->backoff < SKIP_MAX)
			e->backoff *= 2;
	} else {
		e->skip = 1;
		if (++e->fast_tries >= RETRY_DEFAULT) {
			e->accel = ACCEL_DEFAULT;
			e->fast_tries = 0;
		}
	}
	return n > 0 && (size_t)n < len ? n : 0;
}

/* Text: at acceleration accel every time, outside the back-off and the choice of search. */
static int compress_text(struct lz4blocks_enc *e, const uint8_t *src, size_t len, uint8_t *w,
			 int bound, int accel)
{
	int n = LZ4_compress_fast_extState(e->state, (const char *)src, (char *)w + 4, (int)len,
					   bound, accel);
	return n > 0 && (size_t)n < len ? n : 0;
}

/* Append a block to out; a stored block's bytes are copied only when copy is set. text: the
 * acceleration of a text block (compress_text), 0 for packets (try_compress). */
static int put(struct lz4blocks_enc *e, struct buf *out, const uint8_t *src, size_t len,
	       bool copy, int text)
{
	if (len == 0 || len > LZ4BLOCKS_MAX)
		return -EINVAL;
	int bound = LZ4_compressBound((int)len);
	int err = buf_reserve(out, 4 + (size_t)bound);
	if (err)
		return err;
	uint8_t *w = out->data + out->len;
	int n = text ? compress_text(e, src, len, w, bound, text) :
		       try_compress(e, src, len, w, bound);
	if (n) {
		le32_store(w, (uint32_t)n);
		out->len += 4 + (size_t)n;
		return 0;
	}
	e->stored_raw++;
	le32_store(w, (uint32_t)len | STORED_BIT);
	out->len += 4;
	if (copy) {
		memcpy(w + 4, src, len);
		out->len += len;
		return 0;
	}
	return lz4blocks_add_ref(e, src, len);
}

int lz4blocks_put(struct lz4blocks_enc *e, struct buf *out, const uint8_t *src, size_t len)
{
	return put(e, out, src, len, true, 0);
}

int lz4blocks_put_text(struct lz4blocks_enc *e, struct buf *out, const uint8_t *src, size_t len)
{
	return put(e, out, src, len, true, ACCEL_DEFAULT);
}

int lz4blocks_put_keylog(struct lz4blocks_enc *e, struct buf *out, const uint8_t *src,
			 size_t len)
{
	return put(e, out, src, len, true, ACCEL_KEYLOG);
}

int lz4blocks_put_frame(struct lz4blocks_enc *e, const uint8_t *src, size_t len)
{
	return put(e, &e->frame, src, len, false, 0);
}

int lz4blocks_add_ref(struct lz4blocks_enc *e, const uint8_t *src, size_t len)
{
	struct lz4blocks_ref *r = chunkmeta_grow((void **)&e->refs, &e->n_refs, &e->cap_refs,
						 sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct lz4blocks_ref){ .at = e->frame.len, .src = src, .len = len };
	e->ref_bytes += len;
	return 0;
}

size_t lz4blocks_frame_len(const struct lz4blocks_enc *e)
{
	return e->frame.len + e->ref_bytes;
}

void lz4blocks_frame_reset(struct lz4blocks_enc *e)
{
	buf_reset(&e->frame);
	e->n_refs = 0;
	e->ref_bytes = 0;
}

void lz4blocks_frame_each(const struct lz4blocks_enc *e,
			  void (*fn)(const uint8_t *p, size_t len, void *ctx), void *ctx)
{
	size_t from = 0;
	for (size_t i = 0; i < e->n_refs; i++) {
		const struct lz4blocks_ref *r = &e->refs[i];
		if (r->at > from)
			fn(e->frame.data + from, r->at - from, ctx);
		fn(r->src, r->len, ctx);
		from = r->at;
	}
	if (e->frame.len > from)
		fn(e->frame.data + from, e->frame.len - from, ctx);
}

/* Piece k of the frame (lz4blocks_cursor): its bytes and length. */
static const uint8_t *frame_piece(const struct lz4blocks_enc *e, size_t k, size_t *len)
{
	size_t j = k / 2;
	if (k % 2) {
		*len = e->refs[j].len;
		return e->refs[j].src;
	}
	size_t lo = j ? e->refs[j - 1].at : 0, hi = j < e->n_refs ? e->refs[j].at : e->frame.len;
	*len = hi - lo;
	return e->frame.data + lo;
}

const uint8_t *lz4blocks_frame_span(const struct lz4blocks_enc *e, struct lz4blocks_cursor *c,
				    size_t off, size_t len)
{
	static const uint8_t none;
	if (!len)
		return &none;
	for (; c->piece <= 2 * e->n_refs; c->piece++) {
		size_t plen;
		const uint8_t *p = frame_piece(e, c->piece, &plen);
		if (off < c->start)
			return NULL; /* asked backwards */
		if (off - c->start < plen)
			return len <= plen - (off - c->start) ? p + (off - c->start) : NULL;
		c->start += plen;
	}
	return NULL;
}

struct iov_fill {
	struct iovec *v;
	size_t n;
};

static void add_iov(const uint8_t *p, size_t len, void *ctx)
{
	struct iov_fill *f = ctx;
	f->v[f->n++] = (struct iovec){ (void *)p, len };
}

int lz4blocks_frame_iov(const struct lz4blocks_enc *e, size_t first, struct iovec **iov,
			size_t *cap)
{
	size_t need = first + 2 * e->n_refs + 1;
	if (need > *cap) {
		struct iovec *v = realloc(*iov, need * sizeof(*v));
		if (!v)
			return -ENOMEM;
		*iov = v;
		*cap = need;
	}
	struct iov_fill f = { *iov, first };
	lz4blocks_frame_each(e, add_iov, &f);
	return (int)f.n;
}

int lz4blocks_end(struct buf *out)
{
	int err = buf_reserve(out, LZ4BLOCKS_END_LEN);
	if (err)
		return err;
	le32_store(out->data + out->len, 0);
	out->len += LZ4BLOCKS_END_LEN;
	return 0;
}

#define BAD(msg)                 \
	do {                     \
		*why = (msg);    \
		return -EBADMSG; \
	} while (0)

int lz4blocks_check_header(const uint8_t *p, size_t len, uint64_t content_size,
			   const char **why)
{
	if (len < LZ4BLOCKS_HEADER_LEN || le32_load(p) != FRAME_MAGIC)
		BAD("data frame does not start with the LZ4 frame magic");
	if (p[4] != FLG || p[5] != BD)
		BAD("data frame is not made of independent blocks of at most 256 KiB");
	if (le64_load(p + 6) != content_size)
		BAD("data frame announces another size than its metadata says");
	return 0;
}

int lz4blocks_get(const uint8_t *blk, size_t stored_len, uint32_t crc, uint8_t *dst,
		  size_t raw_len, const char **why)
{
	if (stored_len < 5 || raw_len == 0 || raw_len > LZ4BLOCKS_MAX)
		BAD("data block length is implausible");
	uint32_t word = le32_load(blk);
	size_t n = word & ~STORED_BIT;
	if (n != stored_len - 4)
		BAD("data block size word disagrees with the metadata");
	if (word & STORED_BIT) {
		if (n != raw_len)
			BAD("stored data block has another size than its metadata says");
		memcpy(dst, blk + 4, n);
	} else {
		int r = LZ4_decompress_safe((const char *)blk + 4, (char *)dst, (int)n,
					    (int)raw_len);
		if (r < 0)
			BAD("data block is not valid LZ4");
		if ((size_t)r != raw_len)
			BAD("data block decompresses to another size than its metadata says");
	}
	if (crc32c(0, dst, raw_len) != crc)
		BAD("data block fails its CRC-32C");
	return 0;
}
