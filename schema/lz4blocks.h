/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lz4blocks.h - the data frame of a chunk as a standard LZ4 frame of independent blocks, so
 * that a reader can decode any one block alone (see lz4blocks.c for the bytes).
 *
 * The writer puts each block compressed when that saves room and stored as is otherwise;
 * data that keeps refusing to compress (encrypted payloads, random bytes) is stored without
 * trying for a growing number of blocks, so it costs little more than a copy; data that
 * compresses only a little (TLS records between packet headers) is compressed with a faster,
 * shallower search. Integrity is
 * a CRC-32C of each block's raw bytes, kept by the caller (in the chunk's metadata).
 */
#ifndef ECAP_LZ4BLOCKS_H
#define ECAP_LZ4BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Largest raw block (the frame's block maximum size: 256 KiB). */
#define LZ4BLOCKS_MAX (256u * 1024)
/* Bytes of frame header that precede the first block (magic, FLG, BD, content size, HC). */
#define LZ4BLOCKS_HEADER_LEN 15
/* The end mark after the last block. */
#define LZ4BLOCKS_END_LEN 4

struct iovec;

/* Bytes of the frame being written that stay in the caller's memory: len bytes from src,
 * which come right after frame byte `at`. */
struct lz4blocks_ref {
	size_t at;
	const uint8_t *src;
	size_t len;
};

/* The writer's state, carried from chunk to chunk; used by one thread at a time. */
struct lz4blocks_enc {
	void *state;              /* LZ4 compression state */
	unsigned skip;            /* blocks still to store without trying */
	unsigned backoff;         /* blocks to skip after the next refusal */
	int accel;                /* LZ4 acceleration of the next attempt (lz4blocks.c) */
	unsigned fast_tries;      /* attempts in a row at the fast acceleration */
	uint64_t tried, tried_fast, stored_raw;
	/* The data frame being written: frame, with the refs' bytes spliced in. */
	struct buf frame;
	struct lz4blocks_ref *refs;
	size_t n_refs, cap_refs;
	size_t ref_bytes;
};

int lz4blocks_enc_init(struct lz4blocks_enc *e);
void lz4blocks_enc_free(struct lz4blocks_enc *e);
/* The encoder's memory made before its first frame, and made memory (mem_populate): its
 * LZ4 state, and frame_bytes of room for a data frame (0: none). For writers, whose first chunk would otherwise fault them in. */
int lz4blocks_enc_prepare(struct lz4blocks_enc *e, size_t frame_bytes);

/* Start a frame whose content is content_size bytes: the header goes to out. */
int lz4blocks_begin(struct lz4blocks_enc *e, struct buf *out, uint64_t content_size);
/* Append one block of len bytes (1..LZ4BLOCKS_MAX). */
int lz4blocks_put(struct lz4blocks_enc *e, struct buf *out, const uint8_t *src, size_t len);
/* One block of text that compresses (a section header): the default search every time,
 * stored as is only when that does not shrink it; the back-off and the search speed that
 * lz4blocks_put adapts to the data neither apply nor change. */
int lz4blocks_put_text(struct lz4blocks_enc *e, struct buf *out, const uint8_t *src, size_t len);
/* The same for a block of key log lines, at the key log's own search speed (lz4blocks.c). */
int lz4blocks_put_keylog(struct lz4blocks_enc *e, struct buf *out, const uint8_t *src,
			 size_t len);
/* The same as lz4blocks_put into the frame being written; a block stored as is stays at src (a ref), which
 * must stay valid until the frame is written. */
int lz4blocks_put_frame(struct lz4blocks_enc *e, const uint8_t *src, size_t len);
/* Bytes already encoded (blocks put elsewhere) appended to the frame by reference. */
int lz4blocks_add_ref(struct lz4blocks_enc *e, const uint8_t *src, size_t len);
/* The frame's length, refs included; empty it for the next chunk. */
size_t lz4blocks_frame_len(const struct lz4blocks_enc *e);
void lz4blocks_frame_reset(struct lz4blocks_enc *e);
/* Calls fn for each piece of the frame in order (its own bytes and the refs'), none empty. */
void lz4blocks_frame_each(const struct lz4blocks_enc *e,
			  void (*fn)(const uint8_t *p, size_t len, void *ctx), void *ctx);
/* A reader of the frame being written by offset (lz4blocks_frame_span), from the start. */
struct lz4blocks_cursor {
	size_t piece;  /* 2j: the frame's own bytes before ref j (after ref j-1); 2j+1: ref j */
	size_t start;  /* the frame offset where that piece starts */
};
/* Frame bytes [off, off + len) where they lie, when they lie in one piece (the frame's own
 * buffer or one ref); NULL when they straddle pieces or run past the end. Offsets asked must
 * not decrease from one call to the next with the same cursor (zeroed to begin). */
const uint8_t *lz4blocks_frame_span(const struct lz4blocks_enc *e, struct lz4blocks_cursor *c,
				    size_t off, size_t len);
/* The frame as an iovec array from index first on (*iov grown as needed, *cap its room):
 * returns the count of entries in all (first included) or -ENOMEM. */
int lz4blocks_frame_iov(const struct lz4blocks_enc *e, size_t first, struct iovec **iov,
			size_t *cap);
/* Append the end mark. */
int lz4blocks_end(struct buf *out);

/*
 * Check the frame header at p (len bytes): an LZ4 frame with independent blocks of at most
 * LZ4BLOCKS_MAX, a content size equal to content_size, and no checksums. 0 or -EBADMSG.
 */
int lz4blocks_check_header(const uint8_t *p, size_t len, uint64_t content_size,
			   const char **why);
/* Decode one stored block (size word and bytes, stored_len in all) into dst, which must come
 * out exactly raw_len bytes with the CRC-32C crc. 0 or -EBADMSG with *why. */
int lz4blocks_get(const uint8_t *blk, size_t stored_len, uint32_t crc, uint8_t *dst,
		  size_t raw_len, const char **why);

#endif
