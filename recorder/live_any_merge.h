/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_any_merge.h - `-i any`'s packets put in timestamp order across its per-CPU perf
 * buffers (live_any_merge.c): a k-way merge of sources (one a CPU) that each give their
 * records in their own order, by the smallest head timestamp, in rounds.
 *
 * A round sees each source up to the end its caller fixed before the round (live_any_ring.h:
 * the ring's head read once). It hands on, oldest first, every record whose timestamp is at
 * most the round's watermark, and keeps the younger ones (in their source, not copied) for a
 * later round, unless a source would keep more than held_max bytes: then records are handed
 * on, still oldest first, whatever their timestamp, until no source keeps more ("forced").
 * A record older than one already handed on (it reached its source after the watermark had
 * passed it) is handed on at once and counted as late. No allocation after new(), no
 * syscall: O(log sources) per record.
 */
#ifndef ECAP_LIVE_ANY_MERGE_H
#define ECAP_LIVE_ANY_MERGE_H

#include <stdint.h>

struct live_any_merge_ops {
	/* Source src's next record not handed on, up to the round's end: 1 with its timestamp
	 * and the bytes src holds from that record to its end (what it keeps if the round
	 * stops here), 0 when src has no more, <0 an error that ends the round. Asked again
	 * for the same record until emit() takes it. */
	int (*next)(void *ctx, uint32_t src, uint64_t *ts, uint64_t *held);
	/* Hand on the record next() just described and step past it; <0 ends the round. */
	int (*emit)(void *ctx, uint32_t src);
};

struct live_any_merge_stats {
	uint64_t emitted;       /* records handed on */
	uint64_t forced;        /* of them, younger than their round's watermark (held_max) */
	uint64_t late;          /* of them, older than a record handed on before */
};

struct live_any_merge;

/* n_src sources (at least 1), each keeping at most held_max bytes after a round. */
int live_any_merge_new(uint32_t n_src, uint64_t held_max, struct live_any_merge **out);
/* One round: records up to timestamp watermark (UINT64_MAX: all) handed on in order. */
int live_any_merge_round(struct live_any_merge *m, const struct live_any_merge_ops *ops,
			 void *ctx, uint64_t watermark);
void live_any_merge_get_stats(const struct live_any_merge *m, struct live_any_merge_stats *st);
void live_any_merge_free(struct live_any_merge *m);

#endif
