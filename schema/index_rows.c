// SPDX-License-Identifier: GPL-2.0-only
/*
 * index_rows.c - the virtual tables through which index_add_chunk() writes a chunk's rows of
 * flows (with their owners and first TLS session), owner_flows and processes with one
 * statement per table (and processes held already with a second), and the owners of flows
 * the index holds with one per side (index_rows.h): their columns and statements.
 */
#include "index_rows.h"

#include "chunkmeta.h"
#include "owner_ranges.h"

#include <stdlib.h>
#include <string.h>

struct rows_vtab {
	sqlite3_vtab base;
	struct index_rows *rows;
};

struct rows_cursor {
	sqlite3_vtab_cursor base;
	size_t i;
};

static int rows_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
			sqlite3_vtab **out, char **errp)
{
	(void)argc;
	(void)argv;
	(void)errp;
	struct index_rows *rows = aux;
	int rc = sqlite3_declare_vtab(db, rows->def->declare);
	if (rc != SQLITE_OK)
		return rc;
	/* only statements of ours read it, never a trigger or view stored in the file */
	sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
	struct rows_vtab *vt = sqlite3_malloc(sizeof(*vt));
	if (!vt)
		return SQLITE_NOMEM;
	memset(vt, 0, sizeof(*vt));
	vt->rows = rows;
	*out = &vt->base;
	return SQLITE_OK;
}

static int rows_disconnect(sqlite3_vtab *vt)
{
	sqlite3_free(vt);
	return SQLITE_OK;
}

/* One plan: every row, in array order; a constraint, if any, SQLite checks itself. */
static int rows_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	(void)vt;
	info->estimatedCost = 100;
	info->estimatedRows = 100;
	return SQLITE_OK;
}

static int rows_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	(void)vt;
	struct rows_cursor *c = sqlite3_malloc(sizeof(*c));
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	*out = &c->base;
	return SQLITE_OK;
}

static int rows_close(sqlite3_vtab_cursor *c)
{
	sqlite3_free(c);
	return SQLITE_OK;
}

static int rows_filter(sqlite3_vtab_cursor *c, int idx_num, const char *idx_str, int argc,
		       sqlite3_value **argv)
{
	(void)idx_num;
	(void)idx_str;
	(void)argc;
	(void)argv;
	((struct rows_cursor *)c)->i = 0;
	return SQLITE_OK;
}

static int rows_next(sqlite3_vtab_cursor *c)
{
	((struct rows_cursor *)c)->i++;
	return SQLITE_OK;
}

static int rows_eof(sqlite3_vtab_cursor *c)
{
	const struct rows_vtab *vt = (const struct rows_vtab *)c->pVtab;
	return ((struct rows_cursor *)c)->i >= vt->rows->n;
}

static int rows_column(sqlite3_vtab_cursor *c, sqlite3_context *ctx, int col)
{
	const struct index_rows *rows = ((const struct rows_vtab *)c->pVtab)->rows;
	size_t i = ((struct rows_cursor *)c)->i;
	rows->def->column(ctx, (const char *)rows->v + i * rows->def->size, col);
	return SQLITE_OK;
}

static int rows_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((struct rows_cursor *)c)->i;
	return SQLITE_OK;
}

static const sqlite3_module rows_module = {
	.iVersion = 0,
	.xCreate = NULL, /* eponymous-only */
	.xConnect = rows_connect,
	.xBestIndex = rows_best_index,
	.xDisconnect = rows_disconnect,
	.xDestroy = NULL,
	.xOpen = rows_open,
	.xClose = rows_close,
	.xFilter = rows_filter,
	.xNext = rows_next,
	.xEof = rows_eof,
	.xColumn = rows_column,
	.xRowid = rows_rowid,
};

int index_rows_register(sqlite3 *db, struct index_rows *rows)
{
	return sqlite3_create_module_v2(db, rows->def->name, &rows_module, rows, NULL);
}

