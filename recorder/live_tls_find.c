// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_tls_find.c - finds the libssl files to attach the OpenSSL uprobes to (live_tls_find.h).
 *
 * /proc/PID/maps format (proc(5)): "start-end perms offset dev inode   pathname", the pathname
 * as the process sees it (its mount namespace), " (deleted)" appended when the file was
 * replaced. A file whose path does not lead to the mapped inode from here (another mount
 * namespace) is reached through /proc/PID/root/PATH instead, or, when the process is chrooted
 * inside a mount namespace of its own (the path is then its namespace's, not its root's),
 * through /proc/PID/map_files/START-END, the kernel's link to the mapped file itself (this
 * needs CAP_CHECKPOINT_RESTORE). Deleted files are skipped (a uprobe on them would not cover
 * new processes anyway). Every candidate must have the inode the maps line names.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "live_tls_find.h"
#include "proc_maps.h"
#include "tls_lib.h"

int live_tls_find_system(char *path, size_t len)
{
	return tls_lib_default(path, len);
}

int live_tls_file(const char *path, struct tls_lib_file *f)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (snprintf(f->path, sizeof(f->path), "%s", path) >= (int)sizeof(f->path))
		return -ENAMETOOLONG;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->fd = -1;
	return 0;
}

/*
 * Whether a mapped pathname is an OpenSSL libssl: "libssl.so*", or "libssl-HASH.so*" as Python
 * wheels bundle it; not NSS's "libssl3.so".
 */
static int is_libssl(const char *path)
{
	const char *base = strrchr(path, '/');

	if (!base)
		return 0;
	base++;
	return strncmp(base, "libssl.so", 9) == 0 ||
	       (strncmp(base, "libssl-", 7) == 0 && strstr(base, ".so"));
}

bool live_tls_is_libssl(const char *path)
{
	return path && strstr(path, "/libssl") && !strstr(path, " (deleted)") && is_libssl(path);
}

static int seen_has(const struct live_tls_seen *s, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->f[i].dev == dev && s->f[i].ino == ino)
			return 1;
	return 0;
}

static void seen_add(struct live_tls_seen *s, dev_t dev, ino_t ino)
{
	if (s->n == LIVE_TLS_SEEN_MAX)
		return;
	s->f[s->n].dev = dev;
	s->f[s->n].ino = ino;
	s->n++;
}

int live_tls_find_line(const char *pid, const struct proc_maps_line *m,
		       struct live_tls_seen *seen,
		       int (*fn)(void *ctx, const struct tls_lib_file *f), void *ctx)
{
	char alt[PATH_MAX + 64];
	const char *path = m->path;
	struct tls_lib_file f;
	dev_t dev;

	if (!live_tls_is_libssl(path))
		return 0;
	dev = makedev(m->major, m->minor);
	/* the file found must have this inode: one found already in this pass needs no look */
	if (seen_has(seen, dev, (ino_t)m->inode))
		return 0;
	if (live_tls_file(path, &f) < 0 || f.ino != (ino_t)m->inode || f.dev != dev) {
		snprintf(alt, sizeof(alt), "/proc/%s/root%s", pid, path);
		if (live_tls_file(alt, &f) < 0 || f.ino != (ino_t)m->inode || f.dev != dev) {
			/* A chroot inside another mount namespace: its path leads
			 * nowhere from here, but the kernel's link to the mapping does. */
			snprintf(alt, sizeof(alt), "/proc/%s/map_files/%llx-%llx", pid,
				 (unsigned long long)m->start, (unsigned long long)m->end);
			if (live_tls_file(alt, &f) < 0 || f.ino != (ino_t)m->inode ||
			    f.dev != dev)
				return 0;
		}
	}
	seen_add(seen, dev, (ino_t)m->inode);
	return fn(ctx, &f);
}

static int scan_pid(const char *pid, struct live_tls_seen *seen,
		    int (*fn)(void *ctx, const struct tls_lib_file *f), void *ctx)
{
	char maps[64], line[PATH_MAX + 128];
	struct proc_maps_line ml;
	FILE *m;
	int rc = 0;

	snprintf(maps, sizeof(maps), "/proc/%s/maps", pid);
	m = fopen(maps, "re");
	if (!m)
		return 0;
	while (rc == 0 && fgets(line, sizeof(line), m)) {
		line[strcspn(line, "\n")] = '\0';
		if (proc_maps_parse(line, &ml))
			rc = live_tls_find_line(pid, &ml, seen, fn, ctx);
	}
	fclose(m);
	return rc;
}

int live_tls_find_mapped(int (*fn)(void *ctx, const struct tls_lib_file *f), void *ctx)
{
	struct live_tls_seen *seen = calloc(1, sizeof(*seen));
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (!seen)
		return -ENOMEM;
	d = opendir("/proc");
	if (!d) {
		rc = -errno;
		free(seen);
		return rc;
	}
	while (rc == 0 && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		rc = scan_pid(de->d_name, seen, fn, ctx);
	}
	closedir(d);
	free(seen);
	return rc;
}
