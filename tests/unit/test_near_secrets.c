// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_near_secrets.c - the TLS secrets stored near their session (index schema 7): they get
 * no index row, and store_walk_secrets reads them from their chunks' DSBs. Checked: a flow's
 * walk gives exactly the secrets put (what the index held before), with the figures; a
 * rebuilt index makes the same rows and answers alike; a chunk whose DSB is damaged is named
 * in the error while every other secret is still given; a session on two flows whose rows are
 * in different chunks gives its secrets from either, also when it comes again much later;
 * the count of near secrets is what a row would have held.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "index.h"
#include "index_sql.h"
#include "secret_blob.h"
#include "segment.h"
#include "store.h"
#include "tmp_store.h"

#define NS 1000000000ull
#define T0 (1764140400ull * NS)
#define FLOWS 3

static const char *const labels[] = { "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
				      "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
				      "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET" };

static struct tls_secret secret(uint64_t flow, int label)
{
	struct tls_secret s = { .secret_len = 32 };
	snprintf(s.label, sizeof(s.label), "%s", labels[label]);
	memset(s.client_random, (int)(0x10 * flow), 32);
	memset(s.secret, (int)(flow * 16 + (uint64_t)label), 32);
	return s;
}

static void put_packet(struct store *s, uint32_t ifid, uint64_t flow, uint32_t n)
{
	uint8_t data[64] = { 0 };
	memcpy(data, &n, 4);
	struct ecap_packet p = { .ts_ns = T0 + n * 1000ull, .iface = ifid, .caplen = 64,
				 .origlen = 64, .data = data, .flow_id = flow };
	assert_int_equal(store_append_packet(s, &p), 0);
}

/* A writer on dir with interface lo (*ifid) and flows 1..n recorded. */
static struct store *open_with_flows(const char *dir, uint64_t n, uint32_t *ifid)
{
	struct store_options o;
	store_options_default(&o);
	o.quiet = true;
	struct store *s;
	assert_int_equal(store_open(dir, STORE_WRITE, &o, &s), 0);
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	assert_int_equal(store_add_interface(s, &ifc, ifid), 0);
	for (uint64_t f = 1; f <= n; f++) {
		assert_int_equal(store_new_flow_id(s), f);
		struct flow_record r = { .id = f, .first_ns = T0 };
		r.key.proto = FLOW_PROTO_TCP;
		r.key.family = 4;
		r.key.port_a = (uint16_t)(40000 + f);
		r.key.port_b = 443;
		assert_int_equal(store_put_flow(s, &r), 0);
	}
	return s;
}

/*
 * Flow f (1..3) has its session in a chunk of its own with its first three secrets, the other
 * two in the next chunk (all near: no row); but flow 3's fifth comes ten chunks later, through
 * the key log's path (not near: a secrets row and a secret_chunks row).
 */
static void write_sessions(const char *dir)
{
	uint32_t ifid, n = 0;
	struct store *s = open_with_flows(dir, FLOWS, &ifid);
	for (uint64_t f = 1; f <= FLOWS; f++) {
		struct tls_secret sec = secret(f, 0);
		assert_int_equal(store_put_tls_session(s, sec.client_random, f), 0);
		put_packet(s, ifid, f, n++);
		for (int l = 0; l < 3; l++) {
			sec = secret(f, l);
			assert_int_equal(store_put_session_secret(s, &sec), 1);
		}
		assert_int_equal(store_sync(s), 0);
		put_packet(s, ifid, f, n++);
		for (int l = 3; l < (f == FLOWS ? 4 : 5); l++) {
			sec = secret(f, l);
			assert_int_equal(store_put_session_secret(s, &sec), 1);
		}
		assert_int_equal(store_sync(s), 0);
	}
	for (int c = 0; c < 10; c++) {
		put_packet(s, ifid, FLOWS, n++);
		assert_int_equal(store_sync(s), 0);
	}
	struct tls_secret late = secret(FLOWS, 4);
	assert_int_equal(store_put_secret(s, &late), 1);
	assert_int_equal(store_close(s), 0);
}

