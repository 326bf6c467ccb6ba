// SPDX-License-Identifier: GPL-2.0-only
/*
 * index.c - the SQLite side of a store: schema creation and migration, and the prepared
 * statements that record a chunk. A chunk is recorded by one function, index_add_chunk(),
 * whether it was just written, found unindexed at recovery, or read during a rebuild: that
 * is what makes a rebuilt index answer like the original.
 */
#include "index.h"

#include "buf.h"
#include "chunk_runs.h"
#include "idruns.h"
#include "owner_ranges.h"
#include "owner_rows_drop.h"
#include "flow_keys.h"
#include "index_rows.h"
#include "index_vfs.h"
#include "secret_blob.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char index_sql[];

enum {
	ST_IFACE,
	ST_IFACE_NETNS,
	ST_FLOW,
	ST_FLOW_MAX,
	ST_CHUNK_MAX,
	ST_FLOWSTAT,
	ST_CHUNK,
	ST_SESSION_IN_FLOW,
	ST_SESSION,
	ST_SECRET,
	ST_DROPS,
	ST_SEGMENT,
	ST_SECRET_CHUNK,
	ST_SECRET_ROWS,
	ST_LINK,
	ST_CONTAINER,
	ST_FLOW_KEYS,
	ST_SETTING,
	ST_NEXT_IDS,
	ST_FLOW_GONE,
	ST_BEGIN,
	ST_COMMIT,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	/* a setting by name (index_set_setting) */
	[ST_SETTING] = "INSERT OR REPLACE INTO settings(key, value) VALUES (?1, ?2)",
	/* both in one statement, each row changed in place (an INSERT OR REPLACE deletes and
	 * inserts: the table's page and its key's index page, each a WAL frame) */
	[ST_NEXT_IDS] = "INSERT INTO settings(key, value) VALUES ('next_flow_id', ?1), "
			"('next_chunk_id', ?2) ON CONFLICT(key) DO UPDATE SET "
			"value = max(value, excluded.value)",
	[ST_IFACE] = "INSERT OR IGNORE INTO interfaces(id, name, linktype, snaplen, filter) "
		     "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_IFACE_NETNS] = "INSERT OR IGNORE INTO interface_netns(iface, netns, ifindex, "
			   "description) VALUES (?1, ?2, ?3, ?4)",
	/* a new flow with its totals so far (see add_flow); a flow indexed already is left as
	 * it is (its totals come at the commit) */
	[ST_FLOW] = "INSERT INTO flows(id, proto, family, addr_a, port_a, addr_b, port_b, first_ns, "
		    "last_ns, packets, bytes, first_chunk, last_chunk, chunk_runs) VALUES (?1, ?2, "
		    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT(id) DO NOTHING",
	/* the largest flow id indexed: a record of a larger id makes a new row (add_flows) */
	[ST_FLOW_MAX] = "SELECT max(id) FROM flows",
	[ST_CHUNK_MAX] = "SELECT max(id) FROM chunks",
	[ST_FLOWSTAT] = "UPDATE flows SET packets = packets + ?2, bytes = bytes + ?3, "
			"first_ns = min(first_ns, ?4), last_ns = max(last_ns, ?5), "
			"first_chunk = min(first_chunk, ?6), last_chunk = max(last_chunk, ?7), "
			"chunk_runs = ecap_chunk_runs_add(chunk_runs, ?8) WHERE id = ?1",
	[ST_CHUNK] = "INSERT OR REPLACE INTO chunks(id, segment, offset, length, raw_len, first_ns, "
		     "last_ns, packets, nonflow_packets, flows, near_secrets) "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	/* a session of a flow the index holds, into the flow's row when that has none (and the
	 * session is not among its others) */
	[ST_SESSION_IN_FLOW] = "UPDATE flows SET client_random = ?1, session_chunk = ?3 WHERE "
			       "id = ?2 AND client_random IS NULL AND NOT EXISTS (SELECT 1 FROM "
			       "tls_sessions_extra WHERE flow_id = ?2 AND client_random = ?1)",
	/* else one of the flow's other sessions, unless it is the one in the flow's row */
	[ST_SESSION] = "INSERT OR IGNORE INTO tls_sessions_extra(client_random, flow_id, chunk_id) "
		       "SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM flows WHERE id = ?2 AND "
		       "client_random = ?1)",
	/* a session's secrets in a chunk: one row (secret_blob.h) */
	[ST_SECRET] = "INSERT OR IGNORE INTO secrets(chunk_id, client_random, n, secrets) "
		      "VALUES (?1, ?2, ?3, ?4)",
	[ST_DROPS] = "INSERT INTO drops(iface, ts_ns, count, chunk_id) VALUES (?1, ?2, ?3, ?4)",
	[ST_SEGMENT] = "INSERT INTO segments(id, bytes, sealed, first_ns, last_ns) "
		       "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET "
		       "bytes = max(bytes, excluded.bytes), sealed = max(sealed, excluded.sealed), "
		       "first_ns = coalesce(min(first_ns, excluded.first_ns), first_ns, "
		       "excluded.first_ns), last_ns = coalesce(max(last_ns, excluded.last_ns), "
		       "last_ns, excluded.last_ns)",
	[ST_SECRET_CHUNK] = "INSERT OR IGNORE INTO secret_chunks(client_random, chunk_id) "
			    "VALUES (?1, ?2)",
	[ST_SECRET_ROWS] = "SELECT x.secrets FROM secret_chunks c JOIN secrets x "
			   "ON x.chunk_id = c.chunk_id AND x.client_random = c.client_random "
			   "WHERE c.client_random = ?1",
	[ST_LINK] = "INSERT OR IGNORE INTO flow_links(pre_flow, post_flow, kind, a_side, ts_ns, "
		    "chunk_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* the latest record's facts (a chunk is added again at recovery: same result) */
	[ST_CONTAINER] = "INSERT INTO containers(id, runtime, name, image, labels, pod_name, "
			 "pod_namespace, pod_uid, first_ns, last_ns) VALUES (?1, ?2, ?3, ?4, ?5, "
			 "?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO UPDATE SET "
			 "runtime = iif(excluded.last_ns >= last_ns, excluded.runtime, runtime), "
			 "name = iif(excluded.last_ns >= last_ns, excluded.name, name), "
			 "image = iif(excluded.last_ns >= last_ns, excluded.image, image), "
			 "labels = iif(excluded.last_ns >= last_ns, excluded.labels, labels), "
			 "pod_name = iif(excluded.last_ns >= last_ns, excluded.pod_name, "
			 "pod_name), "
			 "pod_namespace = iif(excluded.last_ns >= last_ns, excluded.pod_namespace, "
			 "pod_namespace), "
			 "pod_uid = iif(excluded.last_ns >= last_ns, excluded.pod_uid, pod_uid), "
			 "first_ns = min(first_ns, excluded.first_ns), "
			 "last_ns = max(last_ns, excluded.last_ns)",
	[ST_FLOW_KEYS] = flow_keys_insert_sql,
	/* the sessions of a flow that is not there (flush_aggregates) */
	[ST_FLOW_GONE] = "DELETE FROM tls_sessions_extra WHERE flow_id = ?1",
	/* the group commit's, once a second: prepared once rather than parsed each time */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
};

/*
 * The sessions of the chunks indexed last, by client_random: a chunk's secrets whose session is
 * among them, in this chunk or one of the INDEX_SECRET_WINDOW - 1 before it, need no
 * secret_chunks row (readers look for them in the chunks from the session's on). Open
 * addressing over RECENT_PROBE slots from the hash, an entry older than the window being as
 * good as an empty one. The table starts at RECENT_SLOTS_MIN slots and doubles, up to
 * RECENT_SLOTS, when a session finds none of its slots free: its size follows the sessions
 * of one window (a few hundred a second of them need a few KiB), not the most it may ever
 * hold (65,536 sessions: 2.5 MiB, whose pages a new session each touched one at a time, a
 * page fault per session for the first thousands on a host where a fault costs 12-17 us). A
 * session that finds no slot in the largest table, or none when the memory for a larger one
 * cannot be had, is left out, and its secrets get their secret_chunks row as before. The growth depends only on the sessions added, in order. The window is that of the session's first row: a later row of
 * the same client_random (another flow, a ClientHello seen again) never moves it, since readers
 * look near each row's own chunk (store_secrets_read.c looks INDEX_SECRET_WINDOW - 1 chunks
 * either side, which covers a second flow's row inside the first one's window). The table is
 * rebuilt as chunks are indexed, in chunk order, so a rebuild (ecap-fsck --rebuild) makes the
 * same choices as the writer did.
 */
/* Store interface ids run from 0 to 65534 (store_add_interface). */
#define ECAP_IFACE_IDS 65536u

#define RECENT_SLOTS 65536u    /* the most; powers of two */
#define RECENT_SLOTS_MIN 1024u /* the first table (40 KiB) */
#define RECENT_PROBE 16u

struct recent_session {
	uint8_t client_random[32];
	uint64_t chunk_plus1; /* the session's chunk + 1; 0: empty; RECENT_NEVER: see below */
};
/* A client_random whose session row came again in a chunk past the first one's window:
 * its secrets are never near (they get rows). The slot stays taken; a session that finds
 * none of its slots free is left out, as when the table is full. */
#define RECENT_NEVER UINT64_MAX

/* Flow totals gathered over the chunks of one transaction, written once per flow at commit:
 * a chunk of small packets from many flows would otherwise cost an UPDATE per flow. A new
 * flow whose record comes in a chunk is inserted right away with the totals gathered so far,
 * and its slot emptied: one write of its row and indexes instead of an insert and an update.
 * The record of a flow indexed already (stored again in a later segment) writes nothing. The
 * chunks of a flow's sessions are gathered here too (cover_sessions). An open-addressing
 * table that doubles at half full, from AGG_SLOTS_MIN slots: a transaction of a second of a
 * few curl clients gathers tens of flows, whose random slots in a larger first table each
 * touched a page of their own. A chunk's slots are had before it is gathered (agg_reserve);
 * when that memory cannot be had, its totals are written at once, flow by flow (totals_now):
 * the same rows, more statements, counted (index_totals_now_chunks). */
#define AGG_SLOTS_MIN 256u /* 14 KiB */
struct flow_agg {
	uint64_t flow_id;       /* 0: empty slot */
	uint64_t packets, bytes, first_ns, last_ns, first_chunk, last_chunk; /* first_chunk
				 * UINT64_MAX: nothing gathered; first_ns UINT64_MAX: no packets */
	uint32_t run_first, run_last; /* the chunks of its packets gathered (index.sql
				 * flows.chunk_runs): ix->runs[run_first..] through .next; 0: none */
};

/* One run of consecutive chunks with a flow's packets, gathered in a transaction; the runs of
 * all flows in one array, emptied at the commit. */
struct pending_run {
	uint64_t lo, hi;
	uint32_t next; /* the flow's next run, 0: its last */
};

/* The chunk's rows written with one statement per table (index_rows.h). */
enum {
	ROWS_FLOW,
	ROWS_OWNER_A,
	ROWS_OWNER_B,
	ROWS_OWNER,
	ROWS_PROCINFO,
	ROWS_PROCINFO_AGAIN,
	ROWS_COUNT
};

static const struct index_rows_def *const rows_defs[ROWS_COUNT] = {
	[ROWS_FLOW] = &index_flow_rows,
	[ROWS_OWNER_A] = &index_owner_a_rows,
	[ROWS_OWNER_B] = &index_owner_b_rows,
	[ROWS_OWNER] = &index_owner_rows,
	[ROWS_PROCINFO] = &index_procinfo_rows,
	[ROWS_PROCINFO_AGAIN] = &index_procinfo_again_rows,
};

struct index {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];     /* NULL until first used (stmt()) */
	struct index_rows rows[ROWS_COUNT]; /* registered with the first rows_stmt() */
	sqlite3_stmt *rows_st[ROWS_COUNT];  /* their statements, NULL until first used */
	bool rows_registered;
	/* the chunk's rows (add_flows, add_sessions), kept from chunk to chunk */
	const struct flow_record **flow_order;
	size_t flows_cap;
	struct index_flow_row *flow_rows;
	size_t flow_rows_cap;
	struct index_proc_row *owner_rows[2]; /* owners of flows the index holds, by side */
	size_t owner_rows_cap[2], n_owner_rows[2];
	struct chunkmeta_session *session_rows; /* the chunk's, in key order (order_sessions) */
	bool *session_taken;            /* [i]: session_rows[i] is in a new flow's row */
	size_t sessions_cap, taken_cap, n_sessions;
	bool migrating;                 /* migrate_3_to_4: no secret_chunks rows to add */
	struct flow_agg *agg;
	size_t agg_cap, agg_used;
	uint32_t *agg_list;             /* the used slots, in the order they were taken */
	struct pending_run *runs;       /* [0] unused: index 0 is "none" */
	size_t runs_n, runs_cap;
	struct buf runs_blob;           /* chunk_runs values being bound */
	bool runs_fn;                   /* ecap_chunk_runs_add registered (chunk_runs.h) */
	struct buf blob;
	uint64_t *ids;
	size_t ids_cap;
	const struct tls_secret **secs; /* a chunk's secrets, by client_random */
	size_t secs_cap;
	struct recent_session *recent;  /* recent_slots; NULL until the first session */
	uint32_t recent_slots;
	struct owner_ranges owners;     /* the owners of the chunk being indexed */
	struct flow_keys flow_keys;     /* the chunk's row of chunk_flow_keys, being made */
	uint64_t near_secrets;          /* the chunk being added: its secrets left to its DSB */
	/* The interfaces whose rows a transaction of index_commit() made durable (a bit per
	 * store id, NULL until the first), and those this transaction wrote (iface_new):
	 * a chunk of an interface known costs no statement for its rows (add_iface). */
	uint8_t *iface_known;
	uint32_t *iface_new;
	size_t n_iface_new, cap_iface_new;
	uint64_t totals_now_chunks;     /* chunks whose totals had no slots (totals_now) */
	/* The largest flow id a chunk indexed through this handle names (its flow records,
	 * packets' flows, sessions, links; 0: none), for index_flow_ids_named. And what the rows
	 * of this transaction and the ones committed before it hold at least (the largest flow
	 * and chunk ids written or read: 0, nothing known), so that index_note_next_ids needs no
	 * query at a commit whose ids the rows give; a rollback forgets them (its rows are
	 * gone), retention may leave them above the rows (it writes the ids as settings before
	 * any row goes: index_drop_chunks). */
	uint64_t flow_ids_named;
	int64_t rows_flow_hi, rows_chunk_hi;
};

