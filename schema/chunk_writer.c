// SPDX-License-Identifier: GPL-2.0-only
/*
 * chunk_writer.c - the chunk writer of chunk_writer.h: one job slot, a mutex and two
 * condition variables. The job's work is chunk_builder_seal(), a check that the disk keeps
 * its reserve, the write of both frames, and the caller's on_written callback, which the
 * store uses to add the chunk's index rows; chunk_writer_run() does a job on the caller's
 * thread instead (a small chunk). chunk_writer_help() lets the caller compress
 * blocks of its next chunk while it would otherwise wait for the writer.
 *
 * The write, when the segment could be opened for direct I/O: the frames and a padding
 * frame after them (segment_pad_fill: an LZ4 skippable frame of zeros up to the next 4 KiB
 * boundary, specified at the top of chunkmeta.c) are gathered, 2 MiB at a time, into an
 * aligned staging buffer and go to the disk with O_DIRECT; a chunk that starts inside a page
 * (the first after a store written through the page cache, or cut after a crash) writes that
 * partial first page through the page cache. So a chunk of a second is one pwrite, and the
 * group commit's fdatasync has no page of it to write back, only the inode and the flush:
 * before the padding, the chunk's partial last page went through the page cache (a second
 * pwrite, a page the fdatasync wrote back, and the next chunk's direct write of that page
 * again had the page cache drop its copy). The padding costs at most 4103 bytes a chunk.
 * The segment's blocks are allocated ahead, CHUNK_WRITER_ALLOC_STEP at a time, with
 * fallocate(FALLOC_FL_KEEP_SIZE) (the file's length, all a reader sees, is unchanged): a
 * direct write that allocates blocks dirties the block bitmap and group descriptor, which
 * ext4 without a journal writes and waits for in the commit's fdatasync (one more sleep a
 * chunk); allocated ahead, that is once a step. The store gives back what a segment did not
 * use when it seals it (ftruncate to its length frees blocks past it).
 * Otherwise: one pwritev of the frames in pieces (blocks stored as is are written from the
 * builder's buffer), then sync_file_range() to start writeback early, and no padding: the
 * page cache gathers the partial pages there, and padding would cost bytes for nothing.
 */
#include "chunk_writer.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lz4blocks.h"
#include "seal.h"
#include "segment.h"

#define CHUNK_WRITER_STAGE (2u << 20)
#define CHUNK_WRITER_ALLOC_STEP (1u << 20)

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
	uint8_t *stage;             /* CHUNK_WRITER_STAGE bytes on the way to a direct write */
	uint8_t pad[SEGMENT_PAD_MAX]; /* the padding frame after the chunk of a direct write */
	uint32_t alloc_seg;         /* blocks allocated ahead up to alloc_end in segment alloc_seg */
	uint64_t alloc_end;
};

int chunk_writer_open_direct(int dirfd, const char *name)
{
	struct statx sx;
	if (statx(dirfd, name, 0, STATX_DIOALIGN, &sx) || !(sx.stx_mask & STATX_DIOALIGN) ||
	    !sx.stx_dio_offset_align || sx.stx_dio_offset_align > CHUNK_WRITER_DIO_ALIGN ||
	    !sx.stx_dio_mem_align || sx.stx_dio_mem_align > CHUNK_WRITER_DIO_ALIGN)
		return -1;
	return openat(dirfd, name, O_WRONLY | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);
}

/* len bytes at off; a write that makes no progress is an error, never a loop. */
static int pwrite_full(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t k = pwrite(fd, p, len, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		p += k;
		off += (uint64_t)k;
		len -= (size_t)k;
	}
	return 0;
}

/* File bytes [lo, hi), held at p: whole pages through dio_fd, the partial pages at either
 * end through fd. A direct write the file system refuses (EINVAL: an alignment it did not
 * report) is done through fd instead, and j->dio_refused set. */
