/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_any_ring.h - one CPU's perf buffer of `-i any`, read in place (live_any_ring.c): its
 * records stay in the mapped ring until they are handed on, and its space is given back to
 * the kernel (data_tail) only behind records already handed on. That is what lets the merge
 * (live_any_merge.h) keep a CPU's youngest records for a later round without copying them:
 * the staging is the ring itself, and the memory the merge costs is none besides one scratch
 * record (a record that wraps round the ring's end is copied there to be read in one piece).
 *
 * The mapping, as perf_event_open(2) describes it and libbpf's perf_buffer__buffer() gives
 * it: a struct perf_event_mmap_page (data_head written by the kernel, data_tail by us), then
 * data_size bytes (a power of two) at data_offset, records at positions modulo data_size,
 * each a struct perf_event_header (type, misc, size: a multiple of 8 with the header) and its
 * body. PERF_RECORD_SAMPLE of a BPF output holds a u32 size then that many raw bytes (here a
 * struct ecap_any_event, whose first field is the timestamp, then the packet). Other records
 * (PERF_RECORD_LOST: losses the BPF program counted already) are stepped over.
 */
#ifndef ECAP_LIVE_ANY_RING_H
#define ECAP_LIVE_ANY_RING_H

#include <stddef.h>
#include <stdint.h>

/* A record's body is at most this (perf_event_header.size is 16 bits). */
#define LIVE_ANY_RING_RECORD_MAX 65536u

struct live_any_ring {
	struct perf_event_mmap_page *page;
	const uint8_t *data;
	uint64_t size;          /* data bytes, a power of two */
	uint64_t pos;           /* the next record not handed on */
	uint64_t end;           /* data_head as read at the round's start */
	uint64_t released;      /* data_tail as last written */
	uint64_t bad;           /* malformed records (and what was skipped after them) */
};

/* The ring mapped at base (its struct perf_event_mmap_page) with map_size data bytes;
 * -EINVAL when the page does not describe such a ring. */
int live_any_ring_init(struct live_any_ring *r, void *base, size_t map_size);
/* A round's start: the records the kernel has finished up to now. */
void live_any_ring_snapshot(struct live_any_ring *r);
/* The next sample up to the round's start, other records stepped over: 1 with its timestamp
 * and the bytes from it to that end, 0 none. */
int live_any_ring_next(struct live_any_ring *r, uint64_t *ts, uint64_t *held);
/* The raw bytes of the sample next() described, in one piece (in the ring, or copied into
 * scratch, LIVE_ANY_RING_RECORD_MAX bytes, when it wraps); -EBADMSG when its size does not
 * fit its record (counted in bad). Valid until live_any_ring_step(). */
int live_any_ring_sample(struct live_any_ring *r, uint8_t *scratch, const uint8_t **raw,
			 uint32_t *raw_size);
/* Past the sample; gives the space back when an eighth of the ring is behind us. */
void live_any_ring_step(struct live_any_ring *r);
/* Gives back all the space behind the records handed on. */
void live_any_ring_release(struct live_any_ring *r);

#endif
