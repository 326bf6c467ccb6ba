// SPDX-License-Identifier: GPL-2.0-only
/*
 * merge.c - a k-way merge of chunk views on their packets' order keys (merge.h).
 *
 * A packet's key is the running maximum of its interface's timestamps in recorded order
 * (chunk_view.c), at or after its own time. Each view lists its packets by key, ties in
 * recorded order; the heap takes the smallest key, ties by chunk id: the order of the
 * recording, as a stable sort on the keys would give. So every interface keeps its recorded
 * order, and interfaces, and recordings that overlap in time, interleave by time.
 *
 * The frontier is the smallest key among open views. Before taking a packet, every
 * not-yet-opened chunk whose first_ns is at or before the frontier is opened and pushed: a
 * key is never below its packet's time, so a chunk that overlaps others joins before any
 * of its packets can come next. The heap has room for every chunk from the start: no
 * allocation after merge_init().
 */
#include "merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int merge_init(struct merge *m, struct store *s, const struct chunk_ref *chunks, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->store = s;
	m->chunks = chunks;
	m->n = n;
	if (n) {
		m->heap = calloc(n, sizeof(*m->heap));
		if (!m->heap)
			return -ENOMEM;
	}
	return 0;
}

static bool less(const struct merge_src *a, const struct merge_src *b)
{
	/* Equal keys keep chunk order, so the merge is stable. */
	return a->key < b->key || (a->key == b->key && a->chunk_id < b->chunk_id);
}

static void sift_up(struct merge *m, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!less(&m->heap[i], &m->heap[p]))
			break;
		struct merge_src t = m->heap[i];
		m->heap[i] = m->heap[p];
		m->heap[p] = t;
		i = p;
	}
}

static void sift_down(struct merge *m, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		if (l < m->nheap && less(&m->heap[l], &m->heap[best]))
			best = l;
		if (r < m->nheap && less(&m->heap[r], &m->heap[best]))
			best = r;
		if (best == i)
			break;
		struct merge_src t = m->heap[i];
		m->heap[i] = m->heap[best];
		m->heap[best] = t;
		i = best;
	}
}

/* Open chunk `next` and push it when it has packets. */
static void open_next(struct merge *m)
{
	const struct chunk_ref *ref = &m->chunks[m->next++];
	struct chunk_view *v = NULL;
	uint64_t key;
	int err;

	err = store_chunk_open_flows(m->store, ref, m->flows, &v);
	if (err < 0) {
		m->chunks_failed++;
		if (m->on_error)
			m->on_error(m->ctx, ref, store_errmsg(m->store));
		return;
	}
	m->chunks_opened++;
	if (m->on_open)
		m->on_open(m->ctx, v);
	if (!chunk_view_peek_key(v, &key)) {
		store_chunk_close(m->store, v);
		return;
	}
	m->heap[m->nheap] = (struct merge_src){ .view = v, .key = key, .chunk_id = ref->id };
	sift_up(m, m->nheap++);
}

int merge_next(struct merge *m, struct ecap_packet *pkt)
{
	if (m->done) {
		store_chunk_close(m->store, m->done);
		m->done = NULL;
	}
	while (m->next < m->n && (m->nheap == 0 || m->chunks[m->next].first_ns <= m->heap[0].key))
		open_next(m);
	if (m->nheap == 0)
		return 0;

	struct merge_src *top = &m->heap[0];
	int r = chunk_view_next(top->view, pkt);
	if (r < 0) {
		/* The view was verified when it was opened; a failure now is not the data's. */
		return r;
	}
	uint64_t key;
	if (r == 1 && chunk_view_peek_key(top->view, &key)) {
		top->key = key;
		sift_down(m, 0);
	} else {
		/* Exhausted: keep it open until the caller is done with *pkt. */
		m->done = top->view;
		m->heap[0] = m->heap[--m->nheap];
		if (m->nheap)
			sift_down(m, 0);
	}
	if (r == 0)
		return merge_next(m, pkt);
	return 1;
}

void merge_free(struct merge *m)
{
	if (m->done)
		store_chunk_close(m->store, m->done);
	for (size_t i = 0; i < m->nheap; i++)
		store_chunk_close(m->store, m->heap[i].view);
	free(m->heap);
	memset(m, 0, sizeof(*m));
}
