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

#define MAX_PARAMS 16
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

/* A PostgreSQL array literal of unsigned numbers. */
static char *num_array(const uint32_t *v16, const uint16_t *v8, size_t n)
{
	char *out = malloc(n * 12 + 3);
	size_t len = 1;
	if (!out)
		return NULL;
	out[0] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(out + len, "%s%u", i ? "," : "", v16 ? v16[i] : v8[i]);
	strcpy(out + len, "}");
	return out;
}

static int where_procs(struct sqlq *s, const char *col, const char *arr, const char *cast)
{
	int err = add(s, " AND EXISTS (SELECT 1 FROM ecap_procs p WHERE p.host_id = f.host_id AND "
			 "p.flow_id = f.id AND p.first_ts = f.first_ts AND p.");
	if (!err)
		err = add(s, col);
	if (!err)
		err = add(s, " = ANY(");
	if (!err)
		err = param(s, arr, cast);
	return err ? err : add(s, "))");
}

/* The matching flows (procs false), or their processes with totals (procs true). */
static int build(struct sqlq *s, const struct query *q, bool procs)
{
	const struct flow_filter *f = &q->flows;
	char tmp[64], a[48], b[48];
	char *arr;
	int err = add(s, procs ?
		"SELECT h.name, p.pid, p.uid, p.comm, count(*), sum(f.packets), sum(f.bytes) "
		"FROM ecap_flows f JOIN ecap_hosts h USING (host_id) JOIN ecap_procs p ON "
		"p.host_id = f.host_id AND p.flow_id = f.id AND p.first_ts = f.first_ts "
		"WHERE true" :
		"SELECT h.name, f.id, f.proto, host(f.addr_a), f.port_a, host(f.addr_b), "
		"f.port_b, f.first_ts, f.last_ts, f.packets, f.bytes, (SELECT "
		"string_agg(p.pid || '/' || p.comm, ' ' ORDER BY p.side) FROM ecap_procs p "
		"WHERE p.host_id = f.host_id AND p.flow_id = f.id AND p.first_ts = f.first_ts) "
		"FROM ecap_flows f JOIN ecap_hosts h USING (host_id) WHERE true");
	if (!err && q->has_since) {
		fleet_format_ts(f->since_ns, tmp, sizeof(tmp));
		err = add(s, " AND f.last_ts >= ") ?: param(s, tmp, "::timestamptz");
	}
	if (!err && q->has_until) {
		fleet_format_ts(f->until_ns, tmp, sizeof(tmp));
		err = add(s, " AND f.first_ts <= ") ?: param(s, tmp, "::timestamptz");
	}
	if (!err && f->n_pids) {
		if (!(arr = num_array(f->pids, NULL, f->n_pids)))
			return -ENOMEM;
		err = where_procs(s, "pid", arr, "::bigint[]");
		free(arr);
	}
	if (!err && f->n_uids) {
		if (!(arr = num_array(f->uids, NULL, f->n_uids)))
			return -ENOMEM;
		err = where_procs(s, "uid", arr, "::bigint[]");
		free(arr);
	}
	if (!err && f->n_comms) {
		struct buf c = { 0 };
		err = buf_append(&c, "{", 1);
		for (size_t i = 0; i < f->n_comms && !err; i++) {
			err = buf_append(&c, i ? ",\"" : "\"", i ? 2 : 1);
			for (const char *p = f->comms[i]; *p && !err; p++)
				err = (*p == '"' || *p == '\\' ? buf_append(&c, "\\", 1) : 0)
					      ?: buf_append(&c, p, 1);
			if (!err)
				err = buf_append(&c, "\"", 1);
		}
		if (!err)
			err = buf_append(&c, "}", 2);
		if (!err)
			err = where_procs(s, "comm", (const char *)c.data, "::text[]");
		buf_free(&c);
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
		if (!(arr = num_array(NULL, f->ports, f->n_ports)))
			return -ENOMEM;
		err = add(s, " AND (f.port_a = ANY(") ?: param(s, arr, "::int[]") ?:
		      add(s, ") OR f.port_b = ANY(") ?: param(s, arr, "::int[]") ?: add(s, "))");
		free(arr);
	}
	if (!err && f->proto) {
		snprintf(tmp, sizeof(tmp), " AND f.proto = %u", f->proto);
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
			snprintf(
				c, sizeof(c),
				" OR ((f.addr_a = '%s' AND f.port_a = %u AND f.addr_b = "
				"'%s' AND f.port_b = %u) OR (f.addr_a = '%s' AND f.port_a = %u AND "
				"f.addr_b = '%s' AND f.port_b = %u))%s",
				a, k->port_a, b, k->port_b, b, k->port_b, a, k->port_a, "");
			err = add(s, c);
			if (!err && k->proto) {
				snprintf(c, sizeof(c), " AND f.proto = %u", k->proto);
				err = add(s, c);
			}
		}
		if (!err)
			err = add(s, ")");
	}
	if (!err)
		err = add(s, procs ? " GROUP BY 1, 2, 3, 4 ORDER BY 1, 7 DESC" :
				     " ORDER BY h.name, f.id");
	return err ? err : buf_append(&s->sql, "", 1);
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