uint64_t index_totals_now_chunks(const struct index *ix)
{
	return ix->totals_now_chunks;
}

uint64_t index_flow_ids_named(const struct index *ix)
{
	return ix->flow_ids_named;
}

static void note_rows_hi(int64_t *hi, uint64_t id)
{
	if (id <= INT64_MAX && (int64_t)id > *hi)
		*hi = (int64_t)id;
}

/* id into *hi when above it; an id a writer cannot have given (above INT64_MAX - 1: ids are
 * SQLite's signed integers, and the next id must be one too), as a damaged chunk found at
 * recovery may name, is left out. */
static void note_named(uint64_t *hi, uint64_t id)
{
	if (id > *hi && id < (uint64_t)INT64_MAX)
		*hi = id;
}

/* The flow ids chunk m names, into ix->flow_ids_named. */
static void note_flow_ids_named(struct index *ix, const struct chunk_meta *m)
{
	uint64_t hi = ix->flow_ids_named;
	for (size_t i = 0; i < m->n_flows; i++)
		note_named(&hi, m->flows[i].id);
	for (size_t i = 0; i < m->n_flowstats; i++)
		note_named(&hi, m->flowstats[i].flow_id);
	for (size_t i = 0; i < m->n_sessions; i++)
		note_named(&hi, m->sessions[i].flow_id);
	for (size_t i = 0; i < m->n_links; i++) {
		note_named(&hi, m->links[i].pre_id);
		note_named(&hi, m->links[i].post_id);
	}
	ix->flow_ids_named = hi;
}

sqlite3 *index_db(struct index *ix)
{
	return ix->db;
}

const char *index_errmsg(struct index *ix)
{
	return sqlite3_errmsg(ix->db);
}

static int sql_err(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY:
		return -EACCES;
	default:
		return -EIO;
	}
}

static int exec(struct index *ix, const char *sql)
{
	return sql_err(sqlite3_exec(ix->db, sql, NULL, NULL, NULL));
}

/*
 * Version 1 to 2: tls_sessions keyed by flow instead of client_random, secrets keyed by chunk,
 * and secret_chunks to find a client_random's secrets (index.sql says why). The two tables
 * are copied into their new layout; index.sql then adds what is new.
 */
static const char migrate_1_to_2[] =
	"CREATE TABLE tls_sessions_v2 (client_random BLOB NOT NULL, flow_id INTEGER NOT NULL, "
	"chunk_id INTEGER NOT NULL, PRIMARY KEY (flow_id, client_random)) WITHOUT ROWID;"
	"INSERT INTO tls_sessions_v2 SELECT client_random, flow_id, chunk_id FROM tls_sessions;"
	"DROP TABLE tls_sessions;"
	"ALTER TABLE tls_sessions_v2 RENAME TO tls_sessions;"
	"CREATE TABLE secrets_v2 (chunk_id INTEGER NOT NULL, client_random BLOB NOT NULL, "
	"label TEXT NOT NULL, secret BLOB NOT NULL, PRIMARY KEY (chunk_id, client_random, label)) "
	"WITHOUT ROWID;"
	"INSERT INTO secrets_v2 SELECT chunk_id, client_random, label, secret FROM secrets;"
	"DROP TABLE secrets;"
	"ALTER TABLE secrets_v2 RENAME TO secrets;";

static int add_secret_row(struct index *ix, uint64_t chunk_id, const uint8_t cr[32],
			  const struct tls_secret *const *v, size_t n, bool *added);

/*
 * Statement `which` of stmt_sql into *st, prepared at its first use and kept: a reader (an
 * export, a listing) runs none of the writer's statements, and preparing them all at every
 * open took about 1.2 M instructions, a sixth of a small export's start-up. (A writer has
 * them all prepared at its open: index_prepare.)
 */
static int stmt(struct index *ix, int which, sqlite3_stmt **st)
{
	int rc = SQLITE_OK;
	if (which == ST_FLOWSTAT && !ix->runs_fn && (rc = chunk_runs_register(ix->db)) == SQLITE_OK)
		ix->runs_fn = true;
	if (rc == SQLITE_OK && !ix->st[which])
		rc = sqlite3_prepare_v3(ix->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
					&ix->st[which], NULL);
	*st = ix->st[which];
	return rc == SQLITE_OK ? 0 : sql_err(rc);
}

/*
 * Version 3 to 4: a TLS session's secrets in a chunk become one row (secret_blob.h) instead
 * of one per secret. The old rows are read in key order, so that each (chunk, client_random)
 * comes together, and written again through the writer's own encoding.
 */
static int migrate_3_to_4(struct index *ix)
{
	sqlite3_stmt *st = NULL;
	struct tls_secret *v = NULL;
	const struct tls_secret **pv = NULL;
	size_t n = 0, cap = 0;
	int64_t chunk = -1;
	int rc = SQLITE_DONE, err;
	bool added;
	if ((err = exec(ix, "ALTER TABLE secrets RENAME TO secrets_v3")) ||
	    (err = exec(ix, index_sql)))
		return err;
	ix->migrating = true;
	if (sqlite3_prepare_v2(ix->db, "SELECT chunk_id, client_random, label, secret FROM "
				       "secrets_v3 ORDER BY chunk_id, client_random, label",
			       -1, &st, NULL) != SQLITE_OK) {
		err = -EIO;
		goto out;
	}
	do {
		rc = sqlite3_step(st);
		bool row = rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 32;
		if (n && (!row || chunk != sqlite3_column_int64(st, 0) ||
			  memcmp(v[0].client_random, sqlite3_column_blob(st, 1), 32))) {
			for (size_t i = 0; i < n; i++)
				pv[i] = &v[i];
			err = add_secret_row(ix, (uint64_t)chunk, v[0].client_random, pv, n,
					     &added);
			n = 0;
		}
		int len = row ? sqlite3_column_bytes(st, 3) : 0;
		if (err || len <= 0 || len > ECAP_SECRET_MAX)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct tls_secret *nv = realloc(v, cap * sizeof(*v));
			const struct tls_secret **np = nv ? realloc(pv, cap * sizeof(*pv)) : NULL;
			v = nv ? nv : v;
			pv = np ? np : pv;
			if (!nv || !np) {
				err = -ENOMEM;
				continue;
			}
		}
		chunk = sqlite3_column_int64(st, 0);
		memset(&v[n], 0, sizeof(v[n]));
		memcpy(v[n].client_random, sqlite3_column_blob(st, 1), 32);
		snprintf(v[n].label, sizeof(v[n].label), "%s",
			 (const char *)sqlite3_column_text(st, 2));
		memcpy(v[n].secret, sqlite3_column_blob(st, 3), (size_t)len);
		v[n++].secret_len = (uint8_t)len;
	} while (!err && rc == SQLITE_ROW);
	if (!err && rc != SQLITE_DONE)
		err = sql_err(rc);
out:
	/* prepared again, on the migrated schema, when next used */
	sqlite3_finalize(ix->st[ST_SECRET]);
	ix->st[ST_SECRET] = NULL;
	ix->migrating = false;
	sqlite3_finalize(st);
	free(v);
	free(pv);
	return err ? err : exec(ix, "DROP TABLE secrets_v3");
}

/* Version 6 to 7: the flows' four indexes by address and port are gone (index_sql drops them),
 * and chunk_flow_keys finds flows by address and port instead: its rows for the chunks
 * indexed before, from the flows table. */
static int migrate_7_flow_keys(struct index *ix)
{
	return flow_keys_migrate(ix->db);
}

/*
 * Version 6 to 7, the owners' part: flow_procs loses its indexes by pid, comm and uid
 * (index_sql drops them) and owner_flows is made from its rows: each owner's flow ids cut into
 * runs where two are more than OWNER_RUN_GAP apart, one row per run. index_add_chunk also cuts
 * at each chunk, which flow_procs does not know: fewer rows here, and the same rule for
 * readers (every owner's flow lies in one of its rows' ranges).
 */
static int migrate_7_owner_ranges(struct index *ix)
{
	char sql[1024];
	int err = exec(ix, index_sql);
	if (err)
		return err;
	snprintf(sql, sizeof(sql),
		 "WITH g AS (SELECT pid, start, uid, comm, netns, flow_id, flow_id - lag(flow_id) "
		 "OVER w > %d AS cut FROM flow_procs WINDOW w AS (PARTITION BY pid, start, uid, "
		 "comm, netns ORDER BY flow_id)), "
		 "r AS (SELECT *, sum(coalesce(cut, 1)) OVER (PARTITION BY pid, start, uid, comm, "
		 "netns ORDER BY flow_id) AS run FROM g) "
		 "INSERT INTO owner_flows(pid, start, uid, comm, netns, first_flow, last_flow) "
		 "SELECT pid, start, uid, comm, netns, min(flow_id), max(flow_id) FROM r WHERE true "
		 "GROUP BY pid, start, uid, comm, netns, run ON CONFLICT DO UPDATE SET "
		 "last_flow = max(last_flow, excluded.last_flow)",
		 OWNER_RUN_GAP);
	return exec(ix, sql);
}

/*
 * Version 6 to 7, the near secrets' part: secrets near their session are read from their
 * chunk's DSB instead of a secrets row (index.sql); chunks.near_secrets counts them. The rows
 * of the chunks indexed so far stay (their near_secrets is 0: readers find their secrets in
 * the rows, as before).
 */
static int migrate_7_near_secrets(struct index *ix)
{
	return exec(ix, "ALTER TABLE chunks ADD COLUMN near_secrets INTEGER NOT NULL DEFAULT 0");
}

/*
 * Version 7 to 8, the flows' part: a writer now stores a live flow's record again in each
 * segment where it has packets (store.h store_flow_epoch), so the row of flow keys of a chunk
 * that retention deletes goes with it (index_drop_chunks): the flows it names that are left
 * have records in the chunks kept. Chunks indexed before, by a writer that did not, keep
 * their rows while a flow of their id range is left, as version 7 did: from which chunk on
 * the rows go with their chunks is setting flow_keys_own_from (none: every chunk's).
 */
static int migrate_8_flows(struct index *ix)
{
	return exec(ix, "INSERT OR REPLACE INTO settings(key, value) SELECT 'flow_keys_own_from', "
			"coalesce(max(id), 0) + 1 FROM chunks");
}

/*
 * Version 7 to 8, the sessions' part: tls_sessions loses its index by chunk (index_sql, run
 * before this step, drops it), and a session is found through its flow, whose
 * first_chunk..last_chunk covers the session's chunk from now on: the flows whose sessions
 * lie outside their range get it widened, as index_add_chunk would have made them.
 */
static int migrate_8_sessions(struct index *ix)
{
	return exec(ix, "UPDATE flows SET first_chunk = min(first_chunk, s.lo), "
			"last_chunk = max(last_chunk, s.hi) FROM (SELECT flow_id, min(chunk_id) AS "
			"lo, max(chunk_id) AS hi FROM tls_sessions GROUP BY flow_id) AS s "
			"WHERE flows.id = s.flow_id AND "
			"(s.lo < flows.first_chunk OR s.hi > flows.last_chunk)");
}

/*
 * Version 8 to 9, the processes' part: processes_by_container holds only the processes in a
 * container (index.sql), no longer an entry per process with container_id ''. index_sql, run
 * before this step, leaves the old index alone (it has the same name), so it is made again.
 */
