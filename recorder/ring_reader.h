/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ring_reader.h - a reader of one BPF ring buffer (BPF_MAP_TYPE_RINGBUF) of our own, for the
 * packets ring, in place of libbpf 1.1's ring_buffer__consume().
 *
 * It takes records as libbpf does: in order from the consumer position, each record's 8-byte
 * header (its length, a busy bit while the producer writes it, a discard bit) read with acquire
 * order; a busy record ends the pass (the records before it are taken); a discarded one is
 * stepped over; a record that runs past the end of the data area is read whole through its
 * second mapping; a callback's negative return ends the pass with the consumer past that record,
 * and is returned. What differs:
 *
 * - The consumer position is stored once per pass (and every RING_READER_STORE_BYTES within a
 *   long one), not after each record: the producer reads that cache line at each reservation,
 *   so each store is a line taken back from the other CPU (about 30 records a TLS session).
 * - Every page of the data area is read once when the reader opens: on the VMs measured the
 *   first access to each page of the mapping cost 1.8-2.6 us (the host's shadow page table),
 *   4,096 pages for the default 16 MiB ring, all in a fresh recorder's first lap.
 * - A header whose length cannot be a record (longer than the ring, or past the producer
 *   position) is not followed: everything up to the producer position is counted as lost and
 *   stepped over, as the bytes behind it cannot be framed. So are positions further apart
 *   than the ring is long (the kernel never reserves past the consumer's position plus the
 *   ring's size): followed, they read the same bytes lap after lap, 2^61 records at most.
 *
 * The wake-ups the producer decides stay libbpf's: a record submitted without flags wakes the
 * reader when the consumer position it reads equals the record's own, which the store at the
 * end of each pass gives; a fence after that store orders it before the producer position is
 * read again, so a record committed meanwhile is either seen by the next look or wakes us.
 */
#ifndef ECAP_RING_READER_H
#define ECAP_RING_READER_H

#include <stddef.h>
#include <stdint.h>

/* Bytes taken between two stores of the consumer position within one pass. */
#define RING_READER_STORE_BYTES (64u * 1024)

/* As libbpf's ring_buffer_sample_fn: data is the record's body, size its length. A negative
 * return ends the pass. */
typedef int (*ring_reader_fn)(void *ctx, void *data, size_t size);

struct ring_reader {
	unsigned long *consumer;       /* NULL: not open */
	const unsigned long *producer;
	const uint8_t *data;           /* the data area, mapped twice in a row */
	size_t mask;                   /* its size - 1 (a power of two) */
	ring_reader_fn fn;
	void *ctx;
	uint64_t unframed;             /* bytes stepped over after a header that made no sense */
	void *map_cons, *map_prod;     /* ring_reader_open's mappings (NULL: attached) */
	size_t cons_len, prod_len;
};

/* Opens the ring behind map_fd (a BPF_MAP_TYPE_RINGBUF of data_size bytes): maps its consumer
 * page read-write and its producer page and data read-only, as libbpf does, and reads each
 * page of the data once. 0 or a negative errno. */
int ring_reader_open(struct ring_reader *r, int map_fd, size_t data_size, ring_reader_fn fn,
		     void *ctx);
/* The same over memory laid out by someone else (the unit tests): data holds data_size bytes
 * (a power of two, at least 8) followed by the same bytes again. */
void ring_reader_attach(struct ring_reader *r, unsigned long *consumer,
			const unsigned long *producer, const uint8_t *data, size_t data_size,
			ring_reader_fn fn, void *ctx);
/* Takes every committed record that waits: the number handed to fn, or fn's negative
 * return. */
int64_t ring_reader_consume(struct ring_reader *r);
void ring_reader_close(struct ring_reader *r);

#endif
