// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_store_prepare.c - a writer's memory is made when the store opens, not by its first
 * sessions (store.c init_writer: index_prepare, store_owners_prepare, chunk_writer_prepare):
 * 3,000 TLS sessions, each a new client process with its flow, packets, session and secret,
 * sealed and indexed chunk after chunk on the test's own thread (sync_writer), take fewer page
 * faults than the index's sessions' table (touched at random by each new session) and the
 * owners' cache (by each new process) would fault in by themselves on the thread that records
 * without the preparation. The sessions are read back: every one is stored, with its secret.
 * And an owner learned late, written into its flow's row in a later chunk, faults in no
 * memory of SQLite's each time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index_sql.h"
#include "page_faults.h"
#include "store.h"
#include "tmp_store.h"

#define SESSIONS 3000u
#define NS 1000000000ull

/* Session n's new flow, from 127.0.0.1 port 32768 + n to port 4433, with no owner. */
static void loopback_flow(struct store *s, struct flow_record *fr, uint32_t n, uint64_t wall)
{
	memset(fr, 0, sizeof(*fr));
	fr->id = store_new_flow_id(s);
	fr->first_ns = wall;
	fr->key.proto = 6;
	fr->key.family = 4;
	memset(fr->key.addr_a + 10, 0xff, 2);
	memset(fr->key.addr_b + 10, 0xff, 2);
	fr->key.addr_a[12] = fr->key.addr_b[12] = 127;
	fr->key.addr_a[15] = fr->key.addr_b[15] = 1;
	fr->key.port_a = (uint16_t)(32768 + n);
	fr->key.port_b = 4433;
}

