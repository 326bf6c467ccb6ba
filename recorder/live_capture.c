// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_capture.c - packets from the TC programs of bpf/capture.bpf.c into the pipeline.
 *
 * At start: each -i interface gets a slot (0..LIVE_IFACES_MAX-1), a store interface (one IDB:
 * name, link type, snaplen, filter text) and an entry in the programs' "ifaces" map; stale
 * filters of a killed recorder are removed (and the clsact qdisc only they used: on one of
 * our interfaces it is taken over, removed at the end); then the programs are attached, ingress and
 * egress, except on loopback devices, where the same skb passes egress and then ingress:
 * there only egress is attached, so each packet is recorded once, as outbound.
 *
 * Per record (live_capture_on_event, the hot path): check the record against its size,
 * apply PCAP-FILTER unless the kernel did (live_kfilter.h), turn the monotonic timestamp
 * into wall clock, hand the packet to the pipeline, then to live_udp.c. No allocation, no
 * syscall.
 *
 * Once a second: the per-CPU loss counters of each slot are summed and their growth goes to
 * pipeline_drops() (the store records it per interface, exported as isb_ifdrop).
 *
 * Interfaces come and go (a veth deleted and made again): an rtnetlink socket on the link
 * group wakes the loop (live_capture_link_fd) and every -i name is looked up again
 * (live_capture_relink). A name whose device went away is marked detached (its filters and
 * qdisc died with it) and its map entry cleared; when a device of that name returns, with a
 * new ifindex, it gets a map entry under its new index and the programs are attached again.
 * Its slot and store interface stay the same, so its packets before and after are one
 * interface in the store. Without the socket, the once-a-second tick looks the names up.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.skel.h"
#include "ecap.h"
#include "live_internal.h"
#include "live_kfilter.h"

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
	bool gone;              /* the device went away: nothing attached, no map entry */
	int refused_ifindex;    /* returned under this index but could not be attached */
	uint64_t lost_reported; /* loss counter total already given to pipeline_drops() */
	uint64_t seen, lost;    /* last read of the kernel counters */
	uint64_t kfiltered;     /* of those, skipped by the filter in the kernel */
	bool kernel_filter;     /* PCAP-FILTER runs in the kernel here (live_kfilter.h) */
};

struct live_capture {
	struct pipeline *p;
	struct live_udp *udp;
	const struct live_clock *clock;
	struct capture_bpf *skel;
	struct live_filter *filter;
	struct live_kfilter *kfilter; /* with filter: the kernel side */
	struct live_iface ifs[ECAP_IFACES_MAX];
	size_t n;
	struct ecap_counters *percpu; /* scratch for reading per-CPU counters */
	int ncpu;
	struct store *store;
	int link_fd;                  /* rtnetlink, link group; -1: names checked by the tick */
	uint32_t snaplen;
	const char *filter_text;
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

/* The device's ARPHRD type and the link type its packets are recorded with. */
static int link_type(const char *name, int *type, uint16_t *linktype)
{
	int rc = read_iface_type(name, type);

	if (rc < 0) {
		fprintf(stderr, "ecap-rec: cannot read the type of %s: %s\n", name, strerror(-rc));
		return rc;
	}
	if (*type == ARPHRD_ETHER_NR || *type == ARPHRD_LOOPBACK_NR) {
		*linktype = LINKTYPE_ETHERNET; /* lo's skbs carry an Ethernet header too */
	} else if (*type == ARPHRD_NONE_NR) {
		*linktype = LINKTYPE_RAW;      /* tun, wireguard: IP from the first byte */
	} else {
		fprintf(stderr, "ecap-rec: %s: link type %d is not supported (Ethernet, loopback "
			"and raw IP devices are)\n", name, *type);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The ifindex holding map entry key, 0 when it is free. */
static uint32_t slot_owner(struct live_capture *c, uint32_t key)
{
	struct ecap_iface_cfg cfg;

	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.ifaces), &key, &cfg) < 0)
		return 0;
	return cfg.ifindex;
}

/* ifindex 0 frees the entry. */
static int set_map_entry(struct live_capture *c, uint32_t key, uint32_t ifindex, uint32_t slot)
{
	struct ecap_iface_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ifindex = ifindex;
	cfg.slot = ifindex ? slot : 0;
	cfg.snaplen = ifindex ? c->snaplen : 0;
	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.ifaces), &key, &cfg, BPF_ANY) < 0)
		return -errno;
	return 0;
}

/* The store interface (one IDB) of li's name and link type: the same one again when a
 * device of that name returns with the same type. */
static int store_iface(struct live_capture *c, struct store *s, struct live_iface *li)
{
	struct ecap_iface rec;
	int rc;

	if (c->filter) {
		rc = live_filter_prepare(c->filter, li->linktype);
		if (rc < 0)
			return rc;
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.name, sizeof(rec.name), "%s", li->name);
	rec.linktype = li->linktype;
	rec.snaplen = c->snaplen;
	if (c->filter_text)
		snprintf(rec.filter, sizeof(rec.filter), "%s", c->filter_text);
	rc = store_add_interface(s, &rec, &li->store_id);
	if (rc < 0)
		fprintf(stderr, "ecap-rec: %s\n", store_errmsg(s));
	return rc;
}

