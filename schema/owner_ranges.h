/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * owner_ranges.h - a chunk's flow owners gathered in memory before they reach the index's
 * owner_flows table (index.sql): one entry per owner (pid, start, uid, comm, netns) with the
 * lowest and highest flow id it owns in the chunk, so that a process owning many flows of a
 * chunk costs one row write, not one per flow.
 */
#ifndef ECAP_OWNER_RANGES_H
#define ECAP_OWNER_RANGES_H

#include <stddef.h>
#include <stdint.h>

#include "records.h"

struct owner_range {
	uint32_t pid, uid, netns;
	uint64_t start_ns;
	char comm[ECAP_COMM_LEN]; /* NUL-terminated, zero-filled after the NUL */
	uint64_t first_flow, last_flow;
};

struct owner_ranges {
	struct owner_range *v;
	size_t n, cap;
};

/* Notes that p (a valid owner) owns flow_id. 0 or -ENOMEM. */
int owner_ranges_add(struct owner_ranges *o, uint64_t flow_id, const struct ecap_proc *p);
/* Sorts the entries by owner and merges those of one owner into one: afterwards
 * o->v[0..o->n) hold each owner once, with its range. */
void owner_ranges_merge(struct owner_ranges *o);
/* Empties the list, keeping its memory. */
void owner_ranges_reset(struct owner_ranges *o);
void owner_ranges_free(struct owner_ranges *o);

#endif
