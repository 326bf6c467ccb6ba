// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_segment_pad.c - the padding frames that end each chunk written with direct I/O on a
 * page boundary (chunkmeta.c specifies them): their bytes, that an LZ4 frame decoder skips
 * them, that every walk over a segment (fsck, the seal's digest, recovery) steps over them,
 * that a padding frame damaged in its length (so that it would cover the next chunk) or in
 * its zeros is reported and hides nothing, and that one cut short by a crash is a torn tail
 * whose chunk is kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunk_writer.h"
#include "index.h"
#include "index_sql.h"
#include "le.h"
#include "noise_store.h"
#include "seal_check.h"
#include "segment.h"
#include "store.h"
#include "tmp_store.h"

#define PAD_PACKETS 3000u

/* A store of about 100 chunks of 40 KB in 1 MiB segments, written directly (skipped where
 * /tmp offers no direct I/O: nothing would be padded). */
static void write_padded(struct fixture *f, struct store_stats *ws)
{
	struct store_options o;
	unsetenv("ECAP_BUFFERED_WRITES");
	noise_store_options(&o, false);
	o.chunk_bytes = 40000;
	o.segment_bytes = 1u << 20;
	noise_store_write_range(f->dir, &o, ws, 0, PAD_PACKETS);
	if (ws->bytes_direct == 0) {
		fprintf(stderr, "direct I/O is not offered under /tmp: no padding to test\n");
		skip();
	}
}

static char *seg_path(const struct fixture *f, uint32_t id, char *out, size_t len)
{
	snprintf(out, len, "%s/seg-%08u.ecap", f->dir, id);
	return out;
}

static int fsck_report(const char *dir, char **report)
{
	size_t len = 0;
	FILE *mem = open_memstream(report, &len);
	int problems = store_fsck(dir, mem);
	fclose(mem);
	return problems;
}

/* Where the padding frame after the chunk at index row k (in id order) of segment 1 starts,
 * and its length; and the offset of the next chunk. */
static void pad_after(const char *dir, int k, uint64_t *at, uint32_t *len, uint64_t *next)
{
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT offset + length FROM chunks WHERE segment = 1 ORDER BY "
		 "id LIMIT 1 OFFSET %d", k);
	*at = (uint64_t)index_int(dir, sql);
	snprintf(sql, sizeof(sql), "SELECT offset FROM chunks WHERE segment = 1 ORDER BY id LIMIT 1 "
		 "OFFSET %d", k + 1);
	*next = (uint64_t)index_int(dir, sql);
	*len = segment_pad_len(*at);
	assert_int_equal(*at + *len, *next);
}

/* A padded store written (write_padded), its first segment opened for writing: a padding
 * frame in it with more than its header (at, len) and the chunk after it (next). */
static int padded_segment(struct fixture *f, uint64_t *at, uint32_t *len, uint64_t *next)
{
	struct store_stats ws;
	char p[160];
	write_padded(f, &ws);
	pad_after(f->dir, 2, at, len, next);
	if (*len < 9)
		pad_after(f->dir, 4, at, len, next);
	int fd = open(seg_path(f, 1, p, sizeof(p)), O_RDWR);
	assert_true(fd >= 0);
	return fd;
}

/* Every start offset gets a frame of 8..4103 bytes that ends on a page boundary; a gap
 * under the 8-byte header takes the next page too; LZ4's frame decoder skips the frame. */
