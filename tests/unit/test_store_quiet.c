// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_store_quiet.c - the store's cost follows what is recorded, and what is recorded is
 * durable and queryable about a second later (store.c, store_impl.h's store_chunk_begun), with
 * the store ticked every 100 ms as ecap-rec's loop ticks it:
 *   - a packet, and each record of recorded traffic made alone in an otherwise quiet second (a
 *     TLS session, a secret, a drop count), is in the index, as a reader opening it sees it,
 *     within 1.5 s;
 *   - seconds with nothing new write nothing: no segment byte, no index or log page;
 *   - process and container records alone (ecap-rec stores one for every process with a socket
 *     on the host, recorded or not) write nothing either, and go in with the next chunk that
 *     holds recorded traffic;
 *   - with the writer on its own thread (as ecap-rec runs it), a chunk closed by its age is
 *     committed by the tick that closes it, and the store then wants no tick until the next
 *     chunk: no wake-up a poll interval later to collect it from the writer and commit; one
 *     of more than 1 MiB (a --chunk-size above it) still goes to the writer's thread, which
 *     seals it while the caller goes on, and is committed a tick or more later.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index_sql.h"
#include "store.h"
#include "tmp_store.h"

#define NS 1000000000ull
#define TICK (NS / 10)
#define FILES_MAX 32

struct quiet {
	struct store *s;
	const char *dir;
	uint64_t now; /* CLOCK_MONOTONIC as the test moves it, from the store's open */
	uint32_t ifid;
};

/* The store's files but the log's shared-memory index (readers write their marks there),
 * as "name size mtime" lines. */
static void snapshot(const char *dir, char *out, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t at = 0;
	assert_non_null(d);
	out[0] = '\0';
	while ((de = readdir(d))) {
		char p[512];
		struct stat st;
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || (n > 4 && strcmp(de->d_name + n - 4, "-shm") == 0))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		assert_int_equal(stat(p, &st), 0);
		at += (size_t)snprintf(out + at, len - at, "%s %lld %lld.%09ld\n", de->d_name,
				       (long long)st.st_size, (long long)st.st_mtim.tv_sec,
				       st.st_mtim.tv_nsec);
		assert_true(at < len);
	}
	closedir(d);
}

static void tick(struct quiet *q)
{
	q->now += TICK;
	assert_int_equal(store_tick(q->s, q->now), 0);
}

/* Ticks until sql, asked of the index as a reader would, gives want; the time that took. */
static uint64_t ticks_until(struct quiet *q, const char *sql, int64_t want)
{
	uint64_t start = q->now;
	while (index_int(q->dir, sql) != want) {
		assert_true(q->now - start <= 3 * NS);
		tick(q);
	}
	return q->now - start;
}

/* secs seconds of ticks with nothing new: the files must not change. */
static void quiet_seconds(struct quiet *q, unsigned secs)
{
	char before[4096], after[4096];
	snapshot(q->dir, before, sizeof(before));
	for (unsigned i = 0; i < secs * 10; i++)
		tick(q);
	snapshot(q->dir, after, sizeof(after));
	assert_string_equal(before, after);
}

static struct flow_record flow(uint64_t id)
{
	struct flow_record fr = { .id = id, .first_ns = 1000 };
	fr.key.proto = FLOW_PROTO_TCP;
	fr.key.family = 4;
	memset(fr.key.addr_a + 10, 0xff, 2);
	memset(fr.key.addr_b + 10, 0xff, 2);
	fr.key.addr_a[12] = fr.key.addr_b[12] = 127;
	fr.key.addr_a[15] = fr.key.addr_b[15] = 1;
	fr.key.port_a = 40000;
	fr.key.port_b = 443;
	return fr;
}

static void packet(struct quiet *q, uint64_t flow_id, uint64_t ts)
{
	uint8_t data[64] = { 0 };
	struct ecap_packet p = { .ts_ns = ts, .iface = q->ifid, .caplen = sizeof(data),
				 .origlen = sizeof(data), .flags = 2, .data = data,
				 .flow_id = flow_id };
	assert_int_equal(store_append_packet(q->s, &p), 0);
}

/* The store in dir opened for writing, with interface "lo", and ticked once. sync_writer:
 * chunks written on the test's thread (else the writer's thread is on, as in ecap-rec);
 * chunk_bytes, commit_ns: the chunk size and the commit interval (0: the defaults). */
static void open_store(struct quiet *q, bool sync_writer, size_t chunk_bytes, uint64_t commit_ns)
{
	struct store_options o;
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	struct timespec mono;

	store_options_default(&o);
	o.quiet = true;
	o.sync_writer = sync_writer;
	if (chunk_bytes)
		o.chunk_bytes = chunk_bytes;
	if (commit_ns)
		o.commit_interval_ns = commit_ns;
	assert_int_equal(store_open(q->dir, STORE_WRITE, &o, &q->s), 0);
	assert_int_equal(store_add_interface(q->s, &ifc, &q->ifid), 0);
	/* the store's timers start from CLOCK_MONOTONIC at open: the test's clock from there */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	q->now = (uint64_t)mono.tv_sec * NS + (uint64_t)mono.tv_nsec;
	tick(q);
}

/* n packets of 1400 bytes of flow flow_id, from time ts on. */
static void packets_1400(struct quiet *q, uint64_t flow_id, uint64_t ts, unsigned n)
{
	static uint8_t data[1400];
	for (unsigned i = 0; i < n; i++) {
		struct ecap_packet p = { .ts_ns = ts + i, .iface = q->ifid, .caplen = sizeof(data),
					 .origlen = sizeof(data), .flags = 2, .data = data,
					 .flow_id = flow_id };
		assert_int_equal(store_append_packet(q->s, &p), 0);
	}
}

