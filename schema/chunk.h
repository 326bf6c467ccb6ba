/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chunk.h - chunks in memory: the builder that collects packets, flows and secrets while a
 * chunk is open and turns them into a metadata frame and an LZ4 data frame when it closes;
 * and the view that turns a chunk read from disk back into packets in timestamp order.
 */
#ifndef ECAP_CHUNK_H
#define ECAP_CHUNK_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "chunkmeta.h"
#include "pcapng.h"
#include "records.h"

struct flow_slot;
struct lz4blocks_enc;

/* Raw bytes of EPBs after which the data frame starts a new block. A read of one packet
 * decodes and checks its whole block: 16 KiB rather than 64 KiB took a packet of a long-lived
 * sparse flow from 243,000 to 172,000 instructions, for a store 2.2% larger (BENCHMARKS
 * section 10). Readers take any block size section 7 lists. */
#define CHUNK_BLOCK_TARGET (16u * 1024)

/* Where a block of EPBs starts (its offset in `epbs`, its first packet), and the CRC-32C of
 * its bytes, computed when the next block starts (while they are still in the cache) or, for
 * the last one, when the chunk is sealed. */
struct chunk_epb_block {
	uint32_t off, first_packet, crc;
};

/* What a writer carries from chunk to chunk: per store interface, the latest packet time it
 * appended so far (0: none), which becomes the interface's after_ns in the next chunk that
 * holds it (chunkmeta.c, section 8). */
struct chunk_run {
	uint64_t *last_ns;
	size_t cap;
};

/* The latest time of a chunk-local interface in one EPB block. */
struct chunk_blockmax {
	uint32_t block, local;
	uint64_t max_ns;
};

struct chunk_builder {
	struct chunk_meta meta;
	struct chunk_run *run;           /* NULL: the chunk records no after_ns */
	struct buf epbs;                 /* the EPBs, in arrival order */
	struct buf dsb_text;             /* the DSB: PCAPNG_DSB_HEAD bytes of room for its head,
					  * then the key log lines (empty: no secrets); the seal
					  * wraps it in place (pcapng_wrap_dsb) */
	struct tls_secret *secrets;      size_t n_secrets, cap_secrets;
	uint32_t *iface_local;           /* store iface id -> local index + 1 (0: not yet) */
	size_t iface_local_cap;
	struct flow_slot *slots;         /* flow id -> its flowstat and flow record */
	size_t slot_cap, slot_used;
	uint64_t bytes_origlen;
	struct chunk_epb_block *eblk;    /* the EPB blocks begun so far (the data frame's blocks) */
	size_t n_eblk, cap_eblk;
	struct chunk_blockmax *bmax;     /* per EPB block, each interface's latest time in it */
	size_t n_bmax, cap_bmax;
	uint32_t *bmax_at;               /* per chunk-local interface: 1 + its bmax entry in the
					  * open block, or in an earlier one (0: none yet) */
	size_t bmax_at_cap;
	struct buf packed;               /* the first n_packed EPB blocks, already compressed */
	uint32_t *packed_len;            /* their stored lengths */
	size_t n_packed, cap_packed;
	struct chunkmeta_scratch meta_scratch; /* the seal's metadata body, kept for the next */
	struct buf hdr;                  /* the seal's SHB and IDBs, kept for the next */
	size_t *hdr_cuts;                /* where their pcapng blocks end (chunk_seal.c) */
	size_t cap_hdr_cuts;
};

int chunk_builder_init(struct chunk_builder *cb);
/* The EPB buffer made memory for a whole chunk of chunk_bytes now, and the key log's for the
 * secrets of short TLS sessions in it: filling a chunk then takes no page fault and no copy of
 * a growing buffer (a fresh recorder's first chunks did both, once per 4 KiB, on the thread
 * that drains the rings). 0 or -ENOMEM. */
int chunk_builder_prepare(struct chunk_builder *cb, size_t chunk_bytes);
void chunk_builder_free(struct chunk_builder *cb);
bool chunk_builder_empty(const struct chunk_builder *cb);
/* Raw pcapng bytes so far (what chunk_bytes is compared with); inline: asked per packet. */
static inline size_t chunk_builder_raw_size(const struct chunk_builder *cb)
{
	return cb->epbs.len + (cb->dsb_text.len ? cb->dsb_text.len - PCAPNG_DSB_HEAD : 0);
}

/* The hot path. iface describes pkt->iface (needed the first time it occurs in a chunk). */
int chunk_builder_add_packet(struct chunk_builder *cb, const struct ecap_packet *pkt,
			     const struct ecap_iface *iface);
/* The same, with *flow_stat the caller's memory of where the packet's flow was counted in the
 * metadata: taken when that entry is pkt->flow_id's (any value is safe: it is checked, and
 * the flow's table gives the place otherwise), and set to where it is counted now. A caller
 * that keeps it per flow saves a lookup by flow id per packet. Unchanged when pkt->flow_id is
 * 0 or on failure. */
int chunk_builder_add_flow_packet(struct chunk_builder *cb, const struct ecap_packet *pkt,
				  const struct ecap_iface *iface, uint32_t *flow_stat);
