// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_iface.c - the interfaces of the live capture: each -i name gets a slot, a store
 * interface (one IDB: name, link type, snaplen, filter text) and an entry in the programs'
 * "ifaces" map, then the TC programs are attached (egress only on loopback devices, where
 * the same skb passes egress and then ingress).
 *
 * Interfaces come and go (a veth deleted and made again): an rtnetlink socket on the link
 * group wakes the loop and every -i name is looked up again (live_iface_relink). The same
 * socket hears the TC group: a qdisc or filter changed on one of our devices (ours taken off
 * by another program) has our filters checked at once (live_iface_check_attached), so that
 * the check needs no question to the kernel each second, only a slow one as a backstop
 * (live_capture_tick). A name
 * whose device went away is marked gone (its filters and qdisc died with it) and its map
 * entry cleared; when a device of that name returns, with a new ifindex, it gets a map entry
 * under its new index and the programs are attached again. Its slot and store interface
 * stay the same, so its packets before and after are one interface in the store.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.skel.h"
#include "live_capture_impl.h"
#include "live_kfilter.h"

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
		*linktype = DECODE_LT_ETHERNET; /* lo's skbs carry an Ethernet header too */
	} else if (*type == ARPHRD_NONE_NR) {
		*linktype = DECODE_LT_RAW;      /* tun, wireguard: IP from the first byte */
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
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: %s\n", store_errmsg(s));
		return rc;
	}
	return pipeline_iface_netns(c->p, li->store_id, li->netns);
}

int live_iface_setup(struct live_capture *c, const char *name, struct store *s)
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
	li->netns = c->netns; /* -i names a device of the recorder's own namespace */
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

/*
 * Our filters are still on li's device, unless another program took them off: the clean-up
 * of a recorder that stopped as we attached (it saw no other filter and removed the qdisc),
 * or tc by hand. The device stays, and its packets would go unrecorded for as long as we
 * run: a missing filter is attached again, and said. When the TC group tells of a change on
 * the device (live_capture_on_link), and as a backstop every few seconds (live_capture_tick;
 * once a second without the TC group).
 */
/*
 * The check's netlink socket, kept (c->tc_nl): the device's index by name
 * (SIOCGIFINDEX, as if_nametoindex() asks, which opens a socket each time) and our filters'
 * presence (live_tc_present_on(), which libbpf's query opens, binds and closes a socket for).
 * Opened when needed; closed after a failed question, to be opened again at the next.
 */
static int check_socket(struct live_capture *c)
{
	if (c->tc_nl < 0)
		c->tc_nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	return c->tc_nl;
}

static void check_socket_failed(struct live_capture *c)
{
	if (c->tc_nl >= 0)
		close(c->tc_nl);
	c->tc_nl = -1;
}

/* if_nametoindex(name) over the kept socket: 0 when no device has that name. */
static int index_of(struct live_capture *c, const char *name)
{
	struct ifreq ifr;
	int fd = check_socket(c);

	if (fd < 0 || strlen(name) >= sizeof(ifr.ifr_name))
		return (int)if_nametoindex(name);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, SIOCGIFINDEX, &ifr) == 0)
		return ifr.ifr_ifindex;
	if (errno == ENODEV)
		return 0;
	check_socket_failed(c);
	return (int)if_nametoindex(name);
}

static int present(struct live_capture *c, int ifindex, enum live_tc_point p)
{
	int fd = check_socket(c), rc;

	if (fd < 0)
		return live_tc_present(ifindex, p);
	rc = live_tc_present_on(fd, &c->tc_seq, ifindex, p);
	if (rc < 0 && rc != -ENODEV) {
		check_socket_failed(c);
		rc = live_tc_present(ifindex, p);
	}
	return rc;
}

void live_iface_check_attached(struct live_capture *c, struct live_iface *li)
{
	bool there = !li->gone && index_of(c, li->name) == li->ifindex;
	int p, fd, rc;

	for (p = LIVE_TC_INGRESS; there && p <= LIVE_TC_EGRESS; p++) {
		if (!li->attached[p] || present(c, li->ifindex, (enum live_tc_point)p) != 0)
			continue; /* there, or it cannot be told */
		fd = p == LIVE_TC_INGRESS ? bpf_program__fd(c->skel->progs.ecap_ingress)
					  : bpf_program__fd(c->skel->progs.ecap_egress);
		rc = live_tc_attach(li->ifindex, (enum live_tc_point)p, fd, &li->hook_created);
		if (rc < 0)
			li->attached[p] = false;
		fprintf(stderr, "ecap-rec: our capture filter on %s %s was taken off by another "
			"program; %s%s (packets meanwhile were not recorded)\n", li->name,
			p == LIVE_TC_INGRESS ? "ingress" : "egress",
			rc < 0 ? "cannot attach it again: " : "attached it again",
			rc < 0 ? strerror(-rc) : "");
	}
}

