// SPDX-License-Identifier: GPL-2.0-only
/*
 * sandbox.c - the sandboxed child that runs foreign code (sandbox.h).
 *
 * Process tree: the caller forks A. A sets rlimits, drops to nobody, and tries to unshare a new
 * user namespace with mount, net, IPC, UTS, PID and cgroup namespaces. When that works, A forks
 * B, which is PID 1 of the new PID namespace, and A only waits for B and ends the way B ended
 * (exit status or signal). B (or A itself, when the kernel refuses the namespaces) finishes the
 * set-up and calls the function under seccomp. Each of A and B has RLIMIT_CPU and arms its own
 * SIGKILL timer on wall time, so the caller can always wait for A without having to signal a
 * process of another uid. The bound that matters is CPU time: a child starved of the CPU (a
 * busy host, sanitizers) is not killed for being slow, nor one that waits for a slow disk (for
 * as long as its CPU bound at most). One that waits otherwise (a sleep, a futex that never
 * comes) is killed by the caller after SANDBOX_IDLE_MS of such waits (sandbox_idle.h), and the
 * wall-clock bound, many times longer, is the last resort.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <grp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <sys/capability.h>

#include "sandbox.h"
#include "sandbox_idle.h"

#define FD_FIRST 3
#define ADDRESS_SPACE (4ull << 30) /* dlmopen'ed libcrypto, its heap, our tracking tables */
#define CHILD_FDS 64

/* Sanitizer runtimes reserve terabytes of shadow address space: no RLIMIT_AS under them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

/* Exit status of A or B when the set-up itself failed (never the function's). */
#define SETUP_FAILED 125

static const char *const hidden_dirs[] = { "/tmp",  "/var/tmp", "/dev/shm", "/home", "/root",
					   "/run",  "/mnt",     "/media",   "/srv" };

static void die(const char *what)
{
	dprintf(2, "sandbox: %s: %s\n", what, strerror(errno));
	_exit(SETUP_FAILED);
}

/* A SIGKILL for this process after ms of wall time: it cannot be caught, blocked or
 * ignored (except by B, the init of its PID namespace, which A's ends: PR_SET_PDEATHSIG).
 * Whether it is armed. */
static bool kill_timer(uint64_t ms)
{
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGKILL };
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ms / 1000),
						.tv_nsec = (long)(ms % 1000) * 1000000L } };
	timer_t t;

	return timer_create(CLOCK_MONOTONIC, &ev, &t) == 0 && timer_settime(t, 0, &its, NULL) == 0;
}

static void arm_kill_timer(uint64_t ms)
{
	if (!kill_timer(ms))
		die("timer");
}

/* The wall-clock bound: SANDBOX_WALL_PER_CPU times the CPU bound, and never below 10 s. */
static uint64_t wall_ms(unsigned cpu_ms)
{
	uint64_t w = (uint64_t)cpu_ms * SANDBOX_WALL_PER_CPU;

	return w < 10000 ? 10000 : w;
}

static void set_limit(int res, rlim_t v)
{
	struct rlimit rl = { v, v };

	if (setrlimit(res, &rl) < 0)
		die("setrlimit");
}

/* stdin /dev/null, stdout/stderr the pipes, fds[] at 3.., everything else closed. */
static void arrange_fds(int out, int err, const int *fds, unsigned nfds)
{
	int moved[2 + SANDBOX_MAX_FDS], nul, i;

	/* Move every descriptor we keep above the range we fill first: no dup2 clobbers one. */
	moved[0] = fcntl(out, F_DUPFD, FD_FIRST + SANDBOX_MAX_FDS + 8);
	moved[1] = fcntl(err, F_DUPFD, FD_FIRST + SANDBOX_MAX_FDS + 8);
	for (i = 0; i < (int)nfds; i++)
		moved[2 + i] = fcntl(fds[i], F_DUPFD, FD_FIRST + SANDBOX_MAX_FDS + 8);
	for (i = 0; i < 2 + (int)nfds; i++)
		if (moved[i] < 0)
			die("fcntl");
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(moved[0], 1) < 0 || dup2(moved[1], 2) < 0)
		die("dup2");
	for (i = 0; i < (int)nfds; i++)
		if (dup2(moved[2 + i], FD_FIRST + i) < 0)
			die("dup2");
	if (syscall(SYS_close_range, FD_FIRST + nfds, ~0u, 0) < 0)
		die("close_range");
}

