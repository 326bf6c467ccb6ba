/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_internal.h - the parts of the live source (live.h) and how live.c drives them:
 *
 *   live_capture.c   TC programs (bpf/capture.bpf.c): interfaces, packets ring -> pipeline,
 *                    per-CPU loss counters -> pipeline_drops()
 *   live_tc.c        attaching and detaching TC filters, finding stale ones
 *   live_sockets.c   socket owners: tracepoints (bpf/sockets.bpf.c) and /proc at start
 *   live_udp.c       owners of unconnected UDP sockets, matched to packets by local end
 *   live_filter.c    the PCAP-FILTER expression, compiled with libpcap; applied in user
 *                    space where the kernel cannot run it
 *   live_kfilter.c   PCAP-FILTER in the kernel: cbpf_ebpf.c programs tail-called by the TC
 *                    programs (live_kfilter.h)
 *   live_any.c       -i any: every device of every namespace from two tracepoints
 *                    (bpf/capture_any.bpf.c), with live_anyfilter.c and netns_names.c
 *   live_conntrack.c NAT links and owners across a veth for -i NAME (bpf/conntrack.bpf.c)
 *   live_any_nat.c   NAT links for -i any (bpf/conntrack_any.bpf.c, nat_sightings.c)
 *
 * One thread runs all of it: live.c polls the ring buffers and calls each part's tick.
 */
#ifndef ECAP_LIVE_INTERNAL_H
#define ECAP_LIVE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "live.h"
#include "pipeline.h"

struct ring_buffer;

/* ---- clock: BPF timestamps are CLOCK_MONOTONIC; records carry wall clock ---------------- */

struct live_clock {
	int64_t mono_to_wall_ns;   /* wall = mono + this */
	int64_t boot_to_wall_ns;   /* wall = CLOCK_BOOTTIME + this (a process's start is in it) */
};

uint64_t live_clock_mono_ns(void);
/* Re-measures the offsets (bracketing CLOCK_REALTIME between two CLOCK_MONOTONIC reads, and
 * CLOCK_MONOTONIC between two CLOCK_BOOTTIME reads). */
void live_clock_update(struct live_clock *c);

static inline uint64_t live_clock_wall(const struct live_clock *c, uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + c->mono_to_wall_ns);
}

/* ---- ring buffers ---------------------------------------------------------------------- */

/*
 * Within a ring buffer's callback for the record at data (size bytes): the first `lines` cache
 * lines of the record that follows are asked for now, so that the bytes the kernel wrote on
 * another CPU travel while this record is handled rather than when the next is read. In a BPF
 * ring buffer each record is an 8-byte header and its data, records one after the other at
 * 8-byte alignment, and the data area is mapped twice in a row (a record is never cut by the
 * end of the ring): the next header is at data + size rounded up to 8. A hint only: it never
 * faults, and a record not yet written there costs a wasted load.
 */
static inline void live_ring_prefetch_next(const void *data, size_t size, unsigned lines)
{
	const char *next = (const char *)data + ((size + 7) & ~(size_t)7);

	for (unsigned i = 0; i < lines; i++)
		__builtin_prefetch(next + 64 * i);
}

/* ---- libbpf messages ------------------------------------------------------------------- */

/* Routes libbpf's warnings to stderr (debug output with ECAP_DEBUG=1 in the environment);
 * while muted (feature probes), nothing is printed. */
void live_libbpf_setup(void);
void live_libbpf_mute(bool mute);
/* ECAP_DEBUG=1: libbpf's debug output and one line per socket record on stderr. */
bool live_debug(void);

/* ---- conntrack readers (live_conntrack.c; -i any's: live_any_nat.c) --------------------- */

/* ECAP_NO_CONNTRACK set (to measure what the readers cost): they are left out, said once. */
bool live_conntrack_off(bool quiet);
/* The kernel's BTF id of struct nf_conn for the readers' nf_conn_btf_id; 0 (said once) when
 * there is none: NAT is not read. */
uint32_t live_nf_conn_btf_id(bool quiet);
struct ecap_nat_info;
/* e's protocol, kind and tuples from a reader's record (its namespaces left 0). */
void live_nat_entry(struct nat_entry *e, const struct ecap_nat_info *n);

/* ---- UDP owners by local end (live_udp.c) ---------------------------------------------- */

struct live_udp;

int live_udp_new(struct pipeline *p, const struct live_clock *clock, struct live_udp **out);
void live_udp_free(struct live_udp *u);
/* An unconnected UDP socket (remote zero): its network namespace (inode; 0: unknown, then it
 * is ignored), local address (zero: any) and port. */
int live_udp_bind(struct live_udp *u, uint32_t netns, const uint8_t addr[16], uint16_t port,
		  const struct ecap_proc *proc, uint64_t ts_wall_ns);
/* A connected UDP socket, reported to the pipeline by exact tuple: an unconnected socket
 * that had its local end is gone, and packets of this tuple need no lookup. */
