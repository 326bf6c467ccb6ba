/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shipmap.h - the one place that says which local index columns travel to which central
 * ones (shipmap.c). A new local column is one line in a table there plus its column in
 * fleet.sql; the shipper (ship.c) builds its SQL on both sides from these tables.
 */
#ifndef ECAP_FLEET_SHIPMAP_H
#define ECAP_FLEET_SHIPMAP_H

#include <stddef.h>

/* How a local value becomes central text in COPY. */
enum shipcol_kind {
	SC_INT,	   /* SQLite integer -> decimal */
	SC_U64,	   /* SQLite integer holding a u64 (cgroup ids) -> unsigned decimal */
	SC_TEXT,   /* text, escaped for COPY */
	SC_ADDR,   /* 16-byte blob (v4-mapped) -> inet */
	SC_TS,	   /* ns since the epoch -> timestamptz, floored to microseconds */
	SC_SHA256, /* blob -> bytea of its SHA-256: the blob itself never leaves the host */
};

struct shipcol {
	const char *local;   /* an expression in the local SELECT */
	const char *central; /* the central column */
	enum shipcol_kind kind;
};

struct shiptable {
	const char *central;	/* ecap_flows */
	const char *local_from; /* FROM ... WHERE ...; ?1: after this chunk, ?2: up to it */
	const char *key;	/* the central conflict target, host_id first */
	const char *same_row;	/* for partitioned tables: the key without the partition column,
				* so that a row whose partition column changed replaces its old
				* copy (NULL: not partitioned) */
	const struct shipcol *cols;
	size_t n_cols;
	int ts_col; /* index in cols of the partition column, -1: none */
	const char *needs; /* a local table that older indexes lack: the entry is skipped when
			    * the index has none (NULL: every index has what it reads) */
};

#define SHIPMAP_MAX_TABLES 16
extern const struct shiptable shipmap_tables[]; /* at most SHIPMAP_MAX_TABLES */
extern const size_t shipmap_n_tables;

#endif
