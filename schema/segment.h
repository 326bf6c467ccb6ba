/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * segment.h - segment files: append-only sequences of chunks (a metadata frame and an LZ4
 * data frame each, a padding frame after those written with direct I/O; the bytes are
 * specified at the top of chunkmeta.c). Reading one chunk back, checking it, and scanning a
 * file chunk by chunk for recovery, fsck and rebuild.
 */
#ifndef ECAP_SEGMENT_H
#define ECAP_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chunkmeta.h"

#define SEGMENT_NAME_FMT "seg-%08u.ecap"
#define SEGMENT_NAME_MAX 32
/* Largest chunk a reader accepts (both frames); a length beyond it is damage. */
#define SEGMENT_CHUNK_MAX (256u * 1024 * 1024)

/* The padding frame: an LZ4 skippable frame of zeros that ends a chunk on a page boundary. */
#define SEGMENT_PAD_MAGIC 0x184D2A5Fu
#define SEGMENT_PAD_ALIGN 4096u
#define SEGMENT_PAD_MAX (SEGMENT_PAD_ALIGN + 7)

/* The length of the padding frame that starts at `at` (a chunk's end): it ends on the first
 * page boundary at least its 8-byte header after at (8 .. SEGMENT_PAD_MAX bytes). */
uint32_t segment_pad_len(uint64_t at);
/* The padding frame of len bytes (segment_pad_len) into out. */
void segment_pad_fill(uint8_t *out, uint32_t len);
/*
 * At `at`, where a chunk may start: 0 when no padding frame starts there (its first 4 bytes
 * are not its magic, or the file ends before them: the caller reads a chunk there, or the end),
 * its length when the whole frame is there as segment_pad_len and segment_pad_fill make it,
 * -ENODATA when the file ends inside it (a torn tail), -EBADMSG (*why) when its length or
 * its bytes are not those (damage: the caller looks for the next chunk from at + 1), or
 * another -errno from reading.
 */
long segment_read_pad(int fd, uint64_t at, uint64_t file_size, const char **why);

void segment_name(uint32_t id, char out[SEGMENT_NAME_MAX]);
/* 1 and *id when name is a segment file's name, else 0. */
int segment_parse_name(const char *name, uint32_t *id);
/* The ids of the segment files in the directory open on dirfd, sorted (*ids malloc'ed, NULL
 * when none). 0 or -errno. */
int segment_list_dir(int dirfd, uint32_t **ids, size_t *n);

/*
 * Read the chunk at offset of the open segment fd (file_size bytes long): both frames into
 * frames, the metadata decoded into m (m->segment is left alone; offset and length are set).
 * Returns the chunk's length, -ENODATA when the file ends inside it (a torn tail), -EBADMSG
 * when it is damaged (*why says how), or another -errno from reading.
 */
long segment_read_chunk(int fd, uint64_t offset, uint64_t file_size, struct chunk_meta *m,
			struct buf *frames, const char **why);

/* Only the metadata frame (into frames); the same returns as segment_read_chunk, whose
 * checks it makes, except those of the data frame's bytes. */
long segment_read_meta(int fd, uint64_t offset, uint64_t file_size, struct chunk_meta *m,
		       struct buf *frames, const char **why);

/* Bytes segment_read_plan reads at a chunk's start: most chunks' metadata frame and the
 * header blocks after it, in one read. */
#define SEGMENT_PLAN_READ (32u * 1024)

/*
 * For a read of some flows (want, NULL: none): the same as segment_read_meta, but decoded by
 * chunkmeta_decode_plan (m->plan_only: the read plan alone), and read with one pread of the
 * chunk's first min(length, SEGMENT_PLAN_READ) bytes (length: the chunk's length from the
 * index, 0 when unknown; more when the metadata frame is longer): frames keeps all it read,
 * which segment_read_blocks takes as `have`.
 */
long segment_read_plan(int fd, uint64_t offset, uint64_t file_size, uint32_t length,
		       const struct chunkmeta_want *want, struct chunk_meta *m, struct buf *frames,
		       const char **why);

/* After segment_read_meta: the data frame, appended to the metadata frame in frames (as
 * segment_read_chunk leaves them). 0, -EBADMSG with *why, or another -errno. */
int segment_read_data(int fd, const struct chunk_meta *m, struct buf *frames, const char **why);

/* Decompress and verify a chunk's data frame (frames from segment_read_chunk) into raw. */
int segment_decompress(const struct chunk_meta *m, const struct buf *frames, struct buf *raw,
		       const char **why);

/*
 * For a chunk made of blocks whose metadata segment_read_meta or segment_read_plan read: read
 * and decode only the first block, the header blocks and the blocks marked in want (one byte
 * per block) into raw, one after the other in block order; placed (one per block) says where
 * each went, UINT32_MAX for a block not read (chunk_view's block_at). have (may be NULL): the
 * chunk's first have->len bytes, already read; blocks among them are not read again. scratch
 * holds the stored bytes of the others meanwhile. 0, -EBADMSG with *why, or another -errno
 * from reading.
 */
int segment_read_blocks(int fd, const struct chunk_meta *m, const uint8_t *want,
			const struct buf *have, struct buf *scratch, struct buf *raw,
			uint32_t *placed, const char **why);

/* Find the next offset after `from` where a chunk's metadata frame may start (a skippable
 * magic followed by the ecap magic), or file_size when there is none. A padding frame is no
 * chunk: damage that reaches into one takes it along. */
uint64_t segment_resync(int fd, uint64_t from, uint64_t file_size);

#endif
