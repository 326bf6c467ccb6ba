// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctr_oci.c - containerd's OCI bundles (ctr_oci.h).
 *
 * The walk: root opened through store_path_open() (every component checked), then one
 * openat() per step with O_NOFOLLOW: the namespace directory (names listed from root, each a
 * plain name), the bundle directory named by the id, config.json. Each is checked with fstat
 * on the open descriptor (what was opened is what is checked). A namespace that lacks the id
 * is skipped; the first bundle found answers.
 */
#include "ctr_oci.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../schema/store_path.h"
#include "ctr_json.h"
#include "proc_info.h"

int ctr_oci_parse(const char *json, size_t n, struct ecap_container *out)
{
	struct json_object *doc = ctr_json_parse(json, n), *ann;

	if (!doc)
		return -EBADMSG;
	ann = ctr_json_object(doc, "annotations");
	if (ann) {
		ctr_json_key_text(ann, "io.kubernetes.cri.container-name", out->name,
				  sizeof(out->name));
		ctr_json_key_text(ann, "io.kubernetes.cri.image-name", out->image,
				  sizeof(out->image));
		ctr_json_pod(ann, "io.kubernetes.cri.sandbox-name",
			     "io.kubernetes.cri.sandbox-namespace", "io.kubernetes.cri.sandbox-uid",
			     out);
	}
	json_object_put(doc);
	return 0;
}

/* An open directory or file: root's or ours, not writable by group or others. */
static bool owned(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (st.st_uid == 0 || st.st_uid == geteuid()) &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* config.json of the bundle directory idfd: 1 read into *out, or -errno. */
static int read_config(int idfd, struct ecap_container *out, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t got;
	int fd, rc;

	fd = openat(idfd, "config.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "config.json: %s", strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !owned(fd) ||
	    st.st_size > CTR_OCI_CONFIG_MAX) {
		snprintf(err, errlen, "config.json: not a file of root's of at most 1 MiB");
		close(fd);
		return -EPERM;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	got = (size_t)proc_info_read_fd(fd, buf, (size_t)st.st_size + 1);
	close(fd);
	rc = ctr_oci_parse(buf, got, out);
	free(buf);
	if (rc < 0)
		snprintf(err, errlen, "config.json: not an OCI configuration (JSON)");
	return rc < 0 ? rc : 1;
}

int ctr_oci_lookup(const char *root, const char *id, struct ecap_container *out, char *err,
		   size_t errlen)
{
	struct dirent *e;
	DIR *dir;
	int rootfd, nsfd, idfd, rc = 0;

	err[0] = '\0';
	if (strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64) {
		snprintf(err, errlen, "not a container id");
		return -EINVAL;
	}
	rootfd = store_path_open(root, false, err, errlen);
	if (rootfd < 0)
		return rootfd;
	dir = fdopendir(rootfd);
	if (!dir) {
		rc = -errno;
		close(rootfd);
		return rc;
	}
	while (rc == 0 && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		nsfd = openat(rootfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nsfd < 0)
			continue;
		idfd = owned(nsfd) ? openat(nsfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						O_CLOEXEC) : -1;
		close(nsfd);
		if (idfd < 0)
			continue;
		if (!owned(idfd)) {
			snprintf(err, errlen, "%s/%s/%.12s: not root's: not read", root, e->d_name,
				 id);
			rc = -EPERM;
		} else {
			memset(out, 0, sizeof(*out));
			rc = read_config(idfd, out, err, errlen);
			if (rc == 1) {
				snprintf(out->id, sizeof(out->id), "%s", id);
				snprintf(out->runtime, sizeof(out->runtime), "containerd");
			}
		}
		close(idfd);
	}
	closedir(dir);
	return rc;
}