static int collect_flows(PGresult *r, struct fleet_result *out)
{
	int nf = PQnfields(r);
	if (nf != 12)
		return -EBADMSG;
	for (int i = 0; i < PQntuples(r); i++) {
		if (out->n_flows >= MAX_FLOWS_PER_QUERY)
			return -E2BIG;
		if (grow((void **)&out->flows, &out->cap_flows, out->n_flows, sizeof(*out->flows)))
			return -ENOMEM;
		struct fleet_flow *f = &out->flows[out->n_flows];
		uint64_t v;
		memset(f, 0, sizeof(*f));
		if (copy_text(f->host, sizeof(f->host), PQgetvalue(r, i, 0)) ||
		    take_u64(PQgetvalue(r, i, 1), &f->id) || take_u64(PQgetvalue(r, i, 2), &v) ||
		    v > 255 || copy_text(f->addr_a, sizeof(f->addr_a), PQgetvalue(r, i, 3)))
			return -EBADMSG;
		f->proto = (uint8_t)v;
		if (take_u64(PQgetvalue(r, i, 4), &v) || v > 65535)
			return -EBADMSG;
		f->port_a = (uint16_t)v;
		if (copy_text(f->addr_b, sizeof(f->addr_b), PQgetvalue(r, i, 5)) ||
		    take_u64(PQgetvalue(r, i, 6), &v) || v > 65535)
			return -EBADMSG;
		f->port_b = (uint16_t)v;
		if (fleet_parse_ts(PQgetvalue(r, i, 7), &f->first_ns) ||
		    fleet_parse_ts(PQgetvalue(r, i, 8), &f->last_ns) ||
		    take_u64(PQgetvalue(r, i, 9), &f->packets) ||
		    take_u64(PQgetvalue(r, i, 10), &f->bytes))
			return -EBADMSG;
		snprintf(f->procs, sizeof(f->procs), "%s", PQgetvalue(r, i, 11));
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

/* Send the same query to every connected server, then read every answer. */
static int fan_out(PGconn **conns, size_t n, const char *sql, const struct sqlq *s,
		   int (*take)(PGresult *r, size_t server, struct fleet_result *out),
		   struct fleet_result *out)
{
	int err = 0;
	for (size_t i = 0; i < n; i++)
		if (conns[i] &&
		    !PQsendQueryParams(conns[i], sql, s ? s->n : 0, NULL,
				       s ? (const char *const *)s->params : NULL, NULL, NULL, 0)) {
			fprintf(stderr, "fleet: server %zu: %s", i + 1, PQerrorMessage(conns[i]));
			out->servers_failed++;
			PQfinish(conns[i]);
			conns[i] = NULL;
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

static int take_procs(PGresult *r, size_t server, struct fleet_result *out)
{
	(void)server;
	if (PQnfields(r) != 7)
		return -EBADMSG;
	for (int i = 0; i < PQntuples(r); i++) {
		if (grow((void **)&out->procs, &out->cap_procs, out->n_procs, sizeof(*out->procs)))
			return -ENOMEM;
		struct fleet_proc *p = &out->procs[out->n_procs];
		memset(p, 0, sizeof(*p));
		if (copy_text(p->host, sizeof(p->host), PQgetvalue(r, i, 0)) ||
		    take_u64(PQgetvalue(r, i, 1), &p->pid) ||
		    take_u64(PQgetvalue(r, i, 2), &p->uid) ||
		    take_u64(PQgetvalue(r, i, 4), &p->flows) ||
		    take_u64(PQgetvalue(r, i, 5), &p->packets) ||
		    take_u64(PQgetvalue(r, i, 6), &p->bytes))
			return -EBADMSG;
		snprintf(p->comm, sizeof(p->comm), "%s", PQgetvalue(r, i, 3));
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
	err = build(&s, q, procs);
	if (!err)
		err = fan_out(conns, n, (const char *)s.sql.data, &s,
			      procs ? take_procs : take_flows, out);
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
