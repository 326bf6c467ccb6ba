// SPDX-License-Identifier: GPL-2.0-only
/*
 * pgconn.c - connecting to the central PostgreSQL servers, their schema, host ids and the
 * text forms of times and addresses (pgconn.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "pgconn.h"
#include "sha256.h"

extern const char fleet_sql[];

/* Any key for pg_advisory_lock, the same in every shipper: "ecapship". */
#define FLEET_SCHEMA_LOCK 0x6563617073686970LL

int fleet_dsns_add(struct fleet_dsns *d, const char *dsn)
{
	if (d->n >= FLEET_MAX_DSNS)
		return -E2BIG;
	d->v[d->n] = strdup(dsn);
	if (!d->v[d->n])
		return -ENOMEM;
	d->n++;
	return 0;
}

int fleet_dsns_read_file(struct fleet_dsns *d, const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char line[4096];
	int err = 0;

	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 077)) {
		fprintf(stderr,
			"%s: refused: it holds credentials, so it must be a regular file "
			"owned by root (or us) with no access for group or others (chmod 600)\n",
			path);
		close(fd);
		return -EPERM;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		if (n && line[n - 1] != '\n' && !feof(f)) {
			fprintf(stderr, "%s: a line is longer than %zu bytes\n", path,
				sizeof(line));
			err = -EINVAL;
			break;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = '\0';
		char *p = line + strspn(line, " \t");
		if (!*p || *p == '#')
			continue;
		err = fleet_dsns_add(d, p);
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	if (!err && d->n == 0) {
		fprintf(stderr, "%s: no DSN in it\n", path);
		err = -EINVAL;
	}
	return err;
}

int fleet_dsns_option(struct fleet_dsns *d, bool is_file, const char *arg, const char *prog)
{
	int err = is_file ? fleet_dsns_read_file(d, arg) : fleet_dsns_add(d, arg);
	if (err == -E2BIG)
		fprintf(stderr, "%s: at most %d servers\n", prog, FLEET_MAX_DSNS);
	else if (err == -ENOMEM)
		fprintf(stderr, "%s: out of memory\n", prog);
	return err;
}

void fleet_dsns_free(struct fleet_dsns *d)
{
	for (size_t i = 0; i < d->n; i++) {
		explicit_bzero(d->v[i], strlen(d->v[i]));
		free(d->v[i]);
	}
	d->n = 0;
}

PGconn *fleet_connect(const char *dsn, const char *tls_ca, char *err, size_t len)
{
	const char *keys[5] = { "dbname", "application_name", NULL, NULL, NULL };
	const char *vals[5] = { dsn, "ecap", NULL, NULL, NULL };
	if (tls_ca) {
		keys[2] = "sslmode";
		vals[2] = "verify-full";
		keys[3] = "sslrootcert";
		vals[3] = tls_ca;
	}
	if (fleet_pq_load(err, len) < 0)
		return NULL;
	/* expand_dbname: the DSN's own keys count; the ones after it override */
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, len, "%s", PQerrorMessage(c));
		size_t n = strlen(err);
		while (n && err[n - 1] == '\n')
			err[--n] = '\0';
		PQfinish(c);
		return NULL;
	}
	return c;
}

int fleet_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "PostgreSQL: %s", PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -EIO;
}

int fleet_schema_ensure(PGconn *c, int64_t partition_seconds, int64_t *actual)
{
	char sql[256];
	int err;

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)", (long long)FLEET_SCHEMA_LOCK);
	if ((err = fleet_exec(c, "SET client_min_messages = warning")) ||
	    (err = fleet_exec(c, sql)))
		return err;
	err = fleet_exec(c, fleet_sql);
	if (!err) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO ecap_settings VALUES ('partition_seconds', "
			 "%lld) ON CONFLICT DO NOTHING",
			 (long long)partition_seconds);
		err = fleet_exec(c, sql);
	}
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)", (long long)FLEET_SCHEMA_LOCK);
	int err2 = fleet_exec(c, sql);
	if (err || err2)
		return err ? err : err2;
	PGresult *r = PQexec(c, "SELECT value FROM ecap_settings WHERE key = 'partition_seconds'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		fprintf(stderr, "PostgreSQL: ecap_settings has no partition_seconds\n");
		PQclear(r);
		return -EIO;
	}
	*actual = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (*actual != 3600 && *actual != 86400) {
		fprintf(stderr, "PostgreSQL: partition_seconds %lld is neither 3600 nor 86400\n",
			(long long)*actual);
		return -EINVAL;
	}
	return 0;
}

int64_t fleet_host_id(const char *name)
{
	uint8_t md[SHA256_LEN];
	uint64_t v = 0;
	sha256_once(name, strlen(name), md);
	for (int i = 0; i < 8; i++)
		v = v << 8 | md[i];
	return (int64_t)(v & INT64_MAX);
}

size_t fleet_shard(int64_t host_id, size_t n)
{
	return n ? (size_t)((uint64_t)host_id % n) : 0;
}

void fleet_format_ts(uint64_t ns, char *out, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&sec, &tm);
	snprintf(out, len, "%04d-%02d-%02d %02d:%02d:%02d.%06u+00", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns % 1000000000ull / 1000));
}

int fleet_parse_ts(const char *s, uint64_t *ns)
{
	struct tm tm = { 0 };
	char frac[8] = "";
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -EINVAL;
	s += n;
	if (*s == '.') {
		size_t k = strspn(s + 1, "0123456789");
		if (k == 0 || k > 6)
			return -EINVAL;
		memcpy(frac, s + 1, k);
		s += 1 + k;
	}
	if (strcmp(s, "+00") != 0 || tm.tm_year < 1970)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t sec = timegm(&tm);
	if (sec < 0)
		return -EINVAL;
	uint64_t us = 0;
	for (size_t i = 0; i < 6; i++)
		us = us * 10 + (uint64_t)(frac[i] ? frac[i] - '0' : 0);
	*ns = (uint64_t)sec * 1000000000ull + us * 1000;
	return 0;
}

void fleet_format_inet(const uint8_t addr[16], char *out, size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char tmp[INET6_ADDRSTRLEN];
	if (memcmp(addr, mapped, 12) == 0)
		inet_ntop(AF_INET, addr + 12, tmp, sizeof(tmp));
	else
		inet_ntop(AF_INET6, addr, tmp, sizeof(tmp));
	snprintf(out, len, "%s", tmp);
}
