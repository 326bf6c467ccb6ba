// SPDX-License-Identifier: GPL-2.0-only
/* idruns.c - the id runs of idruns.h (format there). */
#include "idruns.h"

#include <errno.h>

static void put_leb(struct buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		b->data[b->len++] = c | (v ? 0x80 : 0);
	} while (v);
}

int idruns_put(struct buf *b, uint64_t *next, uint64_t lo, uint64_t hi)
{
	int err = buf_reserve(b, 20);
	if (err)
		return err;
	put_leb(b, lo - *next);
	put_leb(b, hi - lo);
	*next = hi + 1;
	return 0;
}

int idruns_encode(struct buf *b, const uint64_t *ids, size_t n)
{
	uint64_t next = 0;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && ids[j] == ids[j - 1] + 1; j++)
			;
		int err = idruns_put(b, &next, ids[i], ids[j - 1]);
		if (err)
			return err;
	}
	return 0;
}

static int get_leb(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (*off >= len)
			return -EBADMSG;
		uint8_t c = p[(*off)++];
		if (shift == 63 && c > 1)
			return -EBADMSG;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -EBADMSG;
}

int idruns_next(const uint8_t *blob, size_t len, size_t *off, uint64_t *next, uint64_t *lo,
		uint64_t *hi)
{
	uint64_t gap, extra;
	if (*off >= len)
		return 0;
	if (get_leb(blob, len, off, &gap) || get_leb(blob, len, off, &extra) ||
	    gap > UINT64_MAX - *next || extra > UINT64_MAX - (*next + gap))
		return -EBADMSG;
	*lo = *next + gap;
	*hi = *lo + extra;
	if (*hi == UINT64_MAX)
		return -EBADMSG; /* no id after it: not one a store gives */
	*next = *hi + 1;
	return 1;
}
