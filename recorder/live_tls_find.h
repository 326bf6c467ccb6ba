/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_tls_find.h - which libssl files to watch: the one the dynamic linker gives programs,
 * every libssl that a running process has mapped (/proc/PID/maps), and paths given by the user.
 * One file is one inode: the same library reached by two paths (a symlink, a container's
 * /proc/PID/root view) is listed once.
 */
#ifndef ECAP_LIVE_TLS_FIND_H
#define ECAP_LIVE_TLS_FIND_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct tls_lib_file {
	char path[PATH_MAX];   /* a path this process can open (maybe via /proc/PID/root) */
	dev_t dev;
	ino_t ino;
	int fd;                /* open on the file already (then PATH only names it), or -1 */
};

/* The system's libssl (tls_lib_default(): found without loading it). 0 or -ENOENT. */
int live_tls_find_system(char *path, size_t len);

/* Fills f for path (stat). 0 or -errno. */
int live_tls_file(const char *path, struct tls_lib_file *f);

/*
 * Calls fn for every distinct libssl file mapped by some process now. fn returns 0 to go on,
 * <0 to stop (passed back). Returns 0 or fn's error; unreadable processes are skipped.
 */
int live_tls_find_mapped(int (*fn)(void *ctx, const struct tls_lib_file *f), void *ctx);

/* The distinct libssl files met in one pass over the processes (the first LIVE_TLS_SEEN_MAX;
 * n = 0 before a pass). */
#define LIVE_TLS_SEEN_MAX 64
struct live_tls_seen {
	size_t n;
	struct {
		dev_t dev;
		ino_t ino;
	} f[LIVE_TLS_SEEN_MAX];
};

/* Whether a mapped path names an OpenSSL libssl (libssl.so*, or libssl-HASH.so* as Python
 * wheels bundle it; not NSS's libssl3.so), not deleted: what live_tls_find_line() looks for. */
bool live_tls_is_libssl(const char *path);

/*
 * The same for one line of PID's /proc/PID/maps, parsed (proc_maps.h): calls fn when it maps
 * a libssl not in seen (which it then joins). Returns 0 or fn's error. For a caller that reads
 * the maps anyway (live_keylog_rescan()).
 */
struct proc_maps_line;
int live_tls_find_line(const char *pid, const struct proc_maps_line *m,
		       struct live_tls_seen *seen,
		       int (*fn)(void *ctx, const struct tls_lib_file *f), void *ctx);

#endif
