// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_owner_select_reads.c - a selection by pid reads its process's own owner_flows rows and
 * the rows of the groups that may hold it (index schema 11), never the rows of a long-lived
 * process a few pids below it (store_read.c rows_holding()). Until then each read the range
 * of pids X - OWNER_PID_SPAN .. X of owner_flows_by_pid, and with it every row of a daemon
 * there: one per chunk (and per run of its flows) for as long as the store keeps them.
 *
 * The store: a daemon (pid 5000, named sshd) with rows of its own, a curl 3 pids above it
 * with a row of its own, three curls 10-14 pids above it in one group row, and a curl in a
 * container. Each selection's SQLite VM steps on the statements that read owner_flows
 * (sqlite3_stmt_status) are counted with the daemon's rows few, then again after it has
 * gained DAEMON_MORE more: the answers stay, and the steps grow by far less than one a row
 * (the range read at least four a row: the test fails there). Counted as the writer left the
 * index (its ANALYZE at close, limited), after a full ANALYZE, and with sqlite_stat1 emptied:
 * the plan must not depend on the statistics. (On an owner_flows of fewer than about
 * 32 x 129 rows SQLite may read it whole once, through a Bloom filter, for a selection of a
 * few processes by their records: cheap there, so the daemon here has more.)
 *
 * Retention likewise (owner_rows_drop.c): when the segments of processes of the daemon's
 * name and uid a few pids above it go, and the daemon's first rows with them, the steps of
 * the statements that read owner_flows do not grow with the daemon's later rows (the range
 * X - OWNER_PID_SPAN .. X of each gone owner read them all, at every pass).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "index_sql.h"
#include "owner_ranges.h"
#include "store.h"
#include "store_impl.h"
#include "test_flow.h"
#include "tmp_store.h"

#define NS 1000000000ull
#define T0 (1764140400ull * NS)
#define BOOT_WALL (T0 - 3600 * NS)
#define DAEMON 5000u
#define DAEMON_START (7 * NS)
#define DAEMON_MORE 3000 /* rows the daemon gains between the two counts */
#define CTR "0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123"

/* The curls: pid, start, and whether each has a record in the container. */
static const struct {
	uint32_t pid;
	uint64_t start;
	bool in_container;
} curls[] = {
	{ DAEMON + 3, 100 * NS, false },  /* alone in its chunk: a row of one process */
	{ DAEMON + 10, 110 * NS, false }, /* three of one chunk: one group row */
	{ DAEMON + 12, 112 * NS, false },
	{ DAEMON + 14, 114 * NS, false },
	{ DAEMON + 20, 120 * NS, true },  /* a process of a container */
};
#define N_CURLS (sizeof(curls) / sizeof(curls[0]))

static uint64_t curl_flow[N_CURLS];

static struct ecap_proc owner(uint32_t pid, uint64_t start, const char *comm)
{
	struct ecap_proc p = { .valid = true, .pid = pid, .tid = pid, .uid = 1000, .gid = 1000,
			       .netns = 11, .start_ns = start };
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	return p;
}

static void put_flow(struct store *s, uint64_t id, struct ecap_proc p, uint64_t ts)
{
	struct flow_record r = test_flow(id);
	r.first_ns = ts;
	r.proc[0] = p;
	assert_int_equal(store_put_flow(s, &r), 0);
}

static struct store *open_writer(const char *dir)
{
	struct store *s;
	struct store_options o;
	store_options_default(&o);
	o.quiet = true;
	assert_int_equal(store_open(dir, STORE_WRITE, &o, &s), 0);
	return s;
}

/* n flows of the daemon, each more than OWNER_RUN_GAP flow ids after the one before, so
 * that each is a row of its own (a daemon's row a chunk, in few chunks). */
static void daemon_flows(struct store *s, int n, uint64_t ts)
{
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < OWNER_RUN_GAP + 1; k++)
			store_new_flow_id(s);
		put_flow(s, store_new_flow_id(s), owner(DAEMON, DAEMON_START, "sshd"), ts);
	}
}

