/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * socket_scope_owners.h - for the tests of recorder/socket_scope.c (tests/unit/
 * test_socket_scope.c, tests/fuzz/fuzz_socket_scope.c): a socket of a tuple, the six sockets
 * that could own a decoded packet, and whether the kernel's pre-test (socket_scope_ports)
 * lets a socket's records through.
 */
#ifndef ECAP_TESTS_SOCKET_SCOPE_OWNERS_H
#define ECAP_TESTS_SOCKET_SCOPE_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode.h"
#include "socket_scope.h"

#define SCOPE_OWNERS 6

static inline struct socket_owner sock(uint8_t proto, const uint8_t local[16], uint16_t lport,
				       const uint8_t remote[16], uint16_t rport)
{
	struct socket_owner so;

	memset(&so, 0, sizeof(so));
	so.proto = proto;
	memcpy(so.local_addr, local, 16);
	so.local_port = lport;
	memcpy(so.remote_addr, remote, 16);
	so.remote_port = rport;
	so.netns = 1;
	return so;
}

/* The sockets that could own the packet d: its sender and its receiver, connected; each
 * unconnected; the sender bound to any; the receiver bound to :: (either version). */
static inline void owners_of(const struct decoded *d, struct socket_owner so[SCOPE_OWNERS])
{
	static const uint8_t v6any[16];
	const uint8_t v4any[16] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *any = d->family == 4 ? v4any : v6any;

	so[0] = sock(d->proto, d->src, d->sport, d->dst, d->dport);
	so[1] = sock(d->proto, d->dst, d->dport, d->src, d->sport);
	so[2] = sock(d->proto, d->src, d->sport, any, 0);
	so[3] = sock(d->proto, d->dst, d->dport, any, 0);
	so[4] = sock(d->proto, any, d->sport, any, 0);
	so[5] = sock(d->proto, v6any, d->dport, v6any, 0);
}

/* Whether the kernel's protocols and ports (socket_scope_ports) let so's records through. */
static inline bool within_kernel(const struct socket_owner *so, uint8_t protos, bool all,
				 const uint16_t *ports, size_t n)
{
	if (!(protos & (so->proto == 6 ? 1 : 2)))
		return false;
	if (all || so->remote_port == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (ports[i] == so->local_port || ports[i] == so->remote_port)
			return true;
	return false;
}

#endif
