/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * socket_scope_impl.h - the parsed filter shared by socket_scope.c (which sockets it rules
 * out) and socket_scope_parse.c (reading the expression, checked against libpcap).
 */
#ifndef ECAP_SOCKET_SCOPE_IMPL_H
#define ECAP_SOCKET_SCOPE_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#define MAX_NODES 64
#define PROTO_TCP 6
#define PROTO_UDP 17

enum op { OP_AND, OP_OR, OP_NOT, OP_PRIM };

enum prim { P_TCP, P_UDP, P_IP, P_IP6, P_HOST, P_NET, P_PORT, P_PORTRANGE };

enum dir { DIR_ANY, DIR_SRC, DIR_DST };

struct node {
	enum op op;
	int a, b;               /* children (b: AND and OR only) */
	enum prim prim;
	enum dir dir;
	uint8_t proto;          /* port, portrange: 0 (TCP or UDP), PROTO_TCP, PROTO_UDP */
	uint8_t family;         /* host, net: the address's (4, 6); the qualifier agrees */
	uint8_t qual_family;    /* host, net: 0 none, 4 ip, 6 ip6 (rendered as written) */
	uint8_t addr[16];       /* host, net: IPv4 as ::ffff:a.b.c.d */
	uint8_t prefix;         /* net: bits of addr that count (IPv4: of the last 32) */
	uint16_t lo, hi;        /* port: lo == hi */
};

struct socket_scope {
	bool active;
	int root;
	struct node n[MAX_NODES];
	int n_nodes;
	char why[160];
};

/*
 * Reads expr into s (s->root, s->n): s->active when it is understood, else s->why says why.
 * -ENOMEM only.
 */
int socket_scope_parse(struct socket_scope *s, const char *expr);

#endif
