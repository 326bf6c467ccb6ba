// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_udp.c - owners of unconnected UDP sockets, matched to packets by their local end.
 *
 * A UDP socket that never called connect() has no remote address: the kernel side reports it
 * with its network namespace, local address (often 0.0.0.0 or ::) and port only. Such a
 * socket owns every UDP flow through that local end in its namespace, whenever the flow
 * starts: a packet is matched only to sockets of the namespace it was recorded in. This
 * table remembers them for the whole run (binds: open addressing by namespace, address and
 * port, overwritten by a newer owner of the same end) and, for each UDP packet, reports the
 * owner of its local end(s) to the pipeline with the packet's exact tuple, once per tuple and
 * owner (a direct-mapped cache). The owner of a one-datagram exchange may arrive after its
 * packet: the last unmatched tuples are kept in a small ring and looked at again when a
 * socket is learned.
 *
 * The packet path reads the headers the pipeline decoded (pipeline_packet_decoded): UDP
 * packets are looked up (when any socket is known) and remembered in the ring when unmatched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "live_internal.h"

#define BIND_SLOTS 4096u
#define BIND_PROBE 16u
#define CACHE_SLOTS 4096u
#define RECENT_SLOTS 64u
#define IPPROTO_UDP_NR 17

struct bind {
	uint8_t addr[16];
	uint16_t port;
	uint8_t used;
	uint32_t netns;
	struct ecap_proc proc;
};

struct tuple {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t netns;        /* where the packet was recorded */
};
_Static_assert(sizeof(struct tuple) == 40, "tuples are compared as bytes: no padding");

struct cached {
	struct tuple t;
	uint32_t pid;          /* owner reported (0: the slot is empty) */
};

struct live_udp {
	struct pipeline *p;
	const struct live_clock *clock;
	struct bind *binds;
	uint32_t n_binds;
	struct cached *cache;
	struct tuple recent[RECENT_SLOTS];
	uint64_t recent_ts[RECENT_SLOTS];
	uint32_t recent_next, n_recent;
	uint64_t attributed;
	/* The last tuple looked up and the generation of the tables then: the packets of one
	 * flow in a row need no lookup while no socket was learned meanwhile. */
	struct tuple last;
	uint64_t last_gen, gen;
};

static const uint8_t any4[16] = { [10] = 0xff, [11] = 0xff };
static const uint8_t any6[16];

/* Hashes of 16-byte addresses and ports, eight bytes a step. */
static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9E3779B97F4A7C15ull;
	return h ^ (h >> 29);
}

static uint64_t addr_mix(uint64_t h, const uint8_t a[16])
{
	uint64_t lo, hi;

	memcpy(&lo, a, 8);
	memcpy(&hi, a + 8, 8);
	return mix(mix(h, lo), hi);
}

static uint32_t bind_hash(uint32_t netns, const uint8_t addr[16], uint16_t port)
{
	return (uint32_t)addr_mix((uint64_t)netns << 16 | port, addr);
}

static struct bind *bind_find(struct live_udp *u, uint32_t netns, const uint8_t addr[16],
			      uint16_t port)
{
	uint32_t h = bind_hash(netns, addr, port), k;
	struct bind *b;

	for (k = 0; k < BIND_PROBE; k++) {
		b = &u->binds[(h + k) & (BIND_SLOTS - 1)];
		if (!b->used)
			return NULL;
		if (b->port == port && b->netns == netns && memcmp(b->addr, addr, 16) == 0)
			return b;
	}
	return NULL;
}

/* The socket of namespace netns owning local end (addr, port): bound to that address, or to
 * any. */
static struct bind *bind_match(struct live_udp *u, uint32_t netns, const uint8_t addr[16],
			       uint16_t port)
{
	const uint8_t *const try[3] = { addr, any4, any6 };
	struct bind *b;
	int i;

	for (i = 0; i < 3; i++) {
		b = bind_find(u, netns, try[i], port);
		if (b && b->proc.valid)
			return b;
	}
	return NULL;
}

static uint32_t tuple_hash(const struct tuple *t)
{
	return (uint32_t)addr_mix(addr_mix((uint64_t)t->netns << 32 | (uint64_t)t->sport << 16 |
					   t->dport, t->src), t->dst);
}

int live_udp_new(struct pipeline *p, const struct live_clock *clock, struct live_udp **out)
{
	struct live_udp *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	u->binds = calloc(BIND_SLOTS, sizeof(*u->binds));
	u->cache = calloc(CACHE_SLOTS, sizeof(*u->cache));
	if (!u->binds || !u->cache) {
		live_udp_free(u);
		return -ENOMEM;
	}
	u->p = p;
	u->clock = clock;
	*out = u;
	return 0;
}

void live_udp_free(struct live_udp *u)
{
	if (!u)
		return;
	free(u->binds);
	free(u->cache);
	free(u);
}

uint64_t live_udp_attributed(const struct live_udp *u)
{
	return u->attributed;
}

