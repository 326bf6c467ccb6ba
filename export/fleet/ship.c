// SPDX-License-Identifier: GPL-2.0-only
/*
 * ship.c - one shipper: a read-only view of a store's index and a central connection; each
 * batch reads a chunk range (W, hi] in one SQLite read transaction and writes it in one
 * PostgreSQL transaction (COPY into temporary staging tables, then upserts), together with
 * the new follow point W = hi, the local newest chunk (the lag) and the local oldest chunk
 * (retention: central rows below it are deleted). Which columns travel is shipmap.c's job.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "buf.h"
#include "index.h"
#include "pgconn.h"
#include "sha256.h"
#include "ship.h"
#include "shipmap.h"
#include "store.h"
#include "store_impl.h"

#define PARTS_CACHED 64
#define PARTS_PER_BATCH_MAX 1000

struct shipper {
	struct ship_options o;
	char *store_abs;
	int64_t host_id;
	struct store *s;
	sqlite3 *db;
	PGconn *pg;
	int64_t part_secs;
	int64_t parts[PARTS_CACHED]; /* partition starts known to exist (a ring) */
	size_t n_parts;
	uint64_t fail_after_rows; /* test hook ECAP_SHIP_KILL_AFTER_ROWS: SIGKILL mid-batch */
	uint64_t rows_total;
	bool skip[SHIPMAP_MAX_TABLES]; /* shipmap_tables[i] reads a table this index lacks */
	struct buf line;
};

int ship_open(const struct ship_options *o, struct shipper **out)
{
	struct store_options so;
	struct shipper *sh = calloc(1, sizeof(*sh));
	int err;

	if (!sh)
		return -ENOMEM;
	sh->o = *o;
	/* the store as the fleet will name it to this host over SSH: an absolute path */
	sh->store_abs = realpath(o->store_dir, NULL);
	if (!sh->store_abs) {
		err = -errno;
		fprintf(stderr, "ecap-ship: %s: %s\n", o->store_dir, strerror(errno));
		free(sh);
		return err;
	}
	sh->o.store_dir = sh->store_abs;
	sh->host_id = fleet_host_id(o->host);
	store_options_default(&so);
	so.quiet = true;
	err = store_open(o->store_dir, STORE_READ, &so, &sh->s);
	if (err) {
		fprintf(stderr, "ecap-ship: %s\n", sh->s ? store_errmsg(sh->s) : strerror(-err));
		free(sh->store_abs);
		free(sh);
		return err;
	}
	sh->db = index_db(sh->s->ix);
	for (size_t i = 0; i < shipmap_n_tables; i++) {
		const char *t = shipmap_tables[i].needs;
		sqlite3_stmt *st;
		if (!t)
			continue;
		sh->skip[i] = true;
		if (sqlite3_prepare_v2(sh->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
				       "AND name = ?1", -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
			sh->skip[i] = sqlite3_step(st) != SQLITE_ROW;
			sqlite3_finalize(st);
		}
	}
	const char *k = getenv("ECAP_SHIP_KILL_AFTER_ROWS");
	if (k)
		sh->fail_after_rows = strtoull(k, NULL, 10);
	*out = sh;
	return 0;
}

void ship_close(struct shipper *sh)
{
	if (!sh)
		return;
	store_close(sh->s);
	buf_free(&sh->line);
	free(sh->store_abs);
	free(sh);
}

int ship_attach(struct shipper *sh, PGconn *c)
{
	char sql[512];
	int err = fleet_schema_ensure(c, sh->o.partition_seconds, &sh->part_secs);
	if (err)
		return err;
	for (size_t i = 0; i < shipmap_n_tables && !err; i++) {
		snprintf(sql, sizeof(sql),
			 "CREATE TEMP TABLE IF NOT EXISTS stage_%s (LIKE %s) "
			 "ON COMMIT DELETE ROWS",
			 shipmap_tables[i].central, shipmap_tables[i].central);
		err = fleet_exec(c, sql);
	}
	sh->pg = c;
	sh->n_parts = 0;
	return err;
}

/* ---- local reads ---------------------------------------------------------------------- */

static int local_u64s(struct shipper *sh, const char *sql, int64_t a, int64_t b, uint64_t *v, int n,
		      bool *null)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(sh->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		/* every query here returns one row: no row is an error too */
		fprintf(stderr, "ecap-ship: local index: %s: %s\n", sql,
			rc == SQLITE_DONE ? "no row" : sqlite3_errmsg(sh->db));
		sqlite3_finalize(st);
		return -EIO;
	}
	*null = sqlite3_column_type(st, 0) == SQLITE_NULL;
	for (int i = 0; i < n; i++)
		v[i] = (uint64_t)sqlite3_column_int64(st, i);
	sqlite3_finalize(st);
	return 0;
fail:
	fprintf(stderr, "ecap-ship: local index: %s\n", sqlite3_errmsg(sh->db));
	return -EIO;
}

