/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proc_info.h - who an owning process is, in full, from /proc at record time: executable,
 * command line, parent, start time, pid in its own pid namespace, cgroup path, and the
 * container (runtime and id) or Kubernetes pod that cgroup path names. Everything read is
 * hostile input (processes control their command lines, containers their cgroup names):
 * every read is bounded, no path that a process controls is followed, and what is kept is cut
 * to its field and made printable ASCII.
 */
#ifndef ECAP_PROC_INFO_H
#define ECAP_PROC_INFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../schema/records.h"

/* One clock tick of /proc/PID/stat's starttime, in ns (10 ms with USER_HZ 100). */
uint64_t proc_info_tick_ns(void);

/* pid's start (ns since boot at clock-tick resolution, as struct ecap_proc.start_ns), and its
 * parent's pid when ppid is not NULL. -errno when it cannot be read. */
int proc_info_start(int pid, uint64_t *start_ns, uint32_t *ppid);

/* 1 when pid is a kernel thread (PF_KTHREAD in /proc/PID/stat's flags), 0 when not, -errno
 * when that cannot be read. Says nothing of whether pid still names the same thread after. */
int proc_info_kthread(int pid);

/*
 * Reads what /proc says about pid into *out. When start_ns is not 0 it must be pid's start
 * time, else the pid now names another process and -ESRCH is returned (nothing is kept of a
 * process that is not the one asked about). The parent is named only when its own start
 * is not after the child's (else its pid was reused: ppid stays, parent_comm is "").
 */
int proc_info_read(int pid, uint64_t start_ns, struct ecap_proc_info *out);

/* pid's command line (arguments joined by spaces, printable, cut) and cgroup v2 path, ""
 * when they cannot be read. Neither checks that pid is still the process meant: callers
 * compare its start time afterwards. */
void proc_info_args_of(int pid, char out[ECAP_ARGS_MAX]);
void proc_info_cgroup_of(int pid, char out[ECAP_CGROUP_MAX]);

/*
 * The container or pod a cgroup v2 path names (its last component that does): docker-ID.scope,
 * cri-containerd-ID.scope, crio-ID.scope, libpod-ID(.scope), libpod-conmon-ID is not a
 * container's process; cgroupfs layouts /docker/ID, /libpod_parent/libpod-ID, and kubepods
 * (.../kubepods-...-pod<UID>.slice/..., /kubepods/.../pod<UID>/ID). ID must be 64 lower-case
 * hex digits. Fills id and runtime ("" when none) and pod_uid ("" when none).
 */
void proc_info_container(const char *cgroup, char id[ECAP_CONTAINER_ID_MAX],
			 char runtime[ECAP_RUNTIME_MAX], char pod_uid[ECAP_POD_UID_MAX]);

/* Where the cgroup v2 hierarchy is mounted (found once in /proc/self/mountinfo: on hybrid
 * hosts it is /sys/fs/cgroup/unified, not /sys/fs/cgroup); NULL when it is not. */
const char *proc_info_cgroup2_mount(void);

/* The id of cgroup v2 path (the inode of its directory under the mount), 0 when unknown. */
uint64_t proc_info_cgroup_id(const char *cgroup);

/* The cgroup v2 path of cgroup id (as bpf_get_current_cgroup_id() gives it), found through
 * the id itself (open_by_handle_at on the cgroup2 mount: it needs CAP_DAC_READ_SEARCH), so
 * it is found after the process is gone, while the cgroup lives. -errno when it cannot be. */
int proc_info_cgroup_path(uint64_t id, char *out, size_t size);

/* A moment given as CLOCK_BOOTTIME ns on the wall clock (0 when it cannot be). */
uint64_t proc_info_wall_ns(uint64_t boot_ns);

/* Our own mount namespace's id (ioctl NS_GET_MNTNS_ID on /proc/self/ns/mnt: the id the kernel
 * side reads for a task, bpf/mntns_id.h); 0 when the kernel will not say (before Linux 6.11). */
uint64_t proc_info_own_mntns_id(void);

/* Up to size-1 bytes from fd (until its end), NUL-terminated; the byte count. */
ssize_t proc_info_read_fd(int fd, char *buf, size_t size);

/* Copies at most size-1 bytes of src (n bytes, may hold NULs), NULs as spaces and every byte
 * that is not printable ASCII as '?', dropping trailing spaces. */
void proc_info_printable(char *dst, size_t size, const char *src, size_t n);

#endif
