// SPDX-License-Identifier: GPL-2.0-only
/*
 * query.c - a selection as SQL over the central schema (fleet.sql), sent to every server in
 * parallel; hosts and matching flows collected from the answers (query.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "query.h"

#define MAX_PARAMS 64
#define MAX_FLOWS_PER_QUERY 10000000

struct sqlq {
	struct buf sql;
	char *params[MAX_PARAMS];
	int n;
};

static int add(struct sqlq *s, const char *text)
{
	return buf_append(&s->sql, text, strlen(text));
}

/* Adds a parameter and appends "$N" followed by cast. */
static int param(struct sqlq *s, const char *value, const char *cast)
{
	char ph[32];
	if (s->n >= MAX_PARAMS)
		return -E2BIG;
	s->params[s->n] = strdup(value);
	if (!s->params[s->n])
		return -ENOMEM;
	s->n++;
	snprintf(ph, sizeof(ph), "$%d%s", s->n, cast);
	return add(s, ph);
}

/* A PostgreSQL array literal of unsigned numbers (one of v32, v16 given). */
static char *num_array(const uint32_t *v32, const uint16_t *v16, size_t n)
{
	char *out = malloc(n * 12 + 3);
	size_t len = 1;
	if (!out)
		return NULL;
	out[0] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(out + len, "%s%u", i ? "," : "", v32 ? v32[i] : v16[i]);
	strcpy(out + len, "}");
	return out;
}

/* " AND <expr> = ANY($N::cast)" over numbers. */
static int any_num(struct sqlq *s, const char *expr, const uint32_t *v32, const uint16_t *v16,
		   size_t n, const char *cast)
{
	char *arr = num_array(v32, v16, n);
	if (!arr)
		return -ENOMEM;
	int err = add(s, " AND ") ?: add(s, expr) ?: add(s, " = ANY(") ?: param(s, arr, cast) ?:
		  add(s, ")");
	free(arr);
	return err;
}

/* A PostgreSQL text array literal of n strings, stride bytes apart (each NUL-terminated
 * within max bytes). */
static int text_array(struct buf *c, const char *v, size_t stride, size_t n, size_t max)
{
	int err = buf_append(c, "{", 1);
	for (size_t i = 0; i < n && !err; i++) {
		const char *t = v + i * stride;
		err = buf_append(c, i ? ",\"" : "\"", i ? 2 : 1);
		for (size_t k = 0; k < max && t[k] && !err; k++)
			err = (t[k] == '"' || t[k] == '\\' ? buf_append(c, "\\", 1) : 0) ?:
			      buf_append(c, t + k, 1);
		if (!err)
			err = buf_append(c, "\"", 1);
	}
	return err ?: buf_append(c, "}", 2);
}

/* " AND <sql before> $N::text[] <sql after>" with the strings as one text array. */
static int any_text(struct sqlq *s, const char *before, const char *v, size_t stride, size_t n,
		    size_t max, const char *after)
{
	struct buf c = { 0 };
	int err = text_array(&c, v, stride, n, max) ?: add(s, " AND ") ?: add(s, before) ?:
		  param(s, (const char *)c.data, "::text[]") ?: add(s, after);
	buf_free(&c);
	return err;
}

/*
 * The conditions on one end's process (an ecap_procs row aliased a) that a selection by
 * process puts, as the local index applies them (schema/store_read.c): pid (at its start when
 * given), uid, comm, netns, and by what was recorded of the process (ecap_processes):
 * container id or its prefix, exe, cgroup path or below.
 */
