// SPDX-License-Identifier: GPL-2.0-only
/*
 * ecap-ship - ships a store's metadata (hosts, interfaces, chunks, flows, processes, TLS
 * session digests; never a payload byte or a secret) to the fleet's central PostgreSQL,
 * following the local index by chunk id (export/fleet/ship.c). A daemon beside ecap-rec,
 * or one pass with --once. The database being down only delays it: the local index is the
 * truth and it catches up from there. --drop-before is central retention: it drops the
 * partitions older than a time.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ecap_config.h"
#include "pgconn.h"
#include "ship.h"
#include "units.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ecap-ship --to DSN|--to-file FILE [--store DIR] [--host NAME] [--once]\n"
		"                 [--batch N] [--interval SECONDS] [--partition day|hour]\n"
		"                 [--tls-ca FILE]\n"
		"       ecap-ship --to DSN|--to-file FILE --drop-before TIME\n"
		"\n"
		"Ship what the store's index holds (hosts, interfaces, chunks, flows with\n"
		"totals, their processes, TLS sessions as SHA-256 of the client_random) to the\n"
		"fleet's PostgreSQL, and keep following it. Packets and TLS secrets never leave\n"
		"the host: ecap-export --fleet fetches them over SSH.\n"
		"\n"
		"  --to DSN           a libpq connection string; give it several times for\n"
		"                     servers sharded by host (this host's shard: its id mod N)\n"
		"  --to-file FILE     the DSNs, one per line, from a root-only file (mode 0600):\n"
		"                     the place for passwords, never the command line\n"
		"  --tls-ca FILE      connect with sslmode=verify-full against this CA\n"
		"  --store DIR        the store (default %s)\n"
		"  --host NAME        this host's name in the fleet and its SSH target\n"
		"                     (default: the hostname)\n"
		"  --once             ship what the index holds now, then exit\n"
		"  --batch N          chunks per central transaction (default 256)\n"
		"  --interval S       seconds between looks at the index (default 1)\n"
		"  --partition P      day or hour: partitions of a new central schema\n"
		"  --drop-before T    drop the central partitions that end at or before T, and\n"
		"                     the chunks, sessions, processes and links they leave\n"
		"\n"
		"A status line on stderr tells the follow point and the lag (chunks and seconds\n"
		"behind the local index). Exit status: 0 ok, 1 the database or the store failed\n"
		"(--once), 2 usage.\n",
		ECAP_DEFAULT_STORE);
}

static void status_line(const char *host, const struct ship_status *st)
{
	double lag =
		st->local_ns > st->shipped_ns ? (double)(st->local_ns - st->shipped_ns) / 1e9 : 0;
	fprintf(stderr,
		"ecap-ship: %s: shipped to chunk %" PRIu64 " of %" PRIu64 " (lag %" PRIu64
		" chunks, %.1f s), %" PRIu64 " rows\n",
		host, st->shipped_chunk, st->local_chunk,
		st->local_chunk > st->shipped_chunk ? st->local_chunk - st->shipped_chunk : 0, lag,
		st->rows);
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
	nanosleep(&ts, NULL);
}

/* What the dropped partitions leave in the tables that are not partitioned, for rows up to
 * `upto` (the latest upper bound of a dropped partition, seconds): the chunks that ended by
 * then, the TLS sessions of those chunks that have no flow here (shipped without one by an
 * older ecap-ship; the others went with their flows, drop_partition()), the processes last
 * seen in them, the NAT links one of whose flows is gone, and the containers no process names
 * any more (as a host's own retention removes them, export/fleet/ship.c). One transaction. */
