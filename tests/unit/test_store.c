// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_store.c - the store through its public API: a round trip of packets, flows, sessions
 * and secrets; chunk boundaries and time order; a torn tail cut and recovered at the next
 * open; chunks on disk without index rows re-indexed; flipped bytes found by fsck and losing
 * one chunk only; a rebuilt index answering like the original; flow totals over chunks,
 * commits and late records; retention; modes; a reader while the writer writes; a full disk
 * (on a tmpfs in a mount namespace of the test's own) with and without drop_when_full;
 * direct (O_DIRECT) writes giving the same segment bytes as buffered ones; indexes of
 * schema versions 1-6 migrated, but not under a running writer; each secret indexed once;
 * thousands of interfaces of -i any (namespace, ifindex, description) in one chunk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chunk_writer.h"
#include "index.h"
#include "index_sql.h"
#include "noise_store.h"
#include "secret_blob.h"
#include "store.h"
#include "tmp_store.h"

#define NS 1000000000ull
#define T0 (1764140400ull * NS)

#define setup tmp_store_setup
#define teardown tmp_store_teardown

static void small_chunks(struct store_options *o)
{
	store_options_default(o);
	o->chunk_bytes = 4096;
	o->segment_bytes = 64 * 1024;
	o->quiet = true;
}

/* Small chunks in 16 KiB segments, the store kept to 264 KiB (segments plus the index files):
 * retention takes segments after a few dozen chunks. */
static void small_kept(struct store_options *o)
{
	small_chunks(o);
	o->segment_bytes = 16 * 1024;
	o->max_size = 64 * 1024 + 200 * 1024;
}

/* A writer of the store in dir with options o, and its interface lo (*ifid). */
static struct store *open_with_lo(const char *dir, const struct store_options *o, uint32_t *ifid)
{
	struct store *s;
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	assert_int_equal(store_open(dir, STORE_WRITE, o, &s), 0);
	assert_int_equal(store_add_interface(s, &ifc, ifid), 0);
	return s;
}

/* A packet whose bytes encode its number, so that a read-back can be checked. */
static void make_packet(uint8_t *buf, uint32_t n, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(n * 7 + i);
	memcpy(buf, &n, 4);
}

static struct flow_record make_flow(uint64_t id, uint16_t port, uint32_t pid, const char *comm)
{
	struct flow_record fr = { .id = id, .first_ns = T0 };
	fr.key.proto = FLOW_PROTO_TCP;
	fr.key.family = 4;
	memset(fr.key.addr_a + 10, 0xff, 2);
	memset(fr.key.addr_b + 10, 0xff, 2);
	fr.key.addr_a[12] = fr.key.addr_b[12] = 127;
	fr.key.addr_a[15] = fr.key.addr_b[15] = 1;
	fr.key.port_a = (uint16_t)(40000 + port);
	fr.key.port_b = port;
	fr.proc[0].valid = true;
	fr.proc[0].pid = pid;
	fr.proc[0].uid = 1000;
	snprintf(fr.proc[0].comm, sizeof(fr.proc[0].comm), "%s", comm);
	return fr;
}

/* Writes n packets alternating over two flows (ids 1 and 2), plus one secret for flow 1. */
static void write_store(const char *dir, const struct store_options *o, uint32_t n)
{
	uint32_t ifid;
	struct store *s = open_with_lo(dir, o, &ifid);
	uint64_t f1 = store_new_flow_id(s), f2 = store_new_flow_id(s);
	struct flow_record r1 = make_flow(f1, 443, 1234, "curl");
	struct flow_record r2 = make_flow(f2, 80, 999, "wget");
	assert_int_equal(store_put_flow(s, &r1), 0);
	assert_int_equal(store_put_flow(s, &r2), 0);
	uint8_t cr[32];
	memset(cr, 0xab, sizeof(cr));
	assert_int_equal(store_put_tls_session(s, cr, f1), 0);
	struct tls_secret sec = { .label = "CLIENT_RANDOM", .secret_len = 48 };
	memcpy(sec.client_random, cr, 32);
	memset(sec.secret, 0x5a, 48);
	assert_int_equal(store_put_secret(s, &sec), 1);
	assert_int_equal(store_put_secret(s, &sec), 0);
	uint8_t data[300];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = 60 + (i % 200);
		make_packet(data, i, len);
		struct ecap_packet p = { .ts_ns = T0 + i * 1000ull, .iface = ifid, .caplen = len,
					 .origlen = len, .flags = 2, .data = data };
		p.flow_id = i % 3 == 2 ? 0 : (i % 3 == 0 ? f1 : f2);
		assert_int_equal(store_append_packet(s, &p), 0);
	}
	assert_int_equal(store_close(s), 0);
}

struct readback {
	uint32_t count;
	uint64_t last_ts;
	uint32_t flow_pkts[3];
};

/* Reads every packet of the chunks selected by flows (NULL: all) and checks its bytes. */
static void read_all(const char *dir, const struct idset *flows, struct readback *rb)
{
	struct store *s;
	struct chunk_list cl = { 0 };
	memset(rb, 0, sizeof(*rb));
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, flows, &cl), 0);
	for (size_t i = 0; i < cl.n; i++) {
		struct chunk_view *v;
		int oe = store_chunk_open(s, &cl.v[i], &v);
		if (oe)
			fprintf(stderr, "%s\n", store_errmsg(s));
		assert_int_equal(oe, 0);
		struct ecap_packet p;
		while (chunk_view_next(v, &p) == 1) {
			uint32_t n;
			memcpy(&n, p.data, 4);
			assert_int_equal(p.caplen, 60 + (n % 200));
			assert_int_equal(p.ts_ns, T0 + n * 1000ull);
			assert_int_equal(p.flags, 2);
			assert_int_equal(p.data[p.caplen - 1], (uint8_t)(n * 7 + p.caplen - 1));
			assert_true(p.ts_ns >= rb->last_ts);
			rb->last_ts = p.ts_ns;
			assert_int_equal(p.flow_id, n % 3 == 2 ? 0 : (n % 3 == 0 ? 1 : 2));
			if (flows && !idset_has(flows, p.flow_id))
				continue;
			rb->flow_pkts[p.flow_id]++;
			rb->count++;
		}
		chunk_view_close(v);
	}
	chunk_list_free(&cl);
	store_close(s);
}

static int count_secret(const struct tls_secret *sec, uint64_t flow, void *ctx)
{
	assert_string_equal(sec->label, "CLIENT_RANDOM");
	assert_int_equal(flow, 1);
	++*(int *)ctx;
	return 0;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	write_store(f->dir, &o, 3000);

	struct readback rb;
	read_all(f->dir, NULL, &rb);
	assert_int_equal(rb.count, 3000);
	assert_int_equal(rb.flow_pkts[1], 1000);
	assert_int_equal(rb.flow_pkts[2], 1000);
	assert_int_equal(rb.flow_pkts[0], 1000);

	struct store *s;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	struct store_stats st;
	assert_int_equal(store_get_stats(s, &st), 0);
	assert_int_equal(st.packets, 3000);
	assert_int_equal(st.flows, 2);
	assert_int_equal(st.secrets, 1);
	assert_int_equal(st.secrets_linked, 1);
	assert_true(st.chunks > 10);
	assert_true(st.segments > 1);

	struct flow_filter ff;
	flow_filter_init(&ff);
	ff.pids[ff.n_pids++] = 1234;
	struct idset ids = { 0 };
	assert_int_equal(store_select_flows(s, &ff, &ids), 0);
	assert_int_equal(ids.n, 1);
	assert_int_equal(ids.ids[0], 1);
	struct flow_record fr;
	assert_int_equal(store_get_flow(s, 1, &fr), 0);
	assert_string_equal(fr.proc[0].comm, "curl");
	assert_false(fr.proc[1].valid);

	int n_sec = 0;
	assert_int_equal(store_walk_secrets(s, &ids, count_secret, &n_sec), 0);
	assert_int_equal(n_sec, 1);
	struct idset other = { 0 };
	idset_add(&other, 2);
	n_sec = 0;
	assert_int_equal(store_walk_secrets(s, &other, count_secret, &n_sec), 0);
	assert_int_equal(n_sec, 0);
	store_close(s);

	struct readback rb1;
	read_all(f->dir, &ids, &rb1);
	assert_int_equal(rb1.count, 1000);
	idset_free(&ids);
	idset_free(&other);
}

static void test_modes(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	write_store(f->dir, &o, 10);
	struct stat st;
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	char p[128];
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	chmod(f->dir, 0755);
	struct store *s;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), -EPERM);
	assert_non_null(strstr(store_errmsg(s), "0700"));
	store_close(s);
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0); /* repairs */
	store_close(s);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* one writer at a time */
	struct store *w1, *w2;
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &w1), 0);
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &w2), -EBUSY);
	assert_non_null(strstr(store_errmsg(w2), "in use"));
	store_close(w2);
	store_close(w1);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static void last_segment(const char *dir, char *out, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char best[sizeof(de->d_name)] = "";
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "seg-", 4) && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	snprintf(out, len, "%s/%s", dir, best);
}

