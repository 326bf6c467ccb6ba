// SPDX-License-Identifier: GPL-2.0-only
/*
 * segment.c - reading chunks back from segment files. The format (a skippable LZ4 frame of
 * metadata, then a standard LZ4 frame holding a pcapng section) is specified at the top of
 * chunkmeta.c, the data frame's blocks at the top of lz4blocks.c; the writer side is
 * chunk_writer.c, which appends whole chunks (and, when it writes them with direct I/O,
 * a padding frame after each, segment_pad_fill). A chunk is read whole (segment_read_chunk,
 * segment_decompress) or, for the packets of some flows, as its metadata and the blocks that
 * hold them (segment_read_meta, segment_read_blocks); a walk over a file steps over the
 * padding frames (segment_read_pad), which it accepts only exactly as the writer makes them.
 */
#include "segment.h"

#include <dirent.h>
#include <errno.h>
#define LZ4F_STATIC_LINKING_ONLY
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "le.h"
#include "lz4blocks.h"

void segment_name(uint32_t id, char out[SEGMENT_NAME_MAX])
{
	snprintf(out, SEGMENT_NAME_MAX, SEGMENT_NAME_FMT, id);
}

int segment_parse_name(const char *name, uint32_t *id)
{
	unsigned v;
	int n = 0;
	if (strlen(name) != 17 || sscanf(name, "seg-%8u.ecap%n", &v, &n) != 1 || n != 17)
		return 0;
	*id = v;
	return 1;
}

static int cmp_id(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int segment_list_dir(int dirfd, uint32_t **ids, size_t *n)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	size_t cap = 0;
	struct dirent *de;
	uint32_t id, *grown;

	*ids = NULL;
	*n = 0;
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (!segment_parse_name(de->d_name, &id))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(*ids, cap * sizeof(*grown));
			if (!grown) {
				closedir(d);
				free(*ids);
				*ids = NULL;
				*n = 0;
				return -ENOMEM;
			}
			*ids = grown;
		}
		(*ids)[(*n)++] = id;
	}
	closedir(d);
	if (*n)
		qsort(*ids, *n, sizeof(**ids), cmp_id);
	return 0;
}

static int pread_full(int fd, void *p, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)p + done, len - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		done += (size_t)n;
	}
	return 0;
}

uint32_t segment_pad_len(uint64_t at)
{
	uint64_t end = (at + 8 + SEGMENT_PAD_ALIGN - 1) / SEGMENT_PAD_ALIGN * SEGMENT_PAD_ALIGN;
	return (uint32_t)(end - at);
}

void segment_pad_fill(uint8_t *out, uint32_t len)
{
	le32_store(out, SEGMENT_PAD_MAGIC);
	le32_store(out + 4, len - 8);
	memset(out + 8, 0, len - 8);
}

long segment_read_pad(int fd, uint64_t at, uint64_t file_size, const char **why)
{
	uint8_t p[SEGMENT_PAD_MAX];
	*why = NULL;
	if (at + 4 > file_size)
		return 0;
	/* One read in the usual cases. On a page boundary (where a chunk follows the padding
	 * of the one before it: a chunk start in every walk over a padded segment) only the
	 * frame's 8-byte header, which is the next chunk's; the rest of a padding frame there
	 * (a whole page: after a chunk that ended on a boundary) in a second read. Elsewhere
	 * (where a chunk ends) the length a padding frame there must have, all of it at once:
	 * each system call costs more than the bytes (i25io, BENCHMARKS section 11). */
	uint32_t len = segment_pad_len(at);
	size_t first = at % SEGMENT_PAD_ALIGN ? len : 8;
	size_t have = file_size - at < first ? (size_t)(file_size - at) : first;
	int err = pread_full(fd, p, have, at);
	if (err)
		return err;
	if (le32_load(p) != SEGMENT_PAD_MAGIC)
		return 0;
	if (have < 8)
		return -ENODATA;
	if (le32_load(p + 4) != len - 8) {
		/* a length that would take the next chunk along, or stop short of the boundary */
		*why = "padding frame's length does not end it on the next 4 KiB boundary";
		return -EBADMSG;
	}
	if (file_size - at < len)
		return -ENODATA;
	if (have < len && (err = pread_full(fd, p + have, len - have, at + have)))
		return err;
	for (uint32_t i = 8; i < len; i++)
		if (p[i]) {
			*why = "padding frame holds a byte other than zero";
			return -EBADMSG;
		}
	return (long)len;
}

