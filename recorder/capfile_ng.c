// SPDX-License-Identifier: GPL-2.0-only
/*
 * capfile_ng.c - the pcapng half of the capture file reader (capfile.h): cuts blocks out of
 * the input stream, hands them to the codec in schema/pcapng.c (whose opening comment
 * specifies the format), turns IDBs, packet blocks and DSBs into items, tracks sections
 * and their interfaces, and after a block that does not parse skips to the next 4-aligned
 * offset where a known block type starts whose leading and trailing lengths agree.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../schema/pcapng.h"
#include "capfile_impl.h"

/* ---- pcapng ----------------------------------------------------------------------- */

static bool known_block(uint32_t type)
{
	switch (type) {
	case PCAPNG_BT_IDB: case PCAPNG_BT_PB: case PCAPNG_BT_SPB: case PCAPNG_BT_NRB:
	case PCAPNG_BT_ISB: case PCAPNG_BT_EPB: case PCAPNG_BT_DSB: case PCAPNG_BT_SHB:
		return true;
	}
	return false;
}

/* Type and total length of the block at pos as its section (or, for an SHB, its magic)
 * says; false when an SHB's magic is bad. Needs 12 bytes. */
static bool block_peek(const struct capfile *cf, uint32_t *type, uint32_t *len, bool *be)
{
	const uint8_t *p = cf->buf + cf->pos;
	bool sbe = HOST_IS_BE ^ cf->swap;
	if (le32_load(p) == PCAPNG_BT_SHB) {
		uint32_t m = le32_load(p + 8);
		if (m == PCAPNG_BYTE_ORDER_MAGIC)
			sbe = false;
		else if (m == __builtin_bswap32(PCAPNG_BYTE_ORDER_MAGIC))
			sbe = true;
		else
			return false;
	}
	*type = ld32(p, sbe);
	*len = ld32(p + 4, sbe);
	*be = sbe;
	return true;
}

/* Skip from the damaged block at pos to the next 4-aligned block whose lengths agree. */
static int pcapng_resync(struct capfile *cf)
{
	uint64_t from = cur_off(cf);
	for (cf->pos += 4;; cf->pos += 4) {
		long n = capfile_ensure(cf, PCAPNG_BLOCK_MIN);
		if (n < 0)
			return (int)n;
		if ((size_t)n < PCAPNG_BLOCK_MIN)
			break;
		uint32_t type, len;
		bool be;
		if (!block_peek(cf, &type, &len, &be) || !known_block(type))
			continue;
		if (len < PCAPNG_BLOCK_MIN || len % 4 || len > PCAPNG_BLOCK_MAX)
			continue;
		if (type != PCAPNG_BT_SHB && !cf->in_section)
			continue;
		if (type == PCAPNG_BT_EPB &&
		    ld32(cf->buf + cf->pos + 8, be) >= cf->n_ifaces - cf->section_first)
			continue;
		n = capfile_ensure(cf, len);
		if (n < 0)
			return (int)n;
		if ((size_t)n < len || ld32(cf->buf + cf->pos + len - 4, be) != len)
			continue;
		return capfile_resynced(cf, from);
	}
	return capfile_give_up(cf, from);
}

/* All opt_comments of a packet block, joined by '\n'. */
static int packet_comments(struct capfile *cf, const struct pcapng_block *blk,
			   const struct pcapng_epb *epb, struct capfile_item *it)
{
	struct pcapng_opt_iter oi;
	size_t fixed = blk->type == PCAPNG_BT_SPB ? 0 : 20 + (((size_t)epb->caplen + 3) & ~3u);
	int err = pcapng_opts_begin(&oi, blk, fixed, cf->swap);
	if (err)
		return err;
	uint16_t code, len;
	const uint8_t *val;
	unsigned count = 0;
	buf_reset(&cf->comments);
	while ((err = pcapng_opts_next(&oi, &code, &val, &len)) > 0) {
		if (code != PCAPNG_OPT_COMMENT)
			continue;
		if (count++ && buf_append(&cf->comments, "\n", 1))
			return -ENOMEM;
		if (len && buf_append(&cf->comments, val, len))
			return -ENOMEM;
	}
	if (count == 1) {
		it->comment = (const char *)epb->comment;
		it->comment_len = epb->comment_len;
	} else {
		it->comment = (const char *)cf->comments.data;
		it->comment_len = cf->comments.len;
	}
	return err;
}

static int pcapng_packet(struct capfile *cf, const struct pcapng_block *blk, uint64_t off,
			 struct capfile_item *it)
{
	struct pcapng_epb epb;
	if (pcapng_parse_packet(blk, cf->swap, &epb))
		return capfile_report(cf, off, "%s", pcapng_error());
	uint32_t in_section = cf->n_ifaces - cf->section_first;
	if (epb.ifid >= in_section)
		return capfile_report(cf, off, "packet for interface %u, but the section has %u", epb.ifid,
			      in_section);
	const struct capfile_iface *ifc = &cf->ifaces[cf->section_first + epb.ifid];
	memset(it, 0, sizeof(*it));
	it->kind = CAPFILE_PACKET;
	it->offset = off;
	it->iface = ifc->index;
	it->caplen = epb.caplen;
	if (blk->type == PCAPNG_BT_SPB) {
		if (ifc->snaplen && it->caplen > ifc->snaplen)
			it->caplen = ifc->snaplen;
		it->ts_ns = cf->last_ts_ns; /* an SPB has no time: that of the packet before */
		cf->quirks.spb_timed++;
	} else {
		it->ts_ns = capfile_ts_to_ns(cf, ifc, epb.ts);
		cf->last_ts_ns = it->ts_ns;
	}
	it->origlen = epb.origlen < it->caplen ? it->caplen : epb.origlen;
	cf->quirks.origlen_raised += epb.origlen < it->caplen;
	it->data = epb.data;
	it->flags = epb.flags;
	if (epb.comment) {
		int err = packet_comments(cf, blk, &epb, it);
		if (err == -ENOMEM)
			return err;
	}
	return 1;
}

