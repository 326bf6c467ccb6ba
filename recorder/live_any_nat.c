// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_any_nat.c - NAT links under `ecap-rec -i any` (live_any_nat.h).
 *
 * The reader (bpf/conntrack_any.bpf.c) is its own BPF object: it shares capture_any's perf
 * event array "any_packets" (its fd handed over before load) and sits in entry ECAP_ANY_NAT
 * of capture_any's prog array. When it cannot be loaded (a kernel without bpf_rdonly_cast,
 * before Linux 6.2; ECAP_NO_CONNTRACK=1 in the environment to measure its cost) the entry
 * stays empty and -i any records as before, without NAT links; one line says so.
 *
 * Record (checked against its size before use): header struct ecap_any_event with dir
 * ECAP_REC_NAT, netns the namespace that records the packet the entry was read from, then
 * struct ecap_nat_info -> nat_sightings_add(); nat_sightings_resolve() once a second.
 */
#include "live_any_nat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture_any.skel.h"
#include "conntrack_any.skel.h"
#include "live_internal.h"

struct live_any_nat {
	struct conntrack_any_bpf *skel;
	struct nat_sightings *sightings;
};

int live_any_nat_load(struct capture_any_bpf *any, uint32_t recorder_netns, bool quiet,
		      struct live_any_nat **out)
{
	struct live_any_nat *n;
	uint32_t index = ECAP_ANY_NAT;
	int rc, fd;

	*out = NULL;
	if (live_conntrack_off(quiet))
		return 0;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	rc = nat_sightings_new(&n->sightings);
	if (rc < 0) {
		free(n);
		return rc;
	}
	n->skel = conntrack_any_bpf__open();
	if (!n->skel) {
		rc = -errno;
		goto refused;
	}
	n->skel->rodata->recorder_netns = recorder_netns;
	n->skel->rodata->nf_conn_btf_id = live_nf_conn_btf_id(quiet);
	if (!n->skel->rodata->nf_conn_btf_id) {
		live_any_nat_free(n);
		return 0;
	}
	rc = bpf_map__reuse_fd(n->skel->maps.any_packets, bpf_map__fd(any->maps.any_packets));
	if (rc == 0) {
		live_libbpf_mute(true); /* the refusal is said below, in one line */
		rc = conntrack_any_bpf__load(n->skel);
		live_libbpf_mute(false);
	}
	if (rc == 0) {
		fd = bpf_program__fd(n->skel->progs.ecap_any_nat);
		if (bpf_map_update_elem(bpf_map__fd(any->maps.any_filter), &index, &fd,
					BPF_ANY) < 0)
			rc = -errno;
	}
	if (rc < 0)
		goto refused;
	*out = n;
	return 0;
refused:
	fprintf(stderr, "ecap-rec: the -i any conntrack reader cannot be loaded here (%s): "
		"flows before and after NAT are not linked\n", strerror(-rc));
	live_any_nat_free(n);
	return 0;
}

void live_any_nat_free(struct live_any_nat *n)
{
	if (!n)
		return;
	conntrack_any_bpf__destroy(n->skel);
	nat_sightings_free(n->sightings);
	free(n);
}

bool live_any_nat_record(struct live_any_nat *n, const struct ecap_any_event *ev,
			 const uint8_t *body, size_t size, uint64_t ts_wall_ns)
{
	struct ecap_nat_info ni;
	struct nat_sighting s;

	if (ev->caplen != sizeof(ni) || size < sizeof(ni) || !ev->netns)
		return false;
	memcpy(&ni, body, sizeof(ni));
	if (!ni.netns || (ni.family != 4 && ni.family != 6) || ni.reply > 1 ||
	    !(ni.status & (ECAP_NAT_SRC | ECAP_NAT_DST)))
		return false;
	memset(&s, 0, sizeof(s));
	s.ct_netns = ni.netns;
	s.rec_netns = ev->netns;
	s.reply = ni.reply;
	live_nat_entry(&s.e, &ni);
	nat_sightings_add(n->sightings, &s, ts_wall_ns);
	return true;
}

int live_any_nat_tick(struct live_any_nat *n, struct pipeline *p, uint64_t wall_ns)
{
	return nat_sightings_resolve(n->sightings, p, wall_ns);
}

void live_any_nat_get_stats(const struct live_any_nat *n, struct nat_sightings_stats *st)
{
	nat_sightings_get_stats(n->sightings, st);
}
