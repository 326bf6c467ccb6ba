/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_kfilter.h - PCAP-FILTER in the kernel for the live source: the classic BPF of each
 * interface (live_filter.c) translated by cbpf_ebpf.c and put into the capture programs'
 * "filter_progs" map (bpf/capture.bpf.c), where ecap_ingress/ecap_egress tail-call it. An
 * interface whose filter cannot run in the kernel keeps the user-space filter; the first
 * such case says why on stderr. ECAP_FILTER_USERSPACE=1 in the environment forces user space
 * (for comparisons).
 */
#ifndef ECAP_LIVE_KFILTER_H
#define ECAP_LIVE_KFILTER_H

#include <stdbool.h>
#include <stdint.h>

struct capture_bpf;
struct live_filter;
struct live_kfilter;

/* After the skeleton is loaded: puts the record programs into filter_progs. -errno only
 * when out of memory; a kernel that refuses leaves every interface to user space. */
int live_kfilter_new(struct capture_bpf *skel, struct live_filter *f, struct live_kfilter **out);
/*
 * The filter of interface slot (linktype prepared in f, name for messages) into the kernel,
 * for egress and, unless egress_only, ingress. True when the kernel filters this interface;
 * false when user space must (said on stderr the first time).
 */
bool live_kfilter_add(struct live_kfilter *k, uint32_t slot, uint16_t linktype, bool egress_only,
		      const char *name);
void live_kfilter_free(struct live_kfilter *k);

#endif
