// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_store_epochs.c - long-lived flows and retention, through the store's API: the epochs of
 * store_flow_epoch() (every chunk of an epoch in one segment, one epoch per segment, with the
 * writer thread and without), and a flow whose segments retention deleted while it was quiet,
 * stored again in a later epoch as a writer must (store.h): found by port, host, tuple, pid
 * and comm with its owner (and by --exe and --container: its process's records come along),
 * by the live index and by one rebuilt from the segments left; and so is a flow whose first
 * segments alone went, with its NAT link; and an index of schema 7 migrated to 8. The owner
 * caches behind the bringing along cost a store's first records a few page faults, not the
 * 1.7 MB of the full caches (about 420 faults, 12-17 us each on the development VM).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "index.h"
#include "page_faults.h"
#include "index_sql.h"
#include "store.h"
#include "tmp_store.h"

#define NS 1000000000ull
#define T0 (1764140400ull * NS)
#define N_PACKETS 20000u

#define setup tmp_store_setup
#define teardown tmp_store_teardown

static uint64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Packet n: its number in the first bytes, then bytes that compress a little. */
static uint32_t make_packet(uint8_t *buf, uint32_t n)
{
	uint32_t len = 60 + (n * 37) % 400;
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((n * 2654435761u) >> (i % 24));
	memcpy(buf, &n, 4);
	return len;
}

/* Packet n's segment, read back from every chunk. */
static void packet_segments(const char *dir, uint32_t *seg_of)
{
	struct store *s;
	struct chunk_list cl = { 0 };
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, NULL, &cl), 0);
	for (size_t i = 0; i < cl.n; i++) {
		struct chunk_view *v;
		assert_int_equal(store_chunk_open(s, &cl.v[i], &v), 0);
		struct ecap_packet p;
		while (chunk_view_next(v, &p) == 1) {
			uint32_t n;
			memcpy(&n, p.data, 4);
			assert_true(n < N_PACKETS);
			seg_of[n] = cl.v[i].segment;
		}
		chunk_view_close(v);
	}
	chunk_list_free(&cl);
	store_close(s);
}

/* A writer of the store in dir with options o, and its interface lo (*ifid). */
static struct store *open_with_lo(const char *dir, const struct store_options *o, uint32_t *ifid)
{
	struct store *s;
	assert_int_equal(store_open(dir, STORE_WRITE, o, &s), 0);
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	assert_int_equal(store_add_interface(s, &ifc, ifid), 0);
	return s;
}

/* The same with the default options, quiet (in *o, for the test's later opens). */
static struct store *open_quiet_with_lo(const char *dir, struct store_options *o, uint32_t *ifid)
{
	store_options_default(o);
	o->quiet = true;
	return open_with_lo(dir, o, ifid);
}

/* Every chunk of an epoch goes to one segment, and each segment has an epoch of its own: the
 * writer thread fills a chunk while the one before is written, and finds the segment full
 * with packets of the old epoch in the open chunk already (store_tick collects chunks between
 * packets, as a recorder's loop does). */
static void check_epochs(const char *dir, bool sync_writer)
{
	struct store_options o;
	store_options_default(&o);
	o.chunk_bytes = 4096;
	o.segment_bytes = 16 * 1024;
	o.sync_writer = sync_writer;
	o.quiet = true;
	uint32_t ifid;
	struct store *s = open_with_lo(dir, &o, &ifid);
	uint32_t *epoch = calloc(N_PACKETS, sizeof(*epoch));
	uint32_t *seg_of = calloc(N_PACKETS, sizeof(*seg_of));
	assert_non_null(epoch);
	assert_non_null(seg_of);
	uint8_t data[512];
	for (uint32_t i = 0; i < N_PACKETS; i++) {
		uint32_t len = make_packet(data, i);
		struct ecap_packet p = { .ts_ns = T0 + i * 1000ull, .iface = ifid, .caplen = len,
					 .origlen = len, .data = data };
		epoch[i] = store_flow_epoch(s);
		assert_int_equal(store_append_packet(s, &p), 0);
		if (i % 5 == 0)
			assert_int_equal(store_tick(s, mono()), 0);
	}
	assert_int_equal(store_close(s), 0);
	packet_segments(dir, seg_of);

	uint32_t n_epochs = epoch[N_PACKETS - 1] + 1, segments = 0, last_seg = 0;
	uint32_t *seg_of_epoch = calloc(n_epochs, sizeof(*seg_of_epoch));
	assert_non_null(seg_of_epoch);
	for (uint32_t i = 0; i < N_PACKETS; i++) {
		assert_true(epoch[i] < n_epochs);
		if (!seg_of_epoch[epoch[i]])
			seg_of_epoch[epoch[i]] = seg_of[i];
		if (seg_of_epoch[epoch[i]] != seg_of[i])
			fail_msg("packet %u of epoch %u is in segment %u, earlier ones of its epoch "
				 "in %u", i, epoch[i], seg_of[i], seg_of_epoch[epoch[i]]);
		if (seg_of[i] != last_seg)
			segments++;
		last_seg = seg_of[i];
	}
	/* one epoch per segment: a live flow's record costs one per segment, no more */
	uint32_t used = 0;
	for (uint32_t e = 0; e < n_epochs; e++)
		used += seg_of_epoch[e] != 0;
	assert_true(segments >= 8);
	assert_int_equal(used, segments);
	free(seg_of_epoch);
	free(epoch);
	free(seg_of);
}

