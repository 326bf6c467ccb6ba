// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_capture.c - packets from the TC programs of bpf/capture.bpf.c into the pipeline.
 *
 * At start: each -i interface gets a slot (0..LIVE_IFACES_MAX-1), a store interface (one IDB:
 * name, link type, snaplen, filter text) and an entry in the programs' "ifaces" map; stale
 * filters of a killed recorder are removed; then the programs are attached, ingress and
 * egress, except on loopback devices, where the same skb passes egress and then ingress:
 * there only egress is attached, so each packet is recorded once, as outbound.
 *
 * Per record (live_capture_on_event, the hot path): check the record against its size,
 * apply PCAP-FILTER, turn the monotonic timestamp into wall clock, hand the packet to the
 * pipeline, then to live_udp.c. No allocation, no syscall.
 *
 * Once a second: the per-CPU loss counters of each slot are summed and their growth goes to
 * pipeline_drops() (the store records it per interface, exported as isb_ifdrop).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.skel.h"
#include "ecap.h"
#include "live_internal.h"

#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101
#define ARPHRD_ETHER_NR 1
#define ARPHRD_LOOPBACK_NR 772
#define ARPHRD_NONE_NR 65534

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

struct live_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	uint16_t linktype;
	uint32_t store_id;
	bool is_lo;
	bool hook_created;
	bool attached[2];       /* enum live_tc_point */
	uint64_t lost_reported; /* loss counter total already given to pipeline_drops() */
	uint64_t seen, lost;    /* last read of the kernel counters */
};

struct live_capture {
	struct pipeline *p;
	struct live_udp *udp;
	const struct live_clock *clock;
	struct capture_bpf *skel;
	struct live_filter *filter;
	struct live_iface ifs[ECAP_IFACES_MAX];
	size_t n;
	struct ecap_counters *percpu; /* scratch for reading per-CPU counters */
	int ncpu;
	uint64_t packets, bytes, filtered, bad;
};

static int read_iface_type(const char *name, int *type)
{
	char path[96], buf[32];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/type", name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%d", type) != 1) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	return 0;
}

static int setup_iface(struct live_capture *c, const struct live_options *opt, const char *name,
		       struct store *s)
{
	struct live_iface *li = &c->ifs[c->n];
	struct ecap_iface_cfg cfg;
	struct ecap_iface rec;
	uint32_t key;
	size_t i;
	int type, rc;

	if (strlen(name) >= IF_NAMESIZE) {
		fprintf(stderr, "ecap-rec: interface name too long: %s\n", name);
		return -EINVAL;
	}
	for (i = 0; i < c->n; i++)
		if (strcmp(c->ifs[i].name, name) == 0)
			return 0; /* named twice */
	if (c->n >= ECAP_IFACES_MAX) {
		fprintf(stderr, "ecap-rec: at most %u interfaces\n", ECAP_IFACES_MAX);
		return -E2BIG;
	}
	memset(li, 0, sizeof(*li));
	snprintf(li->name, sizeof(li->name), "%s", name);
	li->ifindex = (int)if_nametoindex(name);
	if (li->ifindex == 0) {
		fprintf(stderr, "ecap-rec: no interface named %s\n", name);
		return -ENODEV;
	}
	rc = read_iface_type(name, &type);
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: cannot read the type of %s: %s\n", name, strerror(-rc));
		return rc;
	}
	if (type == ARPHRD_ETHER_NR || type == ARPHRD_LOOPBACK_NR) {
		li->linktype = LINKTYPE_ETHERNET; /* lo's skbs carry an Ethernet header too */
	} else if (type == ARPHRD_NONE_NR) {
		li->linktype = LINKTYPE_RAW;      /* tun, wireguard: IP from the first byte */
	} else {
		fprintf(stderr, "ecap-rec: %s: link type %d is not supported (Ethernet, loopback "
			"and raw IP devices are)\n", name, type);
		return -EOPNOTSUPP;
	}
	li->is_lo = type == ARPHRD_LOOPBACK_NR;

	key = (uint32_t)li->ifindex % ECAP_IFSLOTS;
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.ifaces), &key, &cfg) == 0 &&
	    cfg.ifindex != 0) {
		fprintf(stderr, "ecap-rec: interfaces %s and index %u share a slot; record them "
			"with two recorders\n", name, cfg.ifindex);
		return -EINVAL;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.ifindex = (uint32_t)li->ifindex;
	cfg.slot = (uint32_t)c->n;
	cfg.snaplen = opt->snaplen && opt->snaplen < ECAP_CAP_MAX ? opt->snaplen : ECAP_CAP_MAX;
	rc = bpf_map_update_elem(bpf_map__fd(c->skel->maps.ifaces), &key, &cfg, BPF_ANY);
	if (rc < 0)
		return rc;

	if (c->filter) {
		rc = live_filter_prepare(c->filter, li->linktype);
		if (rc < 0)
			return rc;
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.name, sizeof(rec.name), "%s", name);
	rec.linktype = li->linktype;
	rec.snaplen = cfg.snaplen;
	if (opt->filter)
		snprintf(rec.filter, sizeof(rec.filter), "%s", opt->filter);
	rc = store_add_interface(s, &rec, &li->store_id);
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: %s\n", store_errmsg(s));
		return rc;
	}
	c->n++;
	return 0;
}

