// SPDX-License-Identifier: GPL-2.0-only
/*
 * chunkmeta_encode.c - writing a chunk's metadata frame, whose bytes the opening comment of
 * chunkmeta.c specifies: the sections in the order a reader of the read plan needs them
 * (section 17 first, then what it covers), the body LZ4-compressed when that saves room, the
 * header's CRC-32C; and the flow directory (section 18) that the writer sorts once and the
 * index reuses (chunkmeta_sort_flows).
 */
#include <errno.h>
#include <lz4.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chunkmeta_format.h"
#include "crc32c.h"
#include "le.h"

static uint8_t *put_section(struct buf *b, uint16_t type, uint32_t count, size_t byte_len)
{
	if (buf_reserve(b, 12 + byte_len))
		return NULL;
	uint8_t *p = b->data + b->len;
	le16_store(p, type);
	le16_store(p + 2, 0);
	le32_store(p + 4, count);
	le32_store(p + 8, (uint32_t)byte_len);
	b->len += 12 + byte_len;
	return p + 12;
}

static void put_proc(uint8_t *p, const struct ecap_proc *pr)
{
	p[0] = pr->valid;
	le32_store(p + 1, pr->pid);
	le32_store(p + 5, pr->tid);
	le32_store(p + 9, pr->uid);
	le32_store(p + 13, pr->gid);
	memset(p + 17, 0, 16);
	memcpy(p + 17, pr->comm, strnlen(pr->comm, ECAP_COMM_LEN - 1));
	le64_store(p + 33, pr->cgroup_id);
	le32_store(p + 41, pr->netns);
}

/* One text of a record pi at t, its length at lens; and its length added to len. */
#define PUT_TEXT(f)                                   \
	n = strnlen(pi->f, sizeof(pi->f) - 1);        \
	le16_store(lens, (uint16_t)n);                \
	lens += 2;                                    \
	memcpy(t, pi->f, n);                          \
	t += n;
#define TEXT_LEN(f) len += strnlen(pi->f, sizeof(pi->f) - 1);

static uint8_t *put_procinfo(uint8_t *p, const struct ecap_proc_info *pi)
{
	uint8_t *lens = p + PROCINFO_FIXED - 2 * PROCINFO_TEXT_COUNT, *t = p + PROCINFO_FIXED;
	size_t n;

	le32_store(p, pi->pid);
	le64_store(p + 4, pi->start_ns);
	le64_store(p + 12, pi->start_wall_ns);
	le32_store(p + 20, pi->ppid);
	le32_store(p + 24, pi->nspid);
	memset(p + 28, 0, ECAP_COMM_LEN);
	memcpy(p + 28, pi->parent_comm, strnlen(pi->parent_comm, ECAP_COMM_LEN - 1));
	PROCINFO_TEXTS(PUT_TEXT)
	return t;
}

static uint8_t *put_container(uint8_t *p, const struct ecap_container *pi)
{
	uint8_t *lens = p + 16, *t = p + CONTAINER_FIXED;
	size_t n;

	le64_store(p, pi->first_ns);
	le64_store(p + 8, pi->last_ns);
	CONTAINER_TEXTS(PUT_TEXT)
	return t;
}

static int encode_containers(const struct chunk_meta *m, struct buf *b)
{
	size_t len = 0;
	uint8_t *p;

	for (size_t i = 0; i < m->n_containers; i++) {
		const struct ecap_container *pi = &m->containers[i];
		len += CONTAINER_FIXED;
		CONTAINER_TEXTS(TEXT_LEN)
	}
	if (!(p = put_section(b, SEC_CONTAINERS, (uint32_t)m->n_containers, len)))
		return -ENOMEM;
	for (size_t i = 0; i < m->n_containers; i++)
		p = put_container(p, &m->containers[i]);
	return 0;
}

static int cmp_flowdir(const void *a, const void *b)
{
	const struct chunkmeta_flowdir *x = a, *y = b;
	return x->flow_id < y->flow_id ? -1 : x->flow_id > y->flow_id;
}

