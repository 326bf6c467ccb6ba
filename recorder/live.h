/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live.h - the live source: TC eBPF capture on interfaces, socket ownership from tracepoints
 * and /proc, TLS secrets from uprobes on OpenSSL, all fed into the pipeline (pipeline.h).
 * Built when meson finds clang, bpftool and libbpf (ECAP_HAVE_LIVE).
 */
#ifndef ECAP_LIVE_H
#define ECAP_LIVE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"

#define LIVE_IFACES_MAX 32
#define LIVE_LIBSSL_MAX 16

struct live_options {
	const char *ifaces[LIVE_IFACES_MAX];
	size_t n_ifaces;
	uint32_t snaplen;            /* 0: whole packets */
	uint32_t ring_bytes;         /* packet ring buffer, a power of two; 0: the default */
	const char *filter;          /* libpcap expression limiting what is stored, or NULL */
	const char *libssl[LIVE_LIBSSL_MAX]; /* --libssl PATH, besides the system's and mapped ones */
	size_t n_libssl;
	bool no_tls;
	/* Docker-API sockets asked about containers (none: the default ones); no_containers:
	 * no runtime is asked at all */
	const char *container_api[4];
	size_t n_container_api;
	bool no_containers;
	const char *store_dir;       /* calibration results are cached under it */
	bool quiet;                  /* no status line */
};

/*
 * Attach, record until *stop is set (SIGINT/SIGTERM), detach everything, flush the pipeline.
 * Returns 0, or a negative errno after saying on stderr what failed (a missing capability:
 * -EPERM, which the caller turns into exit status 2).
 */
int live_run(const struct live_options *opt, struct pipeline *p, struct store *s,
	     volatile sig_atomic_t *stop);

#endif
