// SPDX-License-Identifier: GPL-2.0-only
/*
 * chunk_view.c - a chunk read back: its pcapng section parsed into a packet table in export
 * order, each packet paired with its flow from the metadata; and the key log lines of its
 * DSB, in the strict form the builder writes.
 *
 * Export order: each packet's key is the running maximum of its interface's timestamps in
 * recorded order, starting from the interface's after_ns (the writer's earlier chunks,
 * chunkmeta.c section 8); packets are sorted by key, ties in recorded order. So the packets
 * of one interface keep their recorded order whatever their clock does, and interfaces
 * interleave by time: a packet whose time steps back goes right after its interface's
 * predecessor. The merge across chunks (export/merge.c) uses the same key. A read of some
 * flows that skips blocks takes their interfaces' latest times from the metadata (section
 * 9), so that its packets have the keys of a whole read.
 * A chunk made of blocks is walked block by block, each block's packet count checked against
 * the metadata; a view of some flows walks only the blocks that were decoded.
 */
#include "chunk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "pcapng.h"

size_t secret_format_line(const struct tls_secret *sec, char *out, size_t cap)
{
	size_t ll = strnlen(sec->label, ECAP_LABEL_MAX - 1);
	size_t need = ll + 1 + 64 + 1 + 2u * sec->secret_len + 1;
	if (need > cap)
		return 0;
	char *p = out;
	memcpy(p, sec->label, ll);
	p += ll;
	*p++ = ' ';
	p = hex_encode(sec->client_random, 32, p);
	*p++ = ' ';
	p = hex_encode(sec->secret, sec->secret_len, p);
	*p++ = '\n';
	return (size_t)(p - out);
}

int secret_parse_line(const char *line, size_t len, struct tls_secret *out)
{
	const char *sp1 = memchr(line, ' ', len);
	if (!sp1 || sp1 == line || (size_t)(sp1 - line) >= ECAP_LABEL_MAX)
		return -EINVAL;
	const char *cr = sp1 + 1, *end = line + len;
	if (end - cr < 65 || cr[64] != ' ')
		return -EINVAL;
	const char *sec = cr + 65;
	size_t sl = (size_t)(end - sec);
	if (sl == 0 || sl % 2 || sl / 2 > ECAP_SECRET_MAX)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out->label, line, (size_t)(sp1 - line));
	if (hex_decode(cr, 64, out->client_random) || hex_decode(sec, sl, out->secret))
		return -EINVAL;
	out->secret_len = (uint8_t)(sl / 2);
	return 0;
}

void chunk_view_free_contents(struct chunk_view *v)
{
	chunkmeta_free(&v->meta);
	buf_free(&v->frames);
	buf_free(&v->raw);
	free(v->block_at_mem);
	free(v->pkts);
	free(v->iface_keys);
	memset(v, 0, sizeof(*v));
}

void chunk_view_reset(struct chunk_view *v)
{
	chunkmeta_reset(&v->meta);
	buf_reset(&v->frames);
	buf_reset(&v->raw);
	v->block_at = NULL;
	v->n_pkts = v->cap_pkts = v->pos = v->n_dsb = 0;
}

/* Room for n elements of size elem at *arr (allocated: *alloc), what was there not kept. */
static void *room(void **arr, size_t *alloc, size_t n, size_t elem)
{
	if (n > *alloc) {
		void *p = n <= SIZE_MAX / elem ? malloc(n * elem) : NULL;
		if (!p)
			return NULL;
		free(*arr);
		*arr = p;
		*alloc = n;
	}
	return *arr;
}

uint32_t *chunk_view_place_blocks(struct chunk_view *v, size_t n)
{
	v->block_at = room((void **)&v->block_at_mem, &v->block_at_alloc, n ? n : 1,
			   sizeof(*v->block_at_mem));
	return v->block_at;
}

static int cmp_pkt(const void *a, const void *b)
{
	const struct chunk_pkt *x = a, *y = b;
	if (x->key_ns != y->key_ns)
		return x->key_ns < y->key_ns ? -1 : 1;
	return x->data_off < y->data_off ? -1 : x->data_off > y->data_off;
}

#define BAD(msg)                 \
	do {                     \
		*why = (msg);    \
		return -EBADMSG; \
	} while (0)

/* Where a walk through the section stands. */
struct walk {
	size_t n_idb;
	bool swap, sorted;
	uint32_t pkt;                /* index of the next EPB in the section */
	const uint64_t *keep;        /* per chunk-local flow: the flow id to list its packets
				      * under, 0: leave them out (NULL: all, flows from flowstats) */
	size_t n_local;              /* chunk-local flows: a packet's flow is below (a read of
				      * the plan alone leaves that check to here) */
	uint64_t *key;               /* per chunk interface: the key of its latest packet */
};

