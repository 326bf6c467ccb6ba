// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_index_rows.c - index_add_chunk() writes a chunk's flows, owners, processes and sessions
 * with one statement per table (schema/index_rows.h) when their keys come after the table's last, and
 * one row at a time otherwise. Both must make the same rows: the same chunks are indexed into
 * an index where a row placed at the end of flows and tls_sessions beforehand sends every
 * record down the one-at-a-time path (the way every row was written before), into a fresh one
 * (the statements), and again with each chunk's records and sessions in another order; the
 * three indexes' tables must be equal row for row, and hold what the chunks say (processes
 * rows as each record's own statement made them before they were batched: the first record of
 * a process kept, last_chunk the latest chunk that carried it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "index.h"
#include "index_sql.h"
#include "tmp_store.h"

#define FAR_FLOW "9223372036854775807" /* INT64_MAX: above any flow of the test */

static struct ecap_proc owner(uint32_t pid, const char *comm)
{
	struct ecap_proc p = { .valid = true, .pid = pid, .tid = pid, .uid = 1000, .gid = 1000,
			       .netns = 4026531840u, .start_ns = 1000000ull * pid };
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	return p;
}

static struct flow_record flow(uint64_t id, uint32_t client_pid, const char *client_comm)
{
	struct flow_record f = { .id = id, .first_ns = 1000 * id };
	f.key.proto = 6;
	f.key.family = 4;
	f.key.addr_a[10] = f.key.addr_a[11] = f.key.addr_b[10] = f.key.addr_b[11] = 0xff;
	f.key.addr_a[12] = 10;
	f.key.addr_a[15] = (uint8_t)id;
	f.key.addr_b[12] = 192;
	f.key.addr_b[15] = 1;
	f.key.port_a = (uint16_t)(40000 + id);
	f.key.port_b = 443;
	if (client_pid)
		f.proc[0] = owner(client_pid, client_comm);
	f.proc[1] = owner(80, "nginx");
	return f;
}

static struct chunkmeta_session session(uint64_t flow_id, uint8_t random)
{
	struct chunkmeta_session s = { .flow_id = flow_id };
	memset(s.client_random, random, sizeof(s.client_random));
	return s;
}

/* Chunk 1: new flows out of order, flow 3 twice (its second record names its client), a
 * session twice. Chunk 2: flow 6, below the largest flow so far but new; flow 3 again with
 * another client (the former owner's owner_flows row goes: index.sql's trigger); a session of
 * an older flow; flow 10's packets before its record, which chunk 3 brings. */
static struct flow_record c1_flows[5];
static struct flow_record c2_flows[4], c3_flows[1];
static struct chunkmeta_session c1_sessions[4], c2_sessions[3], c3_sessions[1];
static struct chunkmeta_flowstat c1_stats[2], c2_stats[3];
static struct ecap_proc_info c1_procs[3], c2_procs[2], c3_procs[1];

static struct ecap_proc_info procinfo(uint32_t pid, const char *exe)
{
	struct ecap_proc_info p = { .pid = pid, .start_ns = 1000000ull * pid,
				    .start_wall_ns = 1700000000000000000ull + pid, .ppid = 1,
				    .nspid = pid };
	snprintf(p.parent_comm, sizeof(p.parent_comm), "bash");
	snprintf(p.exe, sizeof(p.exe), "%s", exe);
	snprintf(p.args, sizeof(p.args), "%s -s https://example.test/", exe);
	snprintf(p.cgroup, sizeof(p.cgroup), "/user.slice");
	return p;
}

