/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * capture_maps.h - the maps that capture.bpf.c makes and conntrack.bpf.c shares with it (user
 * space hands capture's map fds to the conntrack object before it is loaded): the "packets"
 * ring (struct ecap_pkt_event records, ecap.h) and the per-interface settings "ifaces".
 * Included by BPF programs only, after vmlinux.h, bpf_helpers.h and ecap.h.
 */
#ifndef ECAP_BPF_CAPTURE_MAPS_H
#define ECAP_BPF_CAPTURE_MAPS_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);   /* resized by user space before load */
} packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ECAP_IFSLOTS);
	__type(key, __u32);
	__type(value, struct ecap_iface_cfg);
} ifaces SEC(".maps");

#endif
