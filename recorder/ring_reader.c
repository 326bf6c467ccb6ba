// SPDX-License-Identifier: GPL-2.0-only
/*
 * ring_reader.c - a BPF ring buffer's records taken in order (ring_reader.h).
 *
 * The kernel's layout (kernel/bpf/ringbuf.c): the map's first page holds the consumer position
 * (the reader writes it), the second the producer position, then the data area twice, so that a
 * record that wraps reads as one piece. Both positions are byte counts that only grow; a
 * record sits at position & (size - 1) behind an 8-byte header whose first u32 is its length
 * with BPF_RINGBUF_BUSY_BIT set while it is written and BPF_RINGBUF_DISCARD_BIT set when it
 * was dropped; records start on 8-byte boundaries. The producer moves its position when it
 * reserves, before the record is written: a busy header is where the committed ones end.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring_reader.h"

/* The part of the second copy of the data read at open: records that wrap run into it by at
 * most one record's length (the capture program's largest is ECAP_CAP_MAX plus its header). */
#define WRAP_WARM (128u * 1024)

static size_t record_step(uint32_t len)
{
	return ((size_t)len + BPF_RINGBUF_HDR_SZ + 7) & ~(size_t)7;
}

void ring_reader_attach(struct ring_reader *r, unsigned long *consumer,
			const unsigned long *producer, const uint8_t *data, size_t data_size,
			ring_reader_fn fn, void *ctx)
{
	*r = (struct ring_reader){
		.consumer = consumer, .producer = producer, .data = data,
		.mask = data_size - 1, .fn = fn, .ctx = ctx,
	};
}

int ring_reader_open(struct ring_reader *r, int map_fd, size_t data_size, ring_reader_fn fn,
		     void *ctx)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t warm;
	void *c, *p;

	*r = (struct ring_reader){ 0 };
	if (page <= 0 || data_size < (size_t)page || (data_size & (data_size - 1)) ||
	    data_size > (SIZE_MAX - (size_t)page) / 2)
		return -EINVAL;
	c = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (c == MAP_FAILED)
		return -errno;
	p = mmap(NULL, (size_t)page + 2 * data_size, PROT_READ, MAP_SHARED, map_fd, page);
	if (p == MAP_FAILED) {
		int rc = -errno;

		munmap(c, (size_t)page);
		return rc;
	}
	ring_reader_attach(r, c, p, (const uint8_t *)p + page, data_size, fn, ctx);
	r->map_cons = c;
	r->map_prod = p;
	r->cons_len = (size_t)page;
	r->prod_len = (size_t)page + 2 * data_size;
	/* the first access to each page, made here rather than in the first lap */
	warm = data_size + (data_size < WRAP_WARM ? data_size : WRAP_WARM);
	for (size_t off = 0; off < warm; off += (size_t)page)
		(void)*(volatile const uint8_t *)(r->data + off);
	return 0;
}

int64_t ring_reader_consume(struct ring_reader *r)
{
	unsigned long cons, prod, stored;
	int64_t n = 0;
	bool more;

	if (!r->consumer)
		return 0;
	cons = stored = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
	do {
		more = false;
		prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
		if (prod - cons > r->mask + 1 && cons < prod) {
			/* more than the ring holds: positions the kernel cannot have made (the
			 * records behind them would be read lap after lap) */
			r->unframed += prod - cons;
			cons = prod;
		}
		while (cons < prod) {
			const uint8_t *hdr = r->data + (cons & r->mask);
			uint32_t len = __atomic_load_n((const uint32_t *)hdr, __ATOMIC_ACQUIRE);
			uint32_t size = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT |
							  BPF_RINGBUF_DISCARD_BIT);
			size_t step = record_step(size);

			if (len & BPF_RINGBUF_BUSY_BIT)
				goto out;
			if (step > r->mask + 1 || step > prod - cons) {
				/* no record is that long: nothing behind it can be framed */
				r->unframed += prod - cons;
				cons = prod;
				break;
			}
			cons += step;
			more = true;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				int rc = r->fn(r->ctx, (void *)(hdr + BPF_RINGBUF_HDR_SZ), size);

				if (rc < 0) {
					__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
					return rc;
				}
				n++;
			}
			if (cons - stored >= RING_READER_STORE_BYTES) {
				/* room for the producer within a long pass */
				__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
				stored = cons;
			}
		}
		if (cons != stored) {
			__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
			stored = cons;
		}
		/* the store before the next read of the producer position: a record committed
		 * after that read saw the consumer at its own position, and woke us */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	} while (more);
out:
	if (cons != stored)
		__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
	return n;
}

void ring_reader_close(struct ring_reader *r)
{
	if (r->map_cons)
		munmap(r->map_cons, r->cons_len);
	if (r->map_prod)
		munmap(r->map_prod, r->prod_len);
	*r = (struct ring_reader){ 0 };
}
