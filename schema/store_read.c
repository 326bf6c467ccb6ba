// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_read.c - the reader side of the store API: which flows match a filter, which chunks
 * hold their packets, a chunk's packets in time order (or its DSBs alone), and the summary
 * figures (the secrets of a set of flows: store_secrets_read.c). Every query goes through an
 * index (flows by process; chunks by flow and by time) or, for flows by address and port, the
 * chunks' key filters (flow_keys.h), so its cost follows the size of the answer and the number
 * of chunks; inside a chunk, an export by flow reads only the blocks that hold the flows'
 * packets.
 */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunk_runs.h"
#include "flow_keys.h"
#include "idruns.h"
#include "owner_ranges.h"
#include "segment.h"
#include "u32scan.h"

void flow_filter_init(struct flow_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->until_ns = UINT64_MAX;
}

bool flow_filter_selects(const struct flow_filter *f)
{
	return f->n_pids || f->n_uids || f->n_comms || f->n_hosts || f->n_ports || f->n_tuples ||
	       f->proto || f->n_containers || f->n_exes || f->n_cgroups || f->n_netns ||
	       f->n_pods;
}

/* ---- a WHERE clause with bound parameters ------------------------------------------ */

enum { P_INT, P_BLOB, P_TEXT };
struct param {
	int type;
	int64_t i;
	const void *p;
	int len;
};

struct query {
	struct buf sql;
	struct param *params;
	size_t n_params, cap_params;
	int err;
};

static void q_sql(struct query *q, const char *s)
{
	if (!q->err)
		q->err = buf_append(&q->sql, s, strlen(s));
}

static void q_param(struct query *q, int type, int64_t i, const void *p, int len)
{
	struct param *slot = chunkmeta_grow((void **)&q->params, &q->n_params, &q->cap_params,
					    sizeof(*slot));
	if (!slot) {
		q->err = -ENOMEM;
		return;
	}
	slot->type = type;
	slot->i = i;
	slot->p = p;
	slot->len = len;
	q_sql(q, "?");
}

static void q_int(struct query *q, int64_t v)
{
	q_param(q, P_INT, v, NULL, 0);
}

static void q_blob16(struct query *q, const uint8_t *p)
{
	q_param(q, P_BLOB, 0, p, 16);
}

static void q_free(struct query *q)
{
	buf_free(&q->sql);
	free(q->params);
}

static int q_prepare(struct store *s, struct query *q, sqlite3_stmt **st)
{
	if (q->err || buf_append(&q->sql, "", 1))
		return -ENOMEM;
	if (sqlite3_prepare_v2(index_db(s->ix), (const char *)q->sql.data, -1, st, NULL) !=
	    SQLITE_OK)
		return store_fail(s, -EIO, "%s: query: %s", s->dir, index_errmsg(s->ix));
	for (size_t i = 0; i < q->n_params; i++) {
		const struct param *p = &q->params[i];
		int k = (int)i + 1;
		if (p->type == P_INT)
			sqlite3_bind_int64(*st, k, p->i);
		else if (p->type == P_BLOB)
			sqlite3_bind_blob(*st, k, p->p, p->len, SQLITE_STATIC);
		else
			sqlite3_bind_text(*st, k, p->p, p->len, SQLITE_STATIC);
	}
	return 0;
}

static void q_list_u32(struct query *q, const char *col, const uint32_t *v, size_t n)
{
	q_sql(q, col);
	q_sql(q, " IN (");
	for (size_t i = 0; i < n; i++) {
		if (i)
			q_sql(q, ",");
		q_int(q, v[i]);
	}
	q_sql(q, ")");
}

static void tuple_side(struct query *q, const uint8_t *a, uint16_t pa, const uint8_t *b,
		       uint16_t pb)
{
	q_sql(q, "(f.addr_a = ");
	q_blob16(q, a);
	q_sql(q, " AND f.port_a = ");
	q_int(q, pa);
	q_sql(q, " AND f.addr_b = ");
	q_blob16(q, b);
	q_sql(q, " AND f.port_b = ");
	q_int(q, pb);
	q_sql(q, ")");
}

/* " OR "-joined: text column equals a value, or (prefix) starts with it; below (a path): is it
 * or lies under it. */
static void q_text_any(struct query *q, const char *col, const char *v, size_t stride, size_t n,
		       bool prefix, bool below)
{
	q_sql(q, " AND (");
	for (size_t i = 0; i < n; i++) {
		const char *val = v + i * stride;
		int len = (int)strlen(val);
		q_sql(q, i ? " OR " : "");
		if (prefix || below) {
			/* substr() rather than LIKE: no wildcard in a value means anything */
			q_sql(q, "(substr(");
			q_sql(q, col);
			q_sql(q, ", 1, ");
			q_int(q, len);
			q_sql(q, ") = ");
			q_param(q, P_TEXT, 0, val, len);
			if (below) {
				q_sql(q, " AND (length(");
				q_sql(q, col);
				q_sql(q, ") = ");
				q_int(q, len);
				q_sql(q, " OR substr(");
				q_sql(q, col);
				q_sql(q, ", ");
				q_int(q, len + 1);
				q_sql(q, ", 1) = '/')");
			}
			q_sql(q, ")");
		} else {
			q_sql(q, col);
			q_sql(q, " = ");
			q_param(q, P_TEXT, 0, val, len);
		}
	}
	q_sql(q, ")");
}

static bool hex_id_prefix(const char *v)
{
	size_t n = strlen(v);
	return n >= 12 && n < ECAP_CONTAINER_ID_MAX && strspn(v, "0123456789abcdef") == n;
}

/* Inside the processes subquery: the container is one of f's, by id (or its first 12 or more
 * digits) or by the name its runtime gave it. A process in no container (container_id '') is
 * in none of them: saying so lets SQLite use processes_by_container, which since index
 * version 9 holds only the processes in a container. */
static void containers_where(struct query *q, const struct flow_filter *f)
{
	q_sql(q, " AND x.container_id <> '' AND (");
	for (size_t i = 0; i < f->n_containers; i++) {
		const char *v = f->containers[i];
		int len = (int)strlen(v);
		q_sql(q, i ? " OR " : "");
		if (hex_id_prefix(v)) {
			q_sql(q, "substr(x.container_id, 1, ");
			q_int(q, len);
			q_sql(q, ") = ");
			q_param(q, P_TEXT, 0, v, len);
			q_sql(q, " OR ");
		}
		q_sql(q, "x.container_id IN (SELECT id FROM containers WHERE name = ");
		q_param(q, P_TEXT, 0, v, len);
		q_sql(q, ")");
	}
	q_sql(q, ")");
}

/* A pod uid: 36 characters, hex digits and dashes in the 8-4-4-4-12 form. */
static bool pod_uid_form(const char *v)
{
	if (strlen(v) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? v[i] != '-' : !strchr("0123456789abcdef", v[i]) || !v[i])
			return false;
	}
	return true;
}

/* Inside the processes subquery: the pod is one of f's: by NAME, NAMESPACE/NAME, or uid (the
 * runtime's labels, or the kubepods cgroup path). */
static void pods_where(struct query *q, const struct flow_filter *f)
{
	q_sql(q, " AND (");
	for (size_t i = 0; i < f->n_pods; i++) {
		const char *v = f->pods[i], *slash = strchr(v, '/');
		q_sql(q, i ? " OR " : "");
		if (pod_uid_form(v)) {
			q_sql(q, "x.pod_uid = ");
			q_param(q, P_TEXT, 0, v, 36);
			q_sql(q, " OR x.container_id IN "
				 "(SELECT id FROM containers WHERE pod_uid = ");
			q_param(q, P_TEXT, 0, v, 36);
			q_sql(q, ")");
			continue;
		}
		q_sql(q, "x.container_id IN (SELECT id FROM containers WHERE ");
		if (slash) {
			q_sql(q, "pod_namespace = ");
			q_param(q, P_TEXT, 0, v, (int)(slash - v));
			q_sql(q, " AND ");
			v = slash + 1;
		}
		q_sql(q, "pod_name = ");
		q_param(q, P_TEXT, 0, v, (int)strlen(v));
		q_sql(q, ")");
	}
	q_sql(q, ")");
}

