/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nat_sightings.h - NAT links under `ecap-rec -i any` (nat_sightings.c): a conntrack entry's
 * two flows are seen separately, each where a device sent one of its packets
 * (bpf/conntrack_any.bpf.c), and each names the network namespace whose recording point
 * records that packet. They are paired here: once both flows of an entry were seen, each in
 * exactly one namespace, the flow of the original tuple in its namespace and the flow of the
 * reply tuple (reversed) in its own are linked through pipeline_nat(). A flow seen in two
 * namespaces (a packet flooded to several bridge ports, recorded in each) is ambiguous: its
 * entry is never linked. Bounded: a table of NAT_SIGHTINGS_SLOTS entries, each forgotten
 * NAT_SIGHTING_TTL_NS after it was last seen (the kernel reports an active entry every second).
 */
#ifndef ECAP_NAT_SIGHTINGS_H
#define ECAP_NAT_SIGHTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline.h"

#define NAT_SIGHTINGS_SLOTS 4096u
#define NAT_SIGHTING_TTL_NS (10ull * 1000000000ull)

/* One report: the entry (e's tuples, protocol and kind; its pre_netns and post_netns are not
 * read), of namespace ct_netns; a packet of its flow before the translation (reply: it went
 * in the entry's reply direction) or after it, recorded in namespace rec_netns. */
struct nat_sighting {
	struct nat_entry e;
	uint32_t ct_netns;
	uint32_t rec_netns;
	bool reply;
};

struct nat_sightings_stats {
	uint64_t sightings;     /* reports taken */
	uint64_t linked;        /* entries whose flows were linked */
	uint64_t ambiguous;     /* entries left unlinked: a flow seen in two namespaces */
	uint64_t dropped;       /* reports with no free slot */
};

struct nat_sightings;

int nat_sightings_new(struct nat_sightings **out);
void nat_sightings_free(struct nat_sightings *t);
/* Takes one report, at wall time ts_ns (a malformed one, with a namespace 0, is ignored). */
void nat_sightings_add(struct nat_sightings *t, const struct nat_sighting *s, uint64_t ts_ns);
/* Links every entry both of whose flows were seen, each in one namespace, when the pipeline's
 * flow table holds both; forgets entries not seen since now_ns - NAT_SIGHTING_TTL_NS. Off the
 * per-packet path (once a second, and when recording stops). 0 or a negative errno (the
 * store's, from pipeline_nat). */
int nat_sightings_resolve(struct nat_sightings *t, struct pipeline *p, uint64_t now_ns);
void nat_sightings_get_stats(const struct nat_sightings *t, struct nat_sightings_stats *st);

#endif