void live_udp_connected(struct live_udp *u, const struct socket_owner *so);
/* A packet recorded in namespace netns, already handed to the pipeline: attributes its flow's
 * local UDP end(s) to sockets of that namespace. */
int live_udp_packet(struct live_udp *u, uint32_t netns, const struct decoded *d, int res,
		    uint64_t ts_ns);
uint64_t live_udp_attributed(const struct live_udp *u);

/* ---- one captured packet (live_capture.c; also -i any's) -------------------------------- */

/* A packet of store interface iface in namespace netns, captured at ts_mono_ns (BPF's
 * CLOCK_MONOTONIC), inbound or not: into the pipeline, then, when it is UDP with its ports,
 * its flow's UDP owners. Inline: once per packet, ten arguments. */
static inline int live_record_packet(struct pipeline *p, struct live_udp *u,
				     const struct live_clock *clock, uint32_t iface,
				     uint32_t netns, uint64_t ts_mono_ns, uint32_t caplen,
				     uint32_t len, bool inbound, const uint8_t *bytes)
{
	struct ecap_packet pkt = {
		.ts_ns = live_clock_wall(clock, ts_mono_ns),
		.iface = iface,
		.caplen = caplen,
		.origlen = len,
		.flags = inbound ? PKT_DIR_INBOUND : PKT_DIR_OUTBOUND,
		.data = bytes,
	};
	struct decoded d;
	int res, rc = pipeline_packet_decoded(p, &pkt, NULL, &d, &res);

	if (rc < 0)
		return rc;
	/* live_udp_packet's own first test, made here: most packets are not UDP */
	if (res != DECODE_L4 || d.proto != FLOW_PROTO_UDP)
		return 0;
	return live_udp_packet(u, netns, &d, res, pkt.ts_ns);
}

/* ---- sockets (live_sockets.c) --------------------------------------------------------- */

struct live_sockets;

/* Probes and attaches what works and says on stderr what is missing; when no tracepoint
 * works, only the /proc scan remains (live_sockets_ring_fd() is then -1). -errno only when
 * out of memory. */
struct ctr_meta;
/* ctr: where the containers of the processes learned are looked up (NULL: nowhere). */
int live_sockets_start(struct pipeline *p, struct live_udp *udp, const struct live_clock *clock,
		       struct ctr_meta *ctr, const char *filter, bool quiet,
		       struct live_sockets **out);
int live_sockets_ring_fd(const struct live_sockets *s);
int live_sockets_on_event(void *ctx, void *data, size_t size);
/* Reports the owners of the sockets that exist now (from /proc). Returns how many. */
int live_sockets_scan_proc(struct live_sockets *s);
/* A new program's name, learnt at its exec (live_tls_set_exe_fn()), for proc_owner.c. */
void live_sockets_exe_named(void *ctx, uint32_t dev, uint64_t ino, uint64_t mntns_id,
			    const char *path, uint64_t mono_ns);
/*
 * fn(ctx) takes the exec records that wait (live_tls_take_execs) before a socket record's
 * process is named. A process's exec record comes before its socket records, but in another
 * ring, read first in each drain: one submitted after that read (while /proc was rescanned,
 * or the reader was preempted) was read after the socket's record, and a process gone by
 * then (a short-lived client) was recorded without its executable. fn's negative errno ends
 * the drain, as the secrets ring's own reading would.
 */
void live_sockets_set_execs_first(struct live_sockets *s, int (*fn)(void *ctx), void *ctx);
struct live_sockets_stats {
	uint64_t events, lost, bad, from_proc;
	uint64_t out_of_scope;  /* sockets the filter leaves out, in the kernel and here */
};
void live_sockets_get_stats(const struct live_sockets *s, struct live_sockets_stats *st);
void live_sockets_stop(struct live_sockets *s);

/* ---- filter (live_filter.c) ------------------------------------------------------------- */

struct live_filter;

/* Compiles expr for each link type in use; -EINVAL with the message on stderr. */
int live_filter_new(const char *expr, uint32_t snaplen, struct live_filter **out);
/* Compiles for a link type (once); -EINVAL when the expression does not fit it. */
int live_filter_prepare(struct live_filter *f, uint16_t linktype);
bool live_filter_match(const struct live_filter *f, uint16_t linktype, const uint8_t *data,
		       uint32_t caplen, uint32_t len);
struct cbpf_insn;
/* The classic BPF compiled for linktype (prepared before), as a copy the caller frees. */
int live_filter_cbpf(const struct live_filter *f, uint16_t linktype, struct cbpf_insn **out,
		     size_t *n);
void live_filter_free(struct live_filter *f);

/* ---- TC filters (live_tc.c) ------------------------------------------------------------- */

enum live_tc_point {
	LIVE_TC_INGRESS = 0,
	LIVE_TC_EGRESS = 1,
};

/*
 * Removes, on every interface, the filters at our priority that run one of our programs
 * loaded by a recorder that no longer runs (kill -9). Returns how many were removed. Where
 * they were the last filters of the clsact qdisc, claim(ifindex, ctx) is asked: true when
 * this recorder attaches there and takes the qdisc over (it removes it at the end); else
 * the qdisc is removed now. claim may be NULL.
 */
