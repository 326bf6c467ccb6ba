/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chunkmeta.h - a chunk's metadata: everything the index knows about a chunk that the
 * pcapng section itself cannot say (store ids of its interfaces and flows, which flow each
 * packet belongs to, owning processes, TLS sessions, drops). It travels in a skippable LZ4
 * frame right before the chunk's data frame; chunkmeta.c specifies the bytes.
 *
 * The writer builds a struct chunk_meta while the chunk fills, encodes it when the chunk
 * closes, and hands the same struct to the index; recovery and rebuild decode it from disk
 * and hand it to the same index function. So an index rebuilt from segments answers every
 * query exactly as the original did.
 */
#ifndef ECAP_CHUNKMETA_H
#define ECAP_CHUNKMETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "records.h"

#define CHUNKMETA_MAGIC 0x314D4345u /* "ECM1" */
#define CHUNKMETA_VERSION 1
#define CHUNKMETA_HEADER_LEN 64
#define CHUNKMETA_FLAG_BODY_LZ4 0x1u
#define CHUNKMETA_FLAG_HAS_SECRETS 0x2u
#define CHUNKMETA_FLAG_BLOCKS 0x4u      /* the data frame is the blocks listed in `blocks` */
#define CHUNKMETA_NO_FLOW 0xFFFFFFFFu
#define CHUNKMETA_BODY_MAX (64u * 1024 * 1024)
#define CHUNKMETA_DIGEST_LEN 32
#define CHUNKMETA_VERSION_MAX 32

struct chunkmeta_iface {
	uint32_t store_id;
	struct ecap_iface desc;
	uint64_t after_ns;    /* latest time of this interface in the writer's earlier chunks */
};

struct chunkmeta_flowstat {
	uint64_t flow_id;
	uint32_t packets;
	uint64_t bytes;       /* origlen summed */
	uint64_t first_ns, last_ns;
};

struct chunkmeta_session {
	uint8_t client_random[32];
	uint64_t flow_id;
};

struct chunkmeta_drops {
	uint32_t iface;
	uint64_t ts_ns;
	uint64_t count;
};

/* One block of the data frame (lz4blocks.h). Blocks cover the pcapng section in order;
 * those before the first packet hold the SHB, the IDBs and the DSBs. */
struct chunkmeta_block {
	uint32_t raw_off, raw_len;         /* its bytes in the pcapng section */
	uint32_t data_off, data_len;       /* where it is stored in the data frame */
	uint32_t first_packet, packets;    /* the EPBs it holds, by index in the section */
	uint32_t crc;                      /* CRC-32C of its raw bytes */
};

/* A flow of the chunk by id: its chunk-local index (its element of `flowstats`). */
struct chunkmeta_flowdir {
	uint64_t flow_id;
	uint32_t local;
};

/* Arrays grow with chunkmeta_push(); counts n_*, capacities cap_*. */
struct chunk_meta {
	/* header */
	uint64_t id;
	uint64_t first_ns, last_ns;
	uint32_t packets;
	uint32_t nonflow_packets;
	uint32_t raw_len;     /* decompressed pcapng section */
	uint32_t data_len;    /* the LZ4 data frame that follows */
	uint32_t flags;
	/* body; the i-th interface here is pcapng interface i of the section */
	struct chunkmeta_iface *ifaces;          size_t n_ifaces, cap_ifaces;
	struct flow_record *flows;               size_t n_flows, cap_flows;
	struct chunkmeta_flowstat *flowstats;    size_t n_flowstats, cap_flowstats;
	uint32_t *pktflow;                       size_t n_pktflow, cap_pktflow;
	struct chunkmeta_session *sessions;      size_t n_sessions, cap_sessions;
	struct chunkmeta_drops *drops;           size_t n_drops, cap_drops;
	struct chunkmeta_block *blocks;          size_t n_blocks, cap_blocks;
	/* with blocks: element b * n_ifaces + i is the latest time of interface i in block b
	 * (0: none), so that a read that skips blocks orders like a whole read (section 9) */
	uint64_t *blockmax;                      size_t n_blockmax, cap_blockmax;
	/* integrity: the data frame's SHA-256 and who wrote it (absent in older chunks), and
	 * which SHA-256 of it (section 19; chunk_digest.h: 0 in chunks without it) */
	bool has_digest;
	uint8_t digest[CHUNKMETA_DIGEST_LEN];
	uint32_t digest_kind;
	char version[CHUNKMETA_VERSION_MAX];
	struct ecap_proc_info *procs;            size_t n_procs, cap_procs;
	struct ecap_container *containers;       size_t n_containers, cap_containers;
	/* with CHUNKMETA_FLAG_BLOCKS: the first header_blocks blocks hold the SHB and the IDBs
	 * (whole pcapng blocks each), what a read of some flows needs besides their packets */
	uint32_t header_blocks;
	/* flows linked before and after NAT (section 15) */
	struct flow_link *links;                 size_t n_links, cap_links;
	/* with CHUNKMETA_FLAG_BLOCKS, in chunks written since sections 17 and 18: the chunk's
	 * flows in ascending id order (section 18; the writer fills it before encoding with
	 * chunkmeta_sort_flows, and the index reuses it) */
	struct chunkmeta_flowdir *flowdir;       size_t n_flowdir, cap_flowdir;
	/* the decompressed body while it is decoded, kept for the next chunk decoded here */
	uint8_t *body_mem;                       size_t body_alloc;
	/* set by chunkmeta_decode_plan when only the read plan was decoded: flowdir then
	 * holds only the wanted flows, plan_flows counts the chunk-local flows, and flows,
	 * flowstats, sessions, drops and processes are not read */
	bool plan_only;
	size_t plan_flows;
	/* where it stands (not encoded: known from the reading position) */
	uint32_t segment;
	uint64_t offset;
	uint32_t length;      /* both frames */
	uint32_t pad;         /* bytes of the padding frame after them (0: none), where the
			       * writer wrote one; the segment's end in the index counts them */
};

