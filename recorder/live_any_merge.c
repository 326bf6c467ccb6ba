// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_any_merge.c - the timestamp merge of -i any's per-CPU sources (live_any_merge.h says
 * what a round does). The heads of the sources that have a record sit in a binary min-heap
 * ordered by (timestamp, source index): of two records with the same timestamp the one of the
 * lower source goes first, and a source's own records keep their order. The heap is built
 * again at each round (one next() per source), so nothing but the statistics and the last
 * timestamp handed on lasts from one round to the next.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "live_any_merge.h"

struct live_any_merge {
	uint32_t n_src;
	uint64_t held_max;
	uint32_t *heap;         /* source indices; heap[0] holds the oldest head */
	uint32_t n_heap;
	uint64_t *head_ts;      /* per source: its head's timestamp (while in the heap) */
	bool *over;             /* per source: it holds more than held_max from its head on */
	uint32_t n_over;
	uint64_t last_ts;       /* of the last record handed on */
	struct live_any_merge_stats st;
};

int live_any_merge_new(uint32_t n_src, uint64_t held_max, struct live_any_merge **out)
{
	struct live_any_merge *m;

	if (n_src == 0)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->n_src = n_src;
	m->held_max = held_max;
	m->heap = calloc(n_src, sizeof(*m->heap));
	m->head_ts = calloc(n_src, sizeof(*m->head_ts));
	m->over = calloc(n_src, sizeof(*m->over));
	if (!m->heap || !m->head_ts || !m->over) {
		live_any_merge_free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void live_any_merge_free(struct live_any_merge *m)
{
	if (!m)
		return;
	free(m->heap);
	free(m->head_ts);
	free(m->over);
	free(m);
}

static bool before(const struct live_any_merge *m, uint32_t a, uint32_t b)
{
	return m->head_ts[a] < m->head_ts[b] || (m->head_ts[a] == m->head_ts[b] && a < b);
}

static void sift_down(struct live_any_merge *m, uint32_t i)
{
	uint32_t src = m->heap[i], child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= m->n_heap)
			break;
		if (child + 1 < m->n_heap && before(m, m->heap[child + 1], m->heap[child]))
			child++;
		if (!before(m, m->heap[child], src))
			break;
		m->heap[i] = m->heap[child];
		i = child;
	}
	m->heap[i] = src;
}

static void sift_up(struct live_any_merge *m, uint32_t i)
{
	uint32_t src = m->heap[i], parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!before(m, src, m->heap[parent]))
			break;
		m->heap[i] = m->heap[parent];
		i = parent;
	}
	m->heap[i] = src;
}

/* Asks src for its next record; notes its head and whether it holds too much. Returns
 * next()'s answer. */
static int ask(struct live_any_merge *m, const struct live_any_merge_ops *ops, void *ctx,
	       uint32_t src)
{
	uint64_t ts = 0, held = 0;
	bool over;
	int rc = ops->next(ctx, src, &ts, &held);

	if (rc < 0)
		return rc;
	over = rc > 0 && held > m->held_max;
	if (over != m->over[src]) {
		m->over[src] = over;
		if (over)
			m->n_over++;
		else
			m->n_over--;
	}
	if (rc > 0)
		m->head_ts[src] = ts;
	return rc;
}

int live_any_merge_round(struct live_any_merge *m, const struct live_any_merge_ops *ops,
			 void *ctx, uint64_t watermark)
{
	uint32_t src;
	uint64_t ts;
	int rc;

	m->n_heap = 0;
	m->n_over = 0;
	memset(m->over, 0, m->n_src * sizeof(*m->over));
	for (src = 0; src < m->n_src; src++) {
		rc = ask(m, ops, ctx, src);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			m->heap[m->n_heap++] = src;
			sift_up(m, m->n_heap - 1);
		}
	}
	while (m->n_heap > 0) {
		src = m->heap[0];
		ts = m->head_ts[src];
		if (ts > watermark && m->n_over == 0)
			break;
		if (ts > watermark)
			m->st.forced++;
		if (ts < m->last_ts)
			m->st.late++;
		else
			m->last_ts = ts;
		rc = ops->emit(ctx, src);
		if (rc < 0)
			return rc;
		m->st.emitted++;
		rc = ask(m, ops, ctx, src);
		if (rc < 0)
			return rc;
		if (rc == 0)
			m->heap[0] = m->heap[--m->n_heap];
		if (m->n_heap > 0)
			sift_down(m, 0);
	}
	return 0;
}

void live_any_merge_get_stats(const struct live_any_merge *m, struct live_any_merge_stats *st)
{
	*st = m->st;
}