/* ---- COPY text ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t k;
	uint32_t c;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		k = 2, c = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		k = 3, c = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		k = 4, c = p[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((k == 2 && c < 0x80) || (k == 3 && c < 0x800) || (k == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return k;
}

/* Text from a process (comm): COPY escapes, invalid UTF-8 and NUL as '?'. */
static int put_text(struct buf *b, const unsigned char *p, size_t n)
{
	int err = 0;
	for (size_t i = 0; i < n && !err;) {
		size_t k = p[i] ? utf8_len(p + i, n - i) : 0;
		if (k == 0) {
			err = buf_append(b, "?", 1);
			i++;
		} else if (p[i] == '\\' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
			char e[2] = { '\\', p[i] == '\\'   ? '\\'
					    : p[i] == '\t' ? 't'
					    : p[i] == '\n' ? 'n'
							   : 'r' };
			err = buf_append(b, e, 2);
			i++;
		} else {
			err = buf_append(b, p + i, k);
			i += k;
		}
	}
	return err;
}

static int put_col(struct buf *b, sqlite3_stmt *st, int i, enum shipcol_kind kind)
{
	char tmp[80];
	const void *blob;
	int n;

	switch (kind) {
	case SC_INT:
		snprintf(tmp, sizeof(tmp), "%lld", (long long)sqlite3_column_int64(st, i));
		break;
	case SC_U64:
		snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)sqlite3_column_int64(st, i));
		break;
	case SC_TS:
		fleet_format_ts((uint64_t)sqlite3_column_int64(st, i), tmp, sizeof(tmp));
		break;
	case SC_TEXT:
		return put_text(b, sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
	case SC_ADDR:
		blob = sqlite3_column_blob(st, i);
		if (!blob || sqlite3_column_bytes(st, i) != 16)
			return -EBADMSG;
		fleet_format_inet(blob, tmp, sizeof(tmp));
		break;
	case SC_SHA256: {
		uint8_t md[SHA256_LEN];
		blob = sqlite3_column_blob(st, i);
		n = sqlite3_column_bytes(st, i);
		sha256_once(blob ? blob : (const void *)"", (size_t)n, md);
		strcpy(tmp, "\\\\x");
		for (int k = 0; k < SHA256_LEN; k++)
			snprintf(tmp + 3 + 2 * k, 3, "%02x", md[k]);
		break;
	}
	default:
		return -EINVAL;
	}
	return buf_append(b, tmp, strlen(tmp));
}

static int pg_fail(struct shipper *sh, const char *what)
{
	fprintf(stderr, "ecap-ship: PostgreSQL: %s: %s", what, PQerrorMessage(sh->pg));
	return -EIO;
}

