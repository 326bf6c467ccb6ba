/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * calib_worker.h - calibrations of libssl files on a thread of their own, so that the thread
 * that reads the recorder's rings never waits for one (live_tls.c).
 *
 * A calibration not in the store's cache runs the library in the sandbox (tls_calibrate.h,
 * sandbox.h): a tenth of a second on a quiet host, and as long as its CPU bound (30 s) allows
 * where the CPU is scarce; one that waits without working ends after 5 s. The caller hands a
 * job over with the library's open descriptor and takes the result back when the worker says
 * so: the worker's descriptor (calib_worker_fd) becomes readable when a result waits. Jobs
 * handed over before the thread starts (calib_worker_start) wait for it; it takes them one at
 * a time, in order, except that a library only root can have written (owned by root, not writable by group or
 * others: a system's libssl, a root-owned container image's) goes before every library a user
 * could have planted: a user's files (constructors that sleep or spin, any number of them)
 * hold such a library back by the one calibration under way at most.
 */
#ifndef ECAP_CALIB_WORKER_H
#define ECAP_CALIB_WORKER_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "tls_calibrate.h"

struct calib_worker;

/* A job, and then its result. */
struct calib_job {
	int fd;                      /* the library, open: closed by calib_worker_job_free() */
	char path[PATH_MAX];         /* how the messages name it */
	dev_t dev;
	ino_t ino;
	int rc;                      /* tls_calibrate_fd()'s */
	char err[512];               /* its reason when rc < 0 */
	struct tls_calibration cal;  /* when rc == 0 */
	bool trusted;                /* calib_worker_submit()'s */
	struct calib_job *next;
};

/* cache_dir: the store, whose calibration cache the jobs use (NULL: none). 0 or -errno. */
int calib_worker_new(const char *cache_dir, struct calib_worker **out);
/* Starts the thread, once the caller's privileges are those it should have: a thread keeps
 * the capabilities of the thread that made it, as they were then (ecap-rec drops its own
 * after its start). 0, or -errno: the jobs handed over come back failed, later ones are
 * refused. */
int calib_worker_start(struct calib_worker *w);
/* Readable (EPOLLIN) while a result waits for calib_worker_take(). */
int calib_worker_fd(const struct calib_worker *w);
/* Hands the calibration of the file open on fd over (fd is the job's from now on, whatever
 * is returned); trusted: only root can have written it (calib_worker_trusted), and it goes
 * before the jobs waiting that are not. 0 or -errno (the job was not taken: fd is closed). */
int calib_worker_submit(struct calib_worker *w, int fd, const char *path, dev_t dev, ino_t ino,
			bool trusted);
/* Whether the file open on fd is one only root can have written: owned by root, not writable
 * by its group or others, and not on FUSE (whose owners are what its daemon says). */
bool calib_worker_trusted(int fd);
/* A finished job (free it with calib_worker_job_free()), or NULL when none waits. */
struct calib_job *calib_worker_take(struct calib_worker *w);
void calib_worker_job_free(struct calib_job *j);
/* Whether jobs were handed over and not taken back yet. */
bool calib_worker_busy(const struct calib_worker *w);
/*
 * Stops the thread and frees everything, jobs not taken back included. A calibration under
 * way through the launcher (ecap-rec) is given up at once (tls_calib_launcher_abort(): the
 * launcher cannot serve another after that); one run in a child of this process (no
 * launcher) is waited for, within the sandbox's bounds.
 */
void calib_worker_free(struct calib_worker *w);

#endif
