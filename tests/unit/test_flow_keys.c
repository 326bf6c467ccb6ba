// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_flow_keys.c - finding flows by address, port and tuple through the chunks' flow key
 * filters (index schema 7): the Bloom filter (no false negative, about 1% false positives,
 * the same bytes for the same keys, hostile bytes taken as "maybe"), the id runs (round trip,
 * damage found), and through the store: the exact flows over many chunks, a flow that started
 * long before --since, filters that say "maybe" to everything or are damaged, the same rows
 * after a rebuild, a reader asking again as chunks are added, a long-lived flow still found
 * after its first chunks were dropped, and a chunk of many flows whose groups narrow a tuple's
 * candidates to its flow's group.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow_keys.h"
#include "idruns.h"
#include "keyfilter.h"
#include "store.h"
#include "tmp_store.h"

#define NS 1000000000ull
#define T0 (1764140400ull * NS)
#define N_FLOWS 400
#define LONG_FLOW 0 /* the flow that lasts through the whole store */

#define setup tmp_store_setup
#define teardown tmp_store_teardown

/* ---- the filter and the runs -------------------------------------------------------- */

static void addr_of(uint8_t a[16], uint32_t v4)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)(v4 >> 24);
	a[13] = (uint8_t)(v4 >> 16);
	a[14] = (uint8_t)(v4 >> 8);
	a[15] = (uint8_t)v4;
}

static void test_filter_no_false_negative(void **state)
{
	(void)state;
	enum { N = 5000, PROBES = 100000 };
	uint64_t *keys = malloc(N * sizeof(*keys));
	uint8_t a[16];
	for (uint32_t i = 0; i < N; i++) {
		addr_of(a, 0x0a000000u + i);
		keys[i] = i % 2 ? keyfilter_addr(a) : keyfilter_addr_port(a, (uint16_t)i);
	}
	struct buf b = { 0 };
	size_t n = N;
	assert_int_equal(keyfilter_encode(&b, keys, &n), 0);
	assert_int_equal(n, N);
	assert_int_equal((b.len - 2) % 64, 0);
	for (uint32_t i = 0; i < N; i++) {
		addr_of(a, 0x0a000000u + i);
		assert_true(keyfilter_may_have(b.data, b.len,
					       i % 2 ? keyfilter_addr(a) :
						       keyfilter_addr_port(a, (uint16_t)i)));
	}
	/* keys not in the set: about 1% say "maybe" (10 bits per key, 7 bits set) */
	unsigned maybe = 0;
	for (uint32_t i = 0; i < PROBES; i++) {
		addr_of(a, 0xc0a80000u + i);
		maybe += keyfilter_may_have(b.data, b.len, keyfilter_addr(a));
	}
	assert_true(maybe < PROBES / 50);
	free(keys);
	buf_free(&b);
}

/* The same keys in another order, and repeated, make the same bytes. */
static void test_filter_deterministic(void **state)
{
	(void)state;
	uint64_t k1[300], k2[600];
	for (int i = 0; i < 300; i++) {
		k1[i] = keyfilter_port((uint16_t)(1000 + i));
		k2[599 - i] = k2[i] = keyfilter_port((uint16_t)(1000 + i));
	}
	struct buf b1 = { 0 }, b2 = { 0 };
	size_t n1 = 300, n2 = 600;
	assert_int_equal(keyfilter_encode(&b1, k1, &n1), 0);
	assert_int_equal(keyfilter_encode(&b2, k2, &n2), 0);
	assert_int_equal(n2, 300);
	assert_int_equal(b1.len, b2.len);
	assert_memory_equal(b1.data, b2.data, b1.len);
	/* a port, an address and a pair are different keys */
	uint8_t a[16];
	addr_of(a, 443);
	assert_true(keyfilter_port(443) != keyfilter_addr(a));
	assert_true(keyfilter_addr_port(a, 0) != keyfilter_addr(a));
	buf_free(&b1);
	buf_free(&b2);
}

