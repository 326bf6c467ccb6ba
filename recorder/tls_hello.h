/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls_hello.h - take the client_random out of the TLS ClientHello at the start of a TCP
 * stream, as the client sends it (side A to side B of a flow).
 *
 * Format (RFC 8446 5.1 and 4.1.2, RFC 5246 6.2.1 and 7.4.1.2): the stream starts with TLS
 * records, each a 5-byte header (content type 22 = handshake, legacy version 0x0301-0x0304,
 * 16-bit length 1..18432) and a body. The handshake messages are carried in the bodies,
 * possibly split over several records: a 4-byte header (type 1 = ClientHello, 24-bit length),
 * then legacy_version (0x0300-0x0304), the 32-byte random, the session id length (0..32).
 * Those first 39 handshake bytes are all this module needs and checks.
 *
 * The ClientHello may span TCP segments (a small MSS, or a large post-quantum key share in
 * front of nothing we need, or a test that splits it on purpose). A stream whose first
 * segment holds it whole is parsed in place; otherwise, while the bytes so far look like a
 * ClientHello, in-order segments (by sequence number) are gathered in a buffer from a bounded
 * pool; a gap, a byte that is not TLS, a full buffer or an empty pool ends the search for that
 * flow. Retransmissions and overlaps are handled by sequence arithmetic. Only the first
 * ClientHello of a flow is looked at (a HelloRetryRequest's second one repeats the random).
 */
#ifndef ECAP_TLS_HELLO_H
#define ECAP_TLS_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of stream gathered at most; 39 handshake bytes in records of at least 1 byte each
 * need at most 39 * 6, and real clients put them in the first record. */
#define TLS_HELLO_BUF 1024

enum tls_hello_phase {
	TLS_HELLO_START = 0, /* nothing seen from the client yet */
	TLS_HELLO_GATHER,    /* a buffer holds the stream's first bytes */
	TLS_HELLO_DONE,      /* found, or not TLS, or gave up */
};

/* Per-flow state: 8 bytes, no buffer until the stream looks like TLS. */
struct tls_hello_state {
	uint32_t next_seq;   /* sequence number of the next stream byte we need */
	uint16_t buf;        /* 1-based buffer index in the pool, 0: none */
	uint8_t phase;       /* enum tls_hello_phase */
	uint8_t has_seq;     /* next_seq is set (SYN or first payload seen) */
};

struct tls_hello_pool;

/* A pool of at most max_bufs buffers of TLS_HELLO_BUF bytes, allocated when first needed
 * and reused (max_bufs <= 65535). */
int tls_hello_pool_new(unsigned max_bufs, struct tls_hello_pool **out);
void tls_hello_pool_free(struct tls_hello_pool *pool);
/* Flows that gave up because every buffer was in use. */
uint64_t tls_hello_pool_exhausted(const struct tls_hello_pool *pool);

static inline void tls_hello_init(struct tls_hello_state *st)
{
	st->next_seq = 0;
	st->buf = 0;
	st->phase = TLS_HELLO_START;
	st->has_seq = 0;
}

static inline bool tls_hello_done(const struct tls_hello_state *st)
{
	return st->phase == TLS_HELLO_DONE;
}

/* The client's SYN, with its initial sequence number: the stream starts at isn + 1. */
void tls_hello_syn(struct tls_hello_state *st, uint32_t isn);

/*
 * A client-to-server TCP segment: seq, the captured payload data[0..len) and its length on
 * the wire (wire >= len; less was captured when the snap length cut it). Returns 1 with
 * random filled when the ClientHello's random is complete, else 0.
 */
int tls_hello_feed(struct tls_hello_state *st, struct tls_hello_pool *pool, uint32_t seq,
		   const uint8_t *data, uint32_t len, uint32_t wire, uint8_t random[32]);

/* Gives back the flow's buffer, if any (the flow ends). The state is DONE afterwards. */
void tls_hello_release(struct tls_hello_state *st, struct tls_hello_pool *pool);

/*
 * Parses the start of a client's stream. 1: a ClientHello, random filled; 0: all len bytes
 * are consistent with one but it is not complete yet; -EINVAL: not a TLS ClientHello.
 */
int tls_hello_parse(const uint8_t *p, size_t len, uint8_t random[32]);

#endif