/* The flows of m by ascending id into *dir (n_flowstats elements, allocated). */
static int sort_flows(const struct chunk_meta *m, struct chunkmeta_flowdir **dir)
{
	*dir = malloc((m->n_flowstats ? m->n_flowstats : 1) * sizeof(**dir));
	if (!*dir)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_flowstats; i++)
		(*dir)[i] = (struct chunkmeta_flowdir){ m->flowstats[i].flow_id, (uint32_t)i };
	if (m->n_flowstats > 1)
		qsort(*dir, m->n_flowstats, sizeof(**dir), cmp_flowdir);
	return 0;
}

int chunkmeta_sort_flows(struct chunk_meta *m)
{
	struct chunkmeta_flowdir *dir;
	int err = sort_flows(m, &dir);
	if (err)
		return err;
	free(m->flowdir);
	m->flowdir = dir;
	m->n_flowdir = m->cap_flowdir = m->n_flowstats;
	return 0;
}

static uint8_t *put_leb128(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Section 18 from m->flowdir when it lists every flow, else from a sort of flowstats. */
static int put_flowdir(const struct chunk_meta *m, struct buf *b)
{
	struct chunkmeta_flowdir *tmp = NULL;
	const struct chunkmeta_flowdir *dir = m->flowdir;
	int err = 0;
	if (m->n_flowdir != m->n_flowstats) {
		if ((err = sort_flows(m, &tmp)))
			return err;
		dir = tmp;
	}
	/* at most 10 bytes for an id delta and 5 for an index */
	uint8_t *p = put_section(b, SEC_FLOWDIR, (uint32_t)m->n_flowstats, m->n_flowstats * 15);
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	uint8_t *start = p;
	uint64_t prev = 0;
	for (size_t i = 0; i < m->n_flowstats; i++) {
		p = put_leb128(p, dir[i].flow_id - prev);
		p = put_leb128(p, dir[i].local);
		prev = dir[i].flow_id;
	}
	size_t used = (size_t)(p - start);
	le32_store(start - 4, (uint32_t)used);
	b->len -= m->n_flowstats * 15 - used;
out:
	free(tmp);
	return err;
}

static int put_ifaces(const struct chunk_meta *m, struct buf *b)
{
	size_t len = 0;
	uint8_t *p;

	for (size_t i = 0; i < m->n_ifaces; i++)
		len += 14 + strlen(m->ifaces[i].desc.name) + strlen(m->ifaces[i].desc.filter);
	if (!(p = put_section(b, SEC_IFACES, (uint32_t)m->n_ifaces, len)))
		return -ENOMEM;
	for (size_t i = 0; i < m->n_ifaces; i++) {
		const struct chunkmeta_iface *f = &m->ifaces[i];
		size_t nl = strlen(f->desc.name), fl = strlen(f->desc.filter);
		le32_store(p, f->store_id);
		le16_store(p + 4, f->desc.linktype);
		le16_store(p + 6, (uint16_t)nl);
		le32_store(p + 8, f->desc.snaplen);
		le16_store(p + 12, (uint16_t)fl);
		memcpy(p + 14, f->desc.name, nl);
		memcpy(p + 14 + nl, f->desc.filter, fl);
		p += 14 + nl + fl;
	}
	return 0;
}

/* Section 16 when an interface has a namespace or a description (-i any). */
static int put_iface_netns(const struct chunk_meta *m, struct buf *b)
{
	bool any_netns = false;
	size_t len = 0;
	uint8_t *p;
	for (size_t i = 0; i < m->n_ifaces; i++) {
		const struct ecap_iface *d = &m->ifaces[i].desc;
		any_netns |= d->netns || d->description[0];
		len += 10 + strnlen(d->description, ECAP_IFDESC_MAX - 1);
	}
	if (!any_netns)
		return 0;
	if (!(p = put_section(b, SEC_IFACE_NETNS, (uint32_t)m->n_ifaces, len)))
		return -ENOMEM;
	for (size_t i = 0; i < m->n_ifaces; i++) {
		const struct ecap_iface *d = &m->ifaces[i].desc;
		size_t dl = strnlen(d->description, ECAP_IFDESC_MAX - 1);
		le32_store(p, d->netns);
		le32_store(p + 4, d->ifindex);
		le16_store(p + 8, (uint16_t)dl);
		memcpy(p + 10, d->description, dl);
		p += 10 + dl;
	}
	return 0;
}

/* Sections 1, 16 and 8: the interfaces, their namespaces and their order. */
static int put_iface_sections(const struct chunk_meta *m, struct buf *b)
{
	uint8_t *p;
	if (put_ifaces(m, b) || put_iface_netns(m, b))
		return -ENOMEM;
	bool order = false;
	for (size_t i = 0; i < m->n_ifaces; i++)
		order |= m->ifaces[i].after_ns != 0;
	if (order) {
		if (!(p = put_section(b, SEC_ORDER, (uint32_t)m->n_ifaces, m->n_ifaces * 8)))
			return -ENOMEM;
		for (size_t i = 0; i < m->n_ifaces; i++, p += 8)
			le64_store(p, m->ifaces[i].after_ns);
	}
	return 0;
}

/* Sections 13, 7 and 9: the data frame's blocks. */
static int put_block_sections(const struct chunk_meta *m, struct buf *b)
{
	uint8_t *p;
	if (m->header_blocks > 1) {
		if (!(p = put_section(b, SEC_HEADER_BLOCKS, 1, HEADER_BLOCKS_LEN)))
			return -ENOMEM;
		le32_store(p, m->header_blocks);
	}
	if (m->n_blocks) {
		if (!(p = put_section(b, SEC_BLOCKS, (uint32_t)m->n_blocks, m->n_blocks * BLOCK_LEN)))
			return -ENOMEM;
		for (size_t i = 0; i < m->n_blocks; i++, p += BLOCK_LEN) {
			const struct chunkmeta_block *k = &m->blocks[i];
			le32_store(p, k->raw_off);
			le32_store(p + 4, k->raw_len);
			le32_store(p + 8, k->data_off);
			le32_store(p + 12, k->data_len);
			le32_store(p + 16, k->first_packet);
			le32_store(p + 20, k->packets);
			le32_store(p + 24, k->crc);
		}
	}
	if (m->n_blockmax) {
		if (!(p = put_section(b, SEC_BLOCKMAX, (uint32_t)m->n_blockmax, m->n_blockmax * 8)))
			return -ENOMEM;
		for (size_t i = 0; i < m->n_blockmax; i++, p += 8)
			le64_store(p, m->blockmax[i]);
	}
	return 0;
}

/* Sections 19 (when the digest is not of kind 0) and 10. */
static int put_integrity(const struct chunk_meta *m, struct buf *b)
{
	uint8_t *p;
	if (!m->has_digest)
		return 0;
	if (m->digest_kind) {
		if (!(p = put_section(b, SEC_DIGEST_KIND, 1, DIGEST_KIND_LEN)))
			return -ENOMEM;
		le32_store(p, m->digest_kind);
	}
	size_t vl = strnlen(m->version, sizeof(m->version) - 1);
	if (!(p = put_section(b, SEC_INTEGRITY, 1, INTEGRITY_LEN + vl)))
		return -ENOMEM;
	memcpy(p, m->digest, CHUNKMETA_DIGEST_LEN);
	le16_store(p + CHUNKMETA_DIGEST_LEN, (uint16_t)vl);
	memcpy(p + INTEGRITY_LEN, m->version, vl);
	return 0;
}

static int put_pktflow(const struct chunk_meta *m, struct buf *b)
{
	uint8_t *p = put_section(b, SEC_PKTFLOW, (uint32_t)m->n_pktflow, m->n_pktflow * 4);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_pktflow; i++, p += 4)
		le32_store(p, m->pktflow[i]);
	return 0;
}

