/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * store_impl.h - the inside of struct store, shared by store.c (open, close, the writer),
 * store_read.c (queries) and store_maint.c (recovery, retention, rebuild, fsck).
 */
#ifndef ECAP_STORE_IMPL_H
#define ECAP_STORE_IMPL_H

#include <pthread.h>
#include <stdarg.h>

#include "buf.h"
#include "chunk.h"
#include "chunk_writer.h"
#include "flow_keys.h"
#include "index.h"
#include "store.h"

#define STORE_INDEX_NAME "index.db"
#define STORE_LOCK_NAME "lock"

struct store {
	char *dir;
	int dirfd;
	int lockfd;
	enum store_mode mode;
	struct store_options opt;
	struct index *ix;
	/* Serializes the index between the caller's thread and the writer thread, which adds
	 * each chunk's rows inside the transaction the caller opened for it. */
	pthread_mutex_t ix_lock;
	struct sqlite3_stmt *get_flow_st; /* store_get_flow()'s, prepared once, finalized at close */
	struct sqlite3_stmt *get_proc_st; /* store_get_process()'s, the same way */
	struct sqlite3_stmt *get_links_st; /* store_get_links()'s, the same way */
	struct sqlite3_stmt *get_ctr_st;  /* store_get_container()'s */
	struct flow_keys_cache flow_keys_cache; /* the last selection by address or port */
	char errmsg[512];

	struct ecap_iface *ifaces;      /* by store id */
	size_t n_ifaces, cap_ifaces;

	/* writer */
	uint64_t next_flow_id, next_chunk_id;
	struct chunk_builder cb;        /* the open chunk */
	struct chunk_builder cb_spare;  /* the chunk in flight, or an empty one */
	struct chunk_run run;           /* both builders': each interface's latest time so far */
	struct chunk_writer *writer;
	struct chunk_job job;
	bool inflight;                  /* job was submitted and not yet collected */
	uint64_t chunk_opened_mono;     /* 0: nothing yet in the open chunk (store_chunk_begun) */
	uint64_t now_mono;              /* last store_tick */
	int seg_fd;                     /* the segment being appended, -1 when none */
	int read_fd;                    /* the segment readers read last, kept open across its
					 * chunks; -1 when none */
	uint32_t read_seg;              /* its id */
	uint64_t read_size;             /* its size when last looked at */
	struct buf read_scratch;        /* stored blocks being read, reused from chunk to chunk */
	struct buf read_frames;         /* a chunk's stored frames while it is opened (a
					 * chunk_view's frames), kept for the next one */
	uint64_t *read_keep;            /* by chunk-local flow index: the wanted flow's id, else
					 * 0; all 0 between chunks (read_flow_blocks) */
	size_t read_keep_cap;
	struct buf read_want;           /* by block of a chunk: read it (read_flow_blocks) */
	/* Views closed by store_chunk_close(), kept with their memory for the next chunks read
	 * (an export over many chunks allocates its views' arrays once) */
#define STORE_READ_SPARES 2
	struct chunk_view *read_spares[STORE_READ_SPARES];
	size_t n_read_spares;
	bool read_txn;                  /* store_read_begin(): a read transaction is open */
	int seg_dio_fd;                 /* the same file for direct writes, or -1 */
	uint32_t seg_id;
	uint64_t seg_size;
	/* The open chunk's segment epoch, and that of the last chunk handed to the writer.
	 * Chunks of one epoch all go to one segment: a segment is sealed only once the open
	 * chunk's epoch differs from the last one written into it (store.c finish_chunk).
	 * store_flow_epoch() is cb_epoch + chunks_lost: it moves too when a chunk that may hold
	 * records is lost (a full disk), so that writers store them again. */
	uint32_t cb_epoch, sub_epoch, chunks_lost;
	bool txn_open;                  /* index rows waiting for the next group commit */
	bool age_closed;                /* a chunk closed by its age waits for its commit */
	int unsynced_fd;                /* a sealed segment whose bytes still need fdatasync */
	uint64_t last_commit_mono;
	uint64_t totals_now_said;       /* index_totals_now_chunks() when last noticed */
	uint64_t last_retention_mono;
	uint64_t last_optimize_mono;
	bool full;                      /* the last chunk found the disk full (drop_when_full) */
	uint32_t txn_seg;               /* where the first chunk of the open transaction went */
	uint64_t txn_off;
	/* drop_when_full: the index could not take rows for lack of space; the rows from
	 * behind_seg/behind_off on were rolled back: catch_up() re-indexes them from the
	 * segments, and chunks are written without rows meanwhile */
	bool ix_behind;
	uint32_t behind_seg;
	uint64_t behind_off;
	uint64_t last_catchup_mono;
	struct store_stats st;          /* running counts for the writer's status line */
	struct secret_seen *seen;       /* store_secrets.c: the client_randoms met last */
	struct dsb_cache *dsb_cache;    /* store_secrets_read.c: DSBs read last */
	struct store_sealer *sealer;    /* store_seal.c: key, chain, the segment's digest */
	struct owner_cache *owners;     /* store_owners.c: the owners' records stored last */
};

