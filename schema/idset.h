/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * idset.h - a set of 64-bit ids (flow ids, chunk ids) as a sorted array: built by appending,
 * then sealed once with idset_seal(), then queried by binary search.
 */
#ifndef ECAP_IDSET_H
#define ECAP_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idset {
	uint64_t *ids;
	size_t n, cap;
};

int idset_add(struct idset *s, uint64_t id);
/* Sort and drop duplicates. */
void idset_seal(struct idset *s);
/* Only on a sealed set. */
bool idset_has(const struct idset *s, uint64_t id);
void idset_free(struct idset *s);

#endif