static void make_chunks(void)
{
	c1_flows[0] = flow(5, 501, "curl");
	c1_flows[1] = flow(3, 0, "");
	c1_flows[2] = flow(4, 401, "curl");
	c1_flows[3] = flow(3, 301, "wget");
	c1_flows[4] = flow(7, 501, "curl");
	c1_sessions[0] = session(3, 0xa1);
	c1_sessions[1] = session(5, 0xb1);
	c1_sessions[2] = session(3, 0xa1);
	c1_sessions[3] = session(7, 0xc1);
	c1_stats[0] = (struct chunkmeta_flowstat){ .flow_id = 3, .packets = 4, .bytes = 400,
						   .first_ns = 3000, .last_ns = 3900 };
	c1_stats[1] = (struct chunkmeta_flowstat){ .flow_id = 5, .packets = 2, .bytes = 200,
						   .first_ns = 5000, .last_ns = 5100 };
	c2_flows[0] = flow(9, 901, "curl");
	c2_flows[1] = flow(6, 601, "python3");
	c2_flows[2] = flow(3, 302, "wget");
	c2_flows[3] = flow(8, 501, "curl");
	c2_sessions[0] = session(6, 0xd1);
	c2_sessions[1] = session(3, 0xe1);
	c2_sessions[2] = session(9, 0xb1); /* flow 5's client_random on another flow */
	c2_stats[0] = (struct chunkmeta_flowstat){ .flow_id = 3, .packets = 1, .bytes = 60,
						   .first_ns = 9000, .last_ns = 9000 };
	c2_stats[1] = (struct chunkmeta_flowstat){ .flow_id = 8, .packets = 3, .bytes = 300,
						   .first_ns = 8000, .last_ns = 8200 };
	c2_stats[2] = (struct chunkmeta_flowstat){ .flow_id = 10, .packets = 5, .bytes = 500,
						   .first_ns = 10000, .last_ns = 10400 };
	c3_flows[0] = flow(10, 1001, "curl");
	c3_sessions[0] = session(10, 0xf1);
	/* 501 twice in chunk 1 (the first record kept), again in chunk 2 and 3 (last_chunk) */
	c1_procs[0] = procinfo(501, "/usr/bin/curl");
	c1_procs[1] = procinfo(401, "/usr/bin/curl");
	c1_procs[2] = procinfo(501, "/usr/bin/curl-later");
	c2_procs[0] = procinfo(601, "/usr/bin/python3");
	c2_procs[1] = procinfo(501, "/usr/bin/curl-again");
	c3_procs[0] = procinfo(501, "/usr/bin/curl");
	snprintf(c2_procs[0].container_id, sizeof(c2_procs[0].container_id), "%064x", 6);
	snprintf(c2_procs[0].runtime, sizeof(c2_procs[0].runtime), "podman");
}

static struct chunk_meta chunk(uint64_t id, struct flow_record *flows, size_t n_flows,
			       struct chunkmeta_session *sessions, size_t n_sessions,
			       struct chunkmeta_flowstat *stats, size_t n_stats)
{
	struct chunk_meta m = { .id = id, .first_ns = 1000 * id, .last_ns = 1000 * id + 999,
				.packets = 10, .segment = 1, .offset = 100 * (id - 1),
				.length = 100 };
	m.flows = flows;
	m.n_flows = n_flows;
	m.sessions = sessions;
	m.n_sessions = n_sessions;
	m.flowstats = stats;
	m.n_flowstats = n_stats;
	m.procs = id == 1 ? c1_procs : id == 2 ? c2_procs : c3_procs;
	m.n_procs = id == 1 ? 3 : id == 2 ? 2 : 1;
	return m;
}

/* Reverses each chunk's sessions, and its flows but for flow 3's records, whose order is
 * the chunk's (the later names the owner). */
static void reorder_chunks(void)
{
	struct flow_record t = c1_flows[0];
	c1_flows[0] = c1_flows[4];
	c1_flows[4] = t;
	t = c2_flows[0];
	c2_flows[0] = c2_flows[3];
	c2_flows[3] = t;
	struct chunkmeta_session s = c1_sessions[0];
	c1_sessions[0] = c1_sessions[3];
	c1_sessions[3] = s;
	s = c2_sessions[0];
	c2_sessions[0] = c2_sessions[2];
	c2_sessions[2] = s;
}