/* Sections 2, 3 and 12: the flow records, the flow stats, the owners' start times. */
static int put_flow_sections(const struct chunk_meta *m, struct buf *b)
{
	uint8_t *p;
	if (m->n_flows) {
		if (!(p = put_section(b, SEC_FLOWS, (uint32_t)m->n_flows, m->n_flows * FLOW_LEN)))
			return -ENOMEM;
		for (size_t i = 0; i < m->n_flows; i++, p += FLOW_LEN) {
			const struct flow_record *f = &m->flows[i];
			le64_store(p, f->id);
			p[8] = f->key.proto;
			p[9] = f->key.family;
			le16_store(p + 10, f->key.port_a);
			le16_store(p + 12, f->key.port_b);
			memcpy(p + 14, f->key.addr_a, 16);
			memcpy(p + 30, f->key.addr_b, 16);
			le64_store(p + 46, f->first_ns);
			put_proc(p + 54, &f->proc[0]);
			put_proc(p + 54 + PROC_LEN, &f->proc[1]);
		}
	}
	if (!(p = put_section(b, SEC_FLOWSTATS, (uint32_t)m->n_flowstats,
			      m->n_flowstats * FLOWSTAT_LEN)))
		return -ENOMEM;
	for (size_t i = 0; i < m->n_flowstats; i++, p += FLOWSTAT_LEN) {
		const struct chunkmeta_flowstat *s = &m->flowstats[i];
		le64_store(p, s->flow_id);
		le32_store(p + 8, s->packets);
		le64_store(p + 12, s->bytes);
		le64_store(p + 20, s->first_ns);
		le64_store(p + 28, s->last_ns);
	}
	if (m->n_flows) {
		if (!(p = put_section(b, SEC_OWNER_START, (uint32_t)m->n_flows,
				      m->n_flows * OWNER_START_LEN)))
			return -ENOMEM;
		for (size_t i = 0; i < m->n_flows; i++, p += OWNER_START_LEN) {
			le64_store(p, m->flows[i].proc[0].start_ns);
			le64_store(p + 8, m->flows[i].proc[1].start_ns);
		}
	}
	return 0;
}

