// SPDX-License-Identifier: GPL-2.0-only
/*
 * pcapng.c - the PCAP-NG block codec of pcapng.h: writers that append whole blocks to a
 * struct buf, and parsers that check every length before they read a byte.
 *
 * The format, as far as ecap writes or reads it (draft-ietf-opsawg-pcapng):
 *
 * Every block is
 *     u32 block type | u32 block total length | body ... | u32 block total length
 * The total length counts the 12 bytes of type and both lengths, is a multiple of 4, and the
 * trailing copy must equal the leading one. Integers are in the byte order of the section
 * (set by its SHB); we always write little-endian.
 *
 * Section Header Block (0x0A0D0D0A, the same read either way round):
 *     u32 byte-order magic 0x1A2B3C4D | u16 major 1 | u16 minor 0 | i64 section length
 *     (-1: not given) | options (shb_hardware 2, shb_os 3, shb_userappl 4)
 * The magic as read tells the section's byte order. A new SHB starts a new section whose
 * interface ids start again at 0.
 *
 * Interface Description Block (1):
 *     u16 linktype | u16 reserved | u32 snaplen (0: none) | options
 *   if_name (2): UTF-8 string. if_description (3): UTF-8 string. if_filter (11): byte 0 is the filter kind (0 = libpcap
 *   filter string), the rest the filter. if_tsresol (9): one byte; bit 7 clear: units are
 *   10^-v s; bit 7 set: units are 2^-(v & 0x7f) s; absent: 10^-6 (microseconds).
 *   if_tsoffset (14): i64 seconds added to every timestamp of the interface.
 *   Interfaces are numbered 0, 1, ... in the order of their IDBs within a section.
 *
 * Enhanced Packet Block (6):
 *     u32 interface id | u32 ts high | u32 ts low | u32 captured len | u32 original len |
 *     data padded to 4 | options
 *   The timestamp is the 64-bit value (high << 32 | low) in the interface's units.
 *   epb_flags (2): u32; bits 0-1 direction (01 inbound, 10 outbound). opt_comment (1): text.
 * Simple Packet Block (3): u32 original len | data padded to 4. Interface 0, no timestamp;
 *   the captured length is min(original len, snaplen of interface 0, room in the block).
 * Packet Block (2, obsolete): u16 interface id | u16 drops count | u32 ts high | u32 ts low |
 *   u32 captured len | u32 original len | data padded | options (pack_flags 2 as epb_flags).
 * Interface Statistics Block (5): u32 interface id | u32 ts high | u32 ts low | options
 *   (isb_starttime 2 and isb_endtime 3: a timestamp as two u32, high then low;
 *   isb_ifrecv 4, isb_ifdrop 5: u64).
 * Decryption Secrets Block (0x0A): u32 secrets type ("TLSK" 0x544c534b: NSS key log text) |
 *   u32 secrets len | secrets padded to 4 | options.
 *
 * Options, in every block that has them:
 *     u16 code | u16 value length | value padded to 4
 * ending with opt_endofopt (code 0, length 0), which may also be missing when the options run
 * to the end of the body. opt_comment (1) may occur in any block, more than once.
 */
#include "pcapng.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "le.h"

#define HOST_IS_BE (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)

/* Fixed parts of block bodies. */
#define SHB_FIXED 16u
#define IDB_FIXED 8u
#define EPB_FIXED 20u
#define PB_FIXED 20u
#define SPB_FIXED 4u
#define ISB_FIXED 12u
#define DSB_FIXED 8u
#define OPT_HDR 4u
#define OPT_VALUE_MAX 0xFFFFu

static _Thread_local char errbuf[160];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

const char *pcapng_error(void)
{
	return errbuf[0] ? errbuf : "no error";
}

/* Loads in the section's byte order: swap relative to the host. */
static inline bool section_be(bool swap)
{
	return HOST_IS_BE ^ swap;
}

static inline uint16_t ld16(const uint8_t *p, bool swap)
{
	return section_be(swap) ? be16_load(p) : le16_load(p);
}

