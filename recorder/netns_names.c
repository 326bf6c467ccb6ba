// SPDX-License-Identifier: GPL-2.0-only
/*
 * netns_names.c - network namespace names from /run/netns, by inode (netns_names.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns_names.h"

struct entry {
	uint32_t inode;                 /* 0: free */
	char name[NETNS_NAME_MAX];      /* "": known to have no name */
};

struct netns_names {
	char dir[256];
	struct entry tab[NETNS_NAMES_MAX];
	size_t n;
	struct timespec scanned_mtime; /* the directory's mtime when it was last read */
};

int netns_names_new(const char *dir, struct netns_names **out)
{
	struct netns_names *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	snprintf(n->dir, sizeof(n->dir), "%s", dir);
	*out = n;
	return 0;
}

void netns_names_free(struct netns_names *n)
{
	free(n);
}

static struct entry *slot(struct netns_names *n, uint32_t inode)
{
	size_t i = (inode * 2654435761u) & (NETNS_NAMES_MAX - 1);

	while (n->tab[i].inode && n->tab[i].inode != inode)
		i = (i + 1) & (NETNS_NAMES_MAX - 1);
	return &n->tab[i];
}

static void put(struct netns_names *n, uint32_t inode, const char *name)
{
	struct entry *e;

	if (n->n >= NETNS_NAMES_MAX * 3 / 4) {
		memset(n->tab, 0, sizeof(n->tab));
		n->n = 0;
	}
	e = slot(n, inode);
	if (!e->inode) {
		e->inode = inode;
		n->n++;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
}

static bool printable(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= NETNS_NAME_MAX)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

/* The directory's mtime (zero when it cannot be read): it changes when a name is added or
 * removed. */
static struct timespec dir_mtime(const struct netns_names *n)
{
	struct stat st;

	if (stat(n->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return (struct timespec){ 0 };
	return st.st_mtim;
}

static void scan(struct netns_names *n)
{
	int fd = open(n->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0)
		n->scanned_mtime = st.st_mtim;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !printable(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_ino == 0 || st.st_ino > UINT32_MAX)
			continue;
		put(n, (uint32_t)st.st_ino, de->d_name);
	}
	closedir(d);
}

const char *netns_names_lookup(struct netns_names *n, uint32_t inode)
{
	struct entry *e = slot(n, inode);

	if (e->inode && !e->name[0]) {
		/* known to have had no name: read again only if the directory changed since */
		struct timespec now = dir_mtime(n);
		if (now.tv_sec != n->scanned_mtime.tv_sec ||
		    now.tv_nsec != n->scanned_mtime.tv_nsec)
			scan(n);
		e = slot(n, inode);
	}
	if (!e->inode) {
		scan(n);
		e = slot(n, inode);
		if (!e->inode)
			put(n, inode, "");
		e = slot(n, inode);
	}
	return e->name[0] ? e->name : NULL;
}
