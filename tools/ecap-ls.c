// SPDX-License-Identifier: GPL-2.0-only
/*
 * ecap-ls - what a store holds, before exporting from it: a summary (time span, segments,
 * bytes raw and stored, packets, flows, TLS sessions, secrets, top processes and flows by
 * bytes), per-process and per-flow listings, all under the same selection options as
 * ecap-export (export/args.c), as text or JSON. Everything comes from the index.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "ecap_config.h"
#include "ls.h"
#include "lsout.h"
#include "pgconn.h"
#include "store.h"
#include "units.h"

#define TOP_N_DEFAULT 10

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ecap-ls [--json] [--processes|-p] [--flows|-f] [--top N] [SELECTION...]\n"
		"               [STORE]\n"
		"\n"
		"Show what an ecap store holds. Without -p or -f: a summary with the recorded\n"
		"time span, segments and chunks, bytes raw (pcapng) and stored (LZ4) with their\n"
		"ratio, packets, flows, TLS sessions, secrets, drops, and the top processes and\n"
		"flows by bytes. With a selection, the summary also counts the matching flows\n"
		"and the top lists are taken from them.\n"
		"\n"
		"  -p, --processes    one line per process (pid, comm, uid): flows, packets,\n"
		"                     bytes, first and last packet; a flow with both ends local\n"
		"                     counts for both processes; with a selection by process\n"
		"                     (--pid, --comm, --uid, --netns, --container, --pod,\n"
		"                     --exe, --cgroup) only those processes; under each, what\n"
		"                     was recorded of it (start, parent, executable, command\n"
		"                     line, cgroup, container with its name, image and labels,\n"
		"                     pod)\n"
		"  -f, --flows        one line per flow: id, protocol, A -> B (A opened it),\n"
		"                     first and last packet, packets, bytes, process of each end;\n"
		"                     under it, the flow it is before or after NAT on this host\n"
		"                     (\"NAT: SNAT to flow 2\", \"NAT: SNAT from flow 1\")\n"
		"  -j, --json         the same as one JSON object, for scripts\n"
		"  -n, --top N        entries in the summary's top lists (default %d)\n"
		"  --store DIR        the store (or as the last argument; default %s)\n"
		"  --fleet DSN        ask the fleet's PostgreSQL instead of a store (several\n"
		"                     times for shards): hosts with matching flows, their\n"
		"                     shipping lag, and with -p/-f the processes (with what\n"
		"                     their host recorded of them) and flows, host by host;\n"
		"                     with --json as one object (\"hosts\", \"processes\",\n"
		"                     \"flows\": the local shapes with a \"host\" member)\n"
		"  --fleet-file FILE  the DSNs from a root-only file;  --tls-ca FILE  verify-full\n"
		"  -h, --help         this text;  -V, --version  the version\n"
		"\n"
		"%s"
		"  (ecap-ls reads only the index: a PCAP-FILTER is not accepted here)\n"
		"\n"
		"Exit status: 0 ok; 1 the store could not be read, or a selection matched\n"
		"nothing; 2 bad usage.\n"
		"\n"
		"Examples:\n"
		"  ecap-ls /var/lib/ecap\n"
		"  ecap-ls -p --since 1h\n"
		"  ecap-ls -f --comm curl --port 443 /var/lib/ecap\n"
		"  ecap-ls --json -f --tuple '[::1]:443-[::1]:50312' | jq '.flows[0]'\n",
		TOP_N_DEFAULT, ECAP_DEFAULT_STORE, args_filter_help);
}

/* ---- text helpers ------------------------------------------------------------------- */

static void fmt_endpoint(const struct flow_key *k, int side, char *out, size_t len)
{
	char a[48];
	const uint8_t *addr = side ? k->addr_b : k->addr_a;
	uint16_t port = side ? k->port_b : k->port_a;

	args_format_addr(addr, a, sizeof(a));
	if (k->proto != FLOW_PROTO_TCP && k->proto != FLOW_PROTO_UDP)
		snprintf(out, len, "%s", a);
	else if (strchr(a, ':'))
		snprintf(out, len, "[%s]:%u", a, port);
	else
		snprintf(out, len, "%s:%u", a, port);
}

