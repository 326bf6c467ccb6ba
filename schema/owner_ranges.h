/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * owner_ranges.h - a chunk's flow owners gathered in memory before they reach the index's
 * owner_flows table (index.sql): one entry per owner (pid, start, uid, comm, netns) and run of
 * its flow ids, so that a process owning many flows of a chunk costs one row write, not one
 * per flow.
 */
#ifndef ECAP_OWNER_RANGES_H
#define ECAP_OWNER_RANGES_H

#include <stddef.h>
#include <stdint.h>

#include "records.h"

/* A run: flow ids of one owner in one chunk, no more than OWNER_RUN_GAP apart. A selection
 * by owner reads every flow_procs row in the owner's runs, so at most about 2 * OWNER_RUN_GAP
 * rows per flow it finds, however long the owner lived. */
#define OWNER_RUN_GAP 64

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
/* Sorts the entries by owner and flow id and merges those of one owner whose flow ids are
 * no more than OWNER_RUN_GAP apart: afterwards o->v[0..o->n) hold each owner's runs. */
void owner_ranges_merge(struct owner_ranges *o);
/* Empties the list, keeping its memory. */
void owner_ranges_reset(struct owner_ranges *o);
void owner_ranges_free(struct owner_ranges *o);

#endif