static int setup_iface(struct live_capture *c, const char *name, struct store *s)
{
	struct live_iface *li = &c->ifs[c->n];
	uint32_t key, other;
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
	rc = link_type(name, &type, &li->linktype);
	if (rc < 0)
		return rc;
	li->is_lo = type == ARPHRD_LOOPBACK_NR;
	key = (uint32_t)li->ifindex % ECAP_IFSLOTS;
	other = slot_owner(c, key);
	if (other) {
		fprintf(stderr, "ecap-rec: interfaces %s and index %u share a slot; record them "
			"with two recorders\n", name, other);
		return -EINVAL;
	}
	rc = set_map_entry(c, key, (uint32_t)li->ifindex, (uint32_t)c->n);
	if (rc < 0)
		return rc;
	rc = store_iface(c, s, li);
	if (rc < 0)
		return rc;
	if (c->kfilter)
		li->kernel_filter = live_kfilter_add(c->kfilter, (uint32_t)c->n, li->linktype,
						     li->is_lo, li->name);
	c->n++;
	return 0;
}

static int attach_one(struct live_capture *c, struct live_iface *li)
{
	int rc, p;

	for (p = LIVE_TC_INGRESS; p <= LIVE_TC_EGRESS; p++) {
		int fd = p == LIVE_TC_INGRESS ? bpf_program__fd(c->skel->progs.ecap_ingress)
					      : bpf_program__fd(c->skel->progs.ecap_egress);

		if (li->is_lo && p == LIVE_TC_INGRESS)
			continue;
		rc = live_tc_attach(li->ifindex, (enum live_tc_point)p, fd, &li->hook_created);
		if (rc < 0) {
			fprintf(stderr, "ecap-rec: cannot attach to %s %s: %s\n", li->name,
				p == LIVE_TC_INGRESS ? "ingress" : "egress", strerror(-rc));
			return rc;
		}
		li->attached[p] = true;
	}
	return 0;
}

/* Our filters and qdisc off li's device; quiet when the device is gone already. */
static void detach_one(struct live_iface *li)
{
	bool there = (int)if_nametoindex(li->name) == li->ifindex;
	int p, rc;

	for (p = LIVE_TC_INGRESS; p <= LIVE_TC_EGRESS; p++) {
		if (!li->attached[p])
			continue;
		rc = live_tc_detach(li->ifindex, (enum live_tc_point)p);
		if (rc < 0 && rc != -ENOENT && rc != -ENODEV && there)
			fprintf(stderr, "ecap-rec: cannot detach from %s: %s\n", li->name,
				strerror(-rc));
		li->attached[p] = false;
	}
	if (li->hook_created) {
		rc = live_tc_release_hook(li->ifindex);
		if (rc < 0 && rc != -ENOENT && rc != -EINVAL && rc != -ENODEV && there)
			fprintf(stderr, "ecap-rec: cannot remove the clsact qdisc of %s: %s\n",
				li->name, strerror(-rc));
		li->hook_created = false;
	}
}

/* live_tc_remove_stale: a qdisc emptied of stale filters, on a device we attach to, is
 * ours to remove at the end. */
static bool claim_hook(int ifindex, void *ctx)
{
	struct live_capture *c = ctx;
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (c->ifs[i].ifindex == ifindex) {
			c->ifs[i].hook_created = true;
			return true;
		}
	}
	return false;
}

