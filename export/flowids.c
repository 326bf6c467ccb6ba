// SPDX-License-Identifier: GPL-2.0-only
/*
 * flowids.c - the --flow-ids list: decimal ids and ranges, parsed with every number and
 * count checked (it comes over SSH from another machine's query), and formatted compactly.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowids.h"

static int parse_id(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (INT64_MAX - 9) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (x == 0)
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}

int flowids_parse(const char *s, struct idset *out)
{
	uint64_t total = 0;
	for (;;) {
		uint64_t a, b;
		if (parse_id(&s, &a) < 0)
			return -EINVAL;
		b = a;
		if (*s == '-') {
			s++;
			if (parse_id(&s, &b) < 0 || b < a)
				return -EINVAL;
		}
		if (b - a >= FLOWIDS_MAX - total)
			return -EINVAL;
		total += b - a + 1;
		for (uint64_t id = a; id <= b; id++)
			if (idset_add(out, id) < 0)
				return -ENOMEM;
		if (*s == '\0')
			break;
		if (*s++ != ',')
			return -EINVAL;
	}
	idset_seal(out);
	return 0;
}

char *flowids_format(const struct idset *s)
{
	size_t cap = s->n * 22 + 1, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < s->n;) {
		size_t j = i;
		while (j + 1 < s->n && s->ids[j + 1] == s->ids[j] + 1)
			j++;
		if (j > i)
			len += (size_t)snprintf(out + len, cap - len, "%s%llu-%llu", len ? "," : "",
						(unsigned long long)s->ids[i],
						(unsigned long long)s->ids[j]);
		else
			len += (size_t)snprintf(out + len, cap - len, "%s%llu", len ? "," : "",
						(unsigned long long)s->ids[i]);
		i = j + 1;
	}
	return out;
}
