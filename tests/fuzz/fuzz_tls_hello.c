// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_tls_hello.c - libFuzzer target for the ClientHello parser (recorder/tls_hello.c):
 * tls_hello_parse() on the input (after its first byte) as the start of a client's stream,
 * then the same bytes fed
 * through tls_hello_feed() as TCP segments whose boundaries, sequence numbers and captured
 * lengths come from the input (retransmissions, gaps, overlaps, a pool of two buffers), so
 * that the reassembly must agree with the one-piece parse.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tls_hello_pool *pool;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t random[32], random2[32];
	if (!pool && tls_hello_pool_new(2, &pool))
		abort();

	/* the first byte steers the segmentation; the rest is the stream, which is parsed in
	 * one piece first (in a buffer of exactly its size) */
	if (size < 1)
		return 0;
	uint8_t steer = data[0];
	size_t len = size - 1;
	uint8_t *stream = malloc(len ? len : 1);
	if (!stream)
		return 0;
	memcpy(stream, data + 1, len);
	int whole = tls_hello_parse(stream, len, random);
	if (whole != 1 && whole != 0 && whole != -EINVAL)
		abort();

	struct tls_hello_state st;
	tls_hello_init(&st);
	uint32_t isn = 0xfffffff0u + steer % 32; /* sequence numbers that wrap */
	tls_hello_syn(&st, isn);
	size_t off = 0;
	int found = 0;
	unsigned step = 1 + steer % 7;
	while (off < len && !found && !tls_hello_done(&st)) {
		size_t n = step + (stream[off] & 7);
		if (n > len - off)
			n = len - off;
		uint32_t seq = isn + 1 + (uint32_t)off;
		if (steer & 0x80) { /* resend from the byte before, overlapping this segment */
			size_t back = off ? 1 : 0;
			found = tls_hello_feed(&st, pool, seq - (uint32_t)back, stream + off - back,
					       (uint32_t)n, (uint32_t)n, random2);
		}
		if (!found && !tls_hello_done(&st))
			found = tls_hello_feed(&st, pool, seq, stream + off, (uint32_t)n, (uint32_t)n,
					       random2);
		off += n;
	}
	tls_hello_release(&st, pool);
	/* a random found by reassembly must be the one the one-piece parse finds */
	if (found == 1 && tls_hello_parse(stream, len, random) == 1 && memcmp(random, random2, 32))
		abort();
	free(stream);
	return 0;
}