int chunk_builder_add_flow(struct chunk_builder *cb, const struct flow_record *flow);
/* Whether the chunk has a record of flow_id (from chunk_builder_add_flow). */
bool chunk_builder_has_flow(const struct chunk_builder *cb, uint64_t flow_id);
int chunk_builder_add_session(struct chunk_builder *cb, const uint8_t cr[32], uint64_t flow_id);
int chunk_builder_add_secret(struct chunk_builder *cb, const struct tls_secret *sec);
int chunk_builder_has_secret(const struct chunk_builder *cb, const struct tls_secret *sec);
int chunk_builder_add_drops(struct chunk_builder *cb, uint32_t iface, uint64_t ts, uint64_t n);
int chunk_builder_add_process(struct chunk_builder *cb, const struct ecap_proc_info *pi);
int chunk_builder_add_link(struct chunk_builder *cb, const struct flow_link *link);
int chunk_builder_add_container(struct chunk_builder *cb, const struct ecap_container *c);

/*
 * Close the chunk as chunk `id` (chunk_seal.c): meta_frame receives the metadata frame and
 * enc the data frame that follows it on disk (lz4blocks_frame_iov; it refers to the
 * builder's buffers); cb->meta is complete (for the index) and cb->secrets lists its
 * secrets. Call chunk_builder_reset() once both are written and used.
 */
int chunk_builder_seal(struct chunk_builder *cb, uint64_t id, struct lz4blocks_enc *enc,
		       struct buf *meta_frame);
void chunk_builder_reset(struct chunk_builder *cb);
/* Compute the CRC-32C of EPB block i (its bytes are complete). */
void chunk_builder_block_crc(struct chunk_builder *cb, size_t i);
/*
 * For a closed chunk not yet sealed: compress its next EPB block now, through enc (on the
 * caller's thread: seal then only copies it). false when every block is done, or on an
 * error (the seal then compresses the rest itself).
 */
bool chunk_builder_precompress(struct chunk_builder *cb, struct lz4blocks_enc *enc);

/* ---- reading ------------------------------------------------------------------------ */

struct chunk_pkt {
	uint64_t ts_ns;
	uint64_t key_ns;         /* order: the running max of its interface's times (after_ns) */
	uint64_t flow_id;
	uint32_t data_off;
	uint32_t caplen, origlen;
	uint32_t flags;
	uint32_t iface;          /* store id */
};

struct chunk_view {
	struct chunk_meta meta;
	struct buf frames;
	struct buf raw;          /* the decompressed pcapng section, or some of its blocks */
	uint32_t *block_at;      /* per block of meta.blocks: where it is in raw (UINT32_MAX:
				  * not read); NULL: each at its raw_off (the whole section).
				  * Set by chunk_view_place_blocks(), into block_at_mem */
	struct chunk_pkt *pkts;
	size_t n_pkts, cap_pkts, pos; /* cap_pkts: the packets the parse expects (a bound) */
	size_t dsb_off[16];      /* offsets and lengths of TLSK DSB bodies in raw */
	size_t dsb_len[16];
	size_t n_dsb;
	/* Memory kept when a view is reset for another chunk (store_chunk_close): */
	uint32_t *block_at_mem;  size_t block_at_alloc;
	size_t pkts_alloc;       /* entries allocated at pkts */
	uint64_t *iface_keys;    size_t iface_keys_alloc; /* the parse's keys per interface */
};

/* Where the blocks read go: block_at made room for n entries (not cleared), in the view's
 * kept memory. NULL: out of memory. */
uint32_t *chunk_view_place_blocks(struct chunk_view *v, size_t n);
/* Empty the view for another chunk, keeping its memory. */
void chunk_view_reset(struct chunk_view *v);

/* Parse the pcapng section of a chunk whose meta, frames and raw are filled in. */
int chunk_view_parse(struct chunk_view *v, const char **why);
/*
 * The same for a chunk made of blocks of which only some were decoded into raw (where
 * block_at says, or at their raw_off): the header blocks and the blocks marked in want (one
 * byte per block of meta.blocks). Only the packets of those blocks whose chunk-local flow has a flow id in keep
 * (one per chunk-local flow, 0: none) are listed, with that id; keep NULL: every packet, with
 * its flow from meta.flowstats. A packet of those blocks naming a chunk-local flow beyond the
 * chunk's is damage (-EBADMSG).
 */
int chunk_view_parse_blocks(struct chunk_view *v, const uint8_t *want, const uint64_t *keep,
			    const char **why);
/* For a chunk made of blocks: marks in want (one byte per block, zeroed) the blocks before its
 * first packet (the SHB, the IDBs, the DSBs) and returns where they end in the section. */
size_t chunk_head_blocks(const struct chunk_meta *m, uint8_t *want);
/*
 * The same for the chunk's first end bytes alone (the blocks before its first packet: the SHB,
 * the IDBs and the DSBs), decoded into raw: the DSBs found, for chunk_view_walk_secrets; a
 * packet there is damage.
 */
int chunk_view_parse_head(struct chunk_view *v, size_t end, const char **why);
void chunk_view_free_contents(struct chunk_view *v);

/*
 * Calls fn for each secret in the view's DSBs. Lines are "LABEL <64 hex> <hex>" as
 * chunk_builder writes them; a line that does not parse makes the walk return -EBADMSG.
 */
int chunk_view_walk_secrets(const struct chunk_view *v,
			    int (*fn)(const struct tls_secret *sec, void *ctx), void *ctx);

/* One secret as a key log line, with the newline; returns its length. */
size_t secret_format_line(const struct tls_secret *sec, char *out, size_t cap);
/* Parse one key log line of the strict form above (no newline). 0 or -EINVAL. */
int secret_parse_line(const char *line, size_t len, struct tls_secret *out);

#endif
