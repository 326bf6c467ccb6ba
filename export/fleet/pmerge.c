// SPDX-License-Identifier: GPL-2.0-only
/*
 * pmerge.c - merging per-host PCAP-NG answers (pmerge.h). Two passes over each mapped
 * answer: pmerge_check parses every block with schema/pcapng.c's checked parsers; the
 * writer then walks the same bytes again knowing they hold.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "pcapng.h"
#include "pmerge.h"

#define IFACES_MAX 4096
#define FLUSH_AT (1u << 20)
#define HOST_PREFIX_MAX 300

struct cursor {
	struct pmerge_input *in;
	size_t off;
	bool swap;
	uint32_t n_ifs;
	uint32_t out_base;	    /* output id of its interface 0 */
	uint64_t units[IFACES_MAX]; /* per interface: timestamp units per second */
	int64_t offset_s[IFACES_MAX];
	bool have; /* epb below is the next packet */
	struct pcapng_epb epb;
	uint64_t ts_ns;
};

static int refuse(struct pmerge_input *in, const char *what, size_t off)
{
	snprintf(in->why, sizeof(in->why), "its answer is not a valid capture (%s at byte %zu)",
		 what, off);
	return -EBADMSG;
}

static uint64_t to_ns(uint64_t ts, uint64_t units, int64_t off_s)
{
	uint64_t ns;
	if (units == 1000000000ull)
		ns = ts;
	else if (units < 1000000000ull && 1000000000ull % units == 0)
		ns = ts > UINT64_MAX / (1000000000ull / units) ? UINT64_MAX
							       : ts * (1000000000ull / units);
	else
		ns = (uint64_t)((long double)ts * 1e9L / (long double)units);
	if (off_s > 0)
		ns += (uint64_t)off_s * 1000000000ull;
	return ns;
}

int pmerge_check(struct pmerge_input *in)
{
	struct stat st;
	size_t off = 0;
	bool swap = false;
	uint32_t n_ifs = 0;

	if (fstat(in->fd, &st) < 0)
		return refuse(in, strerror(errno), 0);
	if (st.st_size == 0)
		return refuse(in, "empty", 0);
	in->len = (size_t)st.st_size;
	in->map = mmap(NULL, in->len, PROT_READ, MAP_PRIVATE, in->fd, 0);
	if (in->map == MAP_FAILED) {
		in->map = NULL;
		return refuse(in, strerror(errno), 0);
	}
	while (off < in->len) {
		struct pcapng_block blk;
		long n = pcapng_block_parse(in->map + off, in->len - off, &swap, &blk);
		if (n <= 0)
			return refuse(in, n == 0 ? "truncated block" : pcapng_error(), off);
		if ((off == 0) != (blk.type == PCAPNG_BT_SHB))
			return refuse(in, off ? "a second section" : "no section header", off);
		if (blk.type == PCAPNG_BT_IDB) {
			struct pcapng_idb idb;
			if (pcapng_parse_idb(&blk, swap, &idb) < 0)
				return refuse(in, pcapng_error(), off);
			if (++n_ifs > IFACES_MAX)
				return refuse(in, "too many interfaces", off);
		} else if (blk.type == PCAPNG_BT_EPB || blk.type == PCAPNG_BT_SPB ||
			   blk.type == PCAPNG_BT_PB) {
			struct pcapng_epb e;
			if (pcapng_parse_packet(&blk, swap, &e) < 0)
				return refuse(in, pcapng_error(), off);
			if (e.ifid >= n_ifs)
				return refuse(in, "a packet on an undeclared interface", off);
			in->packets++;
		} else if (blk.type == PCAPNG_BT_DSB) {
			uint32_t type, len;
			const uint8_t *data;
			if (pcapng_parse_dsb(&blk, swap, &type, &data, &len) < 0)
				return refuse(in, pcapng_error(), off);
		}
		off += (size_t)n;
	}
	return 0;
}

void pmerge_release(struct pmerge_input *in)
{
	if (in->map)
		munmap((void *)in->map, in->len);
	in->map = NULL;
}

static int flush(int fd, struct buf *b, size_t at_least)
{
	if (b->len < at_least)
		return 0;
	size_t done = 0;
	while (done < b->len) {
		ssize_t w = write(fd, b->data + done, b->len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)w;
	}
	buf_reset(b);
	return 0;
}

