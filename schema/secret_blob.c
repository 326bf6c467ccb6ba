// SPDX-License-Identifier: GPL-2.0-only
/*
 * secret_blob.c - encoding and decoding of a TLS session's secrets in one index row
 * (secret_blob.h gives the format).
 */
#include "secret_blob.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int cmp_label(const void *a, const void *b)
{
	const struct tls_secret *x = *(const struct tls_secret *const *)a;
	const struct tls_secret *y = *(const struct tls_secret *const *)b;
	return strcmp(x->label, y->label);
}

#define COUNT_MAX 16 /* secrets of a session counted without sorting them (a handful) */

/* The entries that secret_blob_encode would make of v[0..n), n <= COUNT_MAX, counted in the
 * order given: a label's first secret makes its entry when it is valid, and the label's later
 * secrets never do (the sort is stable). Labels are told apart by their length and first
 * eight bytes before their bytes are compared: a TLS 1.3 session's five differ there. */
static unsigned count_entries(const struct tls_secret *const *v, size_t n)
{
	size_t len[COUNT_MAX];
	uint64_t head[COUNT_MAX];
	unsigned count = 0;
	for (size_t i = 0; i < n; i++) {
		const char *label = v[i]->label;
		len[i] = strnlen(label, ECAP_LABEL_MAX - 1);
		char h[8] = { 0 };
		memcpy(h, label, len[i] < 8 ? len[i] : 8);
		memcpy(&head[i], h, 8);
		bool again = false;
		for (size_t j = 0; j < i && !again; j++)
			again = len[j] == len[i] && head[j] == head[i] &&
				!memcmp(v[j]->label, label, len[i]);
		if (!again && len[i] && v[i]->secret_len && v[i]->secret_len <= ECAP_SECRET_MAX)
			count++;
	}
	return count;
}

int secret_blob_encode(struct buf *b, const struct tls_secret *const *v, size_t n,
		       unsigned *count)
{
	const struct tls_secret *sorted[16], **p = sorted;
	*count = 0;
	if (!b && n <= COUNT_MAX) {
		*count = count_entries(v, n);
		return 0;
	}
	if (n > sizeof(sorted) / sizeof(sorted[0]) && !(p = malloc(n * sizeof(*p))))
		return -ENOMEM;
	memcpy(p, v, n * sizeof(*p));
	/* insertion sort: n is a handful, and being stable it keeps the first of a label first */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && cmp_label(&p[j - 1], &p[j]) > 0; j--) {
			const struct tls_secret *t = p[j];
			p[j] = p[j - 1];
			p[j - 1] = t;
		}
	int err = 0;
	for (size_t i = 0; i < n && !err; i++) {
		const struct tls_secret *s = p[i];
		size_t ll = strnlen(s->label, ECAP_LABEL_MAX - 1);
		if (i && !strcmp(p[i - 1]->label, s->label))
			continue;
		if (!ll || !s->secret_len || s->secret_len > ECAP_SECRET_MAX)
			continue;
		++*count;
		if (!b)
			continue;
		if ((err = buf_reserve(b, 2 + ll + s->secret_len)))
			break;
		uint8_t l8 = (uint8_t)ll;
		buf_put(b, &l8, 1);
		buf_put(b, s->label, ll);
		buf_put(b, &s->secret_len, 1);
		buf_put(b, s->secret, s->secret_len);
	}
	if (p != sorted)
		free(p);
	return err;
}

int secret_blob_next(const uint8_t *blob, size_t len, size_t *off, struct tls_secret *sec)
{
	size_t o = *off;
	if (o >= len)
		return 0;
	size_t ll = blob[o];
	if (!ll || ll > ECAP_LABEL_MAX - 1 || len - o < 1 + ll + 1)
		return -EBADMSG;
	size_t sl = blob[o + 1 + ll];
	if (!sl || sl > ECAP_SECRET_MAX || len - o - 2 - ll < sl)
		return -EBADMSG;
	memcpy(sec->label, blob + o + 1, ll);
	sec->label[ll] = 0;
	sec->secret_len = (uint8_t)sl;
	memcpy(sec->secret, blob + o + 2 + ll, sl);
	*off = o + 2 + ll + sl;
	return 1;
}

int secret_blob_has(const uint8_t *blob, size_t len, const char *label)
{
	struct tls_secret sec;
	size_t off = 0;
	while (secret_blob_next(blob, len, &off, &sec) == 1)
		if (!strcmp(sec.label, label))
			return 1;
	return 0;
}
