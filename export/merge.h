/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * merge.h - the packets of a list of chunks in export order: by time, each interface's
 * packets in recorded order even where its clock steps back or ties (merge.c). Chunks may
 * overlap in time; each is opened only when the merge reaches its first timestamp, so at any
 * moment only the chunks that overlap the current time are held in memory.
 */
#ifndef ECAP_EXPORT_MERGE_H
#define ECAP_EXPORT_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct merge_src {
	struct chunk_view *view;
	uint64_t key;              /* order key of its next packet (chunk_view.c) */
	uint64_t chunk_id;
};

struct merge {
	struct store *store;
	const struct chunk_ref *chunks; /* ordered by first_ns */
	size_t n, next;                 /* next: the first chunk not opened yet */
	struct merge_src *heap;         /* min-heap on key, then chunk id */
	size_t nheap;
	struct chunk_view *done;        /* exhausted; closed on the next call */
	const struct idset *flows;      /* only packets of these flows are needed (NULL: all) */
	uint64_t chunks_opened, chunks_failed;
	void (*on_error)(void *ctx, const struct chunk_ref *ref, const char *msg);
	/* a chunk opened (its metadata checked); may be NULL */
	void (*on_open)(void *ctx, const struct chunk_view *v);
	void *ctx;
};

/* chunks must stay valid until merge_free(); on_error (may be NULL) hears of unreadable chunks. */
int merge_init(struct merge *m, struct store *s, const struct chunk_ref *chunks, size_t n);
/*
 * 1: the next packet in *pkt, valid until the next call; 0: end; <0 error. A chunk that
 * cannot be opened is reported through on_error, counted and skipped.
 */
int merge_next(struct merge *m, struct ecap_packet *pkt);
void merge_free(struct merge *m);

#endif
