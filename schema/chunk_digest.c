// SPDX-License-Identifier: GPL-2.0-only
/*
 * chunk_digest.c - a chunk's digest (chunk_digest.h), of either kind.
 *
 * FORMAT (all integers little-endian). Section 10 of a chunk's metadata holds a SHA-256 of
 * its data frame's stored bytes (the data_len bytes after the metadata frame, as on disk);
 * section 19 (chunkmeta.c) says which:
 *
 *   kind 0, FLAT (no section 19: every chunk written before it): SHA-256 of the data frame's
 *     bytes, one stream from the first to the last.
 *
 *   kind 1, BLOCKS (chunks made of blocks, flag 4, only): the data frame is the LZ4 frame
 *     header (H bytes: from 0 to block 0's data_off; 15), the n data blocks of section 7 in
 *     order (block i: its data_len_i bytes at its data_off_i, which are a u32 size word and
 *     then the block's bytes, LZ4 or stored as is; blocks follow each other without a gap),
 *     and the end mark (E bytes after the last block; 4). The digest is the SHA-256 of
 *         16 bytes  "ECAP-SHA256-BLK1"   (the scheme: a two-level SHA-256 over data blocks)
 *         u32 n, u32 data_len, u32 H, u32 E
 *         the H header bytes
 *         for each block in order: its u32 size word as stored (4 bytes), then the SHA-256
 *           (32 bytes) of its data_len_i - 4 bytes after the word
 *         the E end bytes.
 *     Every stored byte is hashed once, each block's in a digest of its own, so that many
 *     blocks are hashed at once (sha256_xn, sha256_x2.h: up to 64 blocks a call, four SHA
 *     lanes or sixteen AVX-512 lanes kept busy): the frame's digest costs about half of one
 *     stream's time. It is SHA-256 throughout: changing any byte of a block means finding a
 *     second preimage of its digest, or of the digest over them all.
 *
 * One walk for all: the writer (chunk_digest_enc, over the frame in the pieces it is about to
 * write) and every reader (chunk_digest_frame, over the frame as read) call blocks_digest with
 * their way of finding the frame's bytes.
 */
#include "chunk_digest.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "lz4blocks.h"
#include "sha256_x2.h"

#define BLOCKS_TAG "ECAP-SHA256-BLK1"
#define BLOCKS_TAG_LEN 16
#define BLOCK_ELEM (4 + SHA256_LEN)
/* Bytes of block elements that blocks_digest hashes in one piece (one_shot). */
#define ONE_SHOT_MAX (64 * BLOCK_ELEM)

#define BAD(msg)                 \
	do {                     \
		*why = (msg);    \
		return -EBADMSG; \
	} while (0)

/* Frame bytes [off, off + len) in one piece, or NULL; off never decreases between calls. */
typedef const uint8_t *(*frame_span_fn)(void *ctx, size_t off, size_t len);

/* Blocks hashed in one call of sha256_xn: a chunk of a second's (curl loops: 5-60 blocks) in
 * one; its four lanes stay busy over the whole batch. */
#define BATCH SHA256_XN_MAX

/* The stored size words and digests of blocks [i, i + k) (k 1 to BATCH) into elem. */
static int hash_blocks(const struct chunk_meta *m, size_t i, size_t k, frame_span_fn span,
		       void *ctx, uint8_t *elem, const char **why)
{
	const void *p[BATCH];
	size_t n[BATCH];
	uint8_t d[BATCH][SHA256_LEN];
	for (size_t j = 0; j < k; j++) {
		const struct chunkmeta_block *b = &m->blocks[i + j];
		const uint8_t *word = span(ctx, b->data_off, 4);
		n[j] = b->data_len - 4;
		p[j] = word ? span(ctx, (size_t)b->data_off + 4, n[j]) : NULL;
		if (!p[j])
			BAD("a data block lies outside the data frame");
		memcpy(elem + j * BLOCK_ELEM, word, 4);
	}
	int err = sha256_xn(p, n, k, d);
	for (size_t j = 0; !err && j < k; j++)
		memcpy(elem + j * BLOCK_ELEM + 4, d[j], SHA256_LEN);
	return err;
}

/* The digest over all of its input at once (a chunk of up to ONE_SHOT_MAX / BLOCK_ELEM
 * blocks: every chunk of a second but the largest): the input laid out in one buffer and
 * hashed by sha256_x1, with no hash context to make and free per chunk. The same digest as
 * the incremental form in blocks_digest. */
static int one_shot(const struct chunk_meta *m, const uint8_t hdr[BLOCKS_TAG_LEN + 16],
		    const uint8_t *hp, size_t head, size_t end, size_t tail, frame_span_fn span,
		    void *ctx, uint8_t out[SHA256_LEN], const char **why)
{
	uint8_t msg[BLOCKS_TAG_LEN + 16 + ONE_SHOT_MAX + ONE_SHOT_MAX / 2];
	size_t n = m->n_blocks, at = BLOCKS_TAG_LEN + 16;
	memcpy(msg, hdr, at);
	memcpy(msg + at, hp, head);
	at += head;
	for (size_t i = 0; i < n; i += BATCH) {
		size_t k = n - i < BATCH ? n - i : BATCH;
		int err = hash_blocks(m, i, k, span, ctx, msg + at, why);
		if (err)
			return err;
		at += k * BLOCK_ELEM;
	}
	const uint8_t *tp = span(ctx, end, tail);
	if (!tp)
		BAD("the data frame's end mark lies outside it");
	memcpy(msg + at, tp, tail);
	return sha256_x1(msg, at + tail, out);
}