static int proc_where(struct sqlq *s, const char *a, const struct flow_filter *f)
{
	char x[512], tmp[64];
	int err = 0;

	if (f->n_netns) {
		snprintf(x, sizeof(x), "%s.netns", a);
		err = any_num(s, x, f->netns, NULL, f->n_netns, "::bigint[]");
	}
	if (!err && f->n_uids) {
		snprintf(x, sizeof(x), "%s.uid", a);
		err = any_num(s, x, f->uids, NULL, f->n_uids, "::bigint[]");
	}
	if (!err && f->n_comms) {
		snprintf(x, sizeof(x), "%s.comm = ANY(", a);
		err = any_text(s, x, f->comms[0], sizeof(f->comms[0]), f->n_comms, ECAP_COMM_LEN,
			       ")");
	}
	if (!err && f->n_pids) {
		/* pids alone, or pid@start: its process's recorded start within the slack */
		uint32_t any[STORE_MATCH_MAX], at[STORE_MATCH_MAX];
		size_t n_any = 0, n_at = 0;
		struct buf starts = { 0 };
		for (size_t i = 0; i < f->n_pids; i++)
			if (f->pid_starts[i])
				at[n_at++] = f->pids[i];
			else
				any[n_any++] = f->pids[i];
		err = add(s, " AND (false");
		if (!err && n_any) {
			char *arr = num_array(any, NULL, n_any);
			snprintf(x, sizeof(x), " OR %s.pid = ANY(", a);
			err = arr ? add(s, x) ?: param(s, arr, "::bigint[]") ?: add(s, ")") : -ENOMEM;
			free(arr);
		}
		if (!err && n_at) {
			char *arr = num_array(at, NULL, n_at);
			err = arr ? buf_append(&starts, "{", 1) : -ENOMEM;
			for (size_t i = 0; i < f->n_pids && !err; i++) {
				if (!f->pid_starts[i])
					continue;
				bool first = starts.len == 1;
				fleet_format_ts(f->pid_starts[i], tmp, sizeof(tmp));
				err = buf_append(&starts, first ? "\"" : ",\"", first ? 1 : 2) ?:
				      buf_append(&starts, tmp, strlen(tmp)) ?:
				      buf_append(&starts, "\"", 1);
			}
			err = err ?: buf_append(&starts, "}", 2) ?:
			      add(s, " OR EXISTS (SELECT 1 FROM unnest(") ?:
			      param(s, arr, "::bigint[]") ?: add(s, ", ") ?:
			      param(s, (const char *)starts.data, "::timestamptz[]");
			snprintf(x, sizeof(x),
				 ") AS w(pid, t) JOIN ecap_processes r ON r.pid = w.pid WHERE "
				 "r.host_id = %s.host_id AND r.pid = %s.pid AND r.start = %s.start "
				 "AND %s.start <> 0 AND r.start_ts BETWEEN w.t - interval '%llu "
				 "microseconds' AND w.t + interval '%llu microseconds')",
				 a, a, a, a, (unsigned long long)(STORE_START_SLACK_NS / 1000),
				 (unsigned long long)(STORE_START_SLACK_NS / 1000));
			err = err ?: add(s, x);
			free(arr);
			buf_free(&starts);
		}
		err = err ?: add(s, ")");
	}
	if (!err && (f->n_containers || f->n_pods || f->n_exes || f->n_cgroups)) {
		snprintf(x, sizeof(x),
			 " AND EXISTS (SELECT 1 FROM ecap_processes r WHERE r.host_id = %s.host_id "
			 "AND r.pid = %s.pid AND r.start = %s.start AND %s.start <> 0", a, a, a, a);
		err = add(s, x);
		if (!err && f->n_containers)
			/* its id or its first 12+ digits, or the name its runtime gave it */
			err = any_text(s, "EXISTS (SELECT 1 FROM unnest(", f->containers[0],
				       sizeof(f->containers[0]), f->n_containers,
				       sizeof(f->containers[0]),
				       ") c WHERE (c ~ '^[0-9a-f]{12,64}$' AND starts_with("
				       "r.container_id, c)) OR r.container_id IN (SELECT k.id FROM "
				       "ecap_containers k WHERE k.host_id = r.host_id AND k.name = c))");
		if (!err && f->n_pods)
			/* a pod uid (from the cgroup path or the runtime), NAMESPACE/NAME or NAME */
			err = any_text(s, "EXISTS (SELECT 1 FROM unnest(", f->pods[0],
				       sizeof(f->pods[0]), f->n_pods, sizeof(f->pods[0]),
				       ") v WHERE r.pod_uid = v OR r.container_id IN (SELECT k.id "
				       "FROM ecap_containers k WHERE k.host_id = r.host_id AND "
				       "(k.pod_uid = v OR CASE WHEN strpos(v, '/') > 0 THEN "
				       "k.pod_namespace = split_part(v, '/', 1) AND k.pod_name = "
				       "substr(v, strpos(v, '/') + 1) ELSE k.pod_name = v END)))");
		if (!err && f->n_exes)
			err = any_text(s, "r.exe = ANY(", f->exes[0], sizeof(f->exes[0]), f->n_exes,
				       sizeof(f->exes[0]), ")");
		if (!err && f->n_cgroups) /* the path or below it ("" is the root: all) */
			err = any_text(s, "EXISTS (SELECT 1 FROM unnest(", f->cgroups[0],
				       sizeof(f->cgroups[0]), f->n_cgroups, sizeof(f->cgroups[0]),
				       ") c WHERE r.cgroup = c OR starts_with(r.cgroup, c || '/'))");
		err = err ?: add(s, ")");
	}
	return err;
}

