/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * query.h - a selection (args.h: time, pid[@start], comm, uid, tuple, host, port, proto,
 * container, pod, exe, cgroup, netns) asked of every central server at once: the SQL and its parameters are built here, the queries go
 * out in parallel (libpq's asynchronous calls) and the rows come back in one list. What the
 * servers answer is checked like any input (host names, store paths, numbers).
 */
#ifndef ECAP_FLEET_QUERY_H
#define ECAP_FLEET_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "args.h"
#include "lsout.h"
#include "pgconn.h"

/* A flow as a host's index has it (addresses, ends' processes, totals), its host, and its
 * NAT links on that host (the first FLEET_LINKS_MAX: those where it is the flow before NAT,
 * then those where it is the flow after, as the local index lists them). */
#define FLEET_LINKS_MAX 8
struct fleet_flow {
	char host[256];
	struct flow_info fi;
	struct flow_link links[FLEET_LINKS_MAX];
	size_t n_links;
};

struct fleet_host {
	char name[256];
	char store[4096];
	uint64_t shipped_chunk, local_chunk, shipped_ns, local_ns;
	char shipped_at[40];
	size_t server; /* index of its DSN */
};

/* A process (pid, uid, comm, start) on a host with its flows' totals, and what that host
 * recorded of it (has_info). */
struct fleet_proc {
	char host[256];
	struct lsout_proc t;
	bool has_info;
	struct ecap_proc_info info;
	struct ecap_container ctr; /* what the runtime said of its container ('' when nothing) */
};

struct fleet_result {
	struct fleet_proc *procs;
	size_t n_procs, cap_procs;
	struct fleet_flow *flows;
	size_t n_flows, cap_flows;
	struct fleet_host *hosts;
	size_t n_hosts, cap_hosts;
	size_t servers_failed;
};

/* Connect to every DSN; a server that fails is reported and left NULL in conns. Returns the
 * number connected. */
size_t fleet_connect_all(const struct fleet_dsns *d, const char *tls_ca, PGconn **conns);
void fleet_disconnect_all(PGconn **conns, size_t n);

/* Every host (with its follow point) and the flows matching q (procs: instead, the processes
 * of those flows with their totals; with a selection by process, only the processes it
 * names, as the local ecap-ls -p), from all servers. A selection by process (pid, comm, uid,
 * netns, container, exe, cgroup) is met by one end's process meeting all of it, as locally. */
int fleet_query(PGconn **conns, size_t n, const struct query *q, bool procs,
		struct fleet_result *out);
void fleet_result_free(struct fleet_result *r);

/* A fleet host name or store path safe to put on a remote command line: letters, digits
 * and ._-:/@ only, not starting with '-'. */
bool fleet_safe_word(const char *s);

#endif
