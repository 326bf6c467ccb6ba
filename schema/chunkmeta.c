// SPDX-License-Identifier: GPL-2.0-only
/*
 * chunkmeta.c - encoding and decoding of a chunk's metadata frame.
 *
 * FORMAT (all integers little-endian)
 *
 * A segment file is a sequence of chunks. Each chunk is two frames back to back:
 *
 *   meta frame   an LZ4 *skippable* frame (lz4 -dc and every LZ4 frame decoder skip it):
 *                  u32 0x184D2A5E   skippable magic (nibble E)
 *                  u32 size         bytes that follow in this frame (= 64 + body_len)
 *                  meta header (64 bytes), then the body
 *   data frame   a standard LZ4 frame whose content is one self-contained pcapng section:
 *                SHB, IDBs, the chunk's DSBs, EPBs. With flag 4 (every chunk written since
 *                blocks came in) it is made of independent blocks with no LZ4 checksums
 *                (lz4blocks.c) and section 7 lists them with a CRC-32C each; older chunks
 *                are one frame with a content checksum.
 *
 * Meta header:
 *    0 u32 magic "ECM1" (0x314D4345)     4 u16 version (1)      6 u16 header length (64)
 *    8 u64 chunk id (store-wide, increasing)
 *   16 u64 first_ns                      24 u64 last_ns         (packet timestamps, ns)
 *   32 u32 packets                       36 u32 packets in no flow
 *   40 u32 raw_len (pcapng bytes)        44 u32 data_len (LZ4 data frame bytes)
 *   48 u32 flags: 1 body is an LZ4 block, 2 the section holds DSBs, 4 the data frame is
 *          the blocks of section 7
 *   52 u32 body_raw_len                  56 u32 body_len (as stored)
 *   60 u32 CRC-32C of header bytes 0..59 followed by the stored body
 *
 * Body: sections, each  u16 type, u16 0, u32 count, u32 byte_len, then count elements:
 *   1 interfaces (element i is pcapng interface i of the section):
 *       u32 store id, u16 linktype, u16 name_len, u32 snaplen, u16 filter_len, name, filter
 *   2 flows, new or with new facts (last one wins):
 *       u64 id, u8 proto, u8 family, u16 port_a, u16 port_b, 16 addr_a, 16 addr_b,
 *       u64 first_ns, then for side A and side B a process:
 *       u8 valid, u32 pid, u32 tid, u32 uid, u32 gid, 16 comm, u64 cgroup id, u32 netns
 *   3 flow stats (element i is chunk-local flow i):
 *       u64 flow id, u32 packets, u64 bytes, u64 first_ns, u64 last_ns
 *   4 packet flows: u32 chunk-local flow of each packet in section order, 0xFFFFFFFF = none
 *   5 TLS sessions: 32 client_random, u64 flow id
 *   6 drops: u32 store interface id, u64 ts_ns, u64 count
 *   7 blocks of the data frame, in order (with flag 4 only):
 *       u32 raw_off, u32 raw_len (in the pcapng section), u32 data_off, u32 data_len (in
 *       the data frame: the block's size word and bytes), u32 first packet, u32 packets
 *       (the EPBs the block holds whole), u32 CRC-32C of the block's raw_len raw bytes.
 *       Blocks tile the section and the frame without gaps: the first starts at raw 0 and
 *       just after the frame header, the last ends at raw_len and before the end mark, and
 *       the packet ranges follow each other up to the packet count. Blocks of no packet
 *       come first (SHB, IDBs, DSBs); a block ends on an EPB boundary.
 *   8 interface order (element i belongs to interface i of section 1, and comes after it):
 *       u64 after_ns: the latest timestamp of that store interface in the chunks the same
 *       writer wrote before this one (0: none). A reader orders a chunk's packets by the
 *       running maximum of their interface's timestamps starting from after_ns, so that an
 *       interface whose clock steps back keeps its recorded order, also across chunks
 *       (chunk_view.c). Chunks written before this section existed lack it: 0 for all.
 *   9 block maxima (with flag 4, after sections 1 and 7): n_blocks * n_ifaces elements, u64
 *       element b * n_ifaces + i the latest timestamp of interface i among the packets of
 *       block b (0: none); a read that skips blocks continues the running maxima of
 *       section 8 over them, so that a read of some flows orders its packets as a whole
 *       read does. Absent in older chunks.
 *  10 integrity (count 1; every chunk written since seals came in, seal.c):
 *       32 SHA-256 of the data frame's stored bytes, u16 version_len, the version of the
 *       recorder that wrote the chunk ("ecap 0.1.0"). A chunk without it is from an older
 *       ecap: its data frame has no digest of its own (its segment's seal covers it).
 *  11 processes (what an owning process was; a process may be repeated in later chunks):
 *       u32 pid, u64 start (ns since boot), u64 start on the wall clock (ns), u32 parent pid,
 *       u32 pid in its own pid namespace, 16 parent comm, then six u16 lengths and the bytes
 *       of: executable path, command line, cgroup path, container id, runtime, pod uid.
 *       Each text is shorter than its field in records.h and printable ASCII.
 *  12 owner start times (after section 2), element i for flow record i of section 2 (count
 *       = its count): u64 start of side A's process, u64 start of side B's (0: unknown).
 *  13 header blocks (with flag 4; count 1, one u32): how many of the first blocks hold the
 *       SHB and the IDBs, each ending on a pcapng block boundary. Absent: 1 (block 0).
 *       A chunk with many interfaces needs several (a block holds 256 KiB at most).
 *  14 containers (what their runtime said of the containers of processes of section 11; a
 *       container may be repeated in later chunks): u64 first_ns, u64 last_ns (wall clock:
 *       when the recorder first and last stored it), then eight u16 lengths and the bytes of:
 *       id (64 hex digits), runtime, name, image, labels (a JSON object), pod name, pod
 *       namespace, pod uid. Each text is shorter than its field in records.h and printable
 *       ASCII (a decoder makes anything else '?').
 *  16 interface namespaces (after section 1; only when an interface has them: -i any):
 *       element i for interface i of section 1: u32 network namespace inode, u32 ifindex,
 *       u16 description_len, the description (the IDB's if_description, printable ASCII,
 *       shorter than ECAP_IFDESC_MAX). Absent: 0, 0, "" for every interface.
 * Unknown section types are skipped by byte_len, so the format can grow.
 *
 * A chunk is valid when the meta CRC matches, the data frame is data_len bytes long, and it
 * decompresses to raw_len bytes: with flag 4 every block matches its CRC-32C and size, else
 * the frame matches its LZ4 content checksum. A reader that finds fewer bytes than a frame
 * announces has found a torn tail.
 */