static int migrate_9_processes_by_container(struct index *ix)
{
	int err = exec(ix, "DROP INDEX IF EXISTS processes_by_container");
	return err ? err : exec(ix, "CREATE INDEX processes_by_container ON processes(container_id) "
				    "WHERE container_id <> ''");
}

/*
 * Version 8 to 9, the flows' chunk lists (index.sql flows.chunk_runs): the flows indexed
 * before have none (NULL), and their chunks are looked for over first_chunk..last_chunk as
 * before; a list would need every chunk's flow list read back. Flows indexed from now on
 * have one. (An index whose version was set back, as tests do, may have the column.)
 */
static int migrate_9_flow_runs(struct index *ix)
{
	int64_t has;
	int err = index_scalar(ix, "SELECT count(*) FROM pragma_table_info('flows') WHERE name = "
			       "'chunk_runs'", 0, &has);
	return err || has ? err : exec(ix, "ALTER TABLE flows ADD COLUMN chunk_runs BLOB");
}

/*
 * Version 9 to 10: a flow's owners and its first TLS session are columns of its row (index.sql
 * flows), flow_procs and tls_sessions views; the other sessions are rows of
 * tls_sessions_extra. The columns are added, each flow_procs row goes into its flow's columns
 * of its side, and a flow's first session (by chunk, then client_random: the one a rebuild
 * puts in the row, whose sessions it indexes in that order) into its row, the others into
 * tls_sessions_extra (which index_sql, run before this step, made, empty). Owners and sessions
 * of a flow without a row stay unowned, or become rows of tls_sessions_extra, as
 * index_add_chunk leaves them. flow_procs' trigger goes with its table; index_sql then makes
 * the views and the trigger on flows. The columns come first (migrate_10_flow_columns, before
 * every other step): the index_sql that older steps run makes the trigger on flows, which
 * names them, and SQLite refuses to rename a table (migrate_1_to_2, migrate_3_to_4) while a
 * trigger names a column that does not exist.
 */
static int migrate_10_flow_columns(struct index *ix)
{
	static const char *const cols[] = { "a_pid INTEGER", "a_tid INTEGER", "a_uid INTEGER",
		"a_gid INTEGER", "a_comm TEXT", "a_cgroup_id INTEGER", "a_netns INTEGER",
		"a_start INTEGER", "b_pid INTEGER", "b_tid INTEGER", "b_uid INTEGER",
		"b_gid INTEGER", "b_comm TEXT", "b_cgroup_id INTEGER", "b_netns INTEGER",
		"b_start INTEGER", "client_random BLOB", "session_chunk INTEGER" };
	char sql[128];
	int err = 0;
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]) && !err; i++) {
		snprintf(sql, sizeof(sql), "ALTER TABLE flows ADD COLUMN %s", cols[i]);
		err = exec(ix, sql);
	}
	return err;
}

/*
 * Version 10 to 11: a row of owner_flows may stand for a group of processes (index.sql
 * owner_flows.pid_last). The rows there stay rows of one process each (pid_last NULL), which
 * readers find as before; the trigger on flows' owners, which index_sql makes, is made again
 * for groups. Runs before index_sql (right after migrate_10_flow_columns), which would keep the
 * old trigger; an index older than 7 has no owner_flows yet, which index_sql then makes.
 */
static int migrate_11_i22index_owner_groups(struct index *ix)
{
	int64_t has;
	int err = index_scalar(ix, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
			       "name = 'owner_flows'", 0, &has);
	if (err || !has)
		return err;
	if ((err = exec(ix, "DROP TRIGGER IF EXISTS flows_owner_moved")))
		return err;
	err = index_scalar(ix, "SELECT count(*) FROM pragma_table_info('owner_flows') WHERE "
			   "name = 'pid_last'", 0, &has);
	return err || has ? err : exec(ix, "ALTER TABLE owner_flows ADD COLUMN pid_last INTEGER");
}

static int migrate_10_flow_rows(struct index *ix)
{
	/* made by index_sql, run before: it would fire at each flow's first owner here */
	int err = exec(ix, "DROP TRIGGER IF EXISTS flows_owner_moved");
	if (!err)
		err = exec(ix,
			"UPDATE flows SET a_pid = p.pid, a_tid = p.tid, a_uid = p.uid, a_gid = p.gid, "
			"a_comm = p.comm, a_cgroup_id = p.cgroup_id, a_netns = p.netns, "
			"a_start = p.start FROM flow_procs p WHERE p.flow_id = flows.id AND "
			"p.side = 0;"
			"UPDATE flows SET b_pid = p.pid, b_tid = p.tid, b_uid = p.uid, b_gid = p.gid, "
			"b_comm = p.comm, b_cgroup_id = p.cgroup_id, b_netns = p.netns, "
			"b_start = p.start FROM flow_procs p WHERE p.flow_id = flows.id AND "
			"p.side = 1;"
			"CREATE TEMP TABLE ranked_sessions AS SELECT flow_id, client_random, chunk_id, "
			"row_number() OVER (PARTITION BY flow_id ORDER BY chunk_id, client_random) = 1 "
			"AND flow_id IN (SELECT id FROM flows) AS first FROM tls_sessions;"
			"UPDATE flows SET client_random = s.client_random, session_chunk = s.chunk_id "
			"FROM temp.ranked_sessions s WHERE s.first AND s.flow_id = flows.id;"
			"INSERT INTO tls_sessions_extra(client_random, flow_id, chunk_id) SELECT "
			"client_random, flow_id, chunk_id FROM temp.ranked_sessions WHERE NOT first "
			"ORDER BY flow_id, client_random;"
			"DROP TABLE temp.ranked_sessions;"
			"DROP TABLE flow_procs;"
			"DROP TABLE tls_sessions;");
	return err ? err : exec(ix, index_sql);
}

/* One step per version, all inside one transaction. Another process may have migrated the
 * index since its version was read: the version is read again under the write lock. On an
 * error, why says SQLite's reason (read before the ROLLBACK, which clears it). */
static int index_migrate(struct index *ix, char *why, size_t whylen)
{
	int64_t from;
	int err = exec(ix, "BEGIN IMMEDIATE");
	if (!err && !(err = index_scalar(ix, "PRAGMA user_version", 0, &from)) &&
	    from == INDEX_SCHEMA_VERSION && !(err = exec(ix, "COMMIT")))
		return 0;
	if (err)
		goto out;
	if (from < 1 || from > 11)
		err = -EPROTO;
	/* 9 -> 10, the flows' new columns first (migrate_10_flow_columns says why), after
	 * version 9's chunk_runs (a no-op when there), so that the columns come in a new
	 * index's order */
	if (!err && from <= 8)
		err = migrate_9_flow_runs(ix);
	if (!err && from <= 9)
		err = migrate_10_flow_columns(ix);
	/* 10 -> 11: owner_flows' rows of process groups (before index_sql too) */
	if (!err && from <= 10)
		err = migrate_11_i22index_owner_groups(ix);
	if (!err && from == 1 && !(err = exec(ix, migrate_1_to_2)) && !(err = exec(ix, index_sql)))
		err = exec(ix, "INSERT OR IGNORE INTO secret_chunks SELECT client_random, chunk_id "
			       "FROM secrets");
	/* 2 -> 3: the owners' start times and the processes table (made by index_sql) */
	if (!err && from <= 2 &&
	    !(err = exec(ix, "ALTER TABLE flow_procs ADD COLUMN start INTEGER NOT NULL "
			     "DEFAULT 0")))
		err = exec(ix, index_sql);
	/* 3 -> 4: one secrets row per session and chunk */
	if (!err && from <= 3)
		err = migrate_3_to_4(ix);
	/* 4 -> 5: flow links, the containers table and interface_netns (made by index_sql); and
	 * secret_chunks lists only the secrets that are not near their session (index.sql): its
	 * rows stay valid and readers look in both places, so nothing changes there (the
	 * version tells an older ecap, which would look only in secret_chunks, that it cannot
	 * read this index); 5 -> 6: the index chunks_by_last (index_sql) */
	if (!err)
		err = exec(ix, index_sql);
	/* 6 -> 7: near secrets from the DSBs; flows by address and port from the chunks' flow
	 * key filters; owner_flows instead of flow_procs' indexes by owner */
	if (!err && from <= 6)
		err = migrate_7_near_secrets(ix);
	if (!err && from <= 6)
		err = migrate_7_flow_keys(ix);
	if (!err && from <= 6)
		err = migrate_7_owner_ranges(ix);
	/* 7 -> 8: sessions found through their flows */
	if (!err && from <= 7)
		err = migrate_8_sessions(ix);
	/* 7 -> 8: a chunk's flow keys go with it (the records are in each segment) */
	if (!err && from <= 7)
		err = migrate_8_flows(ix);
	/* 8 -> 9: an index entry only for the processes in a container */
	if (!err && from <= 8)
		err = migrate_9_processes_by_container(ix);
	/* 8 -> 9: the chunks of a flow's packets as runs */
	if (!err && from <= 8)
		err = migrate_9_flow_runs(ix);
	/* 9 -> 10: a flow's owners and first session in its row */
	if (!err && from <= 9)
		err = migrate_10_flow_rows(ix);
	/* 11 -> 12: nothing in the index; segments written from now on may hold padding frames,
	 * and the version keeps the builds that would call them damage out of the store
	 * (INDEX_VERSION_SEGMENT_PADDING) */
	if (!err) {
		char buf[32];
		snprintf(buf, sizeof(buf), "PRAGMA user_version = %d", INDEX_SCHEMA_VERSION);
		err = exec(ix, buf);
	}
	if (!err && !(err = exec(ix, "COMMIT")))
		return 0;
out:
	snprintf(why, whylen, "%s", err == -EPROTO ? "unknown version" : sqlite3_errmsg(ix->db));
	exec(ix, "ROLLBACK");
	return err;
}

/*
 * SQLite's process-wide settings, made once before its first use (sqlite3_config() is refused
 * after that, and then changes nothing). Memory statistics off: with them (the default), every
 * allocation SQLite makes (a statement's parse tree, its program, a row's values) takes a
 * global mutex and counts its size, a fifth of the instructions of preparing a statement; ecap
 * reads none of them (sqlite3_memory_used, sqlite3_status) and sets no soft heap limit, which
 * would need them. The SQLite of Debian has no lookaside memory either, so that every run of
 * a prepared statement allocates and frees its cursors: about 18 allocations per TLS session
 * recorded, 4,100 instructions of index_add_chunk with the statistics (bench_sessions).
 *
 * Statement journals in memory, always (SQLite's default: in memory up to 64 KiB). A statement
 * that writes several rows and may abort (an upsert: the owners of a chunk, index_rows.h) keeps
 * a copy of each page it changes as it was before the statement; past the spill threshold
 * SQLite moves it to a temporary file in /var/tmp, which then stays a file, written with two
 * system calls per page, for the rest of the transaction (bench_sessions measured 0.7 writes
 * per session with two-row statements, before issue 17). A threshold above 128 KiB cannot be
 * used with Debian 12's SQLite (3.40): its spill writes the in-memory journal in one call of
 * the threshold's size, which the default VFS cuts to 17 bits, and the statement then fails
 * with SQLITE_FULL ("database or disk is full"). With a threshold of 4 MiB the 9 -> 10
 * migration of an index of 1,000,000 sessions failed at its DROP TABLE, and so would have any
 * chunk or retention drop whose statement changes more than 1,000 pages (unit.index_rows:
 * test_big_statement). In memory, a journal holds at most one copy of each page a statement
 * changes: a chunk's rows, a retention drop's, or a migration step's table (the 9 -> 10
 * migration of 1,000,000 sessions: 134 MB at most, in 23 s of CPU).
 *
 * No first bulk allocation for a page cache (SQLite's default: 20 pages, 86 KiB, in one
 * malloc when a cache is made). Every temporary b-tree a statement opens has a cache of its
 * own: each run of the trigger flows_owner_moved (index.sql) opens two for its IN lists, so
 * that an UPDATE of a flow's owner (a server's end learned after the flow's first record,
 * under the curl loops) allocated and freed some 170 KiB at the top of the heap, which malloc
 * gave back to the system each time: four brk calls and the page faults of memory touched
 * anew, 1.9 ms an update on this VM against 19 us without the bulk (the same 175 VM steps).
 * Pages are then allocated one by one as a cache grows, as they were past the first 20.
 */
static void sqlite_settings(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1);
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
}