static void write_store(const char *dir)
{
	struct store *s = open_writer(dir);
	daemon_flows(s, 4, T0);
	assert_int_equal(store_sync(s), 0);
	struct ecap_container c = { .first_ns = T0, .last_ns = T0 };
	snprintf(c.id, sizeof(c.id), "%s", CTR);
	snprintf(c.name, sizeof(c.name), "web");
	assert_int_equal(store_put_container(s, &c), 0);
	for (size_t i = 0; i < N_CURLS; i++) {
		struct ecap_proc_info pi = { .pid = curls[i].pid, .start_ns = curls[i].start,
					     .start_wall_ns = BOOT_WALL + curls[i].start, .ppid = 1 };
		snprintf(pi.exe, sizeof(pi.exe), "/usr/bin/curl");
		if (curls[i].in_container)
			snprintf(pi.container_id, sizeof(pi.container_id), "%s", CTR);
		assert_int_equal(store_put_process(s, &pi), 0);
		curl_flow[i] = store_new_flow_id(s);
		put_flow(s, curl_flow[i], owner(curls[i].pid, curls[i].start, "curl"), T0 + NS);
		if (i == 0 || i == 3) /* the first alone in its chunk, the next three together */
			assert_int_equal(store_sync(s), 0);
	}
	assert_int_equal(store_close(s), 0);
}

/* The daemon gains DAEMON_MORE rows, in new chunks. */
static void grow_daemon(const char *dir)
{
	struct store *s = open_writer(dir);
	for (int i = 0; i < 4; i++) {
		daemon_flows(s, DAEMON_MORE / 4, T0 + 2 * NS);
		assert_int_equal(store_sync(s), 0);
	}
	assert_int_equal(store_close(s), 0);
}

static uint64_t owner_steps; /* VM steps of the statements that read owner_flows */

static int on_profile(unsigned type, void *ctx, void *p, void *x)
{
	(void)type, (void)ctx, (void)x;
	sqlite3_stmt *st = p;
	/* each run's steps once: a statement run again (reset, not finalized) counts anew */
	uint64_t n = (uint64_t)sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
	if (strstr(sqlite3_sql(st), "owner_flows"))
		owner_steps += n;
	return 0;
}

enum { BY_PID, BY_PID_START, BY_CONTAINER, BY_EXE_AND_PID, PID_PROCESSES, KINDS };

/* One selection of curl i (k: how), its steps in *steps: whether it gave exactly curl i's
 * flow (or, PID_PROCESSES, its one start). */
static bool select_curl(struct store *s, size_t i, int k, uint64_t *steps)
{
	struct flow_filter f;
	struct idset got = { 0 };
	flow_filter_init(&f);
	f.pids[f.n_pids] = curls[i].pid;
	f.pid_starts[f.n_pids++] = k == BY_PID_START ? BOOT_WALL + curls[i].start : 0;
	if (k == BY_CONTAINER) {
		f.n_pids = 0;
		snprintf(f.containers[f.n_containers++], ECAP_CONTAINER_ID_MAX, "web");
	}
	if (k == BY_EXE_AND_PID)
		snprintf(f.exes[f.n_exes++], sizeof(f.exes[0]), "/usr/bin/curl");
	owner_steps = 0;
	bool ok;
	if (k == PID_PROCESSES) {
		uint64_t starts[2];
		ok = store_pid_processes(s, &f, curls[i].pid, starts, 2) == 1 &&
		     starts[0] == BOOT_WALL + curls[i].start;
	} else {
		assert_int_equal(store_select_flows(s, &f, &got), 0);
		ok = got.n == 1 && idset_has(&got, curl_flow[i]);
		idset_free(&got);
	}
	*steps = owner_steps;
	return ok;
}

/* The selections to count: each curl by pid, the others as written. */
struct count {
	size_t curl;
	int kind;
	const char *name;
};
static const struct count counts[] = {
	{ 0, BY_PID, "pid 5003 (a row of its own)" },
	{ 2, BY_PID, "pid 5012 (in a group)" },
	{ 0, BY_PID_START, "pid 5003 at its start" },
	{ 2, BY_PID_START, "pid 5012 at its start" },
	{ 4, BY_CONTAINER, "container web (pid 5020)" },
	{ 1, BY_EXE_AND_PID, "exe curl and pid 5010" },
	{ 2, PID_PROCESSES, "the processes of pid 5012" },
};
#define N_COUNTS (sizeof(counts) / sizeof(counts[0]))