static void test_torn_tail(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	o.segment_bytes = 1 << 30;
	write_store(f->dir, &o, 3000);
	char seg[160];
	last_segment(f->dir, seg, sizeof(seg));
	uint64_t size = file_size(seg);

	/* a torn write: half a chunk at the end */
	int fd = open(seg, O_WRONLY | O_APPEND);
	uint8_t junk[700];
	int sfd = open(seg, O_RDONLY);
	assert_int_equal(pread(sfd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	close(sfd);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	FILE *devnull = fopen("/dev/null", "w");
	assert_true(store_fsck(f->dir, devnull) > 0);

	struct store *s;
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	store_close(s);
	assert_int_equal(file_size(seg), size);
	assert_int_equal(store_fsck(f->dir, devnull), 0);
	struct readback rb;
	read_all(f->dir, NULL, &rb);
	assert_int_equal(rb.count, 3000);
	fclose(devnull);
}

static void test_unindexed_chunks_reindexed(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	o.segment_bytes = 1 << 30;
	write_store(f->dir, &o, 3000);
	/* Lose the index rows of the last chunks, as a crash between write and commit does. */
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "sqlite3 %s/index.db \"DELETE FROM chunks WHERE id > 5; "
		 "UPDATE segments SET bytes = (SELECT max(offset + length) FROM chunks)\"", f->dir);
	if (system(cmd) != 0)
		skip();
	struct readback rb;
	read_all(f->dir, NULL, &rb);
	assert_true(rb.count < 3000);
	struct store *s;
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	store_close(s);
	read_all(f->dir, NULL, &rb);
	assert_int_equal(rb.count, 3000);
}

static void test_flipped_byte(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	o.segment_bytes = 1 << 30;
	write_store(f->dir, &o, 3000);
	char seg[160];
	last_segment(f->dir, seg, sizeof(seg));
	uint64_t size = file_size(seg);
	int fd = open(seg, O_RDWR);
	uint8_t b;
	/* inside the middle chunk (between chunks written directly lie padding frames) */
	off_t at = (off_t)index_int(f->dir, "SELECT offset + length / 2 FROM chunks ORDER BY id "
				   "LIMIT 1 OFFSET (SELECT count(*) / 2 FROM chunks)");
	assert_true((uint64_t)at < size);
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);

	char *report = NULL;
	size_t rlen = 0;
	FILE *mem = open_memstream(&report, &rlen);
	assert_true(store_fsck(f->dir, mem) >= 1);
	fclose(mem);
	assert_non_null(strstr(report, "seg-"));
	assert_non_null(strstr(report, "offset"));
	free(report);

	/* the damaged chunk fails alone; every other chunk still reads */
	struct store *s;
	struct chunk_list cl = { 0 };
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, NULL, &cl), 0);
	size_t bad = 0, pkts = 0;
	for (size_t i = 0; i < cl.n; i++) {
		struct chunk_view *v;
		if (store_chunk_open(s, &cl.v[i], &v)) {
			assert_non_null(strstr(store_errmsg(s), "offset"));
			bad++;
			continue;
		}
		struct ecap_packet p;
		while (chunk_view_next(v, &p) == 1)
			pkts++;
		chunk_view_close(v);
	}
	assert_int_equal(bad, 1);
	assert_true(pkts > 2500 && pkts < 3000);
	chunk_list_free(&cl);
	store_close(s);
}

struct answer {
	uint64_t chunks, packets, flows_pid, secrets, flows_port, flows_tuple, flows_host;
};

/* ids.n * 1000 + the lowest id: which flows f selects, in one number. */
static uint64_t selected(struct store *s, const struct flow_filter *ff)
{
	struct idset ids = { 0 };
	assert_int_equal(store_select_flows(s, ff, &ids), 0);
	uint64_t v = ids.n * 1000 + (ids.n ? ids.ids[0] : 0);
	idset_free(&ids);
	return v;
}

static void answers(const char *dir, struct answer *a)
{
	struct store *s;
	struct store_stats st;
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &st), 0);
	a->chunks = st.chunks;
	a->packets = st.packets;
	a->secrets = st.secrets_linked;
	struct flow_filter ff;
	flow_filter_init(&ff);
	snprintf(ff.comms[ff.n_comms++], ECAP_COMM_LEN, "wget");
	struct idset ids = { 0 };
	assert_int_equal(store_select_flows(s, &ff, &ids), 0);
	struct chunk_list cl = { 0 };
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, &ids, &cl), 0);
	a->flows_pid = ids.n * 1000000 + cl.n;
	idset_free(&ids);
	chunk_list_free(&cl);
	/* by address and port (the chunks' flow key filters since index schema 7) */
	flow_filter_init(&ff);
	ff.ports[ff.n_ports++] = 80;
	a->flows_port = selected(s, &ff);
	flow_filter_init(&ff);
	struct flow_record r1 = make_flow(1, 443, 0, "");
	ff.tuples[ff.n_tuples++] = r1.key;
	a->flows_tuple = selected(s, &ff);
	flow_filter_init(&ff);
	memcpy(ff.hosts[ff.n_hosts++], r1.key.addr_b, 16);
	a->flows_host = selected(s, &ff);
	assert_int_equal(a->flows_port, 1002);
	assert_int_equal(a->flows_tuple, 1001);
	assert_int_equal(a->flows_host, 2001);
	store_close(s);
}

static void test_rebuild(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	write_store(f->dir, &o, 3000);
	struct answer before, after;
	answers(f->dir, &before);
	char p[128];
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(store_rebuild(f->dir, &o, false), 0);
	answers(f->dir, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(store_fsck(f->dir, devnull), 0);
	fclose(devnull);
	struct readback rb;
	read_all(f->dir, NULL, &rb);
	assert_int_equal(rb.count, 3000);
}

struct flow_totals {
	struct flow_info f[4]; /* by flow id */
};

static int note_flow(const struct flow_info *fi, void *ctx)
{
	struct flow_totals *t = ctx;
	if (fi->rec.id < 4)
		t->f[fi->rec.id] = *fi;
	return 0;
}

static void read_flow_totals(const char *dir, struct flow_totals *t)
{
	struct store *s;
	memset(t, 0, sizeof(*t));
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_walk_flows(s, NULL, note_flow, t), 0);
	store_close(s);
}

static void append_flow_packets(struct store *s, uint32_t ifid, uint64_t flow, uint32_t from,
				uint32_t n)
{
	uint8_t data[200];
	for (uint32_t i = from; i < from + n; i++) {
		make_packet(data, i, sizeof(data));
		struct ecap_packet p = { .ts_ns = T0 + i * 1000ull, .iface = ifid, .caplen = 200,
					 .origlen = 200, .flags = 2, .data = data, .flow_id = flow };
		assert_int_equal(store_append_packet(s, &p), 0);
	}
}

/* A flow's row when its record and its packets spread over chunks and commits, and its
 * record comes again (a late owner) in a chunk without its packets; a flow with a record and
 * no packet; and the same rows after a rebuild. */
static void test_flow_totals(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	uint32_t ifid;
	struct store *s = open_with_lo(f->dir, &o, &ifid);
	uint64_t f1 = store_new_flow_id(s), f2 = store_new_flow_id(s), f3 = store_new_flow_id(s);
	assert_int_equal(f3, 3);
	struct flow_record r1 = make_flow(f1, 443, 1234, "curl");
	struct flow_record r2 = make_flow(f2, 80, 999, "wget");
	struct flow_record r3 = make_flow(f3, 53, 77, "dig");
	r1.first_ns = T0 + 10 * 1000ull;
	r2.first_ns = T0 + 60 * 1000ull;
	r3.first_ns = T0 + 5;
	assert_int_equal(store_put_flow(s, &r1), 0);
	assert_int_equal(store_put_flow(s, &r3), 0);
	append_flow_packets(s, ifid, f1, 10, 50);       /* chunks 1-3 */
	assert_int_equal(store_sync(s), 0);              /* commit: f1 inserted with 50 */
	append_flow_packets(s, ifid, f1, 60, 50);       /* the next commit adds 50 */
	assert_int_equal(store_put_flow(s, &r2), 0);
	append_flow_packets(s, ifid, f2, 110, 40);
	assert_int_equal(store_sync(s), 0);
	r1.proc[1] = r2.proc[0];                         /* f1's other end, learned late */
	assert_int_equal(store_put_flow(s, &r1), 0);
	append_flow_packets(s, ifid, f2, 150, 40);
	assert_int_equal(store_sync(s), 0);
	r1.proc[1].uid = 33;                             /* its record again, with packets */
	assert_int_equal(store_put_flow(s, &r1), 0);
	r3.proc[1] = r2.proc[0];                         /* and a record without packets */
	assert_int_equal(store_put_flow(s, &r3), 0);
	append_flow_packets(s, ifid, f1, 190, 10);
	assert_int_equal(store_close(s), 0);

	for (int pass = 0; pass < 2; pass++) {
		struct flow_totals t;
		read_flow_totals(f->dir, &t);
		assert_int_equal(t.f[1].packets, 110);
		assert_int_equal(t.f[1].bytes, 110 * 200);
		assert_int_equal(t.f[1].rec.first_ns, T0 + 10 * 1000ull);
		assert_int_equal(t.f[1].last_ns, T0 + 199 * 1000ull);
		assert_true(t.f[1].rec.proc[0].valid && t.f[1].rec.proc[1].valid);
		assert_string_equal(t.f[1].rec.proc[1].comm, "wget");
		assert_int_equal(t.f[1].rec.proc[1].uid, 33);
		/* its chunk range is that of the chunks holding its packets */
		struct store *rs;
		struct chunk_list cl = { 0 };
		struct idset one = { 0 };
		idset_add(&one, 1);
		assert_int_equal(store_open(f->dir, STORE_READ, NULL, &rs), 0);
		assert_int_equal(store_find_chunks(rs, 0, UINT64_MAX, &one, &cl), 0);
		store_close(rs);
		assert_true(cl.n >= 3);
		uint64_t lo = UINT64_MAX, hi = 0;
		for (size_t i = 0; i < cl.n; i++) {
			lo = cl.v[i].id < lo ? cl.v[i].id : lo;
			hi = cl.v[i].id > hi ? cl.v[i].id : hi;
		}
		assert_int_equal(index_int(f->dir, "SELECT first_chunk FROM flows WHERE id = 1"), lo);
		assert_int_equal(index_int(f->dir, "SELECT last_chunk FROM flows WHERE id = 1"), hi);
		chunk_list_free(&cl);
		idset_free(&one);
		assert_int_equal(t.f[2].packets, 80);
		assert_int_equal(t.f[2].last_ns, T0 + 189 * 1000ull);
		assert_int_equal(t.f[3].rec.id, 3);              /* a record, no packet */
		assert_int_equal(t.f[3].packets, 0);
		assert_int_equal(t.f[3].last_ns, T0 + 5);
		assert_string_equal(t.f[3].rec.proc[0].comm, "dig");
		assert_string_equal(t.f[3].rec.proc[1].comm, "wget");
		char p[128];
		snprintf(p, sizeof(p), "%s/index.db", f->dir);
		assert_int_equal(unlink(p), 0);
		assert_int_equal(store_rebuild(f->dir, &o, false), 0);
	}
}