/* Bytes that are not a filter this code makes hold every key. */
static void test_filter_hostile(void **state)
{
	(void)state;
	uint64_t k = keyfilter_port(22), other = keyfilter_port(23);
	struct buf b = { 0 };
	size_t n = 1;
	assert_int_equal(keyfilter_encode(&b, &k, &n), 0);
	assert_int_equal(b.len, 66);
	assert_false(keyfilter_may_have(b.data, b.len, other)); /* 7 bits of 512 */
	assert_true(keyfilter_may_have(NULL, 0, other));
	assert_true(keyfilter_may_have(b.data, 1, other));
	assert_true(keyfilter_may_have(b.data, 65, other));      /* cut */
	assert_true(keyfilter_may_have(b.data, 2, other));       /* no block */
	uint8_t longer[67];
	memcpy(longer, b.data, 66);
	longer[66] = 0;
	assert_true(keyfilter_may_have(longer, 67, other));      /* not whole blocks */
	b.data[0] = 2;
	assert_true(keyfilter_may_have(b.data, b.len, other));   /* another version */
	b.data[0] = 1;
	b.data[1] = 8;
	assert_true(keyfilter_may_have(b.data, b.len, other));   /* another k */
	buf_free(&b);
}

static void test_runs(void **state)
{
	(void)state;
	const uint64_t ids[] = { 3, 4, 5, 9, 100, 101, 1000000, UINT64_MAX - 1 };
	const uint64_t want[][2] = { { 3, 5 }, { 9, 9 }, { 100, 101 }, { 1000000, 1000000 },
				     { UINT64_MAX - 1, UINT64_MAX - 1 } };
	struct buf b = { 0 };
	assert_int_equal(idruns_encode(&b, ids, 8), 0);
	size_t off = 0, i = 0;
	uint64_t next = 0, lo, hi;
	int r;
	while ((r = idruns_next(b.data, b.len, &off, &next, &lo, &hi)) == 1) {
		assert_true(i < 5);
		assert_int_equal(lo, want[i][0]);
		assert_int_equal(hi, want[i][1]);
		i++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(i, 5);
	/* cut inside a number, or a run past the last id */
	off = 0;
	next = 0;
	assert_int_equal(idruns_next(b.data, 1, &off, &next, &lo, &hi), -EBADMSG);
	const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x05 };
	off = 0;
	next = 0;
	assert_int_equal(idruns_next(huge, sizeof(huge), &off, &next, &lo, &hi), -EBADMSG);
	const uint8_t endless[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				    0x80, 0x00 };
	off = 0;
	next = 0;
	assert_int_equal(idruns_next(endless, sizeof(endless), &off, &next, &lo, &hi), -EBADMSG);
	buf_free(&b);
}

/* ---- through the store -------------------------------------------------------------- */

static struct flow_key key_of(uint32_t i)
{
	struct flow_key k = { .proto = FLOW_PROTO_TCP, .family = 4 };
	addr_of(k.addr_a, 0x0a000000u + i);                /* 10.0.x.y, one per flow */
	addr_of(k.addr_b, 0x0a090000u + 1 + i % 2);        /* 10.9.0.1 or 10.9.0.2 */
	k.port_a = (uint16_t)(20000 + i);
	k.port_b = i % 3 ? 443 : 22;
	return k;
}

/* Flow i's record (id, first packet at first_ns) before a packet of it, when the store's
 * epoch moved since *epoch, its last one: as a recorder stores it (store.h). */
static void put_record(struct store *s, uint64_t id, uint64_t first_ns, uint32_t i,
		       uint32_t *epoch)
{
	if (*epoch == store_flow_epoch(s))
		return;
	struct flow_record r = { .id = id, .first_ns = first_ns, .key = key_of(i) };
	assert_int_equal(store_put_flow(s, &r), 0);
	*epoch = store_flow_epoch(s);
}

/*
 * N_FLOWS flows, each recorded just before its first packet (and again in each later epoch
 * of the store it has packets in) and with 3 packets of its own in a row (about 20 packets a
 * chunk: each chunk records a few flows); the long flow's packets come every 50 packets
 * throughout, so it lasts into the last chunks. first[i]: the time of flow i's first packet.
 */
