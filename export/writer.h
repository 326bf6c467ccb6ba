/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * writer.h - the PCAP-NG file ecap-export writes: one section (SHB), an IDB per store
 * interface as it first occurs, DSBs with TLS secrets before the packets they unlock, EPBs
 * with direction flags and process comments, and ISBs at the end. Output is buffered and
 * written with write(2) in large pieces, so a packet costs no syscall. For the proof beside
 * the file (proof.h), the writer hashes and counts what it writes.
 */
#ifndef ECAP_EXPORT_WRITER_H
#define ECAP_EXPORT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "pcapng.h"
#include "proof.h"
#include "records.h"
#include "sha256.h"

struct writer_iface {
	uint32_t store_id;  /* the store's interface id */
	uint64_t packets;   /* EPBs written on it */
	uint64_t first_ts, last_ts;
};

struct writer {
	int fd;
	struct buf b;
	int32_t *ifmap;             /* store interface id -> output interface index, -1: none */
	size_t ifmap_len;
	struct writer_iface *ifs;   /* output interfaces, in IDB order */
	uint32_t n_ifs;
	size_t ifs_cap;
	uint64_t packets, secrets, bytes_out;
	uint64_t dsbs;              /* Decryption Secrets Blocks written */
	/* the SHB, made by this callback at the first flush (writer_init_deferred) */
	int (*make_shb)(void *ctx, struct buf *out);
	void *shb_ctx;
	/* SHA-256 of every byte handed to write(2), in order (writer_hash) */
	struct sha256 digest;
	bool hashing;
};

/* Starts the section: writes the SHB into the buffer (nothing reaches fd before a flush). */
int writer_init(struct writer *w, int fd, const struct pcapng_shb_info *shb);
/* Starts the section with an SHB that make_shb writes into out (pcapng_write_shb) at the
 * first flush, before everything buffered: what it says may depend on what the export read
 * until then (the proof's recorder versions). An error of make_shb is the flush's. */
int writer_init_deferred(struct writer *w, int fd, int (*make_shb)(void *ctx, struct buf *out),
			 void *ctx);
/* Hash every byte written from now on (before the first flush: the whole file). 0 or
 * -ENOMEM. */
int writer_hash(struct writer *w);
/* What was written (after the last flush): bytes, SHA-256 (with writer_hash), packets and
 * DSBs, as proof_scan_file would count them in the file. */
void writer_written(struct writer *w, struct proof_file *out);
void writer_free(struct writer *w);

/* Output index of a store interface, or -1 when it has no IDB yet. */
static inline int32_t writer_iface_index(const struct writer *w, uint32_t store_id)
{
	return store_id < w->ifmap_len ? w->ifmap[store_id] : -1;
}
/* The IDB snaplen for a recorded one: kept when no stored packet can exceed it, else 0. */
uint32_t writer_snaplen(uint32_t recorded);
/* Writes the IDB of a store interface (if_tsresol 9, if_name, if_filter). */
int writer_add_iface(struct writer *w, uint32_t store_id, const struct ecap_iface *iface);

/* One DSB (or several, for very many) holding the secrets as NSS key log lines. */
int writer_secrets(struct writer *w, const struct tls_secret *v, size_t n);
/* The NSS key log line of a secret, with its '\n'; returns its length (< len) or -ENOSPC. */
#define WRITER_KEYLOG_LINE_MAX (ECAP_LABEL_MAX + 2 * 32 + 2 * ECAP_SECRET_MAX + 4)
int writer_keylog_line(const struct tls_secret *sec, char *out, size_t len);

/* One packet on an interface that has its IDB; comment NULL: none. */
int writer_packet(struct writer *w, const struct ecap_packet *pkt, const char *comment);

/* The ISB of output interface idx; times in ns since the epoch. */
int writer_isb(struct writer *w, uint32_t idx, uint64_t start_ns, uint64_t end_ns, uint64_t drops);

/* Everything buffered to fd. 0 or -errno (-EPIPE when the reader went away). */
int writer_flush(struct writer *w);
/* Flush when the buffer holds at least `threshold` bytes. */
int writer_maybe_flush(struct writer *w, size_t threshold);

/*
 * The per-packet comment of a flow, for the packet's local process on side `primary`
 * (format documented in writer.c), with what was recorded of each side's process and of its
 * container (info and ctr may be NULL, and so may each of their two entries). Returns the
 * length written, 0 when neither side is known (no comment), or -ENOSPC.
 */
#define WRITER_COMMENT_MAX 16384
int writer_format_comment(const struct flow_record *flow,
			  const struct ecap_proc_info *const info[2],
			  const struct ecap_container *const ctr[2], enum flow_side primary,
			  char *out, size_t len);

#endif
