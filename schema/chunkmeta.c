// SPDX-License-Identifier: GPL-2.0-only
/*
 * chunkmeta.c - a chunk's metadata frame: its format, and decoding it (whole, its read plan
 * alone, or a peek at its digest); chunkmeta_encode.c writes it.
 *
 * FORMAT (all integers little-endian)
 *
 * A segment file is a sequence of chunks, each of them followed or not by a padding frame.
 * Each chunk is two frames back to back:
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
 *   padding      (after a chunk written with direct I/O, since issue 17's i24pad; none in
 *                older segments nor after chunks written through the page cache) an LZ4
 *                skippable frame that ends the chunk on a 4 KiB boundary of the file:
 *                  u32 0x184D2A5F   skippable magic (nibble F)
 *                  u32 size         bytes of zeros that follow
 *                At offset x (the chunk's end) it is segment_pad_len(x) bytes long: up to the
 *                first multiple of 4096 at least 8 bytes after x (so 8 to 4103 bytes; a
 *                gap under its 8-byte header takes the next page too). Every byte of it
 *                follows from x; a reader accepts it only exactly so (segment_read_pad), and
 *                takes anything else there as damage (a length that would cover the next
 *                chunk, a byte that is not zero) and looks for the next chunk, or, cut short
 *                by the end of the file, as a torn tail. It is no chunk: the index's chunk
 *                length leaves it out, the segment's length (segments.bytes) counts it, and
 *                the seal's digest has an element for it (seal.c). lz4 -dc skips it.
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
 *       32 SHA-256 of the data frame's stored bytes, of the kind section 19 names
 *       (chunk_digest.c), u16 version_len, the version of the recorder that wrote the chunk
 *       ("ecap 0.1.0"). A chunk without it is from an older ecap: its data frame has no
 *       digest of its own (its segment's seal covers it).
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
 *  15 flow links (two flows that are one connection before and after NAT on this host,
 *       from the conntrack entry's original and reply tuples; records.h struct flow_link):
 *       u64 flow id before the translation, u64 flow id after it, u8 kind (bits: 1 SNAT or
 *       MASQUERADE, 2 DNAT), u8 the side (0 A, 1 B) of the second flow that side A of the
 *       first became, u64 when the recorder linked them (ns). The two ids differ; the flows
 *       may be listed in this chunk or an earlier one.
 *  16 interface namespaces (after section 1; only when an interface has them: -i any):
 *       element i for interface i of section 1: u32 network namespace inode, u32 ifindex,
 *       u16 description_len, the description (the IDB's if_description, printable ASCII,
 *       shorter than ECAP_IFDESC_MAX). Absent: 0, 0, "" for every interface.
 *  17 read plan (with flag 4; count 1, one u32; the body's first section when present): how
 *       many bytes of the decompressed body, from its start, hold this section and the ones
 *       a read of some flows needs, which the writer puts right after it: 19, 10, 1, 16, 8, 13,
 *       7, 9, 18 and 4 (those present). Such a reader decodes only that part of the body (an
 *       LZ4 block decodes a prefix alone) and skips the flow records and flow stats, most of
 *       a busy chunk's metadata; the other sections follow. Absent in older chunks.
 *  18 flow directory (with 17; count = the count of section 3): the chunk's flows in
 *       ascending id order, each as two LEB128 numbers: its id less the previous one's (the
 *       first: the id itself; ids are at least 1 and strictly ascend), then its chunk-local
 *       index (its element of section 3; each index once). With section 4 it tells a reader
 *       which packets are a flow's without section 3.
 *  19 digest kind (count 1, one u32; right after 17, before 10, in chunks that have it): which
 *       SHA-256 of the data frame section 10 holds (chunk_digest.c): 1, the SHA-256 over the
 *       SHA-256 of each data block of section 7 (with flag 4). Absent: 0, the SHA-256 of the
 *       data frame's bytes in one stream. Section 10 had no room for it: its two bytes after
 *       the digest are the version's length, and a decoder before this one takes the section
 *       only at exactly 34 + that length bytes and count 1, so a field added there would
 *       make it refuse the whole metadata frame; it skips an unknown section. A kind a reader
 *       does not know is kept, and the chunk's digest reported as not checkable.
 * Sections may come in any order but these: 8 and 16 after 1, 9 after 1 and 7, 12 after 2,
 * and 17 first (19 and 10 right after it, for a read of the digest alone). Unknown section
 * types are skipped by byte_len, so the format can grow.
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

#include "chunkmeta_format.h"
#include "crc32c.h"
#include "le.h"
#include "lz4blocks.h"

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
	m->digest_kind = 0;
	m->version[0] = 0;
	m->n_procs = 0;
	m->n_containers = 0;
	m->header_blocks = 0;
	m->n_links = 0;
	m->n_flowdir = 0;
	m->plan_only = false;
	m->plan_flows = 0;
	m->segment = 0;
	m->offset = 0;
	m->length = 0;
	m->pad = 0;
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
	free(m->links);
	free(m->containers);
	free(m->flowdir);
	free(m->body_mem);
	memset(m, 0, sizeof(*m));
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

/* One LEB128 number of at most max_bytes from *p (below end); false when it does not fit. */
static bool get_leb128(const uint8_t **p, const uint8_t *end, unsigned max_bytes, uint64_t *v)
{
	if (*p < end && !(**p & 0x80)) { /* most deltas and indexes of a chunk: one byte */
		*v = *(*p)++;
		return true;
	}
	*v = 0;
	for (unsigned i = 0; i < max_bytes && *p < end; i++) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			return i < 9 || b <= 1; /* the tenth byte holds bit 63 alone */
	}
	return false;
}

