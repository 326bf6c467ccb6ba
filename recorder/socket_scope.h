/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * socket_scope.h - which sockets can own recorded traffic under the recording's PCAP-FILTER
 * (socket_scope.c has the reasoning): a socket record that cannot is not kept, and with it
 * goes its pending owner and, when it was its only socket, its process's record.
 *
 * No filter, or a filter that is not a plain combination of tcp, udp, ip, ip6, host, net,
 * port and portrange with numeric operands: every socket can (nothing is skipped).
 */
#ifndef ECAP_SOCKET_SCOPE_H
#define ECAP_SOCKET_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"

struct socket_scope;

/*
 * The scope of expr (NULL or empty: no filter). Never fails for a filter it cannot reason
 * about: it then keeps every socket, and socket_scope_why() says why. -ENOMEM only.
 */
int socket_scope_new(const char *expr, struct socket_scope **out);

/* true: a recorded packet may carry this socket's ends (keep its record); false: none can. */
bool socket_scope_needed(const struct socket_scope *s, const struct socket_owner *so);

/* true when some socket can be left out at all (the filter was understood). */
bool socket_scope_active(const struct socket_scope *s);

/* Why every socket is kept ("" when the filter was understood). */
const char *socket_scope_why(const struct socket_scope *s);

/*
 * Ports and protocols the kernel may test before it makes a record (bpf/sockets.bpf.c):
 * whenever socket_scope_needed() can be true for a socket, its protocol is in *protos (bit 0
 * TCP, bit 1 UDP) and, when *all_ports is false, its local or remote port is one of
 * ports[0..*n) (an unconnected socket, remote port 0, is then judged by protocol only).
 * -ENOSPC when more than max ports would be needed (then *all_ports is true).
 */
int socket_scope_ports(const struct socket_scope *s, uint8_t *protos, bool *all_ports,
		       uint16_t *ports, size_t max, size_t *n);

void socket_scope_free(struct socket_scope *s);

#endif
