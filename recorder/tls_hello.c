// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_hello.c - the ClientHello random finder (the format and the reassembly rules are in
 * tls_hello.h).
 *
 * The parser walks TLS record headers and copies the handshake bytes they carry into a
 * 39-byte window, checking each byte as soon as it is there, so a stream that is not TLS is
 * recognised on its first segment and never gets a buffer.
 */
#include "tls_hello.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../schema/le.h"

#define TLS_RECORD_HDR 5
#define TLS_RECORD_MAX (16384 + 2048)
#define TLS_CT_HANDSHAKE 22
#define TLS_HS_CLIENT_HELLO 1
/* handshake header 4, legacy_version 2, random 32, session id length 1 */
#define HS_NEED 39
#define HS_RANDOM_OFF 6
#define HS_MIN_LEN (2 + 32 + 1 + 2 + 2 + 1 + 1) /* version..compression, one suite/method */

struct tls_hello_pool {
	uint8_t **bufs;       /* [max], NULL until first used */
	uint16_t *free_stack; /* 1-based indices of free allocated buffers */
	unsigned n_free;
	unsigned n_alloc;     /* buffers allocated so far, always the first n_alloc */
	unsigned max;
	uint32_t *fill;       /* bytes held per buffer */
	uint64_t exhausted;
};

int tls_hello_pool_new(unsigned max_bufs, struct tls_hello_pool **out)
{
	if (max_bufs == 0 || max_bufs > 65535)
		return -EINVAL;
	struct tls_hello_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->bufs = calloc(max_bufs, sizeof(*pool->bufs));
	pool->free_stack = calloc(max_bufs, sizeof(*pool->free_stack));
	pool->fill = calloc(max_bufs, sizeof(*pool->fill));
	if (!pool->bufs || !pool->free_stack || !pool->fill) {
		tls_hello_pool_free(pool);
		return -ENOMEM;
	}
	pool->max = max_bufs;
	*out = pool;
	return 0;
}

void tls_hello_pool_free(struct tls_hello_pool *pool)
{
	if (!pool)
		return;
	if (pool->bufs)
		for (unsigned i = 0; i < pool->n_alloc; i++)
			free(pool->bufs[i]);
	free(pool->bufs);
	free(pool->free_stack);
	free(pool->fill);
	free(pool);
}

uint64_t tls_hello_pool_exhausted(const struct tls_hello_pool *pool)
{
	return pool->exhausted;
}

/* A buffer index (1-based), or 0 when none is left. */
static uint16_t pool_get(struct tls_hello_pool *pool)
{
	uint16_t idx;
	if (pool->n_free > 0) {
		idx = pool->free_stack[--pool->n_free];
	} else if (pool->n_alloc < pool->max) {
		uint8_t *b = malloc(TLS_HELLO_BUF);
		if (!b) {
			pool->exhausted++;
			return 0;
		}
		pool->bufs[pool->n_alloc++] = b;
		idx = (uint16_t)pool->n_alloc;
	} else {
		pool->exhausted++;
		return 0;
	}
	pool->fill[idx - 1] = 0;
	return idx;
}

static void pool_put(struct tls_hello_pool *pool, uint16_t idx)
{
	pool->free_stack[pool->n_free++] = idx;
}

/* Checks handshake byte i (just copied into hs); false when it rules out a ClientHello. */
static bool hs_byte_ok(const uint8_t *hs, size_t i)
{
	switch (i) {
	case 0:
		return hs[0] == TLS_HS_CLIENT_HELLO;
	case 3: {
		uint32_t hlen = (uint32_t)hs[1] << 16 | (uint32_t)hs[2] << 8 | hs[3];
		return hlen >= HS_MIN_LEN;
	}
	case 4:
		return hs[4] == 3;
	case 5:
		return hs[5] <= 4;
	case HS_NEED - 1:
		return hs[HS_NEED - 1] <= 32;
	default:
		return true;
	}
}