static void test_retention(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_kept(&o);
	write_store(f->dir, &o, 20000);
	struct store *s;
	struct store_stats st;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &st), 0);
	assert_true(st.packets < 20000);
	assert_true(st.packets > 0);
	struct chunk_list cl = { 0 };
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, NULL, &cl), 0);
	/* the newest packets survive */
	assert_int_equal(cl.v[cl.n - 1].last_ns, T0 + 19999 * 1000ull);
	chunk_list_free(&cl);
	store_close(s);
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(store_fsck(f->dir, devnull), 0);
	fclose(devnull);
}

/* Writes n packets of no flow, one every 10 us from t. */
static void flowless_packets(struct store *s, uint32_t ifid, uint64_t t, uint32_t n)
{
	uint8_t data[300];
	for (uint32_t i = 0; i < n; i++) {
		make_packet(data, i, 260);
		struct ecap_packet p = { .ts_ns = t + i * 10000ull, .iface = ifid, .caplen = 260,
					 .origlen = 260, .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
	}
}

/* A flow id is given out once, whatever goes: one given to a flow whose record no chunk holds
 * (only a TLS session names it) is not given again by the next writer, nor is the largest
 * flow's id once retention removed the flow, nor the largest chunk's once every chunk went.
 * The index writes the writer's next ids only when its rows would not give them. */
static void test_ids_never_reused(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_kept(&o);
	/* through the page cache: written directly (each chunk padded to its page), the index
	 * and its WAL, which the size limit counts, reached 4.3 MB here, above the limit, and
	 * retention took every chunk; the ids are this test's subject */
	o.buffered_writes = true;
	uint32_t ifid;
	struct store *s = open_with_lo(f->dir, &o, &ifid);
	uint64_t f1 = store_new_flow_id(s), f2 = store_new_flow_id(s);
	struct flow_record r1 = make_flow(f1, 443, 1234, "curl");
	assert_int_equal(store_put_flow(s, &r1), 0);
	uint8_t cr[32];
	memset(cr, 0xcd, sizeof(cr));
	assert_int_equal(store_put_tls_session(s, cr, f2), 0);
	flowless_packets(s, ifid, T0, 10);
	assert_int_equal(store_close(s), 0);

	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	uint64_t f3 = store_new_flow_id(s);
	assert_true(f3 > f2);
	struct flow_record r3 = make_flow(f3, 8443, 1235, "curl");
	assert_int_equal(store_put_flow(s, &r3), 0);
	/* enough for retention to remove the segments of both flows */
	flowless_packets(s, ifid, T0 + NS, 8000);
	assert_int_equal(store_close(s), 0);

	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM flows"), 0);
	int64_t last_chunk = index_int(f->dir, "SELECT max(id) FROM chunks"), seg, next_chunk = -1;
	assert_true(last_chunk > 0);
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	assert_true(store_new_flow_id(s) > f3);
	assert_int_equal(store_close(s), 0);

	/* every chunk gone in one transaction (as when each segment listed is missing at an
	 * open) from an index whose rows gave the ids until then (no settings): the next
	 * chunk's id is still above the last one's */
	char path[512], err[256];
	struct index *ix;
	snprintf(path, sizeof(path), "%s/index.db", f->dir);
	assert_int_equal(index_open(path, false, true, &ix, err, sizeof(err)), 0);
	assert_int_equal(index_begin(ix), 0);
	assert_int_equal(sqlite3_exec(index_db(ix), "DELETE FROM settings WHERE key IN "
				      "('next_flow_id', 'next_chunk_id')", NULL, NULL, NULL),
			 SQLITE_OK);
	while (!index_scalar(ix, "SELECT min(id) FROM segments", -1, &seg) && seg >= 0)
		assert_int_equal(index_drop_segment(ix, (uint32_t)seg), 0);
	assert_int_equal(index_commit(ix), 0);
	assert_int_equal(index_get_setting(ix, "next_chunk_id", &next_chunk), 0);
	assert_true(next_chunk > last_chunk);
	index_close(ix);
}

/* Under a steady load the open chunk always holds the record of a flow whose id is above the
 * rows': a commit does not write the next flow id for it (that rewrote the settings row at
 * every commit), since no chunk on disk names it yet; once the chunk that names it is
 * written, the next writer gives ids above it as before. */
static void test_next_ids_of_open_chunk(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	o.chunk_age_ns = 3600 * NS; /* chunks close by their size only */
	uint32_t ifid;
	struct store *s = open_with_lo(f->dir, &o, &ifid);
	struct timespec mono;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	uint64_t now = (uint64_t)mono.tv_sec * NS + (uint64_t)mono.tv_nsec;
	uint64_t f1 = store_new_flow_id(s);
	struct flow_record r1 = make_flow(f1, 443, 1234, "curl");
	assert_int_equal(store_put_flow(s, &r1), 0);
	flowless_packets(s, ifid, T0, 40); /* chunks closed by their size, one left open */
	uint64_t f2 = store_new_flow_id(s);
	struct flow_record r2 = make_flow(f2, 8443, 1235, "curl");
	assert_int_equal(store_put_flow(s, &r2), 0);
	assert_int_equal(store_tick(s, now + 2 * NS), 0); /* the group commit */
	assert_true(index_int(f->dir, "SELECT count(*) FROM chunks") >= 1);
	assert_int_equal(index_int(f->dir, "SELECT max(id) FROM flows"), (int64_t)f1);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM settings WHERE key IN "
					   "('next_flow_id', 'next_chunk_id')"), 0);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	assert_true(store_new_flow_id(s) > f2);
	assert_int_equal(store_close(s), 0);
}

/* The next flow id set to the setting (index_set_setting's path, as a forged chunk's ids come
 * through recovery), then the store opened as a writer. */
static int open_with_next_flow(const char *dir, int64_t next, struct store **s)
{
	char path[512], err[256];
	struct index *ix;
	struct store_options o;
	small_chunks(&o);
	snprintf(path, sizeof(path), "%s/index.db", dir);
	assert_int_equal(index_open(path, false, true, &ix, err, sizeof(err)), 0);
	assert_int_equal(index_begin(ix), 0);
	assert_int_equal(index_set_setting(ix, "next_flow_id", next), 0);
	assert_int_equal(index_commit(ix), 0);
	index_close(ix);
	return store_open(dir, STORE_WRITE, &o, s);
}

/* Flow ids are SQLite's signed integers: the last one a store can give is INT64_MAX - 1,
 * then none (0: the flow table refuses the packet); a store whose index names INT64_MAX is
 * damaged and does not open for writing, rather than give ids that wrap. */
static void test_flow_ids_exhausted(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	uint32_t ifid;
	struct store *s = open_with_lo(f->dir, &o, &ifid);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(open_with_next_flow(f->dir, INT64_MAX - 1, &s), 0);
	assert_int_equal(store_new_flow_id(s), (uint64_t)INT64_MAX - 1);
	assert_int_equal(store_new_flow_id(s), 0);
	assert_int_equal(store_new_flow_id(s), 0);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(open_with_next_flow(f->dir, INT64_MAX, &s), -ERANGE);
	assert_non_null(strstr(store_errmsg(s), "damaged"));
	store_close(s);
}

/* --max-age: segments whose newest packet is older than the newest packet in the store by
 * more than the age go, oldest first; the newest stay. */
static void test_retention_by_age(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	o.segment_bytes = 16 * 1024;
	o.max_age_ns = 10 * NS;
	uint32_t ifid;
	struct store *s = open_with_lo(f->dir, &o, &ifid);
	uint8_t data[300];
	/* a process of a container in the first second, another in the last: the container
	 * records go with the process records that name them */
	struct ecap_proc_info early = { .pid = 10, .start_ns = 1 }, late = { .pid = 11,
									.start_ns = 2 };
	struct ecap_container ce = { .first_ns = T0, .last_ns = T0 }, cl;
	snprintf(early.container_id, sizeof(early.container_id), "%064x", 1);
	snprintf(late.container_id, sizeof(late.container_id), "%064x", 2);
	memcpy(ce.id, early.container_id, sizeof(ce.id));
	snprintf(ce.name, sizeof(ce.name), "early");
	cl = ce;
	memcpy(cl.id, late.container_id, sizeof(cl.id));
	snprintf(cl.name, sizeof(cl.name), "late");
	/* 60 s of packets, one every 10 ms */
	for (uint32_t i = 0; i < 6000; i++) {
		if (i == 0 || i == 5990) {
			assert_int_equal(store_put_process(s, i ? &late : &early), 0);
			assert_int_equal(store_put_container(s, i ? &cl : &ce), 0);
		}
		make_packet(data, i, 100);
		struct ecap_packet p = { .ts_ns = T0 + i * 10000000ull, .iface = ifid, .caplen = 100,
					 .origlen = 100, .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
	}
	assert_int_equal(store_close(s), 0);

	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	uint64_t first, last;
	assert_int_equal(store_time_span(s, &first, &last), 0);
	assert_int_equal(last, T0 + 5999 * 10000000ull);
	/* what is kept reaches back at most one segment beyond the age */
	assert_true(first >= last - 12 * NS);
	assert_true(first <= last - 10 * NS);
	struct ecap_container got;
	assert_int_equal(store_get_container(s, ce.id, &got), 0);
	assert_int_equal(store_get_container(s, cl.id, &got), 1);
	assert_string_equal(got.name, "late");
	store_close(s);
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(store_fsck(f->dir, devnull), 0);
	fclose(devnull);
}

static void test_reader_during_writing(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	struct store *w, *r;
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &w), 0);
	struct ecap_iface ifc = { .name = "eth0", .linktype = 1 };
	uint32_t ifid;
	assert_int_equal(store_add_interface(w, &ifc, &ifid), 0);
	uint8_t data[260]; /* packets of 60 + (n % 200) bytes */
	uint64_t seen = 0;
	for (uint32_t round = 0; round < 5; round++) {
		for (uint32_t i = 0; i < 500; i++) {
			uint32_t n = round * 500 + i;
			make_packet(data, n, 60 + (n % 200));
			struct ecap_packet p = { .ts_ns = T0 + n * 1000ull, .iface = ifid,
						 .caplen = 60 + (n % 200), .origlen = 60 + (n % 200),
						 .data = data };
			assert_int_equal(store_append_packet(w, &p), 0);
		}
		assert_int_equal(store_sync(w), 0);
		assert_int_equal(store_open(f->dir, STORE_READ, NULL, &r), 0);
		struct store_stats st;
		assert_int_equal(store_get_stats(r, &st), 0);
		assert_true(st.packets >= seen);
		assert_int_equal(st.packets, (round + 1) * 500);
		seen = st.packets;
		store_close(r);
	}
	store_close(w);
}