int index_open(const char *path, bool create, bool may_migrate, struct index **out, char *err,
	       size_t errlen)
{
	static pthread_once_t settings_once = PTHREAD_ONCE_INIT;
	pthread_once(&settings_once, sqlite_settings);
	struct index *ix = calloc(1, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		    (create ? SQLITE_OPEN_CREATE : 0);
	/* the default VFS with the WAL's frames written once per commit (index_vfs.c) */
	int rc = sqlite3_open_v2(path, &ix->db, flags,
				 index_vfs_register() == SQLITE_OK ? INDEX_VFS_NAME : NULL);
	int e = 0;
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 ix->db ? sqlite3_errmsg(ix->db) : sqlite3_errstr(rc));
		e = sql_err(rc);
		goto fail;
	}
	sqlite3_busy_timeout(ix->db, 5000);
	int64_t version = 0;
	if ((e = exec(ix, "PRAGMA journal_mode = WAL")) ||
	    (e = exec(ix, "PRAGMA synchronous = NORMAL")) ||
	    (e = exec(ix, "PRAGMA cache_size = -16384")) ||
	    (e = index_scalar(ix, "PRAGMA user_version", 0, &version))) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(ix->db));
		goto fail;
	}
	if (version == 0 && create) {
		char buf[32];
		if ((e = exec(ix, "BEGIN")) || (e = exec(ix, index_sql))) {
			snprintf(err, errlen, "%s: creating the schema: %s", path,
				 sqlite3_errmsg(ix->db));
			goto fail;
		}
		snprintf(buf, sizeof(buf), "PRAGMA user_version = %d", INDEX_SCHEMA_VERSION);
		if ((e = exec(ix, buf)) || (e = exec(ix, "COMMIT"))) {
			snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(ix->db));
			goto fail;
		}
		version = INDEX_SCHEMA_VERSION;
	}
	if (version > INDEX_SCHEMA_VERSION || version < 1) {
		snprintf(err, errlen, "%s: index schema version %lld is not one this ecap knows (%d)",
			 path, (long long)version, INDEX_SCHEMA_VERSION);
		e = -EPROTO;
		goto fail;
	}
	if (version < INDEX_SCHEMA_VERSION && !may_migrate) {
		snprintf(err, errlen, "%s: index schema version %lld is older than this ecap's (%d)",
			 path, (long long)version, INDEX_SCHEMA_VERSION);
		e = -ESTALE;
		goto fail;
	}
	char why[256] = "";
	if (version < INDEX_SCHEMA_VERSION && (e = index_migrate(ix, why, sizeof(why)))) {
		snprintf(err, errlen, "%s: cannot migrate index from version %lld: %s", path,
			 (long long)version, why);
		goto fail;
	}
	*out = ix;
	return 0;
fail:
	index_close(ix);
	return e ? e : -EIO;
}

void index_optimize(struct index *ix)
{
	/* Table statistics let the planner pick the selective index (an owner's pid, not a
	 * flow's time); bounded work, as SQLite recommends before closing a long-lived connection. */
	exec(ix, "PRAGMA analysis_limit = 1000");
	exec(ix, "ANALYZE");
}

void index_close(struct index *ix)
{
	if (!ix)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(ix->st[i]);
	for (int i = 0; i < ROWS_COUNT; i++)
		sqlite3_finalize(ix->rows_st[i]);
	sqlite3_close(ix->db);
	free(ix->flow_order);
	free(ix->flow_rows);
	free(ix->session_taken);
	free(ix->owner_rows[0]);
	free(ix->owner_rows[1]);
	free(ix->session_rows);
	free(ix->agg);
	free(ix->agg_list);
	free(ix->runs);
	buf_free(&ix->runs_blob);
	free(ix->ids);
	free(ix->iface_known);
	free(ix->iface_new);
	free(ix->secs);
	free(ix->recent);
	owner_ranges_free(&ix->owners);
	flow_keys_free(&ix->flow_keys);
	buf_free(&ix->blob);
	free(ix);
}

static int agg_grow(struct index *ix);
static int recent_first(struct index *ix);
static int rows_stmt(struct index *ix, int which, const void *v, size_t n, sqlite3_stmt **st);

int index_prepare(struct index *ix)
{
	if (!ix->recent && recent_first(ix))
		return -ENOMEM;
	mem_populate(ix->recent, ix->recent_slots * sizeof(*ix->recent));
	if (!ix->agg_cap) {
		int err = agg_grow(ix);
		if (err)
			return err;
		mem_populate(ix->agg, ix->agg_cap * sizeof(*ix->agg));
		mem_populate(ix->agg_list, ix->agg_cap / 2 * sizeof(*ix->agg_list));
	}
	/* every statement of the writer's, now rather than at its first use (stmt, rows_stmt) */
	sqlite3_stmt *st;
	for (int i = 0; i < ST_COUNT; i++) {
		int err = stmt(ix, i, &st);
		if (err)
			return err;
	}
	for (int i = 0; i < ROWS_COUNT; i++) {
		int err = rows_stmt(ix, i, NULL, 0, &st);
		if (err)
			return err;
	}
	return 0;
}

static int step(struct index *ix, int which);

int index_begin(struct index *ix)
{
	sqlite3_stmt *st;
	int err = stmt(ix, ST_BEGIN, &st);
	return err ? err : step(ix, ST_BEGIN);
}

static void bind_key(sqlite3_stmt *st, uint64_t id, const struct flow_key *k)
{
	sqlite3_bind_int64(st, 1, (int64_t)id);
	sqlite3_bind_int(st, 2, k->proto);
	sqlite3_bind_int(st, 3, k->family);
	sqlite3_bind_blob(st, 4, k->addr_a, 16, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, k->port_a);
	sqlite3_bind_blob(st, 6, k->addr_b, 16, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, k->port_b);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * The row of a flow's record, in chunk chunk_id, with the totals its slot gathered (a: NULL or
 * empty when none): the row as the record's insert followed by the totals' update would leave
 * it. For a flow indexed already the row is not written: a record of it comes again when an
 * owner came later, and in each segment where the flow has packets (store.h
 * store_flow_epoch), with the first_ns of its first, and its totals are added at the commit.
 */
static void flow_row(struct index_flow_row *r, const struct flow_record *f, uint64_t chunk_id,
		     const struct flow_agg *a)
{
	bool counted = a && a->first_chunk != UINT64_MAX;
	r->f = f;
	r->first_ns = counted ? min_u64(f->first_ns, a->first_ns) : f->first_ns;
	r->last_ns = counted ? max_u64(f->first_ns, a->last_ns) : f->first_ns;
	r->packets = counted ? a->packets : 0;
	r->bytes = counted ? a->bytes : 0;
	r->first_chunk = counted ? min_u64(chunk_id, a->first_chunk) : chunk_id;
	r->last_chunk = counted ? max_u64(chunk_id, a->last_chunk) : chunk_id;
}

/* The row r on its own, unless the flow has one: *inserted, whether it was written. */
static int insert_flow(struct index *ix, const struct index_flow_row *r, bool *inserted)
{
	sqlite3_stmt *st;
	int err = stmt(ix, ST_FLOW, &st);
	if (err)
		return err;
	bind_key(st, r->f->id, &r->f->key);
	sqlite3_bind_int64(st, 8, (int64_t)r->first_ns);
	sqlite3_bind_int64(st, 9, (int64_t)r->last_ns);
	sqlite3_bind_int64(st, 10, (int64_t)r->packets);
	sqlite3_bind_int64(st, 11, (int64_t)r->bytes);
	sqlite3_bind_int64(st, 12, (int64_t)r->first_chunk);
	sqlite3_bind_int64(st, 13, (int64_t)r->last_chunk);
	sqlite3_bind_blob(st, 14, r->runs_len ? (const void *)r->runs : "", (int)r->runs_len,
			  SQLITE_STATIC);
	err = step(ix, ST_FLOW);
	*inserted = !err && sqlite3_changes(ix->db) > 0;
	return err;
}

/* Empties the slots taken since the last commit or rollback: work that follows what the
 * transaction gathered, not the table's size (which stays at its largest transaction's). */
static void agg_clear(struct index *ix)
{
	for (size_t k = 0; k < ix->agg_used; k++)
		memset(&ix->agg[ix->agg_list[k]], 0, sizeof(*ix->agg));
	ix->agg_used = 0;
}

/* Notes that the flow of slot a has packets in chunk id (chunks come in id order; one
 * indexed again adds nothing): runs as chunk_runs_add makes them (CHUNK_RUNS_GAP), so that
 * adding them to the flow's list gives what adding their chunks one by one would. */