static void exec(struct index *ix, const char *sql)
{
	assert_int_equal(sqlite3_exec(index_db(ix), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* The rows of the tables index_add_chunk writes, in key order, as text. */
static char *dump(struct index *ix)
{
	static const char *const queries[] = {
		"SELECT id, proto, family, hex(addr_a), port_a, hex(addr_b), port_b, first_ns, "
		"last_ns, packets, bytes, first_chunk, last_chunk FROM flows ORDER BY id",
		"SELECT * FROM flow_procs ORDER BY flow_id, side",
		"SELECT * FROM owner_flows ORDER BY comm, uid, pid, start, netns, first_flow",
		"SELECT hex(client_random), flow_id, chunk_id FROM tls_sessions "
		"ORDER BY flow_id, client_random",
		"SELECT id, hex(client_random), session_chunk FROM flows ORDER BY id",
		"SELECT hex(client_random), flow_id, chunk_id FROM tls_sessions_extra "
		"ORDER BY flow_id, client_random",
		"SELECT chunk_id, ids_lo, ids_hi, hex(ids), hex(filter) FROM chunk_flow_keys "
		"ORDER BY chunk_id",
		"SELECT id, segment, offset, length, hex(flows), near_secrets FROM chunks ORDER BY id",
		"SELECT * FROM processes ORDER BY pid, start",
	};
	size_t cap = 1 << 16, len = 0;
	char *out = calloc(1, cap);
	assert_non_null(out);
	for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(index_db(ix), queries[q], -1, &st, NULL),
				 SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				const unsigned char *v = sqlite3_column_text(st, c);
				len += (size_t)snprintf(out + len, cap - len, "%s|",
							v ? (const char *)v : "NULL");
				assert_true(len < cap);
			}
			out[len++] = '\n';
		}
		sqlite3_finalize(st);
		out[len++] = '\n';
	}
	return out;
}

/* The three chunks into a new index in directory dir (chunk 2 indexed, rolled back and indexed again
 * with chunk 3, as after a failed commit), one row at a time when one_by_one; its tables'
 * dump. */
static char *index_chunks(const char *dir, bool one_by_one)
{
	struct index *ix;
	char err[256], path[128];
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/index.db", dir);
	assert_int_equal(index_open(path, true, true, &ix, err, sizeof(err)), 0);
	if (one_by_one)
		exec(ix, "INSERT INTO flows(id, proto, family, addr_a, port_a, addr_b, port_b, "
			 "first_ns, last_ns, first_chunk, last_chunk) VALUES (" FAR_FLOW ", 0, 0, "
			 "x'', 0, x'', 0, 0, 0, 0, 0)");
	struct chunk_meta m1 = chunk(1, c1_flows, 5, c1_sessions, 4, c1_stats, 2);
	struct chunk_meta m2 = chunk(2, c2_flows, 4, c2_sessions, 3, c2_stats, 3);
	struct chunk_meta m3 = chunk(3, c3_flows, 1, c3_sessions, 1, NULL, 0);
	assert_int_equal(index_begin(ix), 0);
	assert_int_equal(index_add_chunk(ix, &m1, NULL, 0, false), 0);
	assert_int_equal(index_commit(ix), 0);
	assert_int_equal(index_begin(ix), 0);
	assert_int_equal(index_add_chunk(ix, &m2, NULL, 0, false), 0);
	assert_int_equal(index_rollback(ix), 0);
	assert_int_equal(index_begin(ix), 0);
	assert_int_equal(index_add_chunk(ix, &m2, NULL, 0, true), 0);
	assert_int_equal(index_add_chunk(ix, &m3, NULL, 0, false), 0);
	assert_int_equal(index_commit(ix), 0);
	if (one_by_one)
		exec(ix, "DELETE FROM flows WHERE id = " FAR_FLOW);
	char *d = dump(ix);
	index_close(ix);
	return d;
}