static bool selects_process(const struct flow_filter *f)
{
	return f->n_pids || f->n_uids || f->n_comms || f->n_netns || f->n_containers ||
	       f->n_pods || f->n_exes || f->n_cgroups;
}

/* The conditions on the flow f itself: time, hosts, ports, protocol, tuples. */
static int flow_where(struct sqlq *s, const struct query *q)
{
	const struct flow_filter *f = &q->flows;
	char tmp[64], a[48], b[48];
	int err = 0;

	if (q->has_since) {
		fleet_format_ts(f->since_ns, tmp, sizeof(tmp));
		err = add(s, " AND f.last_ts >= ") ?: param(s, tmp, "::timestamptz");
	}
	if (!err && q->has_until) {
		fleet_format_ts(f->until_ns, tmp, sizeof(tmp));
		err = add(s, " AND f.first_ts <= ") ?: param(s, tmp, "::timestamptz");
	}
	if (!err && f->n_hosts) {
		struct buf c = { 0 };
		err = buf_append(&c, "{", 1);
		for (size_t i = 0; i < f->n_hosts && !err; i++) {
			fleet_format_inet(f->hosts[i], a, sizeof(a));
			err = (i ? buf_append(&c, ",", 1) : 0) ?: buf_append(&c, a, strlen(a));
		}
		if (!err)
			err = buf_append(&c, "}", 2);
		if (!err)
			err = add(s, " AND (f.addr_a = ANY(") ?:
			      param(s, (char *)c.data, "::inet[]") ?:
			      add(s, ") OR f.addr_b = ANY(") ?:
			      param(s, (char *)c.data, "::inet[]") ?: add(s, "))");
		buf_free(&c);
	}
	if (!err && f->n_ports) {
		char *arr = num_array(NULL, f->ports, f->n_ports);
		if (!arr)
			return -ENOMEM;
		err = add(s, " AND (f.port_a = ANY(") ?: param(s, arr, "::int[]") ?:
		      add(s, ") OR f.port_b = ANY(") ?: param(s, arr, "::int[]") ?: add(s, "))");
		free(arr);
	}
	if (!err && f->proto) {
		/* icmp means ICMP and ICMPv6, as locally */
		snprintf(tmp, sizeof(tmp), f->proto == FLOW_PROTO_ICMP ? " AND f.proto IN (1, 58)" :
			 " AND f.proto = %u", f->proto);
		err = add(s, tmp);
	}
	if (!err && f->n_tuples) {
		/* literal numbers and addresses we formatted ourselves: no user text */
		err = add(s, " AND (false");
		for (size_t i = 0; i < f->n_tuples && !err; i++) {
			const struct flow_key *k = &f->tuples[i];
			char c[512];
			fleet_format_inet(k->addr_a, a, sizeof(a));
			fleet_format_inet(k->addr_b, b, sizeof(b));
			snprintf(c, sizeof(c),
				 " OR (((f.addr_a = '%s' AND f.port_a = %u AND f.addr_b = "
				 "'%s' AND f.port_b = %u) OR (f.addr_a = '%s' AND f.port_a = %u AND "
				 "f.addr_b = '%s' AND f.port_b = %u))",
				 a, k->port_a, b, k->port_b, b, k->port_b, a, k->port_a);
			err = add(s, c);
			if (!err && k->proto) {
				snprintf(c, sizeof(c), " AND f.proto = %u", k->proto);
				err = add(s, c);
			}
			err = err ?: add(s, ")");
		}
		if (!err)
			err = add(s, ")");
	}
	return err;
}