/* ---- a full disk (drop_when_full) ------------------------------------------------------ */

/* Fills dir's filesystem up to `left` free bytes with a file; 0 or -errno. */
static int fill_up(const char *path, uint64_t left)
{
	struct statvfs v;
	static uint8_t zero[1 << 16];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fstatvfs(fd, &v))
		return -errno;
	uint64_t avail = (uint64_t)v.f_bavail * v.f_frsize;
	for (uint64_t n = avail > left ? avail - left : 0; n;) {
		size_t k = n < sizeof(zero) ? (size_t)n : sizeof(zero);
		ssize_t w = write(fd, zero, k);
		if (w <= 0)
			break;
		n -= (uint64_t)w;
	}
	close(fd);
	return 0;
}

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
			      return 1; } } while (0)

static uint32_t rnd_state = 12345;
static uint8_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (uint8_t)(rnd_state >> 16);
}

/* Appends packets of flow `flow` (incompressible bytes) until `until` says stop or `max`
 * packets; returns how many, or -1 when an append failed. */
static long append_until(struct store *s, uint32_t ifid, uint64_t flow, uint64_t *ts, long max,
			 bool want_full)
{
	uint8_t data[1000];
	long n;
	for (n = 0; n < max; n++) {
		if (store_full(s, NULL) == want_full && n > 0)
			break;
		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = rnd();
		struct ecap_packet p = { .ts_ns = (*ts += 1000), .iface = ifid, .caplen = 1000,
					 .origlen = 1000, .flags = 2, .data = data,
					 .flow_id = flow };
		if (store_append_packet(s, &p))
			return -1;
	}
	return n;
}

