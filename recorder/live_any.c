// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_any.c - `ecap-rec -i any`: the packets of bpf/capture_any.bpf.c (every device of every
 * network namespace, each packet recorded at one point of its path: that file says which)
 * into the pipeline (live_any.h).
 *
 * Interfaces are found as their packets come: a device is (network namespace inode, ifindex)
 * and, with its name and link type, one store interface. It is named NAME in the recorder's
 * own namespace and NAME@NETNS elsewhere, NETNS being the namespace's name in /run/netns
 * (netns_names.h) or else its inode; the IDB's if_description says "netns INODE PATH ifindex
 * N". A device renamed, or a namespace inode reused, gives another store interface. The
 * table from (inode, ifindex) to store interface is bounded (ANY_IFACES_MAX): when it is
 * full it is emptied and refilled as packets come (the store finds the same interfaces).
 *
 * Per record (on_sample, the hot path): check the record against its size, find
 * its interface (a table lookup; a new device costs a store interface, once), apply
 * PCAP-FILTER in user space (the kernel filter, live_anyfilter.c, only skips what surely
 * does not match), turn the monotonic timestamp into wall clock, hand the packet to the
 * pipeline, then to live_udp.c. No allocation, no syscall, except for a new device.
 *
 * Order: the packets go to the pipeline in timestamp order across the CPUs, not one CPU's
 * buffer after the other. Each round (live_any_consume) reads the clock, then each CPU's
 * perf buffer head; the records are read in place (live_any_ring.h) and merged by timestamp
 * (live_any_merge.h) up to a watermark ANY_HOLD_NS before the clock, the younger ones staying
 * in their buffer for the next round: a packet whose timestamp is older than the watermark
 * is in its buffer by then unless the kernel took more than ANY_HOLD_NS between the timestamp
 * and the record (such a packet is counted late and stored at once, out of order). The
 * reader runs a round at least every poll interval (100 ms, live.c), so a packet goes to
 * the pipeline at most ANY_HOLD_NS plus that after its timestamp; a CPU with no packets
 * holds nothing up. A CPU's buffer never keeps more than a quarter of itself for the next
 * round (older records are then handed on early, still in order); after detach, a round
 * hands on everything.
 *
 * Losses (perf buffer full, copy failures: bpf_skb_output failed) belong to no device: they
 * are counted on a store interface named "any". The perf ring's own PERF_RECORD_LOST
 * records report the same losses again and are not counted.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture_any.skel.h"
#include "decode.h"
#include "ecap.h"
#include "live_any.h"
#include "live_any_merge.h"
#include "live_any_ring.h"
#include "live_anyfilter.h"
#include "netns_names.h"

#define ANY_IFACES_MAX 16384u /* table slots, a power of two */
#define ARPHRD_NONE_T 65534
/* how long a packet is kept for the merge after its timestamp (see the top of the file) */
#define ANY_HOLD_NS (10ull * 1000000ull)

struct any_iface {
	uint32_t netns;         /* 0: free slot */
	uint32_t ifindex;
	char name[16];
	uint16_t dev_type;
	uint16_t linktype;
	bool refused;           /* no store interface could be made: its packets are skipped */
	uint32_t store_id;
};

struct live_any {
	struct pipeline *p;
	struct store *s;
	struct live_udp *udp;
	const struct live_clock *clock;
	struct live_filter *filter;
	const char *filter_text;
	uint32_t snaplen;
	uint32_t netns;                 /* the recorder's */
	struct capture_any_bpf *skel;
	struct bpf_link *links[2];
	struct perf_buffer *pb;
	struct live_any_ring *rings;    /* one per CPU buffer of pb */
	uint32_t n_rings;
	struct live_any_merge *merge;
	uint8_t *wrapped;               /* a record that wraps round its ring's end */
	bool detached;                  /* no new packets: a round hands on everything */
	struct live_anyfilter *kfilter;
	struct netns_names *names;
	struct any_iface *tab;
	size_t n;
	uint8_t *scratch;               /* a record whose bytes are in two pieces */
	struct ecap_any_counters *percpu;
	int ncpu;
	bool drop_iface_made;
	uint32_t drop_iface;
	uint64_t lost_reported;
	uint64_t packets, bytes, filtered, bad, ifaces_made, iface_errors;
	struct ecap_any_counters kernel; /* last read, summed over the CPUs */
};