struct got {
	struct tls_secret v[3 * FLOWS * 5];
	uint64_t flow[3 * FLOWS * 5];
	int n;
};

static int take(const struct tls_secret *sec, uint64_t flow, void *ctx)
{
	struct got *g = ctx;
	assert_true(g->n < (int)(sizeof(g->v) / sizeof(g->v[0])));
	g->v[g->n] = *sec;
	g->flow[g->n++] = flow;
	return 0;
}

/* The walk of flows 1..3; err: what it returns. */
static void walk(const char *dir, struct got *g, int err, char *msg, size_t msglen)
{
	struct store *s;
	struct idset ids = { 0 };
	memset(g, 0, sizeof(*g));
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	for (uint64_t f = 1; f <= FLOWS; f++)
		assert_int_equal(idset_add(&ids, f), 0);
	idset_seal(&ids);
	assert_int_equal(store_walk_secrets(s, &ids, take, g), err);
	if (msg)
		snprintf(msg, msglen, "%s", store_errmsg(s));
	idset_free(&ids);
	store_close(s);
}

static bool got_has(const struct got *g, const struct tls_secret *sec, uint64_t flow)
{
	for (int i = 0; i < g->n; i++)
		if (g->flow[i] == flow && !strcmp(g->v[i].label, sec->label) &&
		    g->v[i].secret_len == sec->secret_len &&
		    !memcmp(g->v[i].secret, sec->secret, sec->secret_len) &&
		    !memcmp(g->v[i].client_random, sec->client_random, 32))
			return true;
	return false;
}

static void check_all(const struct got *g)
{
	assert_int_equal(g->n, FLOWS * 5);
	for (uint64_t f = 1; f <= FLOWS; f++)
		for (int l = 0; l < 5; l++) {
			struct tls_secret sec = secret(f, l);
			assert_true(got_has(g, &sec, f));
		}
}

/* Near secrets have no row and come back from the DSBs, exactly as put, in the order the
 * rows gave (by client_random, then chunk; a chunk's by label); the figures count them. */
static void test_near_from_dsb(void **state)
{
	struct fixture *fx = *state;
	write_sessions(fx->dir);
	assert_int_equal(index_int(fx->dir, "SELECT count(*) FROM secrets"), 1);
	assert_int_equal(index_int(fx->dir, "SELECT count(*) FROM secret_chunks"), 1);
	assert_int_equal(index_int(fx->dir, "SELECT sum(near_secrets) FROM chunks"), FLOWS * 5 - 1);
	struct got g;
	walk(fx->dir, &g, 0, NULL, 0);
	check_all(&g);
	for (int i = 1; i < g.n; i++) /* by flow here, whose client_randoms ascend */
		assert_true(memcmp(g.v[i - 1].client_random, g.v[i].client_random, 32) <= 0);
	/* a chunk's by label: flow 1's first chunk gave CLIENT_HANDSHAKE, CLIENT_TRAFFIC_0,
	 * SERVER_HANDSHAKE (secret_blob.h's order), then its second chunk the other two */
	assert_string_equal(g.v[0].label, labels[0]);
	assert_string_equal(g.v[1].label, labels[2]);
	assert_string_equal(g.v[2].label, labels[1]);
	assert_string_equal(g.v[3].label, labels[4]);
	assert_string_equal(g.v[4].label, labels[3]);
	struct store *s;
	struct store_stats st;
	assert_int_equal(store_open(fx->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &st), 0);
	assert_int_equal(st.secrets, FLOWS * 5);
	assert_int_equal(st.secrets_linked, FLOWS * 5);
	struct got all = { 0 };
	assert_int_equal(store_walk_secrets(s, NULL, take, &all), 0);
	store_close(s);
	check_all(&all);
}

