/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * index_rows.h - a chunk's rows of one index table, gathered in memory by index_add_chunk()
 * and read by SQLite as a virtual table, so that one INSERT ... SELECT writes them all: a
 * statement run costs about 1,500 instructions whatever it writes (closing and freeing its
 * cursors, ending the statement), and its write cursor, open from row to row, appends rows
 * that come in key order at the end of an index b-tree without descending from the root
 * (sqlite3BtreeIndexMoveto begins on the cursor's leaf when that is the tree's last page).
 *
 * Each source is an eponymous-only virtual table (a module with no xCreate: the table is the
 * module's name, exists on the connection that registered it, and stores nothing),
 * direct-only (no trigger or view in the database may read it), scanned in array order. Its
 * rows must stay valid from index_rows_set() until the statement that reads them is reset.
 */
#ifndef ECAP_INDEX_ROWS_H
#define ECAP_INDEX_ROWS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"

/* What one source is: fixed, shared by every connection. */
struct index_rows_def {
	const char *name;    /* the table's name in statements (the module's) */
	const char *declare; /* CREATE TABLE x(...): its columns */
	const char *insert;  /* the statement that writes its rows into the index */
	/* column col of one row into ctx (sqlite3_result_*, SQLITE_STATIC for pointers) */
	void (*column)(sqlite3_context *ctx, const void *row, int col);
	size_t size;         /* bytes of one row */
};

/* One source on one connection: the rows it gives now. */
struct index_rows {
	const struct index_rows_def *def;
	const void *v; /* n rows of def->size bytes */
	size_t n;
};

/* Makes rows' table known on db (once per connection, before a statement that names it is
 * prepared); rows must outlive db. SQLITE_OK or SQLite's error code. */
int index_rows_register(sqlite3 *db, struct index_rows *rows);

static inline void index_rows_set(struct index_rows *rows, const void *v, size_t n)
{
	rows->v = v;
	rows->n = n;
}

/* The sources of the per-session tables, in the order of index.c's enum. */

/* flows: a new flow's row with the totals gathered for it so far, its owners (the last known
 * of each side among the chunk's records of it) and its first session in the chunk (index.c
 * add_flows). */
struct index_flow_row {
	const struct flow_record *f;
	uint64_t first_ns, last_ns, packets, bytes, first_chunk, last_chunk;
	const uint8_t *runs; /* chunk_runs (chunk_runs.h), runs_len bytes */
	size_t runs_len, runs_off;
	const struct ecap_proc *owner[2]; /* side A, side B; NULL: none known */
	const uint8_t *client_random;     /* 32 bytes; NULL: no session */
	uint64_t session_chunk;
};
extern const struct index_rows_def index_flow_rows;

/* The owner of one side of a flow the index holds (index_owner_a_rows: side A, _b_: side B),
 * one row per flow. */
struct index_proc_row {
	uint64_t flow_id;
	const struct ecap_proc *p;
};
extern const struct index_rows_def index_owner_a_rows, index_owner_b_rows;

/* owner_flows: struct owner_range (owner_ranges.h) as it is. */
extern const struct index_rows_def index_owner_rows;

/* processes: struct ecap_proc_info (records.h) as it is; the statement's ?1 is the chunk's
 * id. */
extern const struct index_rows_def index_procinfo_rows;
/* processes again: last_chunk of those held already moved on (index.c add_procinfo); the
 * same rows and ?1. */
extern const struct index_rows_def index_procinfo_again_rows;

#endif