static struct any_iface *slot(struct live_any *a, uint32_t netns, uint32_t ifindex)
{
	uint32_t i = (netns * 2654435761u ^ ifindex * 40503u) & (ANY_IFACES_MAX - 1);

	while (a->tab[i].netns && (a->tab[i].netns != netns || a->tab[i].ifindex != ifindex))
		i = (i + 1) & (ANY_IFACES_MAX - 1);
	return &a->tab[i];
}

/* A device name from the kernel, printable ASCII only. */
static void clean_name(char *out, const char *in)
{
	size_t i;

	for (i = 0; i < 15 && in[i]; i++)
		out[i] = in[i] > ' ' && in[i] <= '~' && in[i] != '@' ? in[i] : '?';
	out[i] = '\0';
}

/* The store interface of the device of ev (new in the table, or renamed). */
static int make_iface(struct live_any *a, struct any_iface *e, const struct ecap_any_event *ev)
{
	const char *nsname = NULL;
	struct ecap_iface rec;
	char dev[16];
	int rc;

	memset(&rec, 0, sizeof(rec));
	clean_name(dev, ev->name);
	if (ev->netns == a->netns) {
		snprintf(rec.name, sizeof(rec.name), "%s", dev);
		snprintf(rec.description, sizeof(rec.description),
			 "netns %u (the recorder's) ifindex %u", ev->netns, ev->ifindex);
	} else {
		nsname = netns_names_lookup(a->names, ev->netns);
		if (nsname) {
			snprintf(rec.name, sizeof(rec.name), "%s@%s", dev, nsname);
			snprintf(rec.description, sizeof(rec.description),
				 "netns %u %s/%s ifindex %u", ev->netns, NETNS_DIR, nsname,
				 ev->ifindex);
		} else {
			snprintf(rec.name, sizeof(rec.name), "%s@%u", dev, ev->netns);
			snprintf(rec.description, sizeof(rec.description),
				 "netns %u (no name in %s) ifindex %u", ev->netns, NETNS_DIR,
				 ev->ifindex);
		}
	}
	rec.linktype = ev->dev_type == ARPHRD_NONE_T ? DECODE_LT_RAW : DECODE_LT_ETHERNET;
	rec.snaplen = a->snaplen;
	rec.netns = ev->netns;
	rec.ifindex = ev->ifindex;
	if (a->filter_text)
		snprintf(rec.filter, sizeof(rec.filter), "%s", a->filter_text);
	if (a->filter) {
		rc = live_filter_prepare(a->filter, rec.linktype);
		if (rc < 0)
			return rc;
	}
	rc = store_add_interface(a->s, &rec, &e->store_id);
	if (rc < 0)
		return rc;
	rc = pipeline_iface_netns(a->p, e->store_id, ev->netns);
	if (rc < 0)
		return rc;
	memcpy(e->name, ev->name, sizeof(e->name));
	e->dev_type = ev->dev_type;
	e->linktype = rec.linktype;
	a->ifaces_made++;
	return 0;
}

static struct any_iface *find_iface(struct live_any *a, const struct ecap_any_event *ev)
{
	struct any_iface *e = slot(a, ev->netns, ev->ifindex);
	int rc;

	if (e->netns && e->dev_type == ev->dev_type && !memcmp(e->name, ev->name, sizeof(e->name)))
		return e->refused ? NULL : e;
	if (!e->netns) {
		if (a->n >= ANY_IFACES_MAX * 3 / 4) {
			memset(a->tab, 0, ANY_IFACES_MAX * sizeof(*a->tab));
			a->n = 0;
			e = slot(a, ev->netns, ev->ifindex);
		}
		e->netns = ev->netns;
		e->ifindex = ev->ifindex;
		e->dev_type = 0;
		a->n++;
	}
	e->refused = false;
	rc = make_iface(a, e, ev);
	if (rc < 0) {
		/* not recorded, and not tried again per packet: only once the table is emptied */
		memcpy(e->name, ev->name, sizeof(e->name));
		e->dev_type = ev->dev_type;
		e->refused = true;
		if (a->iface_errors++ == 0)
			fprintf(stderr, "ecap-rec: cannot add interface %.16s (netns %u): %s; its "
				"packets are not recorded\n", ev->name, ev->netns,
				rc == -ENOSPC ? store_errmsg(a->s) : strerror(-rc));
		return NULL;
	}
	return e;
}