static int attach_all(struct live_capture *c)
{
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++) {
		rc = attach_one(c, &c->ifs[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* An rtnetlink socket on the link group, non-blocking; -1 when there is none (the tick then
 * looks the names up once a second). */
static int link_socket(void)
{
	struct sockaddr_nl sa;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_LINK;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* li's device is gone (or renamed: then our filters still sit on it and are taken off). */
static void iface_gone(struct live_capture *c, struct live_iface *li)
{
	uint32_t key = (uint32_t)li->ifindex % ECAP_IFSLOTS;

	detach_one(li);
	if (slot_owner(c, key) == (uint32_t)li->ifindex)
		set_map_entry(c, key, 0, 0);
	li->gone = true;
	li->refused_ifindex = 0;
	fprintf(stderr, "ecap-rec: %s went away; still recording the others; it is attached "
		"again when it returns\n", li->name);
}

/* A device named like the gone li exists again, as ifindex. */
static void iface_back(struct live_capture *c, struct live_iface *li, int ifindex)
{
	uint32_t key = (uint32_t)ifindex % ECAP_IFSLOTS, other;
	uint32_t slot = (uint32_t)(li - c->ifs), old_id = li->store_id;
	uint16_t linktype;
	int type, rc;

	if (li->refused_ifindex == ifindex)
		return; /* said so already */
	li->refused_ifindex = ifindex;
	rc = link_type(li->name, &type, &linktype);
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: %s is back (index %d) but is not recorded\n", li->name,
			ifindex);
		return;
	}
	other = slot_owner(c, key);
	if (other && other != (uint32_t)ifindex) {
		fprintf(stderr, "ecap-rec: %s is back as index %d, which shares a slot with index "
			"%u: it is not recorded (record it with a second recorder); still "
			"recording the others\n", li->name, ifindex, other);
		return;
	}
	if (linktype != li->linktype) {
		uint16_t old = li->linktype;

		li->linktype = linktype;
		rc = store_iface(c, c->store, li);
		if (rc < 0) {
			li->linktype = old;
			li->store_id = old_id;
			fprintf(stderr, "ecap-rec: %s is back with another link type and is not "
				"recorded\n", li->name);
			return;
		}
	}
	li->ifindex = ifindex;
	li->is_lo = type == ARPHRD_LOOPBACK_NR;
	if (c->kfilter) /* the link type or the attach points may have changed */
		li->kernel_filter = live_kfilter_add(c->kfilter, slot, li->linktype, li->is_lo,
						     li->name);
	rc = set_map_entry(c, key, (uint32_t)ifindex, slot);
	if (rc == 0)
		rc = attach_one(c, li);
	if (rc < 0) {
		detach_one(li);
		set_map_entry(c, key, 0, 0);
		fprintf(stderr, "ecap-rec: %s is back (index %d) but cannot be attached: %s; "
			"still recording the others\n", li->name, ifindex, strerror(-rc));
		return;
	}
	li->gone = false;
	li->refused_ifindex = 0;
	fprintf(stderr, "ecap-rec: %s is back (index %d); attached again\n", li->name, ifindex);
}

/* Looks every name up again. */
static void relink(struct live_capture *c)
{
	struct live_iface *li;
	size_t i;
	int idx;

	for (i = 0; i < c->n; i++) {
		li = &c->ifs[i];
		idx = (int)if_nametoindex(li->name);
		if (!li->gone) {
			if (idx == li->ifindex)
				continue;
			iface_gone(c, li);
		}
		if (idx)
			iface_back(c, li, idx);
	}
}

int live_capture_link_fd(const struct live_capture *c)
{
	return c->link_fd;
}

int live_capture_on_link(struct live_capture *c)
{
	char buf[8192];
	ssize_t n;

	if (c->link_fd < 0)
		return 0;
	/* What changed does not matter: every name is looked up once the socket is empty. */
	for (;;) {
		n = recv(c->link_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && (errno == EINTR || errno == ENOBUFS)))
			continue; /* ENOBUFS: messages were lost; the lookup covers them */
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			fprintf(stderr, "ecap-rec: link notifications: %s; interfaces are checked "
				"once a second from now on\n", strerror(errno));
			close(c->link_fd);
			c->link_fd = -1;
		}
		break;
	}
	relink(c);
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
	c->store = s;
	c->link_fd = -1;
	c->snaplen = opt->snaplen && opt->snaplen < ECAP_CAP_MAX ? opt->snaplen : ECAP_CAP_MAX;
	c->filter_text = opt->filter;
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
	if (c->filter) {
		rc = live_kfilter_new(c->skel, c->filter, &c->kfilter);
		if (rc < 0)
			goto fail;
	}
	/* Before the names are looked up, so that no change falls between the two. */
	c->link_fd = link_socket();
	for (i = 0; i < opt->n_ifaces; i++) {
		rc = setup_iface(c, opt->ifaces[i], s);
		if (rc < 0)
			goto fail;
	}
	live_libbpf_mute(true); /* querying hooks that do not exist makes libbpf complain */
	rc = live_tc_remove_stale(claim_hook, c);
	live_libbpf_mute(false);
	if (rc < 0)
		goto fail;
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
	if (c->filter && !li->kernel_filter &&
	    !live_filter_match(c->filter, li->linktype, bytes, ev.caplen, ev.len)) {
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
		sum->filtered += c->percpu[i].filtered;
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

	if (c->link_fd < 0)
		relink(c);
	for (i = 0; i < c->n; i++) {
		li = &c->ifs[i];
		if (read_counters(c, (uint32_t)i, &sum) < 0)
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
		st->filtered += c->ifs[i].kfiltered;
		st->filtered_kernel += c->ifs[i].kfiltered;
	}
}

void live_capture_detach(struct live_capture *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		detach_one(&c->ifs[i]);
}

void live_capture_free(struct live_capture *c)
{
	if (!c)
		return;
	if (c->link_fd >= 0)
		close(c->link_fd);
	capture_bpf__destroy(c->skel);
	live_kfilter_free(c->kfilter);
	live_filter_free(c->filter);
	free(c->percpu);
	free(c);
}
