// SPDX-License-Identifier: GPL-2.0-only
/*
 * socket_scope.c - which socket records can never be needed under the recording's PCAP-FILTER
 * (socket_scope.h). This is the code that decides; the reasoning it rests on:
 *
 * 1. What a socket record is used for. A record names the owner of flows whose recorded
 *    packets carry the socket's own ends, and of nothing else: pipeline_socket_owner() and
 *    the pending owners match the flow key (namespace, protocol, both addresses and ports)
 *    exactly; an unconnected UDP socket (live_udp.c) owns the flows through its local address
 *    and port; a peer alias (pipeline_peer_socket) is the same tuple recorded in another
 *    namespace; a NAT link (pipeline_nat, nat_sightings.c, flow_links) joins two flows that
 *    were both recorded, the owner staying on the one that carries the socket's tuple. So a
 *    record is needed only if some recorded packet, on any interface and in any namespace,
 *    has the socket's protocol, addresses and ports (in either direction). Where NAT, a
 *    container's namespace or `-i any` give the same connection another tuple, that other
 *    tuple's flow never gets this socket's owner anyway (nothing maps one to the other), so
 *    NAT needs no exception: a NATed flow keeps its owner through its untranslated side, whose
 *    packets carry the socket's tuple and are judged by it.
 * 2. What the filter can say about such a packet. Every packet is judged by the one
 *    expression, whatever the interface. For a primitive P of the subset below, P true on a
 *    packet implies P true on the packet's own tuple (its flow key: decode.c reads the same IP
 *    and transport headers libpcap does); the converse does not hold: a VLAN tag in the bytes,
 *    an IPv6 extension header or a fragment make libpcap's `port 443` false on a packet the
 *    recorder still keys to port 443. So a primitive is "no" or "maybe", never "yes", and the
 *    expression is evaluated in three values (not no = yes, not maybe = maybe, and = min,
 *    or = max): `tcp and not port 22` rules out every UDP socket, `not port 22` nothing.
 *    A socket is left out only when the expression is "no" in both directions.
 * 3. What is not known is "maybe": the remote end of an unconnected socket (remote port 0),
 *    an address 0.0.0.0 or :: (bound to any), and the IP version unless an address says
 *    IPv6: the recorder keys an IPv4 packet with ::ffff:a.b.c.d addresses, and an IPv6
 *    packet that carries such addresses (odd, but anyone can send one) with the same key.
 * 4. What is understood (socket_scope_parse.c): plain combinations of tcp, udp, ip, ip6,
 *    host, net, port and portrange with numeric operands, read with libpcap's precedence and
 *    checked by compiling the reading with libpcap. Anything else (names, "port 80 or 443",
 *    vlan, byte offsets, "src or dst", ...) keeps every socket.
 */
#include "socket_scope.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socket_scope_impl.h"

enum val { NO = 0, MAYBE = 1, YES = 2 };

int socket_scope_new(const char *expr, struct socket_scope **out)
{
	struct socket_scope *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	*out = s;
	if (!expr || !*expr) {
		snprintf(s->why, sizeof(s->why), "no filter");
		return 0;
	}
	return socket_scope_parse(s, expr);
}

bool socket_scope_active(const struct socket_scope *s)
{
	return s && s->active;
}

const char *socket_scope_why(const struct socket_scope *s)
{
	return !s ? "no filter" : s->active ? "" : s->why;
}

void socket_scope_free(struct socket_scope *s)
{
	free(s);
}

/* ---- evaluation -------------------------------------------------------------------------- */

/* One end of a packet: its address when known. */
struct end {
	bool known;
	const uint8_t *addr;
	uint16_t port;
	bool port_known;
};

/* A packet of the socket, in one direction; family 0: IPv4 or IPv6. */
struct packet {
	uint8_t proto, family;
	struct end src, dst;
};

static bool addr_is_any(const uint8_t a[16])
{
	static const uint8_t zero[16], v4any[16] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, zero, 16) == 0 || memcmp(a, v4any, 16) == 0;
}

