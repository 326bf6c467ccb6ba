/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * owner_ranges.h - a chunk's flow owners gathered in memory before they reach the index's
 * owner_flows table (index.sql): one entry per group of owners and run of their flow ids, so
 * that a process owning many flows of a chunk costs one row write, not one per flow, and
 * (since index schema 11) processes of one name, uid and netns whose pids lie close together
 * and whose flows come one after another (a client started anew for each connection, as a
 * curl loop or a cron job does) cost one row together, not one each.
 */
#ifndef ECAP_OWNER_RANGES_H
#define ECAP_OWNER_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"

/* A run: flow ids of one owner in one chunk, no more than OWNER_RUN_GAP apart. A selection
 * by owner reads every flow_procs row in the owner's runs, so at most about 2 * OWNER_RUN_GAP
 * rows per flow it finds, however long the owner lived. */
#define OWNER_RUN_GAP 64
/* A group: owners of one comm, uid and netns whose pids lie within OWNER_PID_SPAN of the
 * group's lowest. A selection by pid X looks at the rows whose lowest pid lies in
 * X - OWNER_PID_SPAN .. X (owner_flows_by_pid). */
#define OWNER_PID_SPAN 128
#define OWNER_PID_SPAN_SQL "128" /* the same, in SQL text (index.sql's trigger says 128 too) */

struct owner_range {
	uint32_t pid, uid, netns;
	uint32_t pid_last;        /* the group's highest pid (pid: its lowest) */
	bool group;               /* more than one process (pid, start): start_ns is 0 */
	uint64_t start_ns;
	char comm[ECAP_COMM_LEN]; /* NUL-terminated, zero-filled after the NUL */
	uint64_t first_flow, last_flow;
};

#define OWNER_RANGES_HINTS 16

struct owner_ranges {
	struct owner_range *v;
	size_t n, cap;
	uint32_t hint[OWNER_RANGES_HINTS]; /* by pid % 16: its latest entry + 1, 0 none */
	struct owner_range *tmp; /* owner_ranges_merge's room to merge runs */
	size_t tmp_cap;
};

/* Notes that p (a valid owner) owns flow_id: a new entry, or the flow added to p's latest
 * entry when the flow follows its run (flows added in id order: an owner of flow after flow
 * keeps one entry). 0 or -ENOMEM. */
int owner_ranges_add(struct owner_ranges *o, uint64_t flow_id, const struct ecap_proc *p);
/* Sorts the entries by comm, uid, netns, pid, start and flow id and merges each into the run
 * before it when its flow id is no more than OWNER_RUN_GAP from the run's and its pid stays
 * within OWNER_PID_SPAN of the run's lowest: afterwards o->v[0..o->n) hold the runs, each of
 * one owner or (group) of several, and an owner's flows lie in no more runs than they would
 * without groups. */
void owner_ranges_merge(struct owner_ranges *o);
/* Empties the list, keeping its memory. */
void owner_ranges_reset(struct owner_ranges *o);
void owner_ranges_free(struct owner_ranges *o);

#endif
