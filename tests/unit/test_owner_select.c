// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_owner_select.c - selections by owner (pid, pid@start, comm, uid, netns, container,
 * and one hop through a NAT link) give exactly the flows of that owner, now that they go
 * through owner_flows' ranges (index.sql, version 7) instead of indexes on flow_procs: a
 * range only narrows where to look, so a too narrow one would lose flows and a missing
 * exact test would add other owners' flows. The store: processes interleaved over many
 * chunks, one short-lived and one long-lived owner, a flow whose owner is learned many chunks
 * after its record, a flow whose owner changes, a pid reused with another start, a NAT link,
 * and a long-lived owner whose few flows lie far apart (a row per flow, so that reading its
 * flows does not read all the flows between them); and (index schema 11) a new curl process
 * for every fourth flow, whose processes of a chunk share one owner_flows row, and a peer of
 * another's name too far from it in pid to share a row (a row each per chunk, not per flow).
 * The same answers after a rebuild, after the migration from an index of version 6, and,
 * restricted to the flows left, after retention drops the first half of the store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index.h"
#include "index_sql.h"
#include "owner_ranges.h"
#include "store.h"
#include "tmp_store.h"

#define NS 1000000000ull
#define T0 (1764140400ull * NS)
#define SLOTS 240                   /* one flow every 250 ms: 60 s */
#define SLOT_NS (NS / 4)
#define BOOT_WALL (T0 - 3600 * NS)  /* wall clock at boot: start times are since boot */

/* the two processes that pid 300 names, and what their records say */
#define GAMMA1_START (100 * NS)
#define GAMMA2_START (200 * NS)
/* the curl of slot i (every fourth), with a record naming /usr/bin/curl */
#define CURL_PID(i) (1000u + (uint32_t)(i))
#define CURL_START(i) ((uint64_t)(1000 + (i)) * NS)

struct model {
	uint64_t id[SLOTS];
	struct ecap_proc proc[SLOTS][2]; /* each flow's owners as the store has them last */
	int linked_to[SLOTS];            /* the slot of the post-NAT flow, -1 none */
};

static struct ecap_proc owner(uint32_t pid, uint64_t start, uint32_t uid, const char *comm,
			      uint32_t netns)
{
	struct ecap_proc p = { .valid = true, .pid = pid, .tid = pid, .uid = uid, .gid = uid,
			       .netns = netns, .start_ns = start };
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	return p;
}

/* The owners of slot i's flow when its record is first stored (the model's final owners
 * differ for the flows whose owner comes or changes later). */
static void first_owners(int i, struct ecap_proc p[2])
{
	memset(p, 0, 2 * sizeof(*p));
	if (i == 30)
		p[0] = owner(300, GAMMA1_START, 1000, "gamma", 11); /* short-lived */
	else if (i == 150)
		p[0] = owner(300, GAMMA2_START, 1000, "gamma", 11); /* the pid, reused */
	else if (i == 40 || i == 61)
		return; /* 40: learned later; 61: the NAT side of 60, no owner of its own */
	else if (i == 50)
		p[0] = owner(500, 5, 4000, "first", 11);
	else if (i == 60)
		p[0] = owner(700, 7, 0, "natc", 33);
	else if (i % 70 == 35) /* flows more than OWNER_RUN_GAP apart */
		p[0] = owner(800, 8, 1000, "beacon", 11);
	else if (i % 4 == 1) /* a curl loop: a process per flow, pids a few apart */
		p[0] = owner(CURL_PID(i), CURL_START(i), 1000, "curl", 11);
	else if (i % 2 == 0)
		p[0] = owner(100, 1, 1000, "alpha", 11);
	else
		p[0] = owner(200, 2, 2000, "beta", 22);
	if (i % 2 == 0 && p[0].valid && p[0].pid == 100) /* both ends local: a server */
		p[1] = owner(900, 9, 0, "server", 11);
	/* beta's peer, of its name, uid and netns, 130 pids away (too far for one group: as
	 * `openssl s_time` against `openssl s_server`) */
	if (p[0].valid && p[0].pid == 200)
		p[1] = owner(330, 33, 2000, "beta", 22);
}

