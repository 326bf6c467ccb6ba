// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_direct_faults.c - the writer's direct (O_DIRECT) writes when the system answers
 * badly. The test is linked with -Wl,--wrap=pwrite64, so every pwrite of the store library
 * passes through __wrap_pwrite64 below, which upsets those made on an O_DIRECT descriptor:
 * interrupted (EINTR), short by whole pages, short by a part of a page, refused (EINVAL: an
 * alignment the file system did not report), and a full disk (ENOSPC). Each store must hold
 * the same chunks, byte for byte, as one written through the page cache (or, on the full
 * disk, lose only the refused chunk's packets and pass fsck); the direct writes add padding
 * frames between them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "chunk_writer.h"
#include "noise_store.h"
#include "store.h"
#include "tmp_store.h"

enum fault { NONE, EINTR_EVERY_3RD, SHORT_PAGES, SHORT_PART, REFUSE_3RD, NO_SPACE_4TH, COUNT };

static enum fault fault;
static unsigned long direct_calls, faults;
/* COUNT: the writes to segment files through the page cache (no O_DIRECT) */
static unsigned long buffered_calls;

static bool is_segment(int fd)
{
	char path[64], name[256];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, name, sizeof(name) - 1);
	if (n < 0)
		return false;
	name[n] = 0;
	return strstr(name, "/seg-") != NULL;
}

ssize_t __real_pwrite64(int fd, const void *p, size_t n, off_t off);
ssize_t __wrap_pwrite64(int fd, const void *p, size_t n, off_t off);