static void count_all(const char *dir, uint64_t steps[N_COUNTS])
{
	struct store *s;
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(sqlite3_trace_v2(index_db(s->ix), SQLITE_TRACE_PROFILE, on_profile,
					  NULL), SQLITE_OK);
	for (size_t c = 0; c < N_COUNTS; c++)
		if (!select_curl(s, counts[c].curl, counts[c].kind, &steps[c]))
			fail_msg("%s: not exactly its flow", counts[c].name);
	store_close(s);
}

/* Each count grew by less than one step for each ten rows the daemon gained. */
static void check_growth(const uint64_t before[N_COUNTS], const uint64_t after[N_COUNTS],
			 const char *when)
{
	for (size_t c = 0; c < N_COUNTS; c++) {
		print_message("%s, %s: %llu VM steps (%llu before the daemon's rows)\n",
			      counts[c].name, when, (unsigned long long)after[c],
			      (unsigned long long)before[c]);
		assert_true(before[c] > 0);
		if (after[c] > before[c] + DAEMON_MORE / 10)
			fail_msg("%s, %s: %llu VM steps after the daemon's %d more rows, %llu "
				 "before: the selection reads them", counts[c].name, when,
				 (unsigned long long)after[c], DAEMON_MORE,
				 (unsigned long long)before[c]);
	}
}

static void test_neighbour_rows_not_read(void **state)
{
	struct fixture *f = *state;
	uint64_t before[N_COUNTS], after[N_COUNTS];
	write_store(f->dir);
	/* the layout the counts stand on: a row of 5003's own, one group 5010..5014, the
	 * daemon's rows of its own (start not 0) */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid = 5003 "
				   "AND pid_last IS NULL"), 1);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid = 5010 "
				   "AND pid_last = 5014 AND start = 0"), 1);
	int64_t daemon_rows = index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid = "
					"5000 AND start != 0");
	assert_int_equal(daemon_rows, 4);
	count_all(f->dir, before);

	grow_daemon(f->dir);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid = 5000"),
			 daemon_rows + DAEMON_MORE);
	count_all(f->dir, after);
	check_growth(before, after, "as the writer left it");

	index_exec(f->dir, "ANALYZE");
	assert_true(index_int(f->dir, "SELECT count(*) FROM sqlite_stat1 WHERE tbl = "
				      "'owner_flows'") > 0);
	count_all(f->dir, after);
	check_growth(before, after, "after ANALYZE");

	index_exec(f->dir, "DELETE FROM sqlite_stat1");
	count_all(f->dir, after);
	check_growth(before, after, "without sqlite_stat1");
}

/* ---- retention ------------------------------------------------------------------------ */

/* The store of the retention test, in dir: a daemon (sshd, pid 5000) and three sessions of
 * it, processes of its name and uid a few pids above (5003 alone, 5010..5014 one group
 * row), each in the first chunks, each a segment of its own (segment_bytes 1); then, in
 * later segments, `more` rows of the daemon (and 4 more, so that it lives on either way). */
