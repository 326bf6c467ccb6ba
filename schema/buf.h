/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * buf.h - a growable byte buffer.
 *
 * Used to build blocks and chunks in memory. Growth is geometric and overflow-checked, so
 * appending on a hot path allocates only when the buffer outgrows everything it held before;
 * buf_prepare() makes the room, and mem_populate() any memory, resident ahead of a hot path.
 */
#ifndef ECAP_BUF_H
#define ECAP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Make room for at least `more` further bytes. 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t more);
/* Append n bytes (or n zero bytes when p is NULL). 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);
/* Append zero bytes up to the next multiple of 4. */
int buf_pad4(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Room for cap bytes in all, made memory now (in 2 MiB pages from 1 MiB on, where the kernel
 * gives them), so that filling the buffer later takes no page fault; what it holds is kept.
 * For a buffer refilled on a hot path after each reset (a chunk's EPBs). 0 or -ENOMEM. */
int buf_prepare(struct buf *b, size_t cap);

/* The pages of [p, p + len) made memory now: one madvise(MADV_POPULATE_WRITE) where the kernel
 * has it (5.14 on), then a read of each page, else a write to each page. A page fault costs
 * far more than its share of one call (13 us against 1 us a page on the development VM), and
 * there the first access to a page made memory still costs 6-9 us (its host's shadow page
 * table): the read pays that here too, not on the hot path that first touches it. */
void mem_populate(void *p, size_t len);

/* Append without a capacity check: the caller reserved the room. */
static inline void buf_put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

#endif