static int drop_rows_before(PGconn *c, size_t server, int64_t upto)
{
	char sql[1400];
	int has_links = 0;
	PGresult *r = PQexec(c, "SELECT to_regclass('ecap_flow_links') IS NOT NULL");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		has_links = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	snprintf(sql, sizeof(sql),
		 "WITH gone AS (DELETE FROM ecap_chunks WHERE first_ts <= to_timestamp(%lld) "
		 "AND last_ts <= to_timestamp(%lld) RETURNING host_id, id), "
		 "s AS (DELETE FROM ecap_tls_sessions t USING gone g WHERE t.host_id = g.host_id "
		 "AND t.chunk_id = g.id AND NOT EXISTS (SELECT 1 FROM ecap_flows f WHERE "
		 "f.host_id = t.host_id AND f.id = t.flow_id) RETURNING 1), "
		 "p AS (DELETE FROM ecap_processes x USING gone g WHERE x.host_id = g.host_id "
		 "AND x.last_chunk = g.id RETURNING 1) "
		 "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM s), "
		 "(SELECT count(*) FROM p)",
		 (long long)upto, (long long)upto);
	if (fleet_exec(c, "BEGIN") < 0)
		return -EIO;
	r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	if (!ok)
		fprintf(stderr, "ecap-ship: server %zu: %s", server, PQerrorMessage(c));
	else
		fprintf(stderr, "ecap-ship: server %zu: deleted %s chunks, %s TLS sessions and %s "
			"processes of those partitions\n", server, PQgetvalue(r, 0, 0),
			PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
	PQclear(r);
	if (ok && has_links)
		ok = fleet_exec(c, "DELETE FROM ecap_flow_links k WHERE NOT EXISTS (SELECT 1 FROM "
				   "ecap_flows f WHERE f.host_id = k.host_id AND f.id = k.pre_flow) "
				   "OR NOT EXISTS (SELECT 1 FROM ecap_flows f WHERE f.host_id = "
				   "k.host_id AND f.id = k.post_flow)") == 0;
	if (ok)
		ok = fleet_exec(c, "DELETE FROM ecap_containers c WHERE NOT EXISTS (SELECT 1 FROM "
				   "ecap_processes x WHERE x.host_id = c.host_id AND "
				   "x.container_id = c.id)") == 0;
	if (fleet_exec(c, ok ? "COMMIT" : "ROLLBACK") < 0)
		ok = 0;
	return ok ? 0 : -EIO;
}

/*
 * Drops one partition, named by the catalogue, in a transaction of its own. A partition of
 * ecap_flows takes its flows' TLS sessions with it (sessions go with their flows, as on the
 * hosts since index schema 8): a long-lived flow has sessions in chunks long after its first
 * packet's partition, which no deletion by chunk reaches. Each of the partition's flows finds
 * its sessions through their primary key (host_id, flow_id, ...), so the cost follows the
 * partition, not the table: left to itself the planner hashed the partition and read every
 * session of the fleet (500,000 sessions, 3,010 of them the partition's: 390 ms against 33 ms
 * by the key), hence no hash or merge join in this transaction.
 */
static int drop_partition(PGconn *c, size_t server, const char *name, bool of_flows)
{
	char *id = PQescapeIdentifier(c, name, strlen(name));
	char sql[256], sessions[32] = "";
	if (!id) {
		fprintf(stderr, "ecap-ship: server %zu: %s", server, PQerrorMessage(c));
		return -EIO;
	}
	int ok = fleet_exec(c, "BEGIN") == 0;
	if (ok && of_flows)
		ok = fleet_exec(c, "SET LOCAL enable_hashjoin = off") == 0 &&
		     fleet_exec(c, "SET LOCAL enable_mergejoin = off") == 0;
	if (ok && of_flows) {
		snprintf(sql, sizeof(sql), "WITH s AS (DELETE FROM ecap_tls_sessions t USING %s f "
			 "WHERE t.host_id = f.host_id AND t.flow_id = f.id RETURNING 1) "
			 "SELECT count(*) FROM s", id);
		PGresult *r = PQexec(c, sql);
		ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
		if (ok)
			snprintf(sessions, sizeof(sessions), "%s", PQgetvalue(r, 0, 0));
		else
			fprintf(stderr, "ecap-ship: server %zu: %s", server, PQerrorMessage(c));
		PQclear(r);
	}
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", id);
	PQfreemem(id);
	if (ok)
		ok = fleet_exec(c, sql) == 0;
	if (fleet_exec(c, ok ? "COMMIT" : "ROLLBACK") < 0)
		ok = 0;
	if (!ok)
		return -EIO;
	if (of_flows)
		fprintf(stderr, "ecap-ship: server %zu: dropped %s and its flows' %s TLS sessions\n",
			server, name, sessions);
	else
		fprintf(stderr, "ecap-ship: server %zu: dropped %s\n", server, name);
	return 0;
}

/* Drop partitions wholly before `before` on every server, then what they leave behind. */
static int drop_before(struct fleet_dsns *d, const char *tls_ca, uint64_t before)
{
	char err[512], ts[40];
	int rc = 0;
	fleet_format_ts(before, ts, sizeof(ts));
	for (size_t i = 0; i < d->n; i++) {
		PGconn *c = fleet_connect(d->v[i], tls_ca, err, sizeof(err));
		if (!c) {
			fprintf(stderr, "ecap-ship: server %zu: %s\n", i + 1, err);
			rc = 1;
			continue;
		}
		const char *p[1] = { ts };
		int64_t upto = 0;
		/* children of the partitioned ecap_ tables whose upper bound is <= before */
		PGresult *r = PQexecParams(
			c,
			"SELECT c.relname, extract(epoch FROM (regexp_match(pg_get_expr("
			"c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz)::bigint, "
			"pa.relname = 'ecap_flows' "
			"FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
			"JOIN pg_class pa ON pa.oid = i.inhparent WHERE pa.relname IN "
			"('ecap_flows', "
			"'ecap_procs') AND (regexp_match(pg_get_expr(c.relpartbound, c.oid), "
			"'TO \\(''([^'']+)''\\)'))[1]::timestamptz <= $1::timestamptz",
			1, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "ecap-ship: server %zu: %s", i + 1, PQerrorMessage(c));
			rc = 1;
		}
		for (int k = 0; PQresultStatus(r) == PGRES_TUPLES_OK && k < PQntuples(r); k++) {
			if (drop_partition(c, i + 1, PQgetvalue(r, k, 0),
					   PQgetvalue(r, k, 2)[0] == 't') < 0) {
				rc = 1;
				continue;
			}
			int64_t bound = strtoll(PQgetvalue(r, k, 1), NULL, 10);
			if (bound > upto)
				upto = bound;
		}
		PQclear(r);
		if (upto > 0 && drop_rows_before(c, i + 1, upto) < 0)
			rc = 1;
		PQfinish(c);
	}
	return rc;
}