static int write_range(struct chunk_job *j, const uint8_t *p, uint64_t lo, uint64_t hi)
{
	const uint64_t a = CHUNK_WRITER_DIO_ALIGN;
	uint64_t mid = (lo + a - 1) / a * a, mid_end = hi / a * a;
	if (j->dio_refused || mid_end <= mid)
		return pwrite_full(j->fd, p, (size_t)(hi - lo), lo);
	int err = mid > lo ? pwrite_full(j->fd, p, (size_t)(mid - lo), lo) : 0;
	for (uint64_t at = mid; !err && at < mid_end;) {
		ssize_t k = pwrite(j->dio_fd, p + (at - lo), (size_t)(mid_end - at), (off_t)at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EINVAL)
			return -errno;
		if (k > 0)
			j->direct += (size_t)k;
		if (k <= 0 || (uint64_t)k % a) {
			/* refused, or a short write that left the rest unaligned */
			if (k > 0)
				at += (uint64_t)k;
			j->dio_refused = k < 0;
			err = pwrite_full(j->fd, p + (at - lo), (size_t)(mid_end - at), at);
			break;
		}
		at += (uint64_t)k;
	}
	if (!err && hi > mid_end)
		err = pwrite_full(j->fd, p + (mid_end - lo), (size_t)(hi - mid_end), mid_end);
	return err;
}

int chunk_writer_stage(struct chunk_writer *w)
{
	if (w->stage)
		return 0;
	/* one 2 MiB huge page where the system gives them (madvise mode): the disk driver then
	 * pins and maps one large page instead of 512 small ones */
	void *p;
	if (posix_memalign(&p, CHUNK_WRITER_STAGE, CHUNK_WRITER_STAGE))
		return -ENOMEM;
	madvise(p, CHUNK_WRITER_STAGE, MADV_HUGEPAGE);
	/* touched now, on the caller's thread: the kernel zeroes the page here (about 3 ms on
	 * the development VM, where a 2 MiB page fault is slow), not in the first chunk's write */
	memset(p, 0, CHUNK_WRITER_STAGE);
	w->stage = p;
	return 0;
}

int chunk_writer_prepare(struct chunk_writer *w, size_t chunk_bytes)
{
	if (chunk_bytes > SIZE_MAX / 2)
		return -EINVAL;
	/* a chunk's data frame holds its compressed blocks (each smaller than its bytes;
	 * blocks stored as is stay in the builder) with their sizes, and the frame's header
	 * and end: the chunk's size with room to spare */
	int err = lz4blocks_enc_prepare(&w->enc, chunk_bytes + chunk_bytes / 64 + 4096);
	return err ? err : lz4blocks_enc_prepare(&w->caller_enc, 0);
}

/* The frames and their padding (cnt pieces in w->iov, len bytes, ending on a page boundary)
 * at the job's offset, through the staging buffer: file byte x sits at stage + (x - base),
 * base being page-aligned, and every full stage goes out as a whole. */
static int write_direct(struct chunk_writer *w, struct chunk_job *j, int cnt, size_t len)
{
	uint64_t off = j->offset, end = off + len;
	uint64_t base = off / CHUNK_WRITER_DIO_ALIGN * CHUNK_WRITER_DIO_ALIGN, at = off;
	int err = chunk_writer_stage(w);
	for (int i = 0; i < cnt && !err; i++) {
		const uint8_t *src = w->iov[i].iov_base;
		size_t n = w->iov[i].iov_len;
		while (n && !err) {
			size_t room = CHUNK_WRITER_STAGE - (size_t)(at - base);
			size_t k = n < room ? n : room;
			memcpy(w->stage + (at - base), src, k);
			at += k;
			src += k;
			n -= k;
			if (at - base == CHUNK_WRITER_STAGE) {
				uint64_t lo = base > off ? base : off;
				err = write_range(j, w->stage + (lo - base), lo, at);
				base = at;
			}
		}
	}
	if (!err && at > base) {
		uint64_t lo = base > off ? base : off;
		err = write_range(j, w->stage + (lo - base), lo, end);
	}
	return err;
}

