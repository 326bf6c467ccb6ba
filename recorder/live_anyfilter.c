// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_anyfilter.c - PCAP-FILTER in the kernel for -i any (live_anyfilter.h).
 *
 * Entries of capture_any.bpf.c's prog array any_filter: ECAP_ANY_FILTER + point gets the
 * filter program of the point (0 ingress: tp_btf/netif_receive_skb, 1 egress:
 * tp_btf/net_dev_queue), loaded as a tracing program of that tracepoint so that the tail
 * call between them is allowed; ECAP_ANY_RECORD + point the skeleton's record program. The
 * filter counts a packet it rejects in any_counters.filtered; a match whose tail call fails
 * counts as lost. The prog array holds the programs once their fds are closed.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "capture_any.skel.h"
#include "cbpf_ebpf.h"
#include "decode.h"
#include "ecap.h"
#include "live_anyfilter.h"
#include "live_internal.h"

struct live_anyfilter {
	struct capture_any_bpf *skel;
};

static int put(struct live_anyfilter *k, uint32_t index, int prog_fd)
{
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.any_filter), &index, &prog_fd,
				BPF_ANY) < 0)
		return -errno;
	return 0;
}

static const char *const tracepoint[2] = { "btf_trace_netif_receive_skb",
					   "btf_trace_net_dev_queue" };

static int load_point(struct live_anyfilter *k, const struct cbpf_insn *v, size_t n,
		      const struct btf *vmlinux, uint32_t point, char *why, size_t whysz)
{
	struct cbpf_ebpf_opts o = {
		.vlan = CBPF_VLAN_NONE,
		.src = CBPF_SRC_HEAD,
		.head_map_fd = bpf_map__fd(k->skel->maps.any_head),
		.head_key = point,
		.next_map_fd = bpf_map__fd(k->skel->maps.any_filter),
		.next_index = ECAP_ANY_RECORD + point,
		.count_map_fd = bpf_map__fd(k->skel->maps.any_counters),
		.count_key = 0,
		.filtered_off = offsetof(struct ecap_any_counters, filtered),
		.lost_off = offsetof(struct ecap_any_counters, lost),
	};
	int id, fd, rc;

	id = btf__find_by_name_kind(vmlinux, tracepoint[point], BTF_KIND_TYPEDEF);
	if (id < 0) {
		snprintf(why, whysz, "no %s in the kernel's BTF", tracepoint[point]);
		return id;
	}
	o.attach_btf_id = (uint32_t)id;
	fd = cbpf_ebpf_load(v, n, &o, why, whysz);
	if (fd < 0)
		return fd;
	rc = put(k, ECAP_ANY_FILTER + point, fd);
	close(fd);
	if (rc < 0)
		snprintf(why, whysz, "cannot put the filter program into its map: %s",
			 strerror(-rc));
	return rc;
}

int live_anyfilter_new(struct capture_any_bpf *skel, struct live_filter *f,
		       struct live_anyfilter **out)
{
	struct live_anyfilter *k = calloc(1, sizeof(*k));
	const char *env = getenv("ECAP_FILTER_USERSPACE");
	struct cbpf_insn *v = NULL;
	struct btf *vmlinux = NULL;
	char why[256] = "";
	uint32_t idx, p;
	size_t n = 0;
	int rc;

	if (!k)
		return -ENOMEM;
	k->skel = skel;
	*out = k;
	if (env && *env && strcmp(env, "0") != 0) {
		fprintf(stderr, "ecap-rec: the filter runs in user space: ECAP_FILTER_USERSPACE=%s "
			"is set\n", env);
		return 0;
	}
	rc = put(k, ECAP_ANY_RECORD, bpf_program__fd(skel->progs.ecap_any_in_record));
	if (rc == 0)
		rc = put(k, ECAP_ANY_RECORD + 1, bpf_program__fd(skel->progs.ecap_any_eg_record));
	if (rc < 0)
		snprintf(why, sizeof(why), "cannot fill the filter program map: %s",
			 strerror(-rc));
	if (rc == 0) {
		rc = live_filter_prepare(f, DECODE_LT_ETHERNET);
		if (rc == 0)
			rc = live_filter_cbpf(f, DECODE_LT_ETHERNET, &v, &n);
		if (rc < 0)
			snprintf(why, sizeof(why), "no classic BPF for Ethernet: %s",
				 strerror(-rc));
	}
	if (rc == 0) {
		vmlinux = btf__load_vmlinux_btf();
		if (!vmlinux) {
			rc = -errno;
			snprintf(why, sizeof(why), "cannot read the kernel's BTF: %s",
				 strerror(-rc));
		}
	}
	for (p = 0; p < 2 && rc == 0; p++)
		rc = load_point(k, v, n, vmlinux, p, why, sizeof(why));
	btf__free(vmlinux);
	free(v);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		for (p = 0; p < 2; p++) { /* not half in the kernel */
			idx = ECAP_ANY_FILTER + p;
			bpf_map_delete_elem(bpf_map__fd(skel->maps.any_filter), &idx);
		}
		fprintf(stderr, "ecap-rec: the filter runs in user space: %s\n",
			why[0] ? why : strerror(-rc));
	}
	return 0;
}

void live_anyfilter_free(struct live_anyfilter *k)
{
	free(k);
}
