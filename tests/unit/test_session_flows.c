// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_session_flows.c - TLS sessions found through their flows (index schema 8: no index of
 * tls_sessions by chunk). Checked: a session stored in the chunk after its flow's packets (its
 * ClientHello's chunk closed before the session came) widens the flow's first_chunk..last_chunk
 * to its chunk, in one transaction or the next, and a rebuild from the segments gives the same
 * rows; the fleet shipper's local query, batch after batch of chunks, gives every session
 * (with its flow, as its flow's rows travel); retention deletes the sessions of the flows it
 * deletes and leaves no session without a flow; an index of version 7 (the index by chunk, the
 * flows' ranges without their sessions' chunks) is migrated and answers the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index.h"
#include "index_sql.h"
#include "shipmap.h"
#include "store.h"
#include "tmp_store.h"

#define NS 1000000000ull
#define T0 (1764140400ull * NS)

#define setup tmp_store_setup
#define teardown tmp_store_teardown

static void small_store(struct store_options *o)
{
	store_options_default(o);
	o->chunk_bytes = 4096;
	o->segment_bytes = 16 * 1024;
	o->quiet = true;
}

/* The flows and sessions rows, as text (what a rebuild or a migration must give again). */
#define ROWS_MAX 65536
static const char rows_sql[] =
	"SELECT (SELECT group_concat(r, ',') FROM (SELECT id || ':' || first_chunk || '-' || "
	"last_chunk || ':' || packets || ':' || bytes || ':' || first_ns || ':' || last_ns AS r "
	"FROM flows ORDER BY id)) || ' / ' || (SELECT group_concat(r, ',') FROM (SELECT flow_id "
	"|| ':' || hex(client_random) || ':' || chunk_id AS r FROM tls_sessions ORDER BY flow_id, "
	"client_random))";

struct writer {
	struct store *s;
	uint32_t ifid;
	uint64_t ts;
};

static void open_writer(struct writer *w, const char *dir, const struct store_options *o)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(store_open(dir, STORE_WRITE, o, &w->s), 0);
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	assert_int_equal(store_add_interface(w->s, &ifc, &w->ifid), 0);
	w->ts = T0;
}

static uint64_t new_flow(struct writer *w, uint16_t port)
{
	struct flow_record fr = { .id = store_new_flow_id(w->s), .first_ns = w->ts };
	fr.key.proto = FLOW_PROTO_TCP;
	fr.key.family = 4;
	memset(fr.key.addr_a + 10, 0xff, 2);
	memset(fr.key.addr_b + 10, 0xff, 2);
	fr.key.addr_a[12] = fr.key.addr_b[12] = 127;
	fr.key.addr_a[15] = fr.key.addr_b[15] = 1;
	fr.key.port_a = port;
	fr.key.port_b = 443;
	fr.proc[0].valid = true;
	fr.proc[0].pid = 1000 + port;
	snprintf(fr.proc[0].comm, sizeof(fr.proc[0].comm), "curl");
	assert_int_equal(store_put_flow(w->s, &fr), 0);
	return fr.id;
}

static void packets(struct writer *w, uint64_t flow, unsigned n)
{
	uint8_t data[400];
	for (unsigned i = 0; i < n; i++) {
		memset(data, (int)(flow + i), sizeof(data));
		struct ecap_packet p = { .ts_ns = w->ts, .iface = w->ifid, .caplen = sizeof(data),
					 .origlen = sizeof(data), .flags = 2, .flow_id = flow,
					 .data = data };
		w->ts += 1000000;
		assert_int_equal(store_append_packet(w->s, &p), 0);
	}
}

static void session(struct writer *w, uint64_t flow, uint8_t tag)
{
	uint8_t cr[32];
	memset(cr, tag, sizeof(cr));
	memcpy(cr, &flow, sizeof(flow));
	assert_int_equal(store_put_tls_session(w->s, cr, flow), 0);
}

/*
 * Flow A's ClientHello is in a chunk that closes before its session is stored (the session
 * lands in the next chunk, where A has no packet); flow B's session comes in a later
 * transaction than B's packets; flow C is the ordinary case. Then more chunks of other flows.
 * Returns A's id; *a_chunk: the chunk of A's session.
 */
