// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_seal_faults.c - seals when the disk is full. The test is linked with
 * -Wl,--wrap=pwrite64, so every pwrite of the store library passes through __wrap_pwrite64
 * below, which refuses (ENOSPC) the appends to the chain file it is told to. With
 * drop_when_full (live recording) the writer goes on and seals those segments late, in
 * order, before the next seal; without it, the writer fails and the next writer to open the
 * store seals the segment late. Either way the chain then checks whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "seal_check.h"
#include "store.h"
#include "tmp_store.h"

static unsigned refuse_chain; /* chain appends still to refuse */
static unsigned refused;

ssize_t __real_pwrite64(int fd, const void *p, size_t n, off_t off);
ssize_t __wrap_pwrite64(int fd, const void *p, size_t n, off_t off);

ssize_t __wrap_pwrite64(int fd, const void *p, size_t n, off_t off)
{
	char link[64], target[512];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t l = readlink(link, target, sizeof(target) - 1);
	if (refuse_chain && l > 0) {
		target[l] = 0;
		const char *slash = strrchr(target, '/');
		if (slash && !strcmp(slash + 1, SEAL_CHAIN_NAME)) {
			refuse_chain--;
			refused++;
			errno = ENOSPC;
			return -1;
		}
	}
	return __real_pwrite64(fd, p, n, off);
}

/* Writes n packets in small chunks and segments; the first append error is returned. */
static int write_packets(const char *dir, bool drop_when_full, uint32_t n)
{
	struct store_options o;
	store_options_default(&o);
	o.chunk_bytes = 4096;
	o.segment_bytes = 64 * 1024;
	o.quiet = true;
	o.drop_when_full = drop_when_full;
	struct store *s;
	assert_int_equal(store_open(dir, STORE_WRITE, &o, &s), 0);
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	uint32_t ifid;
	assert_int_equal(store_add_interface(s, &ifc, &ifid), 0);
	uint8_t data[200];
	int err = 0;
	for (uint32_t i = 0; i < n && !err; i++) {
		for (uint32_t j = 0; j < sizeof(data); j++)
			data[j] = (uint8_t)(i * 31 + j * j);
		struct ecap_packet p = { .ts_ns = 1764140400ull * 1000000000ull + i * 1000ull,
					 .iface = ifid, .caplen = 200, .origlen = 200,
					 .data = data };
		err = store_append_packet(s, &p);
	}
	int cerr = store_close(s);
	return err ? err : cerr;
}

static void test_full_disk_goes_on(void **state)
{
	struct fixture *f = *state;
	size_t late = 0;
	refused = 0;
	refuse_chain = 2;
	assert_int_equal(write_packets(f->dir, true, 3000), 0);
	assert_int_equal(refused, 2);
	size_t n = check_chain(f->dir, &late);
	assert_true(n >= 4);
	assert_int_equal(late, 2); /* the first two, sealed late before the third */
}

static void test_full_disk_stops_then_recovers(void **state)
{
	struct fixture *f = *state;
	size_t late = 0;
	refused = 0;
	refuse_chain = 1;
	assert_int_equal(write_packets(f->dir, false, 3000), -ENOSPC);
	assert_int_equal(refused, 1);
	/* the next writer seals what the failed one could not */
	assert_int_equal(write_packets(f->dir, false, 100), 0);
	check_chain(f->dir, &late);
	assert_int_equal(late, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_disk_goes_on, tmp_store_setup,
						tmp_store_teardown),
		cmocka_unit_test_setup_teardown(test_full_disk_stops_then_recovers, tmp_store_setup,
						tmp_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