static int attach_all(struct live_capture *c)
{
	struct live_iface *li;
	size_t i;
	int rc, p;

	for (i = 0; i < c->n; i++) {
		li = &c->ifs[i];
		for (p = LIVE_TC_INGRESS; p <= LIVE_TC_EGRESS; p++) {
			int fd = p == LIVE_TC_INGRESS ? bpf_program__fd(c->skel->progs.ecap_ingress)
						      : bpf_program__fd(c->skel->progs.ecap_egress);

			if (li->is_lo && p == LIVE_TC_INGRESS)
				continue;
			rc = live_tc_attach(li->ifindex, (enum live_tc_point)p, fd,
					    &li->hook_created);
			if (rc < 0) {
				fprintf(stderr, "ecap-rec: cannot attach to %s %s: %s\n", li->name,
					p == LIVE_TC_INGRESS ? "ingress" : "egress", strerror(-rc));
				return rc;
			}
			li->attached[p] = true;
		}
	}
	return 0;
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
	live_libbpf_mute(true); /* querying hooks that do not exist makes libbpf complain */
	rc = live_tc_remove_stale();
	live_libbpf_mute(false);
	if (rc < 0)
		goto fail;

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
	for (i = 0; i < opt->n_ifaces; i++) {
		rc = setup_iface(c, opt, opt->ifaces[i], s);
		if (rc < 0)
			goto fail;
	}
	rc = attach_all(c);
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
	return bpf_map__fd(c->skel->maps.packets);
}

int live_capture_on_event(void *ctx, void *data, size_t size)
{
	struct live_capture *c = ctx;
	struct ecap_pkt_event ev;
	struct ecap_packet pkt;
	const struct live_iface *li;
	const uint8_t *bytes = (const uint8_t *)data + sizeof(ev);
	int rc;

	if (size < sizeof(ev)) {
		c->bad++;
		return 0;
	}
	memcpy(&ev, data, sizeof(ev));
	if (ev.slot >= c->n || ev.caplen == 0 || ev.caplen > size - sizeof(ev) ||
	    ev.caplen > ev.len || c->ifs[ev.slot].ifindex != (int)ev.ifindex) {
		c->bad++;
		return 0;
	}
	li = &c->ifs[ev.slot];
	if (c->filter && !live_filter_match(c->filter, li->linktype, bytes, ev.caplen, ev.len)) {
		c->filtered++;
		return 0;
	}
	pkt.ts_ns = live_clock_wall(c->clock, ev.ts_mono_ns);
	pkt.iface = li->store_id;
	pkt.caplen = ev.caplen;
	pkt.origlen = ev.len;
	pkt.flags = ev.dir == ECAP_DIR_INGRESS ? PKT_DIR_INBOUND : PKT_DIR_OUTBOUND;
	pkt.flow_id = 0;
	pkt.data = bytes;
	rc = pipeline_packet(c->p, &pkt, NULL);
	if (rc < 0)
		return rc;
	c->packets++;
	c->bytes += ev.len;
	return live_udp_packet(c->udp, li->linktype, &pkt);
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
	}
	return 0;
}

int live_capture_tick(struct live_capture *c, uint64_t now_mono_ns)
{
	struct ecap_counters sum;
	struct live_iface *li;
	uint64_t wall = live_clock_wall(c->clock, now_mono_ns);
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++) {
		li = &c->ifs[i];
		if (read_counters(c, (uint32_t)i, &sum) < 0)
			continue;
		li->seen = sum.seen;
		li->lost = sum.ring_full + sum.copy_fail;
		if (li->lost > li->lost_reported) {
			rc = pipeline_drops(c->p, li->store_id, wall, li->lost - li->lost_reported);
			if (rc < 0)
				return rc;
			li->lost_reported = li->lost;
		}
	}
	return 0;
}

void live_capture_get_stats(const struct live_capture *c, struct live_capture_stats *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->packets = c->packets;
	st->bytes = c->bytes;
	st->filtered = c->filtered;
	st->bad_records = c->bad;
	for (i = 0; i < c->n; i++) {
		st->kernel_seen += c->ifs[i].seen;
		st->drops += c->ifs[i].lost;
	}
}

void live_capture_detach(struct live_capture *c)
{
	struct live_iface *li;
	size_t i;
	int p, rc;

	if (!c)
		return;
	for (i = 0; i < c->n; i++) {
		li = &c->ifs[i];
		for (p = LIVE_TC_INGRESS; p <= LIVE_TC_EGRESS; p++) {
			if (!li->attached[p])
				continue;
			rc = live_tc_detach(li->ifindex, (enum live_tc_point)p);
			if (rc < 0 && rc != -ENOENT)
				fprintf(stderr, "ecap-rec: cannot detach from %s: %s\n", li->name,
					strerror(-rc));
			li->attached[p] = false;
		}
		if (li->hook_created) {
			rc = live_tc_release_hook(li->ifindex);
			if (rc < 0 && rc != -ENOENT && rc != -EINVAL)
				fprintf(stderr, "ecap-rec: cannot remove the clsact qdisc of "
					"%s: %s\n", li->name, strerror(-rc));
			li->hook_created = false;
		}
	}
}

void live_capture_free(struct live_capture *c)
{
	if (!c)
		return;
	capture_bpf__destroy(c->skel);
	live_filter_free(c->filter);
	free(c->percpu);
	free(c);
}