/* Report b as the owner of one end of t, once per local end, remote end and owner. */
static int report(struct live_udp *u, const struct tuple *t, bool local_is_src,
		  const struct bind *b, uint64_t ts_ns)
{
	struct socket_owner so;
	struct tuple lr;        /* oriented: src is the local end */
	struct cached *c;
	int rc;

	memcpy(lr.src, local_is_src ? t->src : t->dst, 16);
	memcpy(lr.dst, local_is_src ? t->dst : t->src, 16);
	lr.sport = local_is_src ? t->sport : t->dport;
	lr.dport = local_is_src ? t->dport : t->sport;
	lr.netns = t->netns;
	c = &u->cache[tuple_hash(&lr) & (CACHE_SLOTS - 1)];
	if (c->pid == b->proc.pid && memcmp(&c->t, &lr, sizeof(lr)) == 0)
		return 0;
	memset(&so, 0, sizeof(so));
	so.proto = IPPROTO_UDP_NR;
	memcpy(so.local_addr, lr.src, 16);
	memcpy(so.remote_addr, lr.dst, 16);
	so.local_port = lr.sport;
	so.remote_port = lr.dport;
	so.netns = lr.netns;
	so.proc = b->proc;
	rc = pipeline_socket_owner(u->p, &so, ts_ns);
	if (rc < 0)
		return rc;
	c->t = lr;
	c->pid = b->proc.pid;
	u->attributed++;
	return 0;
}

/* Attribute both ends of t that belong to known sockets; 1 when one did. */
static int attribute(struct live_udp *u, const struct tuple *t, uint64_t ts_ns)
{
	struct bind *b;
	int rc, hit = 0;

	b = bind_match(u, t->netns, t->src, t->sport);
	if (b) {
		rc = report(u, t, true, b, ts_ns);
		if (rc < 0)
			return rc;
		hit = 1;
	}
	b = bind_match(u, t->netns, t->dst, t->dport);
	if (b) {
		rc = report(u, t, false, b, ts_ns);
		if (rc < 0)
			return rc;
		hit = 1;
	}
	return hit;
}

int live_udp_bind(struct live_udp *u, uint32_t netns, const uint8_t addr[16], uint16_t port,
		  const struct ecap_proc *proc, uint64_t ts_wall_ns)
{
	uint32_t h = bind_hash(netns, addr, port), k, i;
	struct bind *b = NULL, *e;
	int rc;

	if (netns == 0)
		return 0; /* a socket of no known namespace owns nothing */
	for (k = 0; k < BIND_PROBE; k++) {
		e = &u->binds[(h + k) & (BIND_SLOTS - 1)];
		if (!e->used ||
		    (e->port == port && e->netns == netns && memcmp(e->addr, addr, 16) == 0)) {
			b = e;
			break;
		}
	}
	if (!b || u->n_binds >= BIND_SLOTS / 4 * 3) {
		/* Full: start over; sockets still in use are learned again from /proc or when
		 * new ones appear. */
		memset(u->binds, 0, BIND_SLOTS * sizeof(*u->binds));
		u->n_binds = 0;
		b = &u->binds[h & (BIND_SLOTS - 1)];
	}
	if (!b->used)
		u->n_binds++;
	u->gen++;
	memcpy(b->addr, addr, 16);
	b->port = port;
	b->used = 1;
	b->netns = netns;
	b->proc = *proc;

	/* Packets that came before their socket was known. */
	for (i = 0; i < RECENT_SLOTS && u->n_recent; i++) {
		if (u->recent_ts[i] == 0)
			continue;
		rc = attribute(u, &u->recent[i], ts_wall_ns);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			u->recent_ts[i] = 0;
			u->n_recent--;
		}
	}
	return 0;
}

void live_udp_connected(struct live_udp *u, const struct socket_owner *so)
{
	struct cached *c;
	struct bind *b;
	struct tuple lr;

	/* An unconnected socket of another process on this end is gone: the end is taken. */
	u->gen++;
	b = bind_match(u, so->netns, so->local_addr, so->local_port);
	if (b && b->proc.pid != so->proc.pid)
		b->proc.valid = false;
	memset(&lr, 0, sizeof(lr));
	memcpy(lr.src, so->local_addr, 16);
	memcpy(lr.dst, so->remote_addr, 16);
	lr.sport = so->local_port;
	lr.dport = so->remote_port;
	lr.netns = so->netns;
	c = &u->cache[tuple_hash(&lr) & (CACHE_SLOTS - 1)];
	c->t = lr;
	c->pid = so->proc.pid;
}

int live_udp_packet(struct live_udp *u, uint32_t netns, const struct decoded *d, int res,
		    uint64_t ts_ns)
{
	struct tuple t;
	uint32_t slot;
	int rc;

	if (res != DECODE_L4 || d->proto != IPPROTO_UDP_NR)
		return 0;
	t.netns = netns;
	memcpy(t.src, d->src, 16);
	memcpy(t.dst, d->dst, 16);
	t.sport = d->sport;
	t.dport = d->dport;
	if (u->last_gen == u->gen && u->gen && memcmp(&t, &u->last, sizeof(t)) == 0)
		return 0; /* the same flow as the last packet, attributed then */
	rc = u->n_binds ? attribute(u, &t, ts_ns) : 0;
	if (rc > 0) {
		u->last = t;
		u->last_gen = u->gen;
	}
	if (rc != 0)
		return rc < 0 ? rc : 0;
	slot = u->recent_next++ % RECENT_SLOTS;
	if (u->recent_ts[slot] == 0)
		u->n_recent++;
	u->recent[slot] = t;
	u->recent_ts[slot] = ts_ns ? ts_ns : 1;
	return 0;
}
