/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * capfile.h - a streaming reader of capture files: pcap (either byte order, microsecond or
 * nanosecond magic) and pcapng (either byte order, several sections, several interfaces each
 * with its own if_tsresol / if_tsoffset; EPB, SPB, the obsolete PB, DSB; ISB checked and
 * skipped; other blocks skipped). Reads a path or standard input ("-") front to back with
 * read(2) into one large buffer: no seeking, works on pipes, no allocation per packet.
 *
 * Bad input never ends the reading silently: capfile_next() returns -EBADMSG once for each
 * damaged place, with capfile_error() naming the file, the byte offset and what is wrong,
 * and the reader has already skipped to the next place that parses (pcapng: the next
 * 4-aligned block whose lengths agree; pcap: the next record header that is plausible and is
 * followed by another). The caller counts the error and calls capfile_next() again.
 */
#ifndef ECAP_CAPFILE_H
#define ECAP_CAPFILE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define CAPFILE_IFNAME_MAX 64
#define CAPFILE_FILTER_MAX 256

struct capfile;

enum capfile_format {
	CAPFILE_FMT_UNKNOWN = 0,
	CAPFILE_FMT_PCAP,
	CAPFILE_FMT_PCAPNG,
};

enum capfile_kind {
	CAPFILE_PACKET = 1,
	CAPFILE_INTERFACE, /* a new interface: comes before the first packet that uses it */
	CAPFILE_SECRETS,   /* a pcapng Decryption Secrets Block */
};

struct capfile_iface {
	uint32_t index;            /* file-wide, 0, 1, ... in order of appearance */
	uint16_t linktype;         /* LINKTYPE_* */
	uint32_t snaplen;          /* 0: none given */
	char name[CAPFILE_IFNAME_MAX];     /* if_name, "" when absent (and for pcap) */
	char filter[CAPFILE_FILTER_MAX];   /* if_filter libpcap string, "" when absent */
	uint64_t units_per_sec;    /* timestamp resolution */
	int64_t tsoffset_sec;      /* if_tsoffset */
	uint64_t ns_per_unit;      /* 1e9 / units when that divides evenly, else 0 */
};

struct capfile_item {
	enum capfile_kind kind;
	uint64_t offset;           /* byte offset of the record or block in the input */

	/* CAPFILE_PACKET: valid until the next capfile_next() */
	uint32_t iface;            /* file-wide interface index (capfile_iface.index) */
	uint64_t ts_ns;            /* nanoseconds since the epoch, at the input's resolution */
	uint32_t caplen, origlen;
	const uint8_t *data;
	uint32_t flags;            /* epb_flags / pack_flags, 0 when absent */
	const char *comment;       /* every opt_comment joined by '\n'; NULL when none */
	size_t comment_len;        /* not NUL-terminated */

	/* CAPFILE_INTERFACE */
	const struct capfile_iface *ifc;

	/* CAPFILE_SECRETS: valid until the next capfile_next() */
	uint32_t secrets_type;     /* PCAPNG_SECRETS_TLS, ... */
	const uint8_t *secrets;
	uint32_t secrets_len;
};

/* What the items cannot carry of a valid input, counted as the reader goes. */
struct capfile_quirks {
	uint64_t ts_normalised;   /* pcap fraction out of range (carried into the seconds), or
				   * a time before 1970 or after 2554 (clamped) */
	uint64_t ts_rounded;      /* finer than a nanosecond (if_tsresol 2^-n, 10^-10 ...):
				   * rounded down to it, as libpcap does */
	uint64_t origlen_raised;  /* original length below the captured length: raised to it */
	uint64_t spb_timed;       /* simple packet blocks (no time): given the time before */
	uint64_t custom_blocks;   /* pcapng CB and DCB (0x00000BAD, 0x40000BAD) */
	uint64_t other_blocks;    /* name resolution and unknown pcapng blocks */
};

/* Opens path ("-": standard input). 0, or -errno (nothing was read). */
int capfile_open(const char *path, struct capfile **out);
/* Opens an already open descriptor (not closed by capfile_close); name is used in messages. */
int capfile_open_fd(int fd, const char *name, struct capfile **out);
void capfile_close(struct capfile *cf);

/*
 * The next item: 1 with *it filled, 0 at the end of the input, -EBADMSG for damaged input
 * (capfile_error() says where; call again to go on after it), -EINTR when *stop (see
 * capfile_set_stop) was set while waiting for input, -ETIMEDOUT when the input was quiet
 * for the idle time (see capfile_set_idle), or another -errno for a read error (after
 * which the reader is at its end).
 */
int capfile_next(struct capfile *cf, struct capfile_item *it);

/* "FILE: offset N: what" for the last error. */
const char *capfile_error(const struct capfile *cf);
const struct capfile_quirks *capfile_quirks(const struct capfile *cf);
/* Bytes of input consumed so far. */
uint64_t capfile_offset(const struct capfile *cf);
/* Size of the input when it is a regular file, else 0. */
uint64_t capfile_size(const struct capfile *cf);
enum capfile_format capfile_format(const struct capfile *cf);
/* Input bytes passed over because they did not parse. */
uint64_t capfile_skipped(const struct capfile *cf);
/* An interrupted read returns -EINTR when *stop is non-zero, else it is retried. */
void capfile_set_stop(struct capfile *cf, volatile sig_atomic_t *stop);
/*
 * For inputs that are not regular files (pipes): when no byte arrives within ms
 * milliseconds, capfile_next() returns -ETIMEDOUT and can be called again, so that the caller
 * can do periodic work while a live producer is quiet. Negative (the default): wait.
 */
void capfile_set_idle(struct capfile *cf, int ms);

#endif
