/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pcapng.h - the PCAP-NG block codec: writing blocks into a buffer, and parsing blocks and
 * their options out of bytes with every length checked. The format itself is specified at
 * the top of pcapng.c.
 *
 * Writers append whole, padded blocks to a struct buf and return 0 or -errno. Parsers never
 * trust a length: each returns -EBADMSG (with pcapng_error() saying what) for a block that
 * does not fit its own length fields.
 */
#ifndef ECAP_PCAPNG_H
#define ECAP_PCAPNG_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "le.h"

#define PCAPNG_BT_IDB 0x00000001u
#define PCAPNG_BT_PB 0x00000002u /* obsolete Packet Block */
#define PCAPNG_BT_SPB 0x00000003u
#define PCAPNG_BT_NRB 0x00000004u
#define PCAPNG_BT_ISB 0x00000005u
#define PCAPNG_BT_EPB 0x00000006u
#define PCAPNG_BT_DSB 0x0000000Au
#define PCAPNG_BT_SHB 0x0A0D0D0Au
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define PCAPNG_SECRETS_TLS 0x544c534bu /* "TLSK": NSS key log lines */

/* Option codes. */
#define PCAPNG_OPT_ENDOFOPT 0
#define PCAPNG_OPT_COMMENT 1
#define PCAPNG_SHB_HARDWARE 2
#define PCAPNG_SHB_OS 3
#define PCAPNG_SHB_USERAPPL 4
#define PCAPNG_IF_NAME 2
#define PCAPNG_IF_DESCRIPTION 3
#define PCAPNG_IF_TSRESOL 9
#define PCAPNG_IF_FILTER 11
#define PCAPNG_IF_TSOFFSET 14
#define PCAPNG_EPB_FLAGS 2
#define PCAPNG_ISB_STARTTIME 2
#define PCAPNG_ISB_ENDTIME 3
#define PCAPNG_ISB_IFRECV 4
#define PCAPNG_ISB_IFDROP 5

/* Limits on what a parser accepts (libpcap uses the same order of magnitude). */
#define PCAPNG_BLOCK_MIN 12u
#define PCAPNG_BLOCK_MAX (16u * 1024 * 1024)

/* ---- writing ---------------------------------------------------------------------- */

struct pcapng_shb_info {
	const char *comment;  /* any may be NULL */
	const char *hardware;
	const char *os;
	const char *userappl;
};

struct pcapng_idb_info {
	uint16_t linktype;
	uint32_t snaplen;     /* 0: no limit */
	const char *name;     /* may be NULL */
	const char *filter;   /* if_filter as a libpcap string, may be NULL or "" */
	const char *description; /* if_description, may be NULL or "" */
	uint8_t tsresol;      /* if_tsresol value; 9 = nanoseconds, 6 = microseconds */
};

struct pcapng_isb_info {
	uint64_t starttime, endtime; /* in the interface's units; 0: leave out */
	uint64_t ifrecv;             /* UINT64_MAX: leave out */
	uint64_t ifdrop;             /* UINT64_MAX: leave out */
	const char *comment;
};

int pcapng_write_shb(struct buf *b, const struct pcapng_shb_info *info);
int pcapng_write_idb(struct buf *b, const struct pcapng_idb_info *info);
/* ts is in the interface's units; flags 0 and comment NULL leave those options out. */
int pcapng_write_epb(struct buf *b, uint32_t ifid, uint64_t ts, const uint8_t *data,
		     uint32_t caplen, uint32_t origlen, uint32_t flags, const char *comment);

/* An EPB of total bytes begun at the end of b (room made when missing): its head (type,
 * total length, interface, time, lengths) and its data, padded with zeros to 4 bytes. Returns
 * where its options go, or NULL when out of memory (buf_reserve's only failure). */
static inline uint8_t *pcapng_epb_begin(struct buf *b, size_t total, uint32_t ifid, uint64_t ts,
					const uint8_t *data, uint32_t caplen, uint32_t origlen)
{
	uint32_t dpad = (caplen + 3) & ~3u;
	if (b->cap - b->len < total && buf_reserve(b, total))
		return NULL;
	uint8_t *w = b->data + b->len;
	le32_store(w, PCAPNG_BT_EPB);
	le32_store(w + 4, (uint32_t)total);
	le32_store(w + 8, ifid);
	le32_store(w + 12, (uint32_t)(ts >> 32));
	le32_store(w + 16, (uint32_t)ts);
	le32_store(w + 20, caplen);
	le32_store(w + 24, origlen);
	w += 28;
	/* the padding: the last word zeroed, then the data over its first bytes (no call of
	 * memset for 1 to 3 bytes per packet) */
	if (dpad != caplen)
		le32_store(w + dpad - 4, 0);
	if (caplen)
		memcpy(w, data, caplen);
	return w + dpad;
}