static inline uint32_t ld32(const uint8_t *p, bool swap)
{
	return section_be(swap) ? be32_load(p) : le32_load(p);
}

static inline uint64_t ld64(const uint8_t *p, bool swap)
{
	if (section_be(swap))
		return (uint64_t)be32_load(p) << 32 | be32_load(p + 4);
	return le64_load(p);
}

/* A timestamp as two u32, high word first, each in section order. */
static inline uint64_t ld_ts(const uint8_t *p, bool swap)
{
	return (uint64_t)ld32(p, swap) << 32 | ld32(p + 4, swap);
}

static inline size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

uint64_t pcapng_tsresol_units(uint8_t tsresol)
{
	if (tsresol & 0x80) {
		unsigned e = tsresol & 0x7f;
		return e > 63 ? 0 : (uint64_t)1 << e;
	}
	if (tsresol > 19)
		return 0;
	uint64_t u = 1;
	for (unsigned i = 0; i < tsresol; i++)
		u *= 10;
	return u;
}

/* ---- writing ---------------------------------------------------------------------- */

/* Store helpers for a reserved buffer: w points at the next byte. */
static inline uint8_t *put32(uint8_t *w, uint32_t v)
{
	le32_store(w, v);
	return w + 4;
}

static inline uint8_t *put_opt(uint8_t *w, uint16_t code, const void *val, size_t len)
{
	le16_store(w, code);
	le16_store(w + 2, (uint16_t)len);
	w += OPT_HDR;
	if (len)
		memcpy(w, val, len);
	size_t padded = pad4(len);
	memset(w + len, 0, padded - len);
	return w + padded;
}

static size_t str_opt_size(const char *s)
{
	return s && *s ? OPT_HDR + pad4(strlen(s)) : 0;
}

static uint8_t *put_str_opt(uint8_t *w, uint16_t code, const char *s)
{
	if (!s || !*s)
		return w;
	return put_opt(w, code, s, strlen(s));
}

static bool str_opt_fits(const char *s)
{
	return !s || strlen(s) <= OPT_VALUE_MAX;
}

/* Begin a block of known total length in b (reserved); returns the write pointer. */
static uint8_t *block_begin(struct buf *b, uint32_t type, size_t total)
{
	uint8_t *w = b->data + b->len;
	w = put32(w, type);
	return put32(w, (uint32_t)total);
}

static void block_end(struct buf *b, uint8_t *w, size_t total)
{
	assert(w + 4 == b->data + b->len + total); /* the size computed matches what was put */
	put32(w, (uint32_t)total);
	b->len += total;
}

