/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ship.h - following a store's local index by chunk id and shipping new rows to a central
 * PostgreSQL server (ecap-ship). One batch is one snapshot of the local index and one
 * central transaction that upserts the rows of a range of chunks and moves the host's
 * follow point (ecap_hosts.shipped_chunk) past them: a kill at any point leaves either
 * the whole batch or none of it, and a batch shipped twice changes nothing. The local
 * index is only read (in WAL mode, never blocking the recorder).
 */
#ifndef ECAP_FLEET_SHIP_H
#define ECAP_FLEET_SHIP_H

#include <stdint.h>

#include <libpq-fe.h>

struct ship_options {
	const char *store_dir;
	const char *host;	   /* the name the fleet knows this host by (SSH target) */
	int64_t partition_seconds; /* for a new central schema: 86400 or 3600 */
	uint32_t batch_chunks;	   /* chunks per batch (bounds memory and transaction size) */
};

struct ship_status {
	uint64_t shipped_chunk, shipped_ns; /* the follow point and its chunk's last packet */
	uint64_t local_chunk, local_ns;	    /* the newest local chunk */
	uint64_t retained_chunk;	    /* the oldest local chunk */
	uint64_t rows;			    /* rows sent by the last batch */
};

struct shipper;

int ship_open(const struct ship_options *o, struct shipper **out);
void ship_close(struct shipper *sh);
/* Use this connection from now on (after a reconnect too): schema, staging tables. */
int ship_attach(struct shipper *sh, PGconn *c);
/* One batch. 1: rows shipped; 0: caught up (nothing new); <0: error, reported on stderr
 * (the central transaction is rolled back; the caller reconnects and tries again). */
int ship_batch(struct shipper *sh, struct ship_status *st);

#endif