static uint64_t write_late_sessions(const char *dir, const struct store_options *o,
				    int64_t *a_chunk)
{
	struct writer w;
	open_writer(&w, dir, o);
	uint64_t a = new_flow(&w, 40001), b = new_flow(&w, 40002), c = new_flow(&w, 40003);
	packets(&w, a, 3);
	packets(&w, b, 3);
	assert_int_equal(store_sync(w.s), 0);      /* A's and B's chunk closes */
	session(&w, a, 0xa1);                      /* in the next chunk, with C's packets */
	packets(&w, c, 2);
	session(&w, c, 0xc1);
	packets(&w, c, 2);
	assert_int_equal(store_sync(w.s), 0);
	session(&w, b, 0xb1);                      /* a transaction later */
	for (unsigned i = 0; i < 40; i++) {
		uint64_t f = new_flow(&w, (uint16_t)(41000 + i));
		packets(&w, f, 4);
		session(&w, f, (uint8_t)i);
	}
	assert_int_equal(store_close(w.s), 0);
	*a_chunk = index_int(dir, "SELECT chunk_id FROM tls_sessions WHERE flow_id = 1");
	return a;
}

static void test_session_widens_flow(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_store(&o);
	int64_t a_chunk;
	uint64_t a = write_late_sessions(f->dir, &o, &a_chunk);
	assert_int_equal(a, 1);
	/* A's packets are all in an earlier chunk than its session */
	assert_true(a_chunk > index_int(f->dir, "SELECT min(id) FROM chunks"));
	assert_int_equal(index_int(f->dir, "SELECT last_chunk FROM flows WHERE id = 1"), a_chunk);
	assert_int_equal(index_int(f->dir, "SELECT packets FROM flows WHERE id = 1"), 3);
	/* every session lies within its flow's chunks, and there is no index by chunk */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM tls_sessions t JOIN flows f ON "
				   "f.id = t.flow_id WHERE t.chunk_id BETWEEN f.first_chunk AND "
				   "f.last_chunk"),
			 43);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM tls_sessions"), 43);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM sqlite_master WHERE name = "
				   "'tls_sessions_by_chunk'"),
			 0);
	assert_true(index_int(f->dir, "SELECT t.chunk_id - f.last_chunk FROM tls_sessions t JOIN "
			      "flows f ON f.id = t.flow_id WHERE t.flow_id = 2") == 0);

	/* the same rows from the segments alone */
	static char before[ROWS_MAX], after[ROWS_MAX];
	index_text(f->dir, rows_sql, before, sizeof(before));
	char p[128];
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(store_rebuild(f->dir, &o, false), 0);
	index_text(f->dir, rows_sql, after, sizeof(after));
	assert_string_equal(before, after);
}

/* The shipper's local query for the central ecap_tls_sessions, as ship.c runs it. */
static const struct shiptable *tls_table(void)
{
	for (size_t i = 0; i < shipmap_n_tables; i++)
		if (!strcmp(shipmap_tables[i].central, "ecap_tls_sessions"))
			return &shipmap_tables[i];
	fail_msg("no ecap_tls_sessions in shipmap");
	return NULL;
}

/* The sessions the shipper sends for batches of `batch` chunks from the first to the last, as
 * "flow:chunk" words, each once (a session sent again when its flow grows replaces itself
 * centrally). */
