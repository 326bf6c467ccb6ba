/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attrib.h - per-flow process attribution for export: a hash map from flow id to the flow's
 * key and its two ready-made packet comments (one for each side as the packet's local
 * process). Filled from store_walk_flows() up front or from store_get_flow() on a miss, so
 * the store is asked once per flow, never per packet.
 */
#ifndef ECAP_EXPORT_ATTRIB_H
#define ECAP_EXPORT_ATTRIB_H

#include <stddef.h>
#include <stdint.h>

#include "records.h"
#include "store.h"

struct attrib_entry {
	uint64_t flow_id;          /* 0: empty slot */
	struct flow_key key;
	char *comment[2];          /* by primary side; NULL: no comment */
	bool known[2];             /* proc[side].valid */
};

struct attrib {
	struct store *store;       /* for misses; NULL: a miss means "no attribution" */
	struct attrib_entry *slots;
	size_t cap, n;             /* cap is a power of two, n <= cap / 2 */
	uint64_t lookups_failed;   /* flows the store did not know */
	struct ecap_container ctr; /* the container asked about last (ctr.id), if ctr_known */
	bool ctr_known;
	char *text;                /* a comment being made */
};

int attrib_init(struct attrib *a, struct store *store);
void attrib_free(struct attrib *a);
/* Adds (or replaces) a flow's entry. */
int attrib_put(struct attrib *a, const struct flow_record *rec);
/* The entry for a flow id (loading it from the store on a miss); NULL when unknown. */
const struct attrib_entry *attrib_get(struct attrib *a, uint64_t flow_id);
/*
 * The comment for a packet of an entry's flow: `sender` is the side that sent it (-1:
 * unknown), flags its epb_flags. NULL: no comment.
 */
const char *attrib_comment(const struct attrib_entry *e, int sender, uint32_t flags);

#endif