/* ecap-fsck --rebuild makes the same rows (none for the near secrets) and the same answer. */
static void test_near_rebuilt(void **state)
{
	struct fixture *fx = *state;
	write_sessions(fx->dir);
	struct got before, after;
	walk(fx->dir, &before, 0, NULL, 0);
	struct store_options o;
	store_options_default(&o);
	o.quiet = true;
	assert_int_equal(store_rebuild(fx->dir, &o, false), 0);
	assert_int_equal(index_int(fx->dir, "SELECT count(*) FROM secrets"), 1);
	assert_int_equal(index_int(fx->dir, "SELECT count(*) FROM secret_chunks"), 1);
	assert_int_equal(index_int(fx->dir, "SELECT sum(near_secrets) FROM chunks"), FLOWS * 5 - 1);
	walk(fx->dir, &after, 0, NULL, 0);
	assert_int_equal(after.n, before.n);
	assert_memory_equal(after.v, before.v, sizeof(after.v));
	assert_memory_equal(after.flow, before.flow, sizeof(after.flow));
}

/* A flipped byte in the DSB of flow 2's session chunk: the walk names that chunk and its
 * segment, and still gives every secret of the other chunks. */
static void test_near_damaged_dsb(void **state)
{
	struct fixture *fx = *state;
	write_sessions(fx->dir);
	int64_t chunk = index_int(fx->dir, "SELECT chunk_id FROM tls_sessions WHERE flow_id = 2");
	char sql[128], path[160], why[1024];
	snprintf(sql, sizeof(sql), "SELECT segment FROM chunks WHERE id = %lld", (long long)chunk);
	int64_t seg = index_int(fx->dir, sql);
	snprintf(sql, sizeof(sql), "SELECT offset FROM chunks WHERE id = %lld", (long long)chunk);
	uint64_t at = (uint64_t)index_int(fx->dir, sql);
	char name[SEGMENT_NAME_MAX];
	segment_name((uint32_t)seg, name);
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	struct chunk_meta m = { 0 };
	struct buf frames = { 0 };
	const char *w = NULL;
	off_t size = lseek(fd, 0, SEEK_END);
	assert_true(segment_read_meta(fd, at, (uint64_t)size, &m, &frames, &w) > 0);
	assert_true(m.n_blocks > m.header_blocks);
	const struct chunkmeta_block *dsb = &m.blocks[m.header_blocks];
	assert_int_equal(dsb->packets, 0);
	off_t byte = (off_t)(at + m.length - m.data_len + dsb->data_off + dsb->data_len / 2);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, byte), 1);
	b ^= 0x21;
	assert_int_equal(pwrite(fd, &b, 1, byte), 1);
	close(fd);
	chunkmeta_free(&m);
	buf_free(&frames);

	struct got g;
	walk(fx->dir, &g, -EBADMSG, why, sizeof(why));
	snprintf(sql, sizeof(sql), "chunk %lld", (long long)chunk);
	assert_non_null(strstr(why, sql));
	assert_non_null(strstr(why, name));
	assert_int_equal(g.n, FLOWS * 5 - 3); /* flow 2's three in that chunk are missing */
	for (uint64_t f = 1; f <= FLOWS; f++)
		for (int l = 0; l < 5; l++) {
			struct tls_secret sec = secret(f, l);
			assert_true(got_has(&g, &sec, f) == (f != 2 || l >= 3));
		}
}

/* One session on two flows (the same ClientHello before and after NAT), flow 2's row in a
 * later chunk than flow 1's: all its secrets, near flow 1's row, are found from either flow.
 * Then the same client_random on a third flow past the first row's window: a secret put after
 * that is not near (it gets a row) and is found from every flow; the third flow does not get
 * the secrets stored near the first row (README, limits). */
