// SPDX-License-Identifier: GPL-2.0-only
/*
 * capfile.c - the streaming capture file reader of capfile.h.
 *
 * pcap (libpcap savefile) format, all integers in the writer's byte order:
 *     file header, 24 bytes: u32 magic | u16 major 2 | u16 minor 4 | i32 thiszone |
 *         u32 sigfigs | u32 snaplen | u32 linktype (low 16 bits; upper bits FCS info)
 *     magic 0xa1b2c3d4: timestamps in microseconds; 0xa1b23c4d: nanoseconds; read
 *     byte-swapped, they say the file is in the other byte order.
 *     then records: u32 ts_sec | u32 ts_usec or ts_nsec | u32 caplen | u32 origlen | data
 * A record is accepted when caplen is at most max(snaplen, 256 KiB) (and 16 MiB); a larger
 * caplen means the header is damaged.
 *
 * pcapng is specified in schema/pcapng.c; capfile_ng.c cuts its blocks out of the stream
 * and parses them with the codec there.
 *
 * The input is read with read(2) into one buffer (PCAPNG_BLOCK_MAX at most grows it);
 * records are handed out as pointers into it, so a packet costs no allocation and no copy.
 */
#include "capfile.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../schema/pcapng.h"
#include "capfile_impl.h"

/* ---- input ------------------------------------------------------------------------ */

