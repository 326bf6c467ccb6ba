/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * maps_iter.h - every process's executable file mappings in a few reads, through the task_vma
 * BPF iterator of bpf/maps_iter.bpf.c: for the 10 s rescan (live_keylog.c), instead of an open
 * of /proc/PID/maps, one PROCMAP_QUERY per mapping and a close, per process.
 */
#ifndef ECAP_MAPS_ITER_H
#define ECAP_MAPS_ITER_H

#include <stdbool.h>
#include <stdint.h>

#include "proc_maps.h"

struct maps_iter;

/* Loads and attaches the iterator; NULL with errno where the kernel refuses it. */
struct maps_iter *maps_iter_open(void);

/*
 * Calls fn for each executable file mapping of every process (path NULL; perms as in maps;
 * major and minor from the kernel's device number), the mappings of one process in a row, by
 * address (a thread that does not share its leader's files repeats them). fn returns false to
 * skip the rest of that run. Returns the number of runs, or -errno (fn may have been called for
 * some mappings before).
 */
typedef bool (*maps_iter_fn)(void *ctx, uint32_t pid, const struct proc_maps_line *m);
int maps_iter_read(struct maps_iter *it, maps_iter_fn fn, void *ctx);

/* Accepts NULL. */
void maps_iter_close(struct maps_iter *it);

#endif