/* The epb_flags option at w; returns what follows it. */
static inline uint8_t *pcapng_epb_flags_opt(uint8_t *w, uint32_t flags)
{
	le16_store(w, PCAPNG_EPB_FLAGS);
	le16_store(w + 2, 4);
	le32_store(w + 4, flags);
	return w + 8;
}

/* pcapng_write_epb() without a comment, inline: the packet path's. */
static inline int pcapng_write_epb_flags(struct buf *b, uint32_t ifid, uint64_t ts,
					 const uint8_t *data, uint32_t caplen, uint32_t origlen,
					 uint32_t flags)
{
	/* head 28, data, epb_flags 8 and the end of options 4, trailing length 4 */
	size_t total = 32 + ((caplen + 3) & ~(size_t)3) + (flags ? 12 : 0);
	if (caplen > PCAPNG_BLOCK_MAX)
		return -EINVAL;
	uint8_t *w = pcapng_epb_begin(b, total, ifid, ts, data, caplen, origlen);
	if (!w)
		return -ENOMEM;
	if (flags) {
		w = pcapng_epb_flags_opt(w, flags);
		le32_store(w, 0); /* the end of options */
		w += 4;
	}
	le32_store(w, (uint32_t)total);
	b->len += total;
	return 0;
}

int pcapng_write_dsb(struct buf *b, uint32_t secrets_type, const void *data, uint32_t len);
/* Bytes of a DSB before its data: the block type and length, the secrets type and length. */
#define PCAPNG_DSB_HEAD 16u
/* The same DSB around data already in place: b holds PCAPNG_DSB_HEAD bytes of room, then the
 * data (the rest of b); the head is filled in, the padding and the trailing length appended.
 * The block is then b's bytes, as pcapng_write_dsb would have written them. */
int pcapng_wrap_dsb(struct buf *b, uint32_t secrets_type);
int pcapng_write_isb(struct buf *b, uint32_t ifid, uint64_t ts, const struct pcapng_isb_info *info);

/* ---- parsing ---------------------------------------------------------------------- */

/* One block as it stands in memory. body is everything between the two length fields. */
struct pcapng_block {
	uint32_t type;
	uint32_t total_len;
	const uint8_t *body;
	uint32_t body_len;
};

/*
 * Parse the block at p. swap says whether the section's byte order differs from the host's;
 * for an SHB it is found here and returned through *swap. Returns the block's total length
 * (> 0), 0 when avail is too short to hold it, or -EBADMSG.
 */
long pcapng_block_parse(const uint8_t *p, size_t avail, bool *swap, struct pcapng_block *out);

struct pcapng_opt_iter {
	const uint8_t *p;
	const uint8_t *end;
	bool swap;
};

/* Options start at body + fixed_len; returns -EBADMSG when fixed_len exceeds the body. */
int pcapng_opts_begin(struct pcapng_opt_iter *it, const struct pcapng_block *blk, size_t fixed_len,
		      bool swap);
/* 1: an option in code, val and len; 0: end of options; -EBADMSG: an option overruns. */
int pcapng_opts_next(struct pcapng_opt_iter *it, uint16_t *code, const uint8_t **val,
		     uint16_t *len);

struct pcapng_idb {
	uint16_t linktype;
	uint32_t snaplen;
	uint64_t ts_units_per_sec; /* from if_tsresol, default 1e6 */
	int64_t tsoffset_sec;      /* if_tsoffset */
	char name[64];
	char filter[256];
	char description[128];     /* if_description */
};

struct pcapng_epb {
	uint32_t ifid;
	uint64_t ts;               /* raw, in interface units */
	uint32_t caplen, origlen;
	const uint8_t *data;
	uint32_t flags;            /* epb_flags, 0 when absent */
	const uint8_t *comment;    /* first opt_comment, not NUL-terminated; NULL when absent */
	uint16_t comment_len;
};

int pcapng_parse_idb(const struct pcapng_block *blk, bool swap, struct pcapng_idb *out);
/* Parses EPB, SPB (ifid 0, no timestamp) and the obsolete PB alike. */
int pcapng_parse_packet(const struct pcapng_block *blk, bool swap, struct pcapng_epb *out);
int pcapng_parse_dsb(const struct pcapng_block *blk, bool swap, uint32_t *secrets_type,
		     const uint8_t **data, uint32_t *len);

/* What the last failed parse call objected to (a static string). */
const char *pcapng_error(void);

/* Units per second for an if_tsresol byte; 0 when it is out of range. */
uint64_t pcapng_tsresol_units(uint8_t tsresol);

#endif