#include "chunkmeta.h"

#include <errno.h>
#include <lz4.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "le.h"
#include "lz4blocks.h"

#define SKIPPABLE_MAGIC 0x184D2A5Eu
#define FRAME_HDR 8
#define PROC_LEN 45
#define FLOW_LEN (8 + 1 + 1 + 2 + 2 + 16 + 16 + 8 + 2 * PROC_LEN)
#define FLOWSTAT_LEN 36
#define SESSION_LEN 40
#define DROPS_LEN 20
#define BLOCK_LEN 28
#define INTEGRITY_LEN (CHUNKMETA_DIGEST_LEN + 2)
#define PROCINFO_FIXED 56
#define OWNER_START_LEN 16
#define HEADER_BLOCKS_LEN 4
#define CONTAINER_FIXED (16 + 2 * CONTAINER_TEXT_COUNT)

enum { SEC_IFACES = 1, SEC_FLOWS, SEC_FLOWSTATS, SEC_PKTFLOW, SEC_SESSIONS, SEC_DROPS,
       SEC_BLOCKS, SEC_ORDER, SEC_BLOCKMAX, SEC_INTEGRITY, SEC_PROCS, SEC_OWNER_START,
       SEC_HEADER_BLOCKS, SEC_CONTAINERS, SEC_IFACE_NETNS = 16 };