#define PROC_COLS(a) a ".pid, " a ".tid, " a ".uid, " a ".gid, " a ".comm"
#define SAME_FLOW(a) a ".host_id = f.host_id AND " a ".flow_id = f.id AND " a ".first_ts = f.first_ts"

/* A flow's NAT links as "KIND PRE POST A_SIDE" joined by ',': the first FLEET_LINKS_MAX,
 * those where it is the flow before NAT first, as store_get_links lists them locally. */
#define LINKS_COL(max)                                                                        \
	"(SELECT string_agg(concat_ws(' ', l.kind, l.pre_flow, l.post_flow, l.a_side), ',' "  \
	"ORDER BY l.o, l.k) FROM (SELECT 0 AS o, post_flow AS k, kind, pre_flow, post_flow, " \
	"a_side FROM ecap_flow_links WHERE host_id = f.host_id AND pre_flow = f.id UNION ALL " \
	"SELECT 1, pre_flow, kind, pre_flow, post_flow, a_side FROM ecap_flow_links WHERE "   \
	"host_id = f.host_id AND post_flow = f.id ORDER BY 1, 2 LIMIT " #max ") l)"
#define LINKS_COL_N(max) LINKS_COL(max)

/* The matching flows with both ends' processes and their NAT links (procs false; links
 * false: the server has no ecap_flow_links, a schema before version 3), or the processes of
 * matching flows with their totals and what was recorded of them (procs true). */
static int build(struct sqlq *s, const struct query *q, bool procs, bool links)
{
	const struct flow_filter *f = &q->flows;
	int err;

	if (!procs) {
		/* each end's process by its key, per flow (LATERAL: a lookup per matching flow
		 * whatever the planner's statistics say; a join could scan every process) */
		err = add(s, "SELECT h.name, f.id, f.proto, host(f.addr_a), f.port_a, "
			     "host(f.addr_b), f.port_b, f.first_ts, f.last_ts, f.packets, f.bytes, "
			     PROC_COLS("p0") ", " PROC_COLS("p1") ", ") ?:
		      add(s, links ? LINKS_COL_N(FLEET_LINKS_MAX) : "NULL") ?:
		      add(s, " FROM ecap_flows f JOIN ecap_hosts "
			     "h USING (host_id) LEFT JOIN LATERAL (SELECT * FROM ecap_procs p0 WHERE "
			     SAME_FLOW("p0") " AND p0.side = 0) p0 ON true LEFT JOIN LATERAL (SELECT * "
			     "FROM ecap_procs p1 WHERE " SAME_FLOW("p1") " AND p1.side = 1) p1 ON true "
			     "WHERE true") ?:
		      flow_where(s, q);
		/* the flows an owner matches, and (links) one hop through NAT links either way,
		 * as a local selection does */
		if (!err && selects_process(f))
			err = add(s, " AND (EXISTS (SELECT 1 FROM ecap_procs p WHERE " SAME_FLOW("p")) ?:
			      proc_where(s, "p", f) ?: add(s, ")");
		if (!err && selects_process(f) && links)
			err = add(s, " OR EXISTS (SELECT 1 FROM ecap_flow_links l JOIN ecap_procs p ON "
				     "p.host_id = l.host_id AND p.flow_id = l.pre_flow WHERE l.host_id "
				     "= f.host_id AND l.post_flow = f.id") ?:
			      proc_where(s, "p", f) ?:
			      add(s, ") OR EXISTS (SELECT 1 FROM ecap_flow_links l JOIN ecap_procs p "
				     "ON p.host_id = l.host_id AND p.flow_id = l.post_flow WHERE "
				     "l.host_id = f.host_id AND l.pre_flow = f.id") ?:
			      proc_where(s, "p", f) ?: add(s, ")");
		if (!err && selects_process(f))
			err = add(s, ")");
		err = err ?: add(s, " ORDER BY h.name, f.id");
		return err ?: buf_append(&s->sql, "", 1);
	}
	/* one row per process; a process talking to itself (both ends, over loopback) counts
	 * the flow once, as locally */
	err = add(s, "SELECT h.name, p.pid, p.uid, p.comm, p.start, count(*), sum(f.packets), "
		     "sum(f.bytes), min(f.first_ts), max(f.last_ts), x.start_ts, x.ppid, "
		     "x.parent_comm, x.nspid, x.exe, x.args, x.cgroup, x.container_id, x.runtime, "
		     "x.pod_uid, k.name, k.image, k.labels, k.pod_name, k.pod_namespace, k.pod_uid "
		     "FROM ecap_flows f JOIN ecap_hosts h USING (host_id) JOIN ecap_procs p "
		     "ON " SAME_FLOW("p") " LEFT JOIN ecap_processes x ON x.host_id = p.host_id AND "
		     "x.pid = p.pid AND x.start = p.start AND p.start <> 0 LEFT JOIN ecap_containers "
		     "k ON k.host_id = x.host_id AND k.id = x.container_id AND x.container_id <> '' "
		     "WHERE true") ?:
	      flow_where(s, q) ?: proc_where(s, "p", f) ?:
	      add(s, " AND NOT (p.side = 1 AND EXISTS (SELECT 1 FROM ecap_procs o WHERE "
		     SAME_FLOW("o") " AND o.side = 0 AND o.pid = p.pid AND o.uid = p.uid AND "
		     "o.comm = p.comm AND o.start = p.start") ?:
	      proc_where(s, "o", f) ?:
	      add(s, ")) GROUP BY h.name, p.pid, p.uid, p.comm, p.start, x.start_ts, x.ppid, "
		     "x.parent_comm, x.nspid, x.exe, x.args, x.cgroup, x.container_id, x.runtime, "
		     "x.pod_uid, k.name, k.image, k.labels, k.pod_name, k.pod_namespace, k.pod_uid "
		     "ORDER BY 1, 8 DESC, 2");
	return err ?: buf_append(&s->sql, "", 1);
}

