/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sandbox_idle.h - whether a sandboxed child (sandbox.h) is doing anything: the time its
 * processes spend neither on a CPU, nor waiting for one, nor waiting for the disk.
 *
 * A calibration's work is CPU work, and the reads of the libraries it maps: a child that
 * sleeps, waits on a futex or a read that never comes, is a library that holds the
 * calibration thread without working (a hostile constructor). A child starved of the CPU is
 * not idle: it waits on a run queue, and the kernel counts that wait (/proc/PID/schedstat:
 * time on a CPU, time waiting for one, in ns). Nor is one that waits for a slow disk: in
 * uninterruptible sleep (state D in /proc/PID/stat; under its seccomp filter the child cannot
 * fork, so such a wait is a read or a page fault of a file), a step in which a process of it
 * is in D at either sample is not idle, and the kernel's block I/O delay (delayacct_blkio_ticks
 * in /proc/PID/stat, where delay accounting is on) counts too. That allowance is bounded
 * (io_max_ms in all): a library that keeps the disk busy for ever is idle past it.
 * The caller samples the child A and A's children (B, the init of its PID namespace:
 * /proc/A/task/A/children), and adds up, sample by sample, the wall time that the two did not
 * spend so. Without /proc/PID/schedstat or the children's list (kernels without
 * CONFIG_SCHED_INFO or CONFIG_PROC_CHILDREN, a /proc mounted hidepid=2 for a caller without
 * CAP_SYS_PTRACE), nothing is counted: the wall-clock bound alone ends such a child. These
 * files are readable by any user otherwise, the child's non-dumpable A and B too.
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
	uint64_t last_blkio; /* and their block I/O delay then (delay accounting), ns */
	bool last_in_io;    /* and whether one of them was waiting for the disk (state D) */
	uint64_t idle_ms;   /* wall time not on or waiting for a CPU or the disk, all added */
	uint64_t io_ms;     /* wall time counted as a wait for the disk, all samples added */
	uint64_t io_max_ms; /* the most of it that counts as not idle */
};

/* Starts watching pid (the caller's child) at now_ms (CLOCK_MONOTONIC); at most io_max_ms of
 * waits for the disk count as not idle. */
void sandbox_idle_start(struct sandbox_idle *w, pid_t pid, uint64_t now_ms, uint64_t io_max_ms);

/* A sample at now_ms (at most one counted per SANDBOX_IDLE_STEP_MS): the idle time so far. */
uint64_t sandbox_idle_sample(struct sandbox_idle *w, uint64_t now_ms);

#define SANDBOX_IDLE_STEP_MS 100u

#endif
