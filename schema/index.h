/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * index.h - the SQLite index (schema in index.sql): opening and migrating it, and the
 * writes that follow the segments (a chunk, a segment's end, a deleted segment). Queries
 * live with their callers in store_read.c, on index_db().
 */
#ifndef ECAP_INDEX_H
#define ECAP_INDEX_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunkmeta.h"
#include "records.h"

#define INDEX_SCHEMA_VERSION 12
/* The first version whose stores' segments may hold padding frames (segment.h): no table
 * changed; the version keeps out the builds before it, whose ecap-fsck and ecap-verify would
 * call every padding frame damage. */
#define INDEX_VERSION_SEGMENT_PADDING 12

/* A TLS session's secrets stored in its own chunk or one of the INDEX_SECRET_WINDOW - 1 chunks
 * after it (as the recorder stores them: once their ClientHello is recorded) are found there
 * by chunk and client_random: since schema 7 in the chunk's DSB, which chunks.near_secrets
 * counts, with no row in the index; only the others have a secrets and a secret_chunks row
 * (index.sql). */
#define INDEX_SECRET_WINDOW 8

struct index;

/* create: make the file and schema when missing. may_migrate: the caller holds the store's
 * writer lock, so no writer of an older ecap is using the index, and an index of an older
 * schema is migrated; without it such an index fails with -ESTALE. err receives a message
 * on failure. */
int index_open(const char *path, bool create, bool may_migrate, struct index **out, char *err,
	       size_t errlen);
void index_close(struct index *ix);
/* A writer's in-memory tables made before its first chunk, and made memory (mem_populate):
 * the first table of the sessions of the chunks indexed last (40 KiB, touched at random by
 * each new session; it grows with them) and the flows' first slots of a transaction. A page first touched by the writer's thread costs
 * 12-17 us of CPU on the VMs measured (BENCHMARKS.md, i19main); made here, about 1 us.
 * And the writer's statements prepared (4.7 M instructions, most of them the two UPDATEs of
 * a flow's owners, which compile the trigger flows_owner_moved: 2.6 ms in the recorder's
 * first seconds when a server's owner was first learned late). */
int index_prepare(struct index *ix);
/* Refresh the planner's statistics where they are stale (cheap; writers call it). */
void index_optimize(struct index *ix);
sqlite3 *index_db(struct index *ix);
const char *index_errmsg(struct index *ix);

int index_begin(struct index *ix);
int index_commit(struct index *ix);
int index_rollback(struct index *ix);

/* All rows for one chunk and the secrets of its DSB; the chunk's segment row advances to
 * m->offset + m->length. may_repeat: the secrets may repeat ones the index holds (a chunk indexed
 * after the fact: recovery, catch-up after a full disk, rebuild), so each is looked up and
 * indexed only once; the writer, which checked them before writing, passes false. */
int index_add_chunk(struct index *ix, const struct chunk_meta *m, const struct tls_secret *secrets,
		    size_t n_secrets, bool may_repeat);
/* How many chunks had their flow totals written at once, one statement per flow, because the
 * memory to gather them for the commit could not be had (the rows are the same). */
uint64_t index_totals_now_chunks(const struct index *ix);
int index_set_segment(struct index *ix, uint32_t id, uint64_t bytes, bool sealed);
int index_mark_segment_deleting(struct index *ix, uint32_t id);
/* Remove a segment's chunks that end beyond keep_below, and everything that hangs only on
 * them; the segment row's end moves back to keep_below. */
int index_drop_chunks(struct index *ix, uint32_t seg, uint64_t keep_below);
/* Remove a segment's chunks, what hangs only on them, and the segment row. */
int index_drop_segment(struct index *ix, uint32_t id);

int index_get_setting(struct index *ix, const char *key, int64_t *value);
int index_set_setting(struct index *ix, const char *key, int64_t value);
/* The writer's next flow and chunk ids, in the open transaction, for its next open: written
 * (settings next_flow_id, next_chunk_id) only when one is above what the rows give (the
 * largest id + 1: a flow id given out whose record is in no chunk yet, a chunk lost), since
 * the writer's open takes the larger of the two. The rows' ids are kept as settings when
 * rows go (index_drop_chunks), so that no id is given out twice. */
int index_note_next_ids(struct index *ix, uint64_t next_flow_id, uint64_t next_chunk_id);
/* The largest flow id that a chunk indexed through ix names (0: none): a writer's flow ids
 * that may be on disk, which no next writer may give again (those given out for the open
 * chunk are lost with it if the writer stops before writing it). */
uint64_t index_flow_ids_named(const struct index *ix);
/* SELECT of one integer (e.g. "SELECT max(id) FROM flows"); NULL gives dflt. */
int index_scalar(struct index *ix, const char *sql, int64_t dflt, int64_t *out);
/* 1 when a secret (label, client_random) is indexed, 0 when not, <0 error. */
int index_has_secret(struct index *ix, const struct tls_secret *sec);
/* fn for the label of every secret indexed under client_random. */
int index_secret_labels(struct index *ix, const uint8_t client_random[32],
			void (*fn)(const char *label, void *ctx), void *ctx);

#endif
