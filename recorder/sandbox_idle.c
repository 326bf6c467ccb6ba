// SPDX-License-Identifier: GPL-2.0-only
/*
 * sandbox_idle.c - the idle time of a sandboxed child (sandbox_idle.h), from the kernel's
 * scheduler counters and task states in /proc. The files read are the kernel's (a number per
 * field; a process name, which its process may choose, is skipped up to its last ')'), read
 * into bounded buffers; a process gone between two reads counts as nothing (its parent, still
 * there, is reaped by the caller soon after).
 */
#include "sandbox_idle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "small_file.h"

/* What one sample of the child's processes found, added up over them. */
struct idle_sample {
	uint64_t busy;  /* time on a CPU plus time waiting for one, ns */
	uint64_t blkio; /* block I/O delay, ns (0 without delay accounting) */
	bool in_io;     /* one of them waits uninterruptibly (state D): the disk */
};

/* Time on a CPU plus time waiting for one (ns) of pid, into *busy. 0 or -errno. */
static int task_busy(pid_t pid, uint64_t *busy)
{
	char path[64], buf[128], *end;
	unsigned long long run, wait;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if (small_file_read(path, buf, sizeof(buf)) <= 0)
		return -ENOENT;
	errno = 0;
	run = strtoull(buf, &end, 10);
	if (errno || end == buf || *end != ' ')
		return -EINVAL;
	wait = strtoull(end + 1, &end, 10);
	if (errno || (*end != ' ' && *end != '\n'))
		return -EINVAL;
	*busy = (uint64_t)run + (uint64_t)wait;
	return 0;
}

/* Fields of /proc/PID/stat after the state (field 3) up to delayacct_blkio_ticks (42). */
#define STAT_STATE_TO_BLKIO 39

/* pid's state and block I/O delay (/proc/PID/stat) added to *s; nothing when unreadable. */
static void task_io(pid_t pid, struct idle_sample *s)
{
	char path[64], buf[1024], *p, *end;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (small_file_read(path, buf, sizeof(buf)) <= 0)
		return;
	p = strrchr(buf, ')'); /* the name may hold anything, ')' too */
	if (!p || p[1] != ' ' || !p[2])
		return;
	p += 2;
	if (*p == 'D')
		s->in_io = true;
	for (int i = 0; i < STAT_STATE_TO_BLKIO && p; i++)
		if ((p = strchr(p, ' ')))
			p++;
	if (!p || hz <= 0)
		return;
	errno = 0;
	ticks = strtoull(p, &end, 10);
	/* never the last field: a line cut short by the buffer gives nothing */
	if (errno || end == p || *end != ' ' || ticks > UINT64_MAX / 1000000000u)
		return;
	s->blkio += (uint64_t)ticks * (1000000000u / (uint64_t)hz);
}

/* One task of the child: its busy time (0 or -errno, as task_busy) and its wait for I/O. */
static int task_sample(pid_t pid, struct idle_sample *s)
{
	uint64_t b;
	int rc = task_busy(pid, &b);

	if (rc < 0)
		return rc;
	s->busy += b;
	task_io(pid, s);
	return 0;
}

/* pid and its children, into *s (zeroed first). 0, or -errno when the kernel does not say (no
 * schedstat, no children's list). A child gone meanwhile counts as nothing. */
static int tree_sample(pid_t pid, struct idle_sample *s)
{
	char path[64], buf[256], *p, *end;
	long c;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = task_sample(pid, s);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	rc = small_file_read(path, buf, sizeof(buf));
	if (rc < 0 && rc != -ENODATA) /* empty: no child */
		return -ENOENT;
	for (p = buf;; p = end) {
		errno = 0;
		c = strtol(p, &end, 10);
		if (end == p || errno || c <= 0)
			break;
		task_sample((pid_t)c, s);
	}
	return 0;
}

void sandbox_idle_start(struct sandbox_idle *w, pid_t pid, uint64_t now_ms, uint64_t io_max_ms)
{
	struct idle_sample s;

	w->pid = pid;
	w->idle_ms = 0;
	w->io_ms = 0;
	w->io_max_ms = io_max_ms;
	w->last_ms = now_ms;
	w->usable = tree_sample(pid, &s) == 0;
	w->last_busy = s.busy;
	w->last_blkio = s.blkio;
	w->last_in_io = s.in_io;
}

uint64_t sandbox_idle_sample(struct sandbox_idle *w, uint64_t now_ms)
{
	struct idle_sample s;
	uint64_t wall_ms, busy_ms, io_ms;

	if (!w->usable || now_ms - w->last_ms < SANDBOX_IDLE_STEP_MS)
		return w->idle_ms;
	if (tree_sample(w->pid, &s) < 0)
		return w->idle_ms; /* A is gone (or going): the caller reaps it */
	wall_ms = now_ms - w->last_ms;
	/* less than before: B has ended and left the list; the step counts as busy */
	busy_ms = s.busy >= w->last_busy ? (s.busy - w->last_busy) / 1000000u : wall_ms;
	io_ms = s.blkio >= w->last_blkio ? (s.blkio - w->last_blkio) / 1000000u : 0;
	/* in D at either end of the step: the step was a wait for the disk */
	if (s.in_io || w->last_in_io || io_ms > wall_ms)
		io_ms = wall_ms;
	if (io_ms > w->io_max_ms - w->io_ms)
		io_ms = w->io_max_ms - w->io_ms; /* past the allowance, such waits are idle */
	w->io_ms += io_ms;
	if (busy_ms + io_ms < wall_ms)
		w->idle_ms += wall_ms - busy_ms - io_ms;
	w->last_ms = now_ms;
	w->last_busy = s.busy;
	w->last_blkio = s.blkio;
	w->last_in_io = s.in_io;
	return w->idle_ms;
}