/* The text fields of a process record, in their encoded order, with their sizes. */
#define PROCINFO_TEXTS(X) \
	X(exe) X(args) X(cgroup) X(container_id) X(runtime) X(pod_uid)
#define PROCINFO_TEXT_COUNT 6

/* The text fields of a container record, in their encoded order. */
#define CONTAINER_TEXTS(X) \
	X(id) X(runtime) X(name) X(image) X(labels) X(pod_name) X(pod_namespace) X(pod_uid)
#define CONTAINER_TEXT_COUNT 8

void *chunkmeta_grow(void **arr, size_t *n, size_t *cap, size_t elem)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *p = realloc(*arr, ncap * elem);
		if (!p)
			return NULL;
		*arr = p;
		*cap = ncap;
	}
	void *slot = (char *)*arr + *n * elem;
	memset(slot, 0, elem);
	(*n)++;
	return slot;
}

int chunkmeta_reserve(void **arr, size_t n, size_t *cap, size_t elem, size_t more)
{
	if (more <= *cap - n)
		return 0;
	if (more > SIZE_MAX / elem - n)
		return -ENOMEM;
	void *p = realloc(*arr, (n + more) * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n + more;
	return 0;
}

void chunkmeta_reset(struct chunk_meta *m)
{
	m->id = m->first_ns = m->last_ns = 0;
	m->packets = m->nonflow_packets = m->raw_len = m->data_len = m->flags = 0;
	m->n_ifaces = m->n_flows = m->n_flowstats = m->n_pktflow = m->n_sessions = m->n_drops = 0;
	m->n_blocks = m->n_blockmax = 0;
	m->has_digest = false;
	m->version[0] = 0;
	m->n_procs = 0;
	m->n_containers = 0;
	m->header_blocks = 0;
	m->segment = 0;
	m->offset = 0;
	m->length = 0;
}

void chunkmeta_free(struct chunk_meta *m)
{
	free(m->ifaces);
	free(m->flows);
	free(m->flowstats);
	free(m->pktflow);
	free(m->sessions);
	free(m->drops);
	free(m->blocks);
	free(m->blockmax);
	free(m->procs);
	free(m->containers);
	memset(m, 0, sizeof(*m));
}

/* ---- encoding ---------------------------------------------------------------------- */

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

static int encode_body(const struct chunk_meta *m, struct buf *b)
{
	uint8_t *p;
	size_t len = 0;

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

	bool any_netns = false;
	len = 0;
	for (size_t i = 0; i < m->n_ifaces; i++) {
		const struct ecap_iface *d = &m->ifaces[i].desc;
		any_netns |= d->netns || d->description[0];
		len += 10 + strnlen(d->description, ECAP_IFDESC_MAX - 1);
	}
	if (any_netns) {
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
	}

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

	if (!(p = put_section(b, SEC_PKTFLOW, (uint32_t)m->n_pktflow, m->n_pktflow * 4)))
		return -ENOMEM;
	for (size_t i = 0; i < m->n_pktflow; i++, p += 4)
		le32_store(p, m->pktflow[i]);

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

	bool order = false;
	for (size_t i = 0; i < m->n_ifaces; i++)
		order |= m->ifaces[i].after_ns != 0;
	if (order) {
		if (!(p = put_section(b, SEC_ORDER, (uint32_t)m->n_ifaces, m->n_ifaces * 8)))
			return -ENOMEM;
		for (size_t i = 0; i < m->n_ifaces; i++, p += 8)
			le64_store(p, m->ifaces[i].after_ns);
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

	if (m->header_blocks > 1) {
		if (!(p = put_section(b, SEC_HEADER_BLOCKS, 1, HEADER_BLOCKS_LEN)))
			return -ENOMEM;
		le32_store(p, m->header_blocks);
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

	if (m->has_digest) {
		size_t vl = strnlen(m->version, sizeof(m->version) - 1);
		if (!(p = put_section(b, SEC_INTEGRITY, 1, INTEGRITY_LEN + vl)))
			return -ENOMEM;
		memcpy(p, m->digest, CHUNKMETA_DIGEST_LEN);
		le16_store(p + CHUNKMETA_DIGEST_LEN, (uint16_t)vl);
		memcpy(p + INTEGRITY_LEN, m->version, vl);
	}
	return 0;
}

int chunkmeta_encode(const struct chunk_meta *m, struct buf *out)
{
	struct buf body = { 0 };
	int err = encode_body(m, &body);
	if (err)
		goto out;

	uint32_t flags = m->flags & ~CHUNKMETA_FLAG_BODY_LZ4;
	const uint8_t *stored = body.data;
	size_t stored_len = body.len;
	struct buf packed = { 0 };
	if (body.len > 256 && body.len < CHUNKMETA_BODY_MAX) {
		int bound = LZ4_compressBound((int)body.len);
		if ((err = buf_reserve(&packed, (size_t)bound)))
			goto out;
		int n = LZ4_compress_default((const char *)body.data, (char *)packed.data,
					     (int)body.len, bound);
		if (n > 0 && (size_t)n < body.len) {
			stored = packed.data;
			stored_len = (size_t)n;
			flags |= CHUNKMETA_FLAG_BODY_LZ4;
		}
	}
	if (stored_len > CHUNKMETA_BODY_MAX) {
		err = -E2BIG;
		goto out2;
	}

	if ((err = buf_reserve(out, FRAME_HDR + CHUNKMETA_HEADER_LEN + stored_len)))
		goto out2;
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
	le32_store(h + 52, (uint32_t)body.len);
	le32_store(h + 56, (uint32_t)stored_len);
	memcpy(h + CHUNKMETA_HEADER_LEN, stored, stored_len);
	le32_store(h + 60, crc32c(crc32c(0, h, 60), h + CHUNKMETA_HEADER_LEN, stored_len));
	out->len += FRAME_HDR + CHUNKMETA_HEADER_LEN + stored_len;
out2:
	buf_free(&packed);
out:
	buf_free(&body);
	return err;
}

/* ---- decoding ---------------------------------------------------------------------- */

long chunkmeta_frame_len(const uint8_t *p, size_t avail)
{
	if (avail < FRAME_HDR || le32_load(p) != SKIPPABLE_MAGIC)
		return 0;
	return (long)FRAME_HDR + le32_load(p + 4);
}

static void get_proc(const uint8_t *p, struct ecap_proc *pr)
{
	pr->valid = p[0] != 0;
	pr->pid = le32_load(p + 1);
	pr->tid = le32_load(p + 5);
	pr->uid = le32_load(p + 9);
	pr->gid = le32_load(p + 13);
	memcpy(pr->comm, p + 17, ECAP_COMM_LEN - 1);
	pr->comm[ECAP_COMM_LEN - 1] = 0;
	pr->cgroup_id = le64_load(p + 33);
	pr->netns = le32_load(p + 41);
}

#define BAD(msg)                \
	do {                    \
		*why = (msg);   \
		return -EBADMSG; \
	} while (0)

static int decode_ifaces(struct chunk_meta *m, const uint8_t *p, const uint8_t *end,
			 uint32_t count, const char **why)
{
	for (uint32_t i = 0; i < count; i++) {
		if (end - p < 14)
			BAD("interface record overruns its section");
		uint16_t nl = le16_load(p + 6), fl = le16_load(p + 12);
		if ((size_t)(end - p) < 14u + nl + fl)
			BAD("interface name overruns its section");
		if (nl >= ECAP_IFNAME_MAX || fl >= ECAP_FILTER_MAX)
			BAD("interface name or filter too long");
		struct chunkmeta_iface *f = chunkmeta_push(m, ifaces);
		if (!f)
			return -ENOMEM;
		f->store_id = le32_load(p);
		f->desc.linktype = le16_load(p + 4);
		f->desc.snaplen = le32_load(p + 8);
		memcpy(f->desc.name, p + 14, nl);
		memcpy(f->desc.filter, p + 14 + nl, fl);
		p += 14 + nl + fl;
	}
	return 0;
}

/* A text of n bytes into a field of size `size`; anything but printable ASCII becomes '?'. */
static void get_text(char *out, size_t size, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && i < size - 1; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n < size - 1 ? n : size - 1] = '\0';
}

/* One text of a record (pi) from t, its length from lens. */
#define GET_TEXT(f)                                                   \
	n = le16_load(lens);                                          \
	lens += 2;                                                    \
	if (n >= sizeof(pi->f))                                       \
		BAD("record text longer than its field");             \
	get_text(pi->f, sizeof(pi->f), t, n);                         \
	t += n;

/* Whether a record at p of `fixed` bytes, whose texts' count lengths (u16) are at lens,
 * has room for its texts before end. */
static bool record_fits(const uint8_t *p, const uint8_t *end, size_t fixed, size_t lens_at,
			int count)
{
	size_t total = 0;

	if ((size_t)(end - p) < fixed)
		return false;
	for (int k = 0; k < count; k++)
		total += le16_load(p + lens_at + 2 * k);
	return (size_t)(end - p) - fixed >= total;
}

static int decode_iface_netns(struct chunk_meta *m, const uint8_t *p, const uint8_t *end,
			      uint32_t count, const char **why)
{
	if (count != m->n_ifaces)
		BAD("interface namespace section disagrees with the interfaces");
	for (uint32_t i = 0; i < count; i++) {
		if (end - p < 10)
			BAD("interface namespace record overruns its section");
		uint16_t dl = le16_load(p + 8);
		if ((size_t)(end - p) < 10u + dl)
			BAD("interface description overruns its section");
		if (dl >= ECAP_IFDESC_MAX)
			BAD("interface description too long");
		struct ecap_iface *d = &m->ifaces[i].desc;
		d->netns = le32_load(p);
		d->ifindex = le32_load(p + 4);
		get_text(d->description, sizeof(d->description), p + 10, dl);
		p += 10 + dl;
	}
	return 0;
}

static int decode_procs(struct chunk_meta *m, const uint8_t *p, const uint8_t *end,
			uint32_t count, const char **why)
{
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *lens = p + PROCINFO_FIXED - 2 * PROCINFO_TEXT_COUNT;
		if (!record_fits(p, end, PROCINFO_FIXED, (size_t)(lens - p), PROCINFO_TEXT_COUNT))
			BAD("process record overruns its section");
		struct ecap_proc_info *pi = chunkmeta_push(m, procs);
		if (!pi)
			return -ENOMEM;
		pi->pid = le32_load(p);
		pi->start_ns = le64_load(p + 4);
		pi->start_wall_ns = le64_load(p + 12);
		pi->ppid = le32_load(p + 20);
		pi->nspid = le32_load(p + 24);
		get_text(pi->parent_comm, sizeof(pi->parent_comm), p + 28,
			 strnlen((const char *)p + 28, ECAP_COMM_LEN - 1));
		const uint8_t *t = p + PROCINFO_FIXED;
		size_t n;
		PROCINFO_TEXTS(GET_TEXT)
		p = t;
	}
	if (p != end)
		BAD("process records do not fill their section");
	return 0;
}

static int decode_containers(struct chunk_meta *m, const uint8_t *p, const uint8_t *end,
			     uint32_t count, const char **why)
{
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *lens = p + 16;
		if (!record_fits(p, end, CONTAINER_FIXED, 16, CONTAINER_TEXT_COUNT))
			BAD("container record overruns its section");
		struct ecap_container *pi = chunkmeta_push(m, containers);
		if (!pi)
			return -ENOMEM;
		pi->first_ns = le64_load(p);
		pi->last_ns = le64_load(p + 8);
		const uint8_t *t = p + CONTAINER_FIXED;
		size_t n;
		CONTAINER_TEXTS(GET_TEXT)
		p = t;
	}
	if (p != end)
		BAD("container records do not fill their section");
	return 0;
}

