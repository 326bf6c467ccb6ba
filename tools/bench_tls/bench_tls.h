/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench_tls.h - what each TLS library's client file (ossl.c, gnutls.c) gives main.c, the
 * loop of the TLS library benchmark (tools/bench_tls_libs.sh): open a session on a connected
 * socket (the handshake done), write on it, close it.
 */
#ifndef ECAP_BENCH_TLS_H
#define ECAP_BENCH_TLS_H

#include <stddef.h>

struct bench_tls_lib {
	const char *name;
	/* 0 or a negative errno; once per process. */
	int (*init)(void);
	/* The handshake on the connected socket FD; NULL when it failed. */
	void *(*open)(int fd);
	/* LEN bytes as one record; 0 or -1. */
	int (*write)(void *session, const void *buf, size_t len);
	/* Sends the close alert and frees the session (not the socket). */
	void (*close)(void *session);
};

extern const struct bench_tls_lib bench_tls_lib;

#endif