static void test_same_rows(void **state)
{
	struct fixture *f = *state;
	char one[96], batch[96], other[96];
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(one, sizeof(one), "%s/one", f->dir);
	snprintf(batch, sizeof(batch), "%s/batch", f->dir);
	snprintf(other, sizeof(other), "%s/other", f->dir);
	make_chunks();
	char *a = index_chunks(one, true);
	char *b = index_chunks(batch, false);
	reorder_chunks();
	char *c = index_chunks(other, false);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	free(a);
	free(b);
	free(c);

	/* and the rows are what the chunks say */
	assert_int_equal(index_int(batch, "SELECT group_concat(id) = '3,4,5,6,7,8,9,10' FROM "
					"(SELECT id FROM flows ORDER BY id)"), 1);
	/* flow 3: its packets of chunks 1 and 2, its client the last record's */
	assert_int_equal(index_int(batch, "SELECT packets * 10000 + bytes FROM flows WHERE id = 3"),
			 50460);
	assert_int_equal(index_int(batch, "SELECT first_chunk * 10 + last_chunk FROM flows "
					"WHERE id = 3"), 12);
	assert_int_equal(index_int(batch, "SELECT pid FROM flow_procs WHERE flow_id = 3 AND "
					"side = 0"), 302);
	/* wget 301 owned flow 3 alone: its owner_flows row went when 302 took it */
	assert_int_equal(index_int(batch, "SELECT count(*) FROM owner_flows WHERE pid = 301"), 0);
	assert_int_equal(index_int(batch, "SELECT count(*) FROM owner_flows WHERE pid = 302"), 1);
	/* curls 401 and 501 (flows 4, 5 and 7) one group in chunk 1 (index schema 11: start 0,
	 * pids 401..501); in chunk 2, 501's flow 8 and 901's flow 9, too far apart in pid for
	 * one group (owner_ranges.h OWNER_PID_SPAN), a row each as a process */
	assert_int_equal(index_int(batch, "SELECT group_concat(pid || '-' || coalesce(pid_last, "
					"'one') || ':' || start || ':' || first_flow || '-' || "
					"last_flow) = '401-501:0:4-7,501-one:501000000:8-8,"
					"901-one:901000000:9-9,1001-one:1001000000:10-10' FROM "
					"(SELECT * FROM owner_flows WHERE comm = 'curl' ORDER BY "
					"first_flow)"), 1);
	/* flow 10: its packets (chunk 2) with its record (chunk 3) */
	assert_int_equal(index_int(batch, "SELECT packets * 100 + first_chunk * 10 + last_chunk "
					"FROM flows WHERE id = 10"), 523);
	/* processes: one row each, the first record's, with the last chunk that carried it */
	assert_int_equal(index_int(batch, "SELECT count(*) FROM processes"), 3);
	assert_int_equal(index_int(batch, "SELECT last_chunk FROM processes WHERE pid = 501"), 3);
	assert_int_equal(index_int(batch, "SELECT exe = '/usr/bin/curl' AND args = "
					"'/usr/bin/curl -s https://example.test/' AND ppid = 1 AND "
					"parent_comm = 'bash' AND start_wall = 1700000000000000501 "
					"FROM processes WHERE pid = 501"), 1);
	assert_int_equal(index_int(batch, "SELECT last_chunk * 10 + (runtime = 'podman') + "
					"(length(container_id) = 64) FROM processes WHERE pid = 601"),
			 22);
	assert_int_equal(index_int(batch, "SELECT last_chunk FROM processes WHERE pid = 401"), 1);
	/* sessions: each once, flow 3's two, 0xb1 on flows 5 and 9 */
	assert_int_equal(index_int(batch, "SELECT count(*) FROM tls_sessions"), 7);
	assert_int_equal(index_int(batch, "SELECT count(*) FROM tls_sessions WHERE flow_id = 3"), 2);
	assert_int_equal(index_int(batch, "SELECT group_concat(flow_id) = '5,9' FROM (SELECT flow_id "
					"FROM tls_sessions WHERE client_random = "
					"x'b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1'"
					" ORDER BY flow_id)"), 1);
	/* a flow's keys with the chunk that made its row, once */
	assert_int_equal(index_int(batch, "SELECT group_concat(chunk_id || ':' || ids_lo || '-' || "
					"ids_hi) = '1:3-7,2:6-9,3:10-10' FROM (SELECT * FROM "
					"chunk_flow_keys ORDER BY chunk_id)"), 1);
}

/* The tables, columns, indexes, views and triggers of the index in dir, as text. */
static void structure(const char *dir, char *out, size_t len)
{
	index_text(dir, "SELECT group_concat(x, char(10)) FROM (SELECT m.type || '|' || m.name || "
			"'|' || coalesce(c.cid || '|' || c.name || '|' || c.type || '|' || c.\"notnull\" "
			"|| '|' || coalesce(c.dflt_value, '') || '|' || c.pk, m.sql) AS x FROM "
			"sqlite_master m LEFT JOIN pragma_table_xinfo(m.name) c ON m.type = 'table' "
			"WHERE m.name NOT LIKE 'sqlite_%' ORDER BY m.type, m.name, c.cid)", out, len);
}