static struct flow_record record(const struct model *m, int i, const struct ecap_proc p[2])
{
	struct flow_record r = { .id = m->id[i], .first_ns = T0 + (uint64_t)i * SLOT_NS };
	r.key.proto = FLOW_PROTO_TCP;
	r.key.family = 4;
	memset(r.key.addr_a + 10, 0xff, 2);
	memset(r.key.addr_b + 10, 0xff, 2);
	r.key.addr_a[12] = r.key.addr_b[12] = 127;
	r.key.addr_a[15] = r.key.addr_b[15] = 1;
	r.key.port_a = (uint16_t)(20000 + i);
	r.key.port_b = 443;
	r.proc[0] = p[0];
	r.proc[1] = p[1];
	return r;
}

/* The containers: pid 300's second process's, and that of pid 250, which owns no flow and
 * whose record is in the first chunks (retention takes both). */
#define CTR_GAMMA "0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123"
#define CTR_OLD "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void put_container(struct store *s, const char *id, const char *name)
{
	struct ecap_container c = { .first_ns = T0, .last_ns = T0 };
	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.name, sizeof(c.name), "%s", name);
	assert_int_equal(store_put_container(s, &c), 0);
}

static void put_process(struct store *s, uint32_t pid, uint64_t start, const char *ctr)
{
	struct ecap_proc_info pi = { .pid = pid, .start_ns = start,
				     .start_wall_ns = BOOT_WALL + start, .ppid = 1 };
	snprintf(pi.exe, sizeof(pi.exe), "%s", pid >= CURL_PID(0) ? "/usr/bin/curl" :
		 "/usr/bin/gamma");
	snprintf(pi.container_id, sizeof(pi.container_id), "%s", ctr);
	assert_int_equal(store_put_process(s, &pi), 0);
}

/* Writes the store (small chunks: a few flows each, about 40 chunks) and fills the model. */
static void write_owners_store(const char *dir, const struct store_options *o, struct model *m)
{
	struct store *s;
	memset(m, 0, sizeof(*m));
	assert_int_equal(store_open(dir, STORE_WRITE, o, &s), 0);
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	uint32_t ifid;
	assert_int_equal(store_add_interface(s, &ifc, &ifid), 0);
	uint8_t data[200];
	memset(data, 0x42, sizeof(data));
	for (int i = 0; i < SLOTS; i++) {
		m->id[i] = store_new_flow_id(s);
		m->linked_to[i] = -1;
		first_owners(i, m->proc[i]);
		if (m->proc[i][0].valid && !strcmp(m->proc[i][0].comm, "curl"))
			put_process(s, CURL_PID(i), CURL_START(i), "");
		if (i == 20) {
			put_process(s, 250, 25 * NS, CTR_OLD);
			put_container(s, CTR_OLD, "old-job");
		}
		if (i == 30)
			put_process(s, 300, GAMMA1_START, "");
		if (i == 150) {
			put_process(s, 300, GAMMA2_START, CTR_GAMMA);
			put_container(s, CTR_GAMMA, "gamma-web");
		}
		struct flow_record r = record(m, i, m->proc[i]);
		assert_int_equal(store_put_flow(s, &r), 0);
		if (i == 61) {
			struct flow_link l = { .pre_id = m->id[60], .post_id = m->id[61],
					       .kind = 1, .ts_ns = r.first_ns };
			assert_int_equal(store_put_flow_link(s, &l), 0);
			m->linked_to[60] = 61;
		}
		if (i == 80) { /* slot 40's owner, learned 40 flows (about 7 chunks) later */
			m->proc[40][0] = owner(400, 4, 3000, "late", 11);
			struct flow_record late = record(m, 40, m->proc[40]);
			assert_int_equal(store_put_flow(s, &late), 0);
		}
		if (i == 90) { /* slot 50's owner was another process */
			m->proc[50][0] = owner(600, 6, 4000, "second", 11);
			struct flow_record fixed = record(m, 50, m->proc[50]);
			assert_int_equal(store_put_flow(s, &fixed), 0);
		}
		for (uint32_t k = 0; k < 3; k++) {
			struct ecap_packet p = { .ts_ns = r.first_ns + k * 1000ull, .iface = ifid,
						 .caplen = sizeof(data), .origlen = sizeof(data),
						 .flags = 2, .data = data, .flow_id = m->id[i] };
			assert_int_equal(store_append_packet(s, &p), 0);
		}
		if (i % 50 == 49)
			assert_int_equal(store_sync(s), 0);
	}
	assert_int_equal(store_close(s), 0);
}