static int on_sample(struct live_any *a, const uint8_t *data, size_t size)
{
	struct ecap_any_event ev;
	const struct any_iface *e;
	const uint8_t *bytes, *skb_bytes = data + sizeof(ev);
	size_t skb_avail;
	uint32_t from_skb;

	if (size < sizeof(ev)) {
		a->bad++;
		return 0;
	}
	memcpy(&ev, data, sizeof(ev));
	skb_avail = size - sizeof(ev);
	from_skb = ev.caplen > ev.l2_len ? ev.caplen - ev.l2_len : 0;
	if (ev.caplen == 0 || ev.caplen > ev.len || ev.caplen > ECAP_ANY_CAP_MAX ||
	    ev.l2_len > ECAP_ANY_L2_MAX ||
	    ev.data_skip > 12 || (ev.data_skip && ev.l2_len != 16) || ev.netns == 0 ||
	    (ev.dir != ECAP_DIR_INGRESS && ev.dir != ECAP_DIR_EGRESS) ||
	    (uint64_t)from_skb + ev.data_skip > skb_avail) {
		a->bad++;
		return 0;
	}
	e = find_iface(a, &ev);
	if (!e)
		return 0;
	if (ev.data_skip == 0) {
		bytes = data + offsetof(struct ecap_any_event, l2) + ECAP_ANY_L2_MAX - ev.l2_len;
	} else {
		memcpy(a->scratch, ev.l2 + ECAP_ANY_L2_MAX - ev.l2_len, ev.l2_len);
		memcpy(a->scratch + ev.l2_len, skb_bytes + ev.data_skip, from_skb);
		bytes = a->scratch;
	}
	if (a->filter && !live_filter_match(a->filter, e->linktype, bytes, ev.caplen, ev.len)) {
		a->filtered++;
		return 0;
	}
	a->packets++;
	a->bytes += ev.len;
	return live_record_packet(a->p, a->udp, a->clock, e->store_id, ev.netns, ev.ts_mono_ns,
				  ev.caplen, ev.len, ev.dir == ECAP_DIR_INGRESS, bytes);
}

/* The merge's sources (live_any_merge.h): the CPU buffers, read in place. */
static int source_next(void *ctx, uint32_t src, uint64_t *ts, uint64_t *held)
{
	struct live_any *a = ctx;

	return live_any_ring_next(&a->rings[src], ts, held);
}

static int source_emit(void *ctx, uint32_t src)
{
	struct live_any *a = ctx;
	struct live_any_ring *r = &a->rings[src];
	const uint8_t *raw;
	uint32_t size;
	int rc = live_any_ring_sample(r, a->wrapped, &raw, &size);

	if (rc == 0)
		rc = on_sample(a, raw, size);
	live_any_ring_step(r);
	return rc == -EBADMSG ? 0 : rc;
}

static const struct live_any_merge_ops merge_ops = {
	.next = source_next,
	.emit = source_emit,
};

/* Each CPU's perf buffer is as large as the ring of -i NAME (-B), since one flow's packets
 * come on one CPU; beyond ANY_RING_CPUS CPUs they share ANY_RING_CPUS times that. */
#define ANY_RING_CPUS 8

