// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_calib_launcher.c - the calibration launcher processes (tls_calib_launcher.h): two, each
 * with its own socket and lock, one for calibrations and one for uprobe perf events, so that a
 * calibration (seconds, where the CPU is scarce) never holds up a probe's attachment.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privs.h"
#include "sandbox.h"
#include "tls_calib_launcher.h"
#include "tls_calibrate.h"
#include "uprobe_attach.h"

#define OUT_MAX 8192

struct launcher_reply {
	int32_t status;
	uint8_t timed_out;
	uint8_t idle;
	uint8_t pad[2];
	uint32_t out_len;
	uint32_t err_len;
};

#define MSG_MAX (sizeof(struct launcher_reply) + OUT_MAX + SANDBOX_ERR_MAX)

enum { FOR_CALIB, FOR_UPROBE, N_LAUNCHERS };

static struct launcher {
	int sock;
	pid_t pid;
	pthread_mutex_t lock;
} launchers[N_LAUNCHERS] = {
	{ .sock = -1, .lock = PTHREAD_MUTEX_INITIALIZER },
	{ .sock = -1, .lock = PTHREAD_MUTEX_INITIALIZER },
};

struct launcher_request {
	char kind;                /* 'C' calibrate, 'U' open a uprobe perf event */
	uint8_t retprobe;         /* 'U' */
	uint8_t pad[6];
	uint64_t offset;          /* 'U': the file offset */
};

/* Receives one request and its descriptors into fds. Returns how many descriptors, -ENODATA
 * at EOF, or another -errno (-EINVAL: a malformed request, its descriptors closed). */
static int recv_request(int s, struct launcher_request *req, int *fds)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { req, sizeof(*req) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;
	int nfds = 0;

	n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (nfds > 2) {
			for (int i = 0; i < nfds; i++)
				close(((int *)CMSG_DATA(c))[i]);
			return -EINVAL;
		}
		memcpy(fds, CMSG_DATA(c), (size_t)nfds * sizeof(int));
	}
	if (n != sizeof(*req) || (m.msg_flags & MSG_CTRUNC) ||
	    !((req->kind == 'C' && nfds >= 1) || (req->kind == 'U' && nfds == 1))) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -EINVAL;
	}
	return nfds;
}

/* 'U': the perf event for a uprobe at offset in the regular file fd, sent back as a
 * descriptor; or the error. */
static void serve_uprobe(int s, int fd, const struct launcher_request *req)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	int32_t status;
	struct iovec iov = { &status, sizeof(status) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	struct stat st;
	int pfd;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || req->offset >= (uint64_t)st.st_size)
		pfd = -EINVAL;
	else
		pfd = uprobe_perf_open(fd, req->offset, req->retprobe != 0);
	status = pfd < 0 ? pfd : 0;
	if (pfd >= 0) {
		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pfd, sizeof(int));
	}
	sendmsg(s, &m, MSG_NOSIGNAL);
	if (pfd >= 0)
		close(pfd);
}

static void send_reply(int s, const struct sandbox_result *res, int rc)
{
	static char buf[MSG_MAX];
	struct launcher_reply r = { .status = rc < 0 ? rc : res->status,
				    .timed_out = rc < 0 ? 0 : res->timed_out,
				    .idle = rc < 0 ? 0 : res->idle };
	size_t err_len = rc < 0 ? 0 : strlen(res->err);

	r.out_len = rc < 0 ? 0 : (uint32_t)res->out_len;
	r.err_len = (uint32_t)err_len;
	memcpy(buf, &r, sizeof(r));
	if (r.out_len)
		memcpy(buf + sizeof(r), res->out, r.out_len);
	if (err_len)
		memcpy(buf + sizeof(r) + r.out_len, res->err, err_len);
	send(s, buf, sizeof(r) + r.out_len + err_len, MSG_NOSIGNAL);
}

/* SIGTERM: the calibration under way is given up (its child killed), and we end. */
static void on_give_up(int sig)
{
	(void)sig;
	sandbox_give_up = 1;
}

static void __attribute__((noreturn)) launcher_main(int s)
{
	struct launcher_request req;
	struct sandbox_result res;
	char err[256];
	int fds[2], n, rc;

	struct sigaction give_up = { .sa_handler = on_give_up }; /* no SA_RESTART */

	signal(SIGINT, SIG_IGN); /* the recorder ends us when it is done, by closing the socket */
	sigaction(SIGTERM, &give_up, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM when the recorder dies: a calibration under way is given up with us */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
		_exit(1);
	if (dup2(s, 3) < 0)
		_exit(1);
	s = 3;
	syscall(SYS_close_range, 4, ~0u, 0);
	if (privs_drop(PRIVS_LAUNCHER, err, sizeof(err)) < 0) {
		fprintf(stderr, "ecap-rec: calibration launcher: %s\n", err);
		_exit(1);
	}
	prctl(PR_SET_NAME, "ecap-calib", 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0);
	for (;;) {
		if (sandbox_give_up)
			_exit(0);
		n = recv_request(s, &req, fds);
		if (n == -ENODATA)
			_exit(0);
		if (n < 0) {
			if (n == -EINTR)
				continue;
			if (n != -EINVAL)
				_exit(1);
			send_reply(s, NULL, n);
			continue;
		}
		if (req.kind == 'U') {
			serve_uprobe(s, fds[0], &req);
			close(fds[0]);
			continue;
		}
		rc = tls_calibrate_child_run(fds, (unsigned)n, &res);
		for (int i = 0; i < n; i++)
			close(fds[i]);
		send_reply(s, &res, rc);
		if (rc == 0)
			sandbox_result_free(&res);
	}
}

/* Forks one launcher on a socket pair of its own. 0 or -errno (with err). */
static int start_one(struct launcher *l, char *err, size_t errlen)
{
	int sv[2], rc;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		snprintf(err, errlen, "socketpair: %s", strerror(-rc));
		return rc;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-rc));
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (pid == 0) {
		close(sv[0]);
		launcher_main(sv[1]); /* keeps sv[1] alone of our descriptors */
	}
	close(sv[1]);
	l->sock = sv[0];
	l->pid = pid;
	return 0;
}