/* Drops to nobody when root; after this the process has no capability. */
static void drop_user(void)
{
	uid_t r, e, s;

	if (geteuid() == 0 || getuid() == 0) {
		/* The bounding set first, where we may (CAP_SETPCAP): nothing can come back even
		 * without the user namespace (which drops its own bounding set below). */
		for (int c = 0; c <= CAP_LAST_CAP; c++)
			if (prctl(PR_CAPBSET_READ, c) == 1)
				prctl(PR_CAPBSET_DROP, c);
		if (setgroups(0, NULL) < 0 || setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) < 0 ||
		    setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) < 0)
			die("cannot become nobody");
	}
	if (getresuid(&r, &e, &s) < 0 || r == 0 || e == 0 || s == 0)
		die("still root");
	if (prctl(PR_SET_DUMPABLE, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		die("prctl");
}

/* Drops whatever capabilities the process holds (in a user namespace: that namespace's). */
static void drop_caps(void)
{
	cap_t none = cap_init();
	int c;

	for (c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_READ, c) == 1 && prctl(PR_CAPBSET_DROP, c) < 0 &&
		    errno != EPERM)
			die("PR_CAPBSET_DROP");
	if (!none || cap_set_proc(none) < 0)
		die("cap_set_proc");
	cap_free(none);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die("ambient");
}

/* In the new namespaces: a private mount tree, our own /proc, empty places to write. */
static void shape_namespaces(void)
{
	size_t i;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("mount private");
	/* Best effort: a kernel that hides part of /proc (inside a container) refuses a new one;
	 * the old one then shows the host's processes, none of which nobody may trace. */
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2");
	for (i = 0; i < sizeof(hidden_dirs) / sizeof(hidden_dirs[0]); i++)
		mount("tmpfs", hidden_dirs[i], "tmpfs",
		      MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555");
	sethostname("ecap-sandbox", 12);
}

#define ALLOW(name) (rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 0))
#define ALLOW1(name, cmp) (rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 1, cmp))

/*
 * What loading a library (ld.so), OpenSSL's in-memory handshakes and our own search need;
 * anything else kills the process. Files open for reading only (the dynamic loader, and
 * OpenSSL's own config and random seed files); writes go to the stdout and stderr pipes only.
 */
static void install_seccomp(void)
{
	const uint64_t wr = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | __O_TMPFILE;
	static const int plain[] = {
		SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(close),
		SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(lseek),
		SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink),
		SCMP_SYS(readlinkat), SCMP_SYS(getdents64), SCMP_SYS(getcwd), SCMP_SYS(mmap),
		SCMP_SYS(mprotect), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk),
		SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(getpid), SCMP_SYS(gettid),
		SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
		SCMP_SYS(getppid), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
		SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrandom), SCMP_SYS(uname),
		SCMP_SYS(sched_getaffinity), SCMP_SYS(sched_yield), SCMP_SYS(set_robust_list),
		SCMP_SYS(rseq), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(exit),
		SCMP_SYS(exit_group), SCMP_SYS(getrlimit), SCMP_SYS(sysinfo), SCMP_SYS(fcntl),
		SCMP_SYS(restart_syscall), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
		SCMP_SYS(poll), SCMP_SYS(ppoll),
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	size_t i;
	int rc = 0;

	if (!ctx)
		die("seccomp_init");
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain[i], 0);
	ALLOW1(openat, SCMP_A2(SCMP_CMP_MASKED_EQ, wr, 0));
	ALLOW1(open, SCMP_A1(SCMP_CMP_MASKED_EQ, wr, 0));
	ALLOW1(write, SCMP_A0(SCMP_CMP_EQ, 1));
	ALLOW1(write, SCMP_A0(SCMP_CMP_EQ, 2));
	ALLOW1(writev, SCMP_A0(SCMP_CMP_EQ, 1));
	ALLOW1(writev, SCMP_A0(SCMP_CMP_EQ, 2));
	/* Our search reads its own memory without faulting; no other process is reachable. */
	ALLOW1(process_vm_readv, SCMP_A0(SCMP_CMP_EQ, (uint64_t)getpid()));
	/* prlimit64 to read limits only (new limit NULL); ioctl: isatty() of stdio. */
	ALLOW1(prlimit64, SCMP_A2(SCMP_CMP_EQ, 0));
	ALLOW1(ioctl, SCMP_A1(SCMP_CMP_EQ, TCGETS));
	if (rc < 0)
		die("seccomp_rule_add");
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		die("seccomp_load");
	}
}

/* A waits for B and ends as B ended, so that the caller sees B's status. */
static void wait_and_mirror(pid_t b)
{
	int st;

	while (waitpid(b, &st, 0) < 0)
		if (errno != EINTR)
			_exit(SETUP_FAILED);
	if (WIFSIGNALED(st)) {
		signal(WTERMSIG(st), SIG_DFL);
		raise(WTERMSIG(st));
		_exit(128 + WTERMSIG(st));
	}
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : SETUP_FAILED);
}

