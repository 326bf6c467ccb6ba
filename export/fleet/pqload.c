// SPDX-License-Identifier: GPL-2.0-only
/*
 * pqload.c - PostgreSQL's client library (libpq.so.5) loaded when a fleet command first
 * connects, not when a program starts. ecap-export and ecap-ls carry the fleet code, but most
 * of their runs never touch PostgreSQL: linked, libpq and the two dozen libraries it needs
 * (Kerberos, LDAP, SASL, GnuTLS...) were mapped and relocated at every start, about 3 ms of
 * CPU per export (BENCHMARKS section 10).
 *
 * The fleet code calls the libpq functions below by their own names and types (libpq-fe.h);
 * each one here calls the library's function through a pointer that fleet_pq_load() fills.
 * fleet_connect() loads first, so no other one runs unloaded. A libpq function new to the
 * fleet code needs a line in PQ_FUNCTIONS (the link fails without it).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "pgconn.h"

#define PQ_SONAME "libpq.so.5"

/* X(return type, name, parameters, arguments): the ones that return a value, */
#define PQ_FUNCTIONS(X)                                                                         \
	X(PGconn *, PQconnectdbParams,                                                          \
	  (const char *const *keywords, const char *const *values, int expand_dbname),          \
	  (keywords, values, expand_dbname))                                                    \
	X(ConnStatusType, PQstatus, (const PGconn *conn), (conn))                               \
	X(char *, PQerrorMessage, (const PGconn *conn), (conn))                                 \
	X(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query))                 \
	X(PGresult *, PQexecParams,                                                             \
	  (PGconn *conn, const char *command, int nParams, const Oid *paramTypes,               \
	   const char *const *paramValues, const int *paramLengths, const int *paramFormats,    \
	   int resultFormat),                                                                   \
	  (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,        \
	   resultFormat))                                                                       \
	X(int, PQsendQueryParams,                                                               \
	  (PGconn *conn, const char *command, int nParams, const Oid *paramTypes,               \
	   const char *const *paramValues, const int *paramLengths, const int *paramFormats,    \
	   int resultFormat),                                                                   \
	  (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,        \
	   resultFormat))                                                                       \
	X(PGresult *, PQgetResult, (PGconn *conn), (conn))                                      \
	X(ExecStatusType, PQresultStatus, (const PGresult *res), (res))                         \
	X(int, PQntuples, (const PGresult *res), (res))                                         \
	X(int, PQnfields, (const PGresult *res), (res))                                         \
	X(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num),                \
	  (res, tup_num, field_num))                                                            \
	X(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num),                  \
	  (res, tup_num, field_num))                                                            \
	X(int, PQputCopyData, (PGconn *conn, const char *buffer, int nbytes),                   \
	  (conn, buffer, nbytes))                                                               \
	X(int, PQputCopyEnd, (PGconn *conn, const char *errormsg), (conn, errormsg))            \
	X(char *, PQescapeIdentifier, (PGconn *conn, const char *str, size_t len),              \
	  (conn, str, len))
/* and the ones that return nothing. */
#define PQ_VOID_FUNCTIONS(X)                                                                    \
	X(void, PQfinish, (PGconn *conn), (conn))                                               \
	X(void, PQclear, (PGresult *res), (res))                                                \
	X(void, PQfreemem, (void *ptr), (ptr))

#define POINTER(ret, name, params, args) static ret(*p_##name) params;
PQ_FUNCTIONS(POINTER)
PQ_VOID_FUNCTIONS(POINTER)

#define WRAP(ret, name, params, args)                                                           \
	ret name params                                                                         \
	{                                                                                       \
		return p_##name args;                                                           \
	}
#define WRAP_VOID(ret, name, params, args)                                                      \
	ret name params                                                                         \
	{                                                                                       \
		p_##name args;                                                                  \
	}
PQ_FUNCTIONS(WRAP)
PQ_VOID_FUNCTIONS(WRAP_VOID)

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static int load_state; /* 0 not tried, 1 loaded, -1 failed (load_error says why) */
static char load_error[256];

int fleet_pq_load(char *err, size_t len)
{
	pthread_mutex_lock(&load_lock);
	if (load_state == 0) {
		void *h = dlopen(PQ_SONAME, RTLD_NOW | RTLD_LOCAL);
		const char *missing = NULL;
		if (h) {
#define RESOLVE(ret, name, params, args)                                                        \
	if (!missing && !(*(void **)&p_##name = dlsym(h, #name)))                               \
		missing = #name;
			PQ_FUNCTIONS(RESOLVE)
			PQ_VOID_FUNCTIONS(RESOLVE)
#undef RESOLVE
		}
		if (!h)
			snprintf(load_error, sizeof(load_error),
				 "PostgreSQL's client library could not be loaded (install the "
				 "package libpq5): %s", dlerror());
		else if (missing)
			snprintf(load_error, sizeof(load_error),
				 "PostgreSQL's client library %s has no function %s",
				 PQ_SONAME, missing);
		load_state = h && !missing ? 1 : -1;
	}
	int ok = load_state == 1;
	pthread_mutex_unlock(&load_lock);
	if (!ok)
		snprintf(err, len, "%s", load_error);
	return ok ? 0 : -ENOENT;
}