/* The checks of a decoded metadata frame of mlen bytes at offset: the chunk's total length,
 * or -EBADMSG / -ENODATA. */
static long check_meta(struct chunk_meta *m, uint64_t offset, uint64_t file_size, long mlen,
		       const char **why)
{
	uint64_t total = (uint64_t)mlen + m->data_len;
	if (total > SEGMENT_CHUNK_MAX || m->data_len < 7) {
		*why = "data frame length is implausible";
		return -EBADMSG;
	}
	if (m->raw_len > SEGMENT_CHUNK_MAX) { /* chunks close at 64 MiB raw at most */
		*why = "decompressed chunk size is implausible";
		return -EBADMSG;
	}
	if ((uint64_t)m->packets * 32 > m->raw_len) { /* an EPB takes 32 bytes at least */
		*why = "more packets than the chunk's size can hold";
		return -EBADMSG;
	}
	if (offset + total > file_size)
		return -ENODATA;
	m->offset = offset;
	m->length = (uint32_t)total;
	return (long)total;
}

/* The metadata frame's length from its first 8 bytes at hdr, checked. */
static long meta_len(const uint8_t *hdr, uint64_t offset, uint64_t file_size, const char **why)
{
	long mlen = chunkmeta_frame_len(hdr, 8);
	if (mlen == 0) {
		*why = "no chunk metadata frame at this offset";
		return -EBADMSG;
	}
	if ((uint64_t)mlen > SEGMENT_CHUNK_MAX) {
		*why = "metadata frame length is implausible";
		return -EBADMSG;
	}
	if (offset + (uint64_t)mlen > file_size)
		return -ENODATA;
	return mlen;
}

static long decoded(long r, const char **why)
{
	if (r == 0) {
		*why = "no chunk metadata frame at this offset";
		return -EBADMSG;
	}
	return r;
}

long segment_read_meta(int fd, uint64_t offset, uint64_t file_size, struct chunk_meta *m,
		       struct buf *frames, const char **why)
{
	uint8_t hdr[8];
	*why = NULL;
	if (offset + 8 > file_size)
		return -ENODATA;
	int err = pread_full(fd, hdr, 8, offset);
	if (err)
		return err;
	long mlen = meta_len(hdr, offset, file_size, why);
	if (mlen < 0)
		return mlen;
	buf_reset(frames);
	if ((err = buf_reserve(frames, (size_t)mlen)))
		return err;
	if ((err = pread_full(fd, frames->data, (size_t)mlen, offset)))
		return err;
	frames->len = (size_t)mlen;
	long r = decoded(chunkmeta_decode(frames->data, frames->len, m, why), why);
	return r < 0 ? r : check_meta(m, offset, file_size, mlen, why);
}