/*
 * Section 18. A whole read keeps every entry, checked against flowstats afterwards
 * (check_flowdir). A read of the plan keeps only the entries of the flows in want (ascending;
 * none when NULL), walking both lists side by side and stopping once want is done: the
 * packets a reader lists are those of the chunk-local flows these entries name. Of the entries
 * below the next wanted id only the id is taken (checked ascending); the chunk-local index of
 * those it keeps is checked against the count.
 */
static int decode_flowdir(struct chunk_meta *m, const uint8_t *p, const uint8_t *end,
			  uint32_t count, const struct chunkmeta_want *want, const char **why)
{
	static const char not_ascending[] =
		"flow directory is not ascending, or names no flow of the chunk";
	uint64_t prev = 0, delta, local;
	size_t k = 0;
	if (count > (size_t)(end - p) / 2) /* an entry is two LEB128 numbers, a byte each at least */
		BAD("flow directory counts more entries than its section holds");
	m->plan_flows = count;
	if (want) {
		/* Only the wanted flows' entries are looked at whole: of the others, the ids are
		 * added up (ascending, checked) until the next wanted one is reached. */
		for (uint32_t i = 0; i < count && k < want->n; i++) {
			if (p < end && *p < 0x80)
				delta = *p++;
			else if (!get_leb128(&p, end, 10, &delta))
				BAD("flow directory entry overruns its section");
			if (end - p >= 2 && p[0] >= 0x80 && p[1] < 0x80) /* most indexes: 2 bytes */
				local = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7, p += 2;
			else if (!get_leb128(&p, end, 5, &local))
				BAD("flow directory entry overruns its section");
			if (delta == 0 || prev + delta < prev)
				BAD(not_ascending);
			prev += delta;
			if (prev < want->flow_ids[k])
				continue;
			if (local >= count)
				BAD(not_ascending);
			while (k < want->n && want->flow_ids[k] < prev)
				k++;
			if (k == want->n || want->flow_ids[k] != prev)
				continue;
			struct chunkmeta_flowdir *d = chunkmeta_push(m, flowdir);
			if (!d)
				return -ENOMEM;
			*d = (struct chunkmeta_flowdir){ prev, (uint32_t)local };
		}
		if (k < want->n && p != end) /* walked to the end: it must be the end */
			BAD("flow directory entries do not fill their section");
		return 0;
	}
	if (chunkmeta_reserve_for(m, flowdir, count))
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		if (!get_leb128(&p, end, 10, &delta) || !get_leb128(&p, end, 5, &local))
			BAD("flow directory entry overruns its section");
		if (delta == 0 || prev + delta < prev || local >= count)
			BAD(not_ascending);
		prev += delta;
		m->flowdir[m->n_flowdir++] = (struct chunkmeta_flowdir){ prev, (uint32_t)local };
	}
	if (p != end)
		BAD("flow directory entries do not fill their section");
	return 0;
}

