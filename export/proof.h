/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proof.h - the signed proof that goes with an export (OUT.ecap-proof, specified in
 * proof.c): which chunks of which store the file's packets came from, their digests, the
 * seals that cover them, and the digest of the file as ecap-export wrote it, signed with the
 * store's Ed25519 key. Also the provenance lines of the export's SHB comment. Written by
 * ecap-export, read by ecap-verify.
 */
#ifndef ECAP_EXPORT_PROOF_H
#define ECAP_EXPORT_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "seal.h"
#include "store.h"
#include "store_key.h"

#define PROOF_SUFFIX ".ecap-proof"
#define PROOF_NONE UINT64_MAX

/* How much of a source chunk's digest and version is known. */
enum proof_chunk_state {
	PROOF_UNREAD,      /* nothing yet: the export's read of the chunk will say */
	PROOF_PEEKED,      /* from the metadata's first bytes (the SHB needed the version before
			    * the chunk was read): a checked read must still confirm it */
	PROOF_CONFIRMED,   /* from a read of the chunk whose metadata passed its checks */
};

struct proof_chunk {
	uint64_t id;
	uint32_t segment;
	uint64_t offset;
	uint32_t length;
	bool has_digest;
	uint8_t digest[SHA256_LEN];    /* of the chunk's data frame */
	uint64_t seal;                 /* index of the seal covering its segment, or PROOF_NONE */
	enum proof_chunk_state state;
	char version[CHUNKMETA_VERSION_MAX];
};

/* What a walk over a PCAP-NG file counts, and its SHA-256; for ecap-export, what its writer
 * wrote (writer_written). */
struct proof_file {
	uint64_t bytes, packets, dsbs, blocks;
	uint8_t sha256[SHA256_LEN];
};

struct proof {
	struct store_key key;
	struct seal host;              /* this host's identity (seal_fill_host) */
	struct seal_chain chain;
	int dirfd;
	struct proof_chunk *v;         /* sorted by id once proof_add_chunks returns */
	size_t n, cap;
	char versions[128];            /* recorder versions of the chunks, comma separated */
	/* read back by proof_parse */
	struct proof_file file;
	uint64_t exported_ns;
	uint64_t seal_index, head_index;   /* newest covering seal, newest seal; PROOF_NONE */
	uint8_t seal_digest[SHA256_LEN], head_digest[SHA256_LEN];
	uint8_t key_fp[32];
	char machine_id[64], host_name[256];
	size_t signed_len;             /* bytes the signature covers */
	uint8_t sig[STORE_KEY_SIG_LEN];
};

/* For ecap-export: the store's private key, the chain, this host, from the store's directory
 * as the export opened it (store_dir_fd(); the proof keeps its own copy of the descriptor).
 * -errno with why when the export cannot be signed (no key: an older store, or no permission
 * to read store.key). */
int proof_begin(struct proof *p, int store_dirfd, char *why, size_t whylen);
/* The chunks an export reads (each once, however often added), where they are: nothing is
 * read here. Their digests and versions come from the export's own read of each chunk
 * (proof_confirm), or for a chunk not read by the time they are needed, from its metadata
 * (proof_shb_lines, proof_write). 0 or -ENOMEM. */
int proof_add_chunks(struct proof *p, const struct chunk_ref *refs, size_t n);
/* A chunk the export read, its metadata checked (a chunk_view's): its digest and version; of
 * a chunk whose metadata's first bytes were peeked at before, they must be the same.
 * -EBADMSG when they differ (the chunk changed meanwhile: no proof can be signed). */
int proof_confirm(struct proof *p, const struct chunk_meta *m);
/* The SHB comment's provenance lines (host, machine-id, recorders, key, newest seal). The
 * recorders are those of every chunk added: a chunk not read yet is peeked at (the first
 * bytes of its metadata; confirmed when it is read, or by proof_write). 0, or -errno when a
 * chunk's metadata cannot be read (the export cannot be signed). */
int proof_shb_lines(struct proof *p, char *out, size_t cap);
/*
 * Write and sign EXPORT.ecap-proof for the file ecap-export wrote: `written` says what its
 * writer handed to write(2) (bytes, SHA-256, packets, DSBs: writer_written), `st` is the
 * file's fstat after the last write, before it was closed. The proof is refused when the
 * file's size differs from what was written (another writer), or when export_path no longer
 * names that file (replaced meanwhile): it signs only bytes ecap-export wrote, beside the
 * file they went to. Chunks not confirmed by a read are read and checked first.
 */
int proof_write(struct proof *p, const char *export_path, const struct stat *st,
		const struct proof_file *written, char *why, size_t whylen);
void proof_free(struct proof *p);

/* Walk the PCAP-NG file fd: its SHA-256 and counts; on_epb (may be NULL) gets each EPB's
 * timestamp (ns), lengths and bytes. 0, or -EBADMSG with why and *bad_off. */
int proof_scan_file(int fd, struct proof_file *f,
		    int (*on_epb)(uint64_t ts_ns, uint32_t caplen, uint32_t origlen,
				  const uint8_t *data, uint64_t off, void *ctx),
		    void *ctx, const char **why, uint64_t *bad_off);
/* Parse a proof (len bytes): p's file, chunks, seal and key fields, signed_len, sig.
 * 0 or -EBADMSG with why naming the line. */
int proof_parse(struct proof *p, const char *text, size_t len, char *why, size_t whylen);
/* The per-packet value ecap-verify compares between an export and its source chunks. */
uint64_t proof_packet_hash(uint64_t ts_ns, uint32_t caplen, uint32_t origlen,
			   const uint8_t *data);

#endif
