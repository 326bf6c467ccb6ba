/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sandbox.h - runs code ecap did not ship (a target TLS library, loaded to calibrate it) in a
 * child process that has no privileges to abuse.
 *
 * The child, in this order, before the function runs:
 *   - keeps only the descriptors it is given (renumbered 3, 4, ...), stdin /dev/null,
 *     stdout and stderr pipes to the caller;
 *   - rlimits: address space, CPU time (below), file size 0, no core dumps, few descriptors, no
 *     locked memory, no message queues;
 *   - becomes uid and gid 65534 (nobody, nogroup) with no supplementary groups, when it was
 *     root, and so loses every capability; not dumpable (no ptrace by other nobody
 *     processes), killed when the caller dies;
 *   - enters new user, mount, network, IPC, UTS, PID and cgroup namespaces where the kernel
 *     allows an unprivileged user namespace: there it is PID 1 of its own PID namespace, with
 *     a /proc of that namespace only, empty read-only tmpfs over /tmp, /var/tmp, /dev/shm,
 *     /home, /root, /run, /mnt, /media and /srv, no network device but a down lo; then it
 *     drops the user namespace's capabilities and bounding set as well;
 *   - is sent SIGKILL (which nothing can catch) when its CPU time is used up (RLIMIT_CPU:
 *     cpu_ms, in whole seconds rounded up) or, SANDBOX_WALL_PER_CPU times later, its
 *     wall-clock time (a timer);
 *   - is killed by the caller once its processes have spent SANDBOX_IDLE_MS in all neither on
 *     a CPU, nor waiting for one, nor waiting for the disk (sandbox_idle.h: a sleep, a futex or
 *     a read that never comes), so that a child that waits without working ends within
 *     seconds, one starved of the CPU (on a run queue) still has its CPU bound, and one whose
 *     reads wait for a slow disk has up to cpu_ms of such waits;
 *   - clears its environment; sets PR_SET_NO_NEW_PRIVS;
 *   - installs a seccomp filter (libseccomp) that kills the process on any system call not
 *     needed to load a library and run an in-memory handshake: no socket, connect, execve,
 *     ptrace, kill, open for writing, mount, bpf, perf_event_open, clone, ...
 * What the child writes on stdout is its answer (at most out_max bytes are kept); its stderr is
 * kept as diagnostics (at most SANDBOX_ERR_MAX bytes). Both are untrusted input to the caller.
 */
#ifndef ECAP_SANDBOX_H
#define ECAP_SANDBOX_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define SANDBOX_MAX_FDS 4
#define SANDBOX_ERR_MAX 1024
#define SANDBOX_UID 65534
#define SANDBOX_GID 65534
/* The wall-clock bound, as a multiple of the CPU bound (at least 10 s): a child that gets a
 * twentieth of a CPU still ends by its work or its CPU bound. */
#define SANDBOX_WALL_PER_CPU 20
/* The idle bound: wall time in all that the child's processes neither ran, nor waited to run,
 * nor waited for the disk (the reads of a calibration's files; cpu_ms of such waits at most). */
#define SANDBOX_IDLE_MS 5000u

struct sandbox_result {
	int status;                   /* waitpid() status of the child */
	bool timed_out;
	bool idle;                    /* timed out by the idle bound (SANDBOX_IDLE_MS) */
	char *out;                    /* its stdout, NUL-terminated (malloc'ed; free it) */
	size_t out_len;
	char err[SANDBOX_ERR_MAX + 1]; /* its stderr, NUL-terminated */
};

/*
 * Runs fn(arg) in a sandboxed child (see above); fds[i] is descriptor 3 + i there. fn writes
 * its answer on stdout and returns 0 (exit status 0) or not (exit status 1). Returns 0 with
 * *res filled once the child has ended (whatever it did), or a negative errno when it could not
 * be started. cpu_ms bounds the CPU time of each of the child's processes, set-up included;
 * SANDBOX_IDLE_MS the time they spend neither on a CPU nor waiting for one; and
 * SANDBOX_WALL_PER_CPU * cpu_ms (at least 10 s) its whole life. The caller waits that long at
 * most: call it off any thread that must not wait (live_tls.c calibrates on a thread of its own).
 */
int sandbox_run(int (*fn)(void *arg), void *arg, const int *fds, unsigned nfds, size_t out_max,
		unsigned cpu_ms, struct sandbox_result *res);

/*
 * Set (from a signal handler) to give up the child under way: sandbox_run() kills it and
 * returns with res->timed_out. The calibration launcher's SIGTERM (tls_calib_launcher.h).
 */
extern volatile sig_atomic_t sandbox_give_up;

/* Frees res->out. */
void sandbox_result_free(struct sandbox_result *res);

/*
 * One line describing how the child ended: "exit status 0", "killed by the sandbox (SIGSYS:
 * a forbidden system call)", "timed out", ... into buf.
 */
const char *sandbox_describe(const struct sandbox_result *res, char *buf, size_t len);

#endif