static void result_u64(sqlite3_context *ctx, uint64_t v)
{
	sqlite3_result_int64(ctx, (sqlite3_int64)v);
}

/* Owner column k (0 pid, 1 tid, 2 uid, 3 gid, 4 comm, 5 cgroup_id, 6 netns, 7 start) of p, a
 * flow's side; NULL when p is NULL (no owner known). */
static void owner_value(sqlite3_context *ctx, const struct ecap_proc *p, int k)
{
	if (!p)
		return; /* NULL */
	switch (k) {
	case 0: sqlite3_result_int64(ctx, p->pid); break;
	case 1: sqlite3_result_int64(ctx, p->tid); break;
	case 2: sqlite3_result_int64(ctx, p->uid); break;
	case 3: sqlite3_result_int64(ctx, p->gid); break;
	/* cut as owner_flows' comm is (owner_ranges_add): the two must compare equal */
	case 4:
		sqlite3_result_text(ctx, p->comm, (int)strnlen(p->comm, sizeof(p->comm) - 1),
				    SQLITE_STATIC);
		break;
	case 5: result_u64(ctx, p->cgroup_id); break;
	case 6: sqlite3_result_int64(ctx, p->netns); break;
	default: result_u64(ctx, p->start_ns); break;
	}
}

#define OWNER_COLUMNS(s) \
	s "_pid, " s "_tid, " s "_uid, " s "_gid, " s "_comm, " s "_cgroup_id, " s "_netns, " s "_start"

static void flow_column(sqlite3_context *ctx, const void *row, int col)
{
	const struct index_flow_row *r = row;
	const struct flow_key *k = &r->f->key;
	switch (col) {
	case 0: result_u64(ctx, r->f->id); break;
	case 1: sqlite3_result_int(ctx, k->proto); break;
	case 2: sqlite3_result_int(ctx, k->family); break;
	case 3: sqlite3_result_blob(ctx, k->addr_a, 16, SQLITE_STATIC); break;
	case 4: sqlite3_result_int(ctx, k->port_a); break;
	case 5: sqlite3_result_blob(ctx, k->addr_b, 16, SQLITE_STATIC); break;
	case 6: sqlite3_result_int(ctx, k->port_b); break;
	case 7: result_u64(ctx, r->first_ns); break;
	case 8: result_u64(ctx, r->last_ns); break;
	case 9: result_u64(ctx, r->packets); break;
	case 10: result_u64(ctx, r->bytes); break;
	case 11: result_u64(ctx, r->first_chunk); break;
	case 12: result_u64(ctx, r->last_chunk); break;
	/* a non-NULL pointer: an empty list is an empty blob, not NULL (chunk_runs.h) */
	case 13: sqlite3_result_blob(ctx, r->runs_len ? (const void *)r->runs : "",
				     (int)r->runs_len, SQLITE_STATIC); break;
	case 30:
		if (r->client_random)
			sqlite3_result_blob(ctx, r->client_random, 32, SQLITE_STATIC);
		break;
	case 31:
		if (r->client_random)
			result_u64(ctx, r->session_chunk);
		break;
	default: owner_value(ctx, r->owner[(col - 14) / 8], (col - 14) % 8); break;
	}
}

/* Every row is a flow the index does not hold (index.c add_flows): IGNORE, which no row meets,
 * rather than ABORT, so that SQLite keeps no statement journal of the pages it changes. */