static int decode_body(struct chunk_meta *m, const uint8_t *p, size_t len, const char **why)
{
	const uint8_t *end = p + len;
	while (p < end) {
		if (end - p < 12)
			BAD("section header overruns the body");
		uint16_t type = le16_load(p);
		uint32_t count = le32_load(p + 4), blen = le32_load(p + 8);
		p += 12;
		if ((size_t)(end - p) < blen)
			BAD("section overruns the body");
		const uint8_t *s = p, *send = p + blen;
		p += blen;
		size_t elem = type == SEC_FLOWS ? FLOW_LEN : type == SEC_FLOWSTATS ? FLOWSTAT_LEN :
			      type == SEC_PKTFLOW ? 4 : type == SEC_SESSIONS ? SESSION_LEN :
			      type == SEC_DROPS ? DROPS_LEN : type == SEC_BLOCKS ? BLOCK_LEN :
			      type == SEC_ORDER || type == SEC_BLOCKMAX ? 8 :
			      type == SEC_OWNER_START ? OWNER_START_LEN :
			      type == SEC_HEADER_BLOCKS ? HEADER_BLOCKS_LEN : 0;
		if (elem && (uint64_t)count * elem != blen)
			BAD("section length disagrees with its count");
		int err = 0;
		switch (type) {
		case SEC_FLOWS:
			err = chunkmeta_reserve_for(m, flows, count);
			break;
		case SEC_FLOWSTATS:
			err = chunkmeta_reserve_for(m, flowstats, count);
			break;
		case SEC_PKTFLOW:
			err = chunkmeta_reserve_for(m, pktflow, count);
			break;
		case SEC_BLOCKS:
			err = chunkmeta_reserve_for(m, blocks, count);
			break;
		default:
			break;
		}
		if (err)
			return err;
		switch (type) {
		case SEC_IFACES:
			err = decode_ifaces(m, s, send, count, why);
			break;
		case SEC_IFACE_NETNS:
			err = decode_iface_netns(m, s, send, count, why);
			break;
		case SEC_FLOWS:
			for (uint32_t i = 0; i < count; i++, s += FLOW_LEN) {
				struct flow_record *f = chunkmeta_push(m, flows);
				if (!f)
					return -ENOMEM;
				f->id = le64_load(s);
				f->key.proto = s[8];
				f->key.family = s[9];
				f->key.port_a = le16_load(s + 10);
				f->key.port_b = le16_load(s + 12);
				memcpy(f->key.addr_a, s + 14, 16);
				memcpy(f->key.addr_b, s + 30, 16);
				f->first_ns = le64_load(s + 46);
				get_proc(s + 54, &f->proc[0]);
				get_proc(s + 54 + PROC_LEN, &f->proc[1]);
			}
			break;
		case SEC_FLOWSTATS:
			for (uint32_t i = 0; i < count; i++, s += FLOWSTAT_LEN) {
				struct chunkmeta_flowstat *st = &m->flowstats[m->n_flowstats++];
				memset(st, 0, sizeof(*st));
				st->flow_id = le64_load(s);
				st->packets = le32_load(s + 8);
				st->bytes = le64_load(s + 12);
				st->first_ns = le64_load(s + 20);
				st->last_ns = le64_load(s + 28);
			}
			break;
		case SEC_PKTFLOW:
			for (uint32_t i = 0; i < count; i++, s += 4)
				m->pktflow[m->n_pktflow++] = le32_load(s);
			break;
		case SEC_SESSIONS:
			for (uint32_t i = 0; i < count; i++, s += SESSION_LEN) {
				struct chunkmeta_session *ss = chunkmeta_push(m, sessions);
				if (!ss)
					return -ENOMEM;
				memcpy(ss->client_random, s, 32);
				ss->flow_id = le64_load(s + 32);
			}
			break;
		case SEC_DROPS:
			for (uint32_t i = 0; i < count; i++, s += DROPS_LEN) {
				struct chunkmeta_drops *d = chunkmeta_push(m, drops);
				if (!d)
					return -ENOMEM;
				d->iface = le32_load(s);
				d->ts_ns = le64_load(s + 4);
				d->count = le64_load(s + 12);
			}
			break;
		case SEC_OWNER_START:
			if (count != m->n_flows)
				BAD("owner start times disagree with the flow records");
			for (uint32_t i = 0; i < count; i++, s += OWNER_START_LEN) {
				m->flows[i].proc[0].start_ns = le64_load(s);
				m->flows[i].proc[1].start_ns = le64_load(s + 8);
			}
			break;
		case SEC_PROCS:
			err = decode_procs(m, s, send, count, why);
			break;
		case SEC_CONTAINERS:
			err = decode_containers(m, s, send, count, why);
			break;
		case SEC_HEADER_BLOCKS:
			if (count != 1)
				BAD("header block count section with other than one count");
			m->header_blocks = le32_load(s);
			if (m->header_blocks < 2)
				BAD("header block count below 2 written");
			break;
		case SEC_BLOCKS:
			for (uint32_t i = 0; i < count; i++, s += BLOCK_LEN) {
				struct chunkmeta_block *k = chunkmeta_push(m, blocks);
				if (!k)
					return -ENOMEM;
				k->raw_off = le32_load(s);
				k->raw_len = le32_load(s + 4);
				k->data_off = le32_load(s + 8);
				k->data_len = le32_load(s + 12);
				k->first_packet = le32_load(s + 16);
				k->packets = le32_load(s + 20);
				k->crc = le32_load(s + 24);
			}
			break;
		case SEC_ORDER:
			if (count != m->n_ifaces)
				BAD("interface order section disagrees with the interfaces");
			for (uint32_t i = 0; i < count; i++, s += 8)
				m->ifaces[i].after_ns = le64_load(s);
			break;
		case SEC_BLOCKMAX:
			if ((uint64_t)count != (uint64_t)m->n_blocks * m->n_ifaces)
				BAD("block maxima disagree with the blocks and interfaces");
			for (uint32_t i = 0; i < count; i++, s += 8) {
				uint64_t *v = chunkmeta_push(m, blockmax);
				if (!v)
					return -ENOMEM;
				*v = le64_load(s);
			}
			break;
		case SEC_INTEGRITY: {
			if (count != 1 || blen < INTEGRITY_LEN)
				BAD("integrity section is malformed");
			uint16_t vl = le16_load(s + CHUNKMETA_DIGEST_LEN);
			if (vl >= sizeof(m->version) || blen != INTEGRITY_LEN + (uint32_t)vl)
				BAD("integrity section's version overruns it");
			memcpy(m->digest, s, CHUNKMETA_DIGEST_LEN);
			memcpy(m->version, s + INTEGRITY_LEN, vl);
			m->version[vl] = 0;
			m->has_digest = true;
			break;
		}
		default:
			break;
		}
		if (err)
			return err;
	}
	if (m->n_pktflow != m->packets)
		BAD("packet flow list does not match the packet count");
	for (size_t i = 0; i < m->n_pktflow; i++)
		if (m->pktflow[i] != CHUNKMETA_NO_FLOW && m->pktflow[i] >= m->n_flowstats)
			BAD("a packet names a flow the chunk does not list");
	return 0;
}

