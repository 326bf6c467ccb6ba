// SPDX-License-Identifier: GPL-2.0-only
/*
 * chunk_writer.c - the chunk writer of chunk_writer.h: one job slot, a mutex and two
 * condition variables. The job's work is chunk_builder_seal(), a check that the disk keeps
 * its reserve, one pwritev of both frames (the data frame in pieces: blocks stored as is are
 * written from the builder's buffer), sync_file_range() to start writeback early (so that
 * the group commit's fdatasync finds little left to do), and the caller's on_written
 * callback, which the store uses to add the chunk's index rows. chunk_writer_help() lets the
 * caller compress blocks of its next chunk while it would otherwise wait for the writer.
 */
#include "chunk_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lz4blocks.h"

struct chunk_writer {
	bool threaded;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;        /* a job arrived, or stop */
	pthread_cond_t done;        /* the job finished */
	struct chunk_job *job;      /* in flight (submitted, not yet collected) */
	bool running;               /* the thread works on job */
	bool stop;
	struct buf meta;            /* the metadata frame of the job's chunk */
	struct lz4blocks_enc enc;   /* its data frame, and the compressor's state */
	struct lz4blocks_enc caller_enc; /* the caller's, for chunk_writer_help() */
	struct iovec *iov;          /* both frames in pieces, for pwritev */
	size_t iov_cap;
};

/* The meta frame and the data frame, back to back at off. */
static int write_frames_at(struct chunk_writer *w, int fd, uint64_t off)
{
	int cnt = lz4blocks_frame_iov(&w->enc, 1, &w->iov, &w->iov_cap);
	if (cnt < 0)
		return cnt;
	w->iov[0] = (struct iovec){ w->meta.data, w->meta.len };
	struct iovec *p = w->iov;
	while (cnt) {
		ssize_t k = pwritev(fd, p, cnt < IOV_MAX ? cnt : IOV_MAX, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO; /* no progress: never loop on it */
		off += (uint64_t)k;
		while (cnt && (size_t)k >= p->iov_len) {
			k -= (ssize_t)p->iov_len;
			p++;
			cnt--;
		}
		if (cnt) {
			p->iov_base = (uint8_t *)p->iov_base + k;
			p->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* -ENOSPC when writing need bytes would leave less than the reserve (for unprivileged
 * users: root's reserved blocks are left to the system). */
static int check_space(int fd, size_t need)
{
	struct statvfs vfs;
	if (fstatvfs(fd, &vfs))
		return 0; /* unknown: the write itself will tell */
	uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	return avail < need + CHUNK_WRITER_DISK_RESERVE ? -ENOSPC : 0;
}

static void run_job(struct chunk_writer *w, struct chunk_job *j)
{
	j->low_space = false;
	j->length = 0;
	j->index_err = 0;
	j->err = chunk_builder_seal(j->cb, j->id, &w->enc, &w->meta);
	if (j->err)
		return;
	size_t len = w->meta.len + lz4blocks_frame_len(&w->enc);
	if ((j->err = check_space(j->fd, len))) {
		j->low_space = true;
		return;
	}
	j->err = write_frames_at(w, j->fd, j->offset);
	if (j->err)
		return;
	sync_file_range(j->fd, (off_t)j->offset, (off_t)len, SYNC_FILE_RANGE_WRITE);
	j->length = len;
	if (j->on_written)
		j->index_err = j->on_written(j, j->ctx);
}

static void *thread_main(void *arg)
{
	struct chunk_writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && !(w->job && w->running))
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stop)
			break;
		struct chunk_job *j = w->job;
		pthread_mutex_unlock(&w->lock);
		run_job(w, j);
		pthread_mutex_lock(&w->lock);
		w->running = false;
		pthread_cond_signal(&w->done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int chunk_writer_new(bool threaded, struct chunk_writer **out)
{
	struct chunk_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->threaded = threaded;
	if (lz4blocks_enc_init(&w->enc) || lz4blocks_enc_init(&w->caller_enc)) {
		lz4blocks_enc_free(&w->enc);
		free(w);
		return -ENOMEM;
	}
	if (threaded) {
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->wake, NULL);
		pthread_cond_init(&w->done, NULL);
		int err = pthread_create(&w->thread, NULL, thread_main, w);
		if (err) {
			lz4blocks_enc_free(&w->enc);
			lz4blocks_enc_free(&w->caller_enc);
			free(w);
			return -err;
		}
	}
	*out = w;
	return 0;
}

void chunk_writer_free(struct chunk_writer *w)
{
	if (!w)
		return;
	if (w->threaded) {
		pthread_mutex_lock(&w->lock);
		while (w->running)
			pthread_cond_wait(&w->done, &w->lock);
		w->stop = true;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->wake);
		pthread_cond_destroy(&w->done);
	}
	buf_free(&w->meta);
	lz4blocks_enc_free(&w->enc);
	lz4blocks_enc_free(&w->caller_enc);
	free(w->iov);
	free(w);
}

void chunk_writer_submit(struct chunk_writer *w, struct chunk_job *job)
{
	if (!w->threaded) {
		run_job(w, job);
		w->job = job;
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->job = job;
	w->running = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

static bool busy(struct chunk_writer *w)
{
	pthread_mutex_lock(&w->lock);
	bool running = w->running;
	pthread_mutex_unlock(&w->lock);
	return running;
}

void chunk_writer_help(struct chunk_writer *w, struct chunk_builder *next)
{
	if (!w->threaded)
		return;
	while (busy(w) && chunk_builder_precompress(next, &w->caller_enc))
		;
}

struct chunk_job *chunk_writer_wait(struct chunk_writer *w, bool block)
{
	struct chunk_job *j;
	if (!w->threaded) {
		j = w->job;
		w->job = NULL;
		return j;
	}
	pthread_mutex_lock(&w->lock);
	if (w->running && !block) {
		pthread_mutex_unlock(&w->lock);
		return NULL;
	}
	while (w->running)
		pthread_cond_wait(&w->done, &w->lock);
	j = w->job;
	w->job = NULL;
	pthread_mutex_unlock(&w->lock);
	return j;
}