static void test_pad_frame(void **state)
{
	(void)state;
	for (uint64_t at = 0; at < 3 * SEGMENT_PAD_ALIGN; at++) {
		uint32_t len = segment_pad_len(at);
		assert_true(len >= 8 && len <= SEGMENT_PAD_MAX);
		assert_int_equal((at + len) % SEGMENT_PAD_ALIGN, 0);
		assert_true(len < 8 + SEGMENT_PAD_ALIGN);
	}
	assert_int_equal(segment_pad_len(4088), 8);
	assert_int_equal(segment_pad_len(4089), 4103);
	assert_int_equal(segment_pad_len(8192), 4096);

	/* a padding frame, then an LZ4 frame of some text: LZ4F gives the text alone */
	uint8_t in[SEGMENT_PAD_MAX + 256], out[64];
	uint32_t plen = segment_pad_len(100);
	segment_pad_fill(in, plen);
	assert_int_equal(le32_load(in), 0x184D2A5Fu);
	assert_int_equal(le32_load(in + 4), plen - 8);
	const char text[] = "after the padding";
	size_t flen = LZ4F_compressFrame(in + plen, sizeof(in) - plen, text, sizeof(text), NULL);
	assert_false(LZ4F_isError(flen));
	LZ4F_dctx *d;
	assert_false(LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)));
	size_t got = 0, pos = 0;
	while (pos < plen + flen) {
		size_t o = sizeof(out) - got, i = plen + flen - pos;
		size_t r = LZ4F_decompress(d, out + got, &o, in + pos, &i, NULL);
		assert_false(LZ4F_isError(r));
		got += o;
		pos += i;
		if (r == 0 && pos == plen + flen)
			break;
	}
	LZ4F_freeDecompressionContext(d);
	assert_int_equal(got, sizeof(text));
	assert_memory_equal(out, text, sizeof(text));
}

/* A store written directly: each chunk ends on a page boundary, its padding frame after it;
 * fsck finds nothing wrong, and every seal's digest (which has an element for each padding
 * frame) matches a walk over its segment. */
static void test_walks_step_over_padding(void **state)
{
	struct fixture *f = *state;
	struct store_stats ws;
	write_padded(f, &ws);
	size_t len, chunks, pads;
	free(noise_chunk_bytes(f->dir, &len, &chunks, &pads));
	assert_true(chunks >= 50);
	assert_int_equal(chunks, ws.chunks);
	assert_int_equal(pads, chunks);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM chunks WHERE offset % 4096"), 0);
	/* the index's segment ends count the padding (where the next chunk will start) */
	char p[160];
	struct stat st;
	assert_int_equal(stat(seg_path(f, 1, p, sizeof(p)), &st), 0);
	assert_int_equal(index_int(f->dir, "SELECT bytes FROM segments WHERE id = 1"), st.st_size);
	assert_int_equal(st.st_size % 4096, 0);
	char *report = NULL;
	assert_int_equal(fsck_report(f->dir, &report), 0);
	free(report);
	assert_true(check_chain(f->dir, NULL) >= 2);
	/* the blocks allocated ahead (chunk_writer.c): the segment being written has them past
	 * its end, each sealed one gave them back */
	uint32_t last = (uint32_t)index_int(f->dir, "SELECT max(id) FROM segments");
	for (uint32_t id = 1; id <= last; id++) {
		assert_int_equal(stat(seg_path(f, id, p, sizeof(p)), &st), 0);
		uint64_t disk = (uint64_t)st.st_blocks * 512;
		if (id < last) /* an extent block aside */
			assert_true(disk < (uint64_t)st.st_size + 64 * 1024);
		else
			assert_true(disk >= (uint64_t)st.st_size + 64 * 1024);
	}
}

/* What this process has read: bytes (rchar of /proc/self/io) and read system calls (syscr),
 * this read of /proc included. */
struct reads {
	long long bytes, calls;
};