const struct index_rows_def index_flow_rows = {
	.name = "ecap_flow_rows",
	.declare = "CREATE TABLE x(id, proto, family, addr_a, port_a, addr_b, port_b, first_ns, "
		   "last_ns, packets, bytes, first_chunk, last_chunk, chunk_runs, "
		   OWNER_COLUMNS("a") ", " OWNER_COLUMNS("b") ", client_random, session_chunk)",
	.insert = "INSERT OR IGNORE INTO flows(id, proto, family, addr_a, port_a, addr_b, port_b, "
		  "first_ns, last_ns, packets, bytes, first_chunk, last_chunk, chunk_runs, "
		  OWNER_COLUMNS("a") ", " OWNER_COLUMNS("b") ", client_random, session_chunk) "
		  "SELECT id, proto, family, addr_a, port_a, addr_b, port_b, first_ns, last_ns, "
		  "packets, bytes, first_chunk, last_chunk, chunk_runs, " OWNER_COLUMNS("a") ", "
		  OWNER_COLUMNS("b") ", client_random, session_chunk FROM ecap_flow_rows",
	.column = flow_column,
	.size = sizeof(struct index_flow_row),
};

static void proc_column(sqlite3_context *ctx, const void *row, int col)
{
	const struct index_proc_row *r = row;
	if (col == 0)
		result_u64(ctx, r->flow_id);
	else
		owner_value(ctx, r->p, col - 1);
}

/* The owner of a side of a flow the index holds, one row per flow: written only when other
 * than the row's (a record stored again in each segment names the same owners: no write, and
 * no trigger). */
#define OWNER_UPDATE(s) \
	"UPDATE flows SET " s "_pid = r.pid, " s "_tid = r.tid, " s "_uid = r.uid, " s "_gid = " \
	"r.gid, " s "_comm = r.comm, " s "_cgroup_id = r.cgroup_id, " s "_netns = r.netns, " s  \
	"_start = r.start FROM ecap_owner_" s "_rows AS r WHERE flows.id = r.flow_id AND ("      \
	OWNER_COLUMNS(s) ") IS NOT (r.pid, r.tid, r.uid, r.gid, r.comm, r.cgroup_id, r.netns, "  \
	"r.start)"

const struct index_rows_def index_owner_a_rows = {
	.name = "ecap_owner_a_rows",
	.declare = "CREATE TABLE x(flow_id, pid, tid, uid, gid, comm, cgroup_id, netns, start)",
	.insert = OWNER_UPDATE("a"),
	.column = proc_column,
	.size = sizeof(struct index_proc_row),
};

const struct index_rows_def index_owner_b_rows = {
	.name = "ecap_owner_b_rows",
	.declare = "CREATE TABLE x(flow_id, pid, tid, uid, gid, comm, cgroup_id, netns, start)",
	.insert = OWNER_UPDATE("b"),
	.column = proc_column,
	.size = sizeof(struct index_proc_row),
};

static void owner_column(sqlite3_context *ctx, const void *row, int col)
{
	const struct owner_range *r = row;
	switch (col) {
	case 0: sqlite3_result_int64(ctx, r->pid); break;
	case 1: result_u64(ctx, r->start_ns); break;
	case 2: sqlite3_result_int64(ctx, r->uid); break;
	case 3: sqlite3_result_text(ctx, r->comm, -1, SQLITE_STATIC); break;
	case 4: sqlite3_result_int64(ctx, r->netns); break;
	case 5: result_u64(ctx, r->first_flow); break;
	case 6: result_u64(ctx, r->last_flow); break;
	default: /* NULL: a row of one process */
		if (r->group)
			sqlite3_result_int64(ctx, r->pid_last);
		break;
	}
}

/* A chunk indexed again (recovery) finds its rows there: the run is widened, never cut, and
 * a row of one process that meets a group's (the same lowest pid, start 0 and first flow)
 * becomes the group's. */
