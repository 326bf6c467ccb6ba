// SPDX-License-Identifier: GPL-2.0-only
/*
 * ring_pos.c - a BPF ring buffer's consumer and producer positions (ring_pos.h). The kernel
 * lays a ring's mapping out as one page holding the consumer position, one page holding the
 * producer position, then the data; both positions are unsigned longs that only grow. Only
 * the two position pages are mapped here, read-only.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring_pos.h"

int ring_pos_open(struct ring_pos *r, int map_fd)
{
	long page = sysconf(_SC_PAGESIZE);
	void *m;

	r->map = NULL;
	r->len = 0;
	if (page <= 0)
		return -EINVAL;
	m = mmap(NULL, 2 * (size_t)page, PROT_READ, MAP_SHARED, map_fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	r->map = m;
	r->len = 2 * (size_t)page;
	return 0;
}

bool ring_pos_waiting(const struct ring_pos *r)
{
	const unsigned long *cons, *prod;

	if (!r->map)
		return true;
	cons = r->map;
	prod = (const unsigned long *)((const char *)r->map + r->len / 2);
	return __atomic_load_n(prod, __ATOMIC_ACQUIRE) != __atomic_load_n(cons, __ATOMIC_ACQUIRE);
}

unsigned long ring_pos_taken(const struct ring_pos *r)
{
	return r->map ? __atomic_load_n((const unsigned long *)r->map, __ATOMIC_ACQUIRE) : 0;
}

void ring_pos_close(struct ring_pos *r)
{
	if (r->map)
		munmap(r->map, r->len);
	r->map = NULL;
	r->len = 0;
}
