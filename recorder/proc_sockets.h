/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proc_sockets.h - the owners of the TCP and UDP sockets that exist when the recorder starts,
 * read from /proc: /proc/PID/net/{tcp,tcp6,udp,udp6} give the addresses and inode of each
 * socket of PID's network namespace (read once per distinct namespace, through one of its
 * processes), /proc/PID/fd/N -> "socket:[INODE]" gives the processes holding it,
 * /proc/PID/comm and /proc/PID/status their name, uid and gid. Socket inodes are unique
 * across namespaces, so a socket is matched to its table, and so to its namespace, by inode.
 */
#ifndef ECAP_PROC_SOCKETS_H
#define ECAP_PROC_SOCKETS_H

#include <stdbool.h>
#include <stdint.h>

#include "../schema/records.h"

/* One socket line of /proc/net/{tcp,udp}{,6}. */
struct proc_sock {
	uint8_t proto;               /* 6 or 17 */
	uint8_t local_addr[16];      /* IPv4 as ::ffff:a.b.c.d */
	uint8_t remote_addr[16];
	uint16_t local_port, remote_port;
	uint8_t state;               /* TCP state number (0x0A: LISTEN); UDP: 7 or 1 */
	uint64_t inode;
	uint32_t netns;              /* inode of the namespace whose table listed it (scan) */
};

/*
 * Parses one line of /proc/net/tcp (v6 false) or tcp6/udp6 (v6 true), proto set from the
 * caller. Returns 1 with *out filled, 0 for the header line, -EINVAL for a malformed line.
 *
 * Format (net/ipv4/tcp_ipv4.c get_tcp4_sock, net/ipv6/tcp_ipv6.c get_tcp6_sock,
 * net/ipv4/udp.c udp4_format_sock): "%4d: %08X:%04X %08X:%04X %02X ..." then tx/rx queues,
 * timer fields, uid, timeout and the inode as the 10th whitespace-separated field. An IPv4
 * address is its network-order 32 bits printed as a host-order integer; an IPv6 address is
 * four such words. Ports are host-order hex.
 */
int proc_sockets_parse_line(const char *line, bool v6, uint8_t proto, struct proc_sock *out);

/* The facts /proc gives about a process: pid, uid, gid (real), comm, cgroup id, netns. */
int proc_sockets_read_proc(int pid, struct ecap_proc *out);

/* The inode of the network namespace of pid (0: the calling process); 0 with errno set when
 * it cannot be read. */
uint32_t proc_sockets_netns(int pid);

/*
 * Reads the four socket tables of every network namespace that a process is in, and the file
 * descriptors of every process, and calls fn once per socket that a process holds (the lowest
 * pid holding it; LISTEN sockets and sockets without a local port are skipped), with
 * ps->netns the socket's namespace. Processes that vanish or cannot be read are skipped, and
 * so are the tables of a process that changed namespace while they were read.
 * Returns the number of sockets reported, or a negative errno (the recorder's own tables
 * cannot be read); fn returning <0 stops the walk and is returned.
 */
int proc_sockets_scan(int (*fn)(void *ctx, const struct proc_sock *ps,
				const struct ecap_proc *owner),
		      void *ctx);

#endif