/* a.col: a column of the owner alias a ("o" for owner_flows); or, for a prefix of a flow's
 * owner columns ending in '_' ("p.a_" for side A of flows p, "p.b_"), a.a_col */
static void q_col(struct query *q, const char *a, const char *col)
{
	q_sql(q, a);
	if (a[0] && a[strlen(a) - 1] != '_')
		q_sql(q, ".");
	q_sql(q, col);
}

static void proc_info_from(struct query *q, const struct flow_filter *f);

/* The owner a (a side of a flow, or a pid and start) is a process whose record matches: its
 * (pid, start) among the processes the filter selects (for owner_flows rows, owned_from()
 * starts from those processes instead). */
static void proc_info_where(struct query *q, const struct flow_filter *f, const char *a)
{
	q_sql(q, " AND (");
	q_col(q, a, "pid");
	q_sql(q, ", ");
	q_col(q, a, "start");
	q_sql(q, ") IN (SELECT x.pid, x.start");
	proc_info_from(q, f);
	q_sql(q, ")");
}

/* " FROM processes x WHERE ...": the processes whose record the filter selects. */
static void proc_info_from(struct query *q, const struct flow_filter *f)
{
	q_sql(q, " FROM processes x WHERE x.start != 0");
	if (f->n_containers)
		containers_where(q, f);
	if (f->n_pods)
		pods_where(q, f);
	if (f->n_exes)
		q_text_any(q, "x.exe", f->exes[0], sizeof(f->exes[0]), f->n_exes, false, false);
	if (f->n_cgroups)
		q_text_any(q, "x.cgroup", f->cgroups[0], sizeof(f->cgroups[0]), f->n_cgroups, false,
			   true);
}

static bool by_proc_info(const struct flow_filter *f)
{
	return f->n_containers || f->n_exes || f->n_cgroups || f->n_pods;
}

/* Whether a selection finds its owner_flows rows by pid (rows_holding()). */
static bool rows_by_pid(const struct flow_filter *f)
{
	return f->n_pids || by_proc_info(f);
}

int store_process_selected(struct store *s, const struct flow_filter *f, uint32_t pid,
			   uint64_t start_ns)
{
	struct query q = { 0 };
	sqlite3_stmt *st = NULL;
	int rc;

	if (!f->n_containers && !f->n_exes && !f->n_cgroups && !f->n_pods)
		return 1;
	q_sql(&q, "SELECT 1 FROM (SELECT ");
	q_int(&q, pid);
	q_sql(&q, " AS pid, ");
	q_int(&q, (int64_t)start_ns);
	q_sql(&q, " AS start) p WHERE 1");
	proc_info_where(&q, f, "p");
	rc = q_prepare(s, &q, &st);
	if (rc == 0) {
		rc = sqlite3_step(st);
		rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 :
		     store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
	}
	sqlite3_finalize(st);
	q_free(&q);
	return rc;
}

/* The owner a (a side of a flow) is one of the pids, at its start when given. */
static void pid_where(struct query *q, const struct flow_filter *f, const char *a)
{
	uint32_t any[STORE_MATCH_MAX];
	size_t n_any = 0, terms = 0;

	for (size_t i = 0; i < f->n_pids; i++)
		if (!f->pid_starts[i])
			any[n_any++] = f->pids[i];
	q_sql(q, " AND (");
	if (n_any) {
		q_col(q, a, "pid");
		q_list_u32(q, "", any, n_any);
		terms++;
	}
	for (size_t i = 0; i < f->n_pids; i++) {
		if (!f->pid_starts[i])
			continue;
		q_sql(q, terms++ ? " OR (" : "(");
		q_col(q, a, "pid");
		q_sql(q, " = ");
		q_int(q, f->pids[i]);
		q_sql(q, " AND EXISTS (SELECT 1 FROM processes x WHERE x.pid = ");
		q_col(q, a, "pid");
		q_sql(q, " AND x.start = ");
		q_col(q, a, "start");
		q_sql(q, " AND x.start != 0 AND abs(x.start_wall - ");
		q_int(q, (int64_t)f->pid_starts[i]);
		q_sql(q, ") < ");
		q_int(q, (int64_t)STORE_START_SLACK_NS);
		q_sql(q, "))");
	}
	q_sql(q, ")");
}

/* The conditions of a selection by owner on the owner a: "o" (an owner_flows row, which
 * narrows where to look) or "p.a_", "p.b_" (a side of flow p's owners, the exact test); all
 * have the columns pid, start, uid, comm and netns. */
static void owner_terms(struct query *q, const struct flow_filter *f, const char *a)
{
	bool row = !strcmp(a, "o");
	if (f->n_netns) {
		q_sql(q, " AND ");
		q_col(q, a, "netns");
		q_list_u32(q, "", f->netns, f->n_netns);
	}
	/* for o: owned_from's rows_holding() found the rows of these processes and pids */
	if (by_proc_info(f) && !row)
		proc_info_where(q, f, a);
	if (f->n_pids && !row)
		pid_where(q, f, a);
	if (f->n_uids) {
		/* owner_flows is keyed by comm, then uid: without a comm to look up, every comm
		 * it holds, found one by one through the key (a few hundred lookups, not a read
		 * of the table); the rows of some processes come by pid instead */
		if (!f->n_comms && row && !rows_by_pid(f))
			q_sql(q, " AND o.comm IN (WITH RECURSIVE c(v) AS (SELECT min(comm) FROM "
				 "owner_flows UNION ALL SELECT (SELECT min(comm) FROM owner_flows "
				 "WHERE comm > c.v) FROM c WHERE c.v IS NOT NULL) SELECT v FROM c)");
		q_sql(q, " AND ");
		q_col(q, a, "uid");
		q_list_u32(q, "", f->uids, f->n_uids);
	}
	if (f->n_comms) {
		q_sql(q, " AND ");
		q_col(q, a, "comm");
		q_sql(q, " IN (");
		for (size_t i = 0; i < f->n_comms; i++) {
			if (i)
				q_sql(q, ",");
			q_param(q, P_TEXT, 0, f->comms[i],
				(int)strnlen(f->comms[i], ECAP_COMM_LEN));
		}
		q_sql(q, ")");
	}
}

/* Selections by what records say of more processes than this find the rows that may hold
 * them by a range of pids each (rows_holding()): 129 seeks a process would cost more there.
 * SQL text. */
#define FEW_PROCESSES_SQL "32"

enum rows_part { OWN_ROWS, GROUPS_BY_SEEKS, ROWS_BY_RANGE };

/* "(...) x CROSS JOIN ": the processes xs for a part of rows_holding(): for a part for few
 * processes all of them when xs holds at most FEW_PROCESSES_SQL, else none; for the part for
 * many the other way round (a constant of the statement, made once). The outer LIMIT keeps
 * the planner's guess of their number small: with a guess of thousands it would first read
 * all of owner_flows into a Bloom filter for their 129 seeks each. */
static void procs_for_part(struct query *q, bool few)
{
	q_sql(q, few ? "(SELECT * FROM (SELECT * FROM xs LIMIT CASE WHEN " : "(SELECT * FROM xs "
		 "LIMIT CASE WHEN ");
	q_sql(q, "(SELECT count(*) FROM (SELECT 1 FROM xs LIMIT " FEW_PROCESSES_SQL " + 1)) <= "
		 FEW_PROCESSES_SQL);
	q_sql(q, few ? " THEN -1 ELSE 0 END) LIMIT " FEW_PROCESSES_SQL ") x CROSS JOIN "
		     : " THEN 0 ELSE -1 END) x CROSS JOIN ");
}

/* A part of rows_holding(): for the processes xs (procs) or the pid, its own rows, the
 * groups' that start below it, or (many processes) both by a range of pids. */
