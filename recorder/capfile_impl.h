/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * capfile_impl.h - the inside of the capture file reader, shared by capfile.c (input buffer,
 * interfaces, pcap, the API) and capfile_ng.c (pcapng). Not for use outside capfile*.c.
 */
#ifndef ECAP_CAPFILE_IMPL_H
#define ECAP_CAPFILE_IMPL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../schema/buf.h"
#include "../schema/le.h"
#include "capfile.h"

#define READ_CHUNK (4u << 20)          /* the buffer's normal size */
#define PCAP_HDR_LEN 24u
#define PCAP_REC_HDR 16u
#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_CAPLEN_FLOOR (256u * 1024) /* caplen always accepted up to this */
#define PCAP_CAPLEN_MAX (16u << 20)
#define IFACES_MAX 65536u
#define HOST_IS_BE (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)

struct capfile {
	int fd;
	bool own_fd;
	char name[256];
	uint64_t size;
	volatile sig_atomic_t *stop;
	int idle_ms;           /* <0: block in read; else report -ETIMEDOUT after this wait */

	uint8_t *buf;
	size_t cap, pos, len;  /* unread bytes are buf[pos..len) */
	uint64_t base;         /* input offset of buf[0] */
	bool eof;
	bool done;             /* nothing more will be returned */

	enum capfile_format fmt;
	bool started;

	/* pcap */
	bool pcap_be;
	bool pcap_ns;
	uint32_t pcap_limit;   /* largest caplen accepted */
	uint32_t last_sec;
	bool have_last;

	/* pcapng */
	bool in_section;
	bool swap;             /* section byte order differs from the host */
	uint32_t section_first; /* file-wide index of the section's interface 0 */
	uint64_t last_ts_ns;

	struct capfile_iface *ifaces;
	uint32_t n_ifaces, cap_ifaces;

	struct buf comments;   /* several opt_comments joined */
	struct capfile_quirks quirks;
	uint64_t skipped;
	char err[512];
};

/* pcapng custom blocks, copiable and not (their contents are not kept) */
#define PCAPNG_BT_CB 0x00000BADu
#define PCAPNG_BT_DCB 0x40000BADu

static inline uint64_t cur_off(const struct capfile *cf)
{
	return cf->base + cf->pos;
}

static inline size_t avail(const struct capfile *cf)
{
	return cf->len - cf->pos;
}

static inline uint32_t ld32(const uint8_t *p, bool be)
{
	return be ? be32_load(p) : le32_load(p);
}

/* Sets the error message "NAME: offset OFF: ..." and returns -EBADMSG. */
int capfile_report(struct capfile *cf, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends to the last message (what the resync did). */
void capfile_report_more(struct capfile *cf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* After damage found at offset `from`: a valid block or record starts at pos (resynced), or
 * nothing readable follows (gave up: the input is done). Both count the skipped bytes and
 * finish the message; both return 0. */
int capfile_resynced(struct capfile *cf, uint64_t from);
int capfile_give_up(struct capfile *cf, uint64_t from);
/* Makes n bytes at pos readable; returns the bytes available (fewer only at the end of the
 * input), or -EINTR / -ETIMEDOUT / -errno. */
long capfile_ensure(struct capfile *cf, size_t n);
int capfile_add_iface(struct capfile *cf, uint16_t linktype, uint32_t snaplen, uint64_t units,
		      int64_t tsoffset, const char *name, const char *filter,
		      struct capfile_iface **out);
uint64_t capfile_ts_to_ns(struct capfile *cf, const struct capfile_iface *ifc, uint64_t ts);
/* The next pcapng item (the format is detected already). */
int capfile_pcapng_next(struct capfile *cf, struct capfile_item *it);

#endif