static void test_quiet(void **state)
{
	struct fixture *f = *state;
	struct quiet q = { .dir = f->dir };

	open_store(&q, true, 0, 0); /* the chunk is written when it closes: timing by the test's clock */

	/* a flow and its packet: queryable within 1.5 s */
	uint64_t fid = store_new_flow_id(q.s);
	struct flow_record fr = flow(fid);
	assert_int_equal(store_put_flow(q.s, &fr), 0);
	packet(&q, fid, 1000);
	assert_true(ticks_until(&q, "SELECT sum(packets) FROM chunks", 1) <= 1500000000ull);
	quiet_seconds(&q, 3);

	/* a TLS session alone in a quiet second */
	uint8_t cr[32];
	memset(cr, 0xc1, sizeof(cr));
	assert_int_equal(store_put_tls_session(q.s, cr, fid), 0);
	assert_true(ticks_until(&q, "SELECT count(*) FROM tls_sessions", 1) <= 1500000000ull);
	quiet_seconds(&q, 3);

	/* its secret alone in a quiet second */
	struct tls_secret sec = { .label = "CLIENT_TRAFFIC_SECRET_0", .secret_len = 32 };
	memcpy(sec.client_random, cr, 32);
	memset(sec.secret, 0x5a, 32);
	assert_int_equal(store_put_session_secret(q.s, &sec), 1);
	assert_true(ticks_until(&q, "SELECT count(*) FROM chunks WHERE near_secrets > 0 OR id IN "
				"(SELECT chunk_id FROM secrets)", 1) <= 1500000000ull);
	quiet_seconds(&q, 3);

	/* packets lost, counted alone in a quiet second */
	assert_int_equal(store_put_drops(q.s, q.ifid, 2000, 7), 0);
	assert_true(ticks_until(&q, "SELECT sum(count) FROM drops", 7) <= 1500000000ull);
	quiet_seconds(&q, 3);

	/* another process's record and a container's, with nothing recorded: nothing written */
	struct ecap_proc_info pi = { .pid = 4242, .start_ns = 5 * NS, .ppid = 1 };
	snprintf(pi.exe, sizeof(pi.exe), "/usr/bin/apt");
	struct ecap_container c = { .first_ns = 1, .last_ns = 2 };
	snprintf(c.id, sizeof(c.id), "%064x", 7);
	snprintf(c.runtime, sizeof(c.runtime), "podman");
	assert_int_equal(store_put_process(q.s, &pi), 0);
	assert_int_equal(store_put_container(q.s, &c), 0);
	quiet_seconds(&q, 3);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM processes WHERE pid = 4242"), 0);
	/* ... and both go in with the next recorded packet, within 1.5 s of it */
	packet(&q, fid, 3000);
	assert_true(ticks_until(&q, "SELECT sum(packets) FROM chunks", 2) <= 1500000000ull);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM processes WHERE pid = 4242"), 1);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM containers WHERE runtime = "
				   "'podman'"), 1);
	quiet_seconds(&q, 3);

	assert_int_equal(store_close(q.s), 0);
}

static void test_age_close_commits_at_once(void **state)
{
	struct fixture *f = *state;
	struct quiet q = { .dir = f->dir };

	open_store(&q, false, 0, 5 * NS); /* no commit for its interval: for its chunk */
	uint64_t fid = store_new_flow_id(q.s);
	struct flow_record fr = flow(fid);
	assert_int_equal(store_put_flow(q.s, &fr), 0);
	for (int k = 1; k <= 3; k++) {
		packet(&q, fid, 1000 * (uint64_t)k);
		/* ticks until the chunk's age, then the one that closes it */
		while (store_chunk_ageing(q.s))
			tick(&q);
		assert_int_equal(index_int(f->dir, "SELECT sum(packets) FROM chunks"), k);
		assert_false(store_wants_tick(q.s));
	}
	assert_int_equal(store_close(q.s), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM chunks"), 3);
}

static void test_large_age_close_to_writer(void **state)
{
	struct fixture *f = *state;
	struct quiet q = { .dir = f->dir };

	/* chunks of 4 MiB, so that 1 s of this load closes by its age; a commit interval that
	 * does not end at that tick */
	open_store(&q, false, 4u << 20, 5 * NS);
	uint64_t fid = store_new_flow_id(q.s);
	struct flow_record fr = flow(fid);
	assert_int_equal(store_put_flow(q.s, &fr), 0);
	packets_1400(&q, fid, 1000, 1000); /* 1.4 MB */
	while (store_chunk_ageing(q.s))
		tick(&q);
	/* with the writer's thread: not committed by the closing tick, but by a tick after it
	 * that collects it (the writer's time is real time: a tick every 5 ms of it) */
	assert_true(store_wants_tick(q.s));
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM chunks"), 0);
	for (int i = 0; index_int(f->dir, "SELECT count(*) FROM chunks") == 0; i++) {
		assert_true(i < 2000);
		usleep(5000);
		tick(&q);
	}
	assert_int_equal(index_int(f->dir, "SELECT sum(packets) FROM chunks"), 1000);
	assert_int_equal(store_close(q.s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_quiet, tmp_store_setup, tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_age_close_commits_at_once, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_large_age_close_to_writer, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