static void rows_part(struct query *q, bool procs, uint32_t pid, enum rows_part part)
{
	q_sql(q, "SELECT o.pid, o.start, o.uid, o.comm, o.netns, o.first_flow, o.last_flow, "
		 "o.pid_last FROM ");
	if (procs)
		procs_for_part(q, part != ROWS_BY_RANGE);
	if (part == GROUPS_BY_SEEKS)
		q_sql(q, "owner_pid_span s CROSS JOIN ");
	q_sql(q, "owner_flows o WHERE ");
	if (!procs) {
		q_sql(q, "o.pid = ");
		q_int(q, pid);
		q_sql(q, part == OWN_ROWS ? " AND coalesce(o.pid_last, o.pid) >= "
					  : " - s.o AND s.o > 0 AND o.start = 0 AND o.pid_last >= ");
		q_int(q, pid);
	} else if (part == OWN_ROWS) {
		q_sql(q, "o.pid = x.pid AND coalesce(o.pid_last, o.pid) >= x.pid AND o.start IN "
			 "(x.start, 0) AND (o.pid_last IS NOT NULL OR o.start = x.start)");
	} else if (part == GROUPS_BY_SEEKS) {
		q_sql(q, "o.pid = x.pid - s.o AND s.o > 0 AND o.start = 0 AND o.pid_last >= x.pid");
	} else { /* as before index schema 11's seeks: a process's rows and its groups' at once */
		q_sql(q, "o.pid BETWEEN x.pid - " OWNER_PID_SPAN_SQL " AND x.pid AND "
			 "coalesce(o.pid_last, o.pid) >= x.pid AND (o.pid_last IS NOT NULL OR "
			 "o.start = x.start)");
	}
}

/*
 * " FROM (...) o": the owner_flows rows that may hold a process the filter f selects by its
 * record (and its pids, if any), or else one of f's pids (pid alone when f is NULL), each
 * once. A process's own rows come by key (pid = X: as owner_flows_by_pid holds them; with a
 * start S, only (X, S) and the groups' (X, 0)), and the rows of the groups whose lowest pid
 * lies below X (index schema 11: start 0, pid_last at or above X) by OWNER_PID_SPAN seeks
 * through owner_pid_span, as the trigger flows_owner_moved finds them (index.sql): a range of
 * pids X - OWNER_PID_SPAN .. X would read every row of every process in it, such as a
 * long-lived daemon's a few pids below X, one a chunk for as long as the store keeps them.
 * A selection by records of more than FEW_PROCESSES_SQL processes (an executable's thousands of
 * curls) takes that range instead, as before: 129 seeks a process would cost it more than a
 * few neighbours' rows do. The processes are read once (xs). CROSS JOIN keeps them and the
 * offsets the outer loops whatever sqlite_stat1 says; UNION (not UNION ALL) keeps the parts a
 * subquery of their own, which the planner cannot merge into the join with flows.
 */
static void rows_holding(struct query *q, const struct flow_filter *f, uint32_t pid)
{
	q_sql(q, " FROM (");
	if (f && by_proc_info(f)) {
		q_sql(q, "WITH xs AS MATERIALIZED (SELECT x.pid, x.start");
		proc_info_from(q, f);
		if (f->n_pids)
			q_list_u32(q, " AND x.pid", f->pids, f->n_pids);
		q_sql(q, ") ");
		rows_part(q, true, 0, OWN_ROWS);
		q_sql(q, " UNION ");
		rows_part(q, true, 0, GROUPS_BY_SEEKS);
		q_sql(q, " UNION ");
		rows_part(q, true, 0, ROWS_BY_RANGE);
	} else {
		for (size_t i = 0; i < (f ? f->n_pids : 1); i++) {
			q_sql(q, i ? " UNION " : "");
			rows_part(q, false, f ? f->pids[i] : pid, OWN_ROWS);
			q_sql(q, " UNION ");
			rows_part(q, false, f ? f->pids[i] : pid, GROUPS_BY_SEEKS);
		}
	}
	q_sql(q, ") o");
}

/*
 * "FROM ... WHERE ..." of the flows `p` with an owner the filter selects: the owner's
 * owner_flows rows `o` first (by pid or the processes selected: rows_holding(); else by comm
 * or uid, through the key), then flows by key over each row's flow range, keeping the flows
 * with a side that matches exactly: of that row's owner, or of one of its group's processes
 * (index schema 11: same comm, uid and netns, a pid in o.pid..o.pid_last), so that a flow
 * comes once, from its own owner's row, not again from every other selected owner's range it
 * lies in; and of the filter. CROSS JOIN keeps that order whatever the planner's statistics
 * say: the other way round would read all of flows.
 */
static void owned_from(struct query *q, const struct flow_filter *f)
{
	static const char *const side[2] = { "p.a_", "p.b_" };
	static const char *const owner_cols[] = { "uid", "comm", "netns" };
	if (rows_by_pid(f))
		rows_holding(q, f, 0);
	else
		q_sql(q, " FROM owner_flows o");
	q_sql(q, " CROSS JOIN flows p ON p.id BETWEEN o.first_flow AND o.last_flow WHERE (");
	for (int i = 0; i < 2; i++) {
		q_sql(q, i ? ") OR (" : "(");
		for (size_t c = 0; c < sizeof(owner_cols) / sizeof(owner_cols[0]); c++) {
			q_col(q, side[i], owner_cols[c]);
			q_sql(q, " = ");
			q_col(q, "o", owner_cols[c]);
			q_sql(q, " AND ");
		}
		/* a side of the row's process, or of one of its group's */
		q_col(q, side[i], "pid");
		q_sql(q, " BETWEEN o.pid AND coalesce(o.pid_last, o.pid) AND (o.pid_last IS NOT "
			 "NULL OR ");
		q_col(q, side[i], "start");
		q_sql(q, " = o.start)");
		owner_terms(q, f, side[i]);
	}
	q_sql(q, "))");
	owner_terms(q, f, "o");
}

static bool by_owner(const struct flow_filter *f)
{
	return f->n_pids || f->n_uids || f->n_comms || f->n_netns || f->n_containers ||
	       f->n_exes || f->n_cgroups || f->n_pods;
}

/* The flow ids a selection can match, *r: by address, port or tuple, from the chunks' flow key
 * filters (flow_keys.h, kept in the store handle until its next selection); a selection by
 * owner goes through the owners' indexes instead ((*r)->all). 0 or the store's error. */
static int flow_ranges(struct store *s, const struct flow_filter *f,
		       const struct flow_id_ranges **r)
{
	static const struct flow_filter none = { .until_ns = UINT64_MAX };
	int err = flow_keys_candidates(index_db(s->ix), by_owner(f) ? &none : f,
				       &s->flow_keys_cache, r);
	if (err < 0)
		return store_fail(s, err, "%s: flow key filters: %s", s->dir,
				  err == -ENOMEM ? strerror(ENOMEM) : index_errmsg(s->ix));
	return 0;
}

/* `flows f`, after the ranges of r when it has any: each range a search of the flows' rowid
 * (flow_where() bounds f.id by the range), in ascending order. As an OR of ranges in the
 * WHERE clause, the planner scans every flow instead once a query joins the owners and orders
 * by id. */
static void flows_from(struct query *q, const struct flow_id_ranges *r)
{
	if (r->all || r->n <= 1) { /* one range: bounds in the WHERE clause (flow_where) */
		q_sql(q, " FROM flows f");
		return;
	}
	q_sql(q, " FROM (VALUES ");
	for (size_t i = 0; i < r->n; i++) {
		q_sql(q, i ? ", (" : "(");
		q_int(q, (int64_t)r->v[i].lo);
		q_sql(q, ", ");
		q_int(q, (int64_t)r->v[i].hi);
		q_sql(q, ")");
	}
	q_sql(q, ") AS r CROSS JOIN flows f");
}