/* Sections 5, 6, 11 and 14: TLS sessions, drops, processes, containers. */
static int put_other_sections(const struct chunk_meta *m, struct buf *b)
{
	uint8_t *p;
	size_t len;
	if (m->n_sessions) {
		if (!(p = put_section(b, SEC_SESSIONS, (uint32_t)m->n_sessions,
				      m->n_sessions * SESSION_LEN)))
			return -ENOMEM;
		for (size_t i = 0; i < m->n_sessions; i++, p += SESSION_LEN) {
			memcpy(p, m->sessions[i].client_random, 32);
			le64_store(p + 32, m->sessions[i].flow_id);
		}
	}
	if (m->n_drops) {
		if (!(p = put_section(b, SEC_DROPS, (uint32_t)m->n_drops, m->n_drops * DROPS_LEN)))
			return -ENOMEM;
		for (size_t i = 0; i < m->n_drops; i++, p += DROPS_LEN) {
			le32_store(p, m->drops[i].iface);
			le64_store(p + 4, m->drops[i].ts_ns);
			le64_store(p + 12, m->drops[i].count);
		}
	}
	if (m->n_procs) {
		len = 0;
		for (size_t i = 0; i < m->n_procs; i++) {
			const struct ecap_proc_info *pi = &m->procs[i];
			len += PROCINFO_FIXED;
			PROCINFO_TEXTS(TEXT_LEN)
		}
		if (!(p = put_section(b, SEC_PROCS, (uint32_t)m->n_procs, len)))
			return -ENOMEM;
		for (size_t i = 0; i < m->n_procs; i++)
			p = put_procinfo(p, &m->procs[i]);
	}
	if (m->n_containers && encode_containers(m, b) < 0)
		return -ENOMEM;

	if (m->n_links) {
		if (!(p = put_section(b, SEC_LINKS, (uint32_t)m->n_links, m->n_links * LINK_LEN)))
			return -ENOMEM;
		for (size_t i = 0; i < m->n_links; i++, p += LINK_LEN) {
			const struct flow_link *l = &m->links[i];
			le64_store(p, l->pre_id);
			le64_store(p + 8, l->post_id);
			p[16] = l->kind;
			p[17] = l->pre_a_side;
			le64_store(p + 18, l->ts_ns);
		}
	}
	return 0;
}

/*
 * A chunk made of blocks starts with its read plan (section 17) and the sections it covers;
 * the rest follows. Older chunks' order was 1 16 2 3 4 5 6 8 12 13 11 14 7 9 10; readers
 * take any.
 */
