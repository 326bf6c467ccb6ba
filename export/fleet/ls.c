// SPDX-License-Identifier: GPL-2.0-only
/*
 * ls.c - ecap-ls --fleet: one line per host (matching flows, packets, bytes, the shipping
 * follow point and its lag), then with -f one line per matching flow naming its host.
 * Under a flow, its NAT links on its host ("NAT: SNAT to flow N", as the local ecap-ls
 * shows them). With -p one line per process (host, pid, comm, uid) with its flows' totals and, under it,
 * what its host recorded of it (start, parent, exe, args, cgroup, container). With a
 * selection only hosts that have matching flows are listed. With --json the same as one
 * object: {"servers":{"asked":N,"answered":N},"hosts":[...],"processes":[...] (-p),
 * "flows":[...] (-f)}, processes and flows in the shapes of the local ecap-ls --json
 * (lsout.c) with a "host" member first (a flow's "nat" member too).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls.h"
#include "lsout.h"
#include "query.h"
#include "units.h"

static bool selects(const struct query *q)
{
	return flow_filter_selects(&q->flows) || q->has_since || q->has_until;
}

struct host_totals {
	uint64_t flows, packets, bytes;
};

static struct host_totals totals_of(const struct fleet_result *r, const char *host)
{
	struct host_totals t = { 0 };
	for (size_t i = 0; i < r->n_flows; i++)
		if (strcmp(r->flows[i].host, host) == 0) {
			t.flows++;
			t.packets += r->flows[i].fi.packets;
			t.bytes += r->flows[i].fi.bytes;
		}
	return t;
}

static double lag_seconds(const struct fleet_host *h)
{
	return h->local_ns > h->shipped_ns ? (double)(h->local_ns - h->shipped_ns) / 1e9 : 0;
}

/* "pid/comm" of each known end, ' '-separated ("-" when none is known) */
static void flow_procs_text(const struct flow_record *rec, char *out, size_t len)
{
	char c[ECAP_COMM_LEN];
	size_t off = 0;
	out[0] = '\0';
	for (int side = 0; side < 2; side++) {
		const struct ecap_proc *p = &rec->proc[side];
		if (!p->valid || off >= len)
			continue;
		lsout_safe_comm(p->comm, c);
		off += (size_t)snprintf(out + off, len - off, "%s%u/%s", off ? " " : "", p->pid, c);
	}
	if (!out[0])
		snprintf(out, len, "-");
}

static void text_out(const struct query *q, const struct fleet_result *r,
		     const struct fleet_result *rp, size_t asked, size_t answered, bool list_flows,
		     bool list_procs)
{
	printf("Servers: %zu of %zu answered\n", answered, asked);
	printf("%s:\n", selects(q) ? "Hosts with matching flows" : "Hosts");
	printf("  %-24s %8s %10s %12s %10s %12s %8s  %s\n", "HOST", "FLOWS", "PACKETS", "BYTES",
	       "SHIPPED", "NEWEST", "LAG", "LAST SHIPPED");
	size_t listed = 0;
	for (size_t h = 0; h < r->n_hosts; h++) {
		const struct fleet_host *ho = &r->hosts[h];
		struct host_totals t = totals_of(r, ho->name);
		if (selects(q) && !t.flows)
			continue;
		char lagt[32];
		snprintf(lagt, sizeof(lagt), "%.1fs", lag_seconds(ho));
		printf("  %-24s %8" PRIu64 " %10" PRIu64 " %12" PRIu64 " %10" PRIu64 " %12" PRIu64
		       " %8s  %.19s\n",
		       ho->name, t.flows, t.packets, t.bytes, ho->shipped_chunk, ho->local_chunk,
		       lagt, ho->shipped_at);
		listed++;
	}
	if (!listed)
		printf("  (none)\n");
	if (list_procs) {
		char c[ECAP_COMM_LEN];
		printf("Processes: %zu\n", rp->n_procs);
		printf("  %-16s %8s %-16s %6s %7s %10s %12s\n", "HOST", "PID", "COMM", "UID",
		       "FLOWS", "PACKETS", "BYTES");
		for (size_t i = 0; i < rp->n_procs; i++) {
			const struct fleet_proc *p = &rp->procs[i];
			lsout_safe_comm(p->t.comm, c);
			printf("  %-16s %8u %-16s %6u %7" PRIu64 " %10" PRIu64 " %12" PRIu64 "\n",
			       p->host, p->t.pid, c, p->t.uid, p->t.flows, p->t.packets, p->t.bytes);
			if (p->has_info)
				lsout_text_proc_info(stdout, &p->info, &p->ctr, "  ");
		}
	}
	if (list_flows) {
		printf("Flows: %zu\n", r->n_flows);
		printf("  %-16s %8s %-5s %-47s %-30s %8s %10s  %s\n", "HOST", "ID", "PROTO",
		       "A -> B", "FIRST", "PACKETS", "BYTES", "PROCESSES");
		for (size_t i = 0; i < r->n_flows; i++) {
			const struct fleet_flow *f = &r->flows[i];
			const struct flow_record *rec = &f->fi.rec;
			char a[48], b[48], ends[128], first[64], pn[16], procs[64];
			args_format_addr(rec->key.addr_a, a, sizeof(a));
			args_format_addr(rec->key.addr_b, b, sizeof(b));
			snprintf(ends, sizeof(ends), "%s:%u -> %s:%u", a, rec->key.port_a, b,
				 rec->key.port_b);
			units_format_time(rec->first_ns, first, sizeof(first));
			flow_procs_text(rec, procs, sizeof(procs));
			printf("  %-16s %8" PRIu64 " %-5s %-47s %-30s %8" PRIu64 " %10" PRIu64
			       "  %s\n",
			       f->host, rec->id, args_proto_name(rec->key.proto, pn, sizeof(pn)), ends,
			       first, f->fi.packets, f->fi.bytes, procs);
			lsout_text_links(stdout, "          ", rec->id, f->links, f->n_links);
		}
	}
}