/* In a whole read, the flow directory and the flow stats must agree. */
static int check_flowdir(const struct chunk_meta *m, const char **why)
{
	if (m->n_flowdir != m->n_flowstats)
		BAD("flow directory disagrees with the flow stats");
	for (size_t i = 0; i < m->n_flowdir; i++)
		if (m->flowstats[m->flowdir[i].local].flow_id != m->flowdir[i].flow_id)
			BAD("flow directory disagrees with the flow stats");
	return 0;
}

/* want: the read plan's part of the body alone (chunkmeta_decode_plan), and the flows of its
 * directory to keep; NULL: a whole read. */
static int decode_body(struct chunk_meta *m, const uint8_t *p, size_t len,
		       const struct chunkmeta_want *want, const char **why)
{
	bool plan = want != NULL, digest_only = plan && want->digest_only;
	bool has_flowdir = false;
	uint32_t flows_named = 0; /* 1 + the largest chunk-local flow a packet names */
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
		if (digest_only && type != SEC_INTEGRITY && type != SEC_DIGEST_KIND)
			continue;
		size_t elem = type == SEC_FLOWS ? FLOW_LEN : type == SEC_FLOWSTATS ? FLOWSTAT_LEN :
			      type == SEC_PKTFLOW ? 4 : type == SEC_SESSIONS ? SESSION_LEN :
			      type == SEC_DROPS ? DROPS_LEN : type == SEC_BLOCKS ? BLOCK_LEN :
			      type == SEC_ORDER || type == SEC_BLOCKMAX ? 8 :
			      type == SEC_OWNER_START ? OWNER_START_LEN :
			      type == SEC_HEADER_BLOCKS ? HEADER_BLOCKS_LEN :
			      type == SEC_READ_PLAN ? READ_PLAN_LEN :
			      type == SEC_DIGEST_KIND ? DIGEST_KIND_LEN :
			      type == SEC_LINKS ? LINK_LEN : 0;
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
			if (plan)
				break; /* not in a plan; the directory names the flows */
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
		case SEC_PKTFLOW: {
			/* lf + 1 is 0 for CHUNKMETA_NO_FLOW: the maximum skips it, without a
			 * branch (a chunk lists a thousand packets or more) */
			if (!count) /* nothing to add (and no list yet to point into) */
				break;
			uint32_t *out = m->pktflow + m->n_pktflow, top = flows_named;
			if (plan) {
				/* A read of some flows bounds each packet's flow where it looks
				 * at it (chunk_view.c, store_read.c): of a chunk's thousand
				 * packets it looks at those of a few blocks. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				memcpy(out, s, 4 * (size_t)count);
#else
				for (uint32_t i = 0; i < count; i++)
					out[i] = le32_load(s + 4 * (size_t)i);
#endif
				m->n_pktflow += count;
				break;
			}
			for (uint32_t i = 0; i < count; i++) {
				uint32_t lf1 = le32_load(s + 4 * (size_t)i) + 1;
				out[i] = lf1 - 1;
				top = lf1 > top ? lf1 : top;
			}
			m->n_pktflow += count;
			flows_named = top;
			break;
		}
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
		case SEC_READ_PLAN:
			if (count != 1 || le32_load(s) > len || s != (const uint8_t *)end - len + 12)
				BAD("read plan is not the first section or overruns the body");
			break;
		case SEC_FLOWDIR:
			if (has_flowdir)
				BAD("two flow directories");
			has_flowdir = true;
			err = decode_flowdir(m, s, send, count, want, why);
			break;
		case SEC_CONTAINERS:
			err = decode_containers(m, s, send, count, why);
			break;
		case SEC_LINKS:
			err = chunkmeta_reserve_for(m, links, count);
			for (uint32_t i = 0; i < count && !err; i++, s += LINK_LEN) {
				struct flow_link *l = &m->links[m->n_links++];
				memset(l, 0, sizeof(*l));
				l->pre_id = le64_load(s);
				l->post_id = le64_load(s + 8);
				l->kind = s[16];
				l->pre_a_side = s[17];
				l->ts_ns = le64_load(s + 18);
				if (!l->pre_id || !l->post_id || l->pre_id == l->post_id ||
				    l->pre_a_side > 1 || !l->kind ||
				    (l->kind & ~(FLOW_LINK_SNAT | FLOW_LINK_DNAT)))
					BAD("flow link is malformed");
			}
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
				struct chunkmeta_block *k = &m->blocks[m->n_blocks++]; /* reserved */
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
			if ((err = chunkmeta_reserve_for(m, blockmax, count)))
				return err;
			for (uint32_t i = 0; i < count; i++, s += 8)
				m->blockmax[m->n_blockmax++] = le64_load(s);
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
		case SEC_DIGEST_KIND:
			if (count != 1)
				BAD("digest kind section is malformed");
			m->digest_kind = le32_load(s);
			break;
		default:
			break;
		}
		if (err)
			return err;
	}
	if (digest_only)
		return 0;
	if (has_flowdir && !plan) {
		int err = check_flowdir(m, why);
		if (err)
			return err;
	}
	if (plan && !has_flowdir)
		BAD("read plan without a flow directory");
	if (m->n_pktflow != m->packets)
		BAD("packet flow list does not match the packet count");
	if (flows_named > (plan ? m->plan_flows : m->n_flowstats))
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

/*
 * With a read plan (a body that starts with section 17): only the plan's part of the body
 * into *out, allocated, its length in *out_len; with digest_only, only as far as the end of
 * the integrity section when it comes right after the plan's own (or after the plan and the
 * digest kind). 1: a plan was found, 0: there is none (read the whole body), <0 errno.
 */
/* Room for n bytes of a decompressed body in m's kept memory (chunkmeta_free frees it). */
static uint8_t *body_room(struct chunk_meta *m, size_t n)
{
	if (n > m->body_alloc) {
		uint8_t *p = malloc(n);
		if (!p)
			return NULL;
		free(m->body_mem);
		m->body_mem = p;
		m->body_alloc = n;
	}
	return m->body_mem;
}

static int body_plan(struct chunk_meta *m, const uint8_t *body, uint32_t body_len,
		     uint32_t body_raw, bool lz4, bool digest_only, uint8_t **out,
		     uint32_t *out_len, const char **why)
{
	/* the plan's section, the digest kind's, the next one's header */
	uint8_t head[12 + READ_PLAN_LEN + 12 + DIGEST_KIND_LEN + 12];
	int got = body_len < sizeof(head) ? (int)body_len : (int)sizeof(head);
	if (lz4)
		got = LZ4_decompress_safe_partial((const char *)body, (char *)head, (int)body_len,
						  (int)sizeof(head), (int)sizeof(head));
	else
		memcpy(head, body, (size_t)got);
	if (got < 12 + READ_PLAN_LEN || le16_load(head) != SEC_READ_PLAN ||
	    le32_load(head + 4) != 1 || le32_load(head + 8) != READ_PLAN_LEN)
		return 0;
	uint32_t want = le32_load(head + 12);
	if (want < 12 + READ_PLAN_LEN || want > body_raw)
		BAD("read plan overruns the metadata body");
	uint32_t at = 12 + READ_PLAN_LEN; /* the section after the plan's */
	if (got >= (int)(at + 12 + DIGEST_KIND_LEN) && le16_load(head + at) == SEC_DIGEST_KIND &&
	    le32_load(head + at + 8) == DIGEST_KIND_LEN)
		at += 12 + DIGEST_KIND_LEN;
	if (digest_only && got >= (int)(at + 12) && want >= at + 12 &&
	    le16_load(head + at) == SEC_INTEGRITY && le32_load(head + at + 8) <= want - (at + 12))
		want = at + 12 + le32_load(head + at + 8);
	if (!lz4 && want > body_len)
		BAD("metadata body is cut short"); /* only when peeking at a frame's start */
	*out = body_room(m, want);
	if (!*out)
		return -ENOMEM;
	int n = lz4 ? LZ4_decompress_safe_partial((const char *)body, (char *)*out, (int)body_len,
						  (int)want, (int)want) :
		      (memcpy(*out, body, want), (int)want);
	if (n != (int)want) {
		*out = NULL;
		BAD("metadata body does not decompress");
	}
	*out_len = want;
	return 1;
}

static long decode_frame(const uint8_t *p, size_t avail, struct chunk_meta *m,
			 const struct chunkmeta_want *want, const char **why)
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
	bool lz4 = (m->flags & CHUNKMETA_FLAG_BODY_LZ4) != 0;
	uint8_t *raw = NULL;
	uint32_t raw_len = 0;
	bool digest_only = want && want->digest_only;
	int err = want && (m->flags & CHUNKMETA_FLAG_BLOCKS) ?
			  body_plan(m, body, body_len, body_raw, lz4, digest_only, &raw, &raw_len,
				    why) : 0;
	if (err < 0)
		return err;
	m->plan_only = err == 1;
	if (m->plan_only) {
		err = decode_body(m, raw, raw_len, want, why);
	} else if (lz4) {
		raw = body_room(m, body_raw ? body_raw : 1);
		if (!raw)
			return -ENOMEM;
		int n = LZ4_decompress_safe((const char *)body, (char *)raw, (int)body_len,
					    (int)body_raw);
		if (n < 0 || (uint32_t)n != body_raw)
			BAD("metadata body does not decompress");
		err = decode_body(m, raw, body_raw, NULL, why);
	} else {
		if (body_raw != body_len)
			BAD("metadata body length mismatch");
		err = decode_body(m, body, body_len, NULL, why);
	}
	if (!err && (m->flags & CHUNKMETA_FLAG_BLOCKS) && m->header_blocks == 0)
		m->header_blocks = 1; /* written before section 13 existed: block 0 */
	if (!err && !(m->plan_only && digest_only))
		err = check_blocks(m, why);
	return err ? err : flen;
}

