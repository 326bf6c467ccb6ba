/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_any_nat.h - NAT links under `ecap-rec -i any` (live_any_nat.c): the conntrack reader
 * bpf/conntrack_any.bpf.c beside capture_any.bpf.c, its records, and the pairing of each
 * entry's two flows (nat_sightings.h). Driven by live_any.c.
 */
#ifndef ECAP_LIVE_ANY_NAT_H
#define ECAP_LIVE_ANY_NAT_H

#include <stddef.h>
#include <stdint.h>

#include "ecap.h"
#include "nat_sightings.h"

struct capture_any_bpf;
struct live_any_nat;

/* After capture_any is loaded: the reader into its prog array. *out is NULL when the reader
 * is left out or cannot be loaded here (stderr says so once, capture goes on without NAT
 * links); <0 only when memory runs out. */
int live_any_nat_load(struct capture_any_bpf *any, uint32_t recorder_netns, bool quiet,
		      struct live_any_nat **out);
void live_any_nat_free(struct live_any_nat *n);
/* A record of kind ECAP_REC_NAT: its header and the size bytes after it, at wall time ts.
 * false when it is malformed (the caller counts it). */
bool live_any_nat_record(struct live_any_nat *n, const struct ecap_any_event *ev,
			 const uint8_t *body, size_t size, uint64_t ts_wall_ns);
/* Links what can be linked, forgets what is old (nat_sightings_resolve). */
int live_any_nat_tick(struct live_any_nat *n, struct pipeline *p, uint64_t wall_ns);
void live_any_nat_get_stats(const struct live_any_nat *n, struct nat_sightings_stats *st);

#endif
