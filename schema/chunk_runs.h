/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chunk_runs.h - the chunks that hold a flow's packets, as runs of consecutive chunk ids
 * (index schema 9, column flows.chunk_runs), so that an export of a long-lived flow reads the
 * rows of its chunks, not of every chunk from its first to its last (a flow with a packet
 * every few seconds has one chunk in seven or more of its range).
 *
 * Format: idruns.h's (per run, the gap from the end of the previous run and its length minus
 * one, as LEB128), at most CHUNK_RUNS_MAX runs. NULL (a flow indexed before version 9): no
 * list, the flow's chunks are looked for over first_chunk..last_chunk as before; an empty
 * blob: no packets yet.
 *
 * The list is made as if its chunks came one at a time, in id order, whatever the batches
 * they come in (index_add_chunk gathers a transaction's chunks per flow; ecap-fsck --rebuild
 * and recovery batch them differently): a chunk at most CHUNK_RUNS_GAP chunks after the last
 * run's end extends it; one further on starts a run, unless the list has CHUNK_RUNS_MAX runs
 * already, when the last run is extended to it instead; a chunk at or before the last run's
 * end (indexed again) changes nothing. So a run may cover chunks without the flow: readers
 * check each chunk's flow list, and a list may name more chunks than the flow has, never
 * fewer.
 */
#ifndef ECAP_CHUNK_RUNS_H
#define ECAP_CHUNK_RUNS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* About 3 bytes a run, so that the list of a flow updated at each group commit stays within
 * a page or two however long the flow lives. */
#define CHUNK_RUNS_MAX 256

/* Chunks without the flow that a run may cover. A flow with a packet every few chunks (most
 * flows of a busy link) keeps one run, whose row the commit then rewrites in place (its
 * length changes, not its size); an export reads at most this many rows more per run, each
 * less than a query of its own costs. */
#define CHUNK_RUNS_GAP 4

struct chunk_id_run {
	uint64_t lo, hi;
};

/* Adds the chunks lo..hi (lo <= hi, each holding the flow) to the list v[0..*n) (room for
 * CHUNK_RUNS_MAX), as one chunk at a time would (above). */
void chunk_runs_add(struct chunk_id_run *v, size_t *n, uint64_t lo, uint64_t hi);

/* The list old (old_len bytes) with the runs of add (add_len bytes, any number of them, in
 * id order) added, into out (appended). 0, -EBADMSG (either is damaged), -ENOMEM. */
int chunk_runs_merge(const uint8_t *old, size_t old_len, const uint8_t *add, size_t add_len,
		     struct buf *out);

/* ecap_chunk_runs_add(old, add) on db, for index.c's update of a flow's row at the commit:
 * old NULL gives NULL (a flow without a list keeps none), add NULL gives old, damage in old
 * NULL (the flow's range is scanned, as for a flow without a list). SQLite's result code. */
int chunk_runs_register(sqlite3 *db);

#endif
