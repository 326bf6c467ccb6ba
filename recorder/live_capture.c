// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_capture.c - packets from the TC programs of bpf/capture.bpf.c into the pipeline.
 *
 * At start: the programs are loaded (with the kernel side of PCAP-FILTER, live_kfilter.h),
 * the interfaces set up (live_iface.c: slots, map entries, store interfaces), stale filters
 * of a killed recorder removed, and the programs attached.
 *
 * Per record (live_capture_on_event, the hot path): check the record against its size,
 * apply PCAP-FILTER unless the kernel did (live_kfilter.h), turn the monotonic timestamp
 * into wall clock, hand the packet to the pipeline, then to live_udp.c. No allocation, no
 * syscall. Records of the conntrack reader in the same ring go to live_conntrack.c.
 *
 * Once a second (less often while nothing is recorded: live_capture_quiet_ns): the per-CPU
 * loss counters of each slot are summed and their growth goes to pipeline_drops() (the store
 * records it per interface, exported as isb_ifdrop). A packet is lost only when its ring is
 * full or its copy fails; a full ring has woken the reader already.
 *
 * Interfaces that go away and come back are followed by live_iface.c.
 *
 * -i any (alone) records every interface of every namespace through live_any.h instead: no
 * TC program, no interface set up here; the functions below hand over to it.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.skel.h"
#include "ecap.h"
#include "live_any.h"
#include "live_capture_impl.h"
#include "live_kfilter.h"
#include "proc_sockets.h"

/* The packets ring: -B/--buffer-size, default 16 MiB (~1/8 s of 1 Gbit/s; the ring's pages
 * are mapped twice, so it counts double in the recorder's RSS); the reader is woken when 1/16
 * of it waits, and polls at least every 100 ms. ECAP_LIVE_RING_KB in the environment sets
 * another size (a power of two, at least the page size: tests that need losses use a tiny
 * one). */
#define RING_BYTES (16u << 20)

static uint32_t ring_bytes(const struct live_options *opt)
{
	const char *e = getenv("ECAP_LIVE_RING_KB");
	unsigned long kb;
	char *end;

	if (opt->ring_bytes)
		return opt->ring_bytes;
	if (!e || !*e)
		return RING_BYTES;
	kb = strtoul(e, &end, 10);
	if (*end || kb < 4 || kb > (1ul << 21) || (kb & (kb - 1))) {
		fprintf(stderr, "ecap-rec: ignoring ECAP_LIVE_RING_KB=%s (a power of two from 4 to "
			"2097152)\n", e);
		return RING_BYTES;
	}
	return (uint32_t)(kb << 10);
}

int live_capture_start(const struct live_options *opt, struct pipeline *p, struct store *s,
		       struct live_udp *udp, const struct live_clock *clock,
		       struct live_capture **out)
{
	struct live_capture *c = calloc(1, sizeof(*c));
	size_t i;
	int rc;

