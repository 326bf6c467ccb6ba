// SPDX-License-Identifier: GPL-2.0-only
/*
 * sandbox_idle.c - the idle time of a sandboxed child (sandbox_idle.h), from the kernel's
 * scheduler counters in /proc. The files read are the kernel's (a number per field), read into
 * bounded buffers; a process gone between two reads counts as nothing (its parent, still
 * there, is reaped by the caller soon after).
 */
#include "sandbox_idle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "small_file.h"

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

/* The busy time of pid and its children, into *busy. 0, or -errno when the kernel does not
 * say (no schedstat, no children's list). A child gone meanwhile counts as nothing. */
static int tree_busy(pid_t pid, uint64_t *busy)
{
	char path[64], buf[256], *p, *end;
	uint64_t b;
	long c;
	int rc;

	rc = task_busy(pid, busy);
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
		if (task_busy((pid_t)c, &b) == 0)
			*busy += b;
	}
	return 0;
}

void sandbox_idle_start(struct sandbox_idle *w, pid_t pid, uint64_t now_ms)
{
	w->pid = pid;
	w->idle_ms = 0;
	w->last_ms = now_ms;
	w->usable = tree_busy(pid, &w->last_busy) == 0;
}

uint64_t sandbox_idle_sample(struct sandbox_idle *w, uint64_t now_ms)
{
	uint64_t busy, wall_ms, busy_ms;

	if (!w->usable || now_ms - w->last_ms < SANDBOX_IDLE_STEP_MS)
		return w->idle_ms;
	if (tree_busy(w->pid, &busy) < 0)
		return w->idle_ms; /* A is gone (or going): the caller reaps it */
	wall_ms = now_ms - w->last_ms;
	/* less than before: B has ended and left the list; the step counts as busy */
	busy_ms = busy >= w->last_busy ? (busy - w->last_busy) / 1000000u : wall_ms;
	if (busy_ms < wall_ms)
		w->idle_ms += wall_ms - busy_ms;
	w->last_ms = now_ms;
	w->last_busy = busy;
	return w->idle_ms;
}
