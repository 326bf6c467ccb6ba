/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_keylog.h - TLS secrets of the libraries probed through their own key-log function (Go,
 * OpenSSL in an executable, GnuTLS, BoringSSL: recorder/tls/lib.h), for live_tls.c.
 *
 * Finds the files to probe in every process (its executable and the files it maps, through
 * /proc/PID/exe and /proc/PID/map_files, so containers' files are the ones they run), by what
 * they are, not by name; each file (one inode) is inspected once. New programs are looked at
 * when they call execve() (tp_btf/sched_process_exec), with the libraries they need
 * (DT_NEEDED, resolved as the dynamic linker would in the usual directories), so that their
 * first handshake is covered; a periodic rescan catches libraries loaded later (dlopen).
 * A file that is one of these libraries but cannot be probed is named once with the reason.
 */
#ifndef ECAP_LIVE_KEYLOG_H
#define ECAP_LIVE_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "../schema/records.h"

struct live_keylog;

/* Where secrets go (label as in the NSS key log format). 0 or a negative errno. */
typedef int (*live_keylog_fn)(void *ctx, const char *label, const uint8_t *client_random,
			      const uint8_t *secret, size_t len, const struct ecap_proc *who);

/*
 * Loads the probes, adds their ring buffer to *rb (made for it when *rb is NULL; events are
 * handled inside *rb's polling; the caller frees *rb), and scans the running processes.
 * Returns 0 with *out set, or a negative errno (said on stderr): no probe could be loaded.
 */
int live_keylog_start(bool quiet, struct ring_buffer **rb, live_keylog_fn fn, void *ctx,
		      struct live_keylog **out);

/*
 * A shared OpenSSL (libssl*) that a new program needs, found at its exec and open on FD
 * (resolved inside the program's root, symlinks included); NAME shows where
 * (/proc/PID/root/...). live_tls calibrates and probes that open file, during the call,
 * before the program's first handshake, rather than at the next rescan of the mapped files.
 */
typedef void (*live_keylog_libssl_fn)(void *ctx, int fd, const char *name);
void live_keylog_set_libssl_fn(struct live_keylog *k, live_keylog_libssl_fn fn);

/*
 * A program's executable as the exec handler found it (a new program at its first exec, any
 * other once per 30 s per mount namespace): (dev: the kernel's encoding, major << 20 | minor,
 * ino) run by a process of the mount namespace mntns_id (its id, never reused: bpf/mntns_id.h),
 * named path (/proc/PID/exe's link, checked to lead to that file while the process ran it), at
 * mono_ns (CLOCK_MONOTONIC). Given with ctx.
 */
typedef void (*live_keylog_exe_fn)(void *ctx, uint32_t dev, uint64_t ino, uint64_t mntns_id,
				   const char *path, uint64_t mono_ns);
void live_keylog_set_exe_fn(struct live_keylog *k, live_keylog_exe_fn fn);

/*
 * Looks at every running process again for files not seen yet, so that one pass over the
 * processes serves both kinds of probes (live_tls's libssl search): when line_fn is not NULL
 * it is given mappings of each process, parsed, with their path. Where the kernel runs the
 * task_vma BPF iterator (maps_iter.h: every process's executable file mappings, as numbers,
 * in a few reads) or answers PROCMAP_QUERY (proc_maps_query.h: the same, one ioctl a mapping),
 * only executable file mappings, and those of a file only until line_fn has returned true for
 * it once (it wants no other look at that file, by device and inode); a name is asked of the
 * process's /proc/PID/maps only then. Else every line of /proc/PID/maps, whatever line_fn
 * returns.
 */
struct proc_maps_line;
typedef bool (*live_keylog_maps_fn)(void *ctx, const char *pid, const struct proc_maps_line *m);
void live_keylog_rescan(struct live_keylog *k, live_keylog_maps_fn line_fn, void *ctx);

/* What the rescans did so far (the start's included). */
struct live_keylog_rescans {
	uint64_t rescans;       /* rescans run */
	uint64_t visits;        /* processes whose mappings were read */
};
void live_keylog_rescan_stats(const struct live_keylog *k, struct live_keylog_rescans *out);

/* Files probed so far, and files that are a TLS library but could not be probed. */
void live_keylog_counts(const struct live_keylog *k, uint32_t *probed, uint32_t *failed);

/* Events the kernel side could not emit (ring full). */
uint64_t live_keylog_lost(const struct live_keylog *k);

/* The reader's long sleep (bpf/reader_wake.h): while asleep, a secret record wakes it at once.
 * waiting: whether kl_events holds records not taken (or its positions could not be mapped);
 * false for NULL. */
void live_keylog_set_asleep(struct live_keylog *k, bool asleep);
bool live_keylog_waiting(const struct live_keylog *k);
/* kl_events' bytes taken so far (moves whenever records were read); 0 for NULL. */
unsigned long live_keylog_taken(const struct live_keylog *k);

/* Detaches and frees everything; accepts NULL. The ring buffer stays the caller's. */
void live_keylog_stop(struct live_keylog *k);

#endif
