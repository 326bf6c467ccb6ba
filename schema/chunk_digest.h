/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chunk_digest.h - a chunk's digest (metadata section 10) of either kind, computed the one way
 * for every writer and reader: the writer as it seals a chunk, ecap-verify and the seals'
 * walk (seal_acc_file) as they check one, ecap-verify --export as it reads a proof's chunks
 * again. chunk_digest.c specifies the bytes.
 */
#ifndef ECAP_CHUNK_DIGEST_H
#define ECAP_CHUNK_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "chunkmeta.h"
#include "sha256.h"

/* Which digest section 10 holds (m->digest_kind; section 19 names it, absent: FLAT). */
#define CHUNK_DIGEST_FLAT 0u   /* SHA-256 of the data frame's stored bytes (older chunks) */
#define CHUNK_DIGEST_BLOCKS 1u /* SHA-256 over the SHA-256 of each data block (chunk_digest.c) */

struct lz4blocks_enc;

/* Where a digest differs: the first data block whose stored bytes do not decode to its
 * CRC-32C (section 7), when one does not. */
struct chunk_digest_where {
	size_t block;  /* SIZE_MAX: every block decodes to its CRC (the bytes outside the blocks,
			* or the digest, differ; or a block altered with its CRC made to match) */
	const char *why;
};

/*
 * The digest of kind m->digest_kind of the data frame at frame (len bytes: m->data_len), as
 * stored, with m's block list (section 7) for kind BLOCKS. 0; -EBADMSG with *why when the
 * kind is unknown or its blocks do not tile the frame; -ENOMEM.
 */
int chunk_digest_frame(const struct chunk_meta *m, const uint8_t *frame, size_t len,
		       uint8_t out[SHA256_LEN], const char **why);
/* The writer: the same (of kind m->digest_kind, BLOCKS) of the data frame being written in
 * enc (lz4blocks_frame_each's pieces, blocks stored as is read where they are). */
int chunk_digest_enc(const struct chunk_meta *m, const struct lz4blocks_enc *enc,
		     uint8_t out[SHA256_LEN], const char **why);
/* After a mismatch: which data block of frame is damaged, by its CRC-32C (a chunk made of
 * blocks; else where->block is SIZE_MAX). */
void chunk_digest_where(const struct chunk_meta *m, const uint8_t *frame, size_t len,
			struct chunk_digest_where *where);

#endif