static void write_flows(const char *dir, const struct store_options *o, uint64_t *first)
{
	struct store *s;
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	uint32_t ifid;
	uint64_t ids[N_FLOWS], t = T0;
	uint32_t epoch[N_FLOWS] = { 0 };
	uint8_t data[200] = { 0 };
	assert_int_equal(store_open(dir, STORE_WRITE, o, &s), 0);
	assert_int_equal(store_add_interface(s, &ifc, &ifid), 0);
	for (uint32_t i = 0, sent = 0; i < N_FLOWS; i++) {
		ids[i] = store_new_flow_id(s);
		assert_int_equal(ids[i], i + 1);
		first[i] = t;
		for (int k = 0; k < 3; k++, sent++) {
			uint32_t of = sent % 50 == 49 ? LONG_FLOW : i;
			put_record(s, ids[of], first[of], of, &epoch[of]);
			struct ecap_packet p = { .ts_ns = t, .iface = ifid, .caplen = 200,
						 .origlen = 200, .flags = 2, .data = data,
						 .flow_id = ids[of] };
			t += 1000;
			assert_int_equal(store_append_packet(s, &p), 0);
		}
	}
	put_record(s, ids[LONG_FLOW], first[LONG_FLOW], LONG_FLOW, &epoch[LONG_FLOW]);
	struct ecap_packet p = { .ts_ns = t, .iface = ifid, .caplen = 200, .origlen = 200,
				 .flags = 2, .data = data, .flow_id = ids[LONG_FLOW] };
	assert_int_equal(store_append_packet(s, &p), 0);
	assert_int_equal(store_close(s), 0);
}

static void small_chunks(struct store_options *o)
{
	store_options_default(o);
	o->chunk_bytes = 4096;
	o->segment_bytes = 64 * 1024;
	o->quiet = true;
}

/* Whether flow i matches f's hosts, ports and tuples (f's times are left to the caller). */
static bool expect_match(const struct flow_filter *f, uint32_t i)
{
	struct flow_key k = key_of(i);
	bool host = !f->n_hosts, port = !f->n_ports, tuple = !f->n_tuples;
	for (size_t j = 0; j < f->n_hosts; j++)
		host |= !memcmp(f->hosts[j], k.addr_a, 16) || !memcmp(f->hosts[j], k.addr_b, 16);
	for (size_t j = 0; j < f->n_ports; j++)
		port |= f->ports[j] == k.port_a || f->ports[j] == k.port_b;
	for (size_t j = 0; j < f->n_tuples; j++) {
		const struct flow_key *t = &f->tuples[j];
		tuple |= (!memcmp(t->addr_a, k.addr_a, 16) && t->port_a == k.port_a &&
			  !memcmp(t->addr_b, k.addr_b, 16) && t->port_b == k.port_b) ||
			 (!memcmp(t->addr_b, k.addr_a, 16) && t->port_b == k.port_a &&
			  !memcmp(t->addr_a, k.addr_b, 16) && t->port_a == k.port_b);
	}
	return host && port && tuple;
}

/* store_select_flows(f) gives exactly the flows expect_match() names among ids lo..N_FLOWS
 * (the time range of f is the caller's: lo is the first flow it lets in, besides the long
 * flow when long_in). */
static void check_selection(struct store *s, const struct flow_filter *f, uint32_t lo,
			    bool long_in)
{
	struct idset ids = { 0 };
	assert_int_equal(store_select_flows(s, f, &ids), 0);
	size_t want = 0;
	for (uint32_t i = 0; i < N_FLOWS; i++) {
		bool in = (i >= lo || (i == LONG_FLOW && long_in)) && expect_match(f, i);
		want += in;
		if (in != idset_has(&ids, i + 1))
			fail_msg("flow %u: selected %d, expected %d", i + 1, !in, in);
	}
	assert_int_equal(ids.n, want);
	idset_free(&ids);
}

/* Selections by one host, two hosts, a port, a tuple, a host and a port, and a key no flow
 * has, over all flows. */