static void test_epochs_writer_thread(void **state)
{
	struct fixture *f = *state;
	check_epochs(f->dir, false);
}

static void test_epochs_sync_writer(void **state)
{
	struct fixture *f = *state;
	check_epochs(f->dir, true);
}

static struct flow_record tcp_flow(uint64_t id, uint8_t host, uint16_t port, uint32_t pid,
				   const char *comm)
{
	struct flow_record fr = { .id = id, .first_ns = T0 };
	fr.key.proto = FLOW_PROTO_TCP;
	fr.key.family = 4;
	memset(fr.key.addr_a + 10, 0xff, 2);
	memset(fr.key.addr_b + 10, 0xff, 2);
	fr.key.addr_a[12] = fr.key.addr_b[12] = 127;
	fr.key.addr_a[15] = 1;
	fr.key.addr_b[15] = host;
	fr.key.port_a = 50000;
	fr.key.port_b = port;
	fr.proc[0].valid = true;
	fr.proc[0].pid = pid;
	fr.proc[0].uid = 1000;
	snprintf(fr.proc[0].comm, sizeof(fr.proc[0].comm), "%s", comm);
	return fr;
}

struct live_flow {
	struct flow_record rec;
	uint32_t epoch;
};

/* A packet of flow f (NULL: of none), its record stored first when the store's epoch moved
 * since its last one (the writer's duty, store.h). */
static void put_packet(struct store *s, uint32_t ifid, struct live_flow *f, uint32_t n)
{
	uint8_t data[512];
	uint32_t len = make_packet(data, n);
	if (f && f->epoch != store_flow_epoch(s)) {
		assert_int_equal(store_put_flow(s, &f->rec), 0);
		f->epoch = store_flow_epoch(s);
	}
	struct ecap_packet p = { .ts_ns = T0 + n * 1000000ull, .iface = ifid, .caplen = len,
				 .origlen = len, .flow_id = f ? f->rec.id : 0, .data = data };
	assert_int_equal(store_append_packet(s, &p), 0);
}

/* The flows that filter ff selects: exactly want, and also when not 0 (a flow linked to
 * want through NAT, which a selection by owner takes too). */
static void selects_also(struct store *s, const struct flow_filter *ff, uint64_t want,
			 uint64_t also)
{
	struct idset ids = { 0 };
	assert_int_equal(store_select_flows(s, ff, &ids), 0);
	if (ids.n != (also ? 2u : 1u) || !idset_has(&ids, want) || (also && !idset_has(&ids, also)))
		fail_msg("selected %zu flows, expected flow %llu (and %llu)", ids.n,
			 (unsigned long long)want, (unsigned long long)also);
	idset_free(&ids);
}

static void selects(struct store *s, const struct flow_filter *ff, uint64_t want)
{
	selects_also(s, ff, want, 0);
}

/* Flow f is found by each of its keys and by its owner, with that owner (by owner together
 * with the flow linked to it through NAT, linked: 0 none), and its packets number want in the
 * chunks that the store lists for it. */