/* A selection, by the owner's fields that are set (pid 0, start 0, comm NULL, uid and netns
 * -1, container false: any), and so what it must give: the flows with such an owner. */
struct selection {
	const char *name;
	uint32_t pid;
	uint64_t start;   /* with pid: --pid PID@START, START its wall-clock start */
	const char *comm;
	int64_t uid, netns;
	const char *container; /* --container: an id prefix or name; only pid 300's second
				* process is in the one named here (CTR_GAMMA, "gamma-web") */
	const char *exe;       /* --exe: "/usr/bin/curl" names the curls' records */
};

#define ANY .uid = -1, .netns = -1
static const struct selection selections[] = {
	{ "pid 100 (interleaved with 200)", .pid = 100, ANY },
	{ "pid 200", .pid = 200, ANY },
	{ "pid 300 (two processes)", .pid = 300, ANY },
	{ "pid 300 at its first start", .pid = 300, .start = GAMMA1_START, ANY },
	{ "pid 300 at its second start", .pid = 300, .start = GAMMA2_START, ANY },
	{ "pid 400 (learned later)", .pid = 400, ANY },
	{ "pid 500 (owner replaced)", .pid = 500, ANY },
	{ "pid 600 (the new owner)", .pid = 600, ANY },
	{ "pid 700 (and its NAT link)", .pid = 700, ANY },
	{ "pid 800 (long-lived, far apart)", .pid = 800, ANY },
	{ "pid 900 (side B, long-lived)", .pid = 900, ANY },
	{ "comm gamma", .comm = "gamma", ANY },
	{ "comm late", .comm = "late", ANY },
	{ "uid 1000", .uid = 1000, .netns = -1 },
	{ "uid 0 and comm server", .uid = 0, .comm = "server", .netns = -1 },
	{ "netns 22", .netns = 22, .uid = -1 },
	{ "pid 100 and comm beta", .pid = 100, .comm = "beta", ANY },
	{ "container 0123456789ab", .container = "0123456789ab", ANY },
	{ "container gamma-web (by name)", .container = "gamma-web", ANY },
	{ "container old-job (its process owns no flow)", .container = "old-job", ANY },
	{ "pid 1005 (a curl of a group)", .pid = CURL_PID(5), ANY },
	{ "pid 1009 (the next curl)", .pid = CURL_PID(9), ANY },
	{ "pid 1013 at its start", .pid = CURL_PID(13), .start = CURL_START(13), ANY },
	{ "pid 1013 at another start", .pid = CURL_PID(13), .start = CURL_START(14), ANY },
	{ "pid 1003 (none: between two curls)", .pid = CURL_PID(3), ANY },
	{ "comm curl", .comm = "curl", ANY },
	{ "exe /usr/bin/curl", .exe = "/usr/bin/curl", ANY },
	{ "pids 1017 and 1021, uid 1000", .pid = CURL_PID(17), .uid = 1000, .netns = -1 },
	{ "pid 330 (200's peer of one name)", .pid = 330, ANY },
};