int live_tc_remove_stale(bool (*claim)(int ifindex, void *ctx), void *ctx);
/* Creates the clsact qdisc if needed (*created says whether we did) and attaches prog_fd. */
int live_tc_attach(int ifindex, enum live_tc_point point, int prog_fd, bool *created);
int live_tc_detach(int ifindex, enum live_tc_point point);
/* Whether our filter is on the device's point: 1 yes, 0 no (nor, maybe, the qdisc), or -errno
 * (the device is gone, ...). */
int live_tc_present(int ifindex, enum live_tc_point point);
/* The same, asked over nl, a NETLINK_ROUTE socket the caller keeps open, with *seq the
 * request's sequence number (counted up). 1, 0, or -errno (then nl may hold an unread answer:
 * it is skipped by its number next time). */
int live_tc_present_on(int nl, uint32_t *seq, int ifindex, enum live_tc_point point);
/* Removes the clsact qdisc we created, unless other filters still use it. */
int live_tc_release_hook(int ifindex);
/* The owner pid recorded in a program of ours, from its .rodata map; 0 if none. */
uint32_t live_tc_prog_owner(int prog_fd);

/* ---- capture (live_capture.c) ----------------------------------------------------------- */

struct live_capture;

int live_capture_start(const struct live_options *opt, struct pipeline *p, struct store *s,
		       struct live_udp *udp, const struct live_clock *clock,
		       struct live_capture **out);
/* The packets ring buffer (-1 with -i any), or the -i any perf buffers' epoll fd (-1
 * otherwise), which live_capture_consume drains. */
int live_capture_ring_fd(const struct live_capture *c);
int live_capture_perf_fd(const struct live_capture *c);
/* Whether live_capture_consume reads the packets ring itself (ring_reader.h); if not, the
 * caller hands live_capture_ring_fd to libbpf's reader with live_capture_on_event. */
bool live_capture_reads_ring(const struct live_capture *c);
/* Takes the packets that wait (the ring, or -i any's perf buffers). 0 or a negative errno. */
int live_capture_consume(struct live_capture *c);
/* The reader's long sleep (bpf/reader_wake.h): whether it may sleep past its 100 ms tick (not
 * with -i any, whose perf buffers wake the reader only past their watermark); set_asleep
 * makes the next packet wake it at once; waiting: packets (or a reservation) not taken yet. */
bool live_capture_can_sleep(const struct live_capture *c);
void live_capture_set_asleep(struct live_capture *c, bool asleep);
bool live_capture_waiting(const struct live_capture *c);
/* The packets ring's bytes taken so far (moves whenever records were read). */
unsigned long live_capture_taken(const struct live_capture *c);
int live_capture_on_event(void *ctx, void *data, size_t size);
/* Once a second (every few seconds when nothing is recorded: live_capture_quiet_ns): loss
 * counters -> pipeline_drops(), read when the programs counted a loss since the last read,
 * every LIVE_COUNTERS_NS (the packets the kernel saw and filtered, for the status line) and
 * when final (the last tick: every count exact); without the link socket, interfaces that
 * went away or came back (live_capture_on_link); our TC filters checked (once a second
 * without the TC group's notices, else every LIVE_TC_BACKSTOP_NS as a backstop to them). */
int live_capture_tick(struct live_capture *c, uint64_t now_mono_ns, bool final);
#define LIVE_COUNTERS_NS (5ull * 1000000000ull)
#define LIVE_TC_BACKSTOP_NS (10ull * 1000000000ull)
/* The longest a recorder with nothing to record may go between ticks: a second when its
 * interfaces or filters can only be watched by the tick, else LIVE_TC_BACKSTOP_NS. */
uint64_t live_capture_quiet_ns(const struct live_capture *c);
/* rtnetlink link and TC notifications (-1: none): when readable, call live_capture_on_link,
 * which detaches an interface whose device went away and attaches it again when it returns,
 * and attaches again a filter of ours that another program took off. */
int live_capture_link_fd(const struct live_capture *c);
int live_capture_on_link(struct live_capture *c);
struct live_capture_stats {
	uint64_t packets, bytes;      /* handed to the pipeline */
	uint64_t filtered;            /* not matching PCAP-FILTER */
	uint64_t filtered_kernel;     /* of which skipped in the kernel (live_kfilter.c) */
	uint64_t kernel_seen;         /* packets the TC programs saw */
	uint64_t drops;               /* ring full + copy failures */
	uint64_t bad_records;
	uint64_t interfaces;          /* -i any: devices found so far */
	uint64_t nat_ambiguous;       /* -i any: NATed connections not linked (a flow seen in
				       * two namespaces) */
	uint64_t out_of_order;        /* -i any: stored after a younger packet (live_any.c) */
};
void live_capture_get_stats(const struct live_capture *c, struct live_capture_stats *st);
/* Detaches the TC filters (also safe after a partial start). */
void live_capture_detach(struct live_capture *c);
void live_capture_free(struct live_capture *c);

#endif
