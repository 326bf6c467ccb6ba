/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * idruns.h - a set of 64-bit ids as runs of consecutive ids (index schema 7: the flows whose
 * records a chunk carries, column `ids` of chunk_flow_keys). A chunk's new flows have
 * consecutive ids, so their set is one run, plus one per older flow whose record came again.
 *
 * Format, with no header and nothing after the last run: per run, two LEB128 numbers (at most
 * 10 bytes each): the gap from the end of the previous run (the first run: from 0) to its
 * first id, and its length minus 1. A run that would pass UINT64_MAX, or a cut number, is
 * damage (-EBADMSG).
 */
#ifndef ECAP_IDRUNS_H
#define ECAP_IDRUNS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends the runs of ids[0..n), ascending and distinct, to b. 0 or -ENOMEM. */
int idruns_encode(struct buf *b, const uint64_t *ids, size_t n);

/* Appends the run [lo, hi] to b; *next (0 before the first run) is the id after the previous
 * run, lo >= *next, hi >= lo and < UINT64_MAX; *next moves on. 0 or -ENOMEM. */
int idruns_put(struct buf *b, uint64_t *next, uint64_t lo, uint64_t hi);

/* The run at *off of blob (len bytes) into [*lo, *hi]; *next (0 before the first run) is the
 * id after the previous run and moves on. 1 a run, 0 the end, -EBADMSG damage. */
int idruns_next(const uint8_t *blob, size_t len, size_t *off, uint64_t *next, uint64_t *lo,
		uint64_t *hi);

#endif