/* With flag 4 the blocks must tile the section, the frame and the packets exactly. */
static int check_blocks(const struct chunk_meta *m, const char **why)
{
	if (!(m->flags & CHUNKMETA_FLAG_BLOCKS)) {
		if (m->n_blocks || m->header_blocks)
			BAD("block list in a chunk that is not made of blocks");
		return 0;
	}
	if (m->n_blocks == 0)
		BAD("chunk made of blocks lists none");
	if (m->header_blocks > m->n_blocks)
		BAD("more header blocks than blocks");
	for (size_t i = 0; i < m->header_blocks; i++)
		if (m->blocks[i].packets)
			BAD("a header block holds packets");
	uint64_t raw = 0, data = LZ4BLOCKS_HEADER_LEN, pkt = 0;
	for (size_t i = 0; i < m->n_blocks; i++) {
		const struct chunkmeta_block *k = &m->blocks[i];
		if (k->raw_off != raw || k->data_off != data || k->first_packet != pkt)
			BAD("blocks do not follow each other");
		if (k->raw_len == 0 || k->raw_len > LZ4BLOCKS_MAX || k->data_len < 5 ||
		    k->data_len > LZ4BLOCKS_MAX + 4)
			BAD("block length is implausible");
		if (pkt && !k->packets)
			BAD("a block of no packet after the packets");
		raw += k->raw_len;
		data += k->data_len;
		pkt += k->packets;
	}
	if (raw != m->raw_len || data + LZ4BLOCKS_END_LEN != m->data_len || pkt != m->packets)
		BAD("blocks do not cover the chunk");
	return 0;
}