	if (!c)
		return -ENOMEM;
	c->p = p;
	c->udp = udp;
	c->clock = clock;
	c->store = s;
	c->link_fd = -1;
	c->tc_nl = -1;
	c->snaplen = opt->snaplen && opt->snaplen < ECAP_CAP_MAX ? opt->snaplen : ECAP_CAP_MAX;
	c->filter_text = opt->filter;
	c->netns = proc_sockets_netns(0);
	if (c->netns == 0) {
		rc = -errno;
		fprintf(stderr, "ecap-rec: cannot read the recorder's network namespace "
			"(/proc/self/ns/net): %s\n", strerror(-rc));
		goto fail;
	}
	c->ncpu = libbpf_num_possible_cpus();
	if (c->ncpu <= 0) {
		rc = c->ncpu < 0 ? c->ncpu : -EINVAL;
		goto fail;
	}
	c->percpu = calloc((size_t)c->ncpu, sizeof(*c->percpu));
	if (!c->percpu) {
		rc = -ENOMEM;
		goto fail;
	}
	if (opt->filter) {
		rc = live_filter_new(opt->filter, opt->snaplen, &c->filter);
		if (rc < 0)
			goto fail;
	}
	for (i = 0; i < opt->n_ifaces; i++) {
		if (strcmp(opt->ifaces[i], "any") == 0 && opt->n_ifaces > 1) {
			fprintf(stderr, "ecap-rec: -i any records every interface: give it alone\n");
			rc = -EINVAL;
			goto fail;
		}
	}
	if (opt->n_ifaces == 1 && strcmp(opt->ifaces[0], "any") == 0) {
		struct live_any_options ao = {
			.p = p, .s = s, .udp = udp, .clock = clock, .filter = c->filter,
			.filter_text = opt->filter, .snaplen = opt->snaplen,
			.ring_bytes = ring_bytes(opt), .netns = c->netns, .quiet = opt->quiet,
		};

		rc = live_any_start(&ao, &c->any);
		if (rc < 0)
			goto fail;
		*out = c;
		return 0;
	}
	c->skel = capture_bpf__open();
	if (!c->skel) {
		rc = -errno;
		fprintf(stderr, "ecap-rec: cannot open the capture program: %s\n", strerror(-rc));
		goto fail;
	}
	c->skel->rodata->owner_pid = (uint32_t)getpid();
	c->skel->rodata->wakeup_bytes = ring_bytes(opt) / 16;
	rc = bpf_map__set_max_entries(c->skel->maps.packets, ring_bytes(opt));
	if (rc < 0)
		goto fail;
	rc = capture_bpf__load(c->skel);
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: the kernel refused the capture program: %s\n",
			strerror(-rc));
		goto fail;
	}
	/* not fatal: without the positions the reader never sleeps past its tick */
	ring_pos_open(&c->pos, bpf_map__fd(c->skel->maps.packets));
	/* not fatal either: libbpf's reader takes the ring instead (live_capture_reads_ring) */
	rc = ring_reader_open(&c->reader, bpf_map__fd(c->skel->maps.packets),
			      bpf_map__max_entries(c->skel->maps.packets), live_capture_on_event, c);
	if (rc < 0 && !opt->quiet)
		fprintf(stderr, "ecap-rec: the packets ring is read through libbpf: %s\n",
			strerror(-rc));
	if (c->filter) {
		rc = live_kfilter_new(c->skel, c->filter, &c->kfilter);
		if (rc < 0)
			goto fail;
	}
	rc = live_conntrack_load(c, opt->quiet);
	if (rc < 0)
		goto fail;
	/* Before the names are looked up, so that no change falls between the two. */
	c->link_fd = live_iface_link_socket(&c->tc_notified);
	for (i = 0; i < opt->n_ifaces; i++) {
		rc = live_iface_setup(c, opt->ifaces[i], s);
		if (rc < 0)
			goto fail;
	}
	live_libbpf_mute(true); /* querying hooks that do not exist makes libbpf complain */
	rc = live_tc_remove_stale(live_iface_claim_hook, c);
	live_libbpf_mute(false);
	if (rc < 0)
		goto fail;
	rc = live_iface_attach_all(c);
	if (rc < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	live_capture_detach(c);
	live_capture_free(c);
	return rc;
}

int live_capture_ring_fd(const struct live_capture *c)
{
	return c->any ? -1 : bpf_map__fd(c->skel->maps.packets);
}

int live_capture_perf_fd(const struct live_capture *c)
{
	return c->any ? live_any_fd(c->any) : -1;
}

bool live_capture_reads_ring(const struct live_capture *c)
{
	return c->reader.consumer != NULL;
}

int live_capture_consume(struct live_capture *c)
{
	int64_t n;

	if (c->any)
		return live_any_consume(c->any);
	n = ring_reader_consume(&c->reader);
	return n < 0 ? (int)n : 0;
}

bool live_capture_can_sleep(const struct live_capture *c)
{
	return !c->any && c->skel && c->skel->bss && c->pos.map;
}

void live_capture_set_asleep(struct live_capture *c, bool asleep)
{
	if (c->skel && c->skel->bss)
		__atomic_store_n(&c->skel->bss->reader_asleep, asleep ? 1 : 0, __ATOMIC_SEQ_CST);
}

bool live_capture_waiting(const struct live_capture *c)
{
	return c->any || ring_pos_waiting(&c->pos);
}

unsigned long live_capture_taken(const struct live_capture *c)
{
	return ring_pos_taken(&c->pos);
}

int live_capture_on_event(void *ctx, void *data, size_t size)
{
	struct live_capture *c = ctx;
	struct ecap_pkt_event ev;
	const struct live_iface *li;
	const uint8_t *bytes = (const uint8_t *)data + sizeof(ev);

	if (size < sizeof(ev)) {
		c->bad++;
		return 0;
	}
	memcpy(&ev, data, sizeof(ev));
	live_ring_prefetch_next(data, size, 4);
	if (ev.slot >= c->n || ev.caplen == 0 || ev.caplen > size - sizeof(ev) ||
	    ev.caplen > ev.len || c->ifs[ev.slot].ifindex != (int)ev.ifindex) {
		c->bad++;
		return 0;
	}
	li = &c->ifs[ev.slot];
	if (ev.dir != ECAP_DIR_INGRESS && ev.dir != ECAP_DIR_EGRESS)
		return live_conntrack_record(c, li, &ev, bytes);
	if (c->filter && !li->kernel_filter &&
	    !live_filter_match(c->filter, li->linktype, bytes, ev.caplen, ev.len)) {
		c->filtered++;
		return 0;
	}
	c->packets++;
	c->bytes += ev.len;
	return live_record_packet(c->p, c->udp, c->clock, li->store_id, li->netns, ev.ts_mono_ns,
				  ev.caplen, ev.len, ev.dir == ECAP_DIR_INGRESS, bytes);
}

