/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kthread_set.h - the kernel threads that the rescans of every process (live_keylog_rescan:
 * the search for newly mapped TLS libraries, every 10 s) have met, so that later rescans skip
 * them: a kernel thread maps no file, and about half of a host's pids are kernel threads (an
 * open of /proc/PID/maps, a failing query and a close each, 40% of a rescan's CPU here).
 *
 * A pid is a pid, not a process: each member is held by a pidfd (pidfd_open(2)), which refers
 * to that very process and polls readable once it has exited. kthread_set_prune() drops the
 * members whose thread exited, in one poll(2) over them all, before each rescan; a pid that
 * a new process took meanwhile is then not a member, and is looked at as any other. A member
 * is added only when its pidfd was open before /proc/PID/stat said PF_KTHREAD and the thread
 * was still alive after (so the flags read were that thread's). A kernel thread cannot exec
 * (kernel_execve refuses PF_KTHREAD), so it stays one while its pidfd lives.
 */
#ifndef ECAP_KTHREAD_SET_H
#define ECAP_KTHREAD_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KTHREAD_SET_MAX 512 /* members at most (each holds a file descriptor) */

struct kthread_set {
	struct kthread_member {
		uint32_t pid;
		int pidfd;
	} *v; /* ascending pid */
	size_t n, cap;
};

/* Drops the members whose thread exited (or whose pidfd cannot be asked: then unsure). */
void kthread_set_prune(struct kthread_set *k);
/* Whether pid is a member: the kernel thread met before, alive at the last prune. */
bool kthread_set_has(const struct kthread_set *k, uint32_t pid);
/* Adds pid when it is a kernel thread (see above). 1 added, 0 not a kernel thread (or gone,
 * or the set full), or -errno (-ENOMEM). */
int kthread_set_consider(struct kthread_set *k, uint32_t pid);
void kthread_set_free(struct kthread_set *k);

#endif