static int open_ring(struct live_any *a, uint32_t ring_bytes)
{
	struct perf_event_attr attr;
	long page = sysconf(_SC_PAGESIZE);
	size_t per_cpu = a->ncpu <= ANY_RING_CPUS
				 ? ring_bytes
				 : (size_t)ring_bytes * ANY_RING_CPUS / (size_t)a->ncpu,
	       pages = 1;
	uint32_t i;
	int rc;

	if (page <= 0)
		page = 4096;
	while (pages * 2 * (size_t)page <= per_cpu)
		pages *= 2;
	if (pages < 8)
		pages = 8;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_BPF_OUTPUT;
	attr.sample_type = PERF_SAMPLE_RAW;
	attr.sample_period = 1;
	/* wake the reader when 1/16 of a CPU's buffer waits; it also polls every 100 ms */
	attr.watermark = 1;
	attr.wakeup_watermark = (uint32_t)(pages * (size_t)page / 16);
	/* no callback: the buffers are read in place (live_any_ring.h), never by libbpf */
	a->pb = perf_buffer__new_raw(bpf_map__fd(a->skel->maps.any_packets), pages, &attr, NULL,
				     NULL, NULL);
	if (!a->pb)
		return -errno;
	a->n_rings = (uint32_t)perf_buffer__buffer_cnt(a->pb);
	a->rings = calloc(a->n_rings ? a->n_rings : 1, sizeof(*a->rings));
	if (!a->rings)
		return -ENOMEM;
	for (i = 0; i < a->n_rings; i++) {
		void *base;
		size_t size;

		rc = perf_buffer__buffer(a->pb, (int)i, &base, &size);
		if (rc == 0)
			rc = live_any_ring_init(&a->rings[i], base, size);
		if (rc < 0)
			return rc;
	}
	/* a quarter of a buffer at most is kept from one round to the next */
	return live_any_merge_new(a->n_rings, pages * (size_t)page / 4, &a->merge);
}

int live_any_start(const struct live_any_options *o, struct live_any **out)
{
	struct live_any *a = calloc(1, sizeof(*a));
	int rc;

	if (!a)
		return -ENOMEM;
	a->p = o->p;
	a->s = o->s;
	a->udp = o->udp;
	a->clock = o->clock;
	a->filter = o->filter;
	a->filter_text = o->filter_text;
	a->snaplen = o->snaplen && o->snaplen < ECAP_ANY_CAP_MAX ? o->snaplen : ECAP_ANY_CAP_MAX;
	a->netns = o->netns;
	a->ncpu = libbpf_num_possible_cpus();
	a->tab = calloc(ANY_IFACES_MAX, sizeof(*a->tab));
	a->scratch = malloc(ECAP_ANY_CAP_MAX + ECAP_ANY_L2_MAX);
	a->wrapped = malloc(LIVE_ANY_RING_RECORD_MAX);
	a->percpu = a->ncpu > 0 ? calloc((size_t)a->ncpu, sizeof(*a->percpu)) : NULL;
	rc = netns_names_new(NETNS_DIR, &a->names);
	if (rc == 0 && (!a->tab || !a->scratch || !a->wrapped || !a->percpu))
		rc = a->ncpu < 0 ? a->ncpu : -ENOMEM;
	if (rc < 0)
		goto fail;
	a->skel = capture_any_bpf__open();
	if (!a->skel) {
		rc = -errno;
		fprintf(stderr, "ecap-rec: cannot open the -i any program: %s\n", strerror(-rc));
		goto fail;
	}
	a->skel->rodata->owner_pid = (uint32_t)getpid();
	a->skel->rodata->recorder_netns = a->netns;
	a->skel->rodata->snaplen = a->snaplen;
	a->skel->rodata->have_filter = a->filter != NULL;
	rc = capture_any_bpf__load(a->skel);
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: the kernel refused the -i any program (tp_btf/"
			"net_dev_queue, tp_btf/netif_receive_skb): %s\n", strerror(-rc));
		goto fail;
	}
	if (a->filter) {
		rc = live_anyfilter_new(a->skel, a->filter, &a->kfilter);
		if (rc < 0)
			goto fail;
	}
	rc = open_ring(a, o->ring_bytes);
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: cannot open the -i any perf buffers: %s\n",
			strerror(-rc));
		goto fail;
	}
	a->links[0] = bpf_program__attach(a->skel->progs.ecap_any_ingress);
	if (!a->links[0]) {
		rc = -errno;
		goto attach_fail;
	}
	a->links[1] = bpf_program__attach(a->skel->progs.ecap_any_egress);
	if (!a->links[1]) {
		rc = -errno;
		goto attach_fail;
	}
	*out = a;
	return 0;
attach_fail:
	fprintf(stderr, "ecap-rec: cannot attach the -i any tracepoints: %s\n", strerror(-rc));
fail:
	live_any_detach(a);
	live_any_free(a);
	return rc;
}

