/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proc_maps_query.h - a process's executable file mappings through the PROCMAP_QUERY ioctl on
 * its open /proc/PID/maps (Linux 6.11+): the kernel hands over one mapping at a time, as
 * numbers, without writing the text of every line (the path of each mapping, which is most of
 * the cost of reading maps), and the name only of a mapping it is asked about. The rescans of
 * live_keylog.c ask this way for the name of a file they have not looked at yet only, and read
 * every process's mappings this way where the BPF iterator of maps_iter.h cannot run.
 *
 * What the kernel returns is taken within bounds: a name must fit the caller's buffer and end
 * in a NUL, and a mapping must move forward (end > start, past the last one).
 */
#ifndef ECAP_PROC_MAPS_QUERY_H
#define ECAP_PROC_MAPS_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "proc_maps.h"

/*
 * The next executable file-backed mapping at or after *addr (0 to begin) of the process whose
 * /proc/PID/maps is open on fd, into *m (start, end, offset, device, inode, perms; path NULL),
 * and *addr past it. Returns 1, 0 when there is none left, -ENOTTY when this kernel has no
 * PROCMAP_QUERY (read the text instead), or another -errno.
 */
int proc_maps_query_exec(int fd, uint64_t *addr, struct proc_maps_line *m);

/*
 * The name of the mapping that covers addr (its file's path as the process sees it, " (deleted)"
 * appended when the file was removed), NUL-terminated in name[len]. Returns 0, or -errno
 * (-ENOENT: no mapping there any more, -ENAMETOOLONG or -E2BIG: a longer name than len).
 */
int proc_maps_query_name(int fd, uint64_t addr, char *name, size_t len);

#endif