/* Version 10 keeps a flow's owners and first session in its row (index.sql): an index of
 * version 9 (made from a new one by tests/index_to_v9.sql, flow_procs and tls_sessions
 * tables), migrated, holds the same rows as before in the same places (flow 3's first session
 * by chunk in its row, its second in tls_sessions_extra) and has a new index's structure. */
static void test_migrate_9(void **state)
{
	struct fixture *f = *state;
	char batch[96], old[96], path[128], err[256];
	static char new_structure[32768], migrated_structure[32768];
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(batch, sizeof(batch), "%s/batch", f->dir);
	snprintf(old, sizeof(old), "%s/old", f->dir);
	make_chunks();
	char *a = index_chunks(batch, false);
	char *b = index_chunks(old, false);
	structure(batch, new_structure, sizeof(new_structure));
	index_to_v9(old);
	assert_int_equal(index_int(old, "PRAGMA user_version"), 9);
	assert_int_equal(index_int(old, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
				    "AND name IN ('flow_procs', 'tls_sessions')"), 2);
	/* the rows of version 9's tables: what the new index's views show */
	assert_int_equal(index_int(old, "SELECT count(*) FROM flow_procs"),
			 index_int(batch, "SELECT count(*) FROM flow_procs"));
	assert_int_equal(index_int(old, "SELECT count(*) FROM tls_sessions"), 7);
	struct index *ix;
	snprintf(path, sizeof(path), "%s/index.db", old);
	assert_int_equal(index_open(path, false, true, &ix, err, sizeof(err)), 0);
	char *c = dump(ix);
	index_close(ix);
	assert_int_equal(index_int(old, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	assert_string_equal(a, b);
	assert_string_equal(a, c);
	structure(old, migrated_structure, sizeof(migrated_structure));
	assert_string_equal(new_structure, migrated_structure);
	assert_int_equal(index_int(old, "SELECT session_chunk * 1000 + unicode(hex(client_random)) "
				    "FROM flows WHERE id = 3"), 1065); /* 'A' of A1..., chunk 1 */
	assert_int_equal(index_int(old, "SELECT chunk_id FROM tls_sessions_extra WHERE flow_id = 3 "
				    "AND client_random = x'e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1"
				    "e1e1e1e1e1e1e1e1e1e1e1e1'"), 2);
	free(a);
	free(b);
	free(c);
}

/*
 * The 9 -> 10 migration of a large index: its steps grow with the index, not with its square.
 * SQLite's progress callback (one call per 1,000 virtual machine steps), installed on every
 * connection as an auto extension, counts the work of index_open() on indexes of 2,000 and
 * 4,000 flows: twice the flows may take about twice the steps, not four times (a step that
 * looked up each session in a table without an index, as the first version did, took more
 * than an hour for 1,000,000 sessions). Each flow has its owners, a first session in its row
 * and a second in tls_sessions_extra, a chunk later; the migrated rows must be those made at
 * version 10.
 */
static unsigned long vm_steps;

static int count_steps(void *arg)
{
	(void)arg;
	vm_steps++;
	return 0;
}

static int step_counter(sqlite3 *db, char **err, const struct sqlite3_api_routines *api)
{
	(void)err;
	(void)api;
	sqlite3_progress_handler(db, 1000, count_steps, NULL);
	return SQLITE_OK;
}

static const char large_cols[] =
	"id, proto, family, addr_a, port_a, addr_b, port_b, first_ns, last_ns, first_chunk, "
	"last_chunk, a_pid, a_tid, a_uid, a_gid, a_comm, a_cgroup_id, a_netns, a_start, b_pid, "
	"b_tid, b_uid, b_gid, b_comm, b_cgroup_id, b_netns, b_start, client_random, session_chunk";


/* A version 10 index of n flows in dir (a copy kept in dir/want.db), turned into version 9's
 * layout and migrated by index_open(): the virtual machine's steps (thousands) it took. The
 * migrated flows and tls_sessions_extra rows must be the copy's, no more, no fewer. */
static unsigned long migrate_large(const char *dir, int n)
{
	char path[160], want[160], err[256], sql[1024];
	struct index *ix;
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/index.db", dir);
	snprintf(want, sizeof(want), "%s/want.db", dir);
	assert_int_equal(index_open(path, true, false, &ix, err, sizeof(err)), 0);
	index_close(ix);
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
		 "INSERT INTO flows (%s) SELECT i, 6, 4, randomblob(16), 40000 + i %% 20000, "
		 "randomblob(16), 443, i, i, i / 100 + 1, i / 100 + 1, i, i, 1000, 1000, 'curl', "
		 "0, 4026531840, i * 1000, 80, 80, 0, 0, 'nginx', 0, 4026531840, 5, "
		 "randomblob(32), i / 100 + 1 FROM n;"
		 "INSERT INTO tls_sessions_extra (client_random, flow_id, chunk_id) "
		 "SELECT randomblob(32), id, session_chunk + 1 FROM flows;"
		 "VACUUM INTO '%s';",
		 n, large_cols, want);
	index_exec(dir, sql);
	index_to_v9(dir);
	vm_steps = 0;
	assert_int_equal(index_open(path, false, true, &ix, err, sizeof(err)), 0);
	unsigned long steps = vm_steps;
	index_close(ix);
	assert_int_equal(index_int(dir, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	sqlite3 *db;
	sqlite3_stmt *st;
	snprintf(sql, sizeof(sql), "ATTACH '%s' AS want", want);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "SELECT (SELECT count(*) FROM (SELECT %s FROM flows EXCEPT SELECT %s FROM "
		 "want.flows)), (SELECT count(*) FROM (SELECT * FROM tls_sessions_extra EXCEPT "
		 "SELECT * FROM want.tls_sessions_extra)), (SELECT count(*) FROM flows), "
		 "(SELECT count(*) FROM tls_sessions_extra)",
		 large_cols, large_cols);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	assert_int_equal(sqlite3_column_int(st, 1), 0);
	assert_int_equal(sqlite3_column_int(st, 2), n);
	assert_int_equal(sqlite3_column_int(st, 3), n);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return steps;
}

static void test_migrate_9_large(void **state)
{
	struct fixture *f = *state;
	char dir[128];
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(sqlite3_auto_extension((void (*)(void))step_counter), SQLITE_OK);
	snprintf(dir, sizeof(dir), "%s/2000", f->dir);
	unsigned long small = migrate_large(dir, 2000);
	snprintf(dir, sizeof(dir), "%s/4000", f->dir);
	unsigned long twice = migrate_large(dir, 4000);
	sqlite3_reset_auto_extension();
	print_message("migration of 2,000 flows: %lu thousand steps; of 4,000: %lu\n", small,
		      twice);
	assert_true(twice < small * 3);
}

/*
 * A statement that changes more pages than a few megabytes hold, in a transaction, succeeds
 * with the settings index_open() gives SQLite (index.c, sqlite_settings). With a statement
 * journal spilled to a file past 4 MiB (the setting before), Debian's SQLite failed such a
 * statement with "database or disk is full": the migration of an index of 1,000,000 sessions
 * failed at its DROP TABLE, and so would any chunk or retention drop that large.
 */
static void test_big_statement(void **state)
{
	struct fixture *f = *state;
	char path[160], err[256];
	struct index *ix;
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/index.db", f->dir);
	assert_int_equal(index_open(path, true, false, &ix, err, sizeof(err)), 0);
	index_close(ix);
	index_exec(f->dir, "CREATE TABLE big (id INTEGER PRIMARY KEY, a, b);"
			   "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE "
			   "i < 400000) INSERT INTO big SELECT i, i, NULL FROM n;"
			   "BEGIN; UPDATE big SET b = randomblob(20) WHERE id IN (SELECT id FROM big);"
			   "COMMIT;");
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM big WHERE length(b) = 20"),
			 400000);
}

/* A damaged index of version 9 (its tls_sessions table gone): the migration fails, says why
 * (SQLite's reason, read before the rollback replaced it with "not an error") and leaves the
 * index as it was, at version 9. */
static void test_migrate_9_damaged(void **state)
{
	struct fixture *f = *state;
	char old[96], path[128], err[256] = "";
	struct index *ix = NULL;
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(old, sizeof(old), "%s/old", f->dir);
	make_chunks();
	free(index_chunks(old, false));
	index_to_v9(old);
	index_exec(old, "DROP TABLE tls_sessions");
	snprintf(path, sizeof(path), "%s/index.db", old);
	assert_true(index_open(path, false, true, &ix, err, sizeof(err)) < 0);
	assert_null(ix);
	print_message("%s\n", err);
	assert_non_null(strstr(err, "cannot migrate index from version 9: "));
	assert_non_null(strstr(err, "tls_sessions"));
	assert_int_equal(index_int(old, "PRAGMA user_version"), 9);
	assert_int_equal(index_int(old, "SELECT count(*) FROM sqlite_master WHERE name = "
				    "'flow_procs'"), 1);
}

/* A flow end whose owner changes (index.sql's trigger flows_owner_moved, index schema 11): the
 * row of a group that covered it goes once no flow of any of the group's processes is left in
 * its run, and stays while one is; a row of one process goes as before. */
static void test_group_owner_moved(void **state)
{
	struct fixture *f = *state;
	struct index *ix;
	char err[256], path[128];
	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/index.db", f->dir);
	assert_int_equal(index_open(path, true, true, &ix, err, sizeof(err)), 0);
	/* chunk 1: curls 1001, 1003 and 1005 (a group) own flows 1-3, curls 1201 and 1203 (a
	 * second group: more than 128 pids above 1001) flows 4 and 5, python3 3001 flow 6 */
	static struct flow_record c1[6], c2[4];
	c1[0] = flow(1, 1001, "curl");
	c1[1] = flow(2, 1003, "curl");
	c1[2] = flow(3, 1005, "curl");
	c1[3] = flow(4, 1201, "curl");
	c1[4] = flow(5, 1203, "curl");
	c1[5] = flow(6, 3001, "python3");
	/* chunk 2: wget 2001 owns flows 1-3 (all of the first group's), 4 (one of the
	 * second's) and 6 */
	c2[0] = flow(1, 2001, "wget");
	c2[1] = flow(2, 2001, "wget");
	c2[2] = flow(3, 2001, "wget");
	c2[3] = flow(4, 2001, "wget");
	struct flow_record c2_more = flow(6, 2001, "wget");
	static struct flow_record c2_all[5];
	memcpy(c2_all, c2, sizeof(c2));
	c2_all[4] = c2_more;
	struct chunk_meta m1 = { .id = 1, .first_ns = 1000, .last_ns = 1999, .packets = 6,
				 .segment = 1, .offset = 0, .length = 100, .flows = c1,
				 .n_flows = 6 };
	struct chunk_meta m2 = { .id = 2, .first_ns = 2000, .last_ns = 2999, .packets = 5,
				 .segment = 1, .offset = 100, .length = 100, .flows = c2_all,
				 .n_flows = 5 };
	assert_int_equal(index_begin(ix), 0);
	assert_int_equal(index_add_chunk(ix, &m1, NULL, 0, false), 0);
	assert_int_equal(index_commit(ix), 0);
	assert_int_equal(index_int(f->dir, "SELECT group_concat(pid || '-' || coalesce(pid_last, "
					  "'one') || ':' || first_flow || '-' || last_flow) = "
					  "'1001-1005:1-3,1201-1203:4-5,3001-one:6-6' FROM (SELECT * "
					  "FROM owner_flows WHERE comm != 'nginx' ORDER BY first_flow)"),
			 1);
	assert_int_equal(index_begin(ix), 0);
	assert_int_equal(index_add_chunk(ix, &m2, NULL, 0, false), 0);
	assert_int_equal(index_commit(ix), 0);
	index_close(ix);
	/* the first group's row and python3's went; the second group's stays (flow 5) */
	assert_int_equal(index_int(f->dir, "SELECT group_concat(comm || ' ' || pid || '-' || "
					  "coalesce(pid_last, 'one') || ':' || first_flow || '-' || "
					  "last_flow) = 'curl 1201-1203:4-5,wget 2001-one:1-6' FROM "
					  "(SELECT * FROM owner_flows WHERE comm != 'nginx' ORDER BY "
					  "first_flow DESC)"),
			 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_rows, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_9, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_9_large, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_big_statement, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_9_damaged, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_group_owner_moved, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