int tls_hello_parse(const uint8_t *p, size_t len, uint8_t random[32])
{
	uint8_t hs[HS_NEED];
	size_t have = 0;
	size_t off = 0;

	while (have < HS_NEED) {
		if (len - off < TLS_RECORD_HDR) {
			/* Check what there is of the next record header. */
			if (len > off && p[off] != TLS_CT_HANDSHAKE)
				return -EINVAL;
			if (len > off + 1 && p[off + 1] != 3)
				return -EINVAL;
			if (len > off + 2 && (p[off + 2] < 1 || p[off + 2] > 4))
				return -EINVAL;
			return 0;
		}
		uint16_t ver = be16_load(p + off + 1);
		uint16_t rlen = be16_load(p + off + 3);
		if (p[off] != TLS_CT_HANDSHAKE || ver < 0x0301 || ver > 0x0304 || rlen == 0 ||
		    rlen > TLS_RECORD_MAX)
			return -EINVAL;
		off += TLS_RECORD_HDR;
		size_t body = len - off < rlen ? len - off : rlen;
		for (size_t i = 0; i < body && have < HS_NEED; i++) {
			hs[have] = p[off + i];
			if (!hs_byte_ok(hs, have))
				return -EINVAL;
			have++;
		}
		if (body < rlen)
			break; /* the record continues beyond what we have */
		off += rlen;
	}
	if (have < HS_NEED)
		return 0;
	memcpy(random, hs + HS_RANDOM_OFF, 32);
	return 1;
}

void tls_hello_syn(struct tls_hello_state *st, uint32_t isn)
{
	if (st->phase != TLS_HELLO_START || st->buf)
		return;
	st->next_seq = isn + 1;
	st->has_seq = 1;
}

void tls_hello_release(struct tls_hello_state *st, struct tls_hello_pool *pool)
{
	if (st->buf) {
		pool_put(pool, st->buf);
		st->buf = 0;
	}
	st->phase = TLS_HELLO_DONE;
}

int tls_hello_feed(struct tls_hello_state *st, struct tls_hello_pool *pool, uint32_t seq,
		   const uint8_t *data, uint32_t len, uint32_t wire, uint8_t random[32])
{
	if (st->phase == TLS_HELLO_DONE || wire == 0)
		return 0;
	if (wire < len)
		wire = len;
	if (!st->has_seq) {
		/* The handshake was missed: take the first data we see as the stream start. */
		st->next_seq = seq;
		st->has_seq = 1;
	}
	int32_t delta = (int32_t)(seq - st->next_seq);
	if (delta > 0) {
		/* A gap (lost or reordered segment): give up rather than guess. */
		tls_hello_release(st, pool);
		return 0;
	}
	uint32_t skip = (uint32_t)-delta;
	if (skip >= wire)
		return 0; /* a retransmission of what we have */
	if (skip >= len) {
		/* New bytes exist on the wire but were not captured. */
		tls_hello_release(st, pool);
		return 0;
	}
	data += skip;
	len -= skip;
	wire -= skip;

	int r;
	if (st->phase == TLS_HELLO_START) {
		r = tls_hello_parse(data, len, random);
		if (r != 0 || len < wire) {
			st->phase = TLS_HELLO_DONE;
			return r == 1;
		}
		st->buf = pool_get(pool);
		if (!st->buf) {
			st->phase = TLS_HELLO_DONE;
			return 0;
		}
		st->phase = TLS_HELLO_GATHER;
	}
	uint8_t *b = pool->bufs[st->buf - 1];
	uint32_t *fill = &pool->fill[st->buf - 1];
	uint32_t room = TLS_HELLO_BUF - *fill;
	uint32_t take = len < room ? len : room;
	memcpy(b + *fill, data, take);
	*fill += take;
	st->next_seq += wire;
	r = tls_hello_parse(b, *fill, random);
	if (r != 0 || take < wire) {
		/* Found, not TLS, the buffer is full, or bytes are missing: done either way. */
		tls_hello_release(st, pool);
		return r == 1;
	}
	return 0;
}