/* Grow an array member by one, returning the new zeroed slot (NULL: out of memory). */
#define chunkmeta_push(m, field) \
	((typeof((m)->field))chunkmeta_push_((void **)&(m)->field, &(m)->n_##field, \
					     &(m)->cap_##field, sizeof(*(m)->field)))
void *chunkmeta_grow(void **arr, size_t *n, size_t *cap, size_t elem);
/* chunkmeta_grow() with the room already there done in line (a recorded packet pushes one
 * element or two): the element's size is known where it is called, so is its zeroing. */
static inline void *chunkmeta_push_(void **arr, size_t *n, size_t *cap, size_t elem)
{
	if (*n == *cap)
		return chunkmeta_grow(arr, n, cap, elem);
	void *slot = (char *)*arr + *n * elem;
	memset(slot, 0, elem);
	(*n)++;
	return slot;
}
/* Room for `more` elements past *n in one allocation (a decoder that knows its count). */
int chunkmeta_reserve(void **arr, size_t n, size_t *cap, size_t elem, size_t more);
#define chunkmeta_reserve_for(m, field, more) \
	chunkmeta_reserve((void **)&(m)->field, (m)->n_##field, &(m)->cap_##field, \
			  sizeof(*(m)->field), (more))

/* Empty the arrays (keeping their memory) and zero the header. */
void chunkmeta_reset(struct chunk_meta *m);
void chunkmeta_free(struct chunk_meta *m);

/* The whole skippable frame (8-byte frame header, meta header, body) appended to out. */
int chunkmeta_encode(const struct chunk_meta *m, struct buf *out);
/* The same, the body built in sc's buffers: a writer that encodes chunk after chunk keeps
 * them, so their memory is made once rather than at each chunk (freed, it came back from the
 * system as fresh pages, each a page fault). */
struct chunkmeta_scratch {
	struct buf body, packed;
	void *lz4_state; /* LZ4_sizeofState() bytes lent by the caller to compress the body with
			  * (the writer's own, in the cache from the chunk's blocks), or NULL:
			  * one on the stack */
};
int chunkmeta_encode_in(const struct chunk_meta *m, struct buf *out, struct chunkmeta_scratch *sc);
void chunkmeta_scratch_free(struct chunkmeta_scratch *sc);

/*
 * Decode a meta frame from p (avail bytes). Returns the frame's length (> 0), 0 when p does
 * not start with a meta frame's magic, -ENODATA when the frame is cut short (a torn tail), or
 * -EBADMSG with *why set when it is damaged.
 */
long chunkmeta_decode(const uint8_t *p, size_t avail, struct chunk_meta *m, const char **why);
/* What a read of a chunk's plan needs: the flows it looks up in the flow directory (ids
 * ascending); or, with digest_only, the integrity section alone (an export's proof). */
struct chunkmeta_want {
	const uint64_t *flow_ids;
	size_t n;
	bool digest_only;
};

/*
 * For a read of some flows: the same as chunkmeta_decode for a chunk written without a read
 * plan (section 17); for one with, only the plan's part of the body: the header, the
 * interfaces and their order, the blocks, the integrity section, the packets' flows, and of
 * the flow directory the entries of the flows in want (NULL: none) into flowdir.
 * m->plan_only says which. With want->digest_only, of a chunk with a plan only the header
 * and the integrity sections (has_digest, digest, digest_kind, version) are read. Of a plan, the packets'
 * chunk-local flows (pktflow) are not checked against the chunk's flow count (plan_flows):
 * a reader bounds those it uses (chunk_view_parse_blocks does).
 */
long chunkmeta_decode_plan(const uint8_t *p, size_t avail, struct chunk_meta *m,
			   const struct chunkmeta_want *want, const char **why);
/*
 * The digest and version a chunk's metadata frame claims (has_digest, digest, digest_kind,
 * version, id, flags), from its first avail bytes, which may end inside the frame: of a chunk with a read
 * plan, the integrity section that starts it. Not verified (the frame's CRC covers all of
 * it): a caller confirms it against a verified read of the same chunk. Returns the frame's
 * length; 0 when p holds no metadata frame; -ENODATA when the bytes end before the digest;
 * -ENOENT when the chunk has no plan or no digest there (read the frame whole); -EBADMSG.
 */
long chunkmeta_peek_digest(const uint8_t *p, size_t avail, struct chunk_meta *m,
			   const char **why);
/* Fill m->flowdir from m->flowstats (the writer, before chunkmeta_encode). 0 or -ENOMEM. */
int chunkmeta_sort_flows(struct chunk_meta *m);
/* Only the frame's total length, from its first 8 bytes; 0 if not a meta frame. */
long chunkmeta_frame_len(const uint8_t *p, size_t avail);

#endif