static void found(struct store *s, const struct flow_record *f, uint64_t linked, uint32_t want)
{
	struct flow_filter ff;
	flow_filter_init(&ff);
	ff.ports[ff.n_ports++] = f->key.port_b;
	selects(s, &ff, f->id);
	flow_filter_init(&ff);
	memcpy(ff.hosts[ff.n_hosts++], f->key.addr_b, 16);
	selects(s, &ff, f->id);
	flow_filter_init(&ff);
	ff.tuples[ff.n_tuples++] = f->key;
	selects(s, &ff, f->id);
	flow_filter_init(&ff);
	ff.pids[ff.n_pids++] = f->proc[0].pid;
	selects_also(s, &ff, f->id, linked);
	flow_filter_init(&ff);
	snprintf(ff.comms[ff.n_comms++], ECAP_COMM_LEN, "%s", f->proc[0].comm);
	selects_also(s, &ff, f->id, linked);
	struct flow_link links[2];
	assert_int_equal(store_get_links(s, f->id, links, 2), linked ? 1 : 0);
	if (linked)
		assert_int_equal(links[0].post_id, linked);

	struct flow_record got;
	assert_int_equal(store_get_flow(s, f->id, &got), 0);
	assert_true(got.proc[0].valid);
	assert_int_equal(got.proc[0].pid, f->proc[0].pid);
	assert_string_equal(got.proc[0].comm, f->proc[0].comm);
	if (f->proc[0].start_ns) {
		/* what was recorded of its process and container, as comments print it and
		 * --exe and --container select by it */
		struct ecap_proc_info pi;
		assert_int_equal(store_get_process(s, f->proc[0].pid, f->proc[0].start_ns, &pi), 1);
		assert_string_equal(pi.exe, "/usr/bin/ssh");
		struct ecap_container c;
		assert_int_equal(store_get_container(s, pi.container_id, &c), 1);
		assert_string_equal(c.name, "jumpbox");
		flow_filter_init(&ff);
		snprintf(ff.exes[ff.n_exes++], ECAP_EXE_MAX, "%s", pi.exe);
		selects(s, &ff, f->id);
		flow_filter_init(&ff);
		snprintf(ff.containers[ff.n_containers++], ECAP_CTR_NAME_MAX, "%s", c.name);
		selects(s, &ff, f->id);
	}

	struct idset ids = { 0 };
	assert_int_equal(idset_add(&ids, f->id), 0);
	idset_seal(&ids);
	struct chunk_list cl = { 0 };
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, &ids, &cl), 0);
	uint32_t n = 0;
	for (size_t i = 0; i < cl.n; i++) {
		struct chunk_view *v;
		assert_int_equal(store_chunk_open(s, &cl.v[i], &v), 0);
		struct ecap_packet p;
		while (chunk_view_next(v, &p) == 1)
			n += p.flow_id == f->id;
		chunk_view_close(v);
	}
	assert_int_equal(n, want);
	chunk_list_free(&cl);
	idset_free(&ids);
}

/*
 * "ssh" sends 5 packets, then is quiet while retention deletes the segments that hold them
 * (and, as its last chunk is older than every chunk left, its index rows), then sends 5 more;
 * "psql" sends every 40th packet, so that its first segments go while it lives on, and so
 * does its other end after a NAT, linked to it at the start. Both are found with their
 * owners (psql's with its linked end), and the same after a rebuild from the segments left.
 */
static void test_quiet_flow_after_retention(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	store_options_default(&o);
	o.chunk_bytes = 4096;
	o.segment_bytes = 16 * 1024;
	o.max_size = 64 * 1024 + 200 * 1024; /* segments plus the index files */
	/* through the page cache: the sizes above count chunks without the padding frame that a
	 * direct write adds (up to 4 KiB after each chunk of 4 KiB here: half as many chunks
	 * would fit; test_segment_pad covers retention's segment lengths with padding) */
	o.buffered_writes = true;
	o.quiet = true;
	uint32_t ifid;
	struct store *s = open_with_lo(f->dir, &o, &ifid);
	struct live_flow ssh = { tcp_flow(store_new_flow_id(s), 2, 22, 3131, "ssh"), 0 };
	struct live_flow psql = { tcp_flow(store_new_flow_id(s), 6, 5432, 4242, "psql"), 0 };
	/* psql's connection after a MASQUERADE on this host, linked to it once at the start */
	struct live_flow nat = { tcp_flow(store_new_flow_id(s), 16, 15432, 0, ""), 0 };
	nat.rec.proc[0].valid = false;
	struct flow_link link = { .pre_id = psql.rec.id, .post_id = nat.rec.id, .kind = 1,
				  .ts_ns = T0 };
	assert_int_equal(store_put_flow_link(s, &link), 0);
	/* ssh's process, in a container, recorded once at the start */
	struct ecap_proc_info pi = { .pid = 3131, .start_ns = 77 * NS, .start_wall_ns = T0 };
	snprintf(pi.exe, sizeof(pi.exe), "/usr/bin/ssh");
	snprintf(pi.container_id, sizeof(pi.container_id), "%064x", 0x5511);
	struct ecap_container ctr = { .first_ns = T0, .last_ns = T0 };
	memcpy(ctr.id, pi.container_id, sizeof(ctr.id));
	snprintf(ctr.name, sizeof(ctr.name), "jumpbox");
	ssh.rec.proc[0].start_ns = pi.start_ns;
	assert_int_equal(store_put_process(s, &pi), 0);
	assert_int_equal(store_put_container(s, &ctr), 0);
	uint32_t n = 0, psql_late = 0;
	for (int i = 0; i < 5; i++)
		put_packet(s, ifid, &ssh, n++);
	for (; n < N_PACKETS - 100; n++)
		put_packet(s, ifid, n % 40 ? (n % 40 == 1 ? &nat : NULL) : &psql, n);
	for (int i = 0; i < 5; i++)
		put_packet(s, ifid, &ssh, n++);
	for (; n < N_PACKETS; n++)
		put_packet(s, ifid, n % 40 ? (n % 40 == 1 ? &nat : NULL) : &psql, n);
	assert_int_equal(store_close(s), 0);

	/* what the store kept of psql: its packets in the chunks left */
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	struct chunk_list cl = { 0 };
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, NULL, &cl), 0);
	uint32_t ssh_kept = 0;
	for (size_t i = 0; i < cl.n; i++) {
		struct chunk_view *v;
		assert_int_equal(store_chunk_open(s, &cl.v[i], &v), 0);
		struct ecap_packet p;
		while (chunk_view_next(v, &p) == 1) {
			psql_late += p.flow_id == psql.rec.id;
			ssh_kept += p.flow_id == ssh.rec.id;
		}
		chunk_view_close(v);
	}
	chunk_list_free(&cl);
	assert_int_equal(ssh_kept, 5);   /* its first five went with their segments */
	assert_true(psql_late > 0 && psql_late < N_PACKETS / 40);
	for (int pass = 0; pass < 2; pass++) {
		found(s, &ssh.rec, 0, 5);
		found(s, &psql.rec, nat.rec.id, psql_late);
		store_close(s);
		if (pass)
			break;
		/* the same from the segments alone */
		char p[128];
		snprintf(p, sizeof(p), "%s/index.db", f->dir);
		assert_int_equal(unlink(p), 0);
		assert_int_equal(store_rebuild(f->dir, &o, false), 0);
		assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	}
}