static int agg_add_chunk(struct index *ix, struct flow_agg *a, uint64_t id)
{
	if (a->run_last) {
		struct pending_run *r = &ix->runs[a->run_last];
		if (id <= r->hi)
			return 0;
		if (id - r->hi <= 1 + CHUNK_RUNS_GAP) {
			r->hi = id;
			return 0;
		}
	}
	if (ix->runs_n < 1)
		ix->runs_n = 1;
	if (ix->runs_n >= UINT32_MAX)
		return -ENOMEM;
	if (ix->runs_n >= ix->runs_cap) {
		size_t ncap = ix->runs_cap ? ix->runs_cap * 2 : 4096;
		struct pending_run *p = realloc(ix->runs, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ix->runs = p;
		ix->runs_cap = ncap;
	}
	uint32_t k = (uint32_t)ix->runs_n++;
	ix->runs[k] = (struct pending_run){ .lo = id, .hi = id };
	if (a->run_last)
		ix->runs[a->run_last].next = k;
	else
		a->run_first = k;
	a->run_last = k;
	return 0;
}

/* The runs gathered for slot a, in chunk_runs.h's format (not yet held to CHUNK_RUNS_MAX:
 * ecap_chunk_runs_add adds them one by one), appended to b. */
static int pending_encode(struct index *ix, const struct flow_agg *a, struct buf *b)
{
	uint64_t next = 0;
	int err = 0;
	for (uint32_t k = a->run_first; k && !err; k = ix->runs[k].next)
		err = idruns_put(b, &next, ix->runs[k].lo, ix->runs[k].hi);
	return err;
}

/* The chunk list of a new flow's row, from what slot a (NULL: none) gathered, as
 * ecap_chunk_runs_add would make it from an empty list: appended to ix->runs_blob, at *off,
 * *len bytes. */
static int new_row_runs(struct index *ix, const struct flow_agg *a, size_t *off, size_t *len)
{
	struct chunk_id_run v[CHUNK_RUNS_MAX];
	size_t n = 0;
	uint64_t next = 0;
	int err = 0;
	for (uint32_t k = a ? a->run_first : 0; k; k = ix->runs[k].next)
		chunk_runs_add(v, &n, ix->runs[k].lo, ix->runs[k].hi);
	*off = ix->runs_blob.len;
	for (size_t i = 0; i < n && !err; i++)
		err = idruns_put(&ix->runs_blob, &next, v[i].lo, v[i].hi);
	*len = ix->runs_blob.len - *off;
	return err;
}

/* The totals a (its flow, packets, bytes, first_ns, last_ns, first_chunk, last_chunk) added
 * to its flow's row, with the chunk runs runs[0..len) (NULL: none, the list stays); a flow
 * without a row loses its sessions. */
static int totals_update(struct index *ix, const struct flow_agg *a, const uint8_t *runs,
			 size_t len)
{
	sqlite3_stmt *st;
	int err = stmt(ix, ST_FLOWSTAT, &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, (int64_t)a->flow_id);
	sqlite3_bind_int64(st, 2, (int64_t)a->packets);
	sqlite3_bind_int64(st, 3, (int64_t)a->bytes);
	/* a slot of a session's chunk alone has no packets, so no first_ns */
	sqlite3_bind_int64(st, 4, a->first_ns == UINT64_MAX ? INT64_MAX : (int64_t)a->first_ns);
	sqlite3_bind_int64(st, 5, (int64_t)a->last_ns);
	sqlite3_bind_int64(st, 6, (int64_t)a->first_chunk);
	sqlite3_bind_int64(st, 7, (int64_t)a->last_chunk);
	if (runs) /* else ?8 is NULL: no packets, the list stays */
		sqlite3_bind_blob(st, 8, len ? (const void *)runs : "", (int)len, SQLITE_STATIC);
	if ((err = step(ix, ST_FLOWSTAT)) || sqlite3_changes(ix->db))
		return err;
	/* No row: retention deleted the flow while these packets or sessions were in the open
	 * chunk (or its record was lost with a chunk on a full disk). Its sessions go, as with
	 * the flow (index.sql); a rebuild, which has no record of it either, does the same. */
	if (!(err = stmt(ix, ST_FLOW_GONE, &st))) {
		sqlite3_bind_int64(st, 1, (int64_t)a->flow_id);
		err = step(ix, ST_FLOW_GONE);
	}
	return err;
}

static int flush_aggregates(struct index *ix)
{
	int err = 0;
	for (size_t k = 0; k < ix->agg_used && !err; k++) {
		struct flow_agg *a = &ix->agg[ix->agg_list[k]];
		if (a->first_chunk == UINT64_MAX)
			continue;
		if (!a->run_first) {
			err = totals_update(ix, a, NULL, 0);
			continue;
		}
		buf_reset(&ix->runs_blob);
		if (!(err = pending_encode(ix, a, &ix->runs_blob)))
			err = totals_update(ix, a, ix->runs_blob.data, ix->runs_blob.len);
	}
	agg_clear(ix);
	ix->runs_n = 1;
	return err;
}

/*
 * Chunk m's flow totals and its sessions' chunks written now, one UPDATE per flow statistic
 * and per session, for a chunk whose slots could not be had (agg_reserve): what its slots
 * would have added at the commit (flush_aggregates), in more statements; nothing is left
 * out. Called after the chunk's rows: a flow with packets here has its row by then (its record
 * comes before its first packet of the segment, store_flow_epoch; a session's after its
 * flow's packets). No memory is taken: the run of this chunk is encoded on the stack.
 */
static int totals_now(struct index *ix, const struct chunk_meta *m)
{
	uint8_t run[32];
	int err = 0;
	for (size_t i = 0; i < m->n_flowstats && !err; i++) {
		const struct chunkmeta_flowstat *fs = &m->flowstats[i];
		struct flow_agg a = { .flow_id = fs->flow_id, .packets = fs->packets,
				      .bytes = fs->bytes, .first_ns = fs->first_ns,
				      .last_ns = fs->last_ns, .first_chunk = m->id,
				      .last_chunk = m->id };
		struct buf b = { .data = run, .cap = sizeof(run) };
		uint64_t next = 0;
		if (!(err = idruns_put(&b, &next, m->id, m->id)))
			err = totals_update(ix, &a, b.data, b.len);
	}
	for (size_t i = 0; i < m->n_sessions && !err; i++) {
		struct flow_agg a = { .flow_id = m->sessions[i].flow_id, .first_ns = UINT64_MAX,
				      .first_chunk = m->id, .last_chunk = m->id };
		err = totals_update(ix, &a, NULL, 0);
	}
	return err;
}

/* The interfaces written by the transaction that just committed are known from now on. */
static void ifaces_committed(struct index *ix)
{
	if (!ix->n_iface_new)
		return;
	if (!ix->iface_known)
		ix->iface_known = calloc(ECAP_IFACE_IDS / 8, 1);
	for (size_t i = 0; i < ix->n_iface_new && ix->iface_known; i++)
		ix->iface_known[ix->iface_new[i] / 8] |= (uint8_t)(1u << (ix->iface_new[i] % 8));
	ix->n_iface_new = 0;
}

int index_commit(struct index *ix)
{
	sqlite3_stmt *st;
	int err = flush_aggregates(ix);
	if (!err)
		err = stmt(ix, ST_COMMIT, &st);
	if (!err && !(err = step(ix, ST_COMMIT)))
		ifaces_committed(ix);
	return err;
}

int index_rollback(struct index *ix)
{
	ix->rows_flow_hi = ix->rows_chunk_hi = 0;
	agg_clear(ix);
	ix->runs_n = 1;
	ix->n_iface_new = 0;
	return exec(ix, "ROLLBACK");
}

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* The flows' slots grown to twice their room (AGG_SLOTS_MIN at first), their flows kept. */
static int agg_grow(struct index *ix)
{
	size_t ncap = ix->agg_cap ? ix->agg_cap * 2 : AGG_SLOTS_MIN;
	struct flow_agg *na = calloc(ncap, sizeof(*na));
	uint32_t *nl = ncap <= UINT32_MAX ? malloc(ncap / 2 * sizeof(*nl)) : NULL;
	if (!na || !nl) {
		free(na);
		free(nl);
		return -ENOMEM;
	}
	for (size_t k = 0; k < ix->agg_used; k++) { /* in the order they were taken */
		const struct flow_agg *a = &ix->agg[ix->agg_list[k]];
		size_t j = hash64(a->flow_id) & (ncap - 1);
		while (na[j].flow_id)
			j = (j + 1) & (ncap - 1);
		na[j] = *a;
		nl[k] = (uint32_t)j;
	}
	free(ix->agg);
	free(ix->agg_list);
	ix->agg = na;
	ix->agg_list = nl;
	ix->agg_cap = ncap;
	return 0;
}

static struct flow_agg *agg_slot(struct index *ix, uint64_t flow_id)
{
	if ((ix->agg_used + 1) * 2 > ix->agg_cap && agg_grow(ix))
		return NULL;
	size_t mask = ix->agg_cap - 1, i = hash64(flow_id) & mask;
	while (ix->agg[i].flow_id && ix->agg[i].flow_id != flow_id)
		i = (i + 1) & mask;
	if (!ix->agg[i].flow_id) {
		ix->agg[i].flow_id = flow_id;
		ix->agg[i].first_ns = ix->agg[i].first_chunk = UINT64_MAX;
		ix->agg_list[ix->agg_used++] = (uint32_t)i;
	}
	return &ix->agg[i];
}

/* Looks up flow_id's slot without making one (NULL: none). */
static struct flow_agg *agg_find(struct index *ix, uint64_t flow_id)
{
	if (!ix->agg_cap)
		return NULL;
	size_t mask = ix->agg_cap - 1, i = hash64(flow_id) & mask;
	while (ix->agg[i].flow_id && ix->agg[i].flow_id != flow_id)
		i = (i + 1) & mask;
	return ix->agg[i].flow_id ? &ix->agg[i] : NULL;
}

static int cmp_flowdir_id(const void *key, const void *e)
{
	uint64_t id = *(const uint64_t *)key, other = ((const struct chunkmeta_flowdir *)e)->flow_id;
	return id < other ? -1 : id > other;
}

/* Whether chunk m has a flow statistic of flow_id, through its flow directory (ascending by
 * id: the seal's, or a chunk's checked on decode). Without one, no: the caller then counts a
 * slot that may not be needed, never one too few. */
static bool chunk_has_flowstat(const struct chunk_meta *m, uint64_t flow_id)
{
	return m->n_flowdir == m->n_flowstats && m->n_flowdir &&
	       bsearch(&flow_id, m->flowdir, m->n_flowdir, sizeof(*m->flowdir), cmp_flowdir_id);
}

/* The slots chunk m's gathering will make: one per flow statistic and one per session's flow
 * (cover_sessions) that has none yet, a flow counted once (a session's flow is most often
 * one of the chunk's flow statistics: one slot for both). */
static size_t agg_new_slots(struct index *ix, const struct chunk_meta *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_flowstats; i++)
		n += !agg_find(ix, m->flowstats[i].flow_id);
	for (size_t i = 0; i < m->n_sessions; i++) {
		uint64_t id = m->sessions[i].flow_id;
		if (i && m->sessions[i - 1].flow_id == id)
			continue; /* a flow's sessions, next to one another: counted with its first */
		n += !agg_find(ix, id) && !chunk_has_flowstat(m, id);
	}
	return n;
}

/*
 * The slots and runs chunk m may take (agg_new_slots, a run per flow statistic), had before
 * anything of it is gathered, so that gathering cannot fail half-way. 0, or -ENOMEM when
 * that memory cannot be had: then the chunk's totals are written at once (totals_now), the
 * table as it was.
 */