static void check_all_selections(const char *dir)
{
	struct store *s;
	struct flow_filter f;
	struct flow_key k = key_of(123), k2 = key_of(321);
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	flow_filter_init(&f);
	memcpy(f.hosts[f.n_hosts++], k.addr_a, 16);
	check_selection(s, &f, 0, true);
	memcpy(f.hosts[f.n_hosts++], k2.addr_a, 16);
	check_selection(s, &f, 0, true);
	flow_filter_init(&f);
	memcpy(f.hosts[f.n_hosts++], k.addr_b, 16);      /* a server: half the flows */
	check_selection(s, &f, 0, true);
	f.ports[f.n_ports++] = 22;
	check_selection(s, &f, 0, true);
	flow_filter_init(&f);
	f.ports[f.n_ports++] = (uint16_t)(20000 + 77);
	check_selection(s, &f, 0, true);
	flow_filter_init(&f);
	f.tuples[f.n_tuples++] = k2;
	check_selection(s, &f, 0, true);
	flow_filter_init(&f);                            /* the other way round */
	memcpy(f.tuples[0].addr_a, k.addr_b, 16);
	memcpy(f.tuples[0].addr_b, k.addr_a, 16);
	f.tuples[0].port_a = k.port_b;
	f.tuples[0].port_b = k.port_a;
	f.n_tuples = 1;
	check_selection(s, &f, 0, true);
	flow_filter_init(&f);
	addr_of(f.hosts[f.n_hosts++], 0xc0a80001u);      /* nobody's */
	check_selection(s, &f, 0, true);
	store_close(s);
}

static void test_select_many_chunks(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	uint64_t first[N_FLOWS];
	small_chunks(&o);
	write_flows(f->dir, &o, first);
	struct store *s;
	struct store_stats st;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &st), 0);
	assert_true(st.chunks > 50);
	store_close(s);
	check_all_selections(f->dir);
}