static int blocks_digest(const struct chunk_meta *m, size_t len, frame_span_fn span, void *ctx,
			 uint8_t out[SHA256_LEN], const char **why)
{
	size_t n = m->n_blocks;
	if (!(m->flags & CHUNKMETA_FLAG_BLOCKS) || !n)
		BAD("a digest of data blocks in a chunk that is not made of blocks");
	size_t head = m->blocks[0].data_off, end = head;
	for (size_t i = 0; i < n; i++) {
		if (m->blocks[i].data_off != end || m->blocks[i].data_len < 5)
			BAD("data blocks do not follow each other in the data frame");
		end += m->blocks[i].data_len;
	}
	if (end > len || n > UINT32_MAX || len > UINT32_MAX)
		BAD("data blocks run past the data frame");
	size_t tail = len - end;
	const uint8_t *hp = span(ctx, 0, head);
	if (!hp)
		BAD("the data frame's header lies outside it");

	uint8_t hdr[BLOCKS_TAG_LEN + 16], elem[BATCH * BLOCK_ELEM];
	memcpy(hdr, BLOCKS_TAG, BLOCKS_TAG_LEN);
	le32_store(hdr + BLOCKS_TAG_LEN, (uint32_t)n);
	le32_store(hdr + BLOCKS_TAG_LEN + 4, (uint32_t)len);
	le32_store(hdr + BLOCKS_TAG_LEN + 8, (uint32_t)head);
	le32_store(hdr + BLOCKS_TAG_LEN + 12, (uint32_t)tail);
	if (n <= ONE_SHOT_MAX / BLOCK_ELEM && head + tail <= ONE_SHOT_MAX / 2)
		return one_shot(m, hdr, hp, head, end, tail, span, ctx, out, why);

	struct sha256 r = { 0 };
	int err = sha256_init(&r);
	if (err)
		goto out;
	sha256_update(&r, hdr, sizeof(hdr));
	sha256_update(&r, hp, head);
	for (size_t i = 0; i < n; i += BATCH) {
		size_t k = n - i < BATCH ? n - i : BATCH;
		if ((err = hash_blocks(m, i, k, span, ctx, elem, why)))
			goto out;
		sha256_update(&r, elem, k * BLOCK_ELEM);
	}
	const uint8_t *tp = span(ctx, end, tail);
	if (!tp) {
		*why = "the data frame's end mark lies outside it";
		err = -EBADMSG;
		goto out;
	}
	sha256_update(&r, tp, tail);
	sha256_final(&r, out);
out:
	sha256_free(&r);
	return err;
}

/* ---- the frame as read: one buffer ------------------------------------------------------ */

struct flat_frame {
	const uint8_t *p;
	size_t len;
};

static const uint8_t *flat_span(void *ctx, size_t off, size_t len)
{
	const struct flat_frame *f = ctx;
	return off <= f->len && len <= f->len - off ? f->p + off : NULL;
}

int chunk_digest_frame(const struct chunk_meta *m, const uint8_t *frame, size_t len,
		       uint8_t out[SHA256_LEN], const char **why)
{
	*why = NULL;
	switch (m->digest_kind) {
	case CHUNK_DIGEST_FLAT:
		return sha256_once(frame, len, out);
	case CHUNK_DIGEST_BLOCKS: {
		struct flat_frame f = { frame, len };
		return blocks_digest(m, len, flat_span, &f, out, why);
	}
	default:
		BAD("the chunk's digest is of a kind this ecap does not know (a newer ecap's)");
	}
}

/* ---- the frame being written: pieces ---------------------------------------------------- */

struct enc_frame {
	const struct lz4blocks_enc *enc;
	struct lz4blocks_cursor cur;
};

static const uint8_t *enc_span(void *ctx, size_t off, size_t len)
{
	struct enc_frame *f = ctx;
	return lz4blocks_frame_span(f->enc, &f->cur, off, len);
}

static void hash_piece(const uint8_t *p, size_t len, void *ctx)
{
	sha256_update(ctx, p, len);
}

int chunk_digest_enc(const struct chunk_meta *m, const struct lz4blocks_enc *enc,
		     uint8_t out[SHA256_LEN], const char **why)
{
	*why = NULL;
	size_t len = lz4blocks_frame_len(enc);
	if (m->digest_kind == CHUNK_DIGEST_BLOCKS) {
		struct enc_frame f = { .enc = enc };
		return blocks_digest(m, len, enc_span, &f, out, why);
	}
	if (m->digest_kind != CHUNK_DIGEST_FLAT)
		BAD("the chunk's digest is of a kind this ecap does not know");
	struct sha256 h = { 0 };
	int err = sha256_init(&h);
	if (!err) {
		lz4blocks_frame_each(enc, hash_piece, &h);
		sha256_final(&h, out);
	}
	sha256_free(&h);
	return err;
}

/* ---- where a digest differs ------------------------------------------------------------ */

void chunk_digest_where(const struct chunk_meta *m, const uint8_t *frame, size_t len,
			struct chunk_digest_where *where)
{
	where->block = SIZE_MAX;
	where->why = NULL;
	if (!(m->flags & CHUNKMETA_FLAG_BLOCKS))
		return;
	uint8_t *raw = malloc(LZ4BLOCKS_MAX);
	if (!raw)
		return;
	for (size_t i = 0; i < m->n_blocks; i++) {
		const struct chunkmeta_block *b = &m->blocks[i];
		const char *why = NULL;
		if (b->data_off > len || b->data_len > len - b->data_off ||
		    lz4blocks_get(frame + b->data_off, b->data_len, b->crc, raw, b->raw_len, &why)) {
			where->block = i;
			where->why = why ? why : "the block lies outside the data frame";
			break;
		}
	}
	free(raw);
}
