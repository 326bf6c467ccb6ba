// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_owner_ranges.c - a chunk's flow owners merged into runs (schema/owner_ranges.h), the
 * rows of owner_flows they become: a server and its client of one name, uid and netns, too far
 * apart in pid to share a group (`openssl s_server` and `openssl s_time`), both in every flow,
 * make a run each, not one per flow; the same two close in pid one group; a curl loop's
 * clients one group; and for random chunks, every owner of every flow lies in a run of its
 * comm, uid and netns whose pids (and start, for a run of one process) hold it and whose
 * flows hold the flow, no run spans more than OWNER_PID_SPAN pids, and there are no more runs
 * than the chunk's owners make without groups (each owner's flows in runs of their own); a
 * curl loop's chunks in flow order give the runs they give in any order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "owner_ranges.h"

static struct ecap_proc proc(uint32_t pid, uint64_t start_ns, const char *comm, uint32_t uid)
{
	struct ecap_proc p = { .valid = true, .pid = pid, .tid = pid, .uid = uid, .gid = uid,
			       .netns = 4026531840u, .start_ns = start_ns };
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	return p;
}

static const struct owner_range *run_of(const struct owner_ranges *o, uint32_t pid)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].pid <= pid && pid <= o->v[i].pid_last)
			return &o->v[i];
	return NULL;
}

/* flows 1..n, each with client c and server s (s_time's sessions, one after another) */
static void one_client(struct owner_ranges *o, struct ecap_proc c, struct ecap_proc s, int n)
{
	for (int id = 1; id <= n; id++) {
		assert_int_equal(owner_ranges_add(o, (uint64_t)id, &c), 0);
		assert_int_equal(owner_ranges_add(o, (uint64_t)id, &s), 0);
	}
	owner_ranges_merge(o);
}

static void test_server_and_client_of_one_name(void **state)
{
	(void)state;
	struct owner_ranges o = { 0 };
	/* 142 pids apart: a run each, all 500 flows in it, each a row of one process */
	one_client(&o, proc(28139, 5000, "openssl", 0), proc(27997, 4000, "openssl", 0), 500);
	assert_int_equal(o.n, 2);
	for (size_t i = 0; i < o.n; i++) {
		assert_false(o.v[i].group);
		assert_int_equal(o.v[i].pid, o.v[i].pid_last);
		assert_int_equal(o.v[i].first_flow, 1);
		assert_int_equal(o.v[i].last_flow, 500);
	}
	assert_int_equal(run_of(&o, 27997)->start_ns, 4000);
	assert_int_equal(run_of(&o, 28139)->start_ns, 5000);
	/* 10 apart: one group of both */
	owner_ranges_reset(&o);
	one_client(&o, proc(28007, 5000, "openssl", 0), proc(27997, 4000, "openssl", 0), 500);
	assert_int_equal(o.n, 1);
	assert_true(o.v[0].group);
	assert_int_equal(o.v[0].start_ns, 0);
	assert_int_equal(o.v[0].pid, 27997);
	assert_int_equal(o.v[0].pid_last, 28007);
	assert_int_equal(o.v[0].first_flow, 1);
	assert_int_equal(o.v[0].last_flow, 500);
	/* of another uid: a run each again */
	owner_ranges_reset(&o);
	one_client(&o, proc(28007, 5000, "openssl", 1000), proc(27997, 4000, "openssl", 0), 500);
	assert_int_equal(o.n, 2);
	owner_ranges_free(&o);
}

static void test_curl_loop(void **state)
{
	(void)state;
	struct owner_ranges o = { 0 };
	struct ecap_proc server = proc(4000, 1, "openssl", 0);
	/* 30 curls, 3 pids apart (the shell's fork between them), a flow each, and the server in
	 * all: the curls one group, the server a run of its own */
	for (uint32_t k = 0; k < 30; k++) {
		struct ecap_proc c = proc(100000 + 3 * k, 10 + k, "curl", 0);
		assert_int_equal(owner_ranges_add(&o, 1 + k, &c), 0);
		assert_int_equal(owner_ranges_add(&o, 1 + k, &server), 0);
	}
	owner_ranges_merge(&o);
	assert_int_equal(o.n, 2);
	const struct owner_range *g = run_of(&o, 100000);
	assert_non_null(g);
	assert_true(g->group && g->start_ns == 0 && g->pid_last == 100087);
	assert_true(g->first_flow == 1 && g->last_flow == 30);
	/* the 44th curl would pass OWNER_PID_SPAN: a second group from there */
	owner_ranges_reset(&o);
	for (uint32_t k = 0; k < 50; k++) {
		struct ecap_proc c = proc(100000 + 3 * k, 10 + k, "curl", 0);
		assert_int_equal(owner_ranges_add(&o, 1 + k, &c), 0);
	}
	owner_ranges_merge(&o);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.v[0].pid_last - o.v[0].pid, 3 * 42);
	assert_int_equal(o.v[1].pid, 100000 + 3 * 43);
	owner_ranges_free(&o);
}

struct entry {
	struct ecap_proc p;
	uint64_t flow;
};

/* Runs without groups: the entries' (owner, flow) sorted by owner and flow, a new run where
 * the owner changes or the flow lies more than OWNER_RUN_GAP past the run's. */