static void fill_filter(const struct selection *sel, struct flow_filter *f)
{
	flow_filter_init(f);
	if (sel->pid) {
		/* as printed, 5 ms off: within STORE_START_SLACK_NS */
		f->pid_starts[f->n_pids] = sel->start ? BOOT_WALL + sel->start + 5000000 : 0;
		f->pids[f->n_pids++] = sel->pid;
	}
	if (sel->comm)
		snprintf(f->comms[f->n_comms++], ECAP_COMM_LEN, "%s", sel->comm);
	if (sel->uid >= 0)
		f->uids[f->n_uids++] = (uint32_t)sel->uid;
	if (sel->netns >= 0)
		f->netns[f->n_netns++] = (uint32_t)sel->netns;
	if (sel->container)
		snprintf(f->containers[f->n_containers++], ECAP_CONTAINER_ID_MAX, "%s",
			 sel->container);
	if (sel->exe)
		snprintf(f->exes[f->n_exes++], sizeof(f->exes[0]), "%s", sel->exe);
	if (sel->pid == CURL_PID(17)) { /* two pids */
		f->pid_starts[f->n_pids] = 0;
		f->pids[f->n_pids++] = CURL_PID(21);
	}
}

static bool selected(const struct selection *sel, const struct ecap_proc *p)
{
	bool pid = !sel->pid || p->pid == sel->pid ||
		   (sel->pid == CURL_PID(17) && p->pid == CURL_PID(21));
	return pid && (!sel->start || p->start_ns == sel->start) &&
	       (!sel->exe || !strcmp(p->comm, "curl")) &&
	       (!sel->comm || !strcmp(p->comm, sel->comm)) &&
	       (sel->uid < 0 || p->uid == sel->uid) && (sel->netns < 0 || p->netns == sel->netns) &&
	       (!sel->container || (strcmp(sel->container, "old-job") && p->pid == 300 &&
				    p->start_ns == GAMMA2_START));
}

/* The flow ids the index holds (retention may have removed some). */
static void stored_flows(struct store *s, struct idset *out)
{
	struct flow_filter all;
	flow_filter_init(&all);
	assert_int_equal(store_select_flows(s, &all, out), 0);
}

/* Whether the index holds p's record (retention may have removed it with its chunk while
 * a flow of p stays: a selection by what the record says then finds none of p's flows). */
static bool has_record(const char *dir, const struct ecap_proc *p)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM processes WHERE pid = %u AND start = %llu",
		 p->pid, (unsigned long long)p->start_ns);
	return index_int(dir, sql) > 0;
}

/* Every selection gives exactly the model's flows that the index still holds; returns how
 * many flows all selections gave together (so that a caller sees they were not empty). */
static size_t check_selections(const char *dir, const struct model *m)
{
	struct store *s;
	struct idset held = { 0 };
	size_t total = 0;
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	stored_flows(s, &held);
	for (size_t k = 0; k < sizeof(selections) / sizeof(selections[0]); k++) {
		const struct selection *sel = &selections[k];
		struct flow_filter f;
		struct idset got = { 0 };
		bool want[SLOTS] = { false };
		fill_filter(sel, &f);
		assert_int_equal(store_select_flows(s, &f, &got), 0);
		size_t n_want = 0;
		for (int i = 0; i < SLOTS; i++)
			for (int side = 0; side < 2; side++)
				if (m->proc[i][side].valid && selected(sel, &m->proc[i][side]) &&
				    (!sel->exe || has_record(dir, &m->proc[i][side]))) {
					want[i] = true;
					if (m->linked_to[i] >= 0)
						want[m->linked_to[i]] = true;
				}
		for (int i = 0; i < SLOTS; i++) {
			bool expected = want[i] && idset_has(&held, m->id[i]);
			n_want += expected;
			if (expected != idset_has(&got, m->id[i]))
				fail_msg("%s: flow of slot %d %s", sel->name, i,
					 expected ? "missing" : "selected but not the owner's");
		}
		assert_int_equal(got.n, n_want);
		total += got.n;
		idset_free(&got);
	}
	/* the starts of pid 300 among its flows */
	struct flow_filter f;
	uint64_t starts[4];
	fill_filter(&selections[2], &f);
	int n = store_pid_processes(s, &f, 300, starts, 4);
	int want = idset_has(&held, m->id[30]) + idset_has(&held, m->id[150]);
	assert_int_equal(n, want);
	if (n)
		assert_int_equal(starts[n - 1], BOOT_WALL + GAMMA2_START);
	idset_free(&held);
	store_close(s);
	return total;
}

