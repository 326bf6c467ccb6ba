// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ring_reader.c - recorder/ring_reader.c over a ring laid out as the kernel lays a BPF ring
 * buffer out (a data area mapped twice in a row, the two positions apart), with this file as
 * the producer (reserve: header busy, producer position moved; commit: the busy bit cleared,
 * or the discard bit set). Records come whole and in order, discarded ones are stepped over, a
 * busy one ends the pass and is taken by the next, records that wrap (one larger than the rest
 * of the data area too) read as one piece, a callback's error ends the pass past its record,
 * the consumer position is stored once per pass (and within a long pass every
 * RING_READER_STORE_BYTES), a header no record can have is not followed, nor positions
 * further apart than the ring is long, and a producer on
 * another thread racing the reader through many laps loses nothing and repeats nothing.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "ring_reader.h"

struct fake {
	unsigned long cons __attribute__((aligned(64)));
	unsigned long prod __attribute__((aligned(64)));
	uint8_t *data;
	size_t size;
};

/* A data area of size bytes mapped twice in a row, as the kernel maps a ring's. */
static void fake_open(struct fake *f, size_t size, unsigned long start)
{
	int fd = memfd_create("ring", 0);
	uint8_t *base;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	base = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(base != MAP_FAILED);
	assert_true(mmap(base, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == base);
	assert_true(mmap(base + size, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    base + size);
	close(fd);
	f->data = base;
	f->size = size;
	f->cons = f->prod = start;
}

static void fake_close(struct fake *f)
{
	munmap(f->data, 2 * f->size);
}

static size_t step_of(uint32_t len)
{
	return ((size_t)len + BPF_RINGBUF_HDR_SZ + 7) & ~(size_t)7;
}

/* Reserves a record of len bytes at *prod (the producer's own copy of its position): its
 * header busy, the shared position moved. NULL when the ring has no room. */
static uint8_t *reserve(struct fake *f, unsigned long *prod, uint32_t len)
{
	size_t step = step_of(len);
	uint8_t *h;

	if (*prod + step - __atomic_load_n(&f->cons, __ATOMIC_ACQUIRE) > f->size)
		return NULL;
	h = f->data + (*prod & (f->size - 1));
	__atomic_store_n((uint32_t *)h, len | BPF_RINGBUF_BUSY_BIT, __ATOMIC_RELAXED);
	*prod += step;
	__atomic_store_n(&f->prod, *prod, __ATOMIC_RELEASE);
	return h + BPF_RINGBUF_HDR_SZ;
}

static void commit(uint8_t *body, bool discard)
{
	uint32_t *h = (uint32_t *)(body - BPF_RINGBUF_HDR_SZ);
	uint32_t len = __atomic_load_n(h, __ATOMIC_RELAXED) & ~(uint32_t)BPF_RINGBUF_BUSY_BIT;

	__atomic_store_n(h, len | (discard ? BPF_RINGBUF_DISCARD_BIT : 0), __ATOMIC_RELEASE);
}

/* A record of len bytes whose bytes follow from seq (each byte seq + i). */
static uint8_t *put(struct fake *f, uint32_t len, uint32_t seq, bool discard, bool keep_busy)
{
	uint8_t *b = reserve(f, &f->prod, len);

	assert_non_null(b);
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seq + i);
	if (!keep_busy)
		commit(b, discard);
	return b;
}

struct seen {
	struct fake *f;
	uint32_t n, seq[64], len[64];
	unsigned long cons_in_fn[64];
	int fail_at;          /* the callback's number (from 1) that returns -EIO; 0: none */
};

/* The callback: checks each record's bytes against its first (its seq) and notes it. */
static int on_record(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	const uint8_t *b = data;

	assert_true(size > 0);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(b[i], (uint8_t)(b[0] + i));
	if (s->n < 64) {
		s->seq[s->n] = b[0];
		s->len[s->n] = (uint32_t)size;
		s->cons_in_fn[s->n] = __atomic_load_n(&s->f->cons, __ATOMIC_ACQUIRE);
	}
	s->n++;
	return s->fail_at && s->n == (uint32_t)s->fail_at ? -EIO : 0;
}

static void test_in_order_discard_busy(void **state)
{
	struct fake f;
	struct seen s = { .f = &f };
	struct ring_reader r;
	uint8_t *busy;
	unsigned long start;

	(void)state;
	fake_open(&f, 64 * 1024, 0);
	ring_reader_attach(&r, &f.cons, &f.prod, f.data, f.size, on_record, &s);
	assert_int_equal(ring_reader_consume(&r), 0);
	put(&f, 10, 1, false, false);
	put(&f, 17, 2, true, false);  /* discarded: never handed over */
	put(&f, 64, 3, false, false);
	busy = put(&f, 5, 4, false, true);
	put(&f, 9, 5, false, false);   /* committed, but behind a busy one */
	start = f.cons;
	assert_int_equal(ring_reader_consume(&r), 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.seq[0], 1);
	assert_int_equal(s.len[0], 10);
	assert_int_equal(s.seq[1], 3);
	assert_int_equal(s.len[1], 64);
	/* stored once, at the end of the pass: the callbacks saw the position it started at */
	assert_int_equal(s.cons_in_fn[0], start);
	assert_int_equal(s.cons_in_fn[1], start);
	/* the consumer waits at the busy record */
	assert_int_equal(f.cons, step_of(10) + step_of(17) + step_of(64));
	assert_int_equal(ring_reader_consume(&r), 0);
	commit(busy, false);
	assert_int_equal(ring_reader_consume(&r), 2);
	assert_int_equal(s.seq[2], 4);
	assert_int_equal(s.seq[3], 5);
	assert_int_equal(f.cons, f.prod);
	fake_close(&f);
}

static void test_wrap_and_larger_than_rest(void **state)
{
	struct fake f;
	struct seen s = { .f = &f };
	struct ring_reader r;
	size_t size = 16 * 1024;

	(void)state;
	/* positions 40 bytes before the end of the data area, after many laps */
	fake_open(&f, size, 7 * size - 40);
	ring_reader_attach(&r, &f.cons, &f.prod, f.data, f.size, on_record, &s);
	put(&f, 100, 10, false, false);        /* its header at the end, its bytes past it */
	put(&f, 200, 20, false, false);
	assert_int_equal(ring_reader_consume(&r), 2);
	assert_int_equal(s.len[0], 100);
	assert_int_equal(s.len[1], 200);
	/* a record longer than what is left before the end: 12,000 bytes, 72 before it */
	f.cons = f.prod = 9 * size - 72;
	put(&f, 12000, 30, false, false);
	assert_int_equal(ring_reader_consume(&r), 1);
	assert_int_equal(s.seq[2], 30);
	assert_int_equal(s.len[2], 12000);
	assert_int_equal(f.cons, 9 * size - 72 + step_of(12000));
	fake_close(&f);
}

static void test_callback_error(void **state)
{
	struct fake f;
	struct seen s = { .f = &f, .fail_at = 2 };
	struct ring_reader r;

	(void)state;
	fake_open(&f, 16 * 1024, 0);
	ring_reader_attach(&r, &f.cons, &f.prod, f.data, f.size, on_record, &s);
	for (uint32_t i = 0; i < 4; i++)
		put(&f, 30, 40 + i, false, false);
	assert_int_equal(ring_reader_consume(&r), -EIO);
	/* past the record whose callback failed, as libbpf leaves it */
	assert_int_equal(f.cons, 2 * step_of(30));
	s.fail_at = 0;
	assert_int_equal(ring_reader_consume(&r), 2);
	assert_int_equal(s.seq[2], 42);
	assert_int_equal(s.seq[3], 43);
	fake_close(&f);
}

static void test_long_pass_stores(void **state)
{
	struct fake f;
	struct seen s = { .f = &f };
	struct ring_reader r;
	uint32_t len = 4000, n = 60; /* about 240 KB: three stores within the pass */

	(void)state;
	fake_open(&f, 256 * 1024, 0);
	ring_reader_attach(&r, &f.cons, &f.prod, f.data, f.size, on_record, &s);
	for (uint32_t i = 0; i < n; i++)
		put(&f, len, i, false, false);
	assert_int_equal(ring_reader_consume(&r), n);
	for (uint32_t i = 0; i < n; i++) {
		unsigned long at = i * step_of(len);
		/* the position the producer sees trails the reader by less than the step */
		assert_true(at - s.cons_in_fn[i] < RING_READER_STORE_BYTES);
	}
	assert_true(s.cons_in_fn[n - 1] > 0);
	assert_int_equal(f.cons, f.prod);
	fake_close(&f);
}

static void test_header_no_record_has(void **state)
{
	struct fake f;
	struct seen s = { .f = &f };
	struct ring_reader r;
	uint8_t *b;

	(void)state;
	fake_open(&f, 16 * 1024, 0);
	ring_reader_attach(&r, &f.cons, &f.prod, f.data, f.size, on_record, &s);
	put(&f, 20, 1, false, false);
	b = put(&f, 20, 2, false, false);
	put(&f, 20, 3, false, false);
	/* the second header claims more than the ring holds */
	__atomic_store_n((uint32_t *)(b - BPF_RINGBUF_HDR_SZ), 1u << 20, __ATOMIC_RELEASE);
	assert_int_equal(ring_reader_consume(&r), 1);
	assert_int_equal(r.unframed, 2 * step_of(20));
	assert_int_equal(f.cons, f.prod);
	/* and the ring goes on from there */
	put(&f, 20, 4, false, false);
	assert_int_equal(ring_reader_consume(&r), 1);
	assert_int_equal(s.seq[1], 4);
	fake_close(&f);
}

/* Positions further apart than the ring is long (the kernel's producer never gets there):
 * nothing is read lap after lap, everything up to the producer is counted as unframed. */
static void test_positions_past_ring(void **state)
{
	struct fake f;
	struct seen s = { .f = &f };
	struct ring_reader r;

	(void)state;
	fake_open(&f, 16 * 1024, 0);
	ring_reader_attach(&r, &f.cons, &f.prod, f.data, f.size, on_record, &s);
	put(&f, 20, 1, false, false);
	assert_int_equal(ring_reader_consume(&r), 1);
	/* the ring holds committed records all round; the producer position 2^40 bytes on */
	while (f.prod - f.cons + step_of(20) <= f.size)
		put(&f, 20, 2, false, false);
	f.prod = f.cons + (1ul << 40);
	assert_int_equal(ring_reader_consume(&r), 0);
	assert_int_equal(r.unframed, 1ul << 40);
	assert_int_equal(f.cons, f.prod);
	fake_close(&f);
}

/* ---- a producer on another thread ------------------------------------------------------- */

#define RACE_RECORDS 40000u

struct race {
	struct fake *f;
	uint32_t next, kept;  /* the reader's: the next number expected, records taken */
	bool bad;
};

static void *producer(void *arg)
{
	struct fake *f = arg;
	unsigned long prod = f->prod;
	uint32_t x = 12345;

	for (uint32_t i = 0; i < RACE_RECORDS; i++) {
		uint32_t len, k;
		uint8_t *b;
		bool discard;

		x = x * 1103515245u + 12345u;
		len = 8 + (x >> 8) % 3000;
		discard = (x >> 20) % 7 == 0;
		while (!(b = reserve(f, &prod, len)))
			; /* full: wait for the reader */
		memcpy(b, &i, 4);
		for (k = 4; k < len; k++)
			b[k] = (uint8_t)(i * 31 + k);
		commit(b, discard); /* a discarded one's number is never seen by the reader */
	}
	return NULL;
}

static int on_race(void *ctx, void *data, size_t size)
{
	struct race *rc = ctx;
	const uint8_t *b = data;
	uint32_t i;

	memcpy(&i, b, 4);
	/* in order, never twice: numbers only grow (discarded ones leave gaps) */
	if (i < rc->next || size < 8)
		rc->bad = true;
	for (size_t k = 4; k < size; k++)
		if (b[k] != (uint8_t)(i * 31 + k))
			rc->bad = true;
	rc->next = i + 1;
	rc->kept++;
	return 0;
}

static void test_racing_producer(void **state)
{
	struct fake f;
	struct race rc = { .f = &f };
	struct ring_reader r;
	pthread_t t;
	uint32_t x = 12345, want = 0;

	(void)state;
	for (uint32_t i = 0; i < RACE_RECORDS; i++) {
		x = x * 1103515245u + 12345u;
		want += (x >> 20) % 7 != 0;
	}
	fake_open(&f, 64 * 1024, 3 * 64 * 1024 - 8);
	ring_reader_attach(&r, &f.cons, &f.prod, f.data, f.size, on_race, &rc);
	assert_int_equal(pthread_create(&t, NULL, producer, &f), 0);
	while (rc.kept < want && !rc.bad)
		assert_true(ring_reader_consume(&r) >= 0);
	pthread_join(t, NULL);
	assert_false(rc.bad);
	assert_int_equal(rc.kept, want);
	assert_int_equal(ring_reader_consume(&r), 0);
	assert_int_equal(f.cons, f.prod);
	fake_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_discard_busy),
		cmocka_unit_test(test_wrap_and_larger_than_rest),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_long_pass_stores),
		cmocka_unit_test(test_header_no_record_has),
		cmocka_unit_test(test_positions_past_ring),
		cmocka_unit_test(test_racing_producer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