/* The next packet of a cursor (after pmerge_check, every block parses). */
static void advance(struct cursor *c)
{
	c->have = false;
	while (c->off < c->in->len) {
		struct pcapng_block blk;
		long n = pcapng_block_parse(c->in->map + c->off, c->in->len - c->off, &c->swap,
					    &blk);
		c->off += (size_t)n;
		if (blk.type == PCAPNG_BT_EPB || blk.type == PCAPNG_BT_SPB ||
		    blk.type == PCAPNG_BT_PB) {
			pcapng_parse_packet(&blk, c->swap, &c->epb);
			c->ts_ns =
				to_ns(c->epb.ts, c->units[c->epb.ifid], c->offset_s[c->epb.ifid]);
			c->have = true;
			return;
		}
	}
}

/* Pass over the section: IDBs (written renamed) and DSBs (written now, before packets). */
static int headers(struct cursor *c, struct buf *b, uint32_t *next_if, bool dsbs)
{
	size_t off = 0;
	bool swap = false;
	int err = 0;
	while (off < c->in->len && !err) {
		struct pcapng_block blk;
		long n = pcapng_block_parse(c->in->map + off, c->in->len - off, &swap, &blk);
		off += (size_t)n;
		if (blk.type == PCAPNG_BT_IDB && !dsbs) {
			struct pcapng_idb idb;
			char name[64 + HOST_PREFIX_MAX];
			pcapng_parse_idb(&blk, swap, &idb);
			uint32_t i = c->n_ifs++;
			c->units[i] = idb.ts_units_per_sec ? idb.ts_units_per_sec : 1000000;
			c->offset_s[i] = idb.tsoffset_sec;
			if (idb.name[0])
				snprintf(name, sizeof(name), "%s@%s", idb.name, c->in->host);
			else
				snprintf(name, sizeof(name), "if%u@%s", i, c->in->host);
			struct pcapng_idb_info info = { .linktype = idb.linktype,
							.snaplen = idb.snaplen,
							.name = name,
							.filter = idb.filter,
							.description = idb.description,
							.tsresol = 9 };
			err = pcapng_write_idb(b, &info);
			(*next_if)++;
		} else if (blk.type == PCAPNG_BT_DSB && dsbs) {
			uint32_t type, len;
			const uint8_t *data;
			pcapng_parse_dsb(&blk, swap, &type, &data, &len);
			err = pcapng_write_dsb(b, type, data, len);
		}
	}
	c->swap = swap;
	return err;
}

int pmerge_write(int fd, struct pmerge_input **ok, size_t n, const char *shb_comment,
		 uint64_t *packets_out)
{
	struct pcapng_shb_info shb = { .comment = shb_comment, .userappl = "ecap-export --fleet" };
	struct cursor *cs = calloc(n ? n : 1, sizeof(*cs));
	struct buf b = { 0 };
	char *comment = malloc(HOST_PREFIX_MAX + 65536 + 1);
	uint32_t next_if = 0;
	uint64_t packets = 0;
	int err;

	if (!cs || !comment) {
		free(cs);
		free(comment);
		return -ENOMEM;
	}
	err = pcapng_write_shb(&b, &shb);
	for (size_t i = 0; i < n && !err; i++) {
		cs[i].in = ok[i];
		cs[i].out_base = next_if;
		err = headers(&cs[i], &b, &next_if, false);
	}
	for (size_t i = 0; i < n && !err; i++)
		err = headers(&cs[i], &b, &next_if, true);
	for (size_t i = 0; i < n; i++) {
		cs[i].off = 0;
		advance(&cs[i]);
	}
	while (!err) {
		struct cursor *m = NULL;
		for (size_t i = 0; i < n; i++)
			if (cs[i].have && (!m || cs[i].ts_ns < m->ts_ns))
				m = &cs[i];
		if (!m)
			break;
		int k = snprintf(comment, HOST_PREFIX_MAX, "Host: %s", m->in->host);
		if (m->epb.comment) {
			comment[k++] = '\n';
			memcpy(comment + k, m->epb.comment, m->epb.comment_len);
			k += m->epb.comment_len;
		}
		comment[k] = '\0';
		/* a NUL inside the answer's comment ends it: a comment is text */
		err = pcapng_write_epb(&b, m->out_base + m->epb.ifid, m->ts_ns, m->epb.data,
				       m->epb.caplen, m->epb.origlen, m->epb.flags, comment);
		packets++;
		if (!err)
			err = flush(fd, &b, FLUSH_AT);
		advance(m);
	}
	if (!err)
		err = flush(fd, &b, 0);
	buf_free(&b);
	free(cs);
	free(comment);
	*packets_out = packets;
	return err;
}