size_t fleet_connect_all(const struct fleet_dsns *d, const char *tls_ca, PGconn **conns)
{
	char err[512];
	size_t ok = 0;
	for (size_t i = 0; i < d->n; i++) {
		conns[i] = fleet_connect(d->v[i], tls_ca, err, sizeof(err));
		if (!conns[i])
			fprintf(stderr, "fleet: server %zu: %s\n", i + 1, err);
		else
			ok++;
	}
	return ok;
}

void fleet_disconnect_all(PGconn **conns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (conns[i])
			PQfinish(conns[i]);
}

bool fleet_safe_word(const char *s)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789._-:/@";
	return *s && *s != '-' && strlen(s) < 4096 && strspn(s, ok) == strlen(s);
}

static int copy_text(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return -EBADMSG;
	strcpy(dst, src);
	return 0;
}

static int take_u64(const char *s, uint64_t *v)
{
	char *end;
	if (!*s || *s == '-')
		return -EBADMSG;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return *end || errno ? -EBADMSG : 0;
}

/* Room for one more element in *v (n used of *cap, elements of size bytes). */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 64;
	void *p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* A number column no larger than max. */
static int take_max(PGresult *r, int row, int c, uint64_t max, uint64_t *v)
{
	return take_u64(PQgetvalue(r, row, c), v) || *v > max ? -EBADMSG : 0;
}

/* Text a server answered, for a field that holds printable ASCII: bounded, anything else
 * as '?' (the same rule the hosts applied when they recorded it). */