/* The counters of one slot, summed over the CPUs. */
static int read_counters(struct live_capture *c, uint32_t slot, struct ecap_counters *sum)
{
	int i;

	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.counters), &slot, c->percpu) < 0)
		return -errno;
	for (i = 0; i < c->ncpu; i++) {
		sum->seen += c->percpu[i].seen;
		sum->seen_bytes += c->percpu[i].seen_bytes;
		sum->ring_full += c->percpu[i].ring_full;
		sum->copy_fail += c->percpu[i].copy_fail;
		sum->filtered += c->percpu[i].filtered;
	}
	return 0;
}

/*
 * Whether the tick reads the per-CPU counters (a bpf() system call per interface): when the
 * program counted a loss since the last read (its mapped `losses`, bumped after the counter),
 * at the end, at the first tick, and every LIVE_COUNTERS_NS for what the status line shows of
 * the packets the kernel saw and filtered. *losses: the value to remember once read.
 */
static bool counters_due(const struct live_capture *c, uint64_t now_mono_ns, bool final,
			 uint64_t *losses)
{
	if (!c->skel->bss)
		return true;
	*losses = __atomic_load_n(&c->skel->bss->losses, __ATOMIC_ACQUIRE);
	return final || !c->counters_read_ns || *losses != c->losses_read ||
	       now_mono_ns - c->counters_read_ns >= LIVE_COUNTERS_NS;
}

int live_capture_tick(struct live_capture *c, uint64_t now_mono_ns, bool final)
{
	struct ecap_counters sum;
	struct live_iface *li;
	uint64_t wall = live_clock_wall(c->clock, now_mono_ns), losses = 0;
	bool check, read;
	size_t i;
	int rc;

	if (c->any)
		return live_any_tick(c->any, wall);
	if (c->link_fd < 0)
		live_iface_relink(c);
	if (c->reader.unframed > c->unframed_said) {
		fprintf(stderr, "ecap-rec: the packets ring held a record header that no record can "
			"have: %" PRIu64 " bytes behind it were stepped over unread\n",
			c->reader.unframed - c->unframed_said);
		c->unframed_said = c->reader.unframed;
	}
	/* our filters: at each TC notice (live_capture_on_link), and here as a backstop */
	check = !c->tc_notified || now_mono_ns - c->tc_checked_ns >= LIVE_TC_BACKSTOP_NS;
	if (check)
		c->tc_checked_ns = now_mono_ns;
	read = counters_due(c, now_mono_ns, final, &losses);
	if (read) {
		c->losses_read = losses;
		c->counters_read_ns = now_mono_ns;
	}
	for (i = 0; i < c->n; i++) {
		li = &c->ifs[i];
		if (check)
			live_iface_check_attached(c, li);
		if (!read || read_counters(c, (uint32_t)i, &sum) < 0)
			continue;
		li->seen = sum.seen;
		li->lost = sum.ring_full + sum.copy_fail;
		li->kfiltered = sum.filtered;
		if (li->lost > li->lost_reported) {
			rc = pipeline_drops(c->p, li->store_id, wall, li->lost - li->lost_reported);
			if (rc < 0)
				return rc;
			li->lost_reported = li->lost;
		}
	}
	return 0;
}

uint64_t live_capture_quiet_ns(const struct live_capture *c)
{
	return c->link_fd >= 0 && c->tc_notified ? LIVE_TC_BACKSTOP_NS : 1000000000ull;
}

void live_capture_get_stats(const struct live_capture *c, struct live_capture_stats *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	if (c->any) {
		struct live_any_stats as;

		live_any_get_stats(c->any, &as);
		st->packets = as.packets;
		st->bytes = as.bytes;
		st->filtered = as.filtered;
		st->filtered_kernel = as.filtered_kernel;
		st->kernel_seen = as.kernel_seen;
		st->drops = as.drops;
		st->bad_records = as.bad_records;
		st->interfaces = as.interfaces;
		st->nat_ambiguous = as.nat_ambiguous;
		st->out_of_order = as.out_of_order;
		return;
	}
	st->packets = c->packets;
	st->bytes = c->bytes;
	st->filtered = c->filtered;
	st->bad_records = c->bad;
	for (i = 0; i < c->n; i++) {
		st->kernel_seen += c->ifs[i].seen;
		st->drops += c->ifs[i].lost;
		st->filtered += c->ifs[i].kfiltered;
		st->filtered_kernel += c->ifs[i].kfiltered;
	}
}

void live_capture_detach(struct live_capture *c)
{
	size_t i;

	if (!c)
		return;
	live_any_detach(c->any);
	for (i = 0; i < c->n; i++)
		live_iface_detach(&c->ifs[i]);
}

void live_capture_free(struct live_capture *c)
{
	if (!c)
		return;
	if (c->link_fd >= 0)
		close(c->link_fd);
	if (c->tc_nl >= 0)
		close(c->tc_nl);
	live_conntrack_free(c);
	live_any_free(c->any);
	ring_pos_close(&c->pos);
	ring_reader_close(&c->reader);
	capture_bpf__destroy(c->skel);
	live_kfilter_free(c->kfilter);
	live_filter_free(c->filter);
	free(c->percpu);
	free(c);
}