static void json_out(const struct query *q, const struct fleet_result *r,
		     const struct fleet_result *rp, size_t asked, size_t answered, bool list_flows,
		     bool list_procs)
{
	size_t listed = 0;
	printf("{\n  \"servers\":{\"asked\":%zu,\"answered\":%zu},\n  \"hosts\":[", asked,
	       answered);
	for (size_t h = 0; h < r->n_hosts; h++) {
		const struct fleet_host *ho = &r->hosts[h];
		struct host_totals t = totals_of(r, ho->name);
		if (selects(q) && !t.flows)
			continue;
		printf("%s\n    {\"host\":", listed++ ? "," : "");
		lsout_json_str(stdout, ho->name, strlen(ho->name));
		fputs(",\"store\":", stdout);
		lsout_json_str(stdout, ho->store, strlen(ho->store));
		printf(",\"flows\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"shipped_chunk\":%" PRIu64 ",\"newest_chunk\":%" PRIu64
		       ",\"lag_seconds\":%.3f,\"shipped_at\":",
		       t.flows, t.packets, t.bytes, ho->shipped_chunk, ho->local_chunk,
		       lag_seconds(ho));
		if (ho->shipped_at[0])
			lsout_json_str(stdout, ho->shipped_at, strlen(ho->shipped_at));
		else
			fputs("null", stdout);
		fputc('}', stdout);
	}
	fputs(listed ? "\n  ]" : "]", stdout);
	if (list_procs) {
		fputs(",\n  \"processes\":[", stdout);
		for (size_t i = 0; i < rp->n_procs; i++) {
			const struct fleet_proc *p = &rp->procs[i];
			printf("%s\n    ", i ? "," : "");
			lsout_json_process(stdout, p->host, &p->t, p->has_info ? &p->info : NULL,
					   &p->ctr);
		}
		fputs(rp->n_procs ? "\n  ]" : "]", stdout);
	}
	if (list_flows) {
		fputs(",\n  \"flows\":[", stdout);
		for (size_t i = 0; i < r->n_flows; i++) {
			printf("%s\n    ", i ? "," : "");
			lsout_json_flow_members(stdout, r->flows[i].host, &r->flows[i].fi);
			lsout_json_links(stdout, r->flows[i].fi.rec.id, r->flows[i].links,
					 r->flows[i].n_links);
			fputc('}', stdout);
		}
		fputs(r->n_flows ? "\n  ]" : "]", stdout);
	}
	fputs("\n}\n", stdout);
}

int fleet_ls(const struct fleet_dsns *d, const char *tls_ca, const struct query *q,
	     bool list_flows, bool list_procs, bool json)
{
	PGconn *conns[FLEET_MAX_DSNS] = { 0 };
	struct fleet_result r, rp = { 0 };
	size_t ok = fleet_connect_all(d, tls_ca, conns);
	int rc = 0;

	if (ok == 0)
		return 1;
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
	if (json)
		json_out(q, &r, &rp, d->n, answered, list_flows, list_procs);
	else
		text_out(q, &r, &rp, d->n, answered, list_flows, list_procs);
	if (r.servers_failed || rp.servers_failed || answered < d->n)
		rc = 1;
	if (selects(q) && r.n_flows == 0) {
		fprintf(stderr, "ecap-ls: no flow matches the selection fleet-wide\n");
		rc = 1;
	}
	if (fflush(stdout) != 0)
		rc = 1;
	fleet_result_free(&r);
	fleet_result_free(&rp);
	return rc;
}