static void printable_copy(char *dst, size_t len, const char *src)
{
	size_t i;
	for (i = 0; i + 1 < len && src[i]; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || (unsigned char)src[i] >= 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

/* An end's process from 5 columns (pid, tid, uid, gid, comm) from c; all NULL: none. */
static int take_proc(PGresult *r, int row, int c, struct ecap_proc *p)
{
	uint64_t v[4];
	memset(p, 0, sizeof(*p));
	if (PQgetisnull(r, row, c))
		return 0;
	for (int k = 0; k < 4; k++)
		if (take_max(r, row, c + k, UINT32_MAX, &v[k]))
			return -EBADMSG;
	p->valid = true;
	p->pid = (uint32_t)v[0];
	p->tid = (uint32_t)v[1];
	p->uid = (uint32_t)v[2];
	p->gid = (uint32_t)v[3];
	snprintf(p->comm, sizeof(p->comm), "%s", PQgetvalue(r, row, c + 4));
	return 0;
}

/* An address as the server prints inet (host()), into the 16 bytes of a flow key. */
static int take_addr(const char *s, uint8_t addr[16], uint8_t *family)
{
	int fam;
	if (args_parse_host(s, addr, &fam) < 0)
		return -EBADMSG;
	*family = (uint8_t)fam;
	return 0;
}

/* A flow's links from LINKS_COL's text ("" or NULL: none); every number checked. */
static int take_links(const char *text, struct fleet_flow *f)
{
	char buf[FLEET_LINKS_MAX * 4 * 24];
	char *save = NULL, *one;
	if (strlen(text) >= sizeof(buf))
		return -EBADMSG;
	strcpy(buf, text);
	for (one = strtok_r(buf, ",", &save); one; one = strtok_r(NULL, ",", &save)) {
		uint64_t v[4];
		char *save2 = NULL, *w = strtok_r(one, " ", &save2);
		int k;
		for (k = 0; k < 4 && w; k++, w = strtok_r(NULL, " ", &save2))
			if (take_u64(w, &v[k]))
				return -EBADMSG;
		if (k != 4 || w || f->n_links >= FLEET_LINKS_MAX || !v[0] ||
		    v[0] > (FLOW_LINK_SNAT | FLOW_LINK_DNAT) || v[1] > INT64_MAX ||
		    v[2] > INT64_MAX || v[3] > 1)
			return -EBADMSG;
		struct flow_link *l = &f->links[f->n_links++];
		l->kind = (uint8_t)v[0];
		l->pre_id = v[1];
		l->post_id = v[2];
		l->pre_a_side = (uint8_t)v[3];
	}
	return 0;
}

static int collect_flows(PGresult *r, struct fleet_result *out)
{
	if (PQnfields(r) != 22)
		return -EBADMSG;
	for (int i = 0; i < PQntuples(r); i++) {
		if (out->n_flows >= MAX_FLOWS_PER_QUERY)
			return -E2BIG;
		if (grow((void **)&out->flows, &out->cap_flows, out->n_flows, sizeof(*out->flows)))
			return -ENOMEM;
		struct fleet_flow *f = &out->flows[out->n_flows];
		struct flow_record *rec = &f->fi.rec;
		uint64_t v[4];
		uint8_t fam_b;
		memset(f, 0, sizeof(*f));
		if (copy_text(f->host, sizeof(f->host), PQgetvalue(r, i, 0)) ||
		    take_max(r, i, 1, INT64_MAX, &rec->id) || take_max(r, i, 2, 255, &v[0]) ||
		    take_addr(PQgetvalue(r, i, 3), rec->key.addr_a, &rec->key.family) ||
		    take_max(r, i, 4, 65535, &v[1]) ||
		    take_addr(PQgetvalue(r, i, 5), rec->key.addr_b, &fam_b) ||
		    take_max(r, i, 6, 65535, &v[2]) ||
		    fleet_parse_ts(PQgetvalue(r, i, 7), &rec->first_ns) ||
		    fleet_parse_ts(PQgetvalue(r, i, 8), &f->fi.last_ns) ||
		    take_u64(PQgetvalue(r, i, 9), &f->fi.packets) ||
		    take_u64(PQgetvalue(r, i, 10), &f->fi.bytes) ||
		    take_proc(r, i, 11, &rec->proc[0]) || take_proc(r, i, 16, &rec->proc[1]) ||
		    take_links(PQgetvalue(r, i, 21), f))
			return -EBADMSG;
		rec->key.proto = (uint8_t)v[0];
		rec->key.port_a = (uint16_t)v[1];
		rec->key.port_b = (uint16_t)v[2];
		out->n_flows++;
	}
	return 0;
}

static int collect_hosts(PGresult *r, size_t server, struct fleet_result *out)
{
	if (PQnfields(r) != 7)
		return -EBADMSG;
	for (int i = 0; i < PQntuples(r); i++) {
		if (grow((void **)&out->hosts, &out->cap_hosts, out->n_hosts, sizeof(*out->hosts)))
			return -ENOMEM;
		struct fleet_host *h = &out->hosts[out->n_hosts];
		memset(h, 0, sizeof(*h));
		h->server = server;
		if (copy_text(h->name, sizeof(h->name), PQgetvalue(r, i, 0)) ||
		    copy_text(h->store, sizeof(h->store), PQgetvalue(r, i, 1)) ||
		    take_u64(PQgetvalue(r, i, 2), &h->shipped_chunk) ||
		    take_u64(PQgetvalue(r, i, 3), &h->local_chunk) ||
		    take_u64(PQgetvalue(r, i, 4), &h->shipped_ns) ||
		    take_u64(PQgetvalue(r, i, 5), &h->local_ns))
			return -EBADMSG;
		snprintf(h->shipped_at, sizeof(h->shipped_at), "%s", PQgetvalue(r, i, 6));
		out->n_hosts++;
	}
	return 0;
}

/* Send a query to every connected server (sql, or alt where use_alt says so), then read
 * every answer. */
static int fan_out_alt(PGconn **conns, size_t n, const char *sql, const struct sqlq *s,
		       const char *alt, const struct sqlq *alt_s, const bool *use_alt,
		       int (*take)(PGresult *r, size_t server, struct fleet_result *out),
		       struct fleet_result *out)
{
	int err = 0;
	for (size_t i = 0; i < n; i++) {
		bool a = use_alt && use_alt[i];
		const struct sqlq *p = a ? alt_s : s;
		if (conns[i] &&
		    !PQsendQueryParams(conns[i], a ? alt : sql, p ? p->n : 0, NULL,
				       p ? (const char *const *)p->params : NULL, NULL, NULL, 0)) {
			fprintf(stderr, "fleet: server %zu: %s", i + 1, PQerrorMessage(conns[i]));
			out->servers_failed++;
			PQfinish(conns[i]);
			conns[i] = NULL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		PGresult *r;
		if (!conns[i])
			continue;
		bool failed = false;
		while ((r = PQgetResult(conns[i]))) {
			if (PQresultStatus(r) != PGRES_TUPLES_OK) {
				fprintf(stderr, "fleet: server %zu: %s", i + 1,
					PQerrorMessage(conns[i]));
				failed = true;
			} else if (!err && (err = take(r, i, out)) == -EBADMSG) {
				fprintf(stderr, "fleet: server %zu: a malformed answer\n", i + 1);
			}
			PQclear(r);
		}
		if (failed)
			out->servers_failed++;
	}
	return err;
}

/* The same query to every connected server. */
static int fan_out(PGconn **conns, size_t n, const char *sql, const struct sqlq *s,
		   int (*take)(PGresult *r, size_t server, struct fleet_result *out),
		   struct fleet_result *out)
{
	return fan_out_alt(conns, n, sql, s, NULL, NULL, NULL, take, out);
}

/* Which servers lack ecap_flow_links (a schema before version 3: no shipper of this version
 * has connected yet); a server that cannot say is asked as if it had the table (its error then
 * names it). */
static void servers_without_links(PGconn **conns, size_t n, bool *without)
{
	for (size_t i = 0; i < n; i++) {
		without[i] = false;
		if (!conns[i])
			continue;
		PGresult *r = PQexec(conns[i], "SELECT to_regclass('ecap_flow_links') IS NULL");
		without[i] = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
			     strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		PQclear(r);
	}
}

static int take_procs(PGresult *r, size_t server, struct fleet_result *out)
{
	(void)server;
	if (PQnfields(r) != 26)
		return -EBADMSG;
	for (int i = 0; i < PQntuples(r); i++) {
		if (grow((void **)&out->procs, &out->cap_procs, out->n_procs, sizeof(*out->procs)))
			return -ENOMEM;
		struct fleet_proc *p = &out->procs[out->n_procs];
		struct ecap_proc_info *pi = &p->info;
		uint64_t v[3];
		memset(p, 0, sizeof(*p));
		if (copy_text(p->host, sizeof(p->host), PQgetvalue(r, i, 0)) ||
		    take_max(r, i, 1, UINT32_MAX, &v[0]) || take_max(r, i, 2, UINT32_MAX, &v[1]) ||
		    take_u64(PQgetvalue(r, i, 4), &p->t.start_ns) ||
		    take_u64(PQgetvalue(r, i, 5), &p->t.flows) ||
		    take_u64(PQgetvalue(r, i, 6), &p->t.packets) ||
		    take_u64(PQgetvalue(r, i, 7), &p->t.bytes) ||
		    fleet_parse_ts(PQgetvalue(r, i, 8), &p->t.first_ns) ||
		    fleet_parse_ts(PQgetvalue(r, i, 9), &p->t.last_ns))
			return -EBADMSG;
		p->t.pid = (uint32_t)v[0];
		p->t.uid = (uint32_t)v[1];
		snprintf(p->t.comm, sizeof(p->t.comm), "%s", PQgetvalue(r, i, 3));
		p->has_info = !PQgetisnull(r, i, 10);
		if (p->has_info) {
			if (fleet_parse_ts(PQgetvalue(r, i, 10), &pi->start_wall_ns) ||
			    take_max(r, i, 11, UINT32_MAX, &v[0]) ||
			    take_max(r, i, 13, UINT32_MAX, &v[1]))
				return -EBADMSG;
			pi->pid = p->t.pid;
			pi->start_ns = p->t.start_ns;
			pi->ppid = (uint32_t)v[0];
			pi->nspid = (uint32_t)v[1];
			printable_copy(pi->parent_comm, sizeof(pi->parent_comm), PQgetvalue(r, i, 12));
			printable_copy(pi->exe, sizeof(pi->exe), PQgetvalue(r, i, 14));
			printable_copy(pi->args, sizeof(pi->args), PQgetvalue(r, i, 15));
			printable_copy(pi->cgroup, sizeof(pi->cgroup), PQgetvalue(r, i, 16));
			printable_copy(pi->container_id, sizeof(pi->container_id),
				       PQgetvalue(r, i, 17));
			printable_copy(pi->runtime, sizeof(pi->runtime), PQgetvalue(r, i, 18));
			printable_copy(pi->pod_uid, sizeof(pi->pod_uid), PQgetvalue(r, i, 19));
			struct ecap_container *c = &p->ctr;
			printable_copy(c->name, sizeof(c->name), PQgetvalue(r, i, 20));
			printable_copy(c->image, sizeof(c->image), PQgetvalue(r, i, 21));
			printable_copy(c->labels, sizeof(c->labels), PQgetvalue(r, i, 22));
			printable_copy(c->pod_name, sizeof(c->pod_name), PQgetvalue(r, i, 23));
			printable_copy(c->pod_namespace, sizeof(c->pod_namespace),
				       PQgetvalue(r, i, 24));
			printable_copy(c->pod_uid, sizeof(c->pod_uid), PQgetvalue(r, i, 25));
		}
		out->n_procs++;
	}
	return 0;
}

static int take_flows(PGresult *r, size_t server, struct fleet_result *out)
{
	(void)server;
	return collect_flows(r, out);
}

int fleet_query(PGconn **conns, size_t n, const struct query *q, bool procs,
		struct fleet_result *out)
{
	struct sqlq s = { 0 };
	int err;
	memset(out, 0, sizeof(*out));
	err = fan_out(conns, n,
		      "SELECT name, store, shipped_chunk, local_chunk, shipped_ns, "
		      "local_ns, coalesce(shipped_at::text, '') FROM ecap_hosts ORDER BY name",
		      NULL, collect_hosts, out);
	if (err)
		return err;
	if (procs) {
		err = build(&s, q, true, false);
		if (!err)
			err = fan_out(conns, n, (const char *)s.sql.data, &s, take_procs, out);
	} else {
		/* the same SQL and parameters, but NULL for the links where the table is missing */
		struct sqlq plain = { 0 };
		bool without[FLEET_MAX_DSNS];
		if (n > FLEET_MAX_DSNS)
			return -E2BIG;
		servers_without_links(conns, n, without);
		err = build(&s, q, false, true) ?: build(&plain, q, false, false);
		if (!err)
			err = fan_out_alt(conns, n, (const char *)s.sql.data, &s,
					  (const char *)plain.sql.data, &plain, without, take_flows,
					  out);
		buf_free(&plain.sql);
		for (int i = 0; i < plain.n; i++)
			free(plain.params[i]);
	}
	buf_free(&s.sql);
	for (int i = 0; i < s.n; i++)
		free(s.params[i]);
	return err;
}

void fleet_result_free(struct fleet_result *r)
{
	free(r->flows);
	free(r->hosts);
	free(r->procs);
	memset(r, 0, sizeof(*r));
}