/* The WHERE clause over `flows f` (flows_from() with the same r) for a filter. */
static void flow_where(struct query *q, const struct flow_filter *f,
		       const struct flow_id_ranges *r)
{
	q_sql(q, " WHERE f.last_ns >= ");
	q_int(q, (int64_t)f->since_ns);
	q_sql(q, " AND f.first_ns <= ");
	q_int(q, f->until_ns > INT64_MAX ? INT64_MAX : (int64_t)f->until_ns);
	if (f->proto) {
		q_sql(q, " AND f.proto ");
		if (f->proto == FLOW_PROTO_ICMP) {
			q_sql(q, "IN (1, 58)");
		} else {
			q_sql(q, "= ");
			q_int(q, f->proto);
		}
	}
	if (f->n_ports) {
		uint32_t ports[STORE_MATCH_MAX];
		for (size_t i = 0; i < f->n_ports; i++)
			ports[i] = f->ports[i];
		q_sql(q, " AND (");
		q_list_u32(q, "f.port_a", ports, f->n_ports);
		q_sql(q, " OR ");
		q_list_u32(q, "f.port_b", ports, f->n_ports);
		q_sql(q, ")");
	}
	if (f->n_hosts) {
		for (int side = 0; side < 2; side++) {
			q_sql(q, side ? " OR f.addr_b IN (" : " AND (f.addr_a IN (");
			for (size_t i = 0; i < f->n_hosts; i++) {
				if (i)
					q_sql(q, ",");
				q_blob16(q, f->hosts[i]);
			}
			q_sql(q, ")");
		}
		q_sql(q, ")");
	}
	if (f->n_tuples) {
		q_sql(q, " AND (");
		for (size_t i = 0; i < f->n_tuples; i++) {
			const struct flow_key *t = &f->tuples[i];
			q_sql(q, i ? " OR (" : "(");
			if (t->proto) {
				q_sql(q, "f.proto = ");
				q_int(q, t->proto);
				q_sql(q, " AND ");
			}
			q_sql(q, "(");
			tuple_side(q, t->addr_a, t->port_a, t->addr_b, t->port_b);
			q_sql(q, " OR ");
			tuple_side(q, t->addr_b, t->port_b, t->addr_a, t->port_a);
			q_sql(q, "))");
		}
		q_sql(q, ")");
	}
	if (by_owner(f)) {
		/* the flows an owner matches, and one hop through NAT links either way */
		q_sql(q, " AND f.id IN (WITH owned(id) AS MATERIALIZED (SELECT p.id");
		owned_from(q, f);
		q_sql(q, ") SELECT id FROM owned UNION SELECT l.post_flow FROM owned w CROSS JOIN "
			 "flow_links l ON l.pre_flow = w.id UNION SELECT l.pre_flow FROM owned w "
			 "CROSS JOIN flow_links l ON l.post_flow = w.id)");
	}
	if (!r->all && r->n == 1) { /* a table of one row costs more to plan than its bounds */
		q_sql(q, " AND f.id BETWEEN ");
		q_int(q, (int64_t)r->v[0].lo);
		q_sql(q, " AND ");
		q_int(q, (int64_t)r->v[0].hi);
	} else if (!r->all) {
		q_sql(q, r->n ? " AND f.id BETWEEN r.column1 AND r.column2" : " AND 0");
	}
}

int store_pid_processes(struct store *s, const struct flow_filter *f, uint32_t pid,
			uint64_t *starts, size_t max)
{
	struct query q = { 0 };
	const struct flow_id_ranges *r;
	sqlite3_stmt *st = NULL;
	int n = 0;

	/* pid's owner_flows rows, then its flows in their ranges (as owned_from), either side */
	q_sql(&q, "SELECT DISTINCT p.start, coalesce(x.start_wall, 0) FROM (");
	for (int side = 0; side < 2; side++) {
		q_sql(&q, side ? " UNION ALL SELECT p.b_start" : "SELECT p.a_start");
		q_sql(&q, " AS start, p.id AS flow_id");
		rows_holding(&q, NULL, pid);
		/* +p.x_pid: flows by key over the row's run, never an automatic index on the
		 * pid (the planner's choice without sqlite_stat1, a read of every flow) */
		q_sql(&q, " CROSS JOIN flows p ON p.id BETWEEN o.first_flow AND o.last_flow WHERE ");
		q_sql(&q, side ? "p.b_start != 0 AND (o.pid_last IS NOT NULL OR p.b_start = "
				 "o.start) AND +p.b_pid = "
			       : "p.a_start != 0 AND (o.pid_last IS NOT NULL OR p.a_start = "
				 "o.start) AND +p.a_pid = ");
		q_int(&q, pid);
	}
	q_sql(&q, ") p LEFT JOIN processes x ON x.pid = ");
	q_int(&q, pid);
	q_sql(&q, " AND x.start = p.start WHERE p.flow_id IN (SELECT f.id");
	int err = flow_ranges(s, f, &r);
	flows_from(&q, r);
	flow_where(&q, f, r);
	q_sql(&q, ") ORDER BY p.start");
	err = err ? err : q_prepare(s, &q, &st);
	while (!err && sqlite3_step(st) == SQLITE_ROW) {
		if ((size_t)n < max)
			starts[n] = (uint64_t)sqlite3_column_int64(st, 1);
		n++;
	}
	sqlite3_finalize(st);
	q_free(&q);
	return err < 0 ? err : n;
}

int store_select_flows(struct store *s, const struct flow_filter *f, struct idset *out)
{
	struct query q = { 0 };
	const struct flow_id_ranges *r;
	sqlite3_stmt *st = NULL;
	q_sql(&q, "SELECT f.id");
	int err = flow_ranges(s, f, &r);
	flows_from(&q, r);
	flow_where(&q, f, r);
	err = err ? err : q_prepare(s, &q, &st);
	while (!err && sqlite3_step(st) == SQLITE_ROW)
		err = idset_add(out, (uint64_t)sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	q_free(&q);
	idset_seal(out);
	return err;
}

static void read_proc(sqlite3_stmt *st, int col, struct ecap_proc *p)
{
	memset(p, 0, sizeof(*p));
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return;
	p->valid = true;
	p->pid = (uint32_t)sqlite3_column_int64(st, col);
	p->tid = (uint32_t)sqlite3_column_int64(st, col + 1);
	p->uid = (uint32_t)sqlite3_column_int64(st, col + 2);
	p->gid = (uint32_t)sqlite3_column_int64(st, col + 3);
	const unsigned char *c = sqlite3_column_text(st, col + 4);
	if (c)
		snprintf(p->comm, sizeof(p->comm), "%s", (const char *)c);
	p->cgroup_id = (uint64_t)sqlite3_column_int64(st, col + 5);
	p->netns = (uint32_t)sqlite3_column_int64(st, col + 6);
}

static void read_blob16(sqlite3_stmt *st, int col, uint8_t *out)
{
	memset(out, 0, 16);
	if (sqlite3_column_bytes(st, col) == 16)
		memcpy(out, sqlite3_column_blob(st, col), 16);
}

#define FLOW_SELECT                                                                           \
	"SELECT f.id, f.proto, f.family, f.addr_a, f.port_a, f.addr_b, f.port_b, f.first_ns, "  \
	"f.last_ns, f.packets, f.bytes, f.a_pid, f.a_tid, f.a_uid, f.a_gid, f.a_comm, "         \
	"f.a_cgroup_id, f.a_netns, f.b_pid, f.b_tid, f.b_uid, f.b_gid, f.b_comm, f.b_cgroup_id, " \
	"f.b_netns, f.a_start, f.b_start"
/* the owners are columns of the flow's row since index schema 10 (index.sql) */
#define FLOW_OWNERS ""
#define FLOW_COLUMNS FLOW_SELECT " FROM flows f" FLOW_OWNERS

static void read_flow(sqlite3_stmt *st, struct flow_info *fi)
{
	memset(fi, 0, sizeof(*fi));
	fi->rec.id = (uint64_t)sqlite3_column_int64(st, 0);
	fi->rec.key.proto = (uint8_t)sqlite3_column_int(st, 1);
	fi->rec.key.family = (uint8_t)sqlite3_column_int(st, 2);
	read_blob16(st, 3, fi->rec.key.addr_a);
	fi->rec.key.port_a = (uint16_t)sqlite3_column_int(st, 4);
	read_blob16(st, 5, fi->rec.key.addr_b);
	fi->rec.key.port_b = (uint16_t)sqlite3_column_int(st, 6);
	fi->rec.first_ns = (uint64_t)sqlite3_column_int64(st, 7);
	fi->last_ns = (uint64_t)sqlite3_column_int64(st, 8);
	fi->packets = (uint64_t)sqlite3_column_int64(st, 9);
	fi->bytes = (uint64_t)sqlite3_column_int64(st, 10);
	read_proc(st, 11, &fi->rec.proc[0]);
	read_proc(st, 18, &fi->rec.proc[1]);
	fi->rec.proc[0].start_ns = (uint64_t)sqlite3_column_int64(st, 25);
	fi->rec.proc[1].start_ns = (uint64_t)sqlite3_column_int64(st, 26);
}

/* A text column into a field of size `size`, cut, "" for NULL. */
static void column_text(sqlite3_stmt *st, int col, char *out, size_t size)
{
	const unsigned char *c = sqlite3_column_text(st, col);
	snprintf(out, size, "%s", c ? (const char *)c : "");
}

/* *slot's statement, prepared the first time: 0, or the store's error. */
static int prepared(struct store *s, sqlite3_stmt **slot, const char *sql)
{
	if (!*slot && sqlite3_prepare_v2(index_db(s->ix), sql, -1, slot, NULL) != SQLITE_OK)
		return store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
	return 0;
}

/* The end of a lookup of one row: 1 found, 0 not, or the store's error. */
static int row_found(struct store *s, sqlite3_stmt *st, int rc)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
}

