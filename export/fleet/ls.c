// SPDX-License-Identifier: GPL-2.0-only
/*
 * ls.c - ecap-ls --fleet: one line per host (matching flows, packets, bytes, the shipping
 * follow point and its lag), then with -f one line per matching flow naming its host.
 * With -p one line per process (host, pid, comm, uid) with its flows' totals. With a
 * selection only hosts that have matching flows are listed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls.h"
#include "query.h"
#include "units.h"

static bool selects(const struct query *q)
{
	return flow_filter_selects(&q->flows) || q->has_since || q->has_until;
}

int fleet_ls(const struct fleet_dsns *d, const char *tls_ca, const struct query *q,
	     bool list_flows, bool list_procs)
{
	PGconn *conns[FLEET_MAX_DSNS] = { 0 };
	struct fleet_result r;
	size_t ok = fleet_connect_all(d, tls_ca, conns);
	int rc = 0;

	if (ok == 0)
		return 1;
	struct fleet_result rp = { 0 };
	int err = fleet_query(conns, d->n, q, false, &r);
	if (!err && list_procs)
		err = fleet_query(conns, d->n, q, true, &rp);
	fleet_disconnect_all(conns, d->n);
	if (err) {
		fleet_result_free(&r);
		fleet_result_free(&rp);
		return 1;
	}
	size_t answered = ok - r.servers_failed;
	printf("Servers: %zu of %zu answered\n", answered, d->n);
	printf("%s:\n", selects(q) ? "Hosts with matching flows" : "Hosts");
	printf("  %-24s %8s %10s %12s %10s %12s %8s  %s\n", "HOST", "FLOWS", "PACKETS", "BYTES",
	       "SHIPPED", "NEWEST", "LAG", "LAST SHIPPED");
	size_t listed = 0;
	for (size_t h = 0; h < r.n_hosts; h++) {
		uint64_t flows = 0, packets = 0, bytes = 0;
		for (size_t i = 0; i < r.n_flows; i++)
			if (strcmp(r.flows[i].host, r.hosts[h].name) == 0) {
				flows++;
				packets += r.flows[i].packets;
				bytes += r.flows[i].bytes;
			}
		if (selects(q) && !flows)
			continue;
		const struct fleet_host *ho = &r.hosts[h];
		double lag = ho->local_ns > ho->shipped_ns
				     ? (double)(ho->local_ns - ho->shipped_ns) / 1e9
				     : 0;
		char lagt[32];
		snprintf(lagt, sizeof(lagt), "%.1fs", lag);
		printf("  %-24s %8" PRIu64 " %10" PRIu64 " %12" PRIu64 " %10" PRIu64 " %12" PRIu64
		       " %8s  %.19s\n",
		       ho->name, flows, packets, bytes, ho->shipped_chunk, ho->local_chunk, lagt,
		       ho->shipped_at);
		listed++;
	}
	if (!listed)
		printf("  (none)\n");
	if (list_procs) {
		printf("Processes: %zu\n", rp.n_procs);
		printf("  %-16s %8s %-16s %6s %7s %10s %12s\n", "HOST", "PID", "COMM", "UID",
		       "FLOWS", "PACKETS", "BYTES");
		for (size_t i = 0; i < rp.n_procs; i++) {
			const struct fleet_proc *p = &rp.procs[i];
			printf("  %-16s %8" PRIu64 " %-16s %6" PRIu64 " %7" PRIu64 " %10" PRIu64
			       " %12" PRIu64 "\n", p->host, p->pid, p->comm, p->uid, p->flows,
			       p->packets, p->bytes);
		}
	}
	if (list_flows) {
		printf("Flows: %zu\n", r.n_flows);
		printf("  %-16s %8s %-5s %-47s %-30s %8s %10s  %s\n", "HOST", "ID", "PROTO",
		       "A -> B", "FIRST", "PACKETS", "BYTES", "PROCESSES");
		for (size_t i = 0; i < r.n_flows; i++) {
			const struct fleet_flow *f = &r.flows[i];
			char ends[128], first[64], pn[16];
			snprintf(ends, sizeof(ends), "%s:%u -> %s:%u", f->addr_a, f->port_a,
				 f->addr_b, f->port_b);
			units_format_time(f->first_ns, first, sizeof(first));
			printf("  %-16s %8" PRIu64 " %-5s %-47s %-30s %8" PRIu64 " %10" PRIu64
			       "  %s\n",
			       f->host, f->id, args_proto_name(f->proto, pn, sizeof(pn)), ends,
			       first, f->packets, f->bytes, f->procs);
		}
	}
	if (r.servers_failed || answered < d->n)
		rc = 1;
	if (selects(q) && r.n_flows == 0)
		rc = 1;
	fleet_result_free(&r);
	fleet_result_free(&rp);
	return rc;
}