int pcapng_write_shb(struct buf *b, const struct pcapng_shb_info *info)
{
	static const struct pcapng_shb_info none;
	if (!info)
		info = &none;
	if (!str_opt_fits(info->comment) || !str_opt_fits(info->hardware) ||
	    !str_opt_fits(info->os) || !str_opt_fits(info->userappl))
		return -EINVAL;
	size_t opts = str_opt_size(info->comment) + str_opt_size(info->hardware) +
		      str_opt_size(info->os) + str_opt_size(info->userappl);
	if (opts)
		opts += OPT_HDR;
	size_t total = 12 + SHB_FIXED + opts;
	int err = buf_reserve(b, total);
	if (err)
		return err;
	uint8_t *w = block_begin(b, PCAPNG_BT_SHB, total);
	w = put32(w, PCAPNG_BYTE_ORDER_MAGIC);
	le16_store(w, 1);
	le16_store(w + 2, 0);
	w = put32(w + 4, UINT32_MAX); /* section length -1 */
	w = put32(w, UINT32_MAX);
	w = put_str_opt(w, PCAPNG_OPT_COMMENT, info->comment);
	w = put_str_opt(w, PCAPNG_SHB_HARDWARE, info->hardware);
	w = put_str_opt(w, PCAPNG_SHB_OS, info->os);
	w = put_str_opt(w, PCAPNG_SHB_USERAPPL, info->userappl);
	if (opts)
		w = put_opt(w, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	block_end(b, w, total);
	return 0;
}

int pcapng_write_idb(struct buf *b, const struct pcapng_idb_info *info)
{
	if (!str_opt_fits(info->name) || !str_opt_fits(info->description) ||
	    (info->filter && strlen(info->filter) >= OPT_VALUE_MAX))
		return -EINVAL;
	if (!pcapng_tsresol_units(info->tsresol))
		return -EINVAL;
	size_t flen = info->filter && *info->filter ? strlen(info->filter) : 0;
	size_t opts = str_opt_size(info->name) + (flen ? OPT_HDR + pad4(1 + flen) : 0);
	opts += str_opt_size(info->description);
	opts += OPT_HDR + 4; /* if_tsresol */
	opts += OPT_HDR;     /* end of options */
	size_t total = 12 + IDB_FIXED + opts;
	int err = buf_reserve(b, total);
	if (err)
		return err;
	uint8_t *w = block_begin(b, PCAPNG_BT_IDB, total);
	le16_store(w, info->linktype);
	le16_store(w + 2, 0);
	w = put32(w + 4, info->snaplen);
	w = put_str_opt(w, PCAPNG_IF_NAME, info->name);
	w = put_str_opt(w, PCAPNG_IF_DESCRIPTION, info->description);
	if (flen) {
		le16_store(w, PCAPNG_IF_FILTER);
		le16_store(w + 2, (uint16_t)(1 + flen));
		w[4] = 0; /* libpcap filter string */
		memcpy(w + 5, info->filter, flen);
		size_t padded = pad4(1 + flen);
		memset(w + 5 + flen, 0, padded - 1 - flen);
		w += OPT_HDR + padded;
	}
	w = put_opt(w, PCAPNG_IF_TSRESOL, &info->tsresol, 1);
	w = put_opt(w, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	block_end(b, w, total);
	return 0;
}

int pcapng_write_epb(struct buf *b, uint32_t ifid, uint64_t ts, const uint8_t *data,
		     uint32_t caplen, uint32_t origlen, uint32_t flags, const char *comment)
{
	size_t clen = comment ? strlen(comment) : 0;
	if (caplen > PCAPNG_BLOCK_MAX || clen > OPT_VALUE_MAX)
		return -EINVAL;
	size_t dpad = pad4(caplen);
	size_t opts = (flags ? OPT_HDR + 4 : 0) + (clen ? OPT_HDR + pad4(clen) : 0);
	if (opts)
		opts += OPT_HDR;
	size_t total = 12 + EPB_FIXED + dpad + opts;
	uint8_t *w = pcapng_epb_begin(b, total, ifid, ts, data, caplen, origlen);
	if (!w)
		return -ENOMEM;
	if (flags)
		w = pcapng_epb_flags_opt(w, flags);
	if (clen)
		w = put_opt(w, PCAPNG_OPT_COMMENT, comment, clen);
	if (opts) {
		le32_store(w, 0);
		w += 4;
	}
	le32_store(w, (uint32_t)total);
	b->len += total;
	return 0;
}

int pcapng_write_dsb(struct buf *b, uint32_t secrets_type, const void *data, uint32_t len)
{
	if (len > PCAPNG_BLOCK_MAX)
		return -EINVAL;
	size_t total = 12 + DSB_FIXED + pad4(len);
	int err = buf_reserve(b, total);
	if (err)
		return err;
	uint8_t *w = block_begin(b, PCAPNG_BT_DSB, total);
	w = put32(w, secrets_type);
	w = put32(w, len);
	if (len)
		memcpy(w, data, len);
	memset(w + len, 0, pad4(len) - len);
	w += pad4(len);
	block_end(b, w, total);
	return 0;
}

int pcapng_wrap_dsb(struct buf *b, uint32_t secrets_type)
{
	_Static_assert(PCAPNG_DSB_HEAD == 8 + DSB_FIXED, "block type and length, DSB fields");
	if (b->len < PCAPNG_DSB_HEAD || b->len - PCAPNG_DSB_HEAD > PCAPNG_BLOCK_MAX)
		return -EINVAL;
	uint32_t len = (uint32_t)(b->len - PCAPNG_DSB_HEAD);
	size_t total = 12 + DSB_FIXED + pad4(len);
	int err = buf_reserve(b, pad4(len) - len + 4);
	if (err)
		return err;
	uint8_t *w = b->data;
	w = put32(w, PCAPNG_BT_DSB);
	w = put32(w, (uint32_t)total);
	w = put32(w, secrets_type);
	w = put32(w, len);
	w += len;
	memset(w, 0, pad4(len) - len);
	w += pad4(len) - len;
	b->len = 0;
	block_end(b, w, total);
	return 0;
}

static uint8_t *put_ts_opt(uint8_t *w, uint16_t code, uint64_t ts)
{
	le16_store(w, code);
	le16_store(w + 2, 8);
	le32_store(w + 4, (uint32_t)(ts >> 32));
	le32_store(w + 8, (uint32_t)ts);
	return w + 12;
}

static uint8_t *put_u64_opt(uint8_t *w, uint16_t code, uint64_t v)
{
	le16_store(w, code);
	le16_store(w + 2, 8);
	le64_store(w + 4, v);
	return w + 12;
}

int pcapng_write_isb(struct buf *b, uint32_t ifid, uint64_t ts, const struct pcapng_isb_info *info)
{
	static const struct pcapng_isb_info none = { .ifrecv = UINT64_MAX, .ifdrop = UINT64_MAX };
	if (!info)
		info = &none;
	if (!str_opt_fits(info->comment))
		return -EINVAL;
	size_t opts = str_opt_size(info->comment);
	opts += info->starttime ? 12 : 0;
	opts += info->endtime ? 12 : 0;
	opts += info->ifrecv != UINT64_MAX ? 12 : 0;
	opts += info->ifdrop != UINT64_MAX ? 12 : 0;
	if (opts)
		opts += OPT_HDR;
	size_t total = 12 + ISB_FIXED + opts;
	int err = buf_reserve(b, total);
	if (err)
		return err;
	uint8_t *w = block_begin(b, PCAPNG_BT_ISB, total);
	w = put32(w, ifid);
	w = put32(w, (uint32_t)(ts >> 32));
	w = put32(w, (uint32_t)ts);
	w = put_str_opt(w, PCAPNG_OPT_COMMENT, info->comment);
	if (info->starttime)
		w = put_ts_opt(w, PCAPNG_ISB_STARTTIME, info->starttime);
	if (info->endtime)
		w = put_ts_opt(w, PCAPNG_ISB_ENDTIME, info->endtime);
	if (info->ifrecv != UINT64_MAX)
		w = put_u64_opt(w, PCAPNG_ISB_IFRECV, info->ifrecv);
	if (info->ifdrop != UINT64_MAX)
		w = put_u64_opt(w, PCAPNG_ISB_IFDROP, info->ifdrop);
	if (opts)
		w = put_opt(w, PCAPNG_OPT_ENDOFOPT, NULL, 0);
	block_end(b, w, total);
	return 0;
}

/* ---- parsing ---------------------------------------------------------------------- */

long pcapng_block_parse(const uint8_t *p, size_t avail, bool *swap, struct pcapng_block *out)
{
	if (avail < PCAPNG_BLOCK_MIN)
		return 0;
	uint32_t type = le32_load(p); /* SHB's type reads the same in both orders */
	bool sw = *swap;
	if (type == PCAPNG_BT_SHB || type == __builtin_bswap32(PCAPNG_BT_SHB)) {
		uint32_t magic = le32_load(p + 8);
		if (magic == PCAPNG_BYTE_ORDER_MAGIC)
			sw = HOST_IS_BE;
		else if (magic == __builtin_bswap32(PCAPNG_BYTE_ORDER_MAGIC))
			sw = !HOST_IS_BE;
		else
			return fail("section header: bad byte-order magic 0x%08x", magic);
		type = PCAPNG_BT_SHB;
	} else {
		type = ld32(p, sw);
	}
	uint32_t len = ld32(p + 4, sw);
	if (len < PCAPNG_BLOCK_MIN)
		return fail("block type 0x%08x: total length %u below the minimum %u", type, len,
			    PCAPNG_BLOCK_MIN);
	if (len % 4)
		return fail("block type 0x%08x: total length %u not a multiple of 4", type, len);
	if (len > PCAPNG_BLOCK_MAX)
		return fail("block type 0x%08x: total length %u above the limit %u", type, len,
			    PCAPNG_BLOCK_MAX);
	if (type == PCAPNG_BT_SHB && len < 12 + SHB_FIXED)
		return fail("section header: total length %u below %u", len, 12 + SHB_FIXED);
	if (avail < len)
		return 0;
	if (type == PCAPNG_BT_SHB) {
		uint16_t major = ld16(p + 12, sw);
		if (major != 1)
			return fail("section header: unsupported version %u.%u", major,
				    ld16(p + 14, sw));
	}
	uint32_t trailer = ld32(p + len - 4, sw);
	if (trailer != len)
		return fail("block type 0x%08x: trailing length %u differs from leading %u", type,
			    trailer, len);
	out->type = type;
	out->total_len = len;
	out->body = p + 8;
	out->body_len = len - 12;
	if (type == PCAPNG_BT_SHB)
		*swap = sw;
	return len;
}

int pcapng_opts_begin(struct pcapng_opt_iter *it, const struct pcapng_block *blk, size_t fixed_len,
		      bool swap)
{
	if (fixed_len > blk->body_len)
		return fail("block type 0x%08x: fixed part of %zu bytes exceeds body of %u",
			    blk->type, fixed_len, blk->body_len);
	it->p = blk->body + fixed_len;
	it->end = blk->body + blk->body_len;
	it->swap = swap;
	return 0;
}

int pcapng_opts_next(struct pcapng_opt_iter *it, uint16_t *code, const uint8_t **val,
		     uint16_t *len)
{
	size_t left = (size_t)(it->end - it->p);
	if (left == 0)
		return 0;
	if (left < OPT_HDR)
		return fail("option header cut short (%zu bytes left)", left);
	uint16_t c = ld16(it->p, it->swap);
	uint16_t l = ld16(it->p + 2, it->swap);
	if (c == PCAPNG_OPT_ENDOFOPT) {
		it->p = it->end;
		return 0;
	}
	if (pad4(l) > left - OPT_HDR)
		return fail("option %u: length %u overruns the block (%zu bytes left)", c, l,
			    left - OPT_HDR);
	*code = c;
	*len = l;
	*val = it->p + OPT_HDR;
	it->p += OPT_HDR + pad4(l);
	return 1;
}

static void copy_str(char *dst, size_t cap, const uint8_t *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = 0;
	/* an embedded NUL ends the string, as in C */
}

int pcapng_parse_idb(const struct pcapng_block *blk, bool swap, struct pcapng_idb *out)
{
	if (blk->body_len < IDB_FIXED)
		return fail("interface description: body of %u bytes below %u", blk->body_len,
			    IDB_FIXED);
	memset(out, 0, sizeof(*out));
	out->linktype = ld16(blk->body, swap);
	out->snaplen = ld32(blk->body + 4, swap);
	out->ts_units_per_sec = 1000000;
	struct pcapng_opt_iter it;
	int err = pcapng_opts_begin(&it, blk, IDB_FIXED, swap);
	if (err)
		return err;
	uint16_t code, len;
	const uint8_t *val;
	while ((err = pcapng_opts_next(&it, &code, &val, &len)) > 0) {
		switch (code) {
		case PCAPNG_IF_DESCRIPTION:
			copy_str(out->description, sizeof(out->description), val, len);
			break;
		case PCAPNG_IF_NAME:
			copy_str(out->name, sizeof(out->name), val, len);
			break;
		case PCAPNG_IF_FILTER:
			if (len >= 1 && val[0] == 0)
				copy_str(out->filter, sizeof(out->filter), val + 1, len - 1u);
			break;
		case PCAPNG_IF_TSRESOL:
			if (len != 1)
				return fail("if_tsresol: length %u, expected 1", len);
			out->ts_units_per_sec = pcapng_tsresol_units(val[0]);
			if (!out->ts_units_per_sec)
				return fail("if_tsresol: value 0x%02x out of range", val[0]);
			break;
		case PCAPNG_IF_TSOFFSET:
			if (len != 8)
				return fail("if_tsoffset: length %u, expected 8", len);
			out->tsoffset_sec = (int64_t)ld64(val, swap);
			break;
		default:
			break;
		}
	}
	return err;
}

/* Reads epb_flags / pack_flags (code 2) and the first comment from a packet's options. */
static int packet_opts(const struct pcapng_block *blk, bool swap, size_t fixed,
		       struct pcapng_epb *out)
{
	struct pcapng_opt_iter it;
	int err = pcapng_opts_begin(&it, blk, fixed, swap);
	if (err)
		return err;
	uint16_t code, len;
	const uint8_t *val;
	while ((err = pcapng_opts_next(&it, &code, &val, &len)) > 0) {
		if (code == PCAPNG_EPB_FLAGS) {
			if (len != 4)
				return fail("epb_flags: length %u, expected 4", len);
			out->flags = ld32(val, swap);
		} else if (code == PCAPNG_OPT_COMMENT && !out->comment) {
			out->comment = val;
			out->comment_len = len;
		}
	}
	return err;
}

int pcapng_parse_packet(const struct pcapng_block *blk, bool swap, struct pcapng_epb *out)
{
	const uint8_t *b = blk->body;
	memset(out, 0, sizeof(*out));
	switch (blk->type) {
	case PCAPNG_BT_EPB:
	case PCAPNG_BT_PB: {
		if (blk->body_len < EPB_FIXED)
			return fail("packet block: body of %u bytes below %u", blk->body_len,
				    EPB_FIXED);
		if (blk->type == PCAPNG_BT_EPB)
			out->ifid = ld32(b, swap);
		else
			out->ifid = ld16(b, swap);
		out->ts = ld_ts(b + 4, swap);
		out->caplen = ld32(b + 12, swap);
		out->origlen = ld32(b + 16, swap);
		if (out->caplen > blk->body_len - EPB_FIXED)
			return fail("packet block: captured length %u exceeds the block (%u bytes)",
				    out->caplen, blk->body_len - EPB_FIXED);
		out->data = b + EPB_FIXED;
		return packet_opts(blk, swap, EPB_FIXED + pad4(out->caplen), out);
	}
	case PCAPNG_BT_SPB: {
		if (blk->body_len < SPB_FIXED)
			return fail("simple packet block: body of %u bytes below %u", blk->body_len,
				    SPB_FIXED);
		out->origlen = ld32(b, swap);
		uint32_t room = blk->body_len - SPB_FIXED;
		out->caplen = out->origlen < room ? out->origlen : room;
		out->data = b + SPB_FIXED;
		return 0;
	}
	default:
		return fail("block type 0x%08x is not a packet block", blk->type);
	}
}

int pcapng_parse_dsb(const struct pcapng_block *blk, bool swap, uint32_t *secrets_type,
		     const uint8_t **data, uint32_t *len)
{
	if (blk->body_len < DSB_FIXED)
		return fail("decryption secrets block: body of %u bytes below %u", blk->body_len,
			    DSB_FIXED);
	uint32_t l = ld32(blk->body + 4, swap);
	if (l > blk->body_len - DSB_FIXED)
		return fail("decryption secrets block: secrets length %u exceeds the block (%u)", l,
			    blk->body_len - DSB_FIXED);
	/* options after the padded secrets must be well formed too */
	struct pcapng_opt_iter it;
	int err = pcapng_opts_begin(&it, blk, DSB_FIXED + pad4(l), swap);
	if (err)
		return err;
	uint16_t code, olen;
	const uint8_t *val;
	while ((err = pcapng_opts_next(&it, &code, &val, &olen)) > 0)
		;
	if (err)
		return err;
	*secrets_type = ld32(blk->body, swap);
	*data = blk->body + DSB_FIXED;
	*len = l;
	return 0;
}