long segment_read_plan(int fd, uint64_t offset, uint64_t file_size, uint32_t length,
		       const struct chunkmeta_want *want, struct chunk_meta *m, struct buf *frames,
		       const char **why)
{
	*why = NULL;
	if (offset + 8 > file_size)
		return -ENODATA;
	uint64_t first = length && length < SEGMENT_PLAN_READ ? length : SEGMENT_PLAN_READ;
	if (first > file_size - offset)
		first = file_size - offset;
	buf_reset(frames);
	int err = buf_reserve(frames, (size_t)first);
	if (err || (err = pread_full(fd, frames->data, (size_t)first, offset)))
		return err;
	frames->len = (size_t)first;
	long mlen = meta_len(frames->data, offset, file_size, why);
	if (mlen < 0)
		return mlen;
	if ((uint64_t)mlen > first) { /* a larger metadata frame than most: the rest */
		size_t more = (size_t)mlen - (size_t)first;
		if ((err = buf_reserve(frames, more)) ||
		    (err = pread_full(fd, frames->data + first, more, offset + first)))
			return err;
		frames->len = (size_t)mlen;
	}
	long r = decoded(chunkmeta_decode_plan(frames->data, (size_t)mlen, m, want, why), why);
	return r < 0 ? r : check_meta(m, offset, file_size, mlen, why);
}

int segment_read_data(int fd, const struct chunk_meta *m, struct buf *frames, const char **why)
{
	size_t mlen = m->length - m->data_len;
	frames->len = mlen;
	int err;
	if ((err = buf_reserve(frames, m->data_len)))
		return err;
	if ((err = pread_full(fd, frames->data + mlen, m->data_len, m->offset + mlen)))
		return err;
	frames->len += m->data_len;
	if (le32_load(frames->data + mlen) != 0x184D2204u) {
		*why = "data frame does not start with the LZ4 frame magic";
		return -EBADMSG;
	}
	return 0;
}

long segment_read_chunk(int fd, uint64_t offset, uint64_t file_size, struct chunk_meta *m,
			struct buf *frames, const char **why)
{
	long total = segment_read_meta(fd, offset, file_size, m, frames, why);
	if (total < 0)
		return total;
	int err = segment_read_data(fd, m, frames, why);
	return err ? err : total;
}

/* A chunk written as one LZ4 frame with a content checksum (before blocks came in). */
static int decompress_frame(const struct chunk_meta *m, const uint8_t *src, struct buf *raw,
			    const char **why)
{
	LZ4F_dctx *dctx;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
		return -ENOMEM;
	int err = 0;
	size_t src_left = m->data_len, dst_left = m->raw_len;
	size_t ret = 1;
	while (src_left > 0) {
		size_t in = src_left, out = dst_left;
		ret = LZ4F_decompress(dctx, raw->data + raw->len, &out, src, &in, NULL);
		if (LZ4F_isError(ret)) {
			*why = LZ4F_getErrorCode(ret) == LZ4F_ERROR_contentChecksum_invalid ?
				       "data frame fails its LZ4 content checksum" :
				       "data frame is not valid LZ4";
			err = -EBADMSG;
			goto out;
		}
		src += in;
		src_left -= in;
		raw->len += out;
		dst_left -= out;
		if (ret == 0)
			break;
		if (in == 0 && out == 0) {
			*why = "data frame holds more than its announced size";
			err = -EBADMSG;
			goto out;
		}
	}
	if (ret != 0 || src_left != 0) {
		*why = ret ? "data frame is cut short" : "bytes after the end of the data frame";
		err = -EBADMSG;
	} else if (raw->len != m->raw_len) {
		*why = "data frame decompresses to another size than its metadata says";
		err = -EBADMSG;
	}
out:
	LZ4F_freeDecompressionContext(dctx);
	return err;
}

/* Decode block i, whose stored bytes are at blk, into raw at offset at (raw holds it). */
static int decode_block(const struct chunk_meta *m, size_t i, const uint8_t *blk,
			struct buf *raw, size_t at, const char **why)
{
	const struct chunkmeta_block *k = &m->blocks[i];
	return lz4blocks_get(blk, k->data_len, k->crc, raw->data + at, k->raw_len, why);
}