static int agg_reserve(struct index *ix, const struct chunk_meta *m)
{
	size_t want = ix->agg_used + m->n_flowstats + m->n_sessions; /* at most */
	if ((want + 1) * 2 > ix->agg_cap)
		want = ix->agg_used + agg_new_slots(ix, m);
	while ((want + 1) * 2 > ix->agg_cap)
		if (ix->agg_cap >= (SIZE_MAX >> 8) || agg_grow(ix))
			return -ENOMEM;
	size_t runs = (ix->runs_n ? ix->runs_n : 1) + m->n_flowstats;
	if (runs >= UINT32_MAX)
		return -ENOMEM;
	if (runs > ix->runs_cap) {
		size_t ncap = ix->runs_cap ? ix->runs_cap : 4096;
		while (ncap < runs)
			ncap *= 2;
		struct pending_run *p = realloc(ix->runs, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ix->runs = p;
		ix->runs_cap = ncap;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The chunk's flow ids, ascending, as LEB128 deltas into ix->blob: from its flow directory
 * (sorted by the writer, or read from the chunk), else sorted here. */
static int encode_flow_blob(struct index *ix, const struct chunk_meta *m)
{
	if (m->n_flowstats > ix->ids_cap) {
		uint64_t *p = realloc(ix->ids, m->n_flowstats * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ix->ids = p;
		ix->ids_cap = m->n_flowstats;
	}
	if (m->n_flowdir == m->n_flowstats) {
		for (size_t i = 0; i < m->n_flowstats; i++)
			ix->ids[i] = m->flowdir[i].flow_id;
	} else {
		for (size_t i = 0; i < m->n_flowstats; i++)
			ix->ids[i] = m->flowstats[i].flow_id;
		if (m->n_flowstats) /* qsort(NULL, 0, ...) is undefined */
			qsort(ix->ids, m->n_flowstats, sizeof(*ix->ids), cmp_u64);
	}
	buf_reset(&ix->blob);
	int err = buf_reserve(&ix->blob, m->n_flowstats * 10 + 1);
	if (err)
		return err;
	uint64_t prev = 0;
	for (size_t i = 0; i < m->n_flowstats; i++) {
		uint64_t d = ix->ids[i] - prev;
		prev = ix->ids[i];
		do {
			uint8_t b = d & 0x7f;
			d >>= 7;
			ix->blob.data[ix->blob.len++] = b | (d ? 0x80 : 0);
		} while (d);
	}
	return 0;
}

/* Runs statement `which` once and readies it for the next run. Its parameters are bound
 * SQLITE_STATIC (not copied): what they point to stays valid until this returns, after which
 * the statement holds none of them. */
static int step(struct index *ix, int which)
{
	sqlite3_stmt *st = ix->st[which];
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sql_err(rc);
}

/* Statement `which` of the chunk's rows (index_rows.h) into *st, its tables registered and
 * the statement prepared at its first use, and its rows v[0..n) given to it. */
static int rows_stmt(struct index *ix, int which, const void *v, size_t n, sqlite3_stmt **st)
{
	int rc = SQLITE_OK;
	for (int i = 0; i < ROWS_COUNT && !ix->rows_registered && rc == SQLITE_OK; i++) {
		ix->rows[i].def = rows_defs[i];
		rc = index_rows_register(ix->db, &ix->rows[i]);
	}
	ix->rows_registered = rc == SQLITE_OK;
	if (rc == SQLITE_OK && !ix->rows_st[which])
		rc = sqlite3_prepare_v3(ix->db, rows_defs[which]->insert, -1,
					SQLITE_PREPARE_PERSISTENT, &ix->rows_st[which], NULL);
	if (rc != SQLITE_OK)
		return sql_err(rc);
	index_rows_set(&ix->rows[which], v, n);
	*st = ix->rows_st[which];
	return 0;
}

/* Runs the statement of rows `which` once over its rows; *changes: the rows it inserted (or
 * updated). The rows are let go: the statement holds none of them afterwards. */
static int rows_step(struct index *ix, int which, int64_t *changes)
{
	sqlite3_stmt *st = ix->rows_st[which];
	int rc = sqlite3_step(st);
	*changes = rc == SQLITE_DONE ? sqlite3_changes(ix->db) : 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	index_rows_set(&ix->rows[which], NULL, 0);
	return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

/* Room for n elements of size bytes in *v (capacity *cap, in elements). 0 or -ENOMEM. */
static int reserve(void **v, size_t *cap, size_t n, size_t size)
{
	if (n <= *cap)
		return 0;
	if (n > SIZE_MAX / 2 / size)
		return -ENOMEM;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < n)
		ncap *= 2;
	void *p = realloc(*v, ncap * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

/* The value of the one-row, one-column query `which` (dflt for NULL). */
static int query_max(struct index *ix, int which, int64_t dflt, int64_t *out)
{
	sqlite3_stmt *st;
	int err = stmt(ix, which, &st);
	if (err)
		return err;
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL
		       ? sqlite3_column_int64(st, 0) : dflt;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_err(rc);
}

/* The chunk's owner_flows rows, from the owners noted by add_flows: one per owner and run,
 * written without reading what earlier chunks wrote, all with one statement. */
static int add_owner_ranges(struct index *ix)
{
	sqlite3_stmt *st;
	int64_t changes;
	int err = 0;
	owner_ranges_merge(&ix->owners);
	if (ix->owners.n && !(err = rows_stmt(ix, ROWS_OWNER, ix->owners.v, ix->owners.n, &st)))
		err = rows_step(ix, ROWS_OWNER, &changes);
	owner_ranges_reset(&ix->owners);
	return err;
}

/* The chunk's processes rows, all with one statement (index_rows.h); when fewer went in than
 * the chunk has records (a process the index holds, a record twice), a second moves the
 * last_chunk of those held on. */
static int add_procinfo(struct index *ix, const struct chunk_meta *m)
{
	sqlite3_stmt *st;
	int64_t changes;
	int err = 0;
	if (m->n_procs && !(err = rows_stmt(ix, ROWS_PROCINFO, m->procs, m->n_procs, &st))) {
		sqlite3_bind_int64(st, 1, (int64_t)m->id);
		err = rows_step(ix, ROWS_PROCINFO, &changes);
	}
	if (!err && m->n_procs && changes < (int64_t)m->n_procs &&
	    !(err = rows_stmt(ix, ROWS_PROCINFO_AGAIN, m->procs, m->n_procs, &st))) {
		sqlite3_bind_int64(st, 1, (int64_t)m->id);
		err = rows_step(ix, ROWS_PROCINFO_AGAIN, &changes);
	}
	return err;
}

static int add_container(struct index *ix, const struct ecap_container *c)
{
	sqlite3_stmt *st;
	const char *texts[] = { c->id, c->runtime, c->name, c->image, c->labels, c->pod_name,
				c->pod_namespace, c->pod_uid };

	if (!c->id[0])
		return 0;
	int err = stmt(ix, ST_CONTAINER, &st);
	if (err)
		return err;
	for (int i = 0; i < 8; i++)
		sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (int64_t)c->first_ns);
	sqlite3_bind_int64(st, 10, (int64_t)c->last_ns);
	return step(ix, ST_CONTAINER);
}

/* The chunk's sessions' flows get the chunk within their first_chunk..last_chunk (index.sql,
 * version 8): through their slots, so that a flow with packets here (the usual case) costs
 * nothing more, and one without (its session stored in the chunk after its packets) one UPDATE
 * at commit, or none when its record comes later in the transaction. */
static int cover_sessions(struct index *ix, const struct chunk_meta *m)
{
	for (size_t i = 0; i < m->n_sessions; i++) {
		struct flow_agg *a = agg_slot(ix, m->sessions[i].flow_id);
		if (!a)
			return -ENOMEM;
		if (m->id < a->first_chunk)
			a->first_chunk = m->id;
		if (m->id > a->last_chunk)
			a->last_chunk = m->id;
	}
	return 0;
}

/* A flow whose row was written with what its slot (a, may be NULL) gathered: the slot starts
 * again from nothing (a flow indexed already keeps its slot for the commit: one write of its
 * row), and the flow's keys go into the chunk's row of chunk_flow_keys. A record that comes
 * again (later segments, store_flow_epoch) adds none: retention moves the keys of the flows
 * it leaves into the oldest chunk kept (flow_keys_carry), so that a selection by address or
 * port finds a long-lived flow once, not in every segment's row. */
static int flow_written(struct index *ix, const struct flow_record *f, struct flow_agg *a)
{
	if (a) {
		a->packets = a->bytes = a->last_ns = a->last_chunk = 0;
		a->first_ns = a->first_chunk = UINT64_MAX;
		a->run_first = a->run_last = 0;
	}
	return flow_keys_add(&ix->flow_keys, f->id, &f->key);
}

static int cmp_flow_record(const void *x, const void *y)
{
	const struct flow_record *a = *(const struct flow_record *const *)x;
	const struct flow_record *b = *(const struct flow_record *const *)y;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return (a > b) - (a < b); /* a flow's records in the chunk's order */
}

/* The chunk's flow records in id order into ix->flow_order, a flow's records in the chunk's
 * order (the first makes its row, a later one may change its owners). */
static int order_flows(struct index *ix, const struct chunk_meta *m)
{
	bool sorted = true;
	int err = reserve((void **)&ix->flow_order, &ix->flows_cap, m->n_flows,
			  sizeof(*ix->flow_order));
	if (err)
		return err;
	for (size_t i = 0; i < m->n_flows; i++) {
		ix->flow_order[i] = &m->flows[i];
		sorted &= !i || m->flows[i - 1].id <= m->flows[i].id;
	}
	if (!sorted)
		qsort(ix->flow_order, m->n_flows, sizeof(*ix->flow_order), cmp_flow_record);
	return 0;
}

/* Whether a row keyed by id (a flow's, stored as SQLite's signed integer) comes after every
 * row of a table whose largest such key is max: then the table does not hold it. */
static bool after_max(uint64_t id, int64_t max)
{
	return id <= INT64_MAX && (int64_t)id > max;
}

static int cmp_session(const void *x, const void *y)
{
	const struct chunkmeta_session *a = x, *b = y;
	if (a->flow_id != b->flow_id)
		return a->flow_id < b->flow_id ? -1 : 1;
	return memcmp(a->client_random, b->client_random, 32);
}

static int recent_add(struct index *ix, const uint8_t cr[32], uint64_t chunk_id);

/* The chunk's sessions, each once, in key order (flow, client_random), into ix->session_rows
 * (ix->n_sessions of them): add_flows gives new flows their first one, add_sessions writes the
 * rest. */
static int order_sessions(struct index *ix, const struct chunk_meta *m)
{
	size_t n = m->n_sessions, k = 0;
	bool sorted = true;
	ix->n_sessions = 0;
	if (!n)
		return 0;
	int err = reserve((void **)&ix->session_rows, &ix->sessions_cap, n,
			  sizeof(*ix->session_rows));
	if (!err)
		err = reserve((void **)&ix->session_taken, &ix->taken_cap, n,
			      sizeof(*ix->session_taken));
	if (err)
		return err;
	struct chunkmeta_session *v = ix->session_rows;
	memcpy(v, m->sessions, n * sizeof(*v));
	for (size_t i = 1; i < n && sorted; i++)
		sorted = cmp_session(&v[i - 1], &v[i]) <= 0;
	if (!sorted)
		qsort(v, n, sizeof(*v), cmp_session);
	for (size_t i = 0; i < n; i++) /* the same session twice: one row */
		if (!k || cmp_session(&v[k - 1], &v[i]))
			v[k++] = v[i];
	memset(ix->session_taken, 0, k * sizeof(*ix->session_taken));
	ix->n_sessions = k;
	return 0;
}

/* The owners of sides of flows the index holds, noted by add_flows (one per flow and side, the
 * chunk's last): one statement per side. */
static int update_owners(struct index *ix)
{
	static const int which[2] = { ROWS_OWNER_A, ROWS_OWNER_B };
	sqlite3_stmt *st;
	int64_t changes;
	int err = 0;
	for (int side = 0; side < 2 && !err; side++)
		if (ix->n_owner_rows[side] &&
		    !(err = rows_stmt(ix, which[side], ix->owner_rows[side],
				      ix->n_owner_rows[side], &st)))
			err = rows_step(ix, which[side], &changes);
	return err;
}

/* Notes owner p of side `side` of flow id, which the index holds, for update_owners: a later
 * record of the flow in the chunk replaces an earlier one's owner (records come in id order,
 * a flow's in the chunk's order). */
static void note_owner(struct index *ix, int side, uint64_t id, const struct ecap_proc *p)
{
	struct index_proc_row *v = ix->owner_rows[side];
	size_t *n = &ix->n_owner_rows[side];
	if (*n && v[*n - 1].flow_id == id)
		v[*n - 1].p = p;
	else
		v[(*n)++] = (struct index_proc_row){ .flow_id = id, .p = p };
}

/*
 * The chunk's flow records: the rows of the flows that are new, with their owners and first
 * session, and the owners of the others. Records in id order, so that rows come in key order;
 * a flow whose id is above every flow's in the index (the usual case: a flow's first record)
 * has no row, and all such rows are written with one statement (index_rows.h), each with the
 * last owner of each side among the flow's records in the chunk and the first of its
 * sessions in the chunk (ix->session_rows, marked in ix->session_taken); a record of a
 * lower id, with its own (a record stored again, or of a flow whose first record came after a
 * later flow's). The owners of flows the index holds are written afterwards, one statement per
 * side, as a later record of the flow would change them. Every owner is noted for the chunk's
 * owner_flows rows (add_owner_ranges).
 */
static int add_flows(struct index *ix, const struct chunk_meta *m)
{
	size_t n_new = 0, next_session = 0;
	int64_t max_id, changes;
	sqlite3_stmt *st;
	int err;
	ix->n_owner_rows[0] = ix->n_owner_rows[1] = 0;
	if (!m->n_flows)
		return 0;
	if ((err = order_flows(ix, m)) ||
	    (err = reserve((void **)&ix->flow_rows, &ix->flow_rows_cap, m->n_flows,
			   sizeof(*ix->flow_rows))) ||
	    (err = reserve((void **)&ix->owner_rows[0], &ix->owner_rows_cap[0], m->n_flows,
			   sizeof(*ix->owner_rows[0]))) ||
	    (err = reserve((void **)&ix->owner_rows[1], &ix->owner_rows_cap[1], m->n_flows,
			   sizeof(*ix->owner_rows[1]))) ||
	    (err = query_max(ix, ST_FLOW_MAX, 0, &max_id)))
		return err;
	if (max_id > ix->rows_flow_hi)
		ix->rows_flow_hi = max_id;
	buf_reset(&ix->runs_blob);
	for (size_t i = 0; i < m->n_flows; i++) {
		const struct flow_record *f = ix->flow_order[i];
		struct flow_agg *a = agg_find(ix, f->id);
		bool is_new = after_max(f->id, max_id);
		if (is_new && (!n_new || ix->flow_rows[n_new - 1].f->id != f->id)) {
			struct index_flow_row *r = &ix->flow_rows[n_new++];
			flow_row(r, f, m->id, a);
			if ((err = new_row_runs(ix, a, &r->runs_off, &r->runs_len)))
				return err;
			r->owner[0] = r->owner[1] = NULL;
			r->client_random = NULL;
			struct chunkmeta_session *v = ix->session_rows;
			while (next_session < ix->n_sessions && v[next_session].flow_id < f->id)
				next_session++;
			if (next_session < ix->n_sessions && v[next_session].flow_id == f->id) {
				r->client_random = v[next_session].client_random;
				r->session_chunk = m->id;
				ix->session_taken[next_session++] = true;
			}
		} else if (!is_new) {
			struct index_flow_row r;
			bool inserted;
			flow_row(&r, f, m->id, a);
			if ((err = new_row_runs(ix, a, &r.runs_off, &r.runs_len)))
				return err;
			r.runs = ix->runs_blob.data + r.runs_off;
			if ((err = insert_flow(ix, &r, &inserted)) ||
			    (inserted && (err = flow_written(ix, f, a))))
				return err;
		}
		for (int side = 0; side < 2; side++) {
			if (!f->proc[side].valid)
				continue;
			if ((err = owner_ranges_add(&ix->owners, f->id, &f->proc[side])))
				return err;
			if (is_new)
				ix->flow_rows[n_new - 1].owner[side] = &f->proc[side];
			else
				note_owner(ix, side, f->id, &f->proc[side]);
		}
	}
	if (n_new) {
		for (size_t i = 0; i < n_new; i++) /* where the blob ended up */
			ix->flow_rows[i].runs = ix->runs_blob.data + ix->flow_rows[i].runs_off;
		if ((err = rows_stmt(ix, ROWS_FLOW, ix->flow_rows, n_new, &st)) ||
		    (err = rows_step(ix, ROWS_FLOW, &changes)))
			return err;
		if (changes != (int64_t)n_new)
			return -EBADMSG; /* a flow above the largest id was there: damaged */
		note_rows_hi(&ix->rows_flow_hi, ix->flow_rows[n_new - 1].f->id);
		for (size_t i = 0; i < n_new && !err; i++)
			err = flow_written(ix, ix->flow_rows[i].f, agg_find(ix, ix->flow_rows[i].f->id));
		/* the sessions in the rows: readers look for their secrets near this chunk */
		for (size_t i = 0; i < n_new && !err; i++)
			if (ix->flow_rows[i].client_random)
				err = recent_add(ix, ix->flow_rows[i].client_random, m->id);
	}
	return err ? err : update_owners(ix);
}

static uint32_t recent_hash(const uint8_t cr[32])
{
	uint64_t a, b; /* both ends: a TLS 1.2 client may still start its random with the time */
	memcpy(&a, cr, 8);
	memcpy(&b, cr + 24, 8);
	return (uint32_t)(((a ^ b) * 0x9e3779b97f4a7c15ull) >> 32);
}

static bool recent_stale(const struct recent_session *r, uint64_t chunk_id)
{
	if (r->chunk_plus1 == RECENT_NEVER)
		return false; /* kept: its client_random is never near */
	return !r->chunk_plus1 || r->chunk_plus1 + INDEX_SECRET_WINDOW <= chunk_id + 1;
}

/* Where cr goes in a table of n slots (tab): its first slot free or stale, or NULL; *same:
 * the slot that holds cr already, or NULL. */
static struct recent_session *recent_find(struct recent_session *tab, uint32_t n,
					  const uint8_t cr[32], uint64_t chunk_id,
					  struct recent_session **same)
{
	uint32_t h = recent_hash(cr);
	*same = NULL;
	for (uint32_t i = 0; i < RECENT_PROBE; i++) {
		struct recent_session *r = &tab[(h + i) & (n - 1)];
		if (r->chunk_plus1 && !memcmp(r->client_random, cr, 32)) {
			*same = r;
			return NULL;
		}
		if (recent_stale(r, chunk_id))
			return r;
	}
	return NULL;
}

/* The table at twice its size, with every entry that is not stale at chunk_id (one that finds
 * no free slot makes it twice larger again). A client_random held twice (added again while a
 * free slot came before its own) is held once: RECENT_NEVER if either is, else the later
 * chunk (chunks are indexed in order, so either answers recent_near alike). 0, -ENOMEM, or
 * -ENOSPC at RECENT_SLOTS. */
static int recent_grow(struct index *ix, uint64_t chunk_id)
{
	for (uint32_t n = ix->recent_slots * 2; n <= RECENT_SLOTS; n *= 2) {
		struct recent_session *tab = calloc(n, sizeof(*tab)), *same, *r;
		if (!tab)
			return -ENOMEM;
		uint32_t i;
		for (i = 0; i < ix->recent_slots; i++) {
			const struct recent_session *e = &ix->recent[i];
			if (recent_stale(e, chunk_id))
				continue;
			r = recent_find(tab, n, e->client_random, chunk_id, &same);
			if (same) {
				if (e->chunk_plus1 > same->chunk_plus1)
					same->chunk_plus1 = e->chunk_plus1;
				continue;
			}
			if (!r)
				break;
			*r = *e;
		}
		if (i == ix->recent_slots) {
			free(ix->recent);
			ix->recent = tab;
			ix->recent_slots = n;
			return 0;
		}
		free(tab);
	}
	return -ENOSPC;
}

/* The first table: RECENT_SLOTS_MIN slots. */
static int recent_first(struct index *ix)
{
	if (!(ix->recent = calloc(RECENT_SLOTS_MIN, sizeof(*ix->recent))))
		return -ENOMEM;
	ix->recent_slots = RECENT_SLOTS_MIN;
	return 0;
}

/* Never fails: a session without a slot, for want of room or of memory for a larger table,
 * is left out, and its secrets get their secret_chunks rows (more rows, never a secret that
 * readers miss): a growth that finds the memory exhausted while recording costs rows, not
 * the chunk being indexed. */
static int recent_add(struct index *ix, const uint8_t cr[32], uint64_t chunk_id)
{
	if (!ix->recent && recent_first(ix))
		return 0;
	struct recent_session *same, *r = recent_find(ix->recent, ix->recent_slots, cr, chunk_id,
						      &same);
	if (same) {
		/* a second flow of this session: near stays near the first; seen again after
		 * its window: secrets near either could belong to both, so none of them counts
		 * as near (they get rows) */
		if (recent_stale(same, chunk_id))
			same->chunk_plus1 = RECENT_NEVER;
		return 0;
	}
	if (!r) {
		if (recent_grow(ix, chunk_id))
			return 0; /* no room (-ENOSPC) or no memory: left out */
		r = recent_find(ix->recent, ix->recent_slots, cr, chunk_id, &same);
		if (!r)
			return 0;
	}
	memcpy(r->client_random, cr, 32);
	r->chunk_plus1 = chunk_id + 1;
	return 0;
}

/* Whether cr's session is in chunk_id or one of the INDEX_SECRET_WINDOW - 1 chunks before. */
static bool recent_near(const struct index *ix, const uint8_t cr[32], uint64_t chunk_id)
{
	if (!ix->recent)
		return false;
	uint32_t h = recent_hash(cr);
	for (uint32_t i = 0; i < RECENT_PROBE; i++) {
		const struct recent_session *r = &ix->recent[(h + i) & (ix->recent_slots - 1)];
		if (!recent_stale(r, chunk_id) && r->chunk_plus1 <= chunk_id + 1 &&
		    !memcmp(r->client_random, cr, 32))
			return true;
	}
	return false;
}

/* The row of a session's secrets v[0..n) in chunk chunk_id (all with client_random cr), and
 * its secret_chunks row; but when its session is near (recent_near), neither: the chunk's DSB
 * holds them for readers, and ix->near_secrets counts them. *added: the secrets row is new.
 * The migration (ix->migrating) writes every row it is given. */
static int add_secret_row(struct index *ix, uint64_t chunk_id, const uint8_t cr[32],
			  const struct tls_secret *const *v, size_t n, bool *added)
{
	unsigned count;
	*added = false;
	buf_reset(&ix->blob);
	sqlite3_stmt *st;
	if (!ix->migrating && recent_near(ix, cr, chunk_id)) {
		int err = secret_blob_encode(NULL, v, n, &count); /* counted, not encoded */
		ix->near_secrets += count;
		return err;
	}
	int err = secret_blob_encode(&ix->blob, v, n, &count);
	if (err || !count)
		return err;
	if ((err = stmt(ix, ST_SECRET, &st)))
		return err;
	sqlite3_bind_int64(st, 1, (int64_t)chunk_id);
	sqlite3_bind_blob(st, 2, cr, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)count);
	sqlite3_bind_blob(st, 4, ix->blob.data, (int)ix->blob.len, SQLITE_STATIC);
	if ((err = step(ix, ST_SECRET)) || !sqlite3_changes(ix->db))
		return err;
	*added = true;
	if (ix->migrating) /* whose secret_chunks rows are already there */
		return 0;
	if ((err = stmt(ix, ST_SECRET_CHUNK, &st)))
		return err;
	sqlite3_bind_blob(st, 1, cr, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)chunk_id);
	return step(ix, ST_SECRET_CHUNK);
}


/*
 * The chunk's sessions that add_flows did not put in a new flow's row (ix->session_rows, not
 * ix->session_taken), one at a time: into its flow's row when the index holds the flow and
 * its row has no session (a session stored in the chunk after its flow's record), else a row
 * of tls_sessions_extra (a flow's second session; a session whose flow has no row yet). A
 * session the index holds keeps its place and chunk. Each session written: readers look for
 * its secrets near its chunk (recent_add); one there already keeps its chunk, and readers
 * look near that.
 */
static int add_sessions(struct index *ix, const struct chunk_meta *m)
{
	int err = 0;
	for (size_t i = 0; i < ix->n_sessions && !err; i++) {
		const struct chunkmeta_session *v = &ix->session_rows[i];
		sqlite3_stmt *st;
		if (ix->session_taken[i])
			continue;
		bool added = false;
		for (int which = ST_SESSION_IN_FLOW; which <= ST_SESSION && !added && !err; which++) {
			if ((err = stmt(ix, which, &st)))
				break;
			sqlite3_bind_blob(st, 1, v->client_random, 32, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, (int64_t)v->flow_id);
			sqlite3_bind_int64(st, 3, (int64_t)m->id);
			added = !(err = step(ix, which)) && sqlite3_changes(ix->db) > 0;
		}
		if (added)
			err = recent_add(ix, v->client_random, m->id);
	}
	return err;
}

static int cmp_secret_random(const void *a, const void *b)
{
	const struct tls_secret *x = *(const struct tls_secret *const *)a;
	const struct tls_secret *y = *(const struct tls_secret *const *)b;
	int c = memcmp(x->client_random, y->client_random, 32);
	return c ? c : (x > y) - (x < y); /* then in the order given: the first of a label wins */
}

/* Whether every client_random's secrets already come together (as the writer adds a
 * session's at once): then no sort is needed. A client_random whose run ended must not come
 * again; the check keeps the runs' first secrets sorted on the side (at most cap of them), by
 * insertion, which is cheap for the hundred or so runs of a chunk and gives up early for a
 * chunk that is not grouped or has more runs. */
static bool grouped(const struct tls_secret **v, size_t n, const struct tls_secret **seen,
		    size_t cap)
{
	size_t runs = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && !memcmp(v[i - 1]->client_random, v[i]->client_random, 32))
			continue;
		if (runs == cap)
			return false;
		size_t lo = 0, hi = runs;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = memcmp(seen[mid]->client_random, v[i]->client_random, 32);
			if (!c)
				return false;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		memmove(seen + lo + 1, seen + lo, (runs - lo) * sizeof(*seen));
		seen[lo] = v[i];
		runs++;
	}
	return true;
}

/* A chunk's secrets, one row per client_random. may_repeat: leave out those the index holds
 * already (index_add_chunk). */
static int add_secrets(struct index *ix, uint64_t chunk_id, const struct tls_secret *secrets,
		       size_t n, bool may_repeat)
{
	if (n > ix->secs_cap) { /* room for the list, and as much for grouped()'s runs */
		const struct tls_secret **p = realloc(ix->secs, 2 * n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ix->secs = p;
		ix->secs_cap = n;
	}
	for (size_t i = 0; i < n; i++)
		ix->secs[i] = &secrets[i];
	size_t runs_cap = ix->secs_cap < 256 ? ix->secs_cap : 256;
	if (!grouped(ix->secs, n, ix->secs + ix->secs_cap, runs_cap))
		qsort(ix->secs, n, sizeof(*ix->secs), cmp_secret_random);
	int err = 0;
	for (size_t i = 0, j; i < n && !err; i = j) {
		const uint8_t *cr = ix->secs[i]->client_random;
		size_t keep = i;
		for (j = i; j < n && !memcmp(ix->secs[j]->client_random, cr, 32); j++) {
			int r = may_repeat ? index_has_secret(ix, ix->secs[j]) : 0;
			if (r < 0)
				return r;
			if (!r)
				ix->secs[keep++] = ix->secs[j];
		}
		bool added;
		if (keep > i)
			err = add_secret_row(ix, chunk_id, cr, ix->secs + i, keep - i, &added);
	}
	return err;
}

/*
 * The rows of a chunk's interface (INSERT OR IGNORE: the first chunk of an interface makes
 * them), unless a committed transaction wrote them already: rows of interfaces are never
 * deleted, so those statements (two per interface, in every chunk) would change nothing. An
 * interface written by a transaction that is rolled back, or committed otherwise than by
 * index_commit() (a rebuild), stays unknown: its next chunk runs them again.
 */
static int add_iface(struct index *ix, const struct chunkmeta_iface *f)
{
	sqlite3_stmt *st;
	uint32_t id = f->store_id;
	if (id < ECAP_IFACE_IDS && ix->iface_known &&
	    (ix->iface_known[id / 8] & (1u << (id % 8))))
		return 0;
	int err = stmt(ix, ST_IFACE, &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, f->desc.name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, f->desc.linktype);
	sqlite3_bind_int64(st, 4, f->desc.snaplen);
	sqlite3_bind_text(st, 5, f->desc.filter, -1, SQLITE_STATIC);
	if ((err = step(ix, ST_IFACE)))
		return err;
	if (f->desc.netns || f->desc.description[0]) {
		if ((err = stmt(ix, ST_IFACE_NETNS, &st)))
			return err;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, f->desc.netns);
		sqlite3_bind_int64(st, 3, f->desc.ifindex);
		sqlite3_bind_text(st, 4, f->desc.description, -1, SQLITE_STATIC);
		if ((err = step(ix, ST_IFACE_NETNS)))
			return err;
	}
	if (id >= ECAP_IFACE_IDS)
		return 0;
	if ((err = reserve((void **)&ix->iface_new, &ix->cap_iface_new, ix->n_iface_new + 1,
			   sizeof(*ix->iface_new))))
		return err;
	ix->iface_new[ix->n_iface_new++] = id;
	return 0;
}

int index_add_chunk(struct index *ix, const struct chunk_meta *m, const struct tls_secret *secrets,
		    size_t n_secrets, bool may_repeat)
{
	sqlite3_stmt *st;
	int err = 0;

	note_flow_ids_named(ix, m);
	for (size_t i = 0; i < m->n_ifaces && !err; i++)
		err = add_iface(ix, &m->ifaces[i]);
	/* no memory for the slots: the totals written at once, after the rows (totals_now) */
	bool now = agg_reserve(ix, m) < 0;
	if (now)
		ix->totals_now_chunks++;
	for (size_t i = 0; i < m->n_flowstats && !err && !now; i++) {
		const struct chunkmeta_flowstat *fs = &m->flowstats[i];
		struct flow_agg *a = agg_slot(ix, fs->flow_id);
		if (!a)
			return -ENOMEM; /* reserved: cannot be */
		a->packets += fs->packets;
		a->bytes += fs->bytes;
		if (fs->first_ns < a->first_ns)
			a->first_ns = fs->first_ns;
		if (fs->last_ns > a->last_ns)
			a->last_ns = fs->last_ns;
		if (m->id < a->first_chunk)
			a->first_chunk = m->id;
		if (m->id > a->last_chunk)
			a->last_chunk = m->id;
		err = agg_add_chunk(ix, a, m->id);
	}
	if (!err && !now)
		err = cover_sessions(ix, m);
	owner_ranges_reset(&ix->owners);
	if (!err)
		err = order_sessions(ix, m);
	if (!err)
		err = add_flows(ix, m);
	if (!err)
		err = add_owner_ranges(ix);
	if (!err)
		err = add_procinfo(ix, m);
	for (size_t i = 0; i < m->n_containers && !err; i++)
		err = add_container(ix, &m->containers[i]);
	if (!err)
		err = add_sessions(ix, m);
	if (!err && now)
		err = totals_now(ix, m);
	ix->near_secrets = 0;
	if (!err && n_secrets)
		err = add_secrets(ix, m->id, secrets, n_secrets, may_repeat);
	/* after the secrets, which count those near their session (and use ix->blob) */
	if (!err)
		err = encode_flow_blob(ix, m);
	if (!err && !(err = stmt(ix, ST_CHUNK, &st))) {
		sqlite3_bind_int64(st, 1, (int64_t)m->id);
		sqlite3_bind_int64(st, 2, m->segment);
		sqlite3_bind_int64(st, 3, (int64_t)m->offset);
		sqlite3_bind_int64(st, 4, m->length);
		sqlite3_bind_int64(st, 5, m->raw_len);
		sqlite3_bind_int64(st, 6, (int64_t)m->first_ns);
		sqlite3_bind_int64(st, 7, (int64_t)m->last_ns);
		sqlite3_bind_int64(st, 8, m->packets);
		sqlite3_bind_int64(st, 9, m->nonflow_packets);
		sqlite3_bind_blob(st, 10, ix->blob.data, (int)ix->blob.len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, (int64_t)ix->near_secrets);
		if (!(err = step(ix, ST_CHUNK)))
			note_rows_hi(&ix->rows_chunk_hi, m->id);
	}
	if (!err)
		err = stmt(ix, ST_FLOW_KEYS, &st);
	if (!err) {
		err = flow_keys_bind(&ix->flow_keys, st, m->id);
		err = err == 1 ? step(ix, ST_FLOW_KEYS) : err;
	} else {
		ix->flow_keys.n_flows = 0;
	}
	for (size_t i = 0; i < m->n_links && !err; i++) {
		if ((err = stmt(ix, ST_LINK, &st)))
			break;
		sqlite3_bind_int64(st, 1, (int64_t)m->links[i].pre_id);
		sqlite3_bind_int64(st, 2, (int64_t)m->links[i].post_id);
		sqlite3_bind_int(st, 3, m->links[i].kind);
		sqlite3_bind_int(st, 4, m->links[i].pre_a_side);
		sqlite3_bind_int64(st, 5, (int64_t)m->links[i].ts_ns);
		sqlite3_bind_int64(st, 6, (int64_t)m->id);
		err = step(ix, ST_LINK);
	}
	for (size_t i = 0; i < m->n_drops && !err; i++) {
		if ((err = stmt(ix, ST_DROPS, &st)))
			break;
		sqlite3_bind_int64(st, 1, m->drops[i].iface);
		sqlite3_bind_int64(st, 2, (int64_t)m->drops[i].ts_ns);
		sqlite3_bind_int64(st, 3, (int64_t)m->drops[i].count);
		sqlite3_bind_int64(st, 4, (int64_t)m->id);
		err = step(ix, ST_DROPS);
	}
	if (!err && !(err = stmt(ix, ST_SEGMENT, &st))) {
		sqlite3_bind_int64(st, 1, m->segment);
		sqlite3_bind_int64(st, 2, (int64_t)(m->offset + m->length + m->pad));
		sqlite3_bind_int(st, 3, 0);
		if (m->packets) {
			sqlite3_bind_int64(st, 4, (int64_t)m->first_ns);
			sqlite3_bind_int64(st, 5, (int64_t)m->last_ns);
		}
		err = step(ix, ST_SEGMENT);
	}
	return err;
}

int index_set_segment(struct index *ix, uint32_t id, uint64_t bytes, bool sealed)
{
	sqlite3_stmt *st;
	int err = stmt(ix, ST_SEGMENT, &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (int64_t)bytes);
	sqlite3_bind_int(st, 3, sealed);
	return step(ix, ST_SEGMENT);
}

static int exec_id(struct index *ix, const char *sql, int64_t id)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_err(rc);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sql_err(rc);
}