static struct reads reads_now(void)
{
	char text[512];
	int fd = open("/proc/self/io", O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = 0;
	struct reads r = { -1, -1 };
	assert_int_equal(sscanf(text, "rchar: %lld wchar: %*d syscr: %lld", &r.bytes, &r.calls), 2);
	return r;
}

/* The reads segment_read_pad(fd, at) makes, and its answer in *ret. */
static struct reads reads_of_pad(int fd, uint64_t at, uint64_t size, long *ret)
{
	const char *why;
	struct reads q0 = reads_now(), q1 = reads_now(); /* two reads of /proc alone */
	struct reads r0 = reads_now();
	*ret = segment_read_pad(fd, at, size, &why);
	struct reads r1 = reads_now();
	return (struct reads){ r1.bytes - r0.bytes - (q1.bytes - q0.bytes),
			       r1.calls - r0.calls - (q1.calls - q0.calls) };
}

/* Where a chunk starts after a padding frame (on a page boundary), the question "padding
 * here?" reads the frame's 8-byte header alone, not the 4103 bytes a padding frame may take
 * (every walk asks it at every chunk); where a chunk ends, a padding frame is read whole, in
 * one system call, and checked. */
static void test_chunk_start_reads_its_header(void **state)
{
	struct fixture *f = *state;
	uint64_t at, next;
	uint32_t len;
	int fd = padded_segment(f, &at, &len, &next);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	long ret;
	assert_int_equal(next % SEGMENT_PAD_ALIGN, 0);
	struct reads chunk = reads_of_pad(fd, next, (uint64_t)st.st_size, &ret);
	assert_int_equal(ret, 0);
	struct reads pad = reads_of_pad(fd, at, (uint64_t)st.st_size, &ret);
	assert_int_equal(ret, (long)len);
	close(fd);
	/* a few bytes either way: /proc/self/io's numbers may gain a digit between reads */
	assert_true(chunk.bytes >= 4 && chunk.bytes <= 8 + 4);
	assert_int_equal(chunk.calls, 1);
	assert_true(pad.bytes >= len - 4 && pad.bytes <= len + 4);
	assert_int_equal(pad.calls, at % SEGMENT_PAD_ALIGN ? 1 : 2);
}

/* A padding frame whose length word says one page more (it would cover the next chunk's
 * first page): fsck reports it at its offset and still finds the chunk after it; the seal's
 * walk makes it a gap, so the sealed segment's digest no longer matches; the index rebuilt
 * from the segments has every chunk. */
static void test_damaged_length_hides_nothing(void **state)
{
	struct fixture *f = *state;
	uint64_t at, next;
	uint32_t len;
	int fd = padded_segment(f, &at, &len, &next);
	uint8_t w[4];
	le32_store(w, len - 8 + SEGMENT_PAD_ALIGN);
	assert_int_equal(pwrite(fd, w, 4, (off_t)at + 4), 4);
	const char *why;
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(segment_read_pad(fd, at, (uint64_t)st.st_size, &why), -EBADMSG);
	assert_non_null(strstr(why, "4 KiB boundary"));
	/* what recovery and fsck do after damage: look for the next chunk */
	assert_int_equal(segment_resync(fd, at + 1, (uint64_t)st.st_size), next);

	struct seal_acc a = { 0 };
	struct seal_walk sw;
	assert_int_equal(seal_acc_begin(&a, 1), 0);
	assert_int_equal(seal_acc_file(&a, fd, 0, (uint64_t)st.st_size, &sw), 0);
	seal_acc_free(&a);
	close(fd);
	assert_int_equal(sw.gaps, 1);
	assert_int_equal(sw.first_bad_off, at);
	assert_int_equal(sw.chunks, (uint64_t)index_int(f->dir, "SELECT count(*) FROM chunks "
							  "WHERE segment = 1"));

	char *report = NULL;
	assert_int_equal(fsck_report(f->dir, &report), 1);
	char want[64];
	snprintf(want, sizeof(want), "offset %llu: padding frame", (unsigned long long)at);
	assert_non_null(strstr(report, want));
	free(report);

	int64_t before = index_int(f->dir, "SELECT count(*) FROM chunks");
	assert_int_equal(store_rebuild(f->dir, NULL, false), 0);
	assert_int_equal(index_int(f->dir, "SELECT count(*) FROM chunks"), before);
}

/* A byte of a padding frame's zeros changed: every answer is the same (every chunk reads,
 * all packets), but fsck reports the frame and the sealed segment's digest differs (the
 * seal's walk makes the frame a gap): detected, and irrelevant to what the store answers. */
static void test_changed_zero_detected(void **state)
{
	struct fixture *f = *state;
	uint64_t at, next;
	uint32_t len;
	int fd = padded_segment(f, &at, &len, &next);
	uint8_t b = 0x40;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)(at + len - 1)), 1);
	close(fd);

	char *report = NULL;
	assert_int_equal(fsck_report(f->dir, &report), 1);
	assert_non_null(strstr(report, "padding frame holds a byte other than zero"));
	free(report);

	struct seal_chain c;
	int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(seal_chain_read(dfd, &c), 0);
	assert_true(c.n >= 1 && c.v[0].segment == 1);
	fd = openat(dfd, "seg-00000001.ecap", O_RDONLY);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	struct seal_acc a = { 0 };
	struct seal_walk sw;
	uint8_t d[32];
	assert_int_equal(seal_acc_begin(&a, 1), 0);
	assert_int_equal(seal_acc_file(&a, fd, 0, (uint64_t)st.st_size, &sw), 0);
	assert_int_equal(seal_acc_digest(&a, d), 0);
	seal_acc_free(&a);
	assert_int_equal((uint64_t)st.st_size, c.v[0].seg_len);
	assert_memory_not_equal(d, c.v[0].digest, 32);
	assert_int_equal(sw.gaps, 1);
	close(fd);
	close(dfd);
	seal_chain_free(&c);

	struct store *s;
	struct chunk_list cl = { 0 };
	uint64_t pkts = 0;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, NULL, &cl), 0);
	for (size_t i = 0; i < cl.n; i++) {
		struct chunk_view *v;
		assert_int_equal(store_chunk_open(s, &cl.v[i], &v), 0);
		struct ecap_packet pk;
		while (chunk_view_next(v, &pk) == 1)
			pkts++;
		chunk_view_close(v);
	}
	chunk_list_free(&cl);
	store_close(s);
	assert_int_equal(pkts, PAD_PACKETS);
}