static void test_session_on_two_flows(void **state)
{
	struct fixture *fx = *state;
	uint32_t ifid, n = 0;
	struct store *s = open_with_flows(fx->dir, 3, &ifid);
	struct tls_secret sec = secret(1, 0);
	assert_int_equal(store_put_tls_session(s, sec.client_random, 1), 0);
	put_packet(s, ifid, 1, n++);
	for (int l = 0; l < 4; l++) { /* in flow 1's chunk, before flow 2's row */
		sec = secret(1, l);
		assert_int_equal(store_put_session_secret(s, &sec), 1);
	}
	assert_int_equal(store_sync(s), 0);
	assert_int_equal(store_put_tls_session(s, sec.client_random, 2), 0);
	put_packet(s, ifid, 2, n++);
	assert_int_equal(store_sync(s), 0);
	for (int c = 0; c < INDEX_SECRET_WINDOW + 2; c++) {
		put_packet(s, ifid, 1, n++);
		assert_int_equal(store_sync(s), 0);
	}
	assert_int_equal(store_put_tls_session(s, sec.client_random, 3), 0);
	put_packet(s, ifid, 3, n++);
	sec = secret(1, 4); /* near flow 3's row, past flow 1's window */
	assert_int_equal(store_put_session_secret(s, &sec), 1);
	assert_int_equal(store_close(s), 0);
	assert_int_equal(index_int(fx->dir, "SELECT sum(near_secrets) FROM chunks"), 4);
	assert_int_equal(index_int(fx->dir, "SELECT count(*) FROM secrets"), 1);

	for (uint64_t f = 1; f <= 3; f++) {
		struct got g = { 0 };
		struct idset ids = { 0 };
		assert_int_equal(store_open(fx->dir, STORE_READ, NULL, &s), 0);
		assert_int_equal(idset_add(&ids, f), 0);
		idset_seal(&ids);
		assert_int_equal(store_walk_secrets(s, &ids, take, &g), 0);
		idset_free(&ids);
		store_close(s);
		/* flow 3 came too late to be near the first four: the one stored after it */
		for (int l = f == 3 ? 4 : 0; l < 5; l++) {
			sec = secret(1, l);
			assert_true(got_has(&g, &sec, f));
		}
	}
}

/* chunks.near_secrets counts the entries that a secrets row of the session would have held:
 * secret_blob_encode without a buffer (the count alone, in the order given) says as many as
 * with one (sorted, the first of each label kept, invalid ones left out), for sets of labels
 * repeated, sharing their first eight bytes, empty, and secrets empty or too long. */
static void test_near_count(void **state)
{
	(void)state;
	static const char *const some[] = { "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET_X", "CLIENT_TRAFFIC_SECRET_0", "CLIENT_T",
		"CLIENT", "", "EXPORTER_SECRET", "SERVER_TRAFFIC_SECRET_0" };
	struct tls_secret v[20];
	const struct tls_secret *pv[20];
	struct buf b = { 0 };
	srand(26);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)rand() % 20;
		for (size_t i = 0; i < n; i++) {
			memset(&v[i], rand() % 2 ? 0 : 0x55, sizeof(v[i]));
			snprintf(v[i].label, sizeof(v[i].label), "%s",
				 some[(size_t)rand() % (sizeof(some) / sizeof(some[0]))]);
			int len = rand() % 8;
			v[i].secret_len =
				(uint8_t)(len == 0 ? 0 : len == 1 ? ECAP_SECRET_MAX + 1 : 48);
			pv[i] = &v[i];
		}
		unsigned counted, encoded;
		buf_reset(&b);
		assert_int_equal(secret_blob_encode(NULL, pv, n, &counted), 0);
		assert_int_equal(secret_blob_encode(&b, pv, n, &encoded), 0);
		assert_int_equal(counted, encoded);
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_near_count),
		cmocka_unit_test_setup_teardown(test_near_from_dsb, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_near_rebuilt, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_near_damaged_dsb, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_session_on_two_flows, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