/* Runs in a child with a mount namespace of its own and a 12 MiB tmpfs on mnt. */
static int full_disk_child(const char *mnt)
{
	char dir[256], filler[256];
	snprintf(dir, sizeof(dir), "%s/s", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	CHECK(fill_up(filler, 7u << 20) == 0);

	struct store_options o;
	small_chunks(&o);
	o.chunk_bytes = 64 * 1024;
	o.segment_bytes = 1u << 20;
	o.sync_writer = true;
	o.drop_when_full = true;
	struct store *s;
	CHECK(store_open(dir, STORE_WRITE, &o, &s) == 0);
	struct ecap_iface ifc = { .name = "eth0", .linktype = 1 };
	uint32_t ifid;
	CHECK(store_add_interface(s, &ifc, &ifid) == 0);
	uint64_t f1 = store_new_flow_id(s), f2 = store_new_flow_id(s), ts = T0, lost = 0;
	struct flow_record r1 = make_flow(f1, 443, 1, "before");
	CHECK(store_put_flow(s, &r1) == 0);
	long a1 = append_until(s, ifid, f1, &ts, 20000, true);
	CHECK(a1 > 0 && store_full(s, &lost) && lost > 0);
	/* a flow, a TLS session and a secret that first occur while the disk is full */
	struct flow_record r2 = make_flow(f2, 80, 2, "during");
	CHECK(store_put_flow(s, &r2) == 0);
	uint8_t cr[32];
	memset(cr, 0xcd, sizeof(cr));
	CHECK(store_put_tls_session(s, cr, f2) == 0);
	struct tls_secret sec = { .label = "CLIENT_RANDOM", .secret_len = 48 };
	memcpy(sec.client_random, cr, 32);
	memset(sec.secret, 0x77, 48);
	CHECK(store_put_secret(s, &sec) == 1);
	long a2 = append_until(s, ifid, f2, &ts, 300, false); /* 300 KB: still full */
	CHECK(a2 == 300 && store_full(s, &lost));
	uint64_t lost_full = lost;
	/* space returns: chunks are stored again */
	CHECK(unlink(filler) == 0);
	long a3 = append_until(s, ifid, f2, &ts, 20000, false);
	CHECK(a3 > 0 && a3 < 20000 && !store_full(s, &lost) && lost == lost_full);
	CHECK(append_until(s, ifid, f2, &ts, 100, true) == 100);
	CHECK(store_close(s) == 0);

	uint64_t appended = (uint64_t)(a1 + a2 + a3 + 100);
	struct store_stats st;
	CHECK(store_open(dir, STORE_READ, NULL, &s) == 0);
	CHECK(store_get_stats(s, &st) == 0);
	CHECK(st.packets + lost == appended);
	struct flow_record got;
	CHECK(store_get_flow(s, f2, &got) == 0 && !strcmp(got.proc[0].comm, "during"));
	CHECK(st.secrets == 1 && st.secrets_linked == 1 && st.tls_sessions == 1);
	/* the last packet appended is the store's last */
	uint64_t first, last;
	CHECK(store_time_span(s, &first, &last) == 0 && last == ts);
	store_close(s);
	FILE *devnull = fopen("/dev/null", "w");
	CHECK(store_fsck(dir, devnull) == 0);
	fclose(devnull);
	fprintf(stderr, "full disk: %ld packets appended before full, %llu not stored, %llu "
		"stored\n", a1, (unsigned long long)lost, (unsigned long long)st.packets);

	/* to the last byte, with rows waiting for their commit: the index has no room either;
	 * once there is room again, every chunk that reached the disk is indexed */
	snprintf(dir, sizeof(dir), "%s/u", mnt);
	o.drop_when_full = true;
	o.commit_interval_ns = 3600 * NS; /* commits only when the test says */
	CHECK(store_open(dir, STORE_WRITE, &o, &s) == 0);
	CHECK(store_add_interface(s, &ifc, &ifid) == 0);
	/* store_tick() takes CLOCK_MONOTONIC time, and the store starts its timers from it at
	 * open: the test's clock starts there too (a clock starting at 1 s ran behind them once
	 * the machine had been up for more than an hour) */
	struct timespec mono;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	uint64_t f3 = 0; /* packets of no flow */
	uint64_t now = (uint64_t)mono.tv_sec * NS + (uint64_t)mono.tv_nsec;
	for (uint32_t i = 0; i < 300; i++) { /* many flow rows: the commit needs room */
		struct flow_record r = make_flow(store_new_flow_id(s), (uint16_t)(1000 + i), i,
						 "row");
		CHECK(store_put_flow(s, &r) == 0);
	}
	long b1 = append_until(s, ifid, f3, &ts, 600, true);
	CHECK(b1 == 600 && !store_full(s, &lost) && lost == 0);
	CHECK(fill_up(filler, 0) == 0);
	long b2 = append_until(s, ifid, f3, &ts, 20000, true);
	CHECK(b2 > 0 && store_full(s, &lost) && lost > 0);
	CHECK(store_tick(s, now += 3601 * NS) == 0); /* commit: may find no room */
	long b3 = append_until(s, ifid, f3, &ts, 200, false);
	CHECK(b3 == 200 && store_full(s, NULL));
	CHECK(unlink(filler) == 0);
	CHECK(store_tick(s, now += 3601 * NS) == 0); /* catch up, commit */
	long b4 = append_until(s, ifid, f3, &ts, 20000, false);
	CHECK(b4 < 20000 && !store_full(s, &lost));
	CHECK(store_close(s) == 0);
	appended = (uint64_t)(b1 + b2 + b3 + b4);
	CHECK(store_open(dir, STORE_READ, NULL, &s) == 0);
	CHECK(store_get_stats(s, &st) == 0);
	CHECK(st.packets + lost == appended && st.flows == 300);
	CHECK(store_time_span(s, &first, &last) == 0 && last == ts);
	store_close(s);
	devnull = fopen("/dev/null", "w");
	CHECK(store_fsck(dir, devnull) == 0);
	fclose(devnull);
	fprintf(stderr, "full to the last byte: %llu of %llu packets stored, %llu not\n",
		(unsigned long long)st.packets, (unsigned long long)appended,
		(unsigned long long)lost);

	/* without drop_when_full the writer fails, as a replay wants */
	o.commit_interval_ns = NS;
	snprintf(dir, sizeof(dir), "%s/t", mnt);
	CHECK(fill_up(filler, 6u << 20) == 0);
	o.drop_when_full = false;
	CHECK(store_open(dir, STORE_WRITE, &o, &s) == 0);
	CHECK(store_add_interface(s, &ifc, &ifid) == 0);
	CHECK(append_until(s, ifid, 0, &ts, 20000, true) == -1);
	CHECK(strstr(store_errmsg(s), "No space left on device") != NULL);
	store_close(s);
	return 0;
}

/* A mount namespace (user namespace too when not root) with a tmpfs: 0, or 77 when the
 * system does not allow it. */
static int private_tmpfs(const char *mnt)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	if (unshare(CLONE_NEWNS)) {
		char map[64];
		int fd;
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
			return 77;
		fd = open("/proc/self/setgroups", O_WRONLY);
		if (fd >= 0) {
			(void)!write(fd, "deny", 4);
			close(fd);
		}
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		fd = open("/proc/self/uid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			return 77;
		close(fd);
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		fd = open("/proc/self/gid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			return 77;
		close(fd);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("ecap-unit", mnt, "tmpfs", 0, "size=12m,mode=0700"))
		return 77;
	return 0;
}

/* drop_when_full: chunks the full disk refuses are counted, their flows, sessions and
 * secrets move on, and chunks are stored again once there is room; without it, the writer
 * fails with ENOSPC. */
static void test_full_disk(void **state)
{
	struct fixture *f = *state;
	char mnt[64];
	snprintf(mnt, sizeof(mnt), "%.*s", (int)(strlen(f->dir) - 2), f->dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = private_tmpfs(mnt);
		_exit(rc ? rc : full_disk_child(mnt));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip(); /* no mount namespace here: tests/live/full_disk.sh covers it with root */
	assert_int_equal(WEXITSTATUS(status), 0);
}

static struct tls_secret secret_of(const char *label, uint8_t cr_byte, uint8_t value)
{
	struct tls_secret sec = { .secret_len = 32 };
	snprintf(sec.label, sizeof(sec.label), "%s", label);
	memset(sec.client_random, cr_byte, 32);
	memset(sec.secret, value, 32);
	return sec;
}

/* Each (label, client_random) is stored once: within a chunk, across chunks and across
 * writers (the held labels are learned from the index), for the labels of TLS 1.2 and 1.3
 * and for others (asked of the index each time). */
static void test_secret_once(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	struct store *s;
	struct tls_secret a = secret_of("CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0x11, 1);
	struct tls_secret b = secret_of("SERVER_HANDSHAKE_TRAFFIC_SECRET", 0x11, 2);
	struct tls_secret c = secret_of("CLIENT_TRAFFIC_SECRET_0", 0x11, 3);
	struct tls_secret other = secret_of("CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0x22, 4);
	struct tls_secret odd = secret_of("SOME_FUTURE_LABEL", 0x11, 5);

	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	assert_int_equal(store_put_secret(s, &a), 1);
	assert_int_equal(store_put_secret(s, &a), 0);           /* the same chunk */
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(store_put_secret(s, &a), 0);           /* an earlier chunk */
	assert_int_equal(store_put_secret(s, &b), 1);           /* another label */
	assert_int_equal(store_put_secret(s, &other), 1);       /* another session */
	assert_int_equal(store_put_secret(s, &odd), 1);
	assert_int_equal(store_put_secret(s, &odd), 0);
	/* a client_random that shares the writer's cache slot with `a`'s (the same first 8
	 * bytes) pushes it out: `a`'s labels are then found again, in the open chunk too */
	struct tls_secret twin = secret_of("CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0x11, 6);
	twin.client_random[31] = 0x12;
	struct tls_secret d = secret_of("SERVER_TRAFFIC_SECRET_0", 0x11, 7);
	assert_int_equal(store_put_secret(s, &d), 1);           /* open chunk, unindexed */
	assert_int_equal(store_put_secret(s, &twin), 1);
	assert_int_equal(store_put_secret(s, &d), 0);
	assert_int_equal(store_put_secret(s, &a), 0);
	assert_int_equal(store_put_secret(s, &twin), 0);
	assert_int_equal(store_close(s), 0);

	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	assert_int_equal(store_put_secret(s, &b), 0);           /* learned from the index */
	assert_int_equal(store_put_secret(s, &a), 0);
	assert_int_equal(store_put_secret(s, &c), 1);
	assert_int_equal(store_put_secret(s, &c), 0);
	assert_int_equal(store_put_secret(s, &other), 0);
	assert_int_equal(store_put_secret(s, &odd), 0);
	assert_int_equal(store_close(s), 0);

	struct store_stats st;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &st), 0);
	assert_int_equal(st.secrets, 7);
	store_close(s);
}

struct dsb_rows {
	sqlite3_stmt *has, *put;
	uint64_t chunk;
};

static int put_dsb_row(const struct tls_secret *sec, void *ctx)
{
	struct dsb_rows *r = ctx;
	const struct tls_secret *one = sec;
	struct buf b = { 0 };
	unsigned count;
	sqlite3_bind_int64(r->has, 1, (int64_t)r->chunk);
	sqlite3_bind_blob(r->has, 2, sec->client_random, 32, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(r->has), SQLITE_ROW);
	const uint8_t *blob = sqlite3_column_blob(r->has, 0);
	assert_int_equal(secret_blob_encode(&b, &one, 1, &count), 0);
	if (blob) /* a row of this client_random already: the secret joins it, sorted */
		assert_int_equal(buf_append(&b, blob, (size_t)sqlite3_column_bytes(r->has, 0)), 0);
	size_t off = 0, n = 0;
	struct tls_secret v[8];
	const struct tls_secret *pv[8];
	while (n < 8 && secret_blob_next(b.data, b.len, &off, &v[n]) == 1) {
		memcpy(v[n].client_random, sec->client_random, 32);
		pv[n] = &v[n];
		n++;
	}
	sqlite3_reset(r->has);
	buf_reset(&b);
	assert_int_equal(secret_blob_encode(&b, pv, n, &count), 0);
	sqlite3_bind_int64(r->put, 1, (int64_t)r->chunk);
	sqlite3_bind_blob(r->put, 2, sec->client_random, 32, SQLITE_STATIC);
	sqlite3_bind_int(r->put, 3, (int)count);
	sqlite3_bind_blob(r->put, 4, b.data, (int)b.len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(r->put), SQLITE_DONE);
	sqlite3_reset(r->put);
	buf_free(&b);
	return 0;
}

/* Turns a store's index of this version back into version 6: the secrets near their session,
 * which version 7 reads from their chunks' DSBs, get the secrets rows version 6 gave them,
 * chunks lose near_secrets, the flows get back their four indexes by address and port in
 * place of chunk_flow_keys, and the sessions their index by chunk (until version 7). */
static void index_to_v6(const char *dir)
{
	char p[128];
	sqlite3 *db;
	sqlite3_stmt *chunks;
	struct store *s;
	snprintf(p, sizeof(p), "%s/index.db", dir);
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	struct dsb_rows r = { 0 };
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, segment, offset, length, raw_len FROM "
					    "chunks WHERE near_secrets > 0", -1, &chunks, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT secrets FROM secrets WHERE "
					    "chunk_id = ?1 AND client_random = ?2)", -1, &r.has,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO secrets VALUES (?1, ?2, "
					    "?3, ?4)", -1, &r.put, NULL), SQLITE_OK);
	while (sqlite3_step(chunks) == SQLITE_ROW) {
		struct chunk_ref ref = { .id = (uint64_t)sqlite3_column_int64(chunks, 0),
					 .segment = (uint32_t)sqlite3_column_int64(chunks, 1),
					 .offset = (uint64_t)sqlite3_column_int64(chunks, 2),
					 .length = (uint32_t)sqlite3_column_int64(chunks, 3),
					 .raw_len = (uint32_t)sqlite3_column_int64(chunks, 4) };
		struct chunk_view *v;
		assert_int_equal(store_chunk_open(s, &ref, &v), 0);
		r.chunk = ref.id;
		assert_int_equal(chunk_view_walk_secrets(v, put_dsb_row, &r), 0);
		chunk_view_close(v);
	}
	sqlite3_finalize(chunks);
	sqlite3_finalize(r.has);
	sqlite3_finalize(r.put);
	store_close(s);
	char *msg = NULL;
	/* and the flows' four indexes by address and port instead of the chunks' flow keys */
	int rc = sqlite3_exec(db, index_to_v9_sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "ALTER TABLE chunks DROP COLUMN near_secrets; "
			      "DROP TRIGGER flow_procs_owner_moved; DROP TABLE owner_flows; "
			      "CREATE INDEX flow_procs_by_pid ON flow_procs(pid); "
			      "CREATE INDEX flow_procs_by_comm ON flow_procs(comm); "
			      "CREATE INDEX flow_procs_by_uid ON flow_procs(uid); "
			      "DROP TABLE chunk_flow_keys; "
			      "CREATE INDEX flows_by_addr_a ON flows(addr_a); "
			      "CREATE INDEX flows_by_addr_b ON flows(addr_b); "
			      "CREATE INDEX flows_by_ports ON flows(port_a, port_b); "
			      "CREATE INDEX flows_by_port_b ON flows(port_b); "
			      "CREATE INDEX tls_sessions_by_chunk ON tls_sessions(chunk_id); "
			      "PRAGMA user_version = 6; COMMIT", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "index_to_v6: %s\n", msg);
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_close(db);
}

/* Turns a store's index of version 6 back into version 3: one secrets row per secret,
 * keyed (chunk_id, client_random, label), made from the rows of version 5 with their own
 * decoder, and a secret_chunks row for each; the rest of the layout is the same. */
static void index_to_v3(const char *dir)
{
	char p[128];
	sqlite3 *db;
	sqlite3_stmt *rd, *wr;
	snprintf(p, sizeof(p), "%s/index.db", dir);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN; CREATE TABLE s2 (chunk_id INTEGER NOT NULL, "
				      "client_random BLOB NOT NULL, label TEXT NOT NULL, "
				      "secret BLOB NOT NULL, PRIMARY KEY (chunk_id, "
				      "client_random, label)) WITHOUT ROWID;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT chunk_id, client_random, secrets FROM "
					    "secrets", -1, &rd, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO s2 VALUES (?1, ?2, ?3, ?4)", -1, &wr,
					    NULL), SQLITE_OK);
	while (sqlite3_step(rd) == SQLITE_ROW) {
		const uint8_t *blob = sqlite3_column_blob(rd, 2);
		size_t len = (size_t)sqlite3_column_bytes(rd, 2), off = 0;
		struct tls_secret sec;
		while (secret_blob_next(blob, len, &off, &sec) == 1) {
			sqlite3_bind_int64(wr, 1, sqlite3_column_int64(rd, 0));
			sqlite3_bind_blob(wr, 2, sqlite3_column_blob(rd, 1), 32, SQLITE_STATIC);
			sqlite3_bind_text(wr, 3, sec.label, -1, SQLITE_TRANSIENT);
			sqlite3_bind_blob(wr, 4, sec.secret, sec.secret_len, SQLITE_TRANSIENT);
			assert_int_equal(sqlite3_step(wr), SQLITE_DONE);
			sqlite3_reset(wr);
		}
		assert_int_equal(off, len);
	}
	sqlite3_finalize(rd);
	sqlite3_finalize(wr);
	/* up to version 4, secret_chunks listed every secrets row */
	assert_int_equal(sqlite3_exec(db, "INSERT OR IGNORE INTO secret_chunks SELECT "
				      "client_random, chunk_id FROM s2; "
				      "DROP TABLE secrets; ALTER TABLE s2 RENAME TO secrets; "
				      "PRAGMA user_version = 3; COMMIT",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
}

/* Version 1 of the index, from the current one: without version 3's owner start times and
 * processes table, and, as version 1 had them, sessions and secrets keyed by client_random,
 * with their indexes by flow and by chunk, and no secret_chunks. */
static const char index_v1_layout[] =
	"DROP TABLE processes; ALTER TABLE flow_procs DROP COLUMN start;"
	"CREATE TABLE s1 (client_random BLOB NOT NULL, label TEXT NOT NULL, secret BLOB NOT NULL, "
	"chunk_id INTEGER NOT NULL, PRIMARY KEY (client_random, label)) WITHOUT ROWID;"
	"INSERT INTO s1 SELECT client_random, label, secret, chunk_id FROM secrets;"
	"DROP TABLE secrets; DROP TABLE secret_chunks; ALTER TABLE s1 RENAME TO secrets;"
	"CREATE INDEX secrets_by_chunk ON secrets(chunk_id);"
	"CREATE TABLE t1 (client_random BLOB NOT NULL, flow_id INTEGER NOT NULL, "
	"chunk_id INTEGER NOT NULL, PRIMARY KEY (client_random, flow_id)) WITHOUT ROWID;"
	"INSERT INTO t1 SELECT client_random, flow_id, chunk_id FROM tls_sessions;"
	"DROP TABLE tls_sessions; ALTER TABLE t1 RENAME TO tls_sessions;"
	"CREATE INDEX tls_sessions_by_flow ON tls_sessions(flow_id);"
	"PRAGMA user_version = 1;";

/* Version 2 of the index, from version 3's: without the owners' start times and the
 * processes table. */
static const char index_v2_layout[] =
	"DROP TABLE processes; ALTER TABLE flow_procs DROP COLUMN start; PRAGMA user_version = 2;";

struct secret_answer {
	struct store_stats st;
	int flow_secrets[3]; /* by flow: the secrets store_walk_secrets gives */
	int all_secrets, all_linked;
};

static int tally_secret(const struct tls_secret *sec, uint64_t flow, void *ctx)
{
	struct secret_answer *a = ctx;
	assert_true(sec->secret_len == 32 || sec->secret_len == 48);
	a->all_secrets++;
	a->all_linked += flow != 0;
	return 0;
}

static void secret_answers(const char *dir, struct secret_answer *a)
{
	struct store *s;
	memset(a, 0, sizeof(*a));
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &a->st), 0);
	for (uint64_t f = 1; f <= 2; f++) {
		struct idset ids = { 0 };
		idset_add(&ids, f);
		struct secret_answer one = { 0 };
		assert_int_equal(store_walk_secrets(s, &ids, tally_secret, &one), 0);
		a->flow_secrets[f] = one.all_secrets;
		idset_free(&ids);
	}
	assert_int_equal(store_walk_secrets(s, NULL, tally_secret, a), 0);
	store_close(s);
}

/* A store whose index is of an older version (1 to 6) is migrated when opened and answers as
 * before: its sessions, its secrets by flow and in all, whether a secret is held, and its
 * flows by port, tuple and host. */
static void migrate_from(void **state, int version)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	write_store(f->dir, &o, 3000); /* flow 1 has a session and a CLIENT_RANDOM */
	struct store *s;
	uint8_t cr[32];
	memset(cr, 0x33, sizeof(cr));
	struct tls_secret a = secret_of("CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0x33, 1);
	struct tls_secret b = secret_of("SERVER_HANDSHAKE_TRAFFIC_SECRET", 0x33, 2);
	struct tls_secret c = secret_of("CLIENT_TRAFFIC_SECRET_0", 0x33, 3);
	struct tls_secret lone = secret_of("CLIENT_RANDOM", 0x44, 4); /* no session */
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	assert_int_equal(store_put_tls_session(s, cr, 2), 0);
	assert_int_equal(store_put_secret(s, &a), 1);
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(store_put_secret(s, &b), 1);           /* another chunk */
	assert_int_equal(store_put_secret(s, &lone), 1);
	assert_int_equal(store_close(s), 0);

	struct answer before, after;
	struct secret_answer sbefore, safter;
	/* the session's secrets, in its chunk and the next, need no secret_chunks row; the
	 * secret of no session has one */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secret_chunks"), 1);
	answers(f->dir, &before);
	secret_answers(f->dir, &sbefore);
	assert_int_equal(sbefore.flow_secrets[1], 1);
	assert_int_equal(sbefore.flow_secrets[2], 2);
	assert_int_equal(sbefore.all_secrets, 4);
	assert_int_equal(sbefore.all_linked, 3);
	assert_int_equal(sbefore.st.secrets_linked, 3);

	char p[128];
	sqlite3 *db;
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	/* the near secrets' rows, as every version before 7 had them */
	index_to_v6(f->dir);
	if (version == 6) {
		/* nothing more */
	} else if (version == 5) {
		/* version 5: everything but the index on chunks' last_ns */
		assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "DROP INDEX chunks_by_last; PRAGMA user_version "
					      "= 5", NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	} else if (version == 4) {
		/* version 4: everything but the containers table, and a secret_chunks row for
		 * every secrets row */
		assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "DROP TABLE containers; INSERT OR IGNORE INTO "
					      "secret_chunks SELECT client_random, chunk_id FROM "
					      "secrets; PRAGMA user_version = 4", NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	} else {
		index_to_v3(f->dir);
	}
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secrets"), 4);
	if (version <= 2) {
		assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, version == 1 ? index_v1_layout : index_v2_layout,
					      NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(index_int(f->dir, "PRAGMA user_version"), version);

	/* while a writer (an older ecap-rec, as far as a reader can tell) holds the store, a
	 * reader refuses the old index instead of migrating it under that writer */
	snprintf(p, sizeof(p), "%s/lock", f->dir);
	int lockfd = open(p, O_RDWR | O_CREAT, 0600);
	assert_true(lockfd >= 0);
	assert_int_equal(flock(lockfd, LOCK_EX | LOCK_NB), 0);
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), -EBUSY);
	assert_non_null(strstr(store_errmsg(s), "older schema"));
	store_close(s);
	assert_int_equal(index_int(f->dir, "PRAGMA user_version"), version);
	close(lockfd);

	answers(f->dir, &after);                                /* a reader migrates it */
	assert_int_equal(index_int(f->dir, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM sqlite_master WHERE name = "
				   "'containers'"), 1);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM sqlite_master WHERE name = "
				   "'chunks_by_last'"), 1);
	/* one row per session and chunk: flow 2's session has its two secrets in two chunks */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secrets"), 4);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM sqlite_master WHERE name = "
				   "'secrets_v3'"), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	secret_answers(f->dir, &safter);
	assert_memory_equal(&sbefore.flow_secrets, &safter.flow_secrets,
			    sizeof(sbefore.flow_secrets));
	assert_int_equal(safter.all_secrets, 4);
	assert_int_equal(safter.all_linked, 3);
	assert_int_equal(safter.st.secrets, sbefore.st.secrets);
	assert_int_equal(safter.st.secrets_linked, 3);
	assert_int_equal(safter.st.tls_sessions, sbefore.st.tls_sessions);

	/* 6 -> 7: a row of flow keys per chunk with flow records, the four indexes gone */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM chunk_flow_keys"), 1);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM sqlite_master WHERE name LIKE "
				   "'flows_by_%' AND name != 'flows_by_last_chunk'"), 0);
	assert_int_equal(index_int(f->dir, "SELECT sum(near_secrets) FROM chunks"), 0);
	if (version == 6) {
		/* the migrated store takes new near secrets into its DSBs, and gives both */
		uint8_t cr7[32];
		memset(cr7, 0x77, sizeof(cr7));
		struct tls_secret d = secret_of("CLIENT_TRAFFIC_SECRET_0", 0x77, 5);
		assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
		assert_int_equal(store_put_tls_session(s, cr7, 1), 0);
		assert_int_equal(store_put_session_secret(s, &d), 1);
		assert_int_equal(store_close(s), 0);
		assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secrets"), 4);
		assert_int_equal(index_int(f->dir, "SELECT sum(near_secrets) FROM chunks"), 1);
		secret_answers(f->dir, &safter);
		assert_int_equal(safter.flow_secrets[1], sbefore.flow_secrets[1] + 1);
		assert_int_equal(safter.flow_secrets[2], sbefore.flow_secrets[2]);
		assert_int_equal(safter.all_secrets, 5);
		assert_int_equal(safter.st.secrets, sbefore.st.secrets + 1);
	}
	FILE *devnull = fopen("/dev/null", "w");
	if (version >= 5) {
		/* 5 -> 6 adds an index, 6 -> 7 a column, and neither moves a row: the writer
		 * part below is about the secrets layouts of versions 1-4 */
		assert_int_equal(store_fsck(f->dir, devnull), 0);
		fclose(devnull);
		return;
	}
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	assert_int_equal(store_put_secret(s, &b), 0);           /* held, found in the index */
	assert_int_equal(store_put_secret(s, &a), 0);
	assert_int_equal(store_put_secret(s, &c), 1);
	assert_int_equal(store_close(s), 0);
	secret_answers(f->dir, &safter);
	assert_int_equal(safter.flow_secrets[2], 3);
	assert_int_equal(store_fsck(f->dir, devnull), 0);
	fclose(devnull);
}