/* An owner row o may stand for flow_procs' owner p: its process, or (pid_last not NULL,
 * index.sql version 11) one of its group's. */
#define ROW_HOLDS_OWNER                                                                      \
	"o.uid = p.uid AND o.comm = p.comm AND o.netns = p.netns AND p.pid BETWEEN o.pid AND " \
	"coalesce(o.pid_last, o.pid) AND (o.pid_last IS NOT NULL OR o.start = p.start)"

/* The rule readers rely on: every owner row of flow_procs lies in its owner's range. */
static void check_ranges_cover(const char *dir)
{
	assert_int_equal(index_int(dir, "SELECT count(*) FROM flow_procs p WHERE NOT EXISTS "
				   "(SELECT 1 FROM owner_flows o WHERE " ROW_HOLDS_OWNER " AND "
				   "p.flow_id BETWEEN o.first_flow AND o.last_flow)"),
			 0);
}

/* And none is left over: every owner row has a flow of its owner in its range (slot 50's
 * first owner, whose one flow passed to another, has no row; index.sql version 8). */
static void check_no_stale_ranges(const char *dir)
{
	assert_int_equal(index_int(dir, "SELECT count(*) FROM owner_flows o WHERE NOT EXISTS "
				   "(SELECT 1 FROM flow_procs p WHERE p.flow_id BETWEEN "
				   "o.first_flow AND o.last_flow AND " ROW_HOLDS_OWNER ")"),
			 0);
}

/* How many curl processes (one flow each) the model has. */
static int64_t curls(const struct model *m)
{
	int64_t n = 0;
	for (int i = 0; i < SLOTS; i++)
		n += m->proc[i][0].valid && !strcmp(m->proc[i][0].comm, "curl");
	return n;
}

static void small_store(struct store_options *o)
{
	store_options_default(o);
	o->chunk_bytes = 4096;
	o->segment_bytes = 16 * 1024;
	o->quiet = true;
}

/* The store of small chunks written and every selection checked: how many flows they gave. */
static size_t owners_store(const char *dir, struct store_options *o, struct model *m)
{
	small_store(o);
	write_owners_store(dir, o, m);
	return check_selections(dir, m);
}

static void test_owner_selections(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	static struct model m;
	small_store(&o);
	write_owners_store(f->dir, &o, &m);
	assert_true(index_int(f->dir, "SELECT count(*) FROM chunks") >= 30);
	check_ranges_cover(f->dir);
	check_no_stale_ranges(f->dir);
	/* a row per owner and chunk, not per flow (beta's few flows a chunk: below); pid 800
	 * has one for each of its three flows */
	assert_true(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE comm NOT IN "
				      "('curl', 'beta')") * 2 <
		    index_int(f->dir, "SELECT count(*) FROM flow_procs WHERE comm NOT IN "
				      "('curl', 'beta')"));
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid = 800 AND "
				   "first_flow = last_flow"),
			 3);
	/* the curls of a chunk share a row (index.sql version 11): fewer rows than curls, the
	 * groups' with start 0 */
	assert_true(curls(&m) >= 50);
	assert_true(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE comm = 'curl'") <
		    curls(&m));
	assert_true(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE comm = 'curl' AND "
				      "pid_last > pid AND start = 0") > 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid_last IS "
				   "NOT NULL AND (comm != 'curl' OR pid_last - pid > 128)"), 0);
	/* beta and its peer of one name: a row each per chunk of their flows, not one per flow
	 * (a few flows a chunk, well within OWNER_RUN_GAP) */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE comm = 'beta'"),
			 index_int(f->dir, "SELECT 2 * count(DISTINCT first_chunk) FROM flows WHERE "
				   "a_comm = 'beta'"));
	size_t total = check_selections(f->dir, &m);
	assert_true(total > SLOTS);
	/* the short-lived owner's row is its one flow */
	assert_int_equal(index_int(f->dir, "SELECT last_flow - first_flow FROM owner_flows "
				   "WHERE pid = 300 AND start = 100000000000"),
			 0);
	/* the same from the segments alone */
	char p[128];
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(store_rebuild(f->dir, &o, false), 0);
	check_ranges_cover(f->dir);
	check_no_stale_ranges(f->dir);
	assert_int_equal(check_selections(f->dir, &m), total);
}

