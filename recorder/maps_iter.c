// SPDX-License-Identifier: GPL-2.0-only
/*
 * maps_iter.c - every process's executable file mappings through a BPF iterator (maps_iter.h).
 *
 * A read of the iterator's file runs bpf/maps_iter.bpf.c over every task's mappings and returns
 * fixed-size records (bpf/maps_exec.h). Each is taken within bounds: a whole record, a range
 * that ends after it starts. The kernel's iterator skips the threads that share their leader's
 * files (nearly all); one that does not repeats its process's mappings, as a process of its
 * own here (its files are known by then: a little more work, nothing missed). The kernel
 * visits at most a million mappings in one read: one that found no executable mapping among
 * them fails with EAGAIN, and the next read goes on where it stopped (bpf_seq_read).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps_exec.h"
#include "maps_iter.h"
#include "maps_iter.skel.h"

struct maps_iter {
	struct maps_iter_bpf *skel;
	struct bpf_link *link;
};

struct maps_iter *maps_iter_open(void)
{
	struct maps_iter *it = calloc(1, sizeof(*it));
	int err;

	if (!it)
		return NULL;
	it->skel = maps_iter_bpf__open_and_load();
	if (!it->skel)
		goto fail;
	it->link = bpf_program__attach_iter(it->skel->progs.maps_exec, NULL);
	if (!it->link)
		goto fail;
	return it;
fail:
	err = errno;
	maps_iter_close(it);
	errno = err;
	return NULL;
}

/* The kernel's device encoding (MINORBITS 20) into major and minor. */
static void to_line(const struct maps_exec_rec *r, struct proc_maps_line *m)
{
	memset(m, 0, sizeof(*m));
	m->start = r->start;
	m->end = r->end;
	m->offset = r->offset;
	m->inode = r->ino;
	m->major = (unsigned)(r->dev >> 20);
	m->minor = (unsigned)(r->dev & 0xfffff);
	m->perms[0] = r->flags & MAPS_R ? 'r' : '-';
	m->perms[1] = r->flags & MAPS_W ? 'w' : '-';
	m->perms[2] = 'x';
	m->perms[3] = r->flags & MAPS_SHARED ? 's' : 'p';
}

int maps_iter_read(struct maps_iter *it, maps_iter_fn fn, void *ctx)
{
	struct maps_exec_rec buf[256];
	uint32_t tgid = 0, tid = 0;
	bool skip = false;
	int fd, procs = 0, rc = 0;
	size_t have = 0;
	ssize_t n;

	fd = bpf_iter_create(bpf_link__fd(it->link));
	if (fd < 0)
		return -errno;
	for (;;) {
		size_t whole;

		n = read(fd, (char *)buf + have, sizeof(buf) - have);
		/* EAGAIN: a read that went through a million mappings without an executable
		 * one (processes with many mappings: a JVM, a user's on purpose) returns none,
		 * and the next goes on from there */
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		whole = have / sizeof(buf[0]);
		for (size_t i = 0; i < whole; i++) {
			const struct maps_exec_rec *r = &buf[i];
			struct proc_maps_line m;

			if (r->end <= r->start || !r->tgid)
				continue;
			if (r->tgid != tgid || r->tid != tid) {
				tgid = r->tgid;
				tid = r->tid;
				skip = false;
				procs++;
			}
			if (skip)
				continue;
			to_line(r, &m);
			skip = !fn(ctx, tgid, &m);
		}
		have -= whole * sizeof(buf[0]);
		memmove(buf, (char *)buf + whole * sizeof(buf[0]), have);
	}
	if (n < 0)
		rc = -errno;
	close(fd);
	return rc < 0 ? rc : procs;
}

void maps_iter_close(struct maps_iter *it)
{
	if (!it)
		return;
	bpf_link__destroy(it->link);
	maps_iter_bpf__destroy(it->skel);
	free(it);
}