static void test_migrate_v1(void **state)
{
	migrate_from(state, 1);
}

static void test_migrate_v2(void **state)
{
	migrate_from(state, 2);
}

static void test_migrate_v3(void **state)
{
	migrate_from(state, 3);
}

static void test_migrate_v4(void **state)
{
	migrate_from(state, 4);
}

static void test_migrate_v5(void **state)
{
	migrate_from(state, 5);
}

static void test_migrate_v6(void **state)
{
	migrate_from(state, 6);
}

static void count_label(const char *label, void *ctx)
{
	(void)label;
	++*(int *)ctx;
}

/* The index holds each secret once even when chunks on disk repeat it (chunks written while
 * the index lagged behind a full disk, then indexed at catch-up or by a rebuild): a chunk
 * repeating a secret adds no row, and is listed in secret_chunks only for what it adds. */
static void test_index_secret_once(void **state)
{
	struct fixture *f = *state;
	char p[128], err[256];
	struct index *ix;
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	assert_int_equal(mkdir(f->dir, 0700) == 0 || errno == EEXIST, 1);
	assert_int_equal(index_open(p, true, true, &ix, err, sizeof(err)), 0);
	struct tls_secret a = secret_of("CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0x51, 1);
	struct tls_secret b = secret_of("SERVER_HANDSHAKE_TRAFFIC_SECRET", 0x51, 2);
	struct tls_secret c = secret_of("CLIENT_TRAFFIC_SECRET_0", 0x51, 3);
	const struct tls_secret chunk1[] = { a, b, a }, chunk2[] = { b, c }, chunk3[] = { a };
	const struct tls_secret *sets[] = { chunk1, chunk2, chunk3 };
	const size_t n[] = { 3, 2, 1 };
	assert_int_equal(index_begin(ix), 0);
	for (int i = 0; i < 3; i++) {
		struct chunk_meta m = { .id = (uint64_t)i + 1, .segment = 1,
					.offset = (uint64_t)i * 100, .length = 100 };
		assert_int_equal(index_add_chunk(ix, &m, sets[i], n[i], true), 0);
		if (i == 1) {
			assert_int_equal(index_commit(ix), 0);
			assert_int_equal(index_begin(ix), 0);
		}
	}
	assert_int_equal(index_commit(ix), 0);
	int labels = 0;
	assert_int_equal(index_secret_labels(ix, a.client_random, count_label, &labels), 0);
	assert_int_equal(labels, 3);
	index_close(ix);
	assert_int_equal(index_int(f->dir, "SELECT sum(n) FROM secrets"), 3);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secrets"), 2); /* a row a chunk */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secret_chunks"), 2);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secret_chunks WHERE chunk_id = 3"),
			 0);
}

