// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_any_ring.c - one CPU's perf buffer of -i any read in place (the format and why:
 * live_any_ring.h). The kernel is the only writer of the records, but they are still checked
 * against the ring: a record whose size is not a multiple of 8, is smaller than its header or
 * runs past what the kernel published ends what this round reads of the ring (counted in
 * bad; its space is given back), since nothing after it can be framed.
 *
 * Ordering with the kernel: data_head is read with acquire (the records before it are
 * complete), data_tail written with release (our reads of the records behind it are done
 * before the kernel may overwrite them).
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>

#include "live_any_ring.h"

/* header, then the u32 size of the raw bytes, then the timestamp they start with */
#define SAMPLE_RAW_AT (sizeof(struct perf_event_header) + sizeof(uint32_t))
#define SAMPLE_MIN (SAMPLE_RAW_AT + sizeof(uint64_t))

int live_any_ring_init(struct live_any_ring *r, void *base, size_t map_size)
{
	struct perf_event_mmap_page *page = base;

	memset(r, 0, sizeof(*r));
	if (!base || page->data_offset == 0 || page->data_size != map_size || map_size < 8 ||
	    (map_size & (map_size - 1)))
		return -EINVAL;
	r->page = page;
	r->data = (const uint8_t *)base + page->data_offset;
	r->size = map_size;
	r->pos = r->released = r->end = __atomic_load_n(&page->data_tail, __ATOMIC_RELAXED);
	return 0;
}

void live_any_ring_snapshot(struct live_any_ring *r)
{
	uint64_t head = __atomic_load_n(&r->page->data_head, __ATOMIC_ACQUIRE);

	if (head - r->released > r->size || head - r->pos > r->size) {
		/* not a head the kernel writes: read nothing, give everything back */
		r->bad++;
		r->pos = head;
	}
	r->end = head;
}

/* n bytes at ring position at, across the ring's end if need be */
static void copy_out(const struct live_any_ring *r, uint64_t at, void *dst, size_t n)
{
	size_t off = (size_t)(at & (r->size - 1)), first = r->size - off;

	if (first >= n) {
		memcpy(dst, r->data + off, n);
	} else {
		memcpy(dst, r->data + off, first);
		memcpy((uint8_t *)dst + first, r->data, n - first);
	}
}

int live_any_ring_next(struct live_any_ring *r, uint64_t *ts, uint64_t *held)
{
	struct perf_event_header h;

	while (r->pos != r->end) {
		/* records are 8-byte aligned and the ring a power of two: a header never wraps */
		memcpy(&h, r->data + (r->pos & (r->size - 1)), sizeof(h));
		if (h.size < sizeof(h) || (h.size & 7) || h.size > r->end - r->pos) {
			r->bad++;
			r->pos = r->end;
			return 0;
		}
		if (h.type == PERF_RECORD_SAMPLE && h.size >= SAMPLE_MIN) {
			copy_out(r, r->pos + SAMPLE_RAW_AT, ts, sizeof(*ts));
			*held = r->end - r->pos;
			return 1;
		}
		if (h.type == PERF_RECORD_SAMPLE)
			r->bad++;
		r->pos += h.size;
	}
	return 0;
}

int live_any_ring_sample(struct live_any_ring *r, uint8_t *scratch, const uint8_t **raw,
			 uint32_t *raw_size)
{
	struct perf_event_header h;
	size_t off = (size_t)(r->pos & (r->size - 1));
	uint32_t n;

	memcpy(&h, r->data + off, sizeof(h));
	copy_out(r, r->pos + sizeof(h), &n, sizeof(n));
	if (n > h.size - SAMPLE_RAW_AT) {
		r->bad++;
		return -EBADMSG;
	}
	if (off + SAMPLE_RAW_AT + n <= r->size) {
		*raw = r->data + off + SAMPLE_RAW_AT;
	} else {
		copy_out(r, r->pos + SAMPLE_RAW_AT, scratch, n);
		*raw = scratch;
	}
	*raw_size = n;
	return 0;
}

void live_any_ring_release(struct live_any_ring *r)
{
	if (r->pos == r->released)
		return;
	__atomic_store_n(&r->page->data_tail, r->pos, __ATOMIC_RELEASE);
	r->released = r->pos;
}

void live_any_ring_step(struct live_any_ring *r)
{
	struct perf_event_header h;

	memcpy(&h, r->data + (r->pos & (r->size - 1)), sizeof(h));
	r->pos += h.size;
	if (r->pos - r->released >= r->size / 8)
		live_any_ring_release(r);
}
