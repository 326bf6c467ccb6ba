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
	struct owner_range *r = chunkmeta_grow((void **)&o->v, &o->n, &o->cap, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->pid = r->pid_last = p->pid;
	r->group = false;
	r->uid = p->uid;
	r->netns = p->netns;
	r->start_ns = p->start_ns;
	/* zero-filled after the name (chunkmeta_grow zeroes the slot), so that two entries of
	 * one owner compare equal */
	memcpy(r->comm, p->comm, strnlen(p->comm, sizeof(r->comm) - 1));
	r->first_flow = r->last_flow = flow_id;
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

void owner_ranges_merge(struct owner_ranges *o)
{
	if (o->n < 2)
		return;
	qsort(o->v, o->n, sizeof(*o->v), cmp_owner);
	size_t out = 0;
	for (size_t i = 1; i < o->n; i++)
		if (!join(&o->v[out], &o->v[i]))
			o->v[++out] = o->v[i];
	o->n = out + 1;
}

void owner_ranges_reset(struct owner_ranges *o)
{
	o->n = 0;
}

void owner_ranges_free(struct owner_ranges *o)
{
	free(o->v);
	memset(o, 0, sizeof(*o));
}