ssize_t __wrap_pwrite64(int fd, const void *p, size_t n, off_t off)
{
	int fl = fcntl(fd, F_GETFL);
	if (fault == COUNT && fl >= 0 && !(fl & O_DIRECT) && is_segment(fd))
		buffered_calls++;
	if (fl < 0 || !(fl & O_DIRECT) || fault == NONE)
		return __real_pwrite64(fd, p, n, off);
	direct_calls++;
	switch (fault) {
	case EINTR_EVERY_3RD:
		if (direct_calls % 3 == 0) {
			faults++;
			errno = EINTR;
			return -1;
		}
		break;
	case SHORT_PAGES:
		if (n > 2 * CHUNK_WRITER_DIO_ALIGN && direct_calls % 2 == 0) {
			faults++;
			return __real_pwrite64(fd, p, CHUNK_WRITER_DIO_ALIGN, off);
		}
		break;
	case SHORT_PART:
		if (n > 2 * CHUNK_WRITER_DIO_ALIGN && direct_calls % 2 == 0) {
			/* 5000 bytes land (through a buffered descriptor: a direct write could not
			 * end there), the caller must write the rest without O_DIRECT */
			char path[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			int b = open(path, O_WRONLY | O_CLOEXEC);
			assert_true(b >= 0);
			ssize_t k = __real_pwrite64(b, p, 5000, off);
			close(b);
			faults++;
			return k;
		}
		break;
	case REFUSE_3RD:
		if (direct_calls == 3) {
			faults++;
			errno = EINVAL;
			return -1;
		}
		break;
	case NO_SPACE_4TH:
		if (direct_calls == 4) {
			faults++;
			errno = ENOSPC;
			return -1;
		}
		break;
	case NONE:
	case COUNT:
		break;
	}
	return __real_pwrite64(fd, p, n, off);
}

/* Writes the noise store under fault into f->dir, and a buffered one beside it. */
static void write_pair(struct fixture *f, enum fault how, struct store_stats *direct,
		       char *other, size_t other_len)
{
	struct store_options o;
	struct store_stats buffered;
	unsetenv("ECAP_BUFFERED_WRITES");
	snprintf(other, other_len, "%s-buf", f->dir);
	fault = NONE;
	noise_store_options(&o, true);
	noise_store_write(other, &o, &buffered);
	fault = how;
	direct_calls = faults = 0;
	noise_store_options(&o, false);
	o.drop_when_full = how == NO_SPACE_4TH;
	noise_store_write(f->dir, &o, direct);
	fault = NONE;
	if (direct_calls == 0) {
		fprintf(stderr, "direct I/O is not offered under /tmp: nothing to upset\n");
		skip();
	}
	assert_true(faults > 0);
}

static void remove_dir(const char *dir)
{
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void same_as_buffered(struct fixture *f, enum fault how)
{
	char other[sizeof(f->dir) + 8];
	struct store_stats st;
	write_pair(f, how, &st, other, sizeof(other));
	assert_int_equal(st.packets, NOISE_PACKETS);
	assert_int_equal(st.packets_lost, 0);
	size_t pads, pads_buffered;
	size_t chunks = noise_same_chunks(f->dir, other, &pads, &pads_buffered);
	assert_true(chunks >= 10);
	assert_int_equal(pads_buffered, 0);
	/* each chunk written directly is padded, also one the file system refused midway */
	assert_true(pads > 0 && pads <= chunks);
	if (how != REFUSE_3RD)
		assert_int_equal(pads, chunks);
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(store_fsck(f->dir, devnull), 0);
	fclose(devnull);
	remove_dir(other);
}

static void test_interrupted(void **state)
{
	same_as_buffered(*state, EINTR_EVERY_3RD);
}

static void test_short_by_pages(void **state)
{
	same_as_buffered(*state, SHORT_PAGES);
}

static void test_short_by_part_of_a_page(void **state)
{
	same_as_buffered(*state, SHORT_PART);
}

/* Refused once: the rest of that chunk and every later one go through the page cache. */
static void test_refused(void **state)
{
	same_as_buffered(*state, REFUSE_3RD);
	assert_int_equal(direct_calls, 3);
}

/* A full disk under a direct write, live recording (drop_when_full): that chunk's packets
 * are lost and counted, the others kept, the store consistent. */
static void test_no_space(void **state)
{
	struct fixture *f = *state;
	char other[sizeof(f->dir) + 8];
	struct store_stats st;
	write_pair(f, NO_SPACE_4TH, &st, other, sizeof(other));
	remove_dir(other);
	assert_true(st.packets_lost > 0);
	assert_int_equal(st.packets + st.packets_lost, NOISE_PACKETS);
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(store_fsck(f->dir, devnull), 0);
	fclose(devnull);
	struct store *s;
	struct store_stats rd;
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_get_stats(s, &rd), 0);
	assert_int_equal(rd.packets, st.packets);
	store_close(s);
}

/* Small chunks one after the other (as the recorder's chunk of a second): each goes to the
 * disk with one direct write of whole pages, its padding frame included, and none through
 * the page cache, so the commit's fdatasync has no page of it to write back. The store is
 * written in three sessions: the first through the page cache (a segment as an older ecap
 * or ECAP_BUFFERED_WRITES leaves it, ending inside a page), whose next writer writes the
 * partial first page of its first chunk through the page cache once, then directly. */
static void test_small_chunks_end_on_a_page(void **state)
{
	struct fixture *f = *state;
	char other[sizeof(f->dir) + 8];
	struct store_options o;
	struct store_stats direct, buffered, first, second;
	const uint32_t cut1 = 3001, cut2 = 14001;
	unsetenv("ECAP_BUFFERED_WRITES");
	snprintf(other, sizeof(other), "%s-buf", f->dir);
	fault = NONE;
	noise_store_options(&o, true);
	o.chunk_bytes = 40000;
	noise_store_write_range(other, &o, &buffered, 0, cut1);
	noise_store_write_range(other, &o, &buffered, cut1, cut2);
	noise_store_write_range(other, &o, &buffered, cut2, NOISE_PACKETS);
	noise_store_write_range(f->dir, &o, &first, 0, cut1);
	fault = COUNT;
	direct_calls = buffered_calls = 0;
	noise_store_options(&o, false);
	o.chunk_bytes = 40000;
	noise_store_write_range(f->dir, &o, &second, cut1, cut2);
	unsigned long second_buffered = buffered_calls;
	noise_store_write_range(f->dir, &o, &direct, cut2, NOISE_PACKETS);
	direct.chunks += second.chunks;
	fault = NONE;
	if (direct_calls == 0) {
		fprintf(stderr, "direct I/O is not offered under /tmp: nothing to count\n");
		skip();
	}
	assert_true(direct.chunks > 500);
	/* the partial first page of the first chunk after the buffered session, then nothing */
	assert_int_equal(second_buffered, 1);
	assert_int_equal(buffered_calls, 1);
	/* one direct write a chunk (each under the 2 MiB staging buffer) */
	assert_int_equal(direct_calls, direct.chunks);
	assert_true(direct.bytes_padding > 0);
	assert_true(direct.bytes_padding < direct.chunks * (CHUNK_WRITER_DIO_ALIGN + 8));
	assert_int_equal(direct.bytes_direct, direct.bytes_stored + direct.bytes_padding);
	size_t pads, pads_buffered;
	assert_int_equal(noise_same_chunks(f->dir, other, &pads, &pads_buffered),
			 first.chunks + direct.chunks);
	assert_int_equal(pads, direct.chunks);
	assert_int_equal(pads_buffered, 0);
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(store_fsck(f->dir, devnull), 0);
	fclose(devnull);
	remove_dir(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_interrupted, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_short_by_pages, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_short_by_part_of_a_page, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_refused, tmp_store_setup, tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_no_space, tmp_store_setup, tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_small_chunks_end_on_a_page,
						tmp_store_setup, tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