static int pcapng_isb(struct capfile *cf, const struct pcapng_block *blk, uint64_t off)
{
	if (blk->body_len < 12)
		return capfile_report(cf, off, "interface statistics: body of %u bytes below 12",
			      blk->body_len);
	uint32_t ifid = ld32(blk->body, HOST_IS_BE ^ cf->swap);
	if (ifid >= cf->n_ifaces - cf->section_first)
		return capfile_report(cf, off, "statistics for interface %u, but the section has %u", ifid,
			      cf->n_ifaces - cf->section_first);
	struct pcapng_opt_iter oi;
	uint16_t code, len;
	const uint8_t *val;
	int err = pcapng_opts_begin(&oi, blk, 12, cf->swap);
	while (!err && (err = pcapng_opts_next(&oi, &code, &val, &len)) > 0)
		err = 0;
	return err ? capfile_report(cf, off, "interface statistics: %s", pcapng_error()) : 0;
}

/* Handle one whole, well-delimited block; 1 item, 0 nothing to hand out, <0 error. */
static int pcapng_block(struct capfile *cf, const struct pcapng_block *blk, uint64_t off,
			struct capfile_item *it)
{
	switch (blk->type) {
	case PCAPNG_BT_SHB:
		cf->in_section = true;
		cf->section_first = cf->n_ifaces;
		return 0;
	case PCAPNG_BT_IDB: {
		struct pcapng_idb idb;
		if (pcapng_parse_idb(blk, cf->swap, &idb))
			return capfile_report(cf, off, "interface description: %s", pcapng_error());
		struct capfile_iface *ifc;
		int err = capfile_add_iface(cf, idb.linktype, idb.snaplen, idb.ts_units_per_sec,
				    idb.tsoffset_sec, idb.name, idb.filter, &ifc);
		if (err == -E2BIG)
			return capfile_report(cf, off, "more than %u interfaces", IFACES_MAX);
		if (err)
			return err;
		memset(it, 0, sizeof(*it));
		it->kind = CAPFILE_INTERFACE;
		it->offset = off;
		it->ifc = ifc;
		return 1;
	}
	case PCAPNG_BT_EPB:
	case PCAPNG_BT_PB:
	case PCAPNG_BT_SPB:
		return pcapng_packet(cf, blk, off, it);
	case PCAPNG_BT_DSB: {
		memset(it, 0, sizeof(*it));
		if (pcapng_parse_dsb(blk, cf->swap, &it->secrets_type, &it->secrets,
				     &it->secrets_len))
			return capfile_report(cf, off, "decryption secrets: %s", pcapng_error());
		it->kind = CAPFILE_SECRETS;
		it->offset = off;
		return 1;
	}
	case PCAPNG_BT_ISB:
		return pcapng_isb(cf, blk, off);
	case PCAPNG_BT_CB:
	case PCAPNG_BT_DCB:
		cf->quirks.custom_blocks++;
		return 0;
	default:
		cf->quirks.other_blocks++;
		return 0; /* NRB and unknown blocks */
	}
}

int capfile_pcapng_next(struct capfile *cf, struct capfile_item *it)
{
	for (;;) {
		long n = capfile_ensure(cf, PCAPNG_BLOCK_MIN);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			cf->done = true;
			return 0;
		}
		uint64_t off = cur_off(cf);
		if ((size_t)n < PCAPNG_BLOCK_MIN) {
			cf->done = true;
			cf->skipped += (size_t)n;
			cf->pos = cf->len;
			return capfile_report(cf, off, "block header cut short (%ld bytes at the end)", n);
		}
		uint32_t type, len;
		bool be;
		if (!block_peek(cf, &type, &len, &be)) {
			int err = capfile_report(cf, off, "section header: bad byte-order magic");
			int r = pcapng_resync(cf);
			return r < 0 ? r : err;
		}
		if (type != PCAPNG_BT_SHB && !cf->in_section) {
			int err = capfile_report(cf, off, "block type 0x%08x before any section header",
					 type);
			int r = pcapng_resync(cf);
			return r < 0 ? r : err;
		}
		struct pcapng_block blk;
		bool swap = cf->swap;
		long r = pcapng_block_parse(cf->buf + cf->pos, (size_t)n, &swap, &blk);
		if (r == 0) {
			n = capfile_ensure(cf, len);
			if (n < 0)
				return (int)n;
			r = pcapng_block_parse(cf->buf + cf->pos, (size_t)n, &swap, &blk);
			if (r == 0) {
				int err = capfile_report(cf, off,
						 "block type 0x%08x of %u bytes cut short (%ld "
						 "bytes at the end)", type, len, n);
				int rr = pcapng_resync(cf);
				return rr < 0 ? rr : err;
			}
		}
		if (r < 0) {
			int err = capfile_report(cf, off, "%s", pcapng_error());
			int rr = pcapng_resync(cf);
			return rr < 0 ? rr : err;
		}
		cf->swap = swap;
		int ret = pcapng_block(cf, &blk, off, it);
		if (ret == -ENOMEM)
			return ret;
		cf->pos += (size_t)r;
		if (ret != 0)
			return ret;
	}
}