int segment_decompress(const struct chunk_meta *m, const struct buf *frames, struct buf *raw,
		       const char **why)
{
	*why = NULL;
	buf_reset(raw);
	int err = buf_reserve(raw, m->raw_len ? m->raw_len : 1);
	if (err)
		return err;
	const uint8_t *src = frames->data + (frames->len - m->data_len);
	if (!(m->flags & CHUNKMETA_FLAG_BLOCKS))
		return decompress_frame(m, src, raw, why);
	if ((err = lz4blocks_check_header(src, m->data_len, m->raw_len, why)))
		return err;
	for (size_t i = 0; i < m->n_blocks; i++)
		if ((err = decode_block(m, i, src + m->blocks[i].data_off, raw,
					m->blocks[i].raw_off, why)))
			return err;
	if (le32_load(src + m->data_len - LZ4BLOCKS_END_LEN) != 0) {
		*why = "data frame does not end with the LZ4 end mark";
		return -EBADMSG;
	}
	raw->len = m->raw_len;
	return 0;
}

/* Block i is read: the first, the header blocks and those wanted. */
static bool block_read(const struct chunk_meta *m, const uint8_t *want, size_t i)
{
	return i == 0 || i < m->header_blocks || want[i];
}

int segment_read_blocks(int fd, const struct chunk_meta *m, const uint8_t *want,
			const struct buf *have, struct buf *scratch, struct buf *raw,
			uint32_t *placed, const char **why)
{
	*why = NULL;
	buf_reset(raw);
	/* Where each block read goes: one after the other, in order. Laid out at their raw_off,
	 * a few 16 KiB blocks of a chunk of 2 MB touched fresh pages all over a buffer of the
	 * chunk's size, a page fault for each (a third of a sparse export's faults). */
	size_t total = 0;
	for (size_t i = 0; i < m->n_blocks; i++) {
		placed[i] = block_read(m, want, i) ? (uint32_t)total : UINT32_MAX;
		if (placed[i] != UINT32_MAX)
			total += m->blocks[i].raw_len;
	}
	if (total > m->raw_len) {
		*why = "blocks hold more than the chunk's length";
		return -EBADMSG;
	}
	int err = buf_reserve(raw, total ? total : 1);
	if (err)
		return err;
	uint64_t frame_at = m->length - m->data_len; /* from the chunk's start */
	for (size_t i = 0; i < m->n_blocks;) {
		if (!block_read(m, want, i)) {
			i++;
			continue;
		}
		/* One read for a run of wanted blocks; the first run takes the header along. */
		size_t j = i;
		while (j < m->n_blocks && block_read(m, want, j))
			j++;
		uint32_t from = i == 0 ? 0 : m->blocks[i].data_off;
		uint32_t to = m->blocks[j - 1].data_off + m->blocks[j - 1].data_len;
		const uint8_t *at;
		if (have && frame_at + to <= have->len) {
			at = have->data + frame_at + from; /* read with the metadata already */
		} else {
			buf_reset(scratch);
			if ((err = buf_reserve(scratch, to - from)) ||
			    (err = pread_full(fd, scratch->data, to - from,
					      m->offset + frame_at + from)))
				return err == -ENODATA ? (*why = "data frame is cut short", -EBADMSG) :
							 err;
			at = scratch->data;
		}
		if (i == 0 && (err = lz4blocks_check_header(at, to, m->raw_len, why)))
			return err;
		for (size_t b = i; b < j; b++)
			if ((err = decode_block(m, b, at + (m->blocks[b].data_off - from), raw,
						placed[b], why)))
				return err;
		i = j;
	}
	raw->len = total;
	return 0;
}

uint64_t segment_resync(int fd, uint64_t from, uint64_t file_size)
{
	uint8_t win[65536 + 8];
	uint64_t off = from;
	while (off + 12 <= file_size) {
		size_t want = (size_t)(file_size - off < sizeof(win) ? file_size - off : sizeof(win));
		if (pread_full(fd, win, want, off))
			return file_size;
		for (size_t i = 0; i + 12 <= want; i++)
			if (le32_load(win + i) == 0x184D2A5Eu && le32_load(win + i + 8) == CHUNKMETA_MAGIC)
				return off + i;
		off += want - 11;
	}
	return file_size;
}