/* COPY the local rows of one table for chunks (lo, hi] into its staging table. */
static int copy_table(struct shipper *sh, const struct shiptable *t, uint64_t lo, uint64_t hi,
		      uint64_t *rows)
{
	struct buf *b = &sh->line;
	char sql[2048], hostcol[32];
	size_t off;
	sqlite3_stmt *st;
	int err = 0, rc;

	off = (size_t)snprintf(sql, sizeof(sql), "COPY stage_%s (host_id", t->central);
	for (size_t i = 0; i < t->n_cols; i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, ", %s", t->cols[i].central);
	snprintf(sql + off, sizeof(sql) - off, ") FROM STDIN");
	PGresult *r = PQexec(sh->pg, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		PQclear(r);
		return pg_fail(sh, sql);
	}
	PQclear(r);

	off = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
	for (size_t i = 0; i < t->n_cols; i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s%s", i ? ", " : "",
					t->cols[i].local);
	snprintf(sql + off, sizeof(sql) - off, " %s", t->local_from);
	rc = sqlite3_prepare_v2(sh->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "ecap-ship: local index: %s: %s\n", sql, sqlite3_errmsg(sh->db));
		PQputCopyEnd(sh->pg, "local index error");
		PQclear(PQgetResult(sh->pg));
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, (int64_t)lo);
	sqlite3_bind_int64(st, 2, (int64_t)hi);
	snprintf(hostcol, sizeof(hostcol), "%lld", (long long)sh->host_id);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		b->len = 0;
		err = buf_append(b, hostcol, strlen(hostcol));
		for (size_t i = 0; i < t->n_cols && !err; i++) {
			err = buf_append(b, "\t", 1);
			if (!err)
				err = put_col(b, st, (int)i, t->cols[i].kind);
		}
		if (!err)
			err = buf_append(b, "\n", 1);
		if (!err && PQputCopyData(sh->pg, (const char *)b->data, (int)b->len) != 1)
			err = -EIO;
		(*rows)++;
		if (sh->fail_after_rows && ++sh->rows_total >= sh->fail_after_rows)
			raise(SIGKILL); /* the test of a kill mid-batch */
	}
	if (!err && rc != SQLITE_DONE) {
		fprintf(stderr, "ecap-ship: local index: %s\n", sqlite3_errmsg(sh->db));
		err = -EIO;
	}
	sqlite3_finalize(st);
	if (err == -EBADMSG)
		fprintf(stderr, "ecap-ship: local index: a malformed row in %s\n", t->central);
	if (PQputCopyEnd(sh->pg, err ? "ecap-ship: local error" : NULL) != 1)
		return pg_fail(sh, "COPY end");
	r = PQgetResult(sh->pg);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && !err)
		err = pg_fail(sh, t->central);
	PQclear(r);
	while ((r = PQgetResult(sh->pg)))
		PQclear(r);
	return err ? err : 0;
}

/* From the staging table into the central one: upsert on the key, after deleting the old
 * copy of a row whose partition column changed. */
static int merge_table(struct shipper *sh, const struct shiptable *t)
{
	char sql[2048];
	size_t off;
	int err = 0;

	if (t->same_row) {
		char a[64], b2[64];
		const char *c2 = strchr(t->same_row, ',') + 2;
		snprintf(a, sizeof(a), "%.*s", (int)(strchr(t->same_row, ',') - t->same_row),
			 t->same_row);
		off = (size_t)snprintf(sql, sizeof(sql),
				       "DELETE FROM %s c USING stage_%s s WHERE c.%s = s.%s",
				       t->central, t->central, a, a);
		/* the remaining key columns, comma-separated */
		const char *p = c2;
		while (*p) {
			size_t n = strcspn(p, ",");
			snprintf(b2, sizeof(b2), "%.*s", (int)n, p);
			off += (size_t)snprintf(sql + off, sizeof(sql) - off, " AND c.%s = s.%s",
						b2, b2);
			p += n;
			p += strspn(p, ", ");
		}
		snprintf(sql + off, sizeof(sql) - off, " AND c.%s <> s.%s",
			 t->cols[t->ts_col].central, t->cols[t->ts_col].central);
		err = fleet_exec(sh->pg, sql);
	}
	if (err)
		return err;
	off = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (host_id", t->central);
	for (size_t i = 0; i < t->n_cols; i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, ", %s", t->cols[i].central);
	off += (size_t)snprintf(sql + off, sizeof(sql) - off, ") SELECT host_id");
	for (size_t i = 0; i < t->n_cols; i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, ", %s", t->cols[i].central);
	off += (size_t)snprintf(sql + off, sizeof(sql) - off,
				" FROM stage_%s ON CONFLICT %s DO "
				"UPDATE SET ",
				t->central, t->key);
	bool first = true;
	for (size_t i = 0; i < t->n_cols; i++) {
		const char *c = t->cols[i].central;
		size_t n = strlen(c);
		const char *k = strstr(t->key, c);
		if (k && (k[-1] == ' ' || k[-1] == '(') && (k[n] == ',' || k[n] == ')'))
			continue; /* a key column */
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s%s = excluded.%s",
					first ? "" : ", ", c, c);
		first = false;
	}
	if (first) /* every column is in the key */
		snprintf(strstr(sql, "DO UPDATE SET "),
			 sizeof(sql) - (size_t)(strstr(sql, "DO UPDATE SET ") - sql), "DO NOTHING");
	if (off >= sizeof(sql) - 1)
		return -ENAMETOOLONG;
	return fleet_exec(sh->pg, sql);
}

