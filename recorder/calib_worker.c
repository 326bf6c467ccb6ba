// SPDX-License-Identifier: GPL-2.0-only
/*
 * calib_worker.c - the calibration thread (calib_worker.h).
 *
 * Two lists under one mutex: the jobs to do (the thread takes the first, waiting on a
 * condition variable while there is none) and the jobs done (the caller takes them). An
 * eventfd (a semaphore) counts the jobs done and not yet taken, so that it is readable exactly
 * while one waits. The thread does nothing but tls_calibrate_fd(), which touches no state of the
 * caller's: its result goes back in the job. It starts when the caller says
 * (calib_worker_start), with every signal blocked. The jobs to do are the trusted ones first
 * (up to trusted_tail), each part in the order handed over.
 */
#include "calib_worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "tls_calib_launcher.h"

struct calib_worker {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct calib_job *todo, *done; /* each in order: head, and the tail to append to */
	struct calib_job **todo_tail, **done_tail;
	struct calib_job **trusted_tail; /* where the next trusted job goes: after the last one */
	unsigned outstanding;          /* handed over, not taken back */
	bool working;                  /* the thread holds a job */
	bool stop;
	bool started;
	pthread_t thread;
	int efd;
	int start_err;                 /* calib_worker_start()'s failure: jobs refused */
	char cache_dir[PATH_MAX];
	bool has_cache;
};

static void *run(void *arg)
{
	struct calib_worker *w = arg;
	struct calib_job *j;
	uint64_t one = 1;
	ssize_t r;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->todo && !w->stop)
			pthread_cond_wait(&w->more, &w->lock);
		if (w->stop)
			break;
		j = w->todo;
		w->todo = j->next;
		if (!w->todo)
			w->todo_tail = &w->todo;
		if (w->trusted_tail == &j->next)
			w->trusted_tail = &w->todo;
		w->working = true;
		pthread_mutex_unlock(&w->lock);

		j->next = NULL;
		j->rc = tls_calibrate_fd(j->fd, j->path, w->has_cache ? w->cache_dir : NULL, &j->cal,
					 j->err, sizeof(j->err));

		pthread_mutex_lock(&w->lock);
		w->working = false;
		*w->done_tail = j;
		w->done_tail = &j->next;
		r = write(w->efd, &one, sizeof(one)); /* far from full: cannot fail */
		(void)r;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int calib_worker_new(const char *cache_dir, struct calib_worker **out)
{
	struct calib_worker *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	if (w->efd < 0) {
		int rc = -errno;

		free(w);
		return rc;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->more, NULL);
	w->todo_tail = &w->todo;
	w->trusted_tail = &w->todo;
	w->done_tail = &w->done;
	if (cache_dir) {
		snprintf(w->cache_dir, sizeof(w->cache_dir), "%s", cache_dir);
		w->has_cache = true;
	}
	*out = w;
	return 0;
}

int calib_worker_fd(const struct calib_worker *w)
{
	return w->efd;
}

/* FUSE's: its daemon, which may be any user's, says who owns a file (fs/fuse). */
#define FUSE_MAGIC 0x65735546

bool calib_worker_trusted(int fd)
{
	struct statfs fs;
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH)) &&
	       fstatfs(fd, &fs) == 0 && fs.f_type != FUSE_MAGIC;
}

/* j into the jobs to do: at the end, or a trusted one after the last trusted one. */
static void todo_add(struct calib_worker *w, struct calib_job *j)
{
	if (!j->trusted) {
		*w->todo_tail = j;
		w->todo_tail = &j->next;
		return;
	}
	j->next = *w->trusted_tail;
	*w->trusted_tail = j;
	if (w->todo_tail == w->trusted_tail)
		w->todo_tail = &j->next;
	w->trusted_tail = &j->next;
}

int calib_worker_submit(struct calib_worker *w, int fd, const char *path, dev_t dev, ino_t ino,
			bool trusted)
{
	struct calib_job *j = calloc(1, sizeof(*j));
	int rc = 0;

	if (!j) {
		close(fd);
		return -ENOMEM;
	}
	j->fd = fd;
	snprintf(j->path, sizeof(j->path), "%s", path);
	j->dev = dev;
	j->ino = ino;
	j->trusted = trusted;
	pthread_mutex_lock(&w->lock);
	rc = w->start_err;
	if (rc == 0) {
		todo_add(w, j);
		w->outstanding++;
		pthread_cond_signal(&w->more);
	}
	pthread_mutex_unlock(&w->lock);
	if (rc < 0)
		calib_worker_job_free(j);
	return rc;
}

int calib_worker_start(struct calib_worker *w)
{
	uint64_t one = 1;
	sigset_t all, old;
	struct calib_job *j;
	ssize_t r;
	int rc;

	pthread_mutex_lock(&w->lock);
	if (w->started || w->start_err) {
		rc = w->start_err;
		goto out;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread takes no signal */
	rc = -pthread_create(&w->thread, NULL, run, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	w->started = rc == 0;
	if (rc == 0)
		goto out;
	/* no thread: the jobs handed over come back failed, and later ones are refused */
	w->start_err = rc;
	while ((j = w->todo)) {
		w->todo = j->next;
		j->next = NULL;
		j->rc = rc;
		snprintf(j->err, sizeof(j->err), "no calibration thread: %s", strerror(-rc));
		*w->done_tail = j;
		w->done_tail = &j->next;
		r = write(w->efd, &one, sizeof(one));
		(void)r;
	}
	w->todo_tail = &w->todo;
	w->trusted_tail = &w->todo;
out:
	pthread_mutex_unlock(&w->lock);
	return rc;
}

struct calib_job *calib_worker_take(struct calib_worker *w)
{
	struct calib_job *j;
	uint64_t n;
	ssize_t r;

	pthread_mutex_lock(&w->lock);
	j = w->done;
	if (j) {
		w->done = j->next;
		if (!w->done)
			w->done_tail = &w->done;
		j->next = NULL;
		w->outstanding--;
		/* one off the count (counted before the job was listed: cannot fail), so that
		 * it is readable exactly while a result waits */
		r = read(w->efd, &n, sizeof(n));
		(void)r;
	}
	pthread_mutex_unlock(&w->lock);
	return j;
}

bool calib_worker_busy(const struct calib_worker *w)
{
	return __atomic_load_n(&w->outstanding, __ATOMIC_RELAXED) != 0;
}

void calib_worker_job_free(struct calib_job *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

static void free_list(struct calib_job *j)
{
	while (j) {
		struct calib_job *next = j->next;

		calib_worker_job_free(j);
		j = next;
	}
}

void calib_worker_free(struct calib_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->more);
	if (w->working)
		tls_calib_launcher_abort();
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	free_list(w->todo);
	free_list(w->done);
	close(w->efd);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