/* Parse the blocks of raw [off, end), which start at a block boundary. */
static int walk_range(struct chunk_view *v, struct walk *w, size_t off, size_t end,
		      const char **why)
{
	const struct chunk_meta *m = &v->meta;
	const uint8_t *p = v->raw.data;

	while (off < end) {
		struct pcapng_block blk;
		long n = pcapng_block_parse(p + off, end - off, &w->swap, &blk);
		if (n <= 0)
			BAD(n == 0 ? "pcapng block cut short inside a chunk" : pcapng_error());
		if (off == 0 && blk.type != PCAPNG_BT_SHB)
			BAD("chunk does not start with a section header");
		switch (blk.type) {
		case PCAPNG_BT_SHB:
			if (off != 0)
				BAD("second section header inside a chunk");
			break;
		case PCAPNG_BT_IDB:
			w->n_idb++;
			break;
		case PCAPNG_BT_DSB: {
			uint32_t type, len;
			const uint8_t *data;
			if (pcapng_parse_dsb(&blk, w->swap, &type, &data, &len))
				BAD(pcapng_error());
			if (type == PCAPNG_SECRETS_TLS) {
				if (v->n_dsb == sizeof(v->dsb_off) / sizeof(v->dsb_off[0]))
					BAD("too many DSBs in a chunk");
				v->dsb_off[v->n_dsb] = (size_t)(data - p);
				v->dsb_len[v->n_dsb++] = len;
			}
			break;
		}
		case PCAPNG_BT_EPB: {
			struct pcapng_epb e;
			if (pcapng_parse_packet(&blk, w->swap, &e))
				BAD(pcapng_error());
			if (w->pkt >= m->packets)
				BAD("chunk holds more packets than its metadata says");
			if (e.ifid >= w->n_idb || e.ifid >= m->n_ifaces)
				BAD("packet names an interface the chunk does not describe");
			uint32_t lf = m->pktflow[w->pkt++];
			if (lf != CHUNKMETA_NO_FLOW && lf >= w->n_local)
				BAD("a packet names a flow the chunk does not list");
			if (e.ts > w->key[e.ifid])
				w->key[e.ifid] = e.ts;
			if (w->keep && (lf == CHUNKMETA_NO_FLOW || !w->keep[lf]))
				break;
			uint64_t flow_id = w->keep ? w->keep[lf] :
				lf == CHUNKMETA_NO_FLOW ? 0 : m->flowstats[lf].flow_id;
			if (v->n_pkts == v->cap_pkts)
				BAD("a block holds more packets than its metadata says");
			struct chunk_pkt *cp = &v->pkts[v->n_pkts];
			cp->ts_ns = e.ts;
			cp->key_ns = w->key[e.ifid];
			cp->flow_id = flow_id;
			cp->data_off = (uint32_t)(e.data - p);
			cp->caplen = e.caplen;
			cp->origlen = e.origlen;
			cp->flags = e.flags;
			cp->iface = m->ifaces[e.ifid].store_id;
			if (v->n_pkts && cp->key_ns < v->pkts[v->n_pkts - 1].key_ns)
				w->sorted = false;
			v->n_pkts++;
			break;
		}
		default:
			break;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Room for cap packets: all of the chunk's, or those of the blocks a read of some flows
 * walks (a sparse flow's chunk reads one block of its many). */
static int view_begin(struct chunk_view *v, struct walk *w, size_t cap)
{
	const struct chunk_meta *m = &v->meta;
	if (!room((void **)&v->pkts, &v->pkts_alloc, cap ? cap : 1, sizeof(*v->pkts)) ||
	    !(w->key = room((void **)&v->iface_keys, &v->iface_keys_alloc,
			    m->n_ifaces ? m->n_ifaces : 1, sizeof(*w->key))))
		return -ENOMEM;
	v->cap_pkts = cap;
	w->n_local = m->plan_only ? m->plan_flows : m->n_flowstats;
	for (size_t i = 0; i < m->n_ifaces; i++)
		w->key[i] = m->ifaces[i].after_ns;
	v->n_pkts = v->pos = v->n_dsb = 0;
	return 0;
}

static int view_end(struct chunk_view *v, struct walk *w, int err)
{
	w->key = NULL; /* the view's */
	if (!err && !w->sorted)
		qsort(v->pkts, v->n_pkts, sizeof(*v->pkts), cmp_pkt);
	return err;
}

/* Parse block k (index b) alone: it must hold whole EPBs, as many as it says. */
static int walk_block(struct chunk_view *v, struct walk *w, const struct chunkmeta_block *k,
		      size_t b, const char **why)
{
	size_t at = v->block_at ? v->block_at[b] : k->raw_off;
	if (at == UINT32_MAX || at > v->raw.len || k->raw_len > v->raw.len - at)
		BAD("a block was not read");
	w->pkt = k->first_packet;
	int err = walk_range(v, w, at, at + k->raw_len, why);
	if (!err && w->pkt != k->first_packet + k->packets)
		BAD("a block holds another number of packets than its metadata says");
	return err;
}

int chunk_view_parse(struct chunk_view *v, const char **why)
{
	const struct chunk_meta *m = &v->meta;
	struct walk w = { .sorted = true };
	v->block_at = NULL; /* raw is the whole section: each block at its raw_off */
	int err = view_begin(v, &w, m->packets);
	if (err)
		return err;
	if ((m->flags & CHUNKMETA_FLAG_BLOCKS) && v->raw.len == m->raw_len) {
		/* The blocks of packets one by one, as a read of some flows walks them, so that
		 * a chunk that reads whole also reads by block; the blocks before them (SHB,
		 * IDBs, DSBs, which a DSB may span) as one range. */
		size_t b = 0;
		while (b < m->n_blocks && !m->blocks[b].packets)
			b++;
		err = walk_range(v, &w, 0, b < m->n_blocks ? m->blocks[b].raw_off : v->raw.len,
				 why);
		for (; b < m->n_blocks && !err; b++)
			err = walk_block(v, &w, &m->blocks[b], b, why);
	} else {
		err = walk_range(v, &w, 0, v->raw.len, why);
	}
	if (!err && v->n_pkts != v->meta.packets) {
		*why = "chunk holds fewer packets than its metadata says";
		err = -EBADMSG;
	}
	return view_end(v, &w, err);
}

/* A block not read: its interfaces' latest times still count for the keys after it. */
static void skip_block(struct walk *w, const struct chunk_meta *m, size_t b)
{
	if (m->n_blockmax != m->n_blocks * m->n_ifaces)
		return; /* an older chunk: no maxima */
	for (size_t i = 0; i < m->n_ifaces; i++)
		if (m->blockmax[b * m->n_ifaces + i] > w->key[i])
			w->key[i] = m->blockmax[b * m->n_ifaces + i];
}

int chunk_view_parse_blocks(struct chunk_view *v, const uint8_t *want, const uint64_t *keep,
			    const char **why)
{
	const struct chunk_meta *m = &v->meta;
	struct walk w = { .sorted = true, .keep = keep };
	size_t cap = 0;
	for (size_t i = 0; i < m->n_blocks; i++)
		if (!i || want[i])
			cap += m->blocks[i].packets;
	int err = view_begin(v, &w, cap);
	if (err)
		return err;
	for (size_t i = 0; i < m->n_blocks && !err; i++) {
		const struct chunkmeta_block *k = &m->blocks[i];
		if (i >= m->header_blocks && !want[i]) {
			skip_block(&w, m, i);
			continue;
		}
		err = walk_block(v, &w, k, i, why);
	}
	return view_end(v, &w, err);
}

size_t chunk_head_blocks(const struct chunk_meta *m, uint8_t *want)
{
	for (size_t b = 0; b < m->n_blocks; b++) {
		if (m->blocks[b].packets)
			return m->blocks[b].raw_off;
		want[b] = 1;
	}
	return m->raw_len;
}

int chunk_view_parse_head(struct chunk_view *v, size_t end, const char **why)
{
	struct walk w = { .sorted = true };
	int err = view_begin(v, &w, 0);
	if (!err && end > v->raw.len)
		err = -EBADMSG, *why = "the chunk's header blocks end past its data";
	if (!err) /* room for no packet: one here is damage */
		err = walk_range(v, &w, 0, end, why);
	return view_end(v, &w, err);
}

int chunk_view_walk_secrets(const struct chunk_view *v,
			    int (*fn)(const struct tls_secret *sec, void *ctx), void *ctx)
{
	for (size_t d = 0; d < v->n_dsb; d++) {
		const char *s = (const char *)v->raw.data + v->dsb_off[d];
		const char *end = s + v->dsb_len[d];
		while (s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			const char *le = nl ? nl : end;
			/* the DSB body is padded with NULs to a multiple of 4 */
			if (le > s && *s) {
				struct tls_secret sec;
				if (secret_parse_line(s, (size_t)(le - s), &sec))
					return -EBADMSG;
				int r = fn(&sec, ctx);
				if (r)
					return r;
			}
			s = le + 1;
		}
	}
	return 0;
}
