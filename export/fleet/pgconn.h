/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pgconn.h - the PostgreSQL side shared by ecap-ship, ecap-ls --fleet and ecap-export
 * --fleet: connecting (DSNs given on the command line or read from a root-only file), the
 * central schema (fleet.sql), host ids and shards, and the text forms COPY and queries use.
 */
#ifndef ECAP_FLEET_PGCONN_H
#define ECAP_FLEET_PGCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define FLEET_MAX_DSNS 16

struct fleet_dsns {
	char *v[FLEET_MAX_DSNS];
	size_t n;
};

/* Add one DSN (copied). -E2BIG beyond FLEET_MAX_DSNS. */
int fleet_dsns_add(struct fleet_dsns *d, const char *dsn);
/*
 * Add the DSNs of a file, one per line ('#' comments, blank lines skipped). The file holds
 * passwords: it must be a regular file owned by root or by us, not readable or writable by
 * group or others; anything else is refused with -EPERM (message on stderr naming it).
 */
int fleet_dsns_read_file(struct fleet_dsns *d, const char *path);
void fleet_dsns_free(struct fleet_dsns *d);
/* A command line's --fleet DSN (is_file false) or --fleet-file FILE; errors reported on
 * stderr after prog. 0 or <0. */
int fleet_dsns_option(struct fleet_dsns *d, bool is_file, const char *arg, const char *prog);

/*
 * Load PostgreSQL's client library (pqload.c; once, thread-safe): 0, or -ENOENT with the
 * reason in err. fleet_connect() calls it: no libpq function may run before.
 */
int fleet_pq_load(char *err, size_t len);
/*
 * Connect to one DSN; tls_ca non-NULL adds sslmode=verify-full sslrootcert=tls_ca. NULL on
 * failure, with the reason (never the password) in err.
 */
PGconn *fleet_connect(const char *dsn, const char *tls_ca, char *err, size_t len);
/* Create the central schema when missing (under an advisory lock, so shippers may race);
 * partition_seconds for a new schema (86400 or 3600); the schema's value in *actual. */
int fleet_schema_ensure(PGconn *c, int64_t partition_seconds, int64_t *actual);

/* One statement without results; 0 or -EIO with the server's message on stderr. */
int fleet_exec(PGconn *c, const char *sql);

/* A host's id: the first 8 bytes of SHA-256(name), big-endian, top bit cleared. */
int64_t fleet_host_id(const char *name);
/* The shard of a host among n servers. */
size_t fleet_shard(int64_t host_id, size_t n);

/* ns since the epoch as a timestamptz literal, floored to microseconds ("...+00"). */
void fleet_format_ts(uint64_t ns, char *out, size_t len);
/* A timestamptz text as PostgreSQL prints it (ISO, UTC) back to ns; -EINVAL when malformed. */
int fleet_parse_ts(const char *s, uint64_t *ns);
/* 16 bytes (v4-mapped for IPv4) as inet text. */
void fleet_format_inet(const uint8_t addr[16], char *out, size_t len);

#endif
