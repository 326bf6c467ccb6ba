/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_anyfilter.h - PCAP-FILTER in the kernel for `ecap-rec -i any` (live_anyfilter.c): the
 * classic BPF libpcap compiles for Ethernet, translated by cbpf_ebpf.c into two tracing
 * programs (one per tracepoint) that read the packet's head from capture_any.bpf.c's
 * "any_head" and that its programs tail-call. It only skips packets that surely do not
 * match: user space applies the filter to every recorded packet (a filter may read past the
 * head, and raw-IP devices are not filtered in the kernel). A kernel that refuses leaves it
 * all to user space, said once on stderr. ECAP_FILTER_USERSPACE=1 forces that.
 */
#ifndef ECAP_LIVE_ANYFILTER_H
#define ECAP_LIVE_ANYFILTER_H

struct capture_any_bpf;
struct live_filter;
struct live_anyfilter;

/* After the skeleton is loaded. -errno only when out of memory. */
int live_anyfilter_new(struct capture_any_bpf *skel, struct live_filter *f,
		       struct live_anyfilter **out);
void live_anyfilter_free(struct live_anyfilter *k);

#endif
