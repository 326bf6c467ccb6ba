/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_any.h - `ecap-rec -i any` (live_any.c, bpf/capture_any.bpf.c): every interface of every
 * network namespace, those that appear while recording included, each packet once, through
 * two tracepoints that see every device; part of live_capture.c's interface (live_internal.h),
 * which drives it instead of the TC programs when the interface is "any".
 */
#ifndef ECAP_LIVE_ANY_H
#define ECAP_LIVE_ANY_H

#include <stdint.h>

#include "live_internal.h"

struct live_any;

struct live_any_options {
	struct pipeline *p;
	struct store *s;
	struct live_udp *udp;
	const struct live_clock *clock;
	struct live_filter *filter;     /* PCAP-FILTER or NULL (owned by the caller) */
	const char *filter_text;
	uint32_t snaplen;               /* 0: whole packets (up to ECAP_ANY_CAP_MAX) */
	uint32_t ring_bytes;            /* each CPU's perf buffer (up to 8 CPUs; more share
					 * 8 times this) */
	uint32_t netns;                 /* inode of the recorder's network namespace */
};

/* Loads and attaches; says on stderr what failed. */
int live_any_start(const struct live_any_options *o, struct live_any **out);
/* The perf buffers' epoll fd: readable when records wait; live_any_consume takes them, in
 * timestamp order across the CPUs, but keeps the last 10 ms for the next call (all of them
 * after live_any_detach): call it at least every poll interval. */
int live_any_fd(const struct live_any *a);
int live_any_consume(struct live_any *a);
/* Once a second: the kernel's counters; losses to pipeline_drops() on interface "any". */
int live_any_tick(struct live_any *a, uint64_t wall_ns);
struct live_any_stats {
	uint64_t packets, bytes, filtered, filtered_kernel, kernel_seen, drops, bad_records;
	uint64_t interfaces;            /* store interfaces made (devices found) */
	uint64_t other_end;             /* packets left to another point of their path */
	uint64_t unsupported;           /* packets of devices of other link types */
	uint64_t out_of_order;          /* stored after a packet with a later timestamp (their
					 * record came more than the merge's hold late) */
};
void live_any_get_stats(const struct live_any *a, struct live_any_stats *st);
/* No new packets (safe after a partial start). */
void live_any_detach(struct live_any *a);
void live_any_free(struct live_any *a);

#endif