/* An index of schema 7 (whose writer stored each record once) migrates to 8: the flow key
 * rows of its chunks keep schema 7's retention (setting flow_keys_own_from: the first chunk
 * after them), a new index has no such chunk. */
static void test_migrate_7(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	uint32_t ifid;
	struct store *s = open_quiet_with_lo(f->dir, &o, &ifid);
	struct live_flow ssh = { tcp_flow(store_new_flow_id(s), 2, 22, 3131, "ssh"), 0 };
	for (uint32_t n = 0; n < 10; n++)
		put_packet(s, ifid, &ssh, n);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM settings WHERE key = "
				   "'flow_keys_own_from'"), 0);
	index_to_v9(f->dir);
	index_exec(f->dir, "PRAGMA user_version = 7");
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(index_int(f->dir, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	assert_int_equal(index_int(f->dir, "SELECT value FROM settings WHERE key = "
				   "'flow_keys_own_from'"),
			 index_int(f->dir, "SELECT max(id) + 1 FROM chunks"));
	assert_true(index_int(f->dir, "SELECT max(id) FROM chunks") >= 1);
}

/* A writer's first process, container and NAT link records: a few pages of the owner caches
 * touched, not all of them; the records are there and their flows bring them along (above). */
static void test_first_owners_few_pages(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	uint32_t ifid;
	struct store *s = open_quiet_with_lo(f->dir, &o, &ifid);
	struct ecap_proc_info pi = { .pid = 4242, .start_ns = 5 * NS, .start_wall_ns = T0 };
	snprintf(pi.exe, sizeof(pi.exe), "/usr/bin/curl");
	snprintf(pi.container_id, sizeof(pi.container_id), "%064x", 0x77);
	struct ecap_container ctr = { .first_ns = T0, .last_ns = T0 };
	memcpy(ctr.id, pi.container_id, sizeof(ctr.id));
	struct flow_link link = { .pre_id = 1, .post_id = 2, .kind = 1, .ts_ns = T0 };
	/* the chunk's own arrays for such records, made by a first record of each kind */
	assert_int_equal(store_put_process(s, &(struct ecap_proc_info){ .pid = 1 }), 0);
	long before = page_faults();
	assert_int_equal(store_put_process(s, &pi), 0);
	assert_int_equal(store_put_container(s, &ctr), 0);
	assert_int_equal(store_put_flow_link(s, &link), 0);
	long faults = page_faults() - before;
	print_message("first owner records: %ld page faults\n", faults);
	if (page_faults_checked())
		assert_true(faults < 60);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM processes WHERE pid = 4242"), 1);
}

int main(void)
{
	/* the page faults first: memory the others free would be at hand, resident */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_owners_few_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epochs_writer_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epochs_sync_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet_flow_after_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_7, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