static void fmt_proc(const struct ecap_proc *p, char *out, size_t len)
{
	char c[ECAP_COMM_LEN];
	if (!p->valid) {
		snprintf(out, len, "-");
		return;
	}
	lsout_safe_comm(p->comm, c);
	snprintf(out, len, "%s[%u]", c, p->pid);
}

/* ---- processes ---------------------------------------------------------------------- */

struct proc_table {
	struct lsout_proc *rows;
	size_t n, cap;
	size_t *slots;         /* index + 1 into rows; 0 empty */
	size_t nslots;
};

static size_t proc_hash(uint32_t pid, uint32_t uid, const char *comm)
{
	uint64_t h = 0xcbf29ce484222325ull ^ pid;
	h = (h * 0x100000001b3ull) ^ uid;
	for (size_t i = 0; i < ECAP_COMM_LEN && comm[i]; i++)
		h = (h ^ (uint8_t)comm[i]) * 0x100000001b3ull;
	return (size_t)(h ^ h >> 29);
}

static struct lsout_proc *proc_find(struct proc_table *t, const struct ecap_proc *p)
{
	if ((t->n + 1) * 2 > t->nslots) {
		size_t ns = t->nslots ? t->nslots * 2 : 256;
		size_t *s = calloc(ns, sizeof(*s));
		if (!s)
			return NULL;
		for (size_t i = 0; i < t->n; i++) {
			const struct lsout_proc *r = &t->rows[i];
			size_t j = proc_hash(r->pid, r->uid, r->comm) & (ns - 1);
			while (s[j])
				j = (j + 1) & (ns - 1);
			s[j] = i + 1;
		}
		free(t->slots);
		t->slots = s;
		t->nslots = ns;
	}
	size_t j = proc_hash(p->pid, p->uid, p->comm) & (t->nslots - 1);
	while (t->slots[j]) {
		struct lsout_proc *r = &t->rows[t->slots[j] - 1];
		if (r->pid == p->pid && r->uid == p->uid && r->start_ns == p->start_ns &&
		    !strncmp(r->comm, p->comm, ECAP_COMM_LEN))
			return r;
		j = (j + 1) & (t->nslots - 1);
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct lsout_proc *v = realloc(t->rows, cap * sizeof(*v));
		if (!v)
			return NULL;
		t->rows = v;
		t->cap = cap;
	}
	struct lsout_proc *r = &t->rows[t->n];
	memset(r, 0, sizeof(*r));
	r->pid = p->pid;
	r->uid = p->uid;
	r->start_ns = p->start_ns;
	memcpy(r->comm, p->comm, ECAP_COMM_LEN);
	r->comm[ECAP_COMM_LEN - 1] = '\0';
	r->first_ns = UINT64_MAX;
	t->slots[j] = ++t->n;
	return r;
}

/* Whether a process is one the selection names (no process filter: all are). */
static bool proc_selected(const struct flow_filter *f, const struct ecap_proc *p)
{
	bool ok = true;
	if (f->n_pids) {
		bool any = false;
		for (size_t i = 0; i < f->n_pids; i++)
			any |= f->pids[i] == p->pid;
		ok &= any;
	}
	if (f->n_uids) {
		bool any = false;
		for (size_t i = 0; i < f->n_uids; i++)
			any |= f->uids[i] == p->uid;
		ok &= any;
	}
	if (f->n_comms) {
		bool any = false;
		for (size_t i = 0; i < f->n_comms; i++)
			any |= !strncmp(f->comms[i], p->comm, ECAP_COMM_LEN);
		ok &= any;
	}
	if (f->n_netns) {
		bool any = false;
		for (size_t i = 0; i < f->n_netns; i++)
			any |= f->netns[i] == p->netns;
		ok &= any;
	}
	return ok;
}

/* ---- the walk ----------------------------------------------------------------------- */

struct ls {
	const struct flow_filter *filter;
	bool json, list_flows;
	const char *indent;         /* of text flow lines */
	size_t top_n;
	struct proc_table procs;
	struct store *store;        /* for what was recorded of each process */
	struct flow_info *top;      /* top_n flows by bytes, descending */
	size_t n_top;
	uint64_t flows, packets, bytes;
	size_t listed;
	int err;
};

