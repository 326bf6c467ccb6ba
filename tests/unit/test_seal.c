// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_seal.c - seals (schema/seal.c, store_key.c, store_seal.c): a seal record round trip,
 * its signature failing for any altered byte and for another key, a record cut short read as
 * torn; the chunk metadata's integrity section, and a chunk without it (an older ecap's)
 * still decoding; a store written in two sessions (the open segment continued after a
 * close) whose every seal matches a walk over its segment file and links to the one before;
 * a torn seal record cut by the next writer; a crash after a seal was appended but before
 * the index marked the segment sealed: the segment is never appended to again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunkmeta.h"
#include "seal.h"
#include "segment.h"
#include "store.h"
#include "store_key.h"
#include "seal_check.h"
#include "tmp_store.h"

#define T0 (1764140400ull * 1000000000ull)

static int dir_fd(const char *dir)
{
	mkdir(dir, 0700);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void test_seal_record(void **state)
{
	struct fixture *f = *state;
	struct store_key k, other;
	bool created, differs;
	char msg[256];
	int dfd = dir_fd(f->dir);
	assert_int_equal(store_key_ensure(dfd, &k, &created, &differs, msg, sizeof(msg)), 0);
	assert_true(created);
	assert_false(differs);
	struct stat st;
	assert_int_equal(fstatat(dfd, STORE_KEY_NAME, &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	struct seal s = { .segment = 7, .index = 3, .seg_len = 12345, .first_chunk = 10,
			  .last_chunk = 20, .chunks = 11, .first_ns = T0, .last_ns = T0 + 5 };
	seal_fill_host(&s);
	memset(s.digest, 0x11, sizeof(s.digest));
	memset(s.prev, 0x22, sizeof(s.prev));
	struct buf b = { 0 };
	assert_int_equal(seal_encode(&s, &k, &b), 0);
	assert_int_equal(b.len, s.length);

	struct seal d;
	const char *why;
	assert_int_equal(seal_decode(b.data, b.len, &d, &why), (long)b.len);
	assert_int_equal(d.segment, 7);
	assert_int_equal(d.index, 3);
	assert_int_equal(d.seg_len, 12345);
	assert_int_equal(d.chunks, 11);
	assert_memory_equal(d.digest, s.digest, 32);
	assert_memory_equal(d.prev, s.prev, 32);
	assert_memory_equal(d.key_fp, k.fp, 32);
	assert_memory_equal(d.self, s.self, 32);
	assert_string_equal(d.host, s.host);
	assert_string_equal(d.boot_id, s.boot_id);
	assert_int_equal(seal_check_sig(&d, b.data, &k), 0);

	/* the key again, from its public file: it verifies too */
	assert_int_equal(store_key_load_public(dfd, STORE_PUB_NAME, &other, msg, sizeof(msg)), 0);
	assert_memory_equal(other.fp, k.fp, 32);
	assert_int_equal(seal_check_sig(&d, b.data, &other), 0);
	store_key_free(&other);

	/* every byte before the signature is signed, and the signature itself counts */
	for (size_t i = 0; i < b.len; i += 7) {
		b.data[i] ^= 0x40;
		long r = seal_decode(b.data, b.len, &d, &why);
		assert_true(r < 0 || seal_check_sig(&d, b.data, &k) == -EBADMSG);
		b.data[i] ^= 0x40;
	}
	/* cut short: torn, not damaged */
	assert_int_equal(seal_decode(b.data, b.len - 1, &d, &why), -ENODATA);
	assert_int_equal(seal_decode(b.data, 5, &d, &why), -ENODATA);

	/* another key does not verify it */
	unlinkat(dfd, STORE_KEY_NAME, 0);
	unlinkat(dfd, STORE_PUB_NAME, 0);
	assert_int_equal(store_key_ensure(dfd, &other, &created, &differs, msg, sizeof(msg)), 0);
	assert_true(created);
	assert_memory_not_equal(other.fp, k.fp, 32);
	assert_int_equal(seal_decode(b.data, b.len, &d, &why), (long)b.len);
	assert_int_equal(seal_check_sig(&d, b.data, &other), -EBADMSG);
	store_key_free(&other);
	store_key_free(&k);
	buf_free(&b);
	close(dfd);
}

static void test_chunk_integrity_section(void **state)
{
	(void)state;
	struct chunk_meta m = { 0 }, d = { 0 };
	struct buf b = { 0 };
	const char *why;
	m.id = 5;
	m.raw_len = 100;
	m.data_len = 50;
	assert_non_null(chunkmeta_push(&m, ifaces));
	/* an older chunk: no integrity section, still decodes, says it has no digest */
	assert_int_equal(chunkmeta_encode(&m, &b), 0);
	assert_true(chunkmeta_decode(b.data, b.len, &d, &why) > 0);
	assert_false(d.has_digest);
	/* with one */
	m.has_digest = true;
	memset(m.digest, 0x5c, sizeof(m.digest));
	snprintf(m.version, sizeof(m.version), "ecap 9.9");
	buf_reset(&b);
	assert_int_equal(chunkmeta_encode(&m, &b), 0);
	assert_true(chunkmeta_decode(b.data, b.len, &d, &why) > 0);
	assert_true(d.has_digest);
	assert_memory_equal(d.digest, m.digest, 32);
	assert_string_equal(d.version, "ecap 9.9");
	chunkmeta_free(&m);
	chunkmeta_free(&d);
	buf_free(&b);
}

static void write_packets(const char *dir, uint32_t first, uint32_t n)
{
	struct store_options o;
	store_options_default(&o);
	o.chunk_bytes = 4096;
	o.segment_bytes = 64 * 1024;
	o.quiet = true;
	struct store *s;
	assert_int_equal(store_open(dir, STORE_WRITE, &o, &s), 0);
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	uint32_t ifid;
	assert_int_equal(store_add_interface(s, &ifc, &ifid), 0);
	uint8_t data[300];
	for (uint32_t i = first; i < first + n; i++) {
		for (uint32_t j = 0; j < sizeof(data); j++)
			data[j] = (uint8_t)(i * 13 + j * j);
		struct ecap_packet p = { .ts_ns = T0 + i * 1000ull, .iface = ifid,
					 .caplen = 200, .origlen = 200, .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
	}
	assert_int_equal(store_close(s), 0);
}

static void test_seals_match_segments(void **state)
{
	struct fixture *f = *state;
	write_packets(f->dir, 0, 1500);
	size_t n1 = check_chain(f->dir, NULL);
	assert_true(n1 >= 2);
	/* a second session continues the open segment: its digest covers both sessions' chunks */
	write_packets(f->dir, 1500, 1500);
	size_t n2 = check_chain(f->dir, NULL);
	assert_true(n2 > n1);
}

static void chain_path(const struct fixture *f, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", f->dir, SEAL_CHAIN_NAME);
}

static void test_torn_seal_cut(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct stat st;
	write_packets(f->dir, 0, 1500);
	chain_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	off_t good = st.st_size;
	/* the start of a record that the crash cut: magic, then a length past the end */
	FILE *c = fopen(path, "ab");
	const uint8_t torn[12] = { 0x45, 0x53, 0x4c, 0x31, 0x40, 0x01, 0, 0, 1, 0, 0, 0 };
	fwrite(torn, 1, sizeof(torn), c);
	fclose(c);
	int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	struct seal_chain ch;
	assert_int_equal(seal_chain_read(dfd, &ch), 0);
	assert_true(ch.torn);
	assert_int_equal(ch.end, (size_t)good);
	seal_chain_free(&ch);
	close(dfd);
	write_packets(f->dir, 1500, 1500);
	check_chain(f->dir, NULL);
}

static void test_sealed_before_commit(void **state)
{
	struct fixture *f = *state;
	char path[160], ipath[160];
	write_packets(f->dir, 0, 1500);
	/* Make it as if the writer died right after appending the newest seal: that segment is
	 * the last file, and the index has not marked it sealed. */
	int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	struct seal_chain ch;
	assert_int_equal(seal_chain_read(dfd, &ch), 0);
	assert_true(ch.n >= 2);
	uint32_t last = ch.v[ch.n - 1].segment;
	seal_chain_free(&ch);
	close(dfd);
	sqlite3 *db;
	snprintf(ipath, sizeof(ipath), "%s/index.db", f->dir);
	assert_int_equal(sqlite3_open(ipath, &db), SQLITE_OK);
	char sql[200];
	for (uint32_t id = last + 1; id < last + 4; id++) {
		snprintf(path, sizeof(path), "%s/seg-%08u.ecap", f->dir, id);
		unlink(path);
		snprintf(sql, sizeof(sql), "DELETE FROM chunks WHERE segment = %u; DELETE FROM "
			 "segments WHERE id = %u;", id, id);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	snprintf(sql, sizeof(sql), "UPDATE segments SET sealed = 0 WHERE id = %u", last);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* the next writer follows the chain: a new segment, the sealed one left as it is */
	write_packets(f->dir, 1500, 1500);
	check_chain(f->dir, NULL);
	snprintf(path, sizeof(path), "%s/seg-%08u.ecap", f->dir, last + 1);
	assert_int_equal(access(path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seal_record, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test(test_chunk_integrity_section),
		cmocka_unit_test_setup_teardown(test_seals_match_segments, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_torn_seal_cut, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_sealed_before_commit, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
