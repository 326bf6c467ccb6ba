/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chunk_writer.h - sealing (LZ4 compression) and writing a closed chunk, on a thread of its
 * own or on the caller's. The store hands over one chunk at a time and goes on filling the
 * next one meanwhile; it collects the result (and indexes the chunk) before it hands over
 * another, so at most one chunk is ever in flight and segment offsets stay in order.
 */
#ifndef ECAP_CHUNK_WRITER_H
#define ECAP_CHUNK_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"

/* Disk space left free for the index: a writer that filled the disk with segment bytes
 * could not commit the index rows that point at them any more. */
#define CHUNK_WRITER_DISK_RESERVE (4u << 20)

/* Direct I/O: offsets, lengths and memory of the part of a chunk written with O_DIRECT are
 * multiples of this (the page size; statx must report a file system's needs at most this). */
#define CHUNK_WRITER_DIO_ALIGN 4096u

struct chunk_writer;

struct chunk_job {
	struct chunk_builder *cb;  /* sealed by the writer as chunk `id` */
	uint64_t id;
	uint32_t segment;          /* the segment's id, for the index */
	int fd;                    /* the segment, written at offset */
	int dio_fd;                /* the same file opened O_DIRECT, or -1 */
	uint64_t offset;
	/* Called on the writer's thread once the chunk is written (the index rows follow the
	 * bytes); its error goes to index_err. May be NULL. */
	int (*on_written)(struct chunk_job *job, void *ctx);
	void *ctx;
	/* results */
	int err;                   /* 0, or -errno from sealing or writing */
	bool low_space;            /* err is -ENOSPC because of the reserve */
	size_t length;             /* bytes written: both frames */
	size_t pad;                /* and the padding frame after them (0: none) */
	uint8_t link[32];          /* the chunk's element of its segment's digest (seal.h) */
	int index_err;             /* from on_written */
	size_t direct;             /* of length + pad, bytes written with O_DIRECT */
	bool dio_refused;          /* the file system refused a direct write: the job wrote
				    * that part through fd; stop using dio_fd */
};

/* The segment dirfd/name opened again for direct writes (O_DIRECT), or -1 when the file
 * system does not say it supports them (statx STATX_DIOALIGN) within our alignment. */
int chunk_writer_open_direct(int dirfd, const char *name);

/* threaded: compress and write on a thread of its own; else chunk_writer_submit does it. */
int chunk_writer_new(bool threaded, struct chunk_writer **out);
void chunk_writer_free(struct chunk_writer *w);
/* Make the staging buffer of direct writes now (it is otherwise made at the first direct
 * write): a writer that will write with O_DIRECT pays its memory before it records. */
int chunk_writer_stage(struct chunk_writer *w);
/* Make the encoders' memory (lz4blocks_enc_prepare) for chunks of chunk_bytes now, so that
 * the first chunk sealed takes no page fault for it. */
int chunk_writer_prepare(struct chunk_writer *w, size_t chunk_bytes);
/* Start a job; the caller keeps its hands off job->cb until chunk_writer_wait returns it. */
void chunk_writer_submit(struct chunk_writer *w, struct chunk_job *job);
/* Do a job on the caller's thread, now, with no job in flight (the caller collected the last
 * one): chunk_writer_wait then returns it at once. For a small chunk, the hand-off to the
 * writer's thread and back (two wake-ups, and the chunk's bytes read on another core) cost
 * more than the job. */
void chunk_writer_run(struct chunk_writer *w, struct chunk_job *job);
/* While the job in flight runs, compress blocks of next (the chunk the caller hands over
 * next) on the caller's thread instead of waiting idle. */
void chunk_writer_help(struct chunk_writer *w, struct chunk_builder *next);
/* The job in flight, finished (NULL when there is none). block: wait for it; else NULL
 * while it is still running. */
struct chunk_job *chunk_writer_wait(struct chunk_writer *w, bool block);

#endif
