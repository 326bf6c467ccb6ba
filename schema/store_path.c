// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_path.c - walking a store's path one component at a time (store_path.h).
 *
 * Each component is opened O_PATH | O_NOFOLLOW relative to the last one and checked with fstat
 * before it is used: a directory or symlink must be owned by root or by us, a directory that
 * group or others may write must be sticky; a symlink's target is walked the same way (from
 * "/" when absolute). The last component must be a directory of ours that only we may write.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_path.h"

#define MAX_LINKS 40

struct walk {
	char shown[PATH_MAX];  /* the components walked so far, for messages */
	int links;
	char *err;
	size_t errlen;
};

static int refuse(struct walk *w, int rc, const char *why)
{
	snprintf(w->err, w->errlen, "%s: %s", w->shown[0] ? w->shown : "/", why);
	return rc;
}

static bool ours(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

static void shown_add(struct walk *w, const char *c)
{
	size_t n = strlen(w->shown);

	snprintf(w->shown + n, sizeof(w->shown) - n, "%s%s", n && w->shown[n - 1] == '/' ? "" : "/",
		 c);
}

static int walk_path(struct walk *w, int dirfd, const char *path, bool last_is_store, bool create,
		     int *out);

/* One component c of a path, from dirfd; *next is its O_PATH descriptor (a directory). */
static int step(struct walk *w, int dirfd, const char *c, bool is_last, bool create, int *next)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd, rc;

	shown_add(w, c);
	fd = openat(dirfd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && is_last && create) {
		if (mkdirat(dirfd, c, 0700) < 0 && errno != EEXIST)
			return refuse(w, -errno, strerror(errno));
		fd = openat(dirfd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return refuse(w, -errno, errno == ENOENT ? "no such directory" : strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return refuse(w, rc, strerror(-rc));
	}
	if (!ours(&st)) {
		close(fd);
		return refuse(w, -EPERM, "owned by another user (uid not root nor ours); a store "
				  "is reached only through what root or its owner controls");
	}
	if (S_ISLNK(st.st_mode)) {
		if (++w->links > MAX_LINKS) {
			close(fd);
			return refuse(w, -ELOOP, "too many symbolic links");
		}
		n = readlinkat(fd, "", target, sizeof(target) - 1);
		close(fd);
		if (n < 0)
			return refuse(w, -errno, strerror(errno));
		target[n] = '\0';
		return walk_path(w, dirfd, target, is_last, create, next);
	}
	if (!S_ISDIR(st.st_mode)) {
		close(fd);
		return refuse(w, -ENOTDIR, "not a directory");
	}
	if (is_last && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return refuse(w, -EPERM, "the store directory is writable by group or others");
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		close(fd);
		return refuse(w, -EPERM, "writable by group or others and not sticky: they could "
				  "replace what lies under it");
	}
	*next = fd;
	return 0;
}

static int walk_path(struct walk *w, int dirfd, const char *path, bool last_is_store, bool create,
		     int *out)
{
	char *copy = strdup(path), *save = NULL, *c, *nextc;
	int cur, fd, rc = 0;

	if (!copy)
		return -ENOMEM;
	cur = path[0] == '/' ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)
			     : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (cur < 0) {
		rc = -errno;
		goto out;
	}
	for (c = strtok_r(copy, "/", &save); c; c = nextc) {
		nextc = strtok_r(NULL, "/", &save);
		if (!strcmp(c, "."))
			continue;
		rc = step(w, cur, c, last_is_store && !nextc, create, &fd);
		close(cur);
		cur = -1;
		if (rc < 0)
			goto out;
		cur = fd;
	}
	*out = cur;
	cur = -1;
out:
	if (cur >= 0)
		close(cur);
	free(copy);
	return rc;
}

int store_path_open(const char *path, bool create, char *err, size_t errlen)
{
	struct walk w = { .err = err, .errlen = errlen };
	char abs[PATH_MAX], self[32];
	int fd, dfd, rc;

	if (!path[0]) {
		snprintf(err, errlen, "an empty store path");
		return -EINVAL;
	}
	if (path[0] != '/') {
		if (!getcwd(abs, sizeof(abs)) ||
		    strlen(abs) + 1 + strlen(path) >= sizeof(abs)) {
			snprintf(err, errlen, "%s: %s", path, strerror(ERANGE));
			return -ENAMETOOLONG;
		}
		strcat(abs, "/");
		strcat(abs, path);
		path = abs;
	}
	rc = walk_path(&w, -1, path, true, create, &fd);
	if (rc < 0)
		return rc;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	dfd = open(self, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = dfd < 0 ? -errno : dfd;
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	close(fd);
	return rc;
}

int store_path_at(int dirfd, const char *name, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "/proc/self/fd/%d/%s", dirfd, name);

	return n > 0 && (size_t)n < outlen ? 0 : -ENAMETOOLONG;
}