int main(int argc, char **argv)
{
	enum {
		OPT_TO = 0x100,
		OPT_TO_FILE,
		OPT_TLS_CA,
		OPT_STORE,
		OPT_HOST,
		OPT_ONCE,
		OPT_BATCH,
		OPT_INTERVAL,
		OPT_PARTITION,
		OPT_DROP_BEFORE
	};
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, OPT_TO },
		{ "to-file", required_argument, NULL, OPT_TO_FILE },
		{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "partition", required_argument, NULL, OPT_PARTITION },
		{ "drop-before", required_argument, NULL, OPT_DROP_BEFORE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ship_options o = { .store_dir = ECAP_DEFAULT_STORE,
				  .partition_seconds = 86400,
				  .batch_chunks = 256 };
	struct fleet_dsns d = { 0 };
	const char *tls_ca = NULL;
	char hostname[256], err[512];
	bool once = false, drop = false;
	double interval = 1;
	uint64_t before = 0;
	struct timespec now;
	int c, rc = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case OPT_TO:
		case OPT_TO_FILE:
			if (fleet_dsns_option(&d, c == OPT_TO_FILE, optarg, "ecap-ship") < 0)
				return 2;
			break;
		case OPT_TLS_CA:
			tls_ca = optarg;
			break;
		case OPT_STORE:
			o.store_dir = optarg;
			break;
		case OPT_HOST:
			o.host = optarg;
			break;
		case OPT_ONCE:
			once = true;
			break;
		case OPT_BATCH:
			o.batch_chunks = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || o.batch_chunks < 1 || o.batch_chunks > 100000) {
				fprintf(stderr, "ecap-ship: --batch: 1..100000\n");
				return 2;
			}
			break;
		case OPT_INTERVAL:
			interval = strtod(optarg, &end);
			if (*end || !(interval >= 0.01 && interval <= 3600)) {
				fprintf(stderr, "ecap-ship: --interval: 0.01..3600 seconds\n");
				return 2;
			}
			break;
		case OPT_PARTITION:
			if (strcmp(optarg, "day") && strcmp(optarg, "hour")) {
				fprintf(stderr, "ecap-ship: --partition: day or hour\n");
				return 2;
			}
			o.partition_seconds = strcmp(optarg, "day") ? 3600 : 86400;
			break;
		case OPT_DROP_BEFORE:
			if (units_parse_time(optarg, (uint64_t)now.tv_sec * 1000000000ull,
					     &before) < 0) {
				fprintf(stderr, "ecap-ship: --drop-before: not a time: %s\n",
					optarg);
				return 2;
			}
			drop = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ecap-ship %s\n", ECAP_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'ecap-ship --help'.\n");
			return 2;
		}
	}
	if (optind < argc || d.n == 0) {
		fprintf(stderr, "ecap-ship: %s\n",
			d.n ? "unexpected arguments" : "--to DSN or --to-file FILE is required");
		return 2;
	}
	if (drop) {
		rc = drop_before(&d, tls_ca, before);
		fleet_dsns_free(&d);
		return rc;
	}
	if (!o.host) {
		if (gethostname(hostname, sizeof(hostname)) < 0)
			return 2;
		hostname[sizeof(hostname) - 1] = '\0';
		o.host = hostname;
	}
	if (!*o.host || strlen(o.host) > 253 ||
	    strspn(o.host, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") != strlen(o.host) ||
	    o.host[0] == '-') {
		fprintf(stderr, "ecap-ship: --host: letters, digits, '.', '-', '_', ':' only\n");
		return 2;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct shipper *sh;
	if (ship_open(&o, &sh) < 0)
		return 1;
	const char *dsn = d.v[fleet_shard(fleet_host_id(o.host), d.n)];
	PGconn *pg = NULL;
	double backoff = 1;
	bool told_down = false;
	time_t last_status = 0;
	while (!stop) {
		struct ship_status st;
		int r;
		if (!pg) {
			pg = fleet_connect(dsn, tls_ca, err, sizeof(err));
			if (pg && ship_attach(sh, pg) < 0) {
				PQfinish(pg);
				pg = NULL;
				snprintf(err, sizeof(err), "the central schema could not be made");
			}
			if (!pg) {
				if (!told_down || once)
					fprintf(stderr,
						"ecap-ship: %s: the database is not reachable "
						"(%s); "
						"will catch up from the local index\n",
						o.host, err);
				told_down = true;
				if (once) {
					rc = 1;
					break;
				}
				sleep_s(backoff);
				backoff = backoff * 2 > 30 ? 30 : backoff * 2;
				continue;
			}
			if (told_down)
				fprintf(stderr, "ecap-ship: %s: connected again\n", o.host);
			told_down = false;
		}
		r = ship_batch(sh, &st);
		if (r < 0) {
			if (once) {
				rc = 1;
				break;
			}
			/* the connection or the batch failed: start over, not in a tight loop */
			PQfinish(pg);
			pg = NULL;
			sleep_s(backoff);
			backoff = backoff * 2 > 30 ? 30 : backoff * 2;
			continue;
		}
		backoff = 1;
		/* with --once the last line only; else at most a line a second while shipping, and
		 * one a minute while idle */
		time_t t = time(NULL);
		if (once ? r == 0 : t - last_status >= (r > 0 ? 1 : 60)) {
			status_line(o.host, &st);
			last_status = t;
		}
		if (r == 0) {
			if (once)
				break;
			sleep_s(interval);
		}
	}
	if (pg)
		PQfinish(pg);
	ship_close(sh);
	fleet_dsns_free(&d);
	return rc;
}