long chunkmeta_decode(const uint8_t *p, size_t avail, struct chunk_meta *m, const char **why)
{
	*why = NULL;
	long flen = chunkmeta_frame_len(p, avail);
	if (flen == 0)
		return 0;
	if ((size_t)flen > avail)
		return -ENODATA;
	const uint8_t *h = p + FRAME_HDR;
	size_t hlen = (size_t)flen - FRAME_HDR;
	if (hlen < CHUNKMETA_HEADER_LEN)
		BAD("metadata frame shorter than its header");
	if (le32_load(h) != CHUNKMETA_MAGIC)
		BAD("skippable frame is not ecap chunk metadata");
	if (le16_load(h + 4) != CHUNKMETA_VERSION || le16_load(h + 6) != CHUNKMETA_HEADER_LEN)
		BAD("unknown chunk metadata version");
	uint32_t body_raw = le32_load(h + 52), body_len = le32_load(h + 56);
	if (body_len != hlen - CHUNKMETA_HEADER_LEN)
		BAD("metadata body length disagrees with the frame size");
	if (crc32c(crc32c(0, h, 60), h + CHUNKMETA_HEADER_LEN, body_len) != le32_load(h + 60))
		BAD("metadata checksum mismatch");
	if (body_raw > CHUNKMETA_BODY_MAX)
		BAD("metadata body too large");

	chunkmeta_reset(m);
	m->id = le64_load(h + 8);
	m->first_ns = le64_load(h + 16);
	m->last_ns = le64_load(h + 24);
	m->packets = le32_load(h + 32);
	m->nonflow_packets = le32_load(h + 36);
	m->raw_len = le32_load(h + 40);
	m->data_len = le32_load(h + 44);
	m->flags = le32_load(h + 48);

	const uint8_t *body = h + CHUNKMETA_HEADER_LEN;
	int err;
	if (m->flags & CHUNKMETA_FLAG_BODY_LZ4) {
		uint8_t *raw = malloc(body_raw ? body_raw : 1);
		if (!raw)
			return -ENOMEM;
		int n = LZ4_decompress_safe((const char *)body, (char *)raw, (int)body_len,
					    (int)body_raw);
		if (n < 0 || (uint32_t)n != body_raw) {
			free(raw);
			BAD("metadata body does not decompress");
		}
		err = decode_body(m, raw, body_raw, why);
		free(raw);
	} else {
		if (body_raw != body_len)
			BAD("metadata body length mismatch");
		err = decode_body(m, body, body_len, why);
	}
	if (!err && (m->flags & CHUNKMETA_FLAG_BLOCKS) && m->header_blocks == 0)
		m->header_blocks = 1; /* written before section 10 existed: block 0 */
	if (!err)
		err = check_blocks(m, why);
	return err ? err : flen;
}