/* The index for a reader (store_open, fsck), migrated when older and no writer holds the
 * store (store.c). */
int store_open_index_reader(struct store *s);
/* Set the error message (printf-style) and return err. */
int store_fail(struct store *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void store_notice(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A record of what was recorded (a packet, a flow, a TLS session or secret, a drop count, a
 * NAT link) starts the open chunk's age when it is the first: the chunk closes one chunk age
 * later and its rows commit right after, so that such a record made in an otherwise quiet
 * second is as durable and queryable as a packet, about a second later. Process and
 * container records do not: they come for every process with a socket on the host, recorded
 * or not, and ride with the next chunk that holds recorded traffic (whose flows name them),
 * so that a host busy outside the filter costs no chunk and no commit a second. */
static inline void store_chunk_begun(struct store *s)
{
	if (!s->chunk_opened_mono)
		s->chunk_opened_mono = s->now_mono ? s->now_mono : 1;
}

/* store.c */
int store_load_interfaces(struct store *s);
int store_commit(struct store *s);
/* Make the segments durable, then commit the open transaction. */
int store_commit_txn(struct store *s);

/* store_secrets.c: what the writer knows of the secrets held, forgotten when some go */
void store_secrets_forget(struct store *s);

/* store_read.c: a chunk's blocks before its first packet (its DSBs), parsed; an older chunk,
 * not made of blocks, whole. Errors as store_chunk_open's. */
int store_chunk_open_dsb(struct store *s, const struct chunk_ref *ref, struct chunk_view **out);
/* store_secrets_read.c: the DSBs read, freed (store_close) */
void store_secrets_read_free(struct store *s);
/* The views and tables store_chunk_close() kept (store_read.c). */
void store_read_spares_free(struct store *s);

/* store_owners.c: the owners' records kept for the next epochs, freed at close */
void store_owners_free(struct store *s);
/* A writer's owner caches made (and made memory) at its open, not at its first record. */
int store_owners_prepare(struct store *s);

/* store_full.c */
bool store_index_full(const struct store *s, int err);
void store_fall_behind(struct store *s);
int store_carry_over(struct store *s, const struct chunk_builder *from);
int store_catch_up(struct store *s);

/* store_seal.c (writer): open the key and the chain and reconcile the index with it;
 * the digest of the segment being written (begun with its size bytes already in fd, fed
 * each chunk written), and its seal when it is sealed */
int store_seal_open(struct store *s);
int store_seal_segment_begin(struct store *s, uint32_t id, int fd, uint64_t size);
/* A chunk of length bytes written, and pad bytes of padding frame after it (0: none). */
void store_seal_chunk(struct store *s, const struct chunk_meta *m, uint64_t length,
		      uint64_t pad, const uint8_t link[32]);
int store_seal_segment(struct store *s, int seg_fd);
void store_seal_free(struct store *s);

/* store_maint.c */
int store_recover(struct store *s);
int store_apply_retention(struct store *s);
/* Index every valid chunk of the segment from `from` on; cut a torn tail when cut_tail. */
int store_scan_segment(struct store *s, uint32_t seg, uint64_t from, bool cut_tail,
		       FILE *report, uint64_t *problems);

#endif