/* A crash in the middle of a chunk's padding frame (the file ends inside it): the next
 * writer keeps the chunk (its bytes are whole), cuts the torn padding, and goes on; the
 * store then passes fsck and holds every packet written. */
static void test_torn_padding(void **state)
{
	struct fixture *f = *state;
	struct store_stats ws;
	write_padded(f, &ws);
	uint32_t last = (uint32_t)index_int(f->dir, "SELECT max(id) FROM segments");
	char sql[320], p[160];
	snprintf(sql, sizeof(sql), "SELECT max(offset + length) FROM chunks WHERE segment = %u",
		 last);
	uint64_t end = (uint64_t)index_int(f->dir, sql);
	uint32_t len = segment_pad_len(end);
	seg_path(f, last, p, sizeof(p));
	assert_int_equal(truncate(p, (off_t)(end + len / 2 > end + 4 ? end + len / 2 : end + 4)),
			 0);
	/* and the index row of the last chunk lost, as a crash before the commit leaves it */
	snprintf(sql, sizeof(sql), "UPDATE segments SET bytes = (SELECT offset FROM chunks WHERE "
		 "id = (SELECT max(id) FROM chunks)) WHERE id = %u; DELETE FROM chunks WHERE id = "
		 "(SELECT max(id) FROM chunks)", last);
	index_exec(f->dir, sql);

	struct store_options o;
	struct store_stats more;
	noise_store_options(&o, false);
	o.chunk_bytes = 40000;
	o.segment_bytes = 1u << 20;
	noise_store_write_range(f->dir, &o, &more, PAD_PACKETS, PAD_PACKETS + 500);
	char *report = NULL;
	assert_int_equal(fsck_report(f->dir, &report), 0);
	free(report);
	struct store *s;
	struct store_stats rd;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &rd), 0);
	store_close(s);
	assert_int_equal(rd.packets, PAD_PACKETS + 500);
	assert_true(check_chain(f->dir, NULL) >= 2);
}

/* A store that holds padding frames is of index schema 12 or later, which the builds before
 * the padding refuse (they would call each padding frame damage); one last written at 11
 * becomes 12 when this build's writer, or a reader while no writer holds it, opens it again,
 * and answers as before. */
static void test_padded_store_schema(void **state)
{
	struct fixture *f = *state;
	struct store_stats ws, before, after;
	struct store *s;
	write_padded(f, &ws);
	assert_true(index_int(f->dir, "PRAGMA user_version") >= INDEX_VERSION_SEGMENT_PADDING);
	assert_true(INDEX_VERSION_SEGMENT_PADDING > 11);
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &before), 0);
	store_close(s);
	index_exec(f->dir, "PRAGMA user_version = 11");
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &after), 0);
	store_close(s);
	assert_int_equal(after.packets, before.packets);
	assert_int_equal(after.chunks, before.chunks);
	assert_int_equal(index_int(f->dir, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	char *report = NULL;
	assert_int_equal(fsck_report(f->dir, &report), 0);
	free(report);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pad_frame),
		cmocka_unit_test_setup_teardown(test_walks_step_over_padding, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_chunk_start_reads_its_header, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_length_hides_nothing, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_changed_zero_detected, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_torn_padding, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_padded_store_schema, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