static int64_t index_int_db(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* All the flows in one chunk (as the first chunk of a store records every flow already
 * running): the same exact answers, and a tuple's candidate ids are those of its flow's group
 * of FLOW_KEYS_GROUP (and of a false positive's), not the chunk's N_FLOWS. */
static void test_one_chunk_groups(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	uint64_t first[N_FLOWS];
	store_options_default(&o);
	o.quiet = true;
	write_flows(f->dir, &o, first);
	check_all_selections(f->dir);

	char p[128];
	sqlite3 *db;
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(index_int_db(db, "SELECT count(*) FROM chunk_flow_keys"), 1);
	for (uint32_t i = 1; i < N_FLOWS; i += 97) {
		struct flow_filter sel;
		struct flow_keys_cache c = { 0 };
		const struct flow_id_ranges *r;
		flow_filter_init(&sel);
		sel.tuples[sel.n_tuples++] = key_of(i);
		assert_int_equal(flow_keys_candidates(db, &sel, &c, &r), 0);
		assert_false(r->all);
		uint64_t ids = 0;
		bool has = false;
		for (size_t j = 0; j < r->n; j++) {
			ids += r->v[j].hi - r->v[j].lo + 1;
			has |= r->v[j].lo <= i + 1 && i + 1 <= r->v[j].hi;
		}
		assert_true(has);
		assert_true(ids <= 2 * FLOW_KEYS_GROUP);
		flow_keys_cache_free(&c);
	}
	sqlite3_close(db);
}

/* --since after the long flow's first chunk: it is found by its host and by its tuple, as are
 * the flows that started since; the others are not. */
static void test_since(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	uint64_t first[N_FLOWS];
	small_chunks(&o);
	write_flows(f->dir, &o, first);
	struct store *s;
	struct flow_filter ff;
	struct flow_key k = key_of(LONG_FLOW);
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	flow_filter_init(&ff);
	ff.since_ns = first[300];
	memcpy(ff.hosts[ff.n_hosts++], k.addr_a, 16);
	check_selection(s, &ff, 300, true);
	flow_filter_init(&ff);
	ff.since_ns = first[300];
	ff.tuples[ff.n_tuples++] = k;
	check_selection(s, &ff, 300, true);
	flow_filter_init(&ff);
	ff.since_ns = first[300];
	memcpy(ff.hosts[ff.n_hosts++], k.addr_b, 16);
	check_selection(s, &ff, 300, true);
	store_close(s);
}

static void index_exec(const char *dir, const char *sql)
{
	char p[128];
	sqlite3 *db;
	snprintf(p, sizeof(p), "%s/index.db", dir);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

/* The filters of the rows `where` picks become one block with every bit set. */
static void set_filter_all_ones(const char *dir, const char *where)
{
	char p[128], sql[160];
	uint8_t ones[66];
	sqlite3 *db;
	sqlite3_stmt *st;
	memset(ones, 0xff, sizeof(ones));
	ones[0] = 1;
	ones[1] = 7;
	snprintf(p, sizeof(p), "%s/index.db", dir);
	snprintf(sql, sizeof(sql), "UPDATE chunk_flow_keys SET filter = ?1 WHERE %s", where);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, ones, sizeof(ones), SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_true(sqlite3_changes(db) > 10);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The rows of chunk_flow_keys, as text. */
static char *flow_key_rows(const char *dir)
{
	char p[128];
	sqlite3 *db;
	sqlite3_stmt *st;
	struct buf b = { 0 };
	snprintf(p, sizeof(p), "%s/index.db", dir);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT chunk_id || ' ' || ids_lo || ' ' || "
					    "ids_hi || ' ' || hex(ids) || ' ' || hex(filter) || "
					    "char(10) FROM chunk_flow_keys ORDER BY chunk_id", -1,
					    &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		assert_int_equal(buf_append(&b, sqlite3_column_text(st, 0),
					    (size_t)sqlite3_column_bytes(st, 0)), 0);
	assert_int_equal(buf_append(&b, "", 1), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (char *)b.data;
}

/* Filters that say "maybe" to every key (as a chunk of very many flows would, and more):
 * the same answers, from reading more rows. Damaged filters and id runs (hostile bytes in the
 * index): the same answers, as if no filter were there. */
static void test_maybe_everything_and_damage(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	uint64_t first[N_FLOWS];
	small_chunks(&o);
	write_flows(f->dir, &o, first);
	set_filter_all_ones(f->dir, "chunk_id % 3 = 0");
	check_all_selections(f->dir);
	index_exec(f->dir, "UPDATE chunk_flow_keys SET filter = x'01' WHERE chunk_id % 5 = 1");
	check_all_selections(f->dir);
	index_exec(f->dir, "UPDATE chunk_flow_keys SET ids = x'ffffffff' WHERE chunk_id = "
			   "(SELECT max(chunk_id) FROM chunk_flow_keys)");
	check_all_selections(f->dir);
	index_exec(f->dir, "UPDATE chunk_flow_keys SET ids = x'', filter = 7");
	check_all_selections(f->dir);
}

/* ecap-fsck --rebuild makes the same rows, byte for byte. */
static void test_rebuild_same_bytes(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	uint64_t first[N_FLOWS];
	small_chunks(&o);
	write_flows(f->dir, &o, first);
	char *before = flow_key_rows(f->dir), p[128];
	assert_true(strlen(before) > 1000);
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(store_rebuild(f->dir, &o, false), 0);
	char *after = flow_key_rows(f->dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
	check_all_selections(f->dir);
}

/* A reader's handle asks for the same selection again while the writer adds chunks (as
 * --follow does every 500 ms): it finds the flows recorded since, and a selection by other
 * keys in between does not disturb it. */
static void test_reader_sees_new_chunks(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	struct store *w, *r;
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	uint32_t ifid;
	uint8_t data[200] = { 0 };
	struct flow_filter by_server, by_port;
	struct flow_key k = key_of(0);
	small_chunks(&o);
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &w), 0);
	assert_int_equal(store_add_interface(w, &ifc, &ifid), 0);
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &r), 0);
	flow_filter_init(&by_server);
	memcpy(by_server.hosts[by_server.n_hosts++], k.addr_b, 16);
	flow_filter_init(&by_port);
	by_port.ports[by_port.n_ports++] = 22;
	for (uint32_t i = 0; i < 60; i++) {
		struct flow_record rec = { .first_ns = T0 + i * NS, .key = key_of(2 * i) };
		rec.id = store_new_flow_id(w);
		assert_int_equal(store_put_flow(w, &rec), 0);
		for (int n = 0; n < 30; n++) {
			struct ecap_packet p = { .ts_ns = T0 + i * NS + (uint64_t)n, .iface = ifid,
						 .caplen = 200, .origlen = 200, .flags = 2,
						 .data = data, .flow_id = rec.id };
			assert_int_equal(store_append_packet(w, &p), 0);
		}
		assert_int_equal(store_sync(w), 0);
		struct idset ids = { 0 };
		assert_int_equal(store_select_flows(r, &by_server, &ids), 0);
		assert_int_equal(ids.n, i + 1);       /* key_of(2 i): all to 10.9.0.1 */
		idset_free(&ids);
		if (i % 7 == 0) {
			assert_int_equal(store_select_flows(r, &by_port, &ids), 0);
			assert_int_equal(ids.n, i / 3 + 1); /* 2 i % 3 == 0 */
			idset_free(&ids);
		}
	}
	store_close(r);
	assert_int_equal(store_close(w), 0);
}

/* The first segments go (as retention deletes them, here by their files missing at the next
 * open): the long flow, whose first record was in one of them, is still found by its host,
 * through its record in the first segment left (index schema 8); the flow key rows of the
 * chunks that went are gone, whatever their flows. */
static void test_dropped_chunks_keep_long_flow(void **state)
{
	struct fixture *f = *state;
	struct store_options o;
	uint64_t first[N_FLOWS];
	char p[160];
	small_chunks(&o);
	o.segment_bytes = 2048;
	write_flows(f->dir, &o, first);
	for (int seg = 1; seg <= 4; seg++) {
		snprintf(p, sizeof(p), "%s/seg-%08d.ecap", f->dir, seg);
		assert_int_equal(unlink(p), 0);
	}
	struct store *s;
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	assert_int_equal(store_close(s), 0);

	struct flow_filter ff;
	struct idset ids = { 0 };
	struct flow_key k = key_of(LONG_FLOW);
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	flow_filter_init(&ff);
	memcpy(ff.hosts[ff.n_hosts++], k.addr_a, 16);
	assert_int_equal(store_select_flows(s, &ff, &ids), 0);
	assert_int_equal(ids.n, 1);
	assert_int_equal(ids.ids[0], LONG_FLOW + 1);
	idset_free(&ids);
	/* the flows that went with their chunks are not selected by the server's address */
	flow_filter_init(&ff);
	memcpy(ff.hosts[ff.n_hosts++], k.addr_b, 16);
	assert_int_equal(store_select_flows(s, &ff, &ids), 0);
	assert_true(ids.n > 1 && ids.n < N_FLOWS / 2);
	assert_int_equal(ids.ids[0], LONG_FLOW + 1);
	assert_true(ids.ids[1] > 10);
	idset_free(&ids);
	store_close(s);
	snprintf(p, sizeof(p), "%s/index.db", f->dir);
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT min(id) FROM chunks), "
					    "(SELECT min(chunk_id) FROM chunk_flow_keys), "
					    "(SELECT count(*) FROM chunk_flow_keys k WHERE chunk_id < "
					    "(SELECT min(id) FROM chunks) AND NOT EXISTS (SELECT 1 "
					    "FROM flows WHERE id BETWEEN k.ids_lo AND k.ids_hi))",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_int64(st, 0) > 5);     /* the chunks went */
	/* and their flow keys with them */
	assert_true(sqlite3_column_int64(st, 1) >= sqlite3_column_int64(st, 0));
	assert_int_equal(sqlite3_column_int64(st, 2), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_no_false_negative),
		cmocka_unit_test(test_filter_deterministic),
		cmocka_unit_test(test_filter_hostile),
		cmocka_unit_test(test_runs),
		cmocka_unit_test_setup_teardown(test_select_many_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maybe_everything_and_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_chunk_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_same_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_sees_new_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_chunks_keep_long_flow, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
