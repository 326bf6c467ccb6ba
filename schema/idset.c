// SPDX-License-Identifier: GPL-2.0-only
/* idset.c - the sorted id set of idset.h. */
#include "idset.h"

#include <errno.h>
#include <stdlib.h>

int idset_add(struct idset *s, uint64_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *p = realloc(s->ids, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->ids = p;
		s->cap = cap;
	}
	s->ids[s->n++] = id;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void idset_seal(struct idset *s)
{
	if (s->n < 2)
		return;
	qsort(s->ids, s->n, sizeof(*s->ids), cmp_u64);
	size_t w = 1;
	for (size_t r = 1; r < s->n; r++)
		if (s->ids[r] != s->ids[w - 1])
			s->ids[w++] = s->ids[r];
	s->n = w;
}

bool idset_has(const struct idset *s, uint64_t id)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ids[mid] < id)
			lo = mid + 1;
		else if (s->ids[mid] > id)
			hi = mid;
		else
			return true;
	}
	return false;
}

void idset_free(struct idset *s)
{
	free(s->ids);
	s->ids = NULL;
	s->n = s->cap = 0;
}