int capfile_report(struct capfile *cf, uint64_t off, const char *fmt, ...)
{
	int n = snprintf(cf->err, sizeof(cf->err), "%s: offset %llu: ", cf->name,
			 (unsigned long long)off);
	if (n < 0 || (size_t)n >= sizeof(cf->err))
		return -EBADMSG;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cf->err + n, sizeof(cf->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

void capfile_report_more(struct capfile *cf, const char *fmt, ...)
{
	size_t n = strlen(cf->err);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cf->err + n, sizeof(cf->err) - n, fmt, ap);
	va_end(ap);
}

int capfile_resynced(struct capfile *cf, uint64_t from)
{
	uint64_t here = cur_off(cf);
	cf->skipped += here - from;
	capfile_report_more(cf, "; skipped %llu bytes to offset %llu",
			    (unsigned long long)(here - from), (unsigned long long)here);
	return 0;
}

int capfile_give_up(struct capfile *cf, uint64_t from)
{
	cf->skipped += cf->base + cf->len - from;
	cf->pos = cf->len;
	cf->done = true;
	capfile_report_more(cf, "; nothing readable after it");
	return 0;
}

/*
 * Make n bytes at pos readable. Returns the bytes available (less than n only at the end of
 * the input), or -EINTR / -errno.
 */
long capfile_ensure(struct capfile *cf, size_t n)
{
	if (avail(cf) >= n || cf->eof)
		return (long)avail(cf);
	if (cf->cap - cf->pos < n || cf->cap - cf->len < READ_CHUNK / 4) {
		/* move the unread tail to the front, and grow when one record needs it */
		memmove(cf->buf, cf->buf + cf->pos, avail(cf));
		cf->base += cf->pos;
		cf->len -= cf->pos;
		cf->pos = 0;
		if (cf->cap < n) {
			size_t cap = cf->cap;
			while (cap < n)
				cap *= 2;
			uint8_t *p = realloc(cf->buf, cap);
			if (!p)
				return -ENOMEM;
			cf->buf = p;
			cf->cap = cap;
		}
	}
	while (avail(cf) < n) {
		if (cf->idle_ms >= 0 && !cf->size) {
			struct pollfd pfd = { .fd = cf->fd, .events = POLLIN };
			int k = poll(&pfd, 1, cf->idle_ms);
			if (k == 0)
				return -ETIMEDOUT;
			if (k < 0 && errno == EINTR) {
				if (cf->stop && *cf->stop)
					return -EINTR;
				continue;
			}
		}
		ssize_t r = read(cf->fd, cf->buf + cf->len, cf->cap - cf->len);
		if (r < 0) {
			if (errno == EINTR) {
				if (cf->stop && *cf->stop)
					return -EINTR;
				continue;
			}
			int e = errno;
			snprintf(cf->err, sizeof(cf->err), "%s: offset %llu: read: %s", cf->name,
				 (unsigned long long)(cf->base + cf->len), strerror(e));
			return -e;
		}
		if (r == 0) {
			cf->eof = true;
			break;
		}
		cf->len += (size_t)r;
	}
	return (long)avail(cf);
}

/* ---- interfaces ------------------------------------------------------------------- */

int capfile_add_iface(struct capfile *cf, uint16_t linktype, uint32_t snaplen, uint64_t units,
		     int64_t tsoffset, const char *name, const char *filter,
		     struct capfile_iface **out)
{
	if (cf->n_ifaces >= IFACES_MAX)
		return -E2BIG;
	if (cf->n_ifaces == cf->cap_ifaces) {
		uint32_t cap = cf->cap_ifaces ? cf->cap_ifaces * 2 : 8;
		struct capfile_iface *v = realloc(cf->ifaces, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		cf->ifaces = v;
		cf->cap_ifaces = cap;
	}
	struct capfile_iface *ifc = &cf->ifaces[cf->n_ifaces];
	memset(ifc, 0, sizeof(*ifc));
	ifc->index = cf->n_ifaces++;
	ifc->linktype = linktype;
	ifc->snaplen = snaplen;
	ifc->units_per_sec = units;
	ifc->tsoffset_sec = tsoffset;
	ifc->ns_per_unit = units <= 1000000000u && 1000000000u % units == 0 ? 1000000000u / units
									     : 0;
	snprintf(ifc->name, sizeof(ifc->name), "%s", name ? name : "");
	snprintf(ifc->filter, sizeof(ifc->filter), "%s", filter ? filter : "");
	*out = ifc;
	return 0;
}

uint64_t capfile_ts_to_ns(struct capfile *cf, const struct capfile_iface *ifc, uint64_t ts)
{
	unsigned __int128 ns;
	if (ifc->ns_per_unit) {
		ns = (unsigned __int128)ts * ifc->ns_per_unit;
	} else {
		ns = (unsigned __int128)ts * 1000000000u;
		cf->quirks.ts_rounded += ns % ifc->units_per_sec != 0;
		ns /= ifc->units_per_sec;
	}
	__int128 v = (__int128)ns + (__int128)ifc->tsoffset_sec * 1000000000;
	if (v < 0 || v > (__int128)UINT64_MAX) {
		cf->quirks.ts_normalised++;
		return v < 0 ? 0 : UINT64_MAX;
	}
	return (uint64_t)v;
}

const struct capfile_quirks *capfile_quirks(const struct capfile *cf)
{
	return &cf->quirks;
}

/* ---- pcap ------------------------------------------------------------------------- */

static int pcap_header(struct capfile *cf, struct capfile_item *it)
{
	long n = capfile_ensure(cf, PCAP_HDR_LEN);
	if (n < 0)
		return (int)n;
	cf->done = true; /* until the header is good */
	if ((size_t)n < PCAP_HDR_LEN)
		return capfile_report(cf, cur_off(cf), "pcap file header cut short (%ld of %u bytes)", n,
			      PCAP_HDR_LEN);
	const uint8_t *p = cf->buf + cf->pos;
	uint32_t magic = le32_load(p);
	cf->pcap_be = !(magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS);
	magic = ld32(p, cf->pcap_be);
	cf->pcap_ns = magic == PCAP_MAGIC_NS;
	uint16_t major = cf->pcap_be ? be16_load(p + 4) : le16_load(p + 4);
	if (major != 2)
		return capfile_report(cf, cur_off(cf) + 4, "unsupported pcap version %u", major);
	uint32_t snaplen = ld32(p + 16, cf->pcap_be);
	uint32_t lt = ld32(p + 20, cf->pcap_be) & 0x03FFFFFFu;
	if (lt > 0xFFFF)
		return capfile_report(cf, cur_off(cf) + 20, "link type %u out of range", lt);
	cf->pcap_limit = snaplen > PCAP_CAPLEN_FLOOR ? snaplen : PCAP_CAPLEN_FLOOR;
	if (cf->pcap_limit > PCAP_CAPLEN_MAX)
		cf->pcap_limit = PCAP_CAPLEN_MAX;
	struct capfile_iface *ifc;
	int err = capfile_add_iface(cf, (uint16_t)lt, snaplen, cf->pcap_ns ? 1000000000u : 1000000u, 0,
			    NULL, NULL, &ifc);
	if (err)
		return err;
	memset(it, 0, sizeof(*it));
	it->kind = CAPFILE_INTERFACE;
	it->offset = cur_off(cf);
	it->ifc = ifc;
	cf->pos += PCAP_HDR_LEN;
	cf->done = false;
	return 1;
}

/* Whether the 16 bytes at p look like a record header (for resynchronising). */
static bool pcap_plausible(const struct capfile *cf, const uint8_t *p)
{
	uint32_t sec = ld32(p, cf->pcap_be), frac = ld32(p + 4, cf->pcap_be);
	uint32_t caplen = ld32(p + 8, cf->pcap_be), origlen = ld32(p + 12, cf->pcap_be);
	if (frac >= (cf->pcap_ns ? 1000000000u : 1000000u))
		return false;
	if (caplen > cf->pcap_limit || caplen > origlen || origlen > PCAP_CAPLEN_MAX)
		return false;
	if (cf->have_last && (sec + 86400u < cf->last_sec || sec > cf->last_sec + 86400u * 366))
		return false;
	return true;
}

/* Skip from the damaged record at pos to the next plausible pair of records. */
static int pcap_resync(struct capfile *cf)
{
	uint64_t from = cur_off(cf);
	for (cf->pos++;; cf->pos++) {
		long n = capfile_ensure(cf, PCAP_REC_HDR);
		if (n < 0)
			return (int)n;
		if ((size_t)n < PCAP_REC_HDR)
			break;
		if (!pcap_plausible(cf, cf->buf + cf->pos))
			continue;
		size_t rec = PCAP_REC_HDR + ld32(cf->buf + cf->pos + 8, cf->pcap_be);
		n = capfile_ensure(cf, rec + PCAP_REC_HDR);
		if (n < 0)
			return (int)n;
		if ((size_t)n == rec || ((size_t)n >= rec + PCAP_REC_HDR &&
					 pcap_plausible(cf, cf->buf + cf->pos + rec)))
			return capfile_resynced(cf, from);
	}
	return capfile_give_up(cf, from);
}

static int pcap_next(struct capfile *cf, struct capfile_item *it)
{
	long n = capfile_ensure(cf, PCAP_REC_HDR);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		cf->done = true;
		return 0;
	}
	uint64_t off = cur_off(cf);
	if ((size_t)n < PCAP_REC_HDR) {
		cf->done = true;
		cf->skipped += (size_t)n;
		cf->pos = cf->len;
		return capfile_report(cf, off, "record header cut short (%ld of %u bytes at the end)", n,
			      PCAP_REC_HDR);
	}
	const uint8_t *p = cf->buf + cf->pos;
	uint32_t caplen = ld32(p + 8, cf->pcap_be);
	if (caplen > cf->pcap_limit) {
		int err = capfile_report(cf, off, "record claims %u captured bytes (limit %u)", caplen,
				 cf->pcap_limit);
		int r = pcap_resync(cf);
		return r < 0 ? r : err;
	}
	n = capfile_ensure(cf, PCAP_REC_HDR + caplen);
	if (n < 0)
		return (int)n;
	if ((size_t)n < PCAP_REC_HDR + caplen) {
		cf->done = true;
		cf->skipped += (size_t)n;
		cf->pos = cf->len;
		return capfile_report(cf, off, "record of %u bytes cut short (%ld bytes at the end)",
			      PCAP_REC_HDR + caplen, n);
	}
	p = cf->buf + cf->pos;
	uint32_t sec = ld32(p, cf->pcap_be), frac = ld32(p + 4, cf->pcap_be);
	uint32_t origlen = ld32(p + 12, cf->pcap_be);
	memset(it, 0, sizeof(*it));
	it->kind = CAPFILE_PACKET;
	it->offset = off;
	it->iface = 0;
	it->ts_ns = (uint64_t)sec * 1000000000u + (cf->pcap_ns ? frac : (uint64_t)frac * 1000u);
	cf->quirks.ts_normalised += frac >= (cf->pcap_ns ? 1000000000u : 1000000u);
	it->caplen = caplen;
	it->origlen = origlen < caplen ? caplen : origlen;
	cf->quirks.origlen_raised += origlen < caplen;
	it->data = p + PCAP_REC_HDR;
	cf->last_sec = sec;
	cf->have_last = true;
	cf->pos += PCAP_REC_HDR + caplen;
	return 1;
}

/* ---- the API ---------------------------------------------------------------------- */

int capfile_open_fd(int fd, const char *name, struct capfile **out)
{
	struct capfile *cf = calloc(1, sizeof(*cf));
	if (!cf)
		return -ENOMEM;
	cf->buf = malloc(READ_CHUNK);
	if (!cf->buf) {
		free(cf);
		return -ENOMEM;
	}
	cf->cap = READ_CHUNK;
	cf->fd = fd;
	cf->idle_ms = -1;
	snprintf(cf->name, sizeof(cf->name), "%s", name);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		cf->size = (uint64_t)st.st_size;
	*out = cf;
	return 0;
}

int capfile_open(const char *path, struct capfile **out)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!is_stdin)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	int err = capfile_open_fd(fd, is_stdin ? "(stdin)" : path, out);
	if (err) {
		if (!is_stdin)
			close(fd);
		return err;
	}
	(*out)->own_fd = !is_stdin;
	return 0;
}

