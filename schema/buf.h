/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * buf.h - a growable byte buffer.
 *
 * Used to build blocks and chunks in memory. Growth is geometric and overflow-checked, so
 * appending on a hot path allocates only when the buffer outgrows everything it held before.
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

/* Append without a capacity check: the caller reserved the room. */
static inline void buf_put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

#endif
