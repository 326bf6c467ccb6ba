// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner_ranges.c - a chunk's flow owners, one entry per owner and run of its flow ids
 * (owner_ranges.h): appended per flow owner, then sorted and merged once per chunk.
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
	r->pid = p->pid;
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

/* 0: one owner; else the order of two owners */
static int owner_order(const struct owner_range *x, const struct owner_range *y)
{
	int c = cmp_u64(x->pid, y->pid);
	if (!c)
		c = cmp_u64(x->start_ns, y->start_ns);
	if (!c)
		c = cmp_u64(x->uid, y->uid);
	if (!c)
		c = cmp_u64(x->netns, y->netns);
	return c ? c : memcmp(x->comm, y->comm, sizeof(x->comm));
}

/* by owner, then flow id */
static int cmp_owner(const void *a, const void *b)
{
	const struct owner_range *x = a, *y = b;
	int c = owner_order(x, y);
	return c ? c : cmp_u64(x->first_flow, y->first_flow);
}

void owner_ranges_merge(struct owner_ranges *o)
{
	if (o->n < 2)
		return;
	qsort(o->v, o->n, sizeof(*o->v), cmp_owner);
	size_t out = 0;
	for (size_t i = 1; i < o->n; i++) {
		struct owner_range *last = &o->v[out];
		if (!owner_order(last, &o->v[i]) &&
		    o->v[i].first_flow <= last->last_flow + OWNER_RUN_GAP) {
			if (o->v[i].last_flow > last->last_flow)
				last->last_flow = o->v[i].last_flow;
		} else {
			o->v[++out] = o->v[i];
		}
	}
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
