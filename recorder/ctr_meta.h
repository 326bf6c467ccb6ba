/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctr_meta.h - container metadata at record time: the containers that processes' cgroup
 * paths name are described by their runtime (ctr_docker.h: the Docker API, which podman
 * serves; ctr_oci.h: containerd's bundles) on a worker thread, so that a slow or hostile
 * runtime never holds up the recorder's loop. Answers are cached by container id, misses
 * too (asked again after CTR_META_RETRY_NS), and handed back to the loop to be stored
 * (store_put_container), again every CTR_META_REFRESH_NS while processes of the container
 * are stored, so that retention keeps them as long as their processes.
 *
 * Threads: ctr_meta_want() and ctr_meta_collect() are the loop's (they take a lock that the
 * worker holds only to pick up and put back an entry, never during a lookup).
 */
#ifndef ECAP_CTR_META_H
#define ECAP_CTR_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../schema/records.h"

#define CTR_META_API_MAX 4
#define CTR_META_SLOTS 512
#define CTR_META_TIMEOUT_MS 2000
#define CTR_META_RETRY_NS (30ull * 1000000000ull)
#define CTR_META_REFRESH_NS (60ull * 1000000000ull)

struct ctr_meta_options {
	/* Docker-API sockets asked (in order); none: CTR_PODMAN_SOCKET and CTR_DOCKER_SOCKET */
	const char *api[CTR_META_API_MAX];
	size_t n_api;
	const char *oci_root;      /* NULL: CTR_OCI_ROOT */
	int timeout_ms;            /* per answer; 0: CTR_META_TIMEOUT_MS */
	bool quiet;                /* no line on stderr when a runtime cannot be asked */
};

struct ctr_meta;

struct ctr_meta_stats {
	uint64_t wanted, asked, found, unknown, failed, dropped;
	uint64_t latency_max_ns, latency_sum_ns; /* of the lookups asked */
};

/* The cache, without the worker yet (no thread before the caller dropped privileges). */
int ctr_meta_new(const struct ctr_meta_options *opt, struct ctr_meta **out);
/* Starts the worker: it drops every capability of its own and blocks every signal. */
int ctr_meta_start(struct ctr_meta *m);

/* A process of container id (runtime: as its cgroup path says; pod_uid: the kubepods one, or
 * "") was seen at now_ns (CLOCK_MONOTONIC). Never waits for a runtime. */
void ctr_meta_want(struct ctr_meta *m, const char *id, const char *runtime, const char *pod_uid,
		   uint64_t now_ns);

/* Hands each answer to store to fn (wall: CLOCK_REALTIME now, its last_ns); fn's error stops
 * and is returned. */
int ctr_meta_collect(struct ctr_meta *m, uint64_t now_ns, uint64_t wall_ns,
		     int (*fn)(void *ctx, const struct ecap_container *c), void *ctx);

/* Waits at most wait_ms for the lookups asked so far, then stops the worker. */
void ctr_meta_stop(struct ctr_meta *m, int wait_ms);
void ctr_meta_get_stats(struct ctr_meta *m, struct ctr_meta_stats *st);
void ctr_meta_free(struct ctr_meta *m);

#endif