static void child(int (*fn)(void *arg), void *arg, int out, int err, const int *fds,
		  unsigned nfds, unsigned cpu_ms)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGINT,
				    SIGPIPE, SIGHUP, SIGALRM, SIGCHLD };
	const int ns = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
		       CLONE_NEWPID | CLONE_NEWCGROUP;
	pid_t caller = getppid();
	sigset_t none;
	bool in_ns;
	size_t i;
	pid_t b;
	int rc;

	/* A crash must end the child, whatever handlers the caller set. */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	arrange_fds(out, err, fds, nfds);
#ifndef SANITIZED
	set_limit(RLIMIT_AS, ADDRESS_SPACE);
#endif
	/* The CPU bound, each process's own (inherited by B): at it the kernel sends SIGKILL
	 * (soft = hard), which even B, the init of its PID namespace, cannot ignore (a timer's
	 * SIGKILL it would). Whole seconds, rounded up. */
	set_limit(RLIMIT_CPU, (cpu_ms + 999) / 1000);
	set_limit(RLIMIT_FSIZE, 0);
	set_limit(RLIMIT_CORE, 0);
	set_limit(RLIMIT_NOFILE, CHILD_FDS);
	set_limit(RLIMIT_MEMLOCK, 0);
	set_limit(RLIMIT_MSGQUEUE, 0);
	drop_user();
	arm_kill_timer(wall_ms(cpu_ms) + 500);
	in_ns = unshare(ns) == 0;
	/* A new user namespace is a change of credentials, which clears the parent-death signal:
	 * set again, so that A dies with a caller that may signal it (kill_child() for one that
	 * may not), unless the caller is gone already. */
	if (in_ns && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != caller))
		die("the caller is gone");
	if (!in_ns)
		dprintf(2, "sandbox: no namespaces (%s); uid, seccomp and rlimits only\n",
			strerror(errno));
	if (in_ns) {
		b = fork();
		if (b < 0)
			die("fork");
		if (b > 0)
			wait_and_mirror(b);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			die("prctl");
		arm_kill_timer(wall_ms(cpu_ms));
		shape_namespaces();
	}
	drop_caps();
	if (clearenv() != 0)
		die("clearenv");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("no_new_privs");
	install_seccomp();
	rc = fn(arg);
	fflush(NULL);
	_exit(rc == 0 ? 0 : 1);
}

volatile sig_atomic_t sandbox_give_up;

/* The life of kill_child()'s short-lived process at most. */
#define KILLER_MS 2000u

/*
 * SIGKILL for the child A, which B follows (its parent-death signal). A is another user now:
 * a caller that may not signal it but may change its uid (the launcher: CAP_SETUID, not
 * CAP_KILL) sends it as that user, from a short-lived process of its own. Neither the
 * kernel's parent-death signal nor the caller's own kill reaches A from such a caller.
 */
static void kill_child(pid_t pid)
{
	pid_t k;

	if (kill(pid, SIGKILL) == 0 || errno != EPERM)
		return;
	k = fork();
	if (k == 0) {
		/* Its own SIGKILL first: as the sandbox's user it may be stopped (SIGSTOP) by any
		 * process of that user (kill(-1, SIGSTOP)), and the caller waits for it. */
		if (kill_timer(KILLER_MS) && setgroups(0, NULL) == 0 &&
		    setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) == 0 &&
		    setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) == 0)
			kill(pid, SIGKILL);
		_exit(0);
	}
	while (k > 0 && waitpid(k, NULL, 0) < 0 && errno == EINTR)
		;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The longest a wait for the child blocks before it looks at sandbox_give_up again: a signal
 * that comes between that look and the call that blocks does not interrupt the call. */
#define GIVE_UP_LOOK_MS 100u

static int look_ms(uint64_t deadline, uint64_t t)
{
	return deadline - t < GIVE_UP_LOOK_MS ? (int)(deadline - t) : (int)GIVE_UP_LOOK_MS;
}

/* Whether the child has been idle for its bound: then res says so. */
static bool idle_out(struct sandbox_idle *idle, struct sandbox_result *res, uint64_t t)
{
	if (sandbox_idle_sample(idle, t) < SANDBOX_IDLE_MS)
		return false;
	res->timed_out = true;
	res->idle = true;
	return true;
}

/* Reads both pipes until they close or time is up (the deadline, the idle bound); bytes
 * beyond each cap are discarded. */
