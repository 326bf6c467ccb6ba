// SPDX-License-Identifier: GPL-2.0-only
/*
 * chunk_seal.c - closing a chunk: its pcapng section header (SHB, one IDB per interface that
 * occurs, one DSB with the secrets that arrived meanwhile) and its EPBs become the blocks of
 * an LZ4 data frame (lz4blocks.h), and the metadata frame that precedes it lists them.
 *
 * Blocks: the SHB and IDBs form the header blocks (block 0, and more when many interfaces
 * occur: cut between IDBs at CHUNK_BLOCK_TARGET bytes, so that each holds whole pcapng
 * blocks); the DSB follows in blocks of at most CHUNK_BLOCK_TARGET bytes; then the EPB blocks
 * the builder cut while packets arrived. The
 * EPBs are compressed from where they were written, never copied into one section first.
 *
 * The chunk's digest (metadata section 10) is of kind BLOCKS (chunk_digest.c): each block's
 * SHA-256, two blocks at a time, once the frame is complete.
 *
 * EPB blocks may be compressed ahead, by chunk_builder_precompress() on another thread
 * before the chunk is handed to the writer (the store's own thread does that instead of
 * waiting for a writer that is behind); the seal then copies those.
 */
#include "chunk.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chunk_digest.h"
#include "crc32c.h"
#include "decimal.h"
#include "ecap_config.h"
#include "lz4blocks.h"
#include "pcapng.h"

/* What a block holds, and so how it is compressed. */
enum block_kind {
	BLOCK_EPBS,   /* the builder's EPBs: src stays valid until the frame is written, so a
		       * block stored as is is written from there (lz4blocks_put_frame) */
	BLOCK_HEADER, /* the section header: text the next seal writes over, compressed as
		       * such (lz4blocks_put_text) and copied */
	BLOCK_KEYLOG, /* the DSB's key log lines: the same, at their own search speed
		       * (lz4blocks_put_keylog) */
};

/* Compress src as one block of the frame and list it in the metadata. */
static int put_block(struct chunk_meta *m, struct lz4blocks_enc *enc, const uint8_t *src,
		     size_t len, uint32_t raw_off, uint32_t first_packet, uint32_t packets,
		     uint32_t crc, enum block_kind kind)
{
	struct chunkmeta_block *k = chunkmeta_push(m, blocks);
	if (!k)
		return -ENOMEM;
	k->raw_off = raw_off;
	k->raw_len = (uint32_t)len;
	k->data_off = (uint32_t)lz4blocks_frame_len(enc);
	k->first_packet = first_packet;
	k->packets = packets;
	k->crc = crc;
	int err;
	if (kind == BLOCK_EPBS)
		err = lz4blocks_put_frame(enc, src, len);
	else if (kind == BLOCK_HEADER)
		err = lz4blocks_put_text(enc, &enc->frame, src, len);
	else
		err = lz4blocks_put_keylog(enc, &enc->frame, src, len);
	k->data_len = (uint32_t)(lz4blocks_frame_len(enc) - k->data_off);
	return err;
}

/* List EPB block i, compressed ahead of the seal: its stored bytes (at `at` in packed) are
 * written from where they are. */
static int put_packed(struct chunk_meta *m, struct lz4blocks_enc *enc,
		      const struct chunk_builder *cb, size_t i, size_t at, uint32_t raw_off,
		      uint32_t raw_len, uint32_t packets)
{
	struct chunkmeta_block *k = chunkmeta_push(m, blocks);
	if (!k)
		return -ENOMEM;
	k->raw_off = raw_off;
	k->raw_len = raw_len;
	k->data_off = (uint32_t)lz4blocks_frame_len(enc);
	k->data_len = cb->packed_len[i];
	k->first_packet = cb->eblk[i].first_packet;
	k->packets = packets;
	k->crc = cb->eblk[i].crc;
	return lz4blocks_add_ref(enc, cb->packed.data + at, k->data_len);
}

