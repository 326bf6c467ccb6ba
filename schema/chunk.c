// SPDX-License-Identifier: GPL-2.0-only
/*
 * chunk.c - building a chunk while it is open, and viewing one read back from disk.
 *
 * The builder appends each packet as a finished EPB (timestamps in nanoseconds, if_tsresol
 * 9) to one buffer and notes its flow in the metadata; flows are found through a small
 * open-addressing table keyed by flow id, or by the caller's note of where the flow was
 * counted (chunk_builder_add_flow_packet), so the per-packet cost is a compare or a hash
 * probe, and a copy.
 * The EPBs are cut into blocks of about CHUNK_BLOCK_TARGET bytes as they arrive (a block
 * ends after the EPB that reaches the target, or before one that would take it past the
 * frame's block maximum), so that a reader can decode the block of a packet alone;
 * chunk_seal.c compresses them when the chunk closes. A packet of more than about 256 KiB
 * (EPB_CAPLEN_MAX) is stored cut to that, with its original length.
 */
#include "chunk.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecap_config.h"
#include "crc32c.h"
#include "lz4blocks.h"
#include "pcapng.h"

/* Bytes of an EPB besides its padded packet data (header, flags option, trailer: 44), with
 * room to spare; and the largest caplen stored, so that one EPB always fits a block. */
#define EPB_OVERHEAD_MAX 64u
#define EPB_CAPLEN_MAX ECAP_CAPLEN_MAX
_Static_assert(EPB_CAPLEN_MAX == LZ4BLOCKS_MAX - EPB_OVERHEAD_MAX, "an EPB fits a block");

struct flow_slot {
	uint64_t flow_id;       /* 0: empty */
	uint32_t stat;          /* index into meta.flowstats, or UINT32_MAX */
	uint32_t rec;           /* index into meta.flows, or UINT32_MAX */
};

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

int chunk_builder_init(struct chunk_builder *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->slot_cap = 1024;
	cb->slots = calloc(cb->slot_cap, sizeof(*cb->slots));
	return cb->slots ? 0 : -ENOMEM;
}

int chunk_builder_prepare(struct chunk_builder *cb, size_t chunk_bytes)
{
	/* a chunk closes at the packet that takes it to chunk_bytes: one EPB more at most */
	if (chunk_bytes > SIZE_MAX - LZ4BLOCKS_MAX)
		return -ENOMEM;
	int err = buf_prepare(&cb->epbs, chunk_bytes + LZ4BLOCKS_MAX);
	/* the secrets of short TLS sessions: one a KiB of packets, a key log line of 100-230
	 * bytes each (an s_time session: 5 in 8 KiB); more grow as before */
	if (!err)
		err = buf_prepare(&cb->dsb_text, PCAPNG_DSB_HEAD + chunk_bytes / 4);
	if (!err)
		err = chunkmeta_reserve((void **)&cb->secrets, cb->n_secrets, &cb->cap_secrets,
					sizeof(*cb->secrets), chunk_bytes / 1024);
	if (!err && cb->cap_secrets)
		mem_populate(cb->secrets, cb->cap_secrets * sizeof(*cb->secrets));
	return err;
}

void chunk_builder_free(struct chunk_builder *cb)
{
	chunkmeta_free(&cb->meta);
	buf_free(&cb->epbs);
	buf_free(&cb->dsb_text);
	free(cb->secrets);
	free(cb->iface_local);
	free(cb->slots);
	free(cb->eblk);
	free(cb->bmax);
	free(cb->bmax_at);
	buf_free(&cb->packed);
	free(cb->packed_len);
	chunkmeta_scratch_free(&cb->meta_scratch);
	buf_free(&cb->hdr);
	free(cb->hdr_cuts);
	memset(cb, 0, sizeof(*cb));
}

bool chunk_builder_empty(const struct chunk_builder *cb)
{
	return cb->meta.packets == 0 && cb->meta.n_flows == 0 && cb->n_secrets == 0 &&
	       cb->meta.n_sessions == 0 && cb->meta.n_drops == 0 && cb->meta.n_procs == 0 &&
	       cb->meta.n_links == 0 && cb->meta.n_containers == 0;
}

static int slots_grow(struct chunk_builder *cb)
{
	size_t ncap = cb->slot_cap * 2;
	struct flow_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < cb->slot_cap; i++) {
		struct flow_slot *s = &cb->slots[i];
		if (!s->flow_id)
			continue;
		size_t j = hash64(s->flow_id) & (ncap - 1);
		while (ns[j].flow_id)
			j = (j + 1) & (ncap - 1);
		ns[j] = *s;
	}
	free(cb->slots);
	cb->slots = ns;
	cb->slot_cap = ncap;
	return 0;
}