static void write_sessions_store(const char *dir, int more)
{
	struct store_options o;
	store_options_default(&o);
	o.quiet = true;
	o.segment_bytes = 1; /* a segment a chunk: retention drops the first chunks one by one */
	o.buffered_writes = true;
	struct store *s;
	assert_int_equal(store_open(dir, STORE_WRITE, &o, &s), 0);
	daemon_flows(s, 4, T0);
	assert_int_equal(store_sync(s), 0);
	static const uint32_t children[][3] = { { 3 }, { 10, 12, 14 } };
	for (size_t c = 0; c < 2; c++) {
		for (size_t k = 0; k < 3 && children[c][k]; k++)
			put_flow(s, store_new_flow_id(s),
				 owner(DAEMON + children[c][k], (200 + children[c][k]) * NS, "sshd"),
				 T0 + NS);
		assert_int_equal(store_sync(s), 0);
	}
	for (int i = 0; i < 4; i++) {
		daemon_flows(s, 1 + more / 4, T0 + 2 * NS);
		assert_int_equal(store_sync(s), 0);
	}
	assert_int_equal(store_close(s), 0);
	/* the layout the counts stand on */
	assert_int_equal(index_int(dir, "SELECT count(*) FROM owner_flows WHERE pid = 5003 AND "
				   "pid_last IS NULL"), 1);
	assert_int_equal(index_int(dir, "SELECT count(*) FROM owner_flows WHERE pid = 5010 AND "
				   "pid_last = 5014 AND start = 0"), 1);
	assert_int_equal(index_int(dir, "SELECT count(*) FROM owner_flows WHERE pid = 5000 AND "
				   "start = 7000000000"), 4 + 4 * (1 + more / 4));
	assert_int_equal(index_int(dir, "SELECT count(*) FROM owner_flows"),
			 2 + 4 + 4 * (1 + more / 4));
}

/* Retention deletes the first three segments (the daemon's first rows, then each session's):
 * the VM steps of the statements that read owner_flows, summed. Every row of a session goes,
 * and the daemon's first four; its later rows stay. */
static uint64_t retention_steps(const char *dir, int more, bool analyze)
{
	write_sessions_store(dir, more);
	if (analyze)
		index_exec(dir, "ANALYZE");
	char path[128], err[256];
	struct index *ix;
	snprintf(path, sizeof(path), "%s/index.db", dir);
	if (index_open(path, false, false, &ix, err, sizeof(err)))
		fail_msg("%s", err);
	int64_t first;
	assert_int_equal(index_scalar(ix, "SELECT min(id) FROM segments", 0, &first), 0);
	assert_int_equal(sqlite3_trace_v2(index_db(ix), SQLITE_TRACE_PROFILE, on_profile, NULL),
			 SQLITE_OK);
	owner_steps = 0;
	for (uint32_t seg = (uint32_t)first; seg < (uint32_t)first + 3; seg++) {
		assert_int_equal(index_begin(ix), 0);
		assert_int_equal(index_drop_segment(ix, seg), 0);
		assert_int_equal(index_commit(ix), 0);
	}
	uint64_t steps = owner_steps;
	index_close(ix);
	assert_int_equal(index_int(dir, "SELECT count(*) FROM owner_flows WHERE pid != 5000"), 0);
	assert_int_equal(index_int(dir, "SELECT count(*) FROM owner_flows WHERE pid = 5000"),
			 4 * (1 + more / 4));
	return steps;
}

/* Retention reads the rows of each process whose flows went up to the last flow that went
 * and the rows of the groups that may hold it, never the daemon's later rows, nor those of a
 * daemon of the same name and uid a few pids below a process (index.c drop_owner_sql): until
 * then each gone owner read the range of pids X - OWNER_PID_SPAN .. X of its name and uid,
 * every row of the daemon with it, at every pass. */
static void test_retention_neighbour_rows_not_read(void **state)
{
	struct fixture *f = *state;
	char few[80], many[80];
	for (int analyze = 0; analyze < 2; analyze++) {
		snprintf(few, sizeof(few), "%s%d-few", f->dir, analyze);
		snprintf(many, sizeof(many), "%s%d-many", f->dir, analyze);
		uint64_t before = retention_steps(few, 0, analyze);
		uint64_t after = retention_steps(many, DAEMON_MORE, analyze);
		print_message("retention of 3 segments%s: %llu VM steps with the daemon's %d rows "
			      "kept, %llu with 4\n", analyze ? " after ANALYZE" : "",
			      (unsigned long long)after, 4 + DAEMON_MORE, (unsigned long long)before);
		assert_true(before > 0);
		if (after > before + DAEMON_MORE / 10)
			fail_msg("retention%s: %llu VM steps with the daemon's %d more rows, %llu "
				 "without: it reads them", analyze ? " after ANALYZE" : "",
				 (unsigned long long)after, DAEMON_MORE,
				 (unsigned long long)before);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_neighbour_rows_not_read, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_retention_neighbour_rows_not_read,
						tmp_store_setup, tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