static void stop_one(struct launcher *l)
{
	int st;

	if (l->sock < 0)
		return;
	close(l->sock);
	l->sock = -1;
	while (waitpid(l->pid, &st, 0) < 0 && errno == EINTR)
		;
	l->pid = 0;
}

int tls_calib_launcher_start(char *err, size_t errlen)
{
	int rc = 0;

	for (int i = 0; i < N_LAUNCHERS && !rc; i++)
		if (launchers[i].sock < 0)
			rc = start_one(&launchers[i], err, errlen);
	if (rc < 0)
		tls_calib_launcher_stop();
	return rc;
}

bool tls_calib_launcher_running(void)
{
	return launchers[FOR_CALIB].sock >= 0;
}

pid_t tls_calib_launcher_pid(void)
{
	return launchers[FOR_CALIB].sock >= 0 ? launchers[FOR_CALIB].pid : 0;
}

/* Sends a request with its descriptors. 0 or -errno. */
static int send_request(int sock, const struct launcher_request *req, const int *fds,
			unsigned nfds)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { (void *)req, sizeof(*req) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = CMSG_SPACE(nfds * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	memset(cbuf, 0, sizeof(cbuf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int exchange(int sock, const int *fds, unsigned nfds, struct sandbox_result *res)
{
	struct launcher_request req = { .kind = 'C' };
	struct launcher_reply r;
	char *buf;
	ssize_t n;
	int rc = send_request(sock, &req, fds, nfds);

	if (rc < 0)
		return rc;
	buf = malloc(MSG_MAX);
	if (!buf)
		return -ENOMEM;
	do
		n = recv(sock, buf, MSG_MAX, 0);
	while (n < 0 && errno == EINTR);
	if (n < (ssize_t)sizeof(r)) {
		free(buf);
		return n < 0 ? -errno : -EPIPE;
	}
	memcpy(&r, buf, sizeof(r));
	if (r.status < 0 && r.out_len == 0) {
		free(buf);
		return r.status;
	}
	if (r.out_len > OUT_MAX || r.err_len > SANDBOX_ERR_MAX ||
	    sizeof(r) + (size_t)r.out_len + r.err_len != (size_t)n) {
		free(buf);
		return -EPROTO;
	}
	memset(res, 0, sizeof(*res));
	res->status = r.status;
	res->timed_out = r.timed_out != 0;
	res->idle = r.idle != 0;
	res->out = malloc(r.out_len + 1);
	if (!res->out) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(res->out, buf + sizeof(r), r.out_len);
	res->out[r.out_len] = '\0';
	res->out_len = r.out_len;
	memcpy(res->err, buf + sizeof(r) + r.out_len, r.err_len);
	res->err[r.err_len] = '\0';
	free(buf);
	return 0;
}

int tls_calib_launcher_run(const int *fds, unsigned nfds, struct sandbox_result *res)
{
	int rc;

	if (nfds < 1 || nfds > 2)
		return -EINVAL;
	pthread_mutex_lock(&launchers[FOR_CALIB].lock);
	rc = launchers[FOR_CALIB].sock >= 0 ? exchange(launchers[FOR_CALIB].sock, fds, nfds, res)
					    : -ENOTCONN;
	pthread_mutex_unlock(&launchers[FOR_CALIB].lock);
	return rc;
}

/* The reply to 'U': a status, and the perf event's descriptor when it is 0. */
static int uprobe_exchange(int sock, int fd, uint64_t offset, bool retprobe)
{
	struct launcher_request req = { .kind = 'U', .retprobe = retprobe, .offset = offset };
	char cbuf[CMSG_SPACE(sizeof(int))];
	int32_t status = -EPROTO;
	struct iovec iov = { &status, sizeof(status) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int pfd = -1, rc = send_request(sock, &req, &fd, 1);
	ssize_t n;

	if (rc < 0)
		return rc;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&pfd, CMSG_DATA(c), sizeof(int));
	if (n != sizeof(status) || status > 0 || (status == 0) != (pfd >= 0)) {
		if (pfd >= 0)
			close(pfd);
		return -EPROTO;
	}
	return status < 0 ? status : pfd;
}

int tls_calib_launcher_uprobe(int fd, uint64_t offset, bool retprobe)
{
	int rc;

	pthread_mutex_lock(&launchers[FOR_UPROBE].lock);
	rc = launchers[FOR_UPROBE].sock >= 0
		     ? uprobe_exchange(launchers[FOR_UPROBE].sock, fd, offset, retprobe)
		     : -ENOTCONN;
	pthread_mutex_unlock(&launchers[FOR_UPROBE].lock);
	return rc;
}

void tls_calib_launcher_abort(void)
{
	struct launcher *l = &launchers[FOR_CALIB];

	/* no lock: the calibration under way holds it; the socket stays open until stop */
	if (l->sock < 0)
		return;
	shutdown(l->sock, SHUT_RDWR);
	kill(l->pid, SIGTERM); /* it kills its sandboxed child, then ends (sandbox_give_up) */
}

void tls_calib_launcher_stop(void)
{
	for (int i = 0; i < N_LAUNCHERS; i++)
		stop_one(&launchers[i]);
}