static void one_session(struct store *s, uint32_t ifid, uint32_t n, uint64_t wall)
{
	struct flow_record fr;
	struct ecap_proc_info pi;
	uint8_t cr[32], data[120];

	loopback_flow(s, &fr, n, wall);
	fr.proc[0].valid = true;
	fr.proc[0].pid = fr.proc[0].tid = 100000 + n; /* a new client each time */
	fr.proc[0].start_ns = 1000 + n;
	memcpy(fr.proc[0].comm, "client", 7);
	memset(&pi, 0, sizeof(pi));
	pi.pid = pi.nspid = fr.proc[0].pid;
	pi.start_ns = fr.proc[0].start_ns;
	pi.start_wall_ns = wall;
	snprintf(pi.exe, sizeof(pi.exe), "/usr/bin/client");
	assert_int_equal(store_put_process(s, &pi), 0);
	assert_int_equal(store_put_flow(s, &fr), 0);
	for (size_t i = 0; i < sizeof(cr); i++)
		cr[i] = (uint8_t)((n * 2654435761u) >> (i % 4 * 8)) ^ (uint8_t)(i * 37 + n);
	memcpy(cr, &n, sizeof(n));
	memset(data, 0x5a, sizeof(data));
	for (int k = 0; k < 4; k++) {
		struct ecap_packet p = { .ts_ns = wall + (uint64_t)k * 1000, .iface = ifid,
					 .caplen = sizeof(data), .origlen = sizeof(data),
					 .flags = 2, .flow_id = fr.id, .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
		if (k == 0)
			assert_int_equal(store_put_tls_session(s, cr, fr.id), 0);
	}
	struct tls_secret sec = { .secret_len = 32 };
	snprintf(sec.label, sizeof(sec.label), "CLIENT_TRAFFIC_SECRET_0");
	memcpy(sec.client_random, cr, 32);
	memset(sec.secret, 0x33, 32);
	assert_true(store_put_session_secret(s, &sec) >= 0);
}

/* A writer of the store in dir (no sync, buffered writes), *o its options (o->sync_writer:
 * chunks sealed and indexed on this thread; o->chunk_bytes, 0: the default), its interface in
 * *ifid and the store's clock now in *mono. */
static struct store *open_writer(const char *dir, struct store_options *o, uint32_t *ifid,
				 uint64_t *mono)
{
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	struct store *s;
	struct timespec ts;
	o->quiet = true;
	o->no_sync = true;
	o->buffered_writes = true;
	assert_int_equal(store_open(dir, STORE_WRITE, o, &s), 0);
	assert_int_equal(store_add_interface(s, &ifc, ifid), 0);
	/* the store's timers count from CLOCK_MONOTONIC at its open */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	*mono = (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
	return s;
}

static void test_sessions_without_faults(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	uint32_t ifid;
	uint64_t wall = 1700000000ull * NS, mono;

	store_options_default(&o);
	o.sync_writer = true;     /* sealed and indexed on this thread, where faults count */
	o.chunk_bytes = 64u << 10; /* about a hundred sessions a chunk */
	struct store *s = open_writer(f->dir, &o, &ifid, &mono);
	/* the first chunk's own first touches (its builders' meta arrays, SQLite's first
	 * statements) are not what this counts */
	for (uint32_t n = 0; n < 200; n++)
		one_session(s, ifid, n, wall + n * 1000000ull);
	assert_int_equal(store_tick(s, mono += NS), 0);
	long before = page_faults();
	for (uint32_t n = 200; n < SESSIONS; n++) {
		one_session(s, ifid, n, wall + n * 1000000ull);
		if (n % 100 == 0)
			assert_int_equal(store_tick(s, mono += NS / 10), 0);
	}
	assert_int_equal(store_tick(s, mono += 2 * NS), 0);
	long taken = page_faults() - before;
	print_message("%ld page faults for %u sessions\n", taken, SESSIONS - 200);
	/* measured: 312 with the preparation (SQLite's page cache and log, the chunk meta's
	 * arrays as they grow), 776 without index_prepare and store_owners_prepare */
	assert_true(!page_faults_checked() || taken <= 500);
	assert_int_equal(store_close(s), 0);

	assert_int_equal(store_open(f->dir, STORE_READ, &o, &s), 0);
	struct store_stats st;
	assert_int_equal(store_get_stats(s, &st), 0);
	assert_int_equal(st.tls_sessions, SESSIONS);
	assert_int_equal(st.secrets, SESSIONS);
	assert_int_equal(store_close(s), 0);
}

/* The page faults of every thread of this process so far. */
static long process_page_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

/* A flow's server end learned in the chunk after its first record, as ecap-rec learns an
 * accepted socket's owner under the curl loops: the index writes the owner into the flow's
 * row (its UPDATE runs the trigger flows_owner_moved, whose IN lists open temporary
 * b-trees). 300 such chunks take fewer page faults than chunks: SQLite's first bulk
 * allocation of each temporary b-tree's page cache (86 KiB, freed at the top of the heap and
 * given back to the system each time) took some 80 a chunk (index.c sqlite_settings). The
 * flows are read back with their servers. */
static void test_late_owners_without_faults(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	uint32_t ifid;
	uint64_t wall = 1700000000ull * NS, mono;
	uint8_t data[120];
	enum { CHUNKS = 300, WARM = 20 };

	store_options_default(&o);
	struct store *s = open_writer(f->dir, &o, &ifid, &mono);
	memset(data, 0x5a, sizeof(data));
	struct flow_record prev;
	long before = 0;
	for (uint32_t n = 0; n <= CHUNKS + WARM; n++) {
		if (n == WARM)
			before = process_page_faults();
		if (n) { /* the previous chunk's flow, now with its server */
			prev.proc[1].valid = true;
			assert_int_equal(store_put_flow(s, &prev), 0);
		}
		if (n == CHUNKS + WARM)
			break;
		struct flow_record fr;
		loopback_flow(s, &fr, n, wall + n * NS);
		for (int side = 0; side < 2; side++) {
			fr.proc[side].valid = !side;
			fr.proc[side].pid = fr.proc[side].tid = side ? 4000 : 100000 + n;
			fr.proc[side].start_ns = side ? 500 : 1000 + n;
			memcpy(fr.proc[side].comm, side ? "server" : "client", 7);
		}
		assert_int_equal(store_put_flow(s, &fr), 0);
		struct ecap_packet p = { .ts_ns = fr.first_ns, .iface = ifid, .caplen = sizeof(data),
					 .origlen = sizeof(data), .flags = 2, .flow_id = fr.id,
					 .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
		assert_int_equal(store_tick(s, mono += 2 * NS), 0); /* a chunk and its commit */
		prev = fr;
	}
	assert_int_equal(store_tick(s, mono += 2 * NS), 0);
	long taken = process_page_faults() - before;
	print_message("%ld page faults for %d chunks, each with an owner learned late\n", taken,
		      CHUNKS);
	/* measured: 44-54 without the bulk allocation, 5,948-25,061 with it */
	assert_true(!page_faults_checked() || taken < CHUNKS);
	assert_int_equal(store_close(s), 0);

	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM flows WHERE b_pid = 4000 AND "
				 "b_comm = 'server'"), CHUNKS + WARM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: memory that an earlier test mapped and freed raises malloc's threshold
		 * for giving memory back (glibc's dynamic threshold), which would hide this */
		cmocka_unit_test_setup_teardown(test_late_owners_without_faults, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_sessions_without_faults, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