/* ---- partitions ------------------------------------------------------------------------ */

static bool part_known(const struct shipper *sh, int64_t start)
{
	for (size_t i = 0; i < sh->n_parts && i < PARTS_CACHED; i++)
		if (sh->parts[i] == start)
			return true;
	return false;
}

/* Child tables of the partitioned tables for every period in [min_ns, max_ns]. */
static int ensure_partitions(struct shipper *sh, uint64_t min_ns, uint64_t max_ns)
{
	int64_t step = sh->part_secs;
	int64_t from = (int64_t)(min_ns / 1000000000ull) / step * step;
	int64_t to = (int64_t)(max_ns / 1000000000ull) / step * step;
	bool locked = false;
	char sql[512];
	int err = 0;

	if ((to - from) / step >= PARTS_PER_BATCH_MAX) {
		fprintf(stderr,
			"ecap-ship: flows span more than %d partitions (%" PRIu64 " .. %" PRIu64
			" ns): a clock is wrong\n",
			PARTS_PER_BATCH_MAX, min_ns, max_ns);
		return -ERANGE;
	}
	for (int64_t t = from; t <= to && !err; t += step) {
		if (part_known(sh, t))
			continue;
		if (!locked) {
			/* shippers of other hosts may make the same ones now */
			err = fleet_exec(sh->pg, "SELECT pg_advisory_xact_lock(6563617070617274)");
			locked = true;
		}
		time_t tt = (time_t)t;
		struct tm tm;
		char name[32], a[40], b[40];
		gmtime_r(&tt, &tm);
		strftime(name, sizeof(name), step == 3600 ? "%Y%m%d%H" : "%Y%m%d", &tm);
		fleet_format_ts((uint64_t)t * 1000000000ull, a, sizeof(a));
		fleet_format_ts((uint64_t)(t + step) * 1000000000ull, b, sizeof(b));
		for (size_t i = 0; i < shipmap_n_tables && !err; i++) {
			const struct shiptable *tb = &shipmap_tables[i];
			if (tb->ts_col < 0)
				continue;
			snprintf(sql, sizeof(sql),
				 "CREATE TABLE IF NOT EXISTS %s_p%s PARTITION OF %s "
				 "FOR VALUES FROM ('%s') TO ('%s')",
				 tb->central, name, tb->central, a, b);
			err = fleet_exec(sh->pg, sql);
		}
		if (!err)
			sh->parts[sh->n_parts++ % PARTS_CACHED] = t;
	}
	return err;
}

/* ---- one batch ------------------------------------------------------------------------- */