/* An index of version 6 (flow_procs indexed by pid, comm and uid, no owner_flows), as that
 * ecap left it, is migrated when opened and answers the same. */
static void test_owner_migration(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	static struct model m;
	size_t total = owners_store(f->dir, &o, &m);
	/* (no secrets here, so the near secrets' part of version 7 is the column alone) */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM chunks WHERE near_secrets"), 0);
	index_to_v9(f->dir);
	index_exec(f->dir, "ALTER TABLE chunks DROP COLUMN near_secrets; DROP TRIGGER "
			   "flow_procs_owner_moved; DROP TABLE owner_flows;"
			   "CREATE INDEX flow_procs_by_pid ON flow_procs(pid);"
			   "CREATE INDEX flow_procs_by_comm ON flow_procs(comm);"
			   "CREATE INDEX flow_procs_by_uid ON flow_procs(uid);"
			   "PRAGMA user_version = 6;");
	assert_int_equal(check_selections(f->dir, &m), total);
	assert_int_equal(index_int(f->dir, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM sqlite_master WHERE name LIKE "
				   "'flow_procs_by_%'"),
			 0);
	check_ranges_cover(f->dir);
	/* made from flow_procs: the replaced owner (pid 500) has no row; each curl one of
	 * its own (rows of one process, as before version 11) */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows"), 12 + curls(&m));
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid_last IS "
				   "NOT NULL"), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid = 800 AND "
				   "first_flow = last_flow"),
			 3);
}

/* An index of version 10 (owner_flows without pid_last: rows of one process each, here one
 * per flow and side, and the trigger on flows' owners for such rows), as that ecap left it, is
 * migrated when opened: the column and the trigger for groups come, the rows stay as they are
 * (rows of one process), and every selection answers the same; the chunks indexed afterwards
 * make rows of groups beside them. */
static void test_owner_migration_10(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	static struct model m;
	size_t total = owners_store(f->dir, &o, &m);
	index_exec(f->dir, "DROP TRIGGER flows_owner_moved; DELETE FROM owner_flows;"
			   "INSERT INTO owner_flows(pid, start, uid, comm, netns, first_flow, "
			   "last_flow) SELECT pid, start, uid, comm, netns, flow_id, flow_id FROM "
			   "flow_procs;"
			   "ALTER TABLE owner_flows DROP COLUMN pid_last;"
			   "CREATE TRIGGER flows_owner_moved AFTER UPDATE OF a_pid ON flows BEGIN "
			   "SELECT 1; END;"
			   "PRAGMA user_version = 10;");
	int64_t rows = index_int(f->dir, "SELECT count(*) FROM owner_flows");
	assert_int_equal(check_selections(f->dir, &m), total);
	assert_int_equal(index_int(f->dir, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid_last IS "
				   "NULL"), rows);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM sqlite_master WHERE name = "
				   "'flows_owner_moved' AND sql LIKE '%pid_last%' AND sql LIKE "
				   "'%owner_pid_span%'"), 1);
	/* the trigger's offsets, the SQL text's span and the merge's span are one number */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_pid_span"), OWNER_PID_SPAN + 1);
	assert_int_equal(index_int(f->dir, "SELECT min(o) FROM owner_pid_span"), 0);
	assert_int_equal(index_int(f->dir, "SELECT max(o) FROM owner_pid_span"), OWNER_PID_SPAN);
	assert_int_equal(atoi(OWNER_PID_SPAN_SQL), OWNER_PID_SPAN);
	check_ranges_cover(f->dir);
	check_no_stale_ranges(f->dir);
	/* new chunks: a curl group's row beside the old rows, and the same answers for those */
	struct store *s;
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	uint64_t id[3];
	for (int k = 0; k < 3; k++) {
		id[k] = store_new_flow_id(s);
		struct ecap_proc p[2] = { owner(5000u + (uint32_t)k, (5000u + k) * NS, 1000, "curl",
						11) };
		struct flow_record r = record(&m, 0, p);
		r.id = id[k];
		assert_int_equal(store_put_flow(s, &r), 0);
	}
	assert_int_equal(store_close(s), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid = 5000 AND "
				   "pid_last = 5002 AND start = 0"), 1);
	check_ranges_cover(f->dir);
	struct flow_filter ff;
	struct idset got = { 0 };
	flow_filter_init(&ff);
	ff.pid_starts[0] = 0;
	ff.pids[ff.n_pids++] = 5001;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_select_flows(s, &ff, &got), 0);
	assert_int_equal(got.n, 1);
	assert_true(idset_has(&got, id[1]));
	idset_free(&got);
	store_close(s);
}