#define LINKS_SHOWN_MAX 8

/* The flow's NAT links: text lines under it, or a JSON member. */
static void print_links(struct ls *l, uint64_t id)
{
	struct flow_link v[LINKS_SHOWN_MAX];
	int n = store_get_links(l->store, id, v, LINKS_SHOWN_MAX);

	if (n < 0) {
		l->err = n;
		return;
	}
	if (n > LINKS_SHOWN_MAX)
		n = LINKS_SHOWN_MAX;
	if (l->json)
		lsout_json_links(stdout, id, v, (size_t)n);
	else
		lsout_text_links(stdout, l->indent, id, v, (size_t)n);
}

static void print_flow(struct ls *l, const struct flow_info *fi)
{
	const struct flow_record *r = &fi->rec;
	char proto[8], a[64], b[64], pa[40], pb[40], t1[40], t2[40], ab[140];
	const char *pn = args_proto_name(r->key.proto, proto, sizeof(proto));

	if (l->json) {
		printf("%s\n    ", l->listed ? "," : "");
		lsout_json_flow_members(stdout, NULL, fi);
		print_links(l, r->id);
		fputc('}', stdout);
	} else {
		if (!l->listed)
			printf("%s%8s %-5s %-45s %-24s %-24s %8s %10s  %s\n", l->indent, "ID",
			       "PROTO", "A -> B", "FIRST", "LAST", "PACKETS", "BYTES",
			       "PROCESS A / B");
		fmt_endpoint(&r->key, 0, a, sizeof(a));
		fmt_endpoint(&r->key, 1, b, sizeof(b));
		fmt_proc(&r->proc[0], pa, sizeof(pa));
		fmt_proc(&r->proc[1], pb, sizeof(pb));
		lsout_fmt_time(r->first_ns, t1, sizeof(t1));
		lsout_fmt_time(fi->last_ns, t2, sizeof(t2));
		snprintf(ab, sizeof(ab), "%s -> %s", a, b);
		printf("%s%8" PRIu64 " %-5s %-45s %-24s %-24s %8" PRIu64 " %10" PRIu64
		       "  %s / %s\n", l->indent, r->id, pn, ab, t1, t2, fi->packets, fi->bytes, pa,
		       pb);
		print_links(l, r->id);
	}
	l->listed++;
}

static void keep_top(struct ls *l, const struct flow_info *fi)
{
	size_t i;
	if (!l->top_n)
		return;
	if (l->n_top == l->top_n && fi->bytes <= l->top[l->n_top - 1].bytes)
		return;
	if (l->n_top < l->top_n)
		l->n_top++;
	for (i = l->n_top - 1; i > 0 && l->top[i - 1].bytes < fi->bytes; i--)
		l->top[i] = l->top[i - 1];
	l->top[i] = *fi;
}

static int on_flow(const struct flow_info *fi, void *ctx)
{
	struct ls *l = ctx;

	l->flows++;
	l->packets += fi->packets;
	l->bytes += fi->bytes;
	keep_top(l, fi);
	if (l->list_flows)
		print_flow(l, fi);
	if (l->err)
		return l->err;
	for (int side = 0; side < 2; side++) {
		const struct ecap_proc *p = &fi->rec.proc[side];
		if (!p->valid || !proc_selected(l->filter, p))
			continue;
		/* A process talking to itself over loopback: one flow, counted once. */
		if (side == 1 && fi->rec.proc[0].valid && fi->rec.proc[0].pid == p->pid &&
		    fi->rec.proc[0].uid == p->uid && proc_selected(l->filter, &fi->rec.proc[0]) &&
		    !strncmp(fi->rec.proc[0].comm, p->comm, ECAP_COMM_LEN))
			continue;
		struct lsout_proc *r = proc_find(&l->procs, p);
		if (!r)
			return -ENOMEM;
		if (!r->selected) {
			int sel = store_process_selected(l->store, l->filter, p->pid, p->start_ns);
			if (sel < 0)
				return sel;
			r->selected = sel ? 1 : -1;
		}
		if (r->selected < 0)
			continue; /* the other end of a selected connection */
		r->flows++;
		r->packets += fi->packets;
		r->bytes += fi->bytes;
		if (fi->rec.first_ns < r->first_ns)
			r->first_ns = fi->rec.first_ns;
		if (fi->last_ns > r->last_ns)
			r->last_ns = fi->last_ns;
	}
	return 0;
}

