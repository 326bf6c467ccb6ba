// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_kfilter.c - PCAP-FILTER in the kernel (live_kfilter.h).
 *
 * For each interface slot and attach point (0 ingress, 1 egress), entry 2 * slot + point of
 * the prog array filter_progs gets a filter program made by cbpf_ebpf.c from the classic BPF
 * libpcap compiled for the interface's link type: on no match it counts the packet in
 * counters[slot].filtered and returns TC_ACT_UNSPEC; on a match it tail-calls entry
 * ECAP_FILTER_RECORD + point (ecap_in_record / ecap_eg_record), which records the packet; if
 * that tail call fails it counts a loss (copy_fail). Ethernet devices (and lo) see a VLAN tag
 * the device keeps outside the bytes at offset 12, as the recorded packets have it; raw-IP
 * devices have none.
 *
 * The prog array holds the programs: their fds are closed once they are in it, and they go
 * when the capture object is destroyed (or its last user goes away).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.skel.h"
#include "cbpf_ebpf.h"
#include "decode.h"
#include "ecap.h"
#include "live_internal.h"
#include "live_kfilter.h"


struct live_kfilter {
	struct capture_bpf *skel;
	struct live_filter *f;
	bool off;       /* every interface filters in user space */
	bool said;
	char why[256];  /* why off */
};

static void say(struct live_kfilter *k, const char *name, const char *why)
{
	if (k->said)
		return;
	k->said = true;
	fprintf(stderr, "ecap-rec: the filter runs in user space: %s%s%s\n", name ? name : "",
		name ? ": " : "", why);
}

static int put(struct live_kfilter *k, uint32_t index, int prog_fd)
{
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.filter_progs), &index, &prog_fd,
				BPF_ANY) < 0)
		return -errno;
	return 0;
}

int live_kfilter_new(struct capture_bpf *skel, struct live_filter *f, struct live_kfilter **out)
{
	struct live_kfilter *k = calloc(1, sizeof(*k));
	const char *env = getenv("ECAP_FILTER_USERSPACE");
	int rc;

	if (!k)
		return -ENOMEM;
	k->skel = skel;
	k->f = f;
	if (env && *env && strcmp(env, "0") != 0) {
		k->off = true;
		snprintf(k->why, sizeof(k->why), "ECAP_FILTER_USERSPACE=%s is set", env);
	} else {
		rc = put(k, ECAP_FILTER_RECORD, bpf_program__fd(skel->progs.ecap_in_record));
		if (rc == 0)
			rc = put(k, ECAP_FILTER_RECORD + 1,
				 bpf_program__fd(skel->progs.ecap_eg_record));
		if (rc < 0) {
			k->off = true;
			snprintf(k->why, sizeof(k->why), "cannot fill the filter program map: %s",
				 strerror(-rc));
		}
	}
	*out = k;
	return 0;
}

/* One filter program into entry 2 * slot + point. 0 or -errno with why. */
static int add_point(struct live_kfilter *k, const struct cbpf_insn *v, size_t n, uint32_t slot,
		     uint16_t linktype, int point, char *why, size_t whysz)
{
	struct cbpf_ebpf_opts o = {
		.vlan = linktype == DECODE_LT_ETHERNET ? CBPF_VLAN_SKB : CBPF_VLAN_NONE,
		.next_map_fd = bpf_map__fd(k->skel->maps.filter_progs),
		.next_index = ECAP_FILTER_RECORD + (uint32_t)point,
		.count_map_fd = bpf_map__fd(k->skel->maps.counters),
		.count_key = slot,
		.filtered_off = offsetof(struct ecap_counters, filtered),
		.lost_off = offsetof(struct ecap_counters, copy_fail),
	};
	int fd, rc;

	fd = cbpf_ebpf_load(v, n, &o, why, whysz);
	if (fd < 0)
		return fd;
	rc = put(k, 2 * slot + (uint32_t)point, fd);
	close(fd);
	if (rc < 0)
		snprintf(why, whysz, "cannot put the filter program into its map: %s",
			 strerror(-rc));
	return rc;
}

bool live_kfilter_add(struct live_kfilter *k, uint32_t slot, uint16_t linktype, bool egress_only,
		      const char *name)
{
	struct cbpf_insn *v = NULL;
	uint32_t idx;
	char why[256] = "";
	size_t n;
	int rc, p;

	if (k->off) {
		say(k, NULL, k->why);
		return false;
	}
	if (slot >= ECAP_IFACES_MAX)
		return false;
	rc = live_filter_cbpf(k->f, linktype, &v, &n);
	if (rc < 0) {
		snprintf(why, sizeof(why), "no classic BPF for link type %u: %s", linktype,
			 strerror(-rc));
	} else {
		for (p = egress_only ? 1 : 0; p <= 1 && rc == 0; p++)
			rc = add_point(k, v, n, slot, linktype, p, why, sizeof(why));
	}
	free(v);
	if (rc == 0)
		return true;
	/* not half in the kernel: both entries emptied */
	for (p = 0; p <= 1; p++) {
		idx = 2 * slot + (uint32_t)p;
		bpf_map_delete_elem(bpf_map__fd(k->skel->maps.filter_progs), &idx);
	}
	say(k, name, why[0] ? why : strerror(-rc));
	return false;
}

void live_kfilter_free(struct live_kfilter *k)
{
	free(k);
}