int index_mark_segment_deleting(struct index *ix, uint32_t id)
{
	return exec_id(ix, "UPDATE segments SET deleting = 1 WHERE id = ?1", id);
}

/* The owner_flows rows of the owners in temp.gone_owners that start at or before the last
 * flow in temp.gone_flows and have no flow of their owner left (owner_rows_drop.c). */
static int drop_owner_rows(struct index *ix)
{
	int64_t last_gone;
	int err = index_scalar(ix, "SELECT max(id) FROM temp.gone_flows", -1, &last_gone);
	return err || last_gone < 0 ? err : sql_err(owner_rows_drop(ix->db, last_gone));
}

int index_drop_chunks(struct index *ix, uint32_t seg, uint64_t keep_below)
{
	static const char carry_flow_keys[] = "(flow_keys_carry)";
	/* Flows outlive their chunks only while a later chunk may hold their packets: those
	 * whose last chunk is older than every chunk left go with them. */
	static const char *const steps[] = {
		/* the ids the rows give, kept before rows go (index_note_next_ids) */
		"INSERT INTO settings(key, value) SELECT 'next_flow_id', coalesce(max(id), 0) + 1 "
		"FROM flows WHERE true ON CONFLICT(key) DO UPDATE SET "
		"value = max(value, excluded.value)",
		"INSERT INTO settings(key, value) SELECT 'next_chunk_id', coalesce(max(id), 0) + 1 "
		"FROM chunks WHERE true ON CONFLICT(key) DO UPDATE SET "
		"value = max(value, excluded.value)",
		"CREATE TEMP TABLE IF NOT EXISTS gone_chunks(id INTEGER PRIMARY KEY)",
		"DELETE FROM temp.gone_chunks",
		"INSERT INTO temp.gone_chunks SELECT id FROM chunks WHERE segment = ?1 "
		"AND offset + length > ?2",
		"DELETE FROM secrets WHERE chunk_id IN (SELECT id FROM temp.gone_chunks)",
		"DELETE FROM secret_chunks WHERE chunk_id IN (SELECT id FROM temp.gone_chunks)",
		"DELETE FROM drops WHERE chunk_id IN (SELECT id FROM temp.gone_chunks)",
		"DELETE FROM chunks WHERE id IN (SELECT id FROM temp.gone_chunks)",
		/* the flows that go and their owners: each owner_flows row of those owners that
		 * starts before the last of them goes when no flow of its owner is left in its run
		 * (a row whose first flows went stays as it is: reading from there costs nothing) */
		"CREATE TEMP TABLE IF NOT EXISTS gone_flows(id INTEGER PRIMARY KEY)",
		"DELETE FROM temp.gone_flows",
		"INSERT INTO temp.gone_flows SELECT id FROM flows WHERE last_chunk < "
		"(SELECT coalesce(min(id), 9223372036854775807) FROM chunks)",
		"CREATE TEMP TABLE IF NOT EXISTS gone_owners(comm, uid, pid, start, netns, "
		"PRIMARY KEY (comm, uid, pid, start, netns)) WITHOUT ROWID",
		"DELETE FROM temp.gone_owners",
		"INSERT OR IGNORE INTO temp.gone_owners SELECT a_comm, a_uid, a_pid, a_start, "
		"a_netns FROM flows WHERE id IN (SELECT id FROM temp.gone_flows) AND a_pid IS NOT "
		"NULL UNION ALL SELECT b_comm, b_uid, b_pid, b_start, b_netns FROM flows WHERE id IN "
		"(SELECT id FROM temp.gone_flows) AND b_pid IS NOT NULL",
		"DELETE FROM flows WHERE id IN (SELECT id FROM temp.gone_flows)",
		NULL, /* drop_owner_rows(), once the flows (and their owners) are gone */
		/* sessions go with their flows (index.sql, version 8), and so do those of no flow
		 * (a flow record lost with a chunk on a full disk) once a later flow has gone: a
		 * range of the key up to the last flow gone, which holds little more than the
		 * sessions that go */
		"DELETE FROM tls_sessions_extra WHERE flow_id <= (SELECT max(id) FROM temp.gone_flows) "
		"AND flow_id NOT IN (SELECT id FROM flows)",
		/* a chunk's flow keys go with it, those of the flows left moved into the oldest
		 * chunk kept first (flow_keys_carry); but those of a chunk written before
		 * version 8 stay while a flow of its id range does (index.sql) */
		carry_flow_keys,
		"DELETE FROM chunk_flow_keys WHERE chunk_id IN (SELECT id FROM temp.gone_chunks) "
		"AND (chunk_id >= coalesce((SELECT value FROM settings WHERE "
		"key = 'flow_keys_own_from'), 0) "
		"OR NOT EXISTS (SELECT 1 FROM flows WHERE id BETWEEN ids_lo AND ids_hi))",
		"DELETE FROM chunk_flow_keys WHERE chunk_id < "
		"(SELECT coalesce(min(id), 9223372036854775807) FROM chunks) "
		"AND NOT EXISTS (SELECT 1 FROM flows WHERE id BETWEEN ids_lo AND ids_hi)",
		"DELETE FROM flow_links WHERE pre_flow NOT IN (SELECT id FROM flows) "
		"OR post_flow NOT IN (SELECT id FROM flows)",
		"DELETE FROM processes WHERE last_chunk < "
		"(SELECT coalesce(min(id), 9223372036854775807) FROM chunks)",
		/* through processes_by_container, which holds the processes in a container only
		 * (a container row's id is never '') */
		"DELETE FROM containers WHERE NOT EXISTS (SELECT 1 FROM processes WHERE "
		"container_id = containers.id AND container_id <> '')",
		"UPDATE segments SET bytes = min(bytes, ?2) WHERE id = ?1",
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		sqlite3_stmt *st;
		if (!steps[i] || steps[i] == carry_flow_keys) {
			int err = steps[i] ? flow_keys_carry(ix->db) : drop_owner_rows(ix);
			if (err)
				return err;
			continue;
		}
		int rc = sqlite3_prepare_v2(ix->db, steps[i], -1, &st, NULL);
		if (rc != SQLITE_OK)
			return sql_err(rc);
		if (sqlite3_bind_parameter_count(st) >= 1)
			sqlite3_bind_int64(st, 1, seg);
		if (sqlite3_bind_parameter_count(st) >= 2)
			sqlite3_bind_int64(st, 2, (int64_t)keep_below);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE && rc != SQLITE_ROW)
			return sql_err(rc);
	}
	return 0;
}