/* The slot of flow_id, created empty when missing; NULL on out of memory. */
static struct flow_slot *slot_get(struct chunk_builder *cb, uint64_t flow_id)
{
	size_t mask = cb->slot_cap - 1;
	size_t i = hash64(flow_id) & mask;
	while (cb->slots[i].flow_id) {
		if (cb->slots[i].flow_id == flow_id)
			return &cb->slots[i];
		i = (i + 1) & mask;
	}
	if ((cb->slot_used + 1) * 2 > cb->slot_cap) {
		if (slots_grow(cb))
			return NULL;
		return slot_get(cb, flow_id);
	}
	cb->slot_used++;
	cb->slots[i].flow_id = flow_id;
	cb->slots[i].stat = UINT32_MAX;
	cb->slots[i].rec = UINT32_MAX;
	return &cb->slots[i];
}

static int local_iface(struct chunk_builder *cb, uint32_t store_id, const struct ecap_iface *desc,
		       uint32_t *local)
{
	if (store_id >= cb->iface_local_cap) {
		size_t ncap = store_id + 16;
		uint32_t *p = realloc(cb->iface_local, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + cb->iface_local_cap, 0, (ncap - cb->iface_local_cap) * sizeof(*p));
		cb->iface_local = p;
		cb->iface_local_cap = ncap;
	}
	struct chunk_run *run = cb->run;
	if (run && store_id >= run->cap) {
		size_t ncap = store_id + 16;
		uint64_t *p = realloc(run->last_ns, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + run->cap, 0, (ncap - run->cap) * sizeof(*p));
		run->last_ns = p;
		run->cap = ncap;
	}
	if (cb->meta.n_ifaces >= cb->bmax_at_cap) {
		size_t ncap = cb->meta.n_ifaces + 16;
		uint32_t *p = realloc(cb->bmax_at, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + cb->bmax_at_cap, 0, (ncap - cb->bmax_at_cap) * sizeof(*p));
		cb->bmax_at = p;
		cb->bmax_at_cap = ncap;
	}
	if (!cb->iface_local[store_id]) {
		struct chunkmeta_iface *f = chunkmeta_push(&cb->meta, ifaces);
		if (!f)
			return -ENOMEM;
		f->store_id = store_id;
		f->desc = *desc;
		f->after_ns = run ? run->last_ns[store_id] : 0;
		cb->iface_local[store_id] = (uint32_t)cb->meta.n_ifaces;
	}
	*local = cb->iface_local[store_id] - 1;
	return 0;
}

/* The flow bookkeeping of a packet: its flowstat (made on the flow's first packet in the
 * chunk), updated; *idx receives the chunk-local flow. hint: where the caller last saw the
 * flow counted, taken when that entry is the flow's (a chunk's flowstats are one per flow
 * and stay in place while it is open), else the flow is looked up. Fails only before
 * changing anything. */
static int count_in_flow(struct chunk_builder *cb, const struct ecap_packet *pkt, uint32_t hint,
			 uint32_t *idx)
{
	struct chunk_meta *m = &cb->meta;
	if (hint >= m->n_flowstats || m->flowstats[hint].flow_id != pkt->flow_id) {
		struct flow_slot *s = slot_get(cb, pkt->flow_id);
		if (!s)
			return -ENOMEM;
		if (s->stat == UINT32_MAX) {
			struct chunkmeta_flowstat *st = chunkmeta_push(m, flowstats);
			if (!st)
				return -ENOMEM;
			st->flow_id = pkt->flow_id;
			st->first_ns = pkt->ts_ns;
			s->stat = (uint32_t)(m->n_flowstats - 1);
		}
		hint = s->stat;
	}
	struct chunkmeta_flowstat *st = &m->flowstats[hint];
	st->packets++;
	st->bytes += pkt->origlen;
	if (pkt->ts_ns < st->first_ns)
		st->first_ns = pkt->ts_ns;
	if (pkt->ts_ns > st->last_ns)
		st->last_ns = pkt->ts_ns;
	*idx = hint;
	return 0;
}

/* The packet's time in its block's maxima (room for one more entry was made). */
static void note_block_max(struct chunk_builder *cb, uint32_t local, uint64_t ts)
{
	uint32_t blk = (uint32_t)(cb->n_eblk - 1), e = cb->bmax_at[local];
	if (e && cb->bmax[e - 1].block == blk) {
		if (ts > cb->bmax[e - 1].max_ns)
			cb->bmax[e - 1].max_ns = ts;
		return;
	}
	cb->bmax[cb->n_bmax++] = (struct chunk_blockmax){ .block = blk, .local = local,
							  .max_ns = ts };
	cb->bmax_at[local] = (uint32_t)cb->n_bmax;
}

