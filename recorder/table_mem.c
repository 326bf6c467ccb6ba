// SPDX-License-Identifier: GPL-2.0-only
/*
 * table_mem.c - the recorder's table memory (table_mem.h).
 *
 * (calloc would give zero pages too, except under MALLOC_PERTURB_, which makes glibc write
 * every byte at start: a second of start-up in the test suite for the flow table's entries.)
 */
#include "table_mem.h"

#include "../schema/buf.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#define HUGE_PAGE (2u << 20)
#define HUGE_FROM (1u << 20)

size_t table_mem_bytes(size_t n, size_t size, bool hot)
{
	if (size && n > SIZE_MAX / size)
		return 0;
	size_t len = n * size;
	if (!hot || len < HUGE_FROM)
		return len;
	if (len > SIZE_MAX - HUGE_PAGE)
		return 0;
	return (len + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
}

void *table_mem_new(size_t n, size_t size, bool hot)
{
	size_t len = table_mem_bytes(n, size, hot);
	uint8_t *p, *a;

	if (len == 0) {
		errno = n && size ? ENOMEM : EINVAL;
		return NULL;
	}
	if (!hot || len < HUGE_FROM) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | (hot ? MAP_POPULATE : 0), -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	/* a 2 MiB boundary inside a mapping one huge page longer; the slack is returned */
	if (len > SIZE_MAX - HUGE_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + HUGE_PAGE > a)
		munmap(a + len, (size_t)(p + HUGE_PAGE - a));
	madvise(a, len, MADV_HUGEPAGE); /* a hint: refused, the pages are 4 KiB */
	mem_populate(a, len);
	return a;
}

void table_mem_free(void *p, size_t n, size_t size, bool hot)
{
	if (p)
		munmap(p, table_mem_bytes(n, size, hot));
}