long chunkmeta_peek_digest(const uint8_t *p, size_t avail, struct chunk_meta *m,
			   const char **why)
{
	*why = NULL;
	long flen = chunkmeta_frame_len(p, avail);
	if (flen == 0)
		return 0;
	const uint8_t *h = p + FRAME_HDR;
	if (avail < FRAME_HDR + CHUNKMETA_HEADER_LEN)
		return -ENODATA;
	if (le32_load(h) != CHUNKMETA_MAGIC || le16_load(h + 4) != CHUNKMETA_VERSION ||
	    le16_load(h + 6) != CHUNKMETA_HEADER_LEN || (size_t)flen < FRAME_HDR +
	    CHUNKMETA_HEADER_LEN || le32_load(h + 56) != (size_t)flen - FRAME_HDR -
	    CHUNKMETA_HEADER_LEN)
		BAD("not a chunk metadata frame of this version");
	chunkmeta_reset(m);
	m->id = le64_load(h + 8);
	m->flags = le32_load(h + 48);
	if (!(m->flags & CHUNKMETA_FLAG_BLOCKS))
		return -ENOENT; /* no read plan: read it whole */
	size_t have = avail < (size_t)flen ? avail : (size_t)flen;
	uint32_t body_raw = le32_load(h + 52);
	uint8_t *raw = NULL;
	uint32_t raw_len = 0;
	int err = body_plan(m, h + CHUNKMETA_HEADER_LEN, (uint32_t)(have - FRAME_HDR -
							       CHUNKMETA_HEADER_LEN),
			    body_raw > CHUNKMETA_BODY_MAX ? 0 : body_raw,
			    (m->flags & CHUNKMETA_FLAG_BODY_LZ4) != 0, true, &raw, &raw_len, why);
	if (err <= 0) /* cut short, or no plan */
		return have < (size_t)flen && err != -ENOMEM ? -ENODATA : err ? err : -ENOENT;
	static const struct chunkmeta_want digest = { .digest_only = true };
	err = decode_body(m, raw, raw_len, &digest, why);
	if (err)
		return err;
	if (!m->has_digest)
		return -ENOENT;
	m->plan_only = true;
	return flen;
}

long chunkmeta_decode(const uint8_t *p, size_t avail, struct chunk_meta *m, const char **why)
{
	return decode_frame(p, avail, m, NULL, why);
}

long chunkmeta_decode_plan(const uint8_t *p, size_t avail, struct chunk_meta *m,
			   const struct chunkmeta_want *want, const char **why)
{
	static const struct chunkmeta_want none = { 0 };
	return decode_frame(p, avail, m, want ? want : &none, why);
}