bool chunk_builder_precompress(struct chunk_builder *cb, struct lz4blocks_enc *enc)
{
	size_t i = cb->n_packed;
	if (i >= cb->n_eblk)
		return false;
	if (i + 1 == cb->n_eblk)
		chunk_builder_block_crc(cb, i);
	size_t end = i + 1 < cb->n_eblk ? cb->eblk[i + 1].off : cb->epbs.len;
	uint32_t *len = chunkmeta_grow((void **)&cb->packed_len, &cb->n_packed, &cb->cap_packed,
				       sizeof(*len));
	if (!len)
		return false;
	size_t before = cb->packed.len;
	if (lz4blocks_put(enc, &cb->packed, cb->epbs.data + cb->eblk[i].off,
			  end - cb->eblk[i].off)) {
		cb->n_packed--;
		cb->packed.len = before;
		return false;
	}
	*len = (uint32_t)(cb->packed.len - before);
	return true;
}

/* The SHB and IDBs into cb->hdr, the end of each pcapng block in cb->hdr_cuts (where the
 * header may be cut into blocks; *n of them), and the DSB made in place around the key log
 * (cb->dsb_text, whose padding and trailer the seal takes off again at its end). The
 * header's buffers are the builder's, kept from chunk to chunk. */
static int section_header(struct chunk_builder *cb, uint64_t id, size_t *n)
{
	const struct chunk_meta *m = &cb->meta;
	struct buf *hdr = &cb->hdr;
	char comment[64] = "ecap chunk ";
	int err;

	/* the SHB's comment, "ecap chunk ID", without printf's code (cold once a second) */
	decimal_u64(comment + strlen("ecap chunk "), id);
	struct pcapng_shb_info shb = { .comment = comment, .userappl = "ecap " ECAP_VERSION };
	if (cb->cap_hdr_cuts < m->n_ifaces + 1) {
		size_t *c = realloc(cb->hdr_cuts, (m->n_ifaces + 1) * sizeof(*c));
		if (!c)
			return -ENOMEM;
		cb->hdr_cuts = c;
		cb->cap_hdr_cuts = m->n_ifaces + 1;
	}
	buf_reset(hdr);
	*n = 0;
	if ((err = pcapng_write_shb(hdr, &shb)))
		return err;
	cb->hdr_cuts[(*n)++] = hdr->len;
	for (size_t i = 0; i < m->n_ifaces; i++) {
		const struct ecap_iface *d = &m->ifaces[i].desc;
		struct pcapng_idb_info idb = { .linktype = d->linktype, .snaplen = d->snaplen,
					       .name = d->name, .filter = d->filter, .tsresol = 9,
					       .description = d->description };
		if ((err = pcapng_write_idb(hdr, &idb)))
			return err;
		cb->hdr_cuts[(*n)++] = hdr->len;
	}
	return cb->dsb_text.len ? pcapng_wrap_dsb(&cb->dsb_text, PCAPNG_SECRETS_TLS) : 0;
}

/* Section 9 of the metadata: the blocks before the EPBs' (first_epb of them) hold none. */
static int block_maxima(struct chunk_builder *cb, size_t first_epb)
{
	struct chunk_meta *m = &cb->meta;
	size_t n = (first_epb + cb->n_eblk) * m->n_ifaces;
	for (size_t i = 0; i < n; i++) {
		uint64_t *v = chunkmeta_push(m, blockmax);
		if (!v)
			return -ENOMEM;
		*v = 0;
	}
	for (size_t i = 0; i < cb->n_bmax; i++) {
		const struct chunk_blockmax *e = &cb->bmax[i];
		m->blockmax[(first_epb + e->block) * m->n_ifaces + e->local] = e->max_ns;
	}
	return 0;
}

int chunk_builder_seal(struct chunk_builder *cb, uint64_t id, struct lz4blocks_enc *enc,
		       struct buf *meta_frame)
{
	struct chunk_meta *m = &cb->meta;
	const struct buf *hdr = &cb->hdr;
	struct buf dsb;
	const size_t *cuts = NULL;
	size_t n_cuts = 0, text_end = cb->dsb_text.len;
	int err;

	m->n_blocks = m->n_blockmax = 0;
	if ((err = section_header(cb, id, &n_cuts)))
		goto out;
	cuts = cb->hdr_cuts;
	/* the DSB block, made where its key log lines were written (no copy of them) */
	dsb = cb->dsb_text;
	if (hdr->len + dsb.len + cb->epbs.len > UINT32_MAX / 2) {
		err = -E2BIG;
		goto out;
	}
	if (dsb.len)
		m->flags |= CHUNKMETA_FLAG_HAS_SECRETS;
	m->flags |= CHUNKMETA_FLAG_BLOCKS;
	m->id = id;
	m->raw_len = (uint32_t)(hdr->len + dsb.len + cb->epbs.len);