/* Everything that can fail comes before the packet counts change, and is undone when a
 * later step fails: a packet is in the chunk whole or not at all. */
int chunk_builder_add_packet(struct chunk_builder *cb, const struct ecap_packet *pkt,
			     const struct ecap_iface *iface)
{
	uint32_t none = UINT32_MAX;
	return chunk_builder_add_flow_packet(cb, pkt, iface, &none);
}

int chunk_builder_add_flow_packet(struct chunk_builder *cb, const struct ecap_packet *pkt,
				  const struct ecap_iface *iface, uint32_t *flow_stat)
{
	struct chunk_meta *m = &cb->meta;
	uint32_t local, flow_idx = CHUNKMETA_NO_FLOW;
	bool new_block = false;
	int err;

	if (pkt->iface < cb->iface_local_cap && cb->iface_local[pkt->iface])
		local = cb->iface_local[pkt->iface] - 1;
	else if ((err = local_iface(cb, pkt->iface, iface, &local)))
		return err;

	/* A block may not outgrow the frame's block maximum: one that could starts anew
	 * before this EPB, and a packet too large for any block keeps its first bytes. */
	uint32_t caplen = pkt->caplen < EPB_CAPLEN_MAX ? pkt->caplen : EPB_CAPLEN_MAX;
	size_t cur = cb->n_eblk ? cb->epbs.len - cb->eblk[cb->n_eblk - 1].off : 0;
	if (cb->n_eblk == 0 || cur >= CHUNK_BLOCK_TARGET ||
	    cur + EPB_OVERHEAD_MAX + caplen > LZ4BLOCKS_MAX) {
		if (cb->n_eblk)
			chunk_builder_block_crc(cb, cb->n_eblk - 1);
		struct chunk_epb_block *k = chunkmeta_grow((void **)&cb->eblk, &cb->n_eblk,
							   &cb->cap_eblk, sizeof(*k));
		if (!k)
			return -ENOMEM;
		k->off = (uint32_t)cb->epbs.len;
		k->first_packet = m->packets;
		new_block = true;
	} else if (cb->n_packed == cb->n_eblk) {
		/* The open block was compressed ahead (chunk_builder_precompress() on a chunk
		 * that then stayed open, its close having failed): that copy is stale now. */
		cb->n_packed--;
		cb->packed.len -= cb->packed_len[cb->n_packed];
	}
	if (cb->n_bmax == cb->cap_bmax) {
		size_t ncap = cb->cap_bmax ? cb->cap_bmax * 2 : 32;
		struct chunk_blockmax *p = realloc(cb->bmax, ncap * sizeof(*p));
		if (!p) {
			err = -ENOMEM;
			goto undo_block;
		}
		cb->bmax = p;
		cb->cap_bmax = ncap;
	}
	size_t at = cb->epbs.len;
	if ((err = pcapng_write_epb_flags(&cb->epbs, local, pkt->ts_ns, pkt->data, caplen,
					  pkt->origlen, pkt->flags)))
		goto undo_block;
	uint32_t *pf = chunkmeta_push(m, pktflow);
	if (!pf) {
		err = -ENOMEM;
		goto undo_epb;
	}
	if (pkt->flow_id && (err = count_in_flow(cb, pkt, *flow_stat, &flow_idx))) {
		m->n_pktflow--;
		goto undo_epb;
	}
	*pf = flow_idx;
	if (pkt->flow_id)
		*flow_stat = flow_idx;
	else
		m->nonflow_packets++;
	if (m->packets == 0 || pkt->ts_ns < m->first_ns)
		m->first_ns = pkt->ts_ns;
	if (pkt->ts_ns > m->last_ns)
		m->last_ns = pkt->ts_ns;
	m->packets++;
	cb->bytes_origlen += pkt->origlen;
	if (cb->run && pkt->ts_ns > cb->run->last_ns[pkt->iface])
		cb->run->last_ns[pkt->iface] = pkt->ts_ns;
	note_block_max(cb, local, pkt->ts_ns);
	return 0;

undo_epb:
	cb->epbs.len = at;
undo_block:
	if (new_block)
		cb->n_eblk--;
	return err;
}

void chunk_builder_block_crc(struct chunk_builder *cb, size_t i)
{
	struct chunk_epb_block *k = &cb->eblk[i];
	size_t end = i + 1 < cb->n_eblk ? cb->eblk[i + 1].off : cb->epbs.len;
	k->crc = crc32c(0, cb->epbs.data + k->off, end - k->off);
}