/* The meta frame and the data frame, back to back at the job's offset, and the padding
 * frame after them when the job has one (j->pad). */
static int write_frames(struct chunk_writer *w, struct chunk_job *j, size_t len)
{
	int cnt = lz4blocks_frame_iov(&w->enc, 1, &w->iov, &w->iov_cap);
	if (cnt < 0)
		return cnt;
	w->iov[0] = (struct iovec){ w->meta.data, w->meta.len };
	if (j->dio_fd >= 0) {
		if (j->pad && (size_t)cnt + 1 > w->iov_cap) {
			struct iovec *v = realloc(w->iov, ((size_t)cnt + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			w->iov = v;
			w->iov_cap = (size_t)cnt + 1;
		}
		if (j->pad) {
			segment_pad_fill(w->pad, (uint32_t)j->pad);
			w->iov[cnt++] = (struct iovec){ w->pad, j->pad };
		}
		return write_direct(w, j, cnt, len + j->pad);
	}
	int fd = j->fd;
	uint64_t off = j->offset;
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
	/* start writeback now, so that the group commit's fdatasync finds little to do */
	sync_file_range(fd, (off_t)j->offset, (off_t)len, SYNC_FILE_RANGE_WRITE);
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

/* Blocks for a direct write of bytes up to end allocated ahead, a step at a time, while the
 * disk keeps its reserve after the step; best effort (a write allocates what is missing). */
static void alloc_ahead(struct chunk_writer *w, struct chunk_job *j, uint64_t end)
{
	if (j->segment == w->alloc_seg && end <= w->alloc_end)
		return;
	uint64_t to = (end + CHUNK_WRITER_ALLOC_STEP - 1) / CHUNK_WRITER_ALLOC_STEP *
		      CHUNK_WRITER_ALLOC_STEP;
	if (check_space(j->fd, (size_t)(to - j->offset)) ||
	    fallocate(j->fd, FALLOC_FL_KEEP_SIZE, (off_t)j->offset, (off_t)(to - j->offset)))
		return;
	w->alloc_seg = j->segment;
	w->alloc_end = to;
}

static void run_job(struct chunk_writer *w, struct chunk_job *j)
{
	j->low_space = false;
	j->length = 0;
	j->index_err = 0;
	j->dio_refused = false;
	j->direct = 0;
	j->pad = 0;
	j->err = chunk_builder_seal(j->cb, j->id, &w->enc, &w->meta);
	if (!j->err)
		j->err = seal_chunk_link(w->meta.data, w->meta.len, j->cb->meta.digest, j->link);
	if (j->err)
		return;
	size_t len = w->meta.len + lz4blocks_frame_len(&w->enc);
	if (j->dio_fd >= 0)
		j->pad = segment_pad_len(j->offset + len);
	if ((j->err = check_space(j->fd, len + j->pad))) {
		j->low_space = true;
		return;
	}
	if (j->dio_fd >= 0)
		alloc_ahead(w, j, j->offset + len + j->pad);
	j->err = write_frames(w, j, len);
	if (j->err)
		return;
	j->length = len;
	if (j->on_written)
		j->index_err = j->on_written(j, j->ctx);
}

/* This thread needs no capability (the store's files are its process's own): it drops the
 * ones it was created with, which the recorder's later drop would not reach (capabilities
 * belong to each thread). */
static void drop_thread_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	syscall(SYS_capset, &h, d);
}

static void *thread_main(void *arg)
{
	struct chunk_writer *w = arg;
	drop_thread_caps();
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
	free(w->stage);
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

void chunk_writer_run(struct chunk_writer *w, struct chunk_job *job)
{
	if (!w->threaded) {
		chunk_writer_submit(w, job);
		return;
	}
	/* the thread is idle (no job): it reads w->job only once running is set */
	assert(!w->job);
	run_job(w, job);
	pthread_mutex_lock(&w->lock);
	w->job = job;
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
