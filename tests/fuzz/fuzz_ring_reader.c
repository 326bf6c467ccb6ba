// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_ring_reader.c - libFuzzer target for the packets ring's reader (recorder/ring_reader.c):
 * whatever the ring's bytes and positions hold (headers of any length, busy and discard bits,
 * positions anywhere), the reader reads only inside the data area's two copies, hands each
 * record over whole (its body inside the mapping), never moves the consumer position past the
 * producer's, and ends: never a crash, a read outside the area or an endless loop.
 *
 * Input: u8 size (the data area is 8 << (size % 10) bytes), u64 consumer position, u64
 * distance to the producer position, u8 the callback's number that fails (0: none); the rest
 * fills the data area (zeros after it), laid twice in a row as the kernel maps a ring.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring_reader.h"

struct area {
	const uint8_t *base;
	size_t size; /* both copies */
	unsigned calls, fail_at;
	uint64_t sum;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct area *a = ctx;
	const uint8_t *b = data;

	if (b < a->base || size > a->size || (size_t)(b - a->base) > a->size - size)
		abort(); /* a body outside the mapping */
	for (size_t i = 0; i < size; i++) /* each byte read: AddressSanitizer sees the rest */
		a->sum += b[i];
	return ++a->calls == a->fail_at ? -EIO : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t len)
{
	unsigned long cons, prod;
	struct ring_reader r;
	struct area a = { 0 };
	uint64_t c, d;
	size_t size;
	uint8_t *data;
	int64_t n;

	if (len < 18)
		return 0;
	size = (size_t)8 << (in[0] % 10);
	memcpy(&c, in + 1, 8);
	memcpy(&d, in + 9, 8);
	a.fail_at = in[17];
	in += 18;
	len -= 18;
	data = calloc(2, size);
	if (!data)
		return 0;
	memcpy(data, in, len < size ? len : size);
	memcpy(data + size, data, size);
	cons = (unsigned long)c;
	prod = (unsigned long)(c + d);
	a.base = data;
	a.size = 2 * size;
	ring_reader_attach(&r, &cons, &prod, data, size, on_record, &a);
	n = ring_reader_consume(&r);
	if (n < 0 ? n != -EIO : (uint64_t)n != a.calls)
		abort(); /* neither the records handed over nor the callback's error */
	if (prod - c < cons - c)
		abort(); /* the consumer position went past the producer's */
	free(data);
	return 0;
}