static bool is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, prefix, 12) == 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	return !rest || ((a[whole] ^ b[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

/* host or net against one end */
static enum val addr_match(const struct node *n, uint8_t family, const struct end *e)
{
	unsigned bits = n->prim == P_HOST ? 128 : n->family == 4 ? 96u + n->prefix : n->prefix;

	if (family && family != n->family)
		return NO;
	if (!e->known)
		return MAYBE;
	return prefix_equal(e->addr, n->addr, bits) ? MAYBE : NO;
}

static enum val port_match(const struct node *n, const struct end *e)
{
	if (!e->port_known)
		return MAYBE;
	return e->port >= n->lo && e->port <= n->hi ? MAYBE : NO;
}

static enum val either(enum val a, enum val b)
{
	return a > b ? a : b;
}

static enum val prim(const struct node *n, const struct packet *k)
{
	switch (n->prim) {
	case P_TCP:
		return k->proto == PROTO_TCP ? MAYBE : NO;
	case P_UDP:
		return k->proto == PROTO_UDP ? MAYBE : NO;
	case P_IP:
		return k->family == 6 ? NO : MAYBE;
	case P_IP6:
		return k->family == 4 ? NO : MAYBE;
	case P_HOST:
	case P_NET:
		return n->dir == DIR_SRC ? addr_match(n, k->family, &k->src) :
		       n->dir == DIR_DST ? addr_match(n, k->family, &k->dst) :
		       either(addr_match(n, k->family, &k->src),
			      addr_match(n, k->family, &k->dst));
	case P_PORT:
	case P_PORTRANGE:
		if (n->proto && n->proto != k->proto)
			return NO;
		if (k->proto != PROTO_TCP && k->proto != PROTO_UDP)
			return NO;
		return n->dir == DIR_SRC ? port_match(n, &k->src) :
		       n->dir == DIR_DST ? port_match(n, &k->dst) :
		       either(port_match(n, &k->src), port_match(n, &k->dst));
	}
	return MAYBE;
}

static enum val eval(const struct socket_scope *s, int i, const struct packet *k)
{
	const struct node *n = &s->n[i];
	enum val a, b;

	switch (n->op) {
	case OP_PRIM:
		return prim(n, k);
	case OP_NOT:
		a = eval(s, n->a, k);
		return a == MAYBE ? MAYBE : a == NO ? YES : NO;
	case OP_AND:
		a = eval(s, n->a, k);
		if (a == NO)
			return NO;
		b = eval(s, n->b, k);
		return a < b ? a : b;
	case OP_OR:
		a = eval(s, n->a, k);
		if (a == YES)
			return YES;
		b = eval(s, n->b, k);
		return a > b ? a : b;
	}
	return MAYBE;
}

bool socket_scope_needed(const struct socket_scope *s, const struct socket_owner *so)
{
	bool remote_known = so->remote_port != 0; /* unconnected: any remote end */
	struct end local = { .known = !addr_is_any(so->local_addr), .addr = so->local_addr,
			     .port = so->local_port, .port_known = true };
	struct end remote = { .known = remote_known && !addr_is_any(so->remote_addr),
			      .addr = so->remote_addr, .port = so->remote_port,
			      .port_known = remote_known };
	struct packet out = { .proto = so->proto }, in;

	if (!s || !s->active)
		return true;
	/* An IPv4 packet is keyed with ::ffff:a.b.c.d addresses, and so is an IPv6 packet that
	 * carries such addresses: only another IPv6 address says IPv6 for sure. */
	if ((local.known && !is_v4_mapped(so->local_addr)) ||
	    (remote.known && !is_v4_mapped(so->remote_addr)))
		out.family = 6;
	out.src = local;
	out.dst = remote;
	in = out;
	in.src = remote;
	in.dst = local;
	return eval(s, s->root, &out) != NO || eval(s, s->root, &in) != NO;
}

/* ---- the kernel's over-approximation ----------------------------------------------------- */

/* Sockets for which a node may be other than "no": protocol in protos and (all, or the local
 * or remote port in bits). */
struct approx {
	uint8_t protos;         /* bit 0 TCP, bit 1 UDP */
	bool all;
	uint64_t bits[65536 / 64];
};

static size_t approx_count(const struct approx *x)
{
	size_t n = 0;

	for (size_t w = 0; w < sizeof(x->bits) / sizeof(x->bits[0]); w++)
		n += (size_t)__builtin_popcountll(x->bits[w]);
	return n;
}

static int approx_of(const struct socket_scope *s, int i, struct approx *out)
{
	const struct node *n = &s->n[i];
	struct approx *b;
	int rc;

	memset(out, 0, sizeof(*out));
	out->protos = 3;
	out->all = true;
	if (n->op == OP_NOT)
		return 0; /* not x may be "yes" wherever x is "maybe": anything */
	if (n->op == OP_PRIM) {
		if (n->prim == P_TCP)
			out->protos = 1;
		else if (n->prim == P_UDP)
			out->protos = 2;
		if (n->prim != P_PORT && n->prim != P_PORTRANGE)
			return 0;
		out->protos = n->proto == PROTO_TCP ? 1 : n->proto == PROTO_UDP ? 2 : 3;
		out->all = false;
		for (uint32_t port = n->lo; port <= n->hi; port++)
			out->bits[port / 64] |= 1ull << (port % 64);
		return 0;
	}
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	rc = approx_of(s, n->a, out);
	if (rc == 0)
		rc = approx_of(s, n->b, b);
	if (rc == 0 && n->op == OP_AND) {
		/* both may pass: the protocols of both, the ports of either (the smaller set;
		 * "src port 80 and dst port 443" is a socket with one of each) */
		out->protos &= b->protos;
		if (out->all || (!b->all && approx_count(b) < approx_count(out))) {
			memcpy(out->bits, b->bits, sizeof(out->bits));
			out->all = b->all;
		}
	} else if (rc == 0) {
		out->protos |= b->protos;
		out->all = out->all || b->all;
		for (size_t w = 0; w < sizeof(out->bits) / sizeof(out->bits[0]); w++)
			out->bits[w] |= b->bits[w];
	}
	free(b);
	return rc;
}

int socket_scope_ports(const struct socket_scope *s, uint8_t *protos, bool *all_ports,
		       uint16_t *ports, size_t max, size_t *n)
{
	struct approx *x;
	int rc;

	*protos = 3;
	*all_ports = true;
	*n = 0;
	if (!s || !s->active)
		return 0;
	x = malloc(sizeof(*x));
	if (!x)
		return -ENOMEM;
	rc = approx_of(s, s->root, x);
	if (rc == 0) {
		*protos = x->protos;
		if (!x->all && approx_count(x) > max) {
			rc = -ENOSPC;
		} else if (!x->all) {
			*all_ports = false;
			for (uint32_t port = 0; port < 65536; port++)
				if (x->bits[port / 64] >> (port % 64) & 1)
					ports[(*n)++] = (uint16_t)port;
		}
	}
	free(x);
	return rc;
}