static size_t shipped_sessions(const char *dir, int64_t batch, char *out, size_t len)
{
	const struct shiptable *t = tls_table();
	char sql[1024], p[128];
	size_t off = (size_t)snprintf(sql, sizeof(sql), "SELECT DISTINCT ");
	for (size_t i = 0; i < t->n_cols; i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s%s", i ? ", " : "",
					t->cols[i].local);
	snprintf(sql + off, sizeof(sql) - off, " %s", t->local_from);
	int64_t last = index_int(dir, "SELECT max(id) FROM chunks");
	sqlite3 *db;
	sqlite3_stmt *st, *put;
	snprintf(p, sizeof(p), "%s/index.db", dir);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TEMP TABLE got(flow_id, chunk_id, "
				      "PRIMARY KEY (flow_id, chunk_id))", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO temp.got VALUES (?1, ?2)",
					    -1, &put, NULL),
			 SQLITE_OK);
	for (int64_t lo = 0; lo < last; lo += batch) {
		sqlite3_bind_int64(st, 1, lo);
		sqlite3_bind_int64(st, 2, lo + batch);
		while (sqlite3_step(st) == SQLITE_ROW) {
			assert_int_equal(sqlite3_column_bytes(st, 1), 32);
			sqlite3_bind_int64(put, 1, sqlite3_column_int64(st, 0));
			sqlite3_bind_int64(put, 2, sqlite3_column_int64(st, 2));
			assert_int_equal(sqlite3_step(put), SQLITE_DONE);
			sqlite3_reset(put);
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(put);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), group_concat(flow_id || ':' || "
					    "chunk_id, ',') FROM (SELECT * FROM temp.got ORDER BY "
					    "flow_id, chunk_id)", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	size_t n = (size_t)sqlite3_column_int64(st, 0);
	snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void test_shipper_sessions(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_store(&o);
	int64_t a_chunk;
	write_late_sessions(f->dir, &o, &a_chunk);
	static char all[ROWS_MAX], got[ROWS_MAX];
	index_text(f->dir, "SELECT group_concat(flow_id || ':' || chunk_id, ',') FROM (SELECT * "
		   "FROM tls_sessions ORDER BY flow_id, chunk_id)", all, sizeof(all));
	/* batch after batch of one chunk, of three, and all at once: every session, with the
	 * chunk it was found in */
	const int64_t batches[] = { 1, 3, 1000 };
	for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		assert_int_equal(shipped_sessions(f->dir, batches[i], got, sizeof(got)), 43);
		assert_string_equal(got, all);
	}
}

/* Retention (the oldest segments deleted) takes the sessions of the flows it deletes, keeps
 * those of a flow that lives on, and leaves no session without its flow. */
static void test_sessions_retention(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_store(&o);
	o.max_age_ns = NS; /* of the 4.5 s of packets below */
	struct writer w;
	open_writer(&w, f->dir, &o);
	uint64_t lasting = new_flow(&w, 40000);
	session(&w, lasting, 0xee);
	for (unsigned i = 0; i < 1500; i++) {
		uint64_t fl = new_flow(&w, (uint16_t)(41000 + i % 20000));
		packets(&w, fl, 2);
		session(&w, fl, (uint8_t)i);
		packets(&w, lasting, 1);
	}
	assert_int_equal(store_close(w.s), 0);
	int64_t first = index_int(f->dir, "SELECT min(id) FROM flows WHERE id > 1");
	assert_true(first > 100); /* retention deleted the older flows */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM tls_sessions WHERE flow_id NOT IN "
				   "(SELECT id FROM flows)"),
			 0);
	/* the lasting flow keeps its session, whose chunk went */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM tls_sessions WHERE flow_id = 1"),
			 1);
	assert_true(index_int(f->dir, "SELECT chunk_id FROM tls_sessions WHERE flow_id = 1") <
		    index_int(f->dir, "SELECT min(id) FROM chunks"));
	/* every flow left has its session */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM tls_sessions"),
			 index_int(f->dir, "SELECT count(*) FROM flows"));
}

/* An index of version 7, as that ecap left the store of write_late_sessions: the index by
 * chunk, and flow A's range without its session's chunk. Migrated when opened: the index
 * goes, A's range covers its session, and the rows are those of an index made now. */
static void test_migrate_from_7(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_store(&o);
	int64_t a_chunk;
	write_late_sessions(f->dir, &o, &a_chunk);
	static char before[ROWS_MAX], after[ROWS_MAX];
	index_text(f->dir, rows_sql, before, sizeof(before));
	struct store_stats sb, sa;
	struct store *s;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &sb), 0);
	store_close(s);
	char sql[256];
	index_to_v9(f->dir);
	snprintf(sql, sizeof(sql), "CREATE INDEX tls_sessions_by_chunk ON tls_sessions(chunk_id);"
		 "UPDATE flows SET last_chunk = %lld WHERE id = 1; PRAGMA user_version = 7;",
		 (long long)a_chunk - 1);
	index_exec(f->dir, sql);
	assert_int_equal(index_int(f->dir, "SELECT last_chunk FROM flows WHERE id = 1"),
			 a_chunk - 1);

	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0); /* migrates */
	assert_int_equal(store_get_stats(s, &sa), 0);
	store_close(s);
	assert_int_equal(index_int(f->dir, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM sqlite_master WHERE name = "
				   "'tls_sessions_by_chunk'"),
			 0);
	index_text(f->dir, rows_sql, after, sizeof(after));
	assert_string_equal(before, after);
	sb.index_bytes = sa.index_bytes = 0; /* the file, which the migration changed */
	assert_memory_equal(&sb, &sa, sizeof(sb));
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(store_fsck(f->dir, devnull), 0);
	fclose(devnull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_widens_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shipper_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_7, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