void capfile_close(struct capfile *cf)
{
	if (!cf)
		return;
	if (cf->own_fd)
		close(cf->fd);
	buf_free(&cf->comments);
	free(cf->ifaces);
	free(cf->buf);
	free(cf);
}

static int detect(struct capfile *cf, struct capfile_item *it)
{
	long n = capfile_ensure(cf, 4);
	if (n < 0)
		return (int)n;
	if (n < 4) {
		cf->done = true;
		return capfile_report(cf, 0, n ? "too short for a capture file (%ld bytes)"
				       : "empty input, not a capture file", n);
	}
	uint32_t m = le32_load(cf->buf + cf->pos);
	cf->started = true;
	if (m == PCAPNG_BT_SHB) {
		cf->fmt = CAPFILE_FMT_PCAPNG;
		return capfile_pcapng_next(cf, it);
	}
	if (m == PCAP_MAGIC_US || m == PCAP_MAGIC_NS || m == __builtin_bswap32(PCAP_MAGIC_US) ||
	    m == __builtin_bswap32(PCAP_MAGIC_NS)) {
		cf->fmt = CAPFILE_FMT_PCAP;
		return pcap_header(cf, it);
	}
	cf->done = true;
	return capfile_report(cf, 0, "not a pcap or pcapng file (starts with %02x %02x %02x %02x)",
		      cf->buf[cf->pos], cf->buf[cf->pos + 1], cf->buf[cf->pos + 2],
		      cf->buf[cf->pos + 3]);
}

int capfile_next(struct capfile *cf, struct capfile_item *it)
{
	if (cf->done)
		return 0;
	if (!cf->started)
		return detect(cf, it);
	int r = cf->fmt == CAPFILE_FMT_PCAP ? pcap_next(cf, it) : capfile_pcapng_next(cf, it);
	if (r < 0 && r != -EBADMSG && r != -EINTR && r != -ETIMEDOUT)
		cf->done = true;
	return r;
}

const char *capfile_error(const struct capfile *cf)
{
	return cf->err[0] ? cf->err : "no error";
}

uint64_t capfile_offset(const struct capfile *cf)
{
	return cur_off(cf);
}

uint64_t capfile_size(const struct capfile *cf)
{
	return cf->size;
}

enum capfile_format capfile_format(const struct capfile *cf)
{
	return cf->fmt;
}

uint64_t capfile_skipped(const struct capfile *cf)
{
	return cf->skipped;
}

void capfile_set_stop(struct capfile *cf, volatile sig_atomic_t *stop)
{
	cf->stop = stop;
}

void capfile_set_idle(struct capfile *cf, int ms)
{
	cf->idle_ms = ms;
}