/* Called per flow side of an export: prepared once per store handle, as store_get_flow's. */
int store_get_process(struct store *s, uint32_t pid, uint64_t start_ns,
		      struct ecap_proc_info *out)
{
	int rc = prepared(s, &s->get_proc_st, "SELECT start_wall, ppid, parent_comm, nspid, exe, "
			  "args, cgroup, container_id, runtime, pod_uid FROM processes WHERE "
			  "pid = ?1 AND start = ?2");
	sqlite3_stmt *st = s->get_proc_st;

	memset(out, 0, sizeof(*out));
	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int64(st, 2, (int64_t)start_ns);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->pid = pid;
		out->start_ns = start_ns;
		out->start_wall_ns = (uint64_t)sqlite3_column_int64(st, 0);
		out->ppid = (uint32_t)sqlite3_column_int64(st, 1);
		column_text(st, 2, out->parent_comm, sizeof(out->parent_comm));
		out->nspid = (uint32_t)sqlite3_column_int64(st, 3);
		column_text(st, 4, out->exe, sizeof(out->exe));
		column_text(st, 5, out->args, sizeof(out->args));
		column_text(st, 6, out->cgroup, sizeof(out->cgroup));
		column_text(st, 7, out->container_id, sizeof(out->container_id));
		column_text(st, 8, out->runtime, sizeof(out->runtime));
		column_text(st, 9, out->pod_uid, sizeof(out->pod_uid));
	}
	return row_found(s, st, rc);
}

int store_get_container(struct store *s, const char *id, struct ecap_container *out)
{
	int rc = prepared(s, &s->get_ctr_st, "SELECT runtime, name, image, labels, pod_name, "
			  "pod_namespace, pod_uid, first_ns, last_ns FROM containers WHERE id = ?1");
	sqlite3_stmt *st = s->get_ctr_st;

	memset(out, 0, sizeof(*out));
	if (rc < 0 || !id[0])
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out->id, sizeof(out->id), "%s", id);
		column_text(st, 0, out->runtime, sizeof(out->runtime));
		column_text(st, 1, out->name, sizeof(out->name));
		column_text(st, 2, out->image, sizeof(out->image));
		column_text(st, 3, out->labels, sizeof(out->labels));
		column_text(st, 4, out->pod_name, sizeof(out->pod_name));
		column_text(st, 5, out->pod_namespace, sizeof(out->pod_namespace));
		column_text(st, 6, out->pod_uid, sizeof(out->pod_uid));
		out->first_ns = (uint64_t)sqlite3_column_int64(st, 7);
		out->last_ns = (uint64_t)sqlite3_column_int64(st, 8);
	}
	return row_found(s, st, rc);
}

int store_walk_flows(struct store *s, const struct flow_filter *f,
		     int (*fn)(const struct flow_info *flow, void *ctx), void *ctx)
{
	struct query q = { 0 };
	const struct flow_id_ranges *r;
	struct flow_filter all;
	sqlite3_stmt *st = NULL;
	if (!f) {
		flow_filter_init(&all);
		f = &all;
	}
	q_sql(&q, FLOW_SELECT);
	int err = flow_ranges(s, f, &r);
	flows_from(&q, r);
	q_sql(&q, FLOW_OWNERS);
	flow_where(&q, f, r);
	q_sql(&q, " ORDER BY f.id");
	err = err ? err : q_prepare(s, &q, &st);
	while (!err && sqlite3_step(st) == SQLITE_ROW) {
		struct flow_info fi;
		read_flow(st, &fi);
		err = fn(&fi, ctx);
	}
	sqlite3_finalize(st);
	q_free(&q);
	return err;
}

/* Called once per flow of an export: the statement is prepared once per store handle (parsing
 * it each time was most of the cost of exporting a busy time window). */
int store_get_flow(struct store *s, uint64_t flow_id, struct flow_record *out)
{
	sqlite3_stmt *st = s->get_flow_st;
	if (!st) {
		if (sqlite3_prepare_v2(index_db(s->ix), FLOW_COLUMNS " WHERE f.id = ?1", -1, &st,
				       NULL) != SQLITE_OK)
			return store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
		s->get_flow_st = st;
	}
	sqlite3_bind_int64(st, 1, (int64_t)flow_id);
	int err = -ENOENT;
	if (sqlite3_step(st) == SQLITE_ROW) {
		struct flow_info fi;
		read_flow(st, &fi);
		*out = fi.rec;
		err = 0;
	}
	sqlite3_reset(st);
	return err;
}

int store_has_links(struct store *s)
{
	int64_t n;
	int err = index_scalar(s->ix, "SELECT EXISTS (SELECT 1 FROM flow_links)", 0, &n);
	if (err < 0)
		return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
	return n ? 1 : 0;
}