bool chunk_builder_has_flow(const struct chunk_builder *cb, uint64_t flow_id)
{
	size_t mask = cb->slot_cap - 1;
	for (size_t i = hash64(flow_id) & mask; cb->slots[i].flow_id; i = (i + 1) & mask)
		if (cb->slots[i].flow_id == flow_id)
			return cb->slots[i].rec != UINT32_MAX;
	return false;
}

int chunk_builder_add_flow(struct chunk_builder *cb, const struct flow_record *flow)
{
	struct flow_slot *s = slot_get(cb, flow->id);
	if (!s)
		return -ENOMEM;
	if (s->rec == UINT32_MAX) {
		if (!chunkmeta_push(&cb->meta, flows))
			return -ENOMEM;
		s->rec = (uint32_t)(cb->meta.n_flows - 1);
	}
	cb->meta.flows[s->rec] = *flow;
	return 0;
}

int chunk_builder_add_session(struct chunk_builder *cb, const uint8_t cr[32], uint64_t flow_id)
{
	struct chunkmeta_session *ss = chunkmeta_push(&cb->meta, sessions);
	if (!ss)
		return -ENOMEM;
	memcpy(ss->client_random, cr, 32);
	ss->flow_id = flow_id;
	return 0;
}

int chunk_builder_has_secret(const struct chunk_builder *cb, const struct tls_secret *sec)
{
	for (size_t i = 0; i < cb->n_secrets; i++)
		if (!memcmp(cb->secrets[i].client_random, sec->client_random, 32) &&
		    !strcmp(cb->secrets[i].label, sec->label))
			return 1;
	return 0;
}

int chunk_builder_add_secret(struct chunk_builder *cb, const struct tls_secret *sec)
{
	char line[ECAP_LABEL_MAX + 2 * 32 + 2 * ECAP_SECRET_MAX + 4];
	size_t n = secret_format_line(sec, line, sizeof(line));
	size_t before = cb->dsb_text.len; /* a secret is in the chunk whole or not at all */
	int err = before ? 0 : buf_append(&cb->dsb_text, NULL, PCAPNG_DSB_HEAD);
	if (!err)
		err = buf_append(&cb->dsb_text, line, n);
	struct tls_secret *slot = err ? NULL :
		chunkmeta_grow((void **)&cb->secrets, &cb->n_secrets, &cb->cap_secrets,
			       sizeof(*cb->secrets));
	if (!slot) {
		cb->dsb_text.len = before;
		return err ? err : -ENOMEM;
	}
	*slot = *sec;
	return 0;
}

int chunk_builder_add_process(struct chunk_builder *cb, const struct ecap_proc_info *pi)
{
	struct ecap_proc_info *slot = chunkmeta_push(&cb->meta, procs);
	if (!slot)
		return -ENOMEM;
	*slot = *pi;
	return 0;
}

int chunk_builder_add_link(struct chunk_builder *cb, const struct flow_link *link)
{
	struct flow_link *slot = chunkmeta_push(&cb->meta, links);
	if (!slot)
		return -ENOMEM;
	*slot = *link;
	return 0;
}

int chunk_builder_add_container(struct chunk_builder *cb, const struct ecap_container *c)
{
	struct ecap_container *slot = chunkmeta_push(&cb->meta, containers);
	if (!slot)
		return -ENOMEM;
	*slot = *c;
	return 0;
}

int chunk_builder_add_drops(struct chunk_builder *cb, uint32_t iface, uint64_t ts, uint64_t n)
{
	struct chunkmeta_drops *d = chunkmeta_push(&cb->meta, drops);
	if (!d)
		return -ENOMEM;
	d->iface = iface;
	d->ts_ns = ts;
	d->count = n;
	return 0;
}

void chunk_builder_reset(struct chunk_builder *cb)
{
	chunkmeta_reset(&cb->meta);
	buf_reset(&cb->epbs);
	buf_reset(&cb->dsb_text);
	cb->n_secrets = 0;
	if (cb->iface_local)
		memset(cb->iface_local, 0, cb->iface_local_cap * sizeof(*cb->iface_local));
	memset(cb->slots, 0, cb->slot_cap * sizeof(*cb->slots));
	cb->slot_used = 0;
	cb->bytes_origlen = 0;
	cb->n_eblk = 0;
	cb->n_bmax = 0;
	if (cb->bmax_at)
		memset(cb->bmax_at, 0, cb->bmax_at_cap * sizeof(*cb->bmax_at));
	buf_reset(&cb->packed);
	cb->n_packed = 0;
}
