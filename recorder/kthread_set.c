// SPDX-License-Identifier: GPL-2.0-only
/*
 * kthread_set.c - kernel threads known by their pidfds, skipped by the rescans
 * (kthread_set.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kthread_set.h"
#include "proc_info.h"

/* Whether the process behind pidfd has exited; true also when that cannot be told. */
static bool exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

void kthread_set_prune(struct kthread_set *k)
{
	struct pollfd *p;
	size_t i, kept = 0;
	int rc;

	if (k->n == 0)
		return;
	p = calloc(k->n, sizeof(*p));
	if (!p) { /* unsure of them all: forget them */
		kthread_set_free(k);
		return;
	}
	for (i = 0; i < k->n; i++) {
		p[i].fd = k->v[i].pidfd;
		p[i].events = POLLIN;
	}
	rc = poll(p, k->n, 0);
	for (i = 0; i < k->n; i++) {
		if (rc != 0) { /* some exited, or the poll failed: keep only the quiet ones */
			if (rc < 0 || p[i].revents) {
				close(k->v[i].pidfd);
				continue;
			}
		}
		k->v[kept++] = k->v[i];
	}
	k->n = kept;
	free(p);
}

/* The index of pid in k->v, or of the first member past it. */
static size_t lower_bound(const struct kthread_set *k, uint32_t pid)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool kthread_set_has(const struct kthread_set *k, uint32_t pid)
{
	size_t i = lower_bound(k, pid);

	return i < k->n && k->v[i].pid == pid;
}

int kthread_set_consider(struct kthread_set *k, uint32_t pid)
{
	size_t at;
	int fd;

	if (pid == 0 || pid > INT32_MAX || kthread_set_has(k, pid) || k->n >= KTHREAD_SET_MAX)
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		struct kthread_member *v = realloc(k->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	/* the pidfd first: the flags read after it are its process's if it is still alive */
	fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (fd < 0)
		return 0;
	if (proc_info_kthread((int)pid) != 1 || exited(fd)) {
		close(fd);
		return 0;
	}
	at = lower_bound(k, pid);
	memmove(&k->v[at + 1], &k->v[at], (k->n - at) * sizeof(*k->v));
	k->v[at].pid = pid;
	k->v[at].pidfd = fd;
	k->n++;
	return 1;
}

void kthread_set_free(struct kthread_set *k)
{
	for (size_t i = 0; i < k->n; i++)
		close(k->v[i].pidfd);
	free(k->v);
	k->v = NULL;
	k->n = k->cap = 0;
}
