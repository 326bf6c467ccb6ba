/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sandbox_idle.h - whether a sandboxed child (sandbox.h) is doing anything: the time its
 * processes spend neither on a CPU nor waiting for one.
 *
 * A calibration's work is CPU work: a child that sleeps, waits on a futex or a read that
 * never comes, is a library that holds the calibration thread without working (a hostile
 * constructor). A child starved of the CPU is not idle: it waits on a run queue, and the
 * kernel counts that wait (/proc/PID/schedstat: time on a CPU, time waiting for one, in ns).
 * The caller samples the child A and A's children (B, the init of its PID namespace:
 * /proc/A/task/A/children), and adds up, sample by sample, the wall time that the two did not
 * spend on a CPU or waiting for one. Without /proc/PID/schedstat or the children's list
 * (kernels without CONFIG_SCHED_INFO or CONFIG_PROC_CHILDREN, a /proc mounted hidepid=2 for a
 * caller without CAP_SYS_PTRACE), nothing is counted: the wall-clock bound alone ends such a
 * child. Both files are readable by any user otherwise, the child's non-dumpable A and B too.
 */
#ifndef ECAP_SANDBOX_IDLE_H
#define ECAP_SANDBOX_IDLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sandbox_idle {
	pid_t pid;          /* A, the caller's own child */
	bool usable;        /* the kernel gives what is needed */
	uint64_t last_ms;   /* the last sample: when */
	uint64_t last_busy; /* and the processes' time on or waiting for a CPU then, ns */
	uint64_t idle_ms;   /* wall time not on or waiting for a CPU, all samples added */
};

/* Starts watching pid (the caller's child) at now_ms (CLOCK_MONOTONIC). */
void sandbox_idle_start(struct sandbox_idle *w, pid_t pid, uint64_t now_ms);

/* A sample at now_ms (at most one counted per SANDBOX_IDLE_STEP_MS): the idle time so far. */
uint64_t sandbox_idle_sample(struct sandbox_idle *w, uint64_t now_ms);

#define SANDBOX_IDLE_STEP_MS 100u

#endif