int index_drop_segment(struct index *ix, uint32_t id)
{
	int err = index_drop_chunks(ix, id, 0);
	return err ? err : exec_id(ix, "DELETE FROM segments WHERE id = ?1", id);
}

int index_scalar(struct index *ix, const char *sql, int64_t dflt, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_err(rc);
	rc = sqlite3_step(st);
	*out = dflt;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_err(rc);
}

int index_get_setting(struct index *ix, const char *key, int64_t *value)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(ix->db, "SELECT value FROM settings WHERE key = ?1", -1, &st,
				    NULL);
	if (rc != SQLITE_OK)
		return sql_err(rc);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_ROW)
		*value = sqlite3_column_int64(st, 0);
	else
		err = rc == SQLITE_DONE ? -ENOENT : sql_err(rc);
	sqlite3_finalize(st);
	return err;
}

int index_note_next_ids(struct index *ix, uint64_t next_flow_id, uint64_t next_chunk_id)
{
	int64_t max_flow, max_chunk;
	sqlite3_stmt *st;
	/* the rows known to be there give both: no query (the writer's every commit under a
	 * steady load) */
	if (next_flow_id <= (uint64_t)ix->rows_flow_hi + 1 &&
	    next_chunk_id <= (uint64_t)ix->rows_chunk_hi + 1)
		return 0;
	int err = query_max(ix, ST_FLOW_MAX, 0, &max_flow);
	if (!err)
		err = query_max(ix, ST_CHUNK_MAX, 0, &max_chunk);
	if (err)
		return err;
	/* ids are below INT64_MAX (store.c takes them from SQLite's signed integers) */
	if (next_flow_id <= (uint64_t)max_flow + 1 && next_chunk_id <= (uint64_t)max_chunk + 1)
		return 0;
	if ((err = stmt(ix, ST_NEXT_IDS, &st)))
		return err;
	sqlite3_bind_int64(st, 1, (int64_t)next_flow_id);
	sqlite3_bind_int64(st, 2, (int64_t)next_chunk_id);
	return step(ix, ST_NEXT_IDS);
}

int index_set_setting(struct index *ix, const char *key, int64_t value)
{
	sqlite3_stmt *st;
	int err = stmt(ix, ST_SETTING, &st);
	if (err)
		return err;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	return step(ix, ST_SETTING);
}

struct has_label {
	const char *label;
	bool found;
};

static void match_label(const char *label, void *ctx)
{
	struct has_label *h = ctx;
	h->found |= !strcmp(label, h->label);
}

int index_has_secret(struct index *ix, const struct tls_secret *sec)
{
	struct has_label h = { .label = sec->label };
	int err = index_secret_labels(ix, sec->client_random, match_label, &h);
	return err ? err : h.found;
}

int index_secret_labels(struct index *ix, const uint8_t client_random[32],
			void (*fn)(const char *label, void *ctx), void *ctx)
{
	sqlite3_stmt *st;
	int rc = stmt(ix, ST_SECRET_ROWS, &st);
	if (rc)
		return rc;
	sqlite3_bind_blob(st, 1, client_random, 32, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *blob = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0), off = 0;
		struct tls_secret sec;
		while (secret_blob_next(blob, len, &off, &sec) == 1)
			fn(sec.label, ctx);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : sql_err(rc);
}