/* A chunk whose sessions' secrets come interleaved (a key log, a DSB of a replayed capture)
 * still gets one row per session, with all of its secrets; indexed again after the fact
 * (may_repeat), the same secrets add nothing. */
static void test_index_secrets_interleaved(void **state)
{
	struct fixture *f = *state;
	char p[128], err[256];
	struct index *ix;
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	assert_int_equal(mkdir(f->dir, 0700) == 0 || errno == EEXIST, 1);
	assert_int_equal(index_open(p, true, true, &ix, err, sizeof(err)), 0);
	const struct tls_secret v[] = {
		secret_of("CLIENT_TRAFFIC_SECRET_0", 0x61, 1),
		secret_of("CLIENT_TRAFFIC_SECRET_0", 0x62, 2),
		secret_of("SERVER_TRAFFIC_SECRET_0", 0x61, 3),
		secret_of("SERVER_TRAFFIC_SECRET_0", 0x62, 4),
		secret_of("EXPORTER_SECRET", 0x61, 5),
	};
	struct chunk_meta m = { .id = 4, .segment = 1, .offset = 0, .length = 100 };
	for (int may_repeat = 0; may_repeat < 2; may_repeat++) {
		assert_int_equal(index_begin(ix), 0);
		m.id = 4 + (uint64_t)may_repeat;
		m.offset = 100 * (uint64_t)may_repeat;
		assert_int_equal(index_add_chunk(ix, &m, v, 5, may_repeat), 0);
		assert_int_equal(index_commit(ix), 0);
	}
	int labels = 0;
	assert_int_equal(index_secret_labels(ix, v[0].client_random, count_label, &labels), 0);
	assert_int_equal(labels, 3); /* chunk 5, indexed after the fact, repeats them all */
	index_close(ix);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secrets WHERE chunk_id = 4"), 2);
	assert_int_equal(index_int(f->dir, "SELECT sum(n) FROM secrets WHERE chunk_id = 4"), 5);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secrets WHERE chunk_id = 5"), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secret_chunks"), 2);
}

/* A secret whose segment retention deleted is not held any more: put again, it is stored. */
static void test_secret_after_retention(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_kept(&o);
	uint32_t ifid;
	struct store *s = open_with_lo(f->dir, &o, &ifid);
	struct tls_secret a = secret_of("CLIENT_TRAFFIC_SECRET_0", 0x33, 1);
	assert_int_equal(store_put_secret(s, &a), 1);
	assert_int_equal(store_put_secret(s, &a), 0);
	uint8_t data[300];
	struct store_stats st = { 0 };
	for (uint32_t i = 0; st.segments_deleted < 2; i++) {
		make_packet(data, i, 300);
		struct ecap_packet p = { .ts_ns = T0 + i * 1000ull, .iface = ifid, .caplen = 300,
					 .origlen = 300, .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
		store_writer_stats(s, &st);
		assert_true(i < 100000);
	}
	assert_int_equal(store_put_secret(s, &a), 1);
	assert_int_equal(store_put_secret(s, &a), 0);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &st), 0);
	assert_int_equal(st.secrets, 1);
	store_close(s);
	/* the deleted chunk's row in secret_chunks went with it */
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM secret_chunks"), 1);
}

static void test_direct_writes(void **state)
{
	struct fixture *f = *state;
	unsetenv("ECAP_BUFFERED_WRITES"); /* this test chooses for itself */
	char other[sizeof(f->dir) + 8];
	snprintf(other, sizeof(other), "%s-buf", f->dir);
	struct store_options o;
	struct store_stats direct, buffered;
	noise_store_options(&o, false);
	noise_store_write(f->dir, &o, &direct);
	noise_store_options(&o, true);
	noise_store_write(other, &o, &buffered);
	assert_int_equal(buffered.bytes_direct, 0);
	assert_true(direct.chunks > 10);
	assert_int_equal(direct.bytes_stored, buffered.bytes_stored);
	/* the same chunks, whichever way they were written; each written directly is padded */
	size_t pads, pads_buffered;
	assert_int_equal(noise_same_chunks(f->dir, other, &pads, &pads_buffered), direct.chunks);
	assert_int_equal(pads_buffered, 0);
	struct store *s;
	struct store_stats st;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &st), 0);
	assert_int_equal(st.packets, NOISE_PACKETS);
	assert_int_equal(st.bytes_stored, direct.bytes_stored);
	store_close(s);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", other);
	assert_int_equal(system(cmd), 0);

	/* and the direct path was taken, where the file system offers it */
	char probe[128];
	snprintf(probe, sizeof(probe), "%s/probe", f->dir);
	close(open(probe, O_CREAT | O_WRONLY, 0600));
	int dfd = chunk_writer_open_direct(AT_FDCWD, probe);
	if (dfd < 0) {
		fprintf(stderr, "direct I/O is not offered under /tmp: only the buffered path ran\n");
		skip();
	}
	close(dfd);
	/* every byte, each chunk ending on a page boundary with its padding frame */
	assert_int_equal(pads, direct.chunks);
	assert_int_equal(direct.bytes_direct, direct.bytes_stored + direct.bytes_padding);
}

/* Two processes with one pid (reused): each flow names its own by start time; process records
 * come back by (pid, start), also after a rebuild from the segments alone; --pid N@START
 * picks one, and store_pid_processes counts both. */
/* -i any: thousands of interfaces named NAME@NETNS, each with its namespace inode, ifindex
 * and description, in one chunk; the same after the index is rebuilt from the segments.
 * A device of the same name in another namespace, or with another ifindex, is another
 * interface. */
#define MANY_IFACES 3000
static void check_many_ifaces(const char *dir)
{
	struct store *s;
	struct ecap_iface got;
	char want[ECAP_IFDESC_MAX];
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_interface_count(s), MANY_IFACES);
	for (uint32_t i = 0; i < MANY_IFACES; i++) {
		assert_int_equal(store_get_interface(s, i, &got), 0);
		assert_int_equal(got.netns, 4026532000u + i / 2);
		assert_int_equal(got.ifindex, 2 + i % 2);
		snprintf(want, sizeof(want), "netns %u /run/netns/ns%u ifindex %u", got.netns,
			 i / 2, got.ifindex);
		assert_string_equal(got.description, want);
	}
	assert_int_equal(store_close(s), 0);
}