static void read_pipes(int out, int err, struct sandbox_result *res, size_t out_max,
		       uint64_t timeout_ms, struct sandbox_idle *idle)
{
	uint64_t deadline = now_ms() + timeout_ms, t;
	struct pollfd p[2] = { { .fd = out, .events = POLLIN }, { .fd = err, .events = POLLIN } };
	char sink[4096];
	size_t err_len = 0;
	ssize_t n;
	int i;

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		t = now_ms();
		if (t >= deadline) {
			res->timed_out = true;
			break;
		}
		if (sandbox_give_up || idle_out(idle, res, t)) {
			res->timed_out = true;
			break;
		}
		if (poll(p, 2, look_ms(deadline, t)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (i == 0 && res->out && res->out_len < out_max)
				n = read(out, res->out + res->out_len, out_max - res->out_len);
			else if (i == 1 && err_len < SANDBOX_ERR_MAX)
				n = read(err, res->err + err_len, SANDBOX_ERR_MAX - err_len);
			else
				n = read(p[i].fd, sink, sizeof(sink));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				p[i].fd = -1;
				continue;
			}
			if (i == 0 && res->out && res->out_len < out_max)
				res->out_len += (size_t)n;
			else if (i == 1 && err_len < SANDBOX_ERR_MAX)
				err_len += (size_t)n;
		}
	}
	if (res->out)
		res->out[res->out_len] = '\0';
	res->err[err_len] = '\0';
}

/*
 * Waits for the child A to end. Its pipes closed, it is most often gone or going; but without
 * namespaces A itself runs the library, which may close them and live on (a sleep, a spin):
 * it is killed once the caller gives it up, the deadline passes or it has been idle for its
 * bound (res->timed_out set), and killed again every KILLER_MS while it is still there
 * (kill_child's process, a process of the sandbox's user, may have been stopped before its
 * kill by another of that user). 0 with res->status, or -errno.
 */
static int wait_child(pid_t pid, uint64_t deadline, struct sandbox_idle *idle,
		      struct sandbox_result *res)
{
	bool *killed = &res->timed_out;
	int *status = &res->status;
	uint64_t next_kill = now_ms() + KILLER_MS, t;
	unsigned pause_ms = 1;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r != 0)
			continue;
		t = now_ms();
		if (*killed ? t >= next_kill
			    : (sandbox_give_up || t >= deadline || idle_out(idle, res, t))) {
			kill_child(pid);
			*killed = true;
			next_kill = now_ms() + KILLER_MS;
		}
		poll(NULL, 0, (int)pause_ms);
		if (pause_ms < GIVE_UP_LOOK_MS)
			pause_ms *= 2;
	}
}

int sandbox_run(int (*fn)(void *arg), void *arg, const int *fds, unsigned nfds, size_t out_max,
		unsigned cpu_ms, struct sandbox_result *res)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, rc;
	struct sandbox_idle idle;
	uint64_t deadline;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (nfds > SANDBOX_MAX_FDS)
		return -EINVAL;
	res->out = malloc(out_max + 1);
	if (!res->out)
		return -ENOMEM;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto fail;
	}
	if (pid == 0)
		child(fn, arg, out[1], err[1], fds, nfds, cpu_ms);
	close(out[1]);
	close(err[1]);
	sandbox_idle_start(&idle, pid, now_ms(), cpu_ms);
	deadline = now_ms() + wall_ms(cpu_ms) + 1000;
	read_pipes(out[0], err[0], res, out_max, deadline - now_ms(), &idle);
	close(out[0]);
	close(err[0]);
	/* The child's own SIGKILL timers end it within its bounds whatever it does; kill is a
	 * shortcut, and the way to give it up (sandbox_give_up) before them. */
	if (res->timed_out)
		kill_child(pid);
	rc = wait_child(pid, deadline, &idle, res);
	if (rc < 0)
		goto fail_closed;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
fail_closed:
	free(res->out);
	res->out = NULL;
	return rc;
}

void sandbox_result_free(struct sandbox_result *res)
{
	free(res->out);
	res->out = NULL;
}

const char *sandbox_describe(const struct sandbox_result *res, char *buf, size_t len)
{
	int sig;

	if (res->idle) {
		snprintf(buf, len, "timed out: %u s neither running nor waiting for a CPU or the disk",
			 SANDBOX_IDLE_MS / 1000);
	} else if (res->timed_out) {
		snprintf(buf, len, "timed out");
	} else if (WIFSIGNALED(res->status)) {
		sig = WTERMSIG(res->status);
		if (sig == SIGSYS)
			snprintf(buf, len, "killed by the sandbox (SIGSYS: a forbidden system call)");
		else if (sig == SIGKILL)
			snprintf(buf, len, "killed (SIGKILL: out of CPU time or of its wall-clock "
				 "bound)");
		else if (sig == SIGXCPU)
			snprintf(buf, len, "killed (SIGXCPU: out of CPU time)");
		else
			snprintf(buf, len, "killed by signal %d (%s)", sig, strsignal(sig));
	} else if (WIFEXITED(res->status) && WEXITSTATUS(res->status) == SETUP_FAILED) {
		snprintf(buf, len, "the sandbox could not be set up");
	} else {
		snprintf(buf, len, "exit status %d", WEXITSTATUS(res->status));
	}
	return buf;
}
