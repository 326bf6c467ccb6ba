// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner_ranges.c - a chunk's flow owners, one entry per group of owners and run of their
 * flow ids (owner_ranges.h): appended per flow owner, then sorted and merged once per chunk.
 */
#include "owner_ranges.h"

#include "chunkmeta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int owner_ranges_add(struct owner_ranges *o, uint64_t flow_id, const struct ecap_proc *p)
{
	char comm[ECAP_COMM_LEN] = { 0 }; /* as an entry holds it: zero-filled after the NUL */
	memcpy(comm, p->comm, strnlen(p->comm, sizeof(comm) - 1));
	/* The latest entry of a pid (o->hint, by the pid's low bits), when it is this process's
	 * and the flow follows its run within OWNER_RUN_GAP, takes the flow: what
	 * owner_ranges_merge would make of the two (one process, flows one after the other),
	 * without an entry more to sort. A server in every flow of a chunk keeps one entry. */
	uint32_t *hint = &o->hint[p->pid % OWNER_RANGES_HINTS];
	if (*hint && *hint <= o->n) {
		struct owner_range *e = &o->v[*hint - 1];
		if (e->pid == p->pid && e->start_ns == p->start_ns && e->uid == p->uid &&
		    e->netns == p->netns && !memcmp(e->comm, comm, sizeof(comm)) &&
		    flow_id >= e->last_flow && flow_id - e->last_flow <= OWNER_RUN_GAP) {
			e->last_flow = flow_id;
			return 0;
		}
	}
	struct owner_range *r = chunkmeta_grow((void **)&o->v, &o->n, &o->cap, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->pid = r->pid_last = p->pid;
	r->group = false;
	r->uid = p->uid;
	r->netns = p->netns;
	r->start_ns = p->start_ns;
	memcpy(r->comm, comm, sizeof(comm));
	r->first_flow = r->last_flow = flow_id;
	/* a pid's entry of more than one flow keeps its hint (a server's, against the curls
	 * whose pids share its low bits) */
	if (!*hint || *hint > o->n - 1 || o->v[*hint - 1].first_flow == o->v[*hint - 1].last_flow)
		*hint = o->n <= UINT32_MAX ? (uint32_t)o->n : 0;
	return 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

/* 0: one group (comm, uid, netns); else their order */
static int group_order(const struct owner_range *x, const struct owner_range *y)
{
	int c = memcmp(x->comm, y->comm, sizeof(x->comm));
	if (!c)
		c = cmp_u64(x->uid, y->uid);
	return c ? c : cmp_u64(x->netns, y->netns);
}

/* By group, then process, then flow id: each owner's entries one after another in the order of
 * its flows (so that they make its runs, as a row of one process did before groups), and a
 * group's owners in the order of their pids. Sorted by flow first, two owners of one group
 * whose pids are too far apart to share a row (a server and its client of one name, as
 * `openssl s_server` and `openssl s_time`) would alternate, and each of their flows would
 * make a row of its own. */
static int cmp_owner(const void *a, const void *b)
{
	const struct owner_range *x = a, *y = b;
	int c = group_order(x, y);
	if (!c)
		c = cmp_u64(x->pid, y->pid);
	if (!c)
		c = cmp_u64(x->start_ns, y->start_ns);
	return c ? c : cmp_u64(x->first_flow, y->first_flow);
}

/* Entry e (one owner's, as owner_ranges_add made it) into run r, the last one made, when both
 * are of one group (comm, uid, netns), e's flow lies within OWNER_RUN_GAP of the run's flows
 * and its pid keeps the run within OWNER_PID_SPAN of its lowest: whether it did. A run of one
 * process that takes another's entry becomes a group. In cmp_owner's order e's pid is at
 * least the run's highest, and its flow may lie below the run's first (another process). */
static bool join(struct owner_range *r, const struct owner_range *e)
{
	if (group_order(r, e) || e->pid - r->pid > OWNER_PID_SPAN ||
	    e->first_flow > r->last_flow + OWNER_RUN_GAP ||
	    e->last_flow + OWNER_RUN_GAP < r->first_flow)
		return false;
	if (!r->group && (e->pid != r->pid || e->start_ns != r->start_ns)) {
		r->group = true;
		r->start_ns = 0;
	}
	r->pid_last = e->pid;
	if (e->first_flow < r->first_flow)
		r->first_flow = e->first_flow;
	if (e->last_flow > r->last_flow)
		r->last_flow = e->last_flow;
	return true;
}

/* Ascending runs that sort_entries merges rather than sorts the entries: more, and they are
 * sorted (random owners). */
#define MERGE_RUNS 16

/* o's entries in cmp_owner's order. They come in the order of their flows, so most often in
 * a few ascending runs (a curl loop's clients, each after the one before, and a server's
 * entry or two, owner_ranges_add): those are merged pairwise through o->tmp, a pass per
 * doubling; more runs, or no memory for the merge, are sorted. */
static void sort_entries(struct owner_ranges *o)
{
	size_t cut[MERGE_RUNS + 1], runs = 1;
	cut[0] = 0;
	for (size_t i = 1; i < o->n; i++) {
		if (cmp_owner(&o->v[i - 1], &o->v[i]) <= 0)
			continue;
		if (runs == MERGE_RUNS) {
			qsort(o->v, o->n, sizeof(*o->v), cmp_owner);
			return;
		}
		cut[runs++] = i;
	}
	if (runs == 1)
		return;
	if (o->n > o->tmp_cap) {
		struct owner_range *t = realloc(o->tmp, o->n * sizeof(*t));
		if (!t) {
			qsort(o->v, o->n, sizeof(*o->v), cmp_owner);
			return;
		}
		o->tmp = t;
		o->tmp_cap = o->n;
	}
	cut[runs] = o->n;
	struct owner_range *from = o->v, *to = o->tmp;
	while (runs > 1) {
		size_t out = 0;
		for (size_t r = 0; r < runs; r += 2) {
			size_t a = cut[r], a_end = cut[r + 1], k = a;
			size_t b = a_end, b_end = r + 2 <= runs ? cut[r + 2] : a_end;
			while (a < a_end && b < b_end)
				to[k++] = cmp_owner(&from[b], &from[a]) < 0 ? from[b++] : from[a++];
			while (a < a_end)
				to[k++] = from[a++];
			while (b < b_end)
				to[k++] = from[b++];
			cut[out++] = cut[r];
		}
		cut[out] = o->n;
		runs = out;
		struct owner_range *t = from;
		from = to;
		to = t;
	}
	if (from != o->v)
		memcpy(o->v, from, o->n * sizeof(*o->v));
}

void owner_ranges_merge(struct owner_ranges *o)
{
	if (o->n < 2)
		return;
	sort_entries(o);
	size_t out = 0;
	for (size_t i = 1; i < o->n; i++)
		if (!join(&o->v[out], &o->v[i]))
			o->v[++out] = o->v[i];
	o->n = out + 1;
}

void owner_ranges_reset(struct owner_ranges *o)
{
	o->n = 0;
	memset(o->hint, 0, sizeof(o->hint));
}

void owner_ranges_free(struct owner_ranges *o)
{
	free(o->v);
	free(o->tmp);
	memset(o, 0, sizeof(*o));
}