	/* The data frame is put together in the encoder first: the meta frame, which
	 * precedes it, lists its blocks. Blocks stored as is stay in the builder's buffers
	 * until the writer writes them from there. */
	lz4blocks_frame_reset(enc);
	if ((err = lz4blocks_begin(enc, &enc->frame, m->raw_len)))
		goto out;
	/* header blocks: as many pcapng blocks as fit in CHUNK_BLOCK_TARGET, at least one */
	m->header_blocks = 0;
	for (size_t from = 0, c = 0; from < hdr->len; m->header_blocks++) {
		size_t to = cuts[c++];
		while (c < n_cuts && cuts[c] - from <= CHUNK_BLOCK_TARGET)
			to = cuts[c++];
		if (to - from > LZ4BLOCKS_MAX) { /* one IDB cannot be that long */
			err = -E2BIG;
			goto out;
		}
		if ((err = put_block(m, enc, hdr->data + from, to - from, (uint32_t)from, 0, 0,
				     crc32c(0, hdr->data + from, to - from), BLOCK_HEADER)))
			goto out;
		from = to;
	}
	uint32_t raw_off = (uint32_t)hdr->len;
	for (size_t o = 0; o < dsb.len; o += CHUNK_BLOCK_TARGET) {
		size_t n = dsb.len - o < CHUNK_BLOCK_TARGET ? dsb.len - o : CHUNK_BLOCK_TARGET;
		if ((err = put_block(m, enc, dsb.data + o, n, raw_off, 0, 0,
				     crc32c(0, dsb.data + o, n), BLOCK_KEYLOG)))
			goto out;
		raw_off += (uint32_t)n;
	}
	if ((err = block_maxima(cb, m->n_blocks)))
		goto out;
	if (cb->n_eblk > cb->n_packed)
		chunk_builder_block_crc(cb, cb->n_eblk - 1); /* the last one, still open */
	for (size_t i = 0, at = 0; i < cb->n_eblk; i++) {
		const struct chunk_epb_block *k = &cb->eblk[i];
		size_t end = i + 1 < cb->n_eblk ? cb->eblk[i + 1].off : cb->epbs.len;
		uint32_t last = i + 1 < cb->n_eblk ? cb->eblk[i + 1].first_packet : m->packets;
		if (i < cb->n_packed) {
			err = put_packed(m, enc, cb, i, at, raw_off + k->off,
					 (uint32_t)(end - k->off), last - k->first_packet);
			at += cb->packed_len[i];
		} else {
			err = put_block(m, enc, cb->epbs.data + k->off, end - k->off,
					raw_off + k->off, k->first_packet, last - k->first_packet,
					k->crc, BLOCK_EPBS);
		}
		if (err)
			goto out;
	}
	if ((err = lz4blocks_end(&enc->frame)))
		goto out;
	m->data_len = (uint32_t)lz4blocks_frame_len(enc);
	/* the digest of the data frame as it will be written: its blocks two at a time, read
	 * where they are (the builder's EPBs for blocks stored as is) */
	m->digest_kind = CHUNK_DIGEST_BLOCKS;
	const char *why;
	if ((err = chunk_digest_enc(m, enc, m->digest, &why)))
		goto out;
	m->has_digest = true;
	static const char version[] = "ecap " ECAP_VERSION;
	size_t vlen = sizeof(version) < sizeof(m->version) ? sizeof(version) : sizeof(m->version);
	memcpy(m->version, version, vlen);
	m->version[vlen - 1] = 0;

	/* the flow directory (section 18), which the index's flow list reuses */
	if ((err = chunkmeta_sort_flows(m)))
		goto out;
	buf_reset(meta_frame);
	cb->meta_scratch.lz4_state = enc->state;
	err = chunkmeta_encode_in(m, meta_frame, &cb->meta_scratch);
	cb->meta_scratch.lz4_state = NULL;
out:
	cb->dsb_text.len = text_end; /* the key log as it was: a seal may be repeated */
	return err;
}