/* A statement with text parameters and no rows to read. */
static int pg_params(struct shipper *sh, const char *sql, int n, const char *const *p,
		     const char *what)
{
	PGresult *r = PQexecParams(sh->pg, sql, n, NULL, p, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return ok ? 0 : pg_fail(sh, what);
}

static int host_row(struct shipper *sh, uint64_t *shipped, uint64_t *retained)
{
	char id[32];
	const char *p[3] = { id, sh->o.host, sh->o.store_dir };
	snprintf(id, sizeof(id), "%lld", (long long)sh->host_id);
	if (pg_params(sh, "INSERT INTO ecap_hosts (host_id, name, store) VALUES ($1, $2, $3) "
		      "ON CONFLICT (host_id) DO NOTHING", 3, p, "ecap_hosts"))
		return -EIO;
	PGresult *r = PQexecParams(sh->pg,
			 "SELECT name, shipped_chunk, retained_chunk FROM ecap_hosts "
			 "WHERE host_id = $1 FOR UPDATE",
			 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		return pg_fail(sh, "ecap_hosts");
	}
	if (strcmp(PQgetvalue(r, 0, 0), sh->o.host) != 0) {
		fprintf(stderr, "ecap-ship: host id %s belongs to '%s' centrally, not '%s'\n", id,
			PQgetvalue(r, 0, 0), sh->o.host);
		PQclear(r);
		return -EEXIST;
	}
	*shipped = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
	*retained = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return 0;
}

/* Central rows of chunks the host no longer holds (its retention deleted them). */
static int reflect_retention(struct shipper *sh, uint64_t keep_from)
{
	static const char *const sql[] = {
		"DELETE FROM ecap_procs p USING ecap_flows f WHERE f.host_id = $1 AND "
		"f.last_chunk < $2 AND p.host_id = $1 AND p.flow_id = f.id AND p.first_ts = "
		"f.first_ts",
		/* a NAT link goes with either of its flows, as locally */
		"DELETE FROM ecap_flow_links l USING ecap_flows f WHERE f.host_id = $1 AND "
		"f.last_chunk < $2 AND l.host_id = $1 AND (l.pre_flow = f.id OR l.post_flow = f.id)",
		/* TLS sessions go with their flows, as locally since index schema 8; and those of
		 * gone chunks whose flow is not here (shipped by an older ecap-ship) */
		"DELETE FROM ecap_tls_sessions t USING ecap_flows f WHERE f.host_id = $1 AND "
		"f.last_chunk < $2 AND t.host_id = $1 AND t.flow_id = f.id",
		"DELETE FROM ecap_tls_sessions t WHERE t.host_id = $1 AND t.chunk_id < $2 AND NOT "
		"EXISTS (SELECT 1 FROM ecap_flows f WHERE f.host_id = $1 AND f.id = t.flow_id)",
		"DELETE FROM ecap_flows WHERE host_id = $1 AND last_chunk < $2",
		"DELETE FROM ecap_chunks WHERE host_id = $1 AND id < $2",

		"DELETE FROM ecap_processes WHERE host_id = $1 AND last_chunk < $2",
		/* a container goes with the last process record that names it, as locally */
		"DELETE FROM ecap_containers c WHERE c.host_id = $1 AND $2::bigint > 0 AND NOT EXISTS "
		"(SELECT 1 FROM ecap_processes p WHERE p.host_id = $1 AND p.container_id = c.id)",
	};
	char id[32], k[32];
	const char *p[2] = { id, k };
	snprintf(id, sizeof(id), "%lld", (long long)sh->host_id);
	snprintf(k, sizeof(k), "%" PRIu64, keep_from);
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (pg_params(sh, sql[i], 2, p, "retention"))
			return -EIO;
	return 0;
}

static int batch_in_txn(struct shipper *sh, struct ship_status *st)
{
	uint64_t v[3], w, retained, hi, rows = 0;
	bool null;
	int err;

	if ((err = host_row(sh, &w, &retained)))
		return err;
	if ((err = local_u64s(sh, "SELECT max(id), min(id) FROM chunks", 0, 0, v, 2, &null)))
		return err;
	st->local_chunk = null ? 0 : v[0];
	st->retained_chunk = null ? 0 : v[1];
	/* an empty store (a recorder that has seen no packet yet) has no newest chunk */
	if ((err = local_u64s(sh, "SELECT coalesce((SELECT last_ns FROM chunks WHERE id = ?1), 0)",
			      (int64_t)st->local_chunk, 0, v, 1, &null)))
		return err;
	st->local_ns = null ? 0 : v[0];
	if (st->local_chunk < w)
		fprintf(stderr,
			"ecap-ship: the central follow point (chunk %" PRIu64 ") is past "
			"the local index (chunk %" PRIu64 "): was the store recreated?\n",
			w, st->local_chunk);
	if ((err = local_u64s(sh,
			      "SELECT max(id) FROM (SELECT id FROM chunks WHERE id > ?1 "
			      "ORDER BY id LIMIT ?2)",
			      (int64_t)w, sh->o.batch_chunks, v, 1, &null)))
		return err;
	hi = null ? w : v[0];
	if (hi > w) {
		if ((err = local_u64s(sh,
				      "SELECT min(first_ns), max(first_ns) FROM flows WHERE "
				      "last_chunk > ?1 AND last_chunk <= ?2",
				      (int64_t)w, (int64_t)hi, v, 2, &null)))
			return err;
		if (!null && (err = ensure_partitions(sh, v[0], v[1])))
			return err;
		for (size_t i = 0; i < shipmap_n_tables && !err; i++) {
			if (sh->skip[i])
				continue;
			err = copy_table(sh, &shipmap_tables[i], w, hi, &rows);
			if (!err)
				err = merge_table(sh, &shipmap_tables[i]);
		}
		if (err)
			return err;
	}
	if (st->retained_chunk > retained && (err = reflect_retention(sh, st->retained_chunk)))
		return err;
	if ((err = local_u64s(sh, "SELECT coalesce(max(last_ns), 0) FROM chunks WHERE id = ?1",
			      (int64_t)hi, 0, v, 1, &null)))
		return err;
	st->shipped_chunk = hi;
	st->shipped_ns = v[0];
	st->rows = rows;

	char a[6][32];
	const char *p[7] = { a[0], a[1], a[2], a[3], a[4], a[5], sh->o.store_dir };
	snprintf(a[0], 32, "%lld", (long long)sh->host_id);
	snprintf(a[1], 32, "%" PRIu64, hi);
	snprintf(a[2], 32, "%" PRIu64, st->shipped_ns ? st->shipped_ns : 0);
	snprintf(a[3], 32, "%" PRIu64, st->local_chunk);
	snprintf(a[4], 32, "%" PRIu64, st->local_ns);
	snprintf(a[5], 32, "%" PRIu64,
		 st->retained_chunk > retained ? st->retained_chunk : retained);
	if (pg_params(sh, "UPDATE ecap_hosts SET shipped_chunk = $2, shipped_ns = "
		      "CASE WHEN $3::bigint > 0 THEN $3::bigint ELSE shipped_ns END, "
		      "local_chunk = $4, local_ns = $5, retained_chunk = $6, store = $7, "
		      "shipped_at = now() WHERE host_id = $1", 7, p, "ecap_hosts"))
		return -EIO;
	return hi > w ? 1 : 0;
}

int ship_batch(struct shipper *sh, struct ship_status *st)
{
	int err, rc;

	memset(st, 0, sizeof(*st));
	if (sqlite3_exec(sh->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "ecap-ship: local index: %s\n", sqlite3_errmsg(sh->db));
		return -EIO;
	}
	if ((err = fleet_exec(sh->pg, "BEGIN"))) {
		sqlite3_exec(sh->db, "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	rc = batch_in_txn(sh, st);
	if (rc >= 0 && (err = fleet_exec(sh->pg, "COMMIT")))
		rc = err;
	if (rc < 0) {
		PGresult *r = PQexec(sh->pg, "ROLLBACK");
		PQclear(r);
		/* a partition made in the rolled-back transaction does not exist */
		sh->n_parts = 0;
	}
	sqlite3_exec(sh->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