/* Our filters and qdisc off li's device; quiet when the device is gone already. */
void live_iface_detach(struct live_iface *li)
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
bool live_iface_claim_hook(int ifindex, void *ctx)
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

int live_iface_attach_all(struct live_capture *c)
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

/* An rtnetlink socket on the link and TC groups, non-blocking; -1 when there is none (the
 * tick then looks the names up and checks our filters once a second). *tc: it hears the TC
 * group (else the link group only: the filters are checked once a second). */
int live_iface_link_socket(bool *tc)
{
	struct sockaddr_nl sa;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	*tc = false;
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_LINK | RTMGRP_TC;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		*tc = true;
		return fd;
	}
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

	live_iface_detach(li);
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
		live_iface_detach(li);
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
void live_iface_relink(struct live_capture *c)
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

/* Whether the interface index is one of ours (a TC message about another device is not). */
static bool ours(const struct live_capture *c, int ifindex)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!c->ifs[i].gone && c->ifs[i].ifindex == ifindex)
			return true;
	return false;
}

/* What the notices of one wake-up ask for (notices()). */
#define NOTICE_LINK 1u /* look every name up again */
#define NOTICE_TC 2u   /* check our filters */

/*
 * The kinds of the messages in buf (n bytes, as the kernel sent them; nothing here trusts
 * them: at worst a message makes a look or a check that finds nothing changed). A link
 * message asks for a lookup, a TC message (qdisc, filter, chain) about one of our devices
 * for a check; anything cut short or unknown asks for both.
 */
static unsigned int notices(const struct live_capture *c, const char *buf, size_t n)
{
	struct nlmsghdr nh;
	struct tcmsg t;
	unsigned int want = 0;
	size_t off;

	for (off = 0; off + sizeof(nh) <= n; off += NLMSG_ALIGN(nh.nlmsg_len)) {
		memcpy(&nh, buf + off, sizeof(nh));
		if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > n - off)
			return NOTICE_LINK | NOTICE_TC;
		switch (nh.nlmsg_type) {
		case RTM_NEWLINK:
		case RTM_DELLINK:
			want |= NOTICE_LINK;
			break;
		case RTM_NEWQDISC:
		case RTM_DELQDISC:
		case RTM_NEWTFILTER:
		case RTM_DELTFILTER:
		case RTM_NEWCHAIN:
		case RTM_DELCHAIN:
			if (nh.nlmsg_len < NLMSG_LENGTH(sizeof(t)))
				return NOTICE_LINK | NOTICE_TC;
			memcpy(&t, buf + off + NLMSG_HDRLEN, sizeof(t));
			if (ours(c, t.tcm_ifindex))
				want |= NOTICE_TC;
			break;
		case RTM_NEWTCLASS: /* classes hold no filter of ours */
		case RTM_DELTCLASS:
			break;
		default:
			return NOTICE_LINK | NOTICE_TC;
		}
	}
	return want;
}

int live_capture_on_link(struct live_capture *c)
{
	char buf[8192];
	struct sockaddr_nl from;
	socklen_t flen;
	unsigned int want = 0;
	ssize_t n;
	size_t i;

	if (c->link_fd < 0)
		return 0;
	/* What changed is only a hint: every name is looked up, or every filter checked, once
	 * the socket is empty. */
	for (;;) {
		flen = sizeof(from);
		n = recvfrom(c->link_fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
			     &flen);
		if (n > 0) {
			/* only the kernel's messages (a program in our namespace may send too) */
			if (flen >= sizeof(from) && from.nl_family == AF_NETLINK && from.nl_pid == 0)
				want |= notices(c, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EINTR || errno == ENOBUFS)) {
			/* ENOBUFS: messages were lost; the lookup and the check cover them */
			want |= errno == ENOBUFS ? NOTICE_LINK | NOTICE_TC : 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			fprintf(stderr, "ecap-rec: link notifications: %s; interfaces and our filters "
				"are checked once a second from now on\n", strerror(errno));
			close(c->link_fd);
			c->link_fd = -1;
			c->tc_notified = false;
			want = NOTICE_LINK | NOTICE_TC;
		}
		break;
	}
	if (want & NOTICE_LINK)
		live_iface_relink(c);
	if (want & NOTICE_TC) {
		/* the backstop counts from this check (live_capture_tick) */
		c->tc_checked_ns = live_clock_mono_ns();
		for (i = 0; i < c->n; i++)
			live_iface_check_attached(c, &c->ifs[i]);
	}
	return 0;
}
