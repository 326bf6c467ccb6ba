/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctr_oci.h - a containerd container's name, image and pod from its OCI bundle: containerd
 * speaks gRPC (no library for it is worth its weight here), but the bundle it hands to runc,
 * ROOT/<namespace>/<id>/config.json, carries the CRI plugin's annotations
 * (io.kubernetes.cri.container-name, image-name, sandbox-name, sandbox-namespace,
 * sandbox-uid). ROOT is normally /run/containerd/io.containerd.runtime.v2.task.
 */
#ifndef ECAP_CTR_OCI_H
#define ECAP_CTR_OCI_H

#include <stddef.h>

#include "../schema/records.h"

#define CTR_OCI_ROOT "/run/containerd/io.containerd.runtime.v2.task"
#define CTR_OCI_CONFIG_MAX (1024u * 1024)

/*
 * Looks for container id (64 hex digits) in every namespace under root. The path to root
 * must be one only root (or this process's user) could have made (store_path.h's rules);
 * below it no symlink is followed, the bundle and config.json must be root's (or ours), not
 * writable by others, and config.json a regular file of at most CTR_OCI_CONFIG_MAX bytes.
 * 1: found, *out filled (runtime "containerd", labels "" as the bundle has none); 0: no
 * bundle of that id; <0: -errno with a reason in err.
 */
int ctr_oci_lookup(const char *root, const char *id, struct ecap_container *out, char *err,
		   size_t errlen);

/* The parsing part, for tests: config.json's n bytes into *out. 0 or -EBADMSG. */
int ctr_oci_parse(const char *json, size_t n, struct ecap_container *out);

#endif