int store_get_links(struct store *s, uint64_t flow_id, struct flow_link *out, size_t max)
{
	sqlite3_stmt *st = s->get_links_st;
	int n = 0, rc;

	if (!st) {
		if (sqlite3_prepare_v2(index_db(s->ix), "SELECT pre_flow, post_flow, kind, a_side, "
				       "ts_ns FROM flow_links WHERE pre_flow = ?1 UNION ALL SELECT "
				       "pre_flow, post_flow, kind, a_side, ts_ns FROM flow_links "
				       "WHERE post_flow = ?1", -1, &st, NULL) != SQLITE_OK)
			return store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
		s->get_links_st = st;
	}
	sqlite3_bind_int64(st, 1, (int64_t)flow_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((size_t)n < max) {
			struct flow_link *l = &out[n];
			l->pre_id = (uint64_t)sqlite3_column_int64(st, 0);
			l->post_id = (uint64_t)sqlite3_column_int64(st, 1);
			l->kind = (uint8_t)sqlite3_column_int(st, 2);
			l->pre_a_side = sqlite3_column_int(st, 3) ? 1 : 0;
			l->ts_ns = (uint64_t)sqlite3_column_int64(st, 4);
		}
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
	return n;
}

#define LINKS_FILLED_MAX 4

int store_fill_linked_owners(struct store *s, struct flow_record *rec)
{
	struct flow_link links[LINKS_FILLED_MAX];
	struct flow_record other;

	if (rec->proc[0].valid && rec->proc[1].valid)
		return 0;
	int n = store_get_links(s, rec->id, links, LINKS_FILLED_MAX);
	if (n < 0)
		return n;
	for (int i = 0; i < n && i < LINKS_FILLED_MAX; i++) {
		const struct flow_link *l = &links[i];
		bool is_post = l->post_id == rec->id;
		if (store_get_flow(s, is_post ? l->pre_id : l->post_id, &other) < 0)
			continue;
		for (int side = 0; side < 2; side++) {
			/* pre's side A became post's side pre_a_side */
			int os = is_post ? (side == l->pre_a_side ? FLOW_SIDE_A : FLOW_SIDE_B) :
					   (side == FLOW_SIDE_A ? l->pre_a_side : !l->pre_a_side);
			if (!rec->proc[side].valid && other.proc[os].valid)
				rec->proc[side] = other.proc[os];
		}
	}
	return 0;
}

/* ---- chunks ------------------------------------------------------------------------ */

void chunk_list_free(struct chunk_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int cmp_chunk(const void *a, const void *b)
{
	const struct chunk_ref *x = a, *y = b;
	if (x->first_ns != y->first_ns)
		return x->first_ns < y->first_ns ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

#define CHUNK_COLUMNS "SELECT id, segment, offset, length, raw_len, first_ns, last_ns, packets"

static int cmp_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Whether a chunk's flow list (ascending ids as LEB128 deltas) names a flow of the set: both
 * ascending, walked side by side, and done once the list passes the set's last id. The ids
 * below the next one wanted are only added up (most deltas are one byte: a chunk lists a few
 * thousand flows close together), which is most of the list for a flow in the middle of it. */
/* The sum of 8 one-byte deltas (each below 128) at p; UINT64_MAX when one of them is longer. */
static inline uint64_t sum8_small(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8); /* the byte order does not matter to a sum */
	if (w & 0x8080808080808080ull)
		return UINT64_MAX;
	w = (w & 0x00ff00ff00ff00ffull) + (w >> 8 & 0x00ff00ff00ff00ffull); /* 4 sums < 256 */
	return (w * 0x0001000100010001ull) >> 48;                          /* their sum */
}

static bool blob_names_any(const void *blob, int len, const struct idset *flows)
{
	const uint8_t *p = blob, *end = p + (len > 0 ? len : 0);
	uint64_t id = 0, next;
	size_t k = 0;
	if (!flows->n)
		return false;
	next = flows->ids[0];
	while (p < end) {
		/* eight one-byte deltas that stay below the next id wanted: added at once */
		uint64_t d8;
		if (end - p >= 8 && (d8 = sum8_small(p)) != UINT64_MAX && id + d8 < next &&
		    id + d8 >= id) {
			id += d8;
			p += 8;
			continue;
		}
		uint8_t b = *p++;
		uint64_t d = b & 0x7f;
		for (unsigned shift = 7; b & 0x80 && p < end && shift < 64; shift += 7) {
			b = *p++;
			d |= (uint64_t)(b & 0x7f) << shift;
		}
		if (id + d < id) { /* not ascending (a damaged index): look again from the start */
			k = 0;
			next = flows->ids[0];
		}
		id += d;
		if (id < next)
			continue;
		while (k < flows->n && flows->ids[k] < id)
			k++;
		if (k == flows->n)
			return false;
		if (flows->ids[k] == id)
			return true;
		next = flows->ids[k];
	}
	return false;
}

static int add_chunk_row(sqlite3_stmt *st, struct chunk_list *out)
{
	struct chunk_ref *c = chunkmeta_grow((void **)&out->v, &out->n, &out->cap, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->id = (uint64_t)sqlite3_column_int64(st, 0);
	c->segment = (uint32_t)sqlite3_column_int64(st, 1);
	c->offset = (uint64_t)sqlite3_column_int64(st, 2);
	c->length = (uint32_t)sqlite3_column_int64(st, 3);
	c->raw_len = (uint32_t)sqlite3_column_int64(st, 4);
	c->first_ns = (uint64_t)sqlite3_column_int64(st, 5);
	c->last_ns = (uint64_t)sqlite3_column_int64(st, 6);
	c->packets = (uint32_t)sqlite3_column_int64(st, 7);
	return 0;
}

void store_read_begin(struct store *s)
{
	if (!s->read_txn)
		s->read_txn = sqlite3_exec(index_db(s->ix), "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
}

void store_read_end(struct store *s)
{
	if (s->read_txn)
		sqlite3_exec(index_db(s->ix), "COMMIT", NULL, NULL, NULL);
	s->read_txn = false;
}

struct range {
	uint64_t lo, hi;
};

/* Ranges of chunks closer than this are read as one (store_find_chunks). */
#define RANGE_JOIN_GAP 4

static struct range *add_range(struct range **r, size_t *n, size_t *cap, uint64_t lo, uint64_t hi)
{
	struct range *x = chunkmeta_grow((void **)r, n, cap, sizeof(*x));
	if (x)
		x->lo = lo, x->hi = hi;
	return x;
}

/* The ranges of chunks that can hold the packets of the flow of st's row (first_chunk,
 * last_chunk, chunk_runs) appended to *r: the runs of its list, or its whole range. */
static int flow_chunk_ranges(sqlite3_stmt *st, struct range **r, size_t *n, size_t *cap)
{
	uint64_t first = (uint64_t)sqlite3_column_int64(st, 0);
	uint64_t last = (uint64_t)sqlite3_column_int64(st, 1);
	if (sqlite3_column_type(st, 2) == SQLITE_BLOB || sqlite3_column_type(st, 2) == SQLITE_TEXT) {
		const uint8_t *p = sqlite3_column_blob(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2), off = 0, k = 0, n0 = *n;
		uint64_t next = 0, lo, hi;
		int got;
		while ((got = idruns_next(p, len, &off, &next, &lo, &hi)) == 1 &&
		       ++k <= CHUNK_RUNS_MAX)
			if (!add_range(r, n, cap, lo, hi))
				return -ENOMEM;
		if (got == 0)
			return 0;
		*n = n0; /* damaged: the whole range, as for a flow without a list */
	}
	return add_range(r, n, cap, first, last) ? 0 : -ENOMEM;
}

int store_find_chunks(struct store *s, uint64_t since_ns, uint64_t until_ns,
		      const struct idset *flows, struct chunk_list *out)
{
	sqlite3 *db = index_db(s->ix);
	sqlite3_stmt *st = NULL;
	int64_t until = until_ns > INT64_MAX ? INT64_MAX : (int64_t)until_ns;
	int err = 0;

	if (!flows) {
		if (sqlite3_prepare_v2(db, CHUNK_COLUMNS " FROM chunks WHERE first_ns <= ?2 AND "
				       "last_ns >= ?1 ORDER BY first_ns, id", -1, &st, NULL) != SQLITE_OK)
			return store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
		sqlite3_bind_int64(st, 1, (int64_t)since_ns);
		sqlite3_bind_int64(st, 2, until);
		while (!err && sqlite3_step(st) == SQLITE_ROW)
			err = add_chunk_row(st, out);
		sqlite3_finalize(st);
		return err;
	}

	/* Per flow, the chunks that can hold its packets: its chunk list, else (indexed before
	 * version 9, or a damaged list) its range; then, per merged range, the chunks whose flow
	 * list names one of the flows. Cost follows the answer. */
	struct range *r = NULL;
	size_t n_r = 0, cap_r = 0;
	if (sqlite3_prepare_v2(db, "SELECT first_chunk, last_chunk, chunk_runs FROM flows WHERE "
			       "id = ?1", -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
	for (size_t i = 0; i < flows->n && !err; i++) {
		sqlite3_bind_int64(st, 1, (int64_t)flows->ids[i]);
		if (sqlite3_step(st) == SQLITE_ROW)
			err = flow_chunk_ranges(st, &r, &n_r, &cap_r);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (!err && n_r > 1) {
		qsort(r, n_r, sizeof(*r), cmp_range);
		size_t w = 0;
		for (size_t i = 1; i < n_r; i++) {
			/* a gap of a few chunks is read through: a row costs less than a query */
			if (r[i].lo <= r[w].hi + 1 + RANGE_JOIN_GAP) {
				if (r[i].hi > r[w].hi)
					r[w].hi = r[i].hi;
			} else {
				r[++w] = r[i];
			}
		}
		n_r = w + 1;
	}
	if (!err && sqlite3_prepare_v2(db, CHUNK_COLUMNS ", flows FROM chunks WHERE id BETWEEN "
				       "?1 AND ?2 AND first_ns <= ?4 AND last_ns >= ?3 ORDER BY id",
				       -1, &st, NULL) != SQLITE_OK)
		err = store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
	for (size_t i = 0; i < n_r && !err; i++) {
		sqlite3_bind_int64(st, 1, (int64_t)r[i].lo);
		sqlite3_bind_int64(st, 2, (int64_t)r[i].hi);
		sqlite3_bind_int64(st, 3, (int64_t)since_ns);
		sqlite3_bind_int64(st, 4, until);
		while (!err && sqlite3_step(st) == SQLITE_ROW) {
			if (blob_names_any(sqlite3_column_blob(st, 8), sqlite3_column_bytes(st, 8), flows))
				err = add_chunk_row(st, out);
			if (r[i].lo == r[i].hi)
				break; /* one chunk (most of a sparse flow's): no step to the end */
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	free(r);
	if (!err && out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_chunk);
	return err;
}

/* Only the blocks that hold packets of flows (and the header blocks, the SHB and IDBs) into
 * v->raw; v->frames holds the chunk's first bytes (segment_read_plan). A chunk read by its
 * plan names the flows' chunk-local indexes in flowdir (the wanted flows alone), an older one
 * in flowstats. */
/* The store's table of n entries by chunk-local flow index, all 0 (read_flow_blocks() sets
 * the wanted flows' entries and clears them again): a chunk of a few thousand flows no longer
 * allocates and zeroes a table of its own. NULL: out of memory. */
static uint64_t *keep_table(struct store *s, size_t n)
{
	if (n > s->read_keep_cap) {
		uint64_t *p = realloc(s->read_keep, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + s->read_keep_cap, 0, (n - s->read_keep_cap) * sizeof(*p));
		s->read_keep = p;
		s->read_keep_cap = n;
	}
	return s->read_keep;
}

/* The store's table of n bytes, one per block of a chunk, all 0: which blocks to read. NULL:
 * out of memory. */
static uint8_t *want_table(struct store *s, size_t n)
{
	buf_reset(&s->read_want);
	if (buf_reserve(&s->read_want, n ? n : 1))
		return NULL;
	memset(s->read_want.data, 0, n ? n : 1);
	return s->read_want.data;
}

static int read_flow_blocks(struct store *s, int fd, struct chunk_view *v,
			    const struct idset *flows, const char **why)
{
	const struct chunk_meta *m = &v->meta;
	size_t n_local = m->plan_only ? m->plan_flows : m->n_flowstats;
	uint8_t *want = want_table(s, m->n_blocks);
	uint64_t *keep = keep_table(s, n_local + 1);
	int err = want && keep && chunk_view_place_blocks(v, m->n_blocks) ? 0 : -ENOMEM;
	if (!err) {
		if (m->plan_only) {
			for (size_t i = 0; i < m->n_flowdir; i++)
				keep[m->flowdir[i].local] = m->flowdir[i].flow_id;
		} else {
			for (size_t i = 0; i < m->n_flowstats; i++)
				if (idset_has(flows, m->flowstats[i].flow_id))
					keep[i] = m->flowstats[i].flow_id;
		}
		for (size_t b = 0; b < m->header_blocks && b < m->n_blocks; b++)
			want[b] = 1; /* the SHB and the IDBs */
		/* one wanted flow (the export of a connection): each packet's flow compared with
		 * its index, not looked up in the table */
		uint32_t only = m->plan_only && m->n_flowdir == 1 ? m->flowdir[0].local
								  : CHUNKMETA_NO_FLOW;
		for (size_t b = 0; b < m->n_blocks; b++) {
			const struct chunkmeta_block *k = &m->blocks[b];
			uint32_t i = k->first_packet, end = k->first_packet + k->packets;
			if (only != CHUNKMETA_NO_FLOW) {
				want[b] |= u32_holds(m->pktflow + i, end - i, only);
				continue;
			}
			for (; i < end; i++) {
				uint32_t lf = m->pktflow[i]; /* bounded here: a plan's are not yet */
				if (lf < n_local && keep[lf]) {
					want[b] = 1;
					break;
				}
			}
		}
		err = segment_read_blocks(fd, m, want, &v->frames, &s->read_scratch, &v->raw,
					  v->block_at, why);
	}
	if (!err)
		err = chunk_view_parse_blocks(v, want, keep, why);
	if (keep && m->plan_only)
		for (size_t i = 0; i < m->n_flowdir; i++)
			keep[m->flowdir[i].local] = 0;
	else if (keep)
		memset(keep, 0, n_local * sizeof(*keep));
	return err;
}

/* The segment file of ref, open, whose size covers ref's chunk (or is all there is): kept open
 * for the next chunk of the same segment, so that an export over many chunks opens each
 * segment once. <0 errno. A segment removed by retention meanwhile stays readable through it.
 * The file's name is made only to open it (snprintf: 1,000 instructions a chunk). */
static int segment_fd(struct store *s, const struct chunk_ref *ref)
{
	if (s->read_fd >= 0 && s->read_seg != ref->segment) {
		close(s->read_fd);
		s->read_fd = -1;
	}
	if (s->read_fd < 0) {
		char name[SEGMENT_NAME_MAX];
		segment_name(ref->segment, name);
		int fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		s->read_fd = fd;
		s->read_seg = ref->segment;
		s->read_size = 0;
	}
	if (ref->offset + ref->length > s->read_size) { /* new, or grown since */
		struct stat st;
		if (fstat(s->read_fd, &st))
			return -errno;
		s->read_size = (uint64_t)st.st_size;
	}
	return s->read_fd;
}

/* Only the blocks before the first packet (the SHB, the IDBs, the DSBs) into v->raw, parsed:
 * a chunk's secrets without its packets. */
static int read_head_blocks(struct store *s, int fd, struct chunk_view *v, const char **why)
{
	const struct chunk_meta *m = &v->meta;
	uint8_t *want = want_table(s, m->n_blocks);
	if (!want || !chunk_view_place_blocks(v, m->n_blocks))
		return -ENOMEM;
	/* they come first in the section: laid one after the other, each is at its raw_off */
	size_t end = chunk_head_blocks(m, want);
	int err = segment_read_blocks(fd, m, want, &v->frames, &s->read_scratch, &v->raw,
				      v->block_at, why);
	return err ? err : chunk_view_parse_head(v, end, why);
}

/* A chunk read for export (flows NULL: whole), or for its secrets alone (head). */
static int chunk_open(struct store *s, const struct chunk_ref *ref, const struct idset *flows,
		      bool head, struct chunk_view **out)
{
	char name[SEGMENT_NAME_MAX]; /* for a message */
	const char *why = NULL;
	int fd = segment_fd(s, ref);
	if (fd < 0) {
		segment_name(ref->segment, name);
		return store_fail(s, fd, "%s/%s: %s", s->dir, name, strerror(-fd));
	}
	/* a view closed by store_chunk_close(), with its memory, else a new one */
	struct chunk_view *v = s->n_read_spares ? s->read_spares[--s->n_read_spares] :
						  calloc(1, sizeof(*v));
	int err = v ? 0 : -ENOMEM;
	long r = 0;
	if (!err) {
		/* the store's buffer, given back below: the frames are read into memory that is
		 * already there, not fresh pages for each chunk */
		v->frames = s->read_frames;
		s->read_frames = (struct buf){ 0 };
		/* some flows: the read plan alone, read with the header blocks in one pread */
		const struct chunkmeta_want want = { .flow_ids = flows ? flows->ids : NULL,
						     .n = flows ? flows->n : 0 };
		r = flows || head ?
			    segment_read_plan(fd, ref->offset, s->read_size, ref->length, &want,
					      &v->meta, &v->frames, &why) :
			    segment_read_meta(fd, ref->offset, s->read_size, &v->meta, &v->frames,
					      &why);
		if (r == -ENODATA)
			why = "the index points past the end of the segment";
		if (r > 0 && ((uint32_t)r != ref->length || v->meta.id != ref->id))
			r = -EBADMSG, why = "the chunk there is not the one the index names";
		err = r < 0 ? (int)r : 0;
	}
	if (!err && head && (v->meta.flags & CHUNKMETA_FLAG_BLOCKS)) {
		err = read_head_blocks(s, fd, v, &why);
	} else if (!err && flows && (v->meta.flags & CHUNKMETA_FLAG_BLOCKS)) {
		err = read_flow_blocks(s, fd, v, flows, &why);
	} else if (!err) {
		err = segment_read_data(fd, &v->meta, &v->frames, &why);
		if (!err)
			err = segment_decompress(&v->meta, &v->frames, &v->raw, &why);
		if (!err)
			err = chunk_view_parse(v, &why);
	}
	if (err) {
		segment_name(ref->segment, name);
		store_fail(s, err, "%s/%s: offset %llu: chunk %llu: %s", s->dir, name,
			   (unsigned long long)ref->offset, (unsigned long long)ref->id,
			   why ? why : strerror(-err));
		if (v) {
			s->read_frames = v->frames; /* the store's buffer, as below */
			v->frames = (struct buf){ 0 };
			store_chunk_close(s, v);
		}
		return err;
	}
	s->read_frames = v->frames;
	v->frames = (struct buf){ 0 };
	*out = v;
	return 0;
}

int store_chunk_open_flows(struct store *s, const struct chunk_ref *ref, const struct idset *flows,
			   struct chunk_view **out)
{
	return chunk_open(s, ref, flows, false, out);
}

int store_chunk_open_dsb(struct store *s, const struct chunk_ref *ref, struct chunk_view **out)
{
	return chunk_open(s, ref, NULL, true, out);
}

int store_chunk_open(struct store *s, const struct chunk_ref *ref, struct chunk_view **out)
{
	return store_chunk_open_flows(s, ref, NULL, out);
}

int chunk_view_next(struct chunk_view *v, struct ecap_packet *pkt)
{
	if (v->pos >= v->n_pkts)
		return 0;
	const struct chunk_pkt *p = &v->pkts[v->pos++];
	pkt->ts_ns = p->ts_ns;
	pkt->iface = p->iface;
	pkt->caplen = p->caplen;
	pkt->origlen = p->origlen;
	pkt->flags = p->flags;
	pkt->flow_id = p->flow_id;
	pkt->data = v->raw.data + p->data_off;
	return 1;
}

bool chunk_view_peek_key(const struct chunk_view *v, uint64_t *key_ns)
{
	if (v->pos >= v->n_pkts)
		return false;
	*key_ns = v->pkts[v->pos].key_ns;
	return true;
}

void chunk_view_close(struct chunk_view *v)
{
	if (!v)
		return;
	chunk_view_free_contents(v);
	free(v);
}

void store_chunk_close(struct store *s, struct chunk_view *v)
{
	if (!v)
		return;
	if (s->n_read_spares == STORE_READ_SPARES) {
		chunk_view_close(v);
		return;
	}
	chunk_view_reset(v);
	s->read_spares[s->n_read_spares++] = v;
}

void store_read_spares_free(struct store *s)
{
	while (s->n_read_spares)
		chunk_view_close(s->read_spares[--s->n_read_spares]);
	buf_free(&s->read_want);
}

/* ---- interfaces, drops, figures (secrets: store_secrets_read.c) ---------------------- */

int store_get_interface(struct store *s, uint32_t id, struct ecap_iface *out)
{
	if (id >= s->n_ifaces && s->mode == STORE_READ) {
		int err = store_load_interfaces(s);
		if (err)
			return err;
	}
	if (id >= s->n_ifaces)
		return -ENOENT;
	*out = s->ifaces[id];
	return 0;
}

uint32_t store_interface_count(struct store *s)
{
	if (s->mode == STORE_READ)
		store_load_interfaces(s);
	return (uint32_t)s->n_ifaces;
}

int store_count_drops(struct store *s, uint32_t iface, uint64_t since_ns, uint64_t until_ns,
		      uint64_t *drops)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(index_db(s->ix), "SELECT coalesce(sum(count), 0) FROM drops WHERE "
			       "iface = ?1 AND ts_ns >= ?2 AND ts_ns <= ?3", -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, -EIO, "%s: %s", s->dir, index_errmsg(s->ix));
	sqlite3_bind_int64(st, 1, iface);
	sqlite3_bind_int64(st, 2, (int64_t)since_ns);
	sqlite3_bind_int64(st, 3, until_ns > INT64_MAX ? INT64_MAX : (int64_t)until_ns);
	*drops = sqlite3_step(st) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return 0;
}

int store_get_stats(struct store *s, struct store_stats *out)
{
	static const struct {
		const char *sql;
		size_t off;
	} q[] = {
		{ "SELECT sum(packets) FROM chunks", offsetof(struct store_stats, packets) },
		{ "SELECT sum(raw_len) FROM chunks", offsetof(struct store_stats, bytes_raw) },
		{ "SELECT sum(length) FROM chunks", offsetof(struct store_stats, bytes_stored) },
		{ "SELECT count(*) FROM chunks", offsetof(struct store_stats, chunks) },
		{ "SELECT count(*) FROM segments", offsetof(struct store_stats, segments) },
		{ "SELECT count(*) FROM flows", offsetof(struct store_stats, flows) },
		{ "SELECT count(*) FROM tls_sessions", offsetof(struct store_stats, tls_sessions) },
		/* and since schema 7, those near their session, which have no row (index.sql):
		 * linked, since their session was there when their chunk was indexed */
		{ "SELECT coalesce(sum(n), 0) + (SELECT coalesce(sum(near_secrets), 0) FROM "
		  "chunks) FROM secrets", offsetof(struct store_stats, secrets) },
		{ "SELECT coalesce(sum(n), 0) + (SELECT coalesce(sum(near_secrets), 0) FROM "
		  "chunks) FROM secrets WHERE client_random IN (SELECT client_random FROM "
		  "tls_sessions)",
		  offsetof(struct store_stats, secrets_linked) },
		{ "SELECT sum(count) FROM drops", offsetof(struct store_stats, drops) },
		{ "SELECT min(first_ns) FROM chunks WHERE packets > 0",
		  offsetof(struct store_stats, first_ns) },
		{ "SELECT max(last_ns) FROM chunks WHERE packets > 0",
		  offsetof(struct store_stats, last_ns) },
	};
	memset(out, 0, sizeof(*out));
	/* a writer's status line asks while its writer thread may be adding rows */
	pthread_mutex_lock(&s->ix_lock);
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		int64_t v;
		int err = index_scalar(s->ix, q[i].sql, 0, &v);
		if (err) {
			pthread_mutex_unlock(&s->ix_lock);
			return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
		}
		*(uint64_t *)((char *)out + q[i].off) = (uint64_t)v;
	}
	pthread_mutex_unlock(&s->ix_lock);
	static const char *const names[] = { "index.db", "index.db-wal" };
	for (size_t i = 0; i < 2; i++) {
		struct stat st;
		if (!fstatat(s->dirfd, names[i], &st, 0))
			out->index_bytes += (uint64_t)st.st_size;
	}
	out->segments_deleted = s->st.segments_deleted;
	out->packets_lost = s->st.packets_lost;
	return 0;
}

void store_writer_stats(const struct store *s, struct store_stats *out)
{
	*out = s->st;
}

int store_time_span(struct store *s, uint64_t *first_ns, uint64_t *last_ns)
{
	int64_t first = 0, last = 0;
	int err = index_scalar(s->ix, "SELECT first_ns FROM chunks WHERE packets > 0 "
			       "ORDER BY first_ns LIMIT 1", 0, &first);
	if (!err)
		err = index_scalar(s->ix, "SELECT last_ns FROM chunks WHERE packets > 0 "
				   "ORDER BY last_ns DESC LIMIT 1", 0, &last);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
	*first_ns = (uint64_t)first;
	*last_ns = (uint64_t)last;
	return 0;
}
