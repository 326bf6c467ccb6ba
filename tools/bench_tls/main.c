// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - the client loop of the TLS library benchmark (tools/bench_tls_libs.sh), linked
 * with one library's file (ossl.c for OpenSSL and BoringSSL, gnutls.c for GnuTLS):
 *
 *   bench_tls_LIB PORT handshakes N        N full handshakes to 127.0.0.1:PORT, one per TCP
 *                                          connection, each closed once done
 *   bench_tls_LIB PORT writes N SIZE       one handshake, then N writes of SIZE bytes
 *
 * It first sleeps WAIT_MS (so that a recorder attaches its probes at the exec, not during the
 * loop) and makes one handshake (or write) that is not counted, prints "start" as the counted
 * ones begin, then "N CPU_US WALL_US": the CPU (user + system, all threads, getrusage) and the
 * wall time of the N counted operations alone, without the program's start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_tls.h"

#define WAIT_MS 500
#define MAX_SIZE 16384

static int tcp_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One session: connect, handshake; *fd is the socket. */
static void *session_open(int port, int *fd)
{
	void *s;

	*fd = tcp_connect(port);
	if (*fd < 0) {
		fprintf(stderr, "%s: connect: %s\n", bench_tls_lib.name, strerror(errno));
		return NULL;
	}
	s = bench_tls_lib.open(*fd);
	if (!s) {
		fprintf(stderr, "%s: handshake failed\n", bench_tls_lib.name);
		close(*fd);
	}
	return s;
}

static void session_close(void *s, int fd)
{
	bench_tls_lib.close(s);
	close(fd);
}

static int handshake_once(int port)
{
	int fd;
	void *s = session_open(port, &fd);

	if (!s)
		return -1;
	session_close(s, fd);
	return 0;
}

static double cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
}

static double wall_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	static char buf[MAX_SIZE];
	long n, size = 0, i;
	int port, fd = -1, writes;
	void *s = NULL;
	double c0, w0;

	writes = argc == 5 && !strcmp(argv[2], "writes");
	if (!(argc == 4 && !strcmp(argv[2], "handshakes")) && !writes) {
		fprintf(stderr, "usage: %s PORT handshakes N | PORT writes N SIZE\n", argv[0]);
		return 2;
	}
	port = atoi(argv[1]);
	n = atol(argv[3]);
	if (writes)
		size = atol(argv[4]);
	if (port <= 0 || port > 65535 || n <= 0 || (writes && (size <= 0 || size > MAX_SIZE))) {
		fprintf(stderr, "%s: bad port, count or size\n", argv[0]);
		return 2;
	}
	memset(buf, 'x', sizeof(buf));
	signal(SIGPIPE, SIG_IGN); /* a closed connection is reported, not a silent death */
	if (bench_tls_lib.init() < 0) {
		fprintf(stderr, "%s: cannot initialise the library\n", bench_tls_lib.name);
		return 1;
	}
	usleep(WAIT_MS * 1000);
	if (writes) {
		s = session_open(port, &fd);
		if (!s || bench_tls_lib.write(s, buf, (size_t)size) < 0)
			return 1;
	} else if (handshake_once(port) < 0) {
		return 1;
	}
	printf("start\n");
	fflush(stdout);
	c0 = cpu_us();
	w0 = wall_us();
	for (i = 0; i < n; i++) {
		if (writes ? bench_tls_lib.write(s, buf, (size_t)size) : handshake_once(port)) {
			fprintf(stderr, "%s: failed at %ld of %ld\n", bench_tls_lib.name, i, n);
			return 1;
		}
	}
	printf("%ld %.0f %.0f\n", n, cpu_us() - c0, wall_us() - w0);
	if (writes)
		session_close(s, fd);
	return 0;
}