int live_any_fd(const struct live_any *a)
{
	return perf_buffer__epoll_fd(a->pb);
}

int live_any_consume(struct live_any *a)
{
	struct timespec now;
	uint64_t watermark = UINT64_MAX, now_ns;
	uint32_t i;
	int rc;

	/* the clock before the heads: what is older than the watermark is in by now */
	if (!a->detached && clock_gettime(CLOCK_MONOTONIC, &now) == 0) {
		now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
		watermark = now_ns > ANY_HOLD_NS ? now_ns - ANY_HOLD_NS : 0;
	}
	for (i = 0; i < a->n_rings; i++)
		live_any_ring_snapshot(&a->rings[i]);
	rc = live_any_merge_round(a->merge, &merge_ops, a, watermark);
	for (i = 0; i < a->n_rings; i++)
		live_any_ring_release(&a->rings[i]);
	return rc;
}

static void read_counters(struct live_any *a)
{
	struct ecap_any_counters *s = &a->kernel;
	uint32_t zero = 0;
	int i;

	if (bpf_map_lookup_elem(bpf_map__fd(a->skel->maps.any_counters), &zero, a->percpu) < 0)
		return;
	memset(s, 0, sizeof(*s));
	for (i = 0; i < a->ncpu; i++) {
		s->seen += a->percpu[i].seen;
		s->seen_bytes += a->percpu[i].seen_bytes;
		s->lost += a->percpu[i].lost;
		s->filtered += a->percpu[i].filtered;
		s->other_end += a->percpu[i].other_end;
		s->unsupported += a->percpu[i].unsupported;
	}
}

int live_any_tick(struct live_any *a, uint64_t wall_ns)
{
	struct ecap_iface rec;
	uint64_t lost;
	int rc;

	read_counters(a);
	/* a record the perf buffer had no room for fails bpf_skb_output (counted in the
	 * kernel) and is reported again by a PERF_RECORD_LOST: counted once */
	lost = a->kernel.lost;
	if (lost <= a->lost_reported)
		return 0;
	if (!a->drop_iface_made) {
		memset(&rec, 0, sizeof(rec));
		snprintf(rec.name, sizeof(rec.name), "any");
		snprintf(rec.description, sizeof(rec.description),
			 "packets of -i any lost before they reached a device's interface");
		rec.linktype = DECODE_LT_ETHERNET;
		rec.snaplen = a->snaplen;
		rc = store_add_interface(a->s, &rec, &a->drop_iface);
		if (rc < 0)
			return rc;
		a->drop_iface_made = true;
	}
	rc = pipeline_drops(a->p, a->drop_iface, wall_ns, lost - a->lost_reported);
	if (rc < 0)
		return rc;
	a->lost_reported = lost;
	return 0;
}

void live_any_get_stats(const struct live_any *a, struct live_any_stats *st)
{
	struct live_any_merge_stats ms;
	uint32_t i;

	memset(st, 0, sizeof(*st));
	st->packets = a->packets;
	st->bytes = a->bytes;
	st->filtered = a->filtered + a->kernel.filtered;
	st->filtered_kernel = a->kernel.filtered;
	st->kernel_seen = a->kernel.seen;
	st->drops = a->kernel.lost;
	st->bad_records = a->bad;
	for (i = 0; i < a->n_rings; i++)
		st->bad_records += a->rings[i].bad;
	live_any_merge_get_stats(a->merge, &ms);
	st->out_of_order = ms.late;
	st->interfaces = a->ifaces_made;
	st->other_end = a->kernel.other_end;
	st->unsupported = a->kernel.unsupported;
}

void live_any_detach(struct live_any *a)
{
	int i;

	if (!a)
		return;
	for (i = 0; i < 2; i++) {
		bpf_link__destroy(a->links[i]);
		a->links[i] = NULL;
	}
	a->detached = true;
}

void live_any_free(struct live_any *a)
{
	if (!a)
		return;
	live_any_merge_free(a->merge);
	free(a->rings);
	perf_buffer__free(a->pb);
	capture_any_bpf__destroy(a->skel);
	live_anyfilter_free(a->kfilter);
	netns_names_free(a->names);
	free(a->tab);
	free(a->scratch);
	free(a->wrapped);
	free(a->percpu);
	free(a);
}
