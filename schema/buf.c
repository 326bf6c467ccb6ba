// SPDX-License-Identifier: GPL-2.0-only
/* buf.c - the growable byte buffer of buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>

int buf_reserve(struct buf *b, size_t more)
{
	if (more <= b->cap - b->len)
		return 0;
	if (more > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	size_t want = b->len + more;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	int err = buf_reserve(b, n);
	if (err)
		return err;
	if (p)
		memcpy(b->data + b->len, p, n);
	else
		memset(b->data + b->len, 0, n);
	b->len += n;
	return 0;
}

int buf_pad4(struct buf *b)
{
	size_t pad = (4 - (b->len & 3)) & 3;
	return pad ? buf_append(b, NULL, pad) : 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