/* Entries of processes_by_container, counted in its b-tree pages (dbstat: an index b-tree's
 * interior cells are entries too). */
static int64_t container_entries(const char *dir)
{
	return index_int(dir, "SELECT coalesce(sum(ncell), 0) FROM dbstat WHERE name = "
			      "'processes_by_container'");
}

/* Index version 9: processes_by_container holds the processes in a container only (pid 250's
 * and pid 300's second process here, not pid 300's first nor the curls, in none). A version 8 index, whose entry per process
 * this test puts back, is migrated when opened and answers every selection the same (the one
 * by container among them), and a rebuild from the segments makes the same index. */
static void test_container_index_9(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	static struct model m;
	size_t total = owners_store(f->dir, &o, &m);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM processes"), 3 + curls(&m));
	assert_int_equal(container_entries(f->dir), 2);
	index_to_v9(f->dir);
	index_exec(f->dir, "DROP INDEX processes_by_container; CREATE INDEX "
			   "processes_by_container ON processes(container_id); "
			   "PRAGMA user_version = 8;");
	assert_int_equal(container_entries(f->dir), 3 + curls(&m));
	assert_int_equal(check_selections(f->dir, &m), total);
	assert_int_equal(index_int(f->dir, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	assert_int_equal(container_entries(f->dir), 2);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM sqlite_master WHERE name = "
				   "'processes_by_container' AND sql LIKE '%WHERE container_id <> ''''%'"),
			 1);
	/* the same from the segments alone */
	char p[128];
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(store_rebuild(f->dir, &o, false), 0);
	assert_int_equal(container_entries(f->dir), 2);
	assert_int_equal(check_selections(f->dir, &m), total);
}

/* Retention drops the older half: the selections give the owners' flows that are left, and
 * every owner row whose flows all went goes. */
static void test_owner_retention(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	static struct model m;
	small_store(&o);
	o.max_age_ns = 30 * NS;
	write_owners_store(f->dir, &o, &m);
	int64_t first = index_int(f->dir, "SELECT min(id) FROM flows");
	assert_true(first > (int64_t)m.id[60] && first < (int64_t)m.id[150]);
	check_ranges_cover(f->dir);
	assert_true(check_selections(f->dir, &m) > 0);
	/* the container whose one process's record went with the first half goes with it (read
	 * through processes_by_container), the one still named stays */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM processes WHERE pid = 250"), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM containers"), 1);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM containers WHERE name = "
				   "'gamma-web'"),
			 1);
	/* pid 300's first process, 400 and 700 had their flows in the first half */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid IN (400, "
				   "700) OR (pid = 300 AND start = 100000000000)"),
			 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid = 800"),
			 index_int(f->dir, "SELECT count(*) FROM flow_procs WHERE pid = 800"));
	assert_true(index_int(f->dir, "SELECT count(*) FROM owner_flows WHERE pid = 800") < 3);
	/* and every row left has a flow of its owner, but the replaced owner's (pid 500: rows
	 * are looked at when their owner's flows go, and its flow went as pid 600's) */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM owner_flows o WHERE pid != 500 "
				   "AND NOT EXISTS (SELECT 1 FROM flow_procs p WHERE p.flow_id "
				   "BETWEEN o.first_flow AND o.last_flow AND " ROW_HOLDS_OWNER ")"),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_owner_selections, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_owner_migration, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_owner_migration_10, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_container_index_9, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_owner_retention, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