static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->p.comm, y->p.comm);
	if (!c)
		c = (x->p.uid > y->p.uid) - (x->p.uid < y->p.uid);
	if (!c)
		c = (x->p.pid > y->p.pid) - (x->p.pid < y->p.pid);
	if (!c)
		c = (x->p.start_ns > y->p.start_ns) - (x->p.start_ns < y->p.start_ns);
	return c ? c : (x->flow > y->flow) - (x->flow < y->flow);
}

static size_t runs_without_groups(struct entry *e, size_t n)
{
	qsort(e, n, sizeof(*e), cmp_entry);
	size_t runs = 0;
	uint64_t last = 0;
	for (size_t i = 0; i < n; i++) {
		if (!i || cmp_entry(&(struct entry){ e[i - 1].p, 0 }, &(struct entry){ e[i].p, 0 }) ||
		    e[i].flow > last + OWNER_RUN_GAP)
			runs++;
		last = e[i].flow;
	}
	return runs;
}

static bool holds(const struct owner_range *r, const struct entry *e)
{
	return !strcmp(r->comm, e->p.comm) && r->uid == e->p.uid && r->netns == e->p.netns &&
	       r->pid <= e->p.pid && e->p.pid <= r->pid_last &&
	       (r->group || r->start_ns == e->p.start_ns) && r->first_flow <= e->flow &&
	       e->flow <= r->last_flow;
}

static void test_random_chunks(void **state)
{
	(void)state;
	static const char *const comms[] = { "curl", "openssl", "nginx" };
	static struct entry e[2000];
	struct owner_ranges o = { 0 };
	srand(17);
	for (int round = 0; round < 300; round++) {
		size_t n = 1 + (size_t)rand() % 2000;
		/* a few long-lived processes and many short ones, pids in clusters */
		for (size_t i = 0; i < n; i++) {
			uint32_t pid = rand() % 4 ? 1000 + (uint32_t)rand() % 600
						  : 1000 + (uint32_t)rand() % 8 * 97;
			e[i].p = proc(pid, pid % 3, comms[pid % 3 == 0 ? (uint32_t)rand() % 3 : pid % 2],
				      rand() % 8 ? 0 : 1000);
			e[i].flow = 1 + (uint64_t)rand() % (rand() % 2 ? 200 : 5000);
			assert_int_equal(owner_ranges_add(&o, e[i].flow, &e[i].p), 0);
		}
		owner_ranges_merge(&o);
		for (size_t i = 0; i < n; i++) {
			size_t k = 0;
			while (k < o.n && !holds(&o.v[k], &e[i]))
				k++;
			assert_true(k < o.n);
		}
		for (size_t k = 0; k < o.n; k++) {
			assert_true(o.v[k].pid_last - o.v[k].pid <= OWNER_PID_SPAN);
			assert_true(o.v[k].first_flow <= o.v[k].last_flow);
			assert_true(o.v[k].group || o.v[k].pid == o.v[k].pid_last);
			assert_true(!o.v[k].group || o.v[k].start_ns == 0);
		}
		assert_true(o.n <= runs_without_groups(e, n));
		owner_ranges_reset(&o);
	}
	owner_ranges_free(&o);
}

/* Chunks whose flows each have a client of its own, pids rising with the flows (a curl loop),
 * and a server in all or some of them: owner_ranges_add keeps the server in one entry while
 * its flows follow, and owner_ranges_merge merges the two runs this makes without sorting.
 * The same runs as entries added one per flow and sorted (a copy of the chunk's entries made
 * one by one in a shuffled order, which takes the sort). */
static void test_two_runs(void **state)
{
	(void)state;
	static struct entry e[600];
	struct owner_ranges o = { 0 }, shuffled = { 0 };
	srand(26);
	for (int round = 0; round < 200; round++) {
		size_t n = 0;
		uint32_t pid = 100000 + (uint32_t)rand() % 1000;
		struct ecap_proc server = proc(4000, 7, rand() % 2 ? "openssl" : "aaa", 0);
		/* the server in every flow, flows at most 20 apart: one entry (two runs to merge);
		 * in some, up to 80 apart: in several (sorted) */
		int gap = round % 2 ? 20 : 80;
		uint64_t id = 1 + (uint64_t)rand() % 50;
		for (; n + 2 <= 600; id += 1 + (uint64_t)(rand() % gap)) {
			pid += 1 + (uint32_t)rand() % 40;
			e[n++] = (struct entry){ proc(pid, pid, "curl", 0), id };
			if (round % 2 || rand() % 4)
				e[n++] = (struct entry){ server, id };
		}
		for (size_t i = 0; i < n; i++)
			assert_int_equal(owner_ranges_add(&o, e[i].flow, &e[i].p), 0);
		owner_ranges_merge(&o);
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)rand() % i;
			struct entry t = e[i - 1];
			e[i - 1] = e[j];
			e[j] = t;
		}
		for (size_t i = 0; i < n; i++)
			assert_int_equal(owner_ranges_add(&shuffled, e[i].flow, &e[i].p), 0);
		owner_ranges_merge(&shuffled);
		assert_int_equal(o.n, shuffled.n);
		for (size_t k = 0; k < o.n; k++)
			assert_memory_equal(&o.v[k], &shuffled.v[k], sizeof(o.v[k]));
		owner_ranges_reset(&o);
		owner_ranges_reset(&shuffled);
	}
	owner_ranges_free(&o);
	owner_ranges_free(&shuffled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_and_client_of_one_name),
		cmocka_unit_test(test_curl_loop),
		cmocka_unit_test(test_random_chunks),
		cmocka_unit_test(test_two_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
