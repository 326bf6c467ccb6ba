// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_chunk_prepare.c - memory made before the packet path needs it (schema/buf.c,
 * schema/chunk.c): a prepared chunk builder fills a whole chunk (the store's chunk_bytes, and
 * the packet that takes it past them, of the largest size kept; a TLS secret every 2.8 KiB)
 * without moving its EPB buffer and with hardly a page fault of the thread (an unprepared one
 * takes one per 4 KiB); the EPBs and key log are the bytes an unprepared builder makes; buf_prepare() keeps what a buffer holds, gives
 * at least the room asked (whole 2 MiB pages from 1 MiB on) and never shrinks a buffer; and
 * mem_populate() leaves the pages of a fresh mapping resident and their bytes as they were.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "chunk.h"
#include "lz4blocks.h"
#include "page_faults.h"

#define MIB (1u << 20)
#define CHUNK_BYTES MIB
#define NS 1000000000ull
#define T0 (1764140400ull * NS)

/* Packets of 1,400 bytes of flows 1-64 until the chunk holds CHUNK_BYTES (as the store closes
 * it), the last one of the largest caplen a block keeps; the thread's page faults meanwhile. */
static long fill(struct chunk_builder *cb, const uint8_t *data, size_t big)
{
	static const struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	long before = page_faults();
	uint64_t i = 0;

	while (chunk_builder_raw_size(cb) < CHUNK_BYTES) {
		struct ecap_packet p = { .ts_ns = T0 + i, .caplen = 1400, .origlen = 1400,
					 .flags = 1, .data = data, .flow_id = 1 + i % 64 };
		if (chunk_builder_raw_size(cb) + 1500 >= CHUNK_BYTES)
			p.caplen = p.origlen = (uint32_t)big;
		assert_int_equal(chunk_builder_add_packet(cb, &p, &ifc), 0);
		if (i % 2 == 0) { /* a TLS 1.3 secret (SHA-384) a packet of 2.8 KiB */
			struct tls_secret sec = { .label = "CLIENT_TRAFFIC_SECRET_0",
						  .secret_len = 48 };
			memcpy(sec.client_random, &i, sizeof(i));
			memset(sec.secret, 0x3c, sizeof(sec.secret));
			assert_int_equal(chunk_builder_add_secret(cb, &sec), 0);
		}
		i++;
	}
	return page_faults() - before;
}

static void test_chunk_without_faults(void **state)
{
	(void)state;
	size_t big = LZ4BLOCKS_MAX - 64;
	uint8_t *data = malloc(big);
	assert_non_null(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i * 131 + 7);

	struct chunk_builder plain, ready;
	assert_int_equal(chunk_builder_init(&plain), 0);
	assert_int_equal(chunk_builder_init(&ready), 0);
	assert_int_equal(chunk_builder_prepare(&ready, CHUNK_BYTES), 0);
	uint8_t *at = ready.epbs.data;
	assert_true(ready.epbs.cap >= CHUNK_BYTES + LZ4BLOCKS_MAX);

	long plain_faults = fill(&plain, data, big);
	long ready_faults = fill(&ready, data, big);
	/* the flow bookkeeping's small arrays may still take a page or two */
	assert_true(!page_faults_checked() || ready_faults <= 8);
	/* what the preparation is for: about 300 here */
	assert_true(!page_faults_checked() || plain_faults >= 64);
	assert_ptr_equal(ready.epbs.data, at);
	assert_int_equal(ready.epbs.len, plain.epbs.len);
	assert_memory_equal(ready.epbs.data, plain.epbs.data, plain.epbs.len);
	assert_int_equal(ready.dsb_text.len, plain.dsb_text.len);
	assert_memory_equal(ready.dsb_text.data, plain.dsb_text.data, plain.dsb_text.len);
	assert_int_equal(ready.n_secrets, plain.n_secrets);

	/* a reset chunk fills the same memory again */
	chunk_builder_reset(&ready);
	long again = fill(&ready, data, big);
	assert_true(!page_faults_checked() || again <= 8);
	assert_ptr_equal(ready.epbs.data, at);

	chunk_builder_free(&plain);
	chunk_builder_free(&ready);
	free(data);
}

static void test_buf_prepare(void **state)
{
	(void)state;
	struct buf b = { 0 };
	assert_int_equal(buf_append(&b, "evidence", 8), 0);
	assert_int_equal(buf_prepare(&b, 5000), 0);
	assert_true(b.cap >= 5000);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "evidence", 8);

	/* from 1 MiB on: whole 2 MiB pages, on a 2 MiB boundary */
	assert_int_equal(buf_prepare(&b, MIB + 1), 0);
	assert_int_equal(b.cap, 2 * MIB);
	assert_int_equal((uintptr_t)b.data % (2 * MIB), 0);
	assert_memory_equal(b.data, "evidence", 8);
	uint8_t *at = b.data;

	/* never smaller, and no new memory when there is room */
	assert_int_equal(buf_prepare(&b, 4096), 0);
	assert_ptr_equal(b.data, at);
	assert_int_equal(b.cap, 2 * MIB);

	long before = page_faults();
	memset(b.data + b.len, 0x5a, b.cap - b.len);
	long taken = page_faults() - before;
	assert_true(!page_faults_checked() || taken <= 2);
	buf_free(&b);

	assert_int_equal(buf_prepare(&b, SIZE_MAX - 10), -ENOMEM);
	assert_null(b.data);
}

static void test_mem_populate(void **state)
{
	(void)state;
	size_t len = 64 * 4096;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	p[5 * 4096 + 3] = 0x77;

	/* from the middle of a page: the whole pages under it */
	mem_populate(p + 100, len - 100);
	long before = page_faults();
	for (size_t off = 0; off < len; off += 4096)
		p[off + 1] = 1;
	long taken = page_faults() - before;
	assert_true(!page_faults_checked() || taken <= 1);
	assert_int_equal(p[5 * 4096 + 3], 0x77);
	assert_int_equal(p[7 * 4096 + 3], 0);
	munmap(p, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_without_faults),
		cmocka_unit_test(test_buf_prepare),
		cmocka_unit_test(test_mem_populate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
