/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * seal.h - tamper evidence for a store: the segment digest, seal records and the chain file
 * that keeps them (seal.c specifies the bytes). A seal is written when a segment is sealed:
 * the segment's digest, the previous seal's digest, the time, the host, the recorder's
 * version and the clock's sync state, signed with the store's Ed25519 key (store_key.h).
 * The chain file keeps every seal, also after retention deleted the segment.
 *
 * The writer (store_seal.c) feeds a seal_acc chunk by chunk as it writes; ecap-verify feeds
 * one from the file (seal_acc_file) and compares.
 */
#ifndef ECAP_SEAL_H
#define ECAP_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "chunkmeta.h"
#include "sha256.h"
#include "store_key.h"

#define SEAL_CHAIN_NAME "chain.ecap"
#define SEAL_CHAIN_HEADER_LEN 64
#define SEAL_RECORD_MAX 4096
#define SEAL_FIXED_LEN 200
#define SEAL_FLAG_LATE 0x1u    /* sealed when a writer opened the store, not when it filled */

struct seal {
	uint16_t flags;
	uint32_t segment;
	uint64_t index;               /* position in the chain, from 0 */
	uint64_t seg_len;
	uint64_t first_chunk, last_chunk;
	uint32_t chunks;
	uint64_t first_ns, last_ns;   /* packet times */
	uint64_t sealed_ns;           /* CLOCK_REALTIME when sealed */
	uint8_t digest[SHA256_LEN];   /* the segment's */
	uint8_t prev[SHA256_LEN];     /* the previous seal's (zeros for the first) */
	uint8_t key_fp[32];
	int32_t clock_state;          /* adjtimex(): TIME_OK .. TIME_ERROR (5: not synced) */
	uint32_t clock_status;        /* its status bits (STA_UNSYNC 0x40) */
	int64_t clock_maxerror_us, clock_esterror_us;
	char host[256], machine_id[64], boot_id[64], version[CHUNKMETA_VERSION_MAX];
	uint8_t sig[STORE_KEY_SIG_LEN];
	/* where it was read (not encoded) */
	uint64_t offset;
	uint32_t length;
	uint8_t self[SHA256_LEN];     /* this record's digest, what the next one links to */
};

/* The running digest of a segment and what its seal says about its chunks. */
struct seal_acc {
	struct sha256 h;
	uint32_t segment;
	uint64_t len;
	uint64_t first_chunk, last_chunk, first_ns, last_ns;
	uint32_t chunks;
};

/* One chunk's element of its segment's digest: SHA-256(meta frame || data digest). */
int seal_chunk_link(const uint8_t *meta_frame, size_t meta_len, const uint8_t data_digest[32],
		    uint8_t link[SHA256_LEN]);

int seal_acc_begin(struct seal_acc *a, uint32_t segment);
/* A chunk of length bytes (both frames) whose metadata is m and link is link. */
void seal_acc_chunk(struct seal_acc *a, const struct chunk_meta *m, uint64_t length,
		    const uint8_t link[SHA256_LEN]);
/* A padding frame of length bytes (segment_read_pad) after a chunk. */
void seal_acc_pad(struct seal_acc *a, uint64_t length);
/* The digest of everything fed so far (a stays usable). */
int seal_acc_digest(const struct seal_acc *a, uint8_t out[SHA256_LEN]);
void seal_acc_free(struct seal_acc *a);

/* What a walk over a segment file found wrong, the first thing of each kind. */
struct seal_walk {
	uint64_t chunks, gaps, digest_mismatches, no_digest;
	uint64_t pads;                /* padding frames, each whole and as the writer makes it */
	uint64_t first_bad_off;       /* of the first gap or mismatch; UINT64_MAX: none */
	uint64_t tail_gap_off;        /* of a gap with no valid chunk after it up to the end
				       * (what recovery cuts as a torn tail); UINT64_MAX: none */
	const char *first_bad_why;
	char first_bad_text[192];     /* first_bad_why, when it names a chunk and a block */
	char versions[4][CHUNKMETA_VERSION_MAX]; /* the recorder versions met (first four) */
	size_t n_versions;
};

/*
 * Feed bytes [from, to) of segment fd to a, chunk by chunk: each chunk's data frame is
 * hashed (chunk_digest_frame, of the chunk's digest kind) and compared with its metadata's
 * digest, a mismatch named by chunk and, where its CRC-32C shows it, data block; a padding
 * frame goes in as one (only exactly as the writer makes it); bytes that are no valid chunk
 * or padding frame go in as a gap. w (may be NULL) counts what was found. 0 or -errno from reading.
 */
int seal_acc_file(struct seal_acc *a, int fd, uint64_t from, uint64_t to, struct seal_walk *w);

/* Fill host, machine_id, boot_id, version and the clock fields of s. */
void seal_fill_host(struct seal *s);
/* Encode and sign s (its key_fp set from k) into out; s->self and length set. */
int seal_encode(struct seal *s, const struct store_key *k, struct buf *out);
/* Decode one record at p: its length, -ENODATA when the record runs past avail (a torn
 * tail), -EBADMSG with *why when damaged. The signature is not checked here. */
long seal_decode(const uint8_t *p, size_t avail, struct seal *s, const char **why);
int seal_check_sig(const struct seal *s, const uint8_t *rec, const struct store_key *k);

/* The chain file's header. */
void seal_chain_header(const uint8_t key_fp[32], uint64_t created_ns,
		       uint8_t out[SEAL_CHAIN_HEADER_LEN]);
/* 0, or -EBADMSG with *why; *key_fp set from it. */
int seal_chain_header_check(const uint8_t *p, size_t len, uint8_t key_fp[32], const char **why);

/* A chain file read whole and split into records (structure only). */
struct seal_chain {
	uint8_t *bytes;
	size_t len;
	struct seal *v;
	size_t n, cap;
	size_t end;                  /* bytes of header and whole records */
	bool torn;                   /* a record at end runs past the file: a torn tail */
	const char *bad_why;         /* a record at end is damaged (not torn): why */
	const char *header_why;      /* the header is damaged: why */
	uint8_t header_fp[32];
};
/* Read dirfd's chain file (O_NOFOLLOW). -ENOENT when there is none. */
int seal_chain_read(int dirfd, struct seal_chain *c);
void seal_chain_free(struct seal_chain *c);

/* Whether name is a file a store keeps for its seals (chain, key files). */
bool seal_is_store_file(const char *name);

#endif
