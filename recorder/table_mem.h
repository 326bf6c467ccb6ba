/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * table_mem.h - memory for the recorder's tables: zero pages straight from the kernel, and for
 * a table hit at random on the packet path (the flow buckets, the pending owners) made memory
 * at once, in 2 MiB pages where the kernel gives them.
 *
 * A lookup in such a table lands on a page of its own each time: with 4 KiB pages each one
 * also missed the TLB (a page walk, which in a virtual machine walks two tables), and the
 * tables together are larger than the TLB covers. Transparent huge pages (the usual
 * "madvise" mode) are asked for with MADV_HUGEPAGE on a mapping that starts on a 2 MiB
 * boundary and spans whole 2 MiB pages; where the kernel will not, the pages are 4 KiB, as
 * before. Nothing here runs per packet.
 */
#ifndef ECAP_TABLE_MEM_H
#define ECAP_TABLE_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* The size table_mem_new(n, size, true) maps: n * size, rounded up to whole 2 MiB pages from 1
 * MiB on (0: too large). */
size_t table_mem_bytes(size_t n, size_t size, bool hot);

/* n zeroed elements of size bytes, or NULL (errno set). hot: hit at random on the packet path:
 * made memory now, in 2 MiB pages from 1 MiB of table on. Otherwise the pages come as they are
 * first touched. */
void *table_mem_new(size_t n, size_t size, bool hot);
/* Frees what table_mem_new(n, size, hot) returned (NULL: nothing). */
void table_mem_free(void *p, size_t n, size_t size, bool hot);

#endif
