/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proc_owner.h - who a socket's owning process is, from what the kernel side saw of it when it
 * used the socket (struct ecap_owner, bpf/ecap.h): start, parent, pid in its namespace,
 * command line, cgroup and executable, without reading /proc for each new process.
 *
 * Only two things are not in the record: the executable's path and the cgroup's path. Both
 * are named once per file or cgroup and remembered: the executable by its device, inode and
 * the process's mount namespace id, one the kernel never reuses (bpf/mntns_id.h; nothing is
 * remembered without it), the name read from /proc/PID/exe and kept only when that link
 * leads to exactly the file the kernel named; the cgroup by its id (ids are not reused
 * while the system runs). /proc is read for a process only for a command line longer than
 * the record holds and for an executable not named yet, and what it says is used only when
 * the process's start time, read afterwards, is the record's: a reused pid names another
 * process, whose details would be evidence against the wrong one.
 */
#ifndef ECAP_PROC_OWNER_H
#define ECAP_PROC_OWNER_H

#include <stdint.h>

#include "../schema/records.h"
#include "ecap.h"

struct proc_owner;

struct proc_owner_stats {
	uint64_t exe_named;     /* executables named from /proc/PID/exe */
	uint64_t exe_cached;    /* executables named from what was remembered */
	uint64_t exe_checked;   /* names remembered a minute, checked again without /proc */
	uint64_t exe_told;      /* names given by proc_owner_exe_named() */
	uint64_t proc_reads;    /* processes whose /proc entries were read (exe or args) */
	uint64_t cgroup_named;  /* cgroup paths looked up by id */
};

/* NULL and errno on failure. */
struct proc_owner *proc_owner_new(void);
void proc_owner_free(struct proc_owner *c);

/*
 * From now on a process's start on the wall clock (ecap_proc_info.start_wall_ns) is its start
 * plus boot_to_wall_ns (CLOCK_REALTIME less CLOCK_BOOTTIME, as the caller measured it lately:
 * live_clock), instead of two clock reads per process (proc_info_wall_ns()).
 */
void proc_owner_set_wall(struct proc_owner *c, int64_t boot_to_wall_ns);

/*
 * Fills *info for the process the kernel described in *w; start_ns is its start at /proc's
 * resolution (as struct ecap_proc.start_ns), now_ns a monotonic time for the ageing of what
 * is remembered (names are looked up again after a minute: files and cgroups can be renamed).
 * Fields that cannot be known stay "" or 0.
 */
void proc_owner_info(struct proc_owner *c, const struct ecap_owner *w, uint64_t start_ns,
		     uint64_t now_ns, struct ecap_proc_info *info);

/*
 * What a process in the mount namespace mntns_id (its id: bpf/mntns_id.h; 0 is ignored)
 * runs, (dev: the kernel's encoding, ino), is named path there: learnt elsewhere (the TLS probes' exec handler opens every new
 * program through /proc/PID/exe), so that the first processes of a new program are named
 * without /proc, even when they are gone before their socket's record is read. The caller
 * must have checked that path named that file of that process.
 */
void proc_owner_exe_named(struct proc_owner *c, uint32_t dev, uint64_t ino, uint64_t mntns_id,
			  const char *path, uint64_t now_ns);

void proc_owner_get_stats(const struct proc_owner *c, struct proc_owner_stats *st);

#endif