static int cmp_proc_bytes(const void *a, const void *b)
{
	const struct lsout_proc *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* What was recorded of a process and its container (c zeroed when nothing). */
static bool info_of(const struct ls *l, const struct lsout_proc *r, struct ecap_proc_info *pi,
		    struct ecap_container *c)
{
	memset(c, 0, sizeof(*c));
	if (!r->start_ns || !l->store || store_get_process(l->store, r->pid, r->start_ns, pi) != 1)
		return false;
	if (store_get_container(l->store, pi->container_id, c) != 1)
		memset(c, 0, sizeof(*c));
	return true;
}

static void print_procs(const struct ls *l, size_t n, const char *indent)
{
	char c[ECAP_COMM_LEN], t1[40], t2[40], sz[32];
	struct ecap_proc_info pi;
	struct ecap_container ctr;

	if (n > l->procs.n)
		n = l->procs.n;
	if (l->json) {
		fputc('[', stdout);
		for (size_t i = 0; i < n; i++) {
			const struct lsout_proc *r = &l->procs.rows[i];
			bool info = info_of(l, r, &pi, &ctr);
			printf("%s\n%s", i ? "," : "", indent);
			lsout_json_process(stdout, NULL, r, info ? &pi : NULL, &ctr);
		}
		fputs(n ? "\n  ]" : "]", stdout);
		return;
	}
	printf("%s%8s %-16s %6s %7s %9s %10s  %-24s %s\n", indent, "PID", "COMM", "UID", "FLOWS",
	       "PACKETS", "BYTES", "FIRST", "LAST");
	for (size_t i = 0; i < n; i++) {
		const struct lsout_proc *r = &l->procs.rows[i];
		lsout_safe_comm(r->comm, c);
		lsout_fmt_time(r->first_ns, t1, sizeof(t1));
		lsout_fmt_time(r->last_ns, t2, sizeof(t2));
		units_format_size(r->bytes, sz, sizeof(sz));
		printf("%s%8u %-16s %6u %7" PRIu64 " %9" PRIu64 " %10s  %-24s %s\n", indent,
		       r->pid, c, r->uid, r->flows, r->packets, sz, t1, t2);
		if (info_of(l, r, &pi, &ctr))
			lsout_text_proc_info(stdout, &pi, &ctr, indent);
	}
	if (!n)
		printf("%s(no attributed connections)\n", indent);
}

static void print_summary(struct ls *l, const char *dir, const struct store_stats *st,
			  bool filtered)
{
	char a[40], b[40], raw[32], stored[32], idx[32];
	double ratio = st->bytes_stored ? (double)st->bytes_raw / (double)st->bytes_stored : 0.0;

	units_format_size(st->bytes_raw, raw, sizeof(raw));
	units_format_size(st->bytes_stored, stored, sizeof(stored));
	units_format_size(st->index_bytes, idx, sizeof(idx));
	if (l->json) {
		fputs("{\n  \"store\":", stdout);
		lsout_json_str(stdout, dir, strlen(dir));
		printf(",\n  \"segments\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\n  ", st->segments,
		       st->chunks);
		lsout_json_time(stdout, "first", st->first_ns);
		fputc(',', stdout);
		lsout_json_time(stdout, "last", st->last_ns);
		printf(",\n  \"packets\":%" PRIu64 ",\"bytes_raw\":%" PRIu64
		       ",\"bytes_stored\":%" PRIu64 ",\"ratio\":%.3f,\"index_bytes\":%" PRIu64,
		       st->packets, st->bytes_raw, st->bytes_stored, ratio, st->index_bytes);
		printf(",\n  \"flows\":%" PRIu64 ",\"tls_sessions\":%" PRIu64 ",\"secrets\":%"
		       PRIu64 ",\"secrets_linked\":%" PRIu64 ",\"drops\":%" PRIu64
		       ",\"packets_lost\":%" PRIu64 ",\n", st->flows, st->tls_sessions, st->secrets,
		       st->secrets_linked, st->drops, st->packets_lost);
		printf("  \"matching\":{\"flows\":%" PRIu64 ",\"packets\":%" PRIu64
		       ",\"bytes\":%" PRIu64 "},\n  \"top_processes\":", l->flows, l->packets,
		       l->bytes);
		print_procs(l, l->top_n, "    ");
		fputs(",\n  \"top_flows\":[", stdout);
		l->listed = 0;
		for (size_t i = 0; i < l->n_top; i++)
			print_flow(l, &l->top[i]);
		fputs(l->n_top ? "\n  ]\n}\n" : "]\n}\n", stdout);
		return;
	}
	printf("Store:     %s\n", dir);
	if (st->chunks) {
		lsout_fmt_time(st->first_ns, a, sizeof(a));
		lsout_fmt_time(st->last_ns, b, sizeof(b));
		uint64_t secs = (st->last_ns - st->first_ns) / 1000000000ull;
		printf("Span:      %s .. %s (%" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64
		       ")\n", a, b, secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
	} else {
		printf("Span:      (empty)\n");
	}
	printf("Segments:  %" PRIu64 " (%" PRIu64 " chunks)\n", st->segments, st->chunks);
	printf("Bytes:     %s raw, %s stored (ratio %.2f), index %s\n", raw, stored, ratio, idx);
	printf("Packets:   %" PRIu64 "\n", st->packets);
	printf("Flows:     %" PRIu64 "\n", st->flows);
	printf("TLS:       %" PRIu64 " sessions, %" PRIu64 " secrets (%" PRIu64
	       " linked to a session)\n", st->tls_sessions, st->secrets, st->secrets_linked);
	printf("Drops:     %" PRIu64 " packets lost by sources", st->drops);
	if (st->packets_lost)
		printf(", %" PRIu64 " in unwritable chunks", st->packets_lost);
	printf("\n");
	if (filtered)
		printf("Matching:  %" PRIu64 " flows, %" PRIu64 " packets, %" PRIu64 " bytes\n",
		       l->flows, l->packets, l->bytes);
	printf("\nTop processes by bytes:\n");
	print_procs(l, l->top_n, "  ");
	printf("\nTop flows by bytes:\n");
	l->listed = 0;
	l->indent = "  ";
	for (size_t i = 0; i < l->n_top; i++)
		print_flow(l, &l->top[i]);
	if (!l->n_top)
		printf("  (no flows)\n");
}

int main(int argc, char **argv)
{
	enum { OPT_STORE = 0x2000, OPT_FLEET, OPT_FLEET_FILE, OPT_TLS_CA };
	static const struct option longopts[] = {
		ARGS_FILTER_LONGOPTS,
		{ "store", required_argument, NULL, OPT_STORE },
		{ "json", no_argument, NULL, 'j' },
		{ "processes", no_argument, NULL, 'p' },
		{ "flows", no_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 'n' },
		{ "fleet", required_argument, NULL, OPT_FLEET },
		{ "fleet-file", required_argument, NULL, OPT_FLEET_FILE },
		{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct fleet_dsns fleet = { 0 };
	const char *tls_ca = NULL;
	const char *dir = NULL;
	bool procs = false;
	struct ls l = { .top_n = TOP_N_DEFAULT, .indent = "" };
	struct store *s = NULL;
	struct store_stats st;
	struct store_options so;
	struct query q;
	struct timespec now;
	uint32_t top;
	int c, r, rc = 1;

	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	args_query_init(&q);
	while ((c = getopt_long(argc, argv, "jpfn:hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STORE:
			dir = optarg;
			break;
		case OPT_FLEET:
		case OPT_FLEET_FILE:
			if (fleet_dsns_option(&fleet, c == OPT_FLEET_FILE, optarg, "ecap-ls") < 0)
				return 2;
			break;
		case OPT_TLS_CA:
			tls_ca = optarg;
			break;
		case 'j':
			l.json = true;
			break;
		case 'p':
			procs = true;
			break;
		case 'f':
			l.list_flows = true;
			break;
		case 'n':
			if (args_parse_u32(optarg, &top) < 0 || top > 100000) {
				fprintf(stderr, "ecap-ls: --top '%s': expected a count\n", optarg);
				return 2;
			}
			l.top_n = top;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ecap-ls %s\n", ECAP_VERSION);
			return 0;
		default:
			r = args_filter_option(&q, c, optarg, now_ns);
			if (r < 0)
				return 2;
			if (r == 0) {
				fprintf(stderr, "Try 'ecap-ls --help'.\n");
				return 2;
			}
		}
	}
	if (optind < argc && !dir)
		dir = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "ecap-ls: unexpected argument '%s' (one STORE; ecap-ls takes no "
			"packet filter)\n", argv[optind]);
		return 2;
	}
	if (args_finish(&q) < 0)
		return 2;
	if (fleet.n) {
		if (dir) {
			fprintf(stderr, "ecap-ls: --fleet takes no store\n");
			return 2;
		}
		rc = fleet_ls(&fleet, tls_ca, &q, l.list_flows, procs, l.json);
		fleet_dsns_free(&fleet);
		return rc;
	}
	if (!dir)
		dir = ECAP_DEFAULT_STORE;
	l.filter = &q.flows;
	l.top = calloc(l.top_n ? l.top_n : 1, sizeof(*l.top));
	if (!l.top)
		return 1;

	store_options_default(&so);
	so.quiet = true;
	r = store_open(dir, STORE_READ, &so, &s);
	if (r < 0) {
		fprintf(stderr, "ecap-ls: %s\n", s ? store_errmsg(s) : strerror(-r));
		rc = r == -ENOENT || r == -EPERM || r == -EACCES ? 2 : 1;
		goto out;
	}
	if ((r = store_get_stats(s, &st)) < 0) {
		fprintf(stderr, "ecap-ls: %s\n", store_errmsg(s));
		goto out;
	}
	l.store = s;
	bool filtered = flow_filter_selects(&q.flows) || q.has_since || q.has_until;
	if (l.json && (procs || l.list_flows))
		fputs("{", stdout);
	if (l.json && l.list_flows)
		fputs("\n  \"flows\":[", stdout);
	r = store_walk_flows(s, &q.flows, on_flow, &l);
	if (l.json && l.list_flows)
		fputs(l.listed ? "\n  ]" : "]", stdout);
	if (r < 0) {
		fflush(stdout);
		fprintf(stderr, "\necap-ls: %s\n",
			r == -ENOMEM ? strerror(ENOMEM) : store_errmsg(s));
		goto out;
	}
	/* processes at the other end of selected connections, not selected themselves */
	size_t kept = 0;
	for (size_t i = 0; i < l.procs.n; i++)
		if (l.procs.rows[i].selected > 0)
			l.procs.rows[kept++] = l.procs.rows[i];
	l.procs.n = kept;
	if (l.procs.n) /* qsort(NULL, 0, ...) is undefined */
		qsort(l.procs.rows, l.procs.n, sizeof(*l.procs.rows), cmp_proc_bytes);
	if (procs) {
		if (l.json)
			fputs(l.list_flows ? ",\n  \"processes\":" : "\n  \"processes\":", stdout);
		else if (l.list_flows)
			putchar('\n');
		print_procs(&l, l.procs.n, l.json ? "    " : "");
	}
	if (l.json && (procs || l.list_flows))
		fputs("\n}\n", stdout);
	if (!procs && !l.list_flows)
		print_summary(&l, dir, &st, filtered);
	else if (!l.json && !l.listed && !procs)
		printf("(no flows)\n");
	rc = filtered && l.flows == 0 ? 1 : 0;
	if (rc)
		fprintf(stderr, "ecap-ls: no flow matches the selection\n");
out:
	if (fflush(stdout) != 0 && rc == 0)
		rc = 1;
	if (s)
		store_close(s);
	free(l.top);
	free(l.procs.rows);
	free(l.procs.slots);
	args_query_free(&q);
	return rc;
}
