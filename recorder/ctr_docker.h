/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctr_docker.h - a container's name, image and labels from the Docker API (Docker's own, or
 * podman system service, which serves the same API): GET /containers/ID/json over the
 * runtime's unix socket, through libcurl, bounded in time and size, the answer parsed with
 * json-c (ctr_json.h). Kubernetes pods run by Docker (cri-dockerd) are named by the
 * container's io.kubernetes.pod.* labels; a podman pod's, by the same labels on the pod.
 */
#ifndef ECAP_CTR_DOCKER_H
#define ECAP_CTR_DOCKER_H

#include <stddef.h>

#include "../schema/records.h"

#define CTR_DOCKER_SOCKET "/run/docker.sock"
#define CTR_PODMAN_SOCKET "/run/podman/podman.sock"

struct ctr_docker;

/* A client (one libcurl handle, reused). NULL when out of memory. */
struct ctr_docker *ctr_docker_new(void);
void ctr_docker_free(struct ctr_docker *d);

/*
 * Asks the Docker API at the unix socket `socket_path` about container id (64 hex digits),
 * giving up after timeout_ms. The socket must be one that root (or this process's user)
 * owns: another user's socket is not asked. 1: found, *out filled (runtime left as it is);
 * 0: the runtime does not know the container; <0: -errno with a reason in err (-ENOENT no
 * such socket, -EPERM not root's, -ETIMEDOUT, -E2BIG answer too large, -EBADMSG not an
 * answer about id, -EIO other).
 */
int ctr_docker_inspect(struct ctr_docker *d, const char *socket_path, const char *id,
		       int timeout_ms, struct ecap_container *out, char *err, size_t errlen);

/* The parsing part, for tests: an answer of n bytes about id into *out. 0, or -EBADMSG when
 * it is not JSON, or not about id. */
int ctr_docker_parse(const char *json, size_t n, const char *id, struct ecap_container *out);
/* podman's container inspection: the id of its pod (64 hex digits); -ENOENT none. */
int ctr_docker_parse_pod_of(const char *json, size_t n, char pod[ECAP_CONTAINER_ID_MAX]);
/* podman's pod inspection of pod: the Kubernetes pod its labels name, into *out. */
int ctr_docker_parse_pod(const char *json, size_t n, const char *pod, struct ecap_container *out);

#endif