const struct index_rows_def index_owner_rows = {
	.name = "ecap_owner_rows",
	.declare = "CREATE TABLE x(pid, start, uid, comm, netns, first_flow, last_flow, pid_last)",
	.insert = "INSERT INTO owner_flows(pid, start, uid, comm, netns, first_flow, last_flow, "
		  "pid_last) SELECT pid, start, uid, comm, netns, first_flow, last_flow, pid_last "
		  "FROM ecap_owner_rows WHERE true ON CONFLICT DO UPDATE SET "
		  "last_flow = max(last_flow, excluded.last_flow), pid_last = iif(pid_last IS NULL "
		  "AND excluded.pid_last IS NULL, NULL, max(coalesce(pid_last, pid), "
		  "coalesce(excluded.pid_last, excluded.pid))) WHERE excluded.last_flow > last_flow "
		  "OR (excluded.pid_last IS NOT NULL AND (pid_last IS NULL OR "
		  "excluded.pid_last > pid_last))",
	.column = owner_column,
	.size = sizeof(struct owner_range),
};

/* A text field of a record: NUL-terminated by the decoder, never read past its array. */
#define RESULT_FIELD(ctx, field) \
	sqlite3_result_text(ctx, field, (int)strnlen(field, sizeof(field)), SQLITE_STATIC)

static void procinfo_column(sqlite3_context *ctx, const void *row, int col)
{
	const struct ecap_proc_info *p = row;
	switch (col) {
	case 0: sqlite3_result_int64(ctx, p->pid); break;
	case 1: result_u64(ctx, p->start_ns); break;
	case 2: result_u64(ctx, p->start_wall_ns); break;
	case 3: sqlite3_result_int64(ctx, p->ppid); break;
	case 4: RESULT_FIELD(ctx, p->parent_comm); break;
	case 5: sqlite3_result_int64(ctx, p->nspid); break;
	case 6: RESULT_FIELD(ctx, p->exe); break;
	case 7: RESULT_FIELD(ctx, p->args); break;
	case 8: RESULT_FIELD(ctx, p->cgroup); break;
	case 9: RESULT_FIELD(ctx, p->container_id); break;
	case 10: RESULT_FIELD(ctx, p->runtime); break;
	default: RESULT_FIELD(ctx, p->pod_uid); break;
	}
}

/* What a new process was, once per (pid, start): the rows are read in the chunk's order, so
 * the first record of a process in a chunk is the one kept, as when each went in with a
 * statement of its own. A record that comes again (in a later segment, twice in one chunk, a
 * chunk indexed again at recovery) is left out here and only moves last_chunk on
 * (index_procinfo_again_rows), which the writer runs when fewer rows than records went in:
 * IGNORE rather than an upsert, so that SQLite keeps no statement journal of the pages it
 * changes (BENCHMARKS.md, i26idx: 470 instructions a new process). Every column has a value
 * (procinfo_column), so no row meets a NOT NULL constraint. ?1: the chunk's id. */
const struct index_rows_def index_procinfo_rows = {
	.name = "ecap_procinfo_rows",
	.declare = "CREATE TABLE x(pid, start, start_wall, ppid, parent_comm, nspid, exe, args, "
		   "cgroup, container_id, runtime, pod_uid)",
	.insert = "INSERT OR IGNORE INTO processes(pid, start, start_wall, ppid, parent_comm, "
		  "nspid, exe, args, cgroup, container_id, runtime, pod_uid, last_chunk) SELECT "
		  "pid, start, start_wall, ppid, parent_comm, nspid, exe, args, cgroup, "
		  "container_id, runtime, pod_uid, ?1 FROM ecap_procinfo_rows",
	.column = procinfo_column,
	.size = sizeof(struct ecap_proc_info),
};

/* The records of a chunk again (the same rows as index_procinfo_rows: their pid and start),
 * for the processes the index held already: last_chunk moves on to the chunk (?1), never
 * back. */
const struct index_rows_def index_procinfo_again_rows = {
	.name = "ecap_procinfo_again_rows",
	.declare = "CREATE TABLE x(pid, start)",
	.insert = "UPDATE processes SET last_chunk = ?1 FROM ecap_procinfo_again_rows AS r WHERE "
		  "processes.pid = r.pid AND processes.start = r.start AND "
		  "processes.last_chunk < ?1",
	.column = procinfo_column,
	.size = sizeof(struct ecap_proc_info),
};