static int encode_body(const struct chunk_meta *m, struct buf *b)
{
	bool plan = (m->flags & CHUNKMETA_FLAG_BLOCKS) != 0;
	size_t plan_at = 0;
	uint8_t *p;
	int err;

	if (plan) {
		if (!(p = put_section(b, SEC_READ_PLAN, 1, READ_PLAN_LEN)))
			return -ENOMEM;
		plan_at = (size_t)(p - b->data);
	}
	if ((err = put_integrity(m, b)) || (err = put_iface_sections(m, b)) ||
	    (err = put_block_sections(m, b)) || (plan && (err = put_flowdir(m, b))) ||
	    (err = put_pktflow(m, b)))
		return err;
	if (plan)
		le32_store(b->data + plan_at, (uint32_t)b->len);
	if ((err = put_flow_sections(m, b)) || (err = put_other_sections(m, b)))
		return err;
	return 0;
}

int chunkmeta_encode(const struct chunk_meta *m, struct buf *out)
{
	struct chunkmeta_scratch sc = { 0 };
	int err = chunkmeta_encode_in(m, out, &sc);
	chunkmeta_scratch_free(&sc);
	return err;
}

void chunkmeta_scratch_free(struct chunkmeta_scratch *sc)
{
	buf_free(&sc->body);
	buf_free(&sc->packed);
}

int chunkmeta_encode_in(const struct chunk_meta *m, struct buf *out, struct chunkmeta_scratch *sc)
{
	struct buf *b = &sc->body, *pk = &sc->packed;
	buf_reset(b);
	buf_reset(pk);
	int err = encode_body(m, b);
	if (err)
		return err;

	uint32_t flags = m->flags & ~CHUNKMETA_FLAG_BODY_LZ4;
	const uint8_t *stored = b->data;
	size_t stored_len = b->len;
	if (b->len > 256 && b->len < CHUNKMETA_BODY_MAX) {
		int bound = LZ4_compressBound((int)b->len);
		if ((err = buf_reserve(pk, (size_t)bound)))
			return err;
		int n = sc->lz4_state ?
				LZ4_compress_fast_extState(sc->lz4_state, (const char *)b->data,
							   (char *)pk->data, (int)b->len, bound, 1) :
				LZ4_compress_default((const char *)b->data, (char *)pk->data,
						     (int)b->len, bound);
		if (n > 0 && (size_t)n < b->len) {
			stored = pk->data;
			stored_len = (size_t)n;
			flags |= CHUNKMETA_FLAG_BODY_LZ4;
		}
	}
	if (stored_len > CHUNKMETA_BODY_MAX)
		return -E2BIG;
	if ((err = buf_reserve(out, FRAME_HDR + CHUNKMETA_HEADER_LEN + stored_len)))
		return err;
	uint8_t *p = out->data + out->len;
	le32_store(p, SKIPPABLE_MAGIC);
	le32_store(p + 4, (uint32_t)(CHUNKMETA_HEADER_LEN + stored_len));
	uint8_t *h = p + FRAME_HDR;
	le32_store(h, CHUNKMETA_MAGIC);
	le16_store(h + 4, CHUNKMETA_VERSION);
	le16_store(h + 6, CHUNKMETA_HEADER_LEN);
	le64_store(h + 8, m->id);
	le64_store(h + 16, m->first_ns);
	le64_store(h + 24, m->last_ns);
	le32_store(h + 32, m->packets);
	le32_store(h + 36, m->nonflow_packets);
	le32_store(h + 40, m->raw_len);
	le32_store(h + 44, m->data_len);
	le32_store(h + 48, flags);
	le32_store(h + 52, (uint32_t)b->len);
	le32_store(h + 56, (uint32_t)stored_len);
	memcpy(h + CHUNKMETA_HEADER_LEN, stored, stored_len);
	le32_store(h + 60, crc32c(crc32c(0, h, 60), h + CHUNKMETA_HEADER_LEN, stored_len));
	out->len += FRAME_HDR + CHUNKMETA_HEADER_LEN + stored_len;
	return 0;
}