static void test_many_netns_ifaces(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	store_options_default(&o);
	o.quiet = true;
	struct store *s;
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	uint8_t data[64];
	for (uint32_t i = 0; i < MANY_IFACES; i++) {
		struct ecap_iface ifc = { .linktype = 1, .netns = 4026532000u + i / 2,
					  .ifindex = 2 + i % 2 };
		snprintf(ifc.name, sizeof(ifc.name), "eth0@ns%u", i / 2);
		snprintf(ifc.description, sizeof(ifc.description),
			 "netns %u /run/netns/ns%u ifindex %u", ifc.netns, i / 2, ifc.ifindex);
		uint32_t id, again;
		assert_int_equal(store_add_interface(s, &ifc, &id), 0);
		assert_int_equal(id, i);
		assert_int_equal(store_add_interface(s, &ifc, &again), 0);
		assert_int_equal(again, id);
		make_packet(data, i, sizeof(data));
		struct ecap_packet p = { .ts_ns = T0 + i * 1000ull, .iface = id,
					 .caplen = sizeof(data), .origlen = sizeof(data),
					 .flags = 2, .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
	}
	assert_int_equal(store_close(s), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM chunks"), 1);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM interface_netns"), MANY_IFACES);
	check_many_ifaces(f->dir);
	char p[128];
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(store_rebuild(f->dir, &o, false), 0);
	check_many_ifaces(f->dir);
	/* packet i was recorded on interface i */
	struct chunk_list cl = { 0 };
	struct chunk_view *v;
	struct ecap_packet pk;
	uint32_t n, count = 0;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, NULL, &cl), 0);
	assert_int_equal(cl.n, 1);
	assert_int_equal(store_chunk_open(s, &cl.v[0], &v), 0);
	while (chunk_view_next(v, &pk) == 1) {
		memcpy(&n, pk.data, 4);
		assert_int_equal(pk.iface, n);
		count++;
	}
	chunk_view_close(v);
	chunk_list_free(&cl);
	store_close(s);
	assert_int_equal(count, MANY_IFACES);
}

static void test_processes(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	small_chunks(&o);
	uint32_t ifid;
	struct store *s = open_with_lo(f->dir, &o, &ifid);
	struct ecap_proc_info old = { .pid = 4242, .start_ns = 1000000000, .ppid = 1,
				      .start_wall_ns = T0 - 600000000000ull, .nspid = 7 };
	snprintf(old.exe, sizeof(old.exe), "/usr/bin/curl");
	snprintf(old.args, sizeof(old.args), "curl -s http://old/");
	snprintf(old.parent_comm, sizeof(old.parent_comm), "bash");
	snprintf(old.cgroup, sizeof(old.cgroup), "/libpod_parent/libpod-%064x", 0);
	snprintf(old.container_id, sizeof(old.container_id), "%064x", 0);
	snprintf(old.runtime, sizeof(old.runtime), "podman");
	struct ecap_proc_info young = old;
	young.start_ns = 9000000000;
	young.start_wall_ns = T0 - 1000000000ull;
	snprintf(young.exe, sizeof(young.exe), "/usr/bin/wget");
	young.container_id[0] = young.runtime[0] = young.cgroup[0] = '\0';
	uint64_t f1 = store_new_flow_id(s), f2 = store_new_flow_id(s);
	struct flow_record r1 = make_flow(f1, 443, 4242, "curl");
	struct flow_record r2 = make_flow(f2, 80, 4242, "wget");
	r1.proc[0].start_ns = old.start_ns;
	r2.proc[0].start_ns = young.start_ns;
	/* what the runtime said of old's container: twice, the later record renamed it */
	struct ecap_container ctr = { .first_ns = T0 - 500, .last_ns = T0 - 400 };
	snprintf(ctr.id, sizeof(ctr.id), "%s", old.container_id);
	snprintf(ctr.runtime, sizeof(ctr.runtime), "podman");
	snprintf(ctr.name, sizeof(ctr.name), "web-old");
	snprintf(ctr.image, sizeof(ctr.image), "docker.io/library/nginx:1.25");
	snprintf(ctr.labels, sizeof(ctr.labels), "{\"io.kubernetes.pod.name\":\"web-7d9f\"}");
	snprintf(ctr.pod_name, sizeof(ctr.pod_name), "web-7d9f");
	snprintf(ctr.pod_namespace, sizeof(ctr.pod_namespace), "prod");
	snprintf(ctr.pod_uid, sizeof(ctr.pod_uid), "5e1c7b0a-1111-2222-3333-444455556666");
	struct ecap_container renamed = ctr;
	renamed.first_ns = T0 - 300;
	renamed.last_ns = T0 - 200;
	snprintf(renamed.name, sizeof(renamed.name), "web-1");
	assert_int_equal(store_put_container(s, &ctr), 0);
	assert_int_equal(store_put_process(s, &old), 0);
	assert_int_equal(store_put_flow(s, &r1), 0);
	append_flow_packets(s, ifid, f1, 0, 30);
	assert_int_equal(store_put_container(s, &renamed), 0);
	assert_int_equal(store_put_process(s, &young), 0);
	assert_int_equal(store_put_flow(s, &r2), 0);
	append_flow_packets(s, ifid, f2, 30, 30);
	assert_int_equal(store_close(s), 0);

	for (int pass = 0; pass < 2; pass++) {
		struct ecap_proc_info got;
		struct flow_filter ff;
		struct idset ids = { 0 };
		uint64_t starts[4];
		assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
		assert_int_equal(store_get_process(s, 4242, old.start_ns, &got), 1);
		assert_memory_equal(&got, &old, sizeof(got));
		assert_int_equal(store_get_process(s, 4242, young.start_ns, &got), 1);
		assert_string_equal(got.exe, "/usr/bin/wget");
		assert_int_equal(store_get_process(s, 4242, 5, &got), 0);
		flow_filter_init(&ff);
		ff.pids[ff.n_pids++] = 4242;
		assert_int_equal(store_pid_processes(s, &ff, 4242, starts, 4), 2);
		assert_int_equal(starts[0], old.start_wall_ns);
		assert_int_equal(starts[1], young.start_wall_ns);
		ff.pid_starts[0] = young.start_wall_ns + 5000000; /* as printed: 10 ms */
		assert_int_equal(store_select_flows(s, &ff, &ids), 0);
		assert_int_equal(ids.n, 1);
		assert_true(idset_has(&ids, f2));
		idset_free(&ids);
		flow_filter_init(&ff);
		snprintf(ff.containers[ff.n_containers++], ECAP_CONTAINER_ID_MAX, "%012x", 0);
		assert_int_equal(store_select_flows(s, &ff, &ids), 0);
		assert_int_equal(ids.n, 1);
		assert_true(idset_has(&ids, f1));
		idset_free(&ids);
		/* the container: its latest record, the first time it was stored */
		struct ecap_container cgot;
		assert_int_equal(store_get_container(s, old.container_id, &cgot), 1);
		assert_string_equal(cgot.id, ctr.id);
		assert_string_equal(cgot.runtime, "podman");
		assert_string_equal(cgot.name, "web-1");
		assert_string_equal(cgot.image, ctr.image);
		assert_string_equal(cgot.labels, ctr.labels);
		assert_string_equal(cgot.pod_name, "web-7d9f");
		assert_string_equal(cgot.pod_namespace, "prod");
		assert_string_equal(cgot.pod_uid, ctr.pod_uid);
		assert_int_equal(cgot.first_ns, ctr.first_ns);
		assert_int_equal(cgot.last_ns, renamed.last_ns);
		assert_int_equal(store_get_container(s, "0123", &cgot), 0);
		/* selected by its name (not the old one), by its pod, and per process */
		const char *const by[][2] = { { "web-1", "" }, { "", "web-7d9f" },
					      { "", "prod/web-7d9f" }, { "", ctr.pod_uid } };
		for (size_t i = 0; i < sizeof(by) / sizeof(by[0]); i++) {
			flow_filter_init(&ff);
			if (by[i][0][0])
				snprintf(ff.containers[ff.n_containers++], ECAP_CTR_NAME_MAX, "%s",
					 by[i][0]);
			else
				snprintf(ff.pods[ff.n_pods++], sizeof(ff.pods[0]), "%s", by[i][1]);
			assert_int_equal(store_select_flows(s, &ff, &ids), 0);
			assert_int_equal(ids.n, 1);
			assert_true(idset_has(&ids, f1));
			idset_free(&ids);
			assert_int_equal(store_process_selected(s, &ff, 4242, old.start_ns), 1);
			assert_int_equal(store_process_selected(s, &ff, 4242, young.start_ns), 0);
		}
		const char *const none[][2] = { { "web-old", "" }, { "", "web" },
						{ "", "dev/web-7d9f" } };
		for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
			flow_filter_init(&ff);
			if (none[i][0][0])
				snprintf(ff.containers[ff.n_containers++], ECAP_CTR_NAME_MAX, "%s",
					 none[i][0]);
			else
				snprintf(ff.pods[ff.n_pods++], sizeof(ff.pods[0]), "%s",
					 none[i][1]);
			assert_int_equal(store_select_flows(s, &ff, &ids), 0);
			assert_int_equal(ids.n, 0);
			idset_free(&ids);
		}
		store_close(s);
		/* the same from the segments alone */
		char p[128];
		snprintf(p, sizeof(p), "%s/index.db", f->dir);
		if (pass == 0) {
			assert_int_equal(unlink(p), 0);
			assert_int_equal(store_rebuild(f->dir, &o, false), 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unindexed_chunks_reindexed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_totals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_ids_of_open_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_ids_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_during_writing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_secret_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_secrets_interleaved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_after_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_netns_ifaces, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
