/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_capture_impl.h - the inside of struct live_capture, shared by live_capture.c (the
 * programs, the packet path, counters), live_iface.c (the interfaces: their slots, map
 * entries and store records, attaching, and following them as they go and come back) and
 * live_conntrack.c (the conntrack reader's program and records).
 */
#ifndef ECAP_LIVE_CAPTURE_IMPL_H
#define ECAP_LIVE_CAPTURE_IMPL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "ecap.h"
#include "live_internal.h"
#include "ring_pos.h"
#include "ring_reader.h"

#define ARPHRD_ETHER_NR 1
#define ARPHRD_LOOPBACK_NR 772
#define ARPHRD_NONE_NR 65534

struct live_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	uint16_t linktype;
	uint32_t store_id;
	uint32_t netns;         /* inode of the device's network namespace */
	bool is_lo;
	bool hook_created;
	bool attached[2];       /* enum live_tc_point */
	bool gone;              /* the device went away: nothing attached, no map entry */
	int refused_ifindex;    /* returned under this index but could not be attached */
	uint64_t lost_reported; /* loss counter total already given to pipeline_drops() */
	uint64_t seen, lost;    /* last read of the kernel counters */
	uint64_t kfiltered;     /* of those, skipped by the filter in the kernel */
	bool kernel_filter;     /* PCAP-FILTER runs in the kernel here (live_kfilter.h) */
};

struct live_any;

struct live_capture {
	struct live_any *any;         /* -i any (live_any.h): none of the TC parts below */
	struct pipeline *p;
	struct live_udp *udp;
	const struct live_clock *clock;
	struct capture_bpf *skel;
	struct ring_pos pos;          /* the packets ring's positions (the long sleep) */
	struct ring_reader reader;    /* the packets ring's records (not open: libbpf's reader) */
	uint64_t unframed_said;       /* reader.unframed already said on stderr */
	struct conntrack_bpf *ct_skel; /* NULL: not loaded (live_conntrack.c says why) */
	struct live_filter *filter;
	struct live_kfilter *kfilter; /* with filter: the kernel side */
	struct live_iface ifs[ECAP_IFACES_MAX];
	size_t n;
	struct ecap_counters *percpu; /* scratch for reading per-CPU counters */
	int ncpu;
	struct store *store;
	int link_fd;                  /* rtnetlink, link and TC groups; -1: checked by the tick */
	bool tc_notified;             /* link_fd hears the TC group: the tick's check is slow */
	uint64_t losses_read;         /* the program's losses at the last read of the counters */
	uint64_t counters_read_ns;    /* when the counters were last read (monotonic) */
	uint64_t tc_checked_ns;       /* the tick's last check of our filters (monotonic) */
	int tc_nl;                    /* rtnetlink, the filter check's questions (live_iface.c) */
	uint32_t tc_seq;              /* its last request's number */
	uint32_t snaplen;
	uint32_t netns;               /* inode of the recorder's network namespace */
	const char *filter_text;
	uint64_t packets, bytes, filtered, bad;
	uint64_t ct_records;          /* NAT and peer socket records taken */
};

/* live_conntrack.c: after the capture skeleton is loaded, the reader into its prog array
 * (a refusal is said on stderr and leaves it out: only -ENOMEM-like failures return <0). */
int live_conntrack_load(struct live_capture *c, bool quiet);
void live_conntrack_free(struct live_capture *c);
/* A record of the reader (ev->dir ECAP_REC_*), already checked against the ring record's size
 * and the interface's slot; body holds ev->caplen bytes. */
int live_conntrack_record(struct live_capture *c, const struct live_iface *li,
			  const struct ecap_pkt_event *ev, const uint8_t *body);

/* live_iface.c */
int live_iface_setup(struct live_capture *c, const char *name, struct store *s);
int live_iface_attach_all(struct live_capture *c);
void live_iface_detach(struct live_iface *li);
/* Attaches again, and says so, a filter of li's that another program took off its device. */
void live_iface_check_attached(struct live_capture *c, struct live_iface *li);
/* An rtnetlink socket on the link and TC groups (-1 when it cannot be had); *tc: it hears
 * the TC group. */
int live_iface_link_socket(bool *tc);
/* Look every -i name up again: detach what went away, attach what came back. */
void live_iface_relink(struct live_capture *c);
/* live_tc_remove_stale()'s question: does this recorder attach to ifindex? */
bool live_iface_claim_hook(int ifindex, void *ctx);

#endif
