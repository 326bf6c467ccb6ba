// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_lib.c - opening TLS library files by descriptor (tls_lib.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"
#include "tls_lib.h"

void tls_lib_fd_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

int tls_lib_open(const char *path, dev_t dev, ino_t ino)
{
	char self[32];
	struct stat st;
	int o, fd, rc;

	/* /proc/PID/map_files/... is the kernel's own link to a mapped file: followed; any
	 * other symlink at the last component is refused. */
	o = open(path, O_PATH | O_CLOEXEC | (strstr(path, "/map_files/") ? 0 : O_NOFOLLOW));
	if (o < 0)
		return -errno;
	if (fstat(o, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		rc = -ELOOP;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((dev || ino) && (st.st_dev != dev || st.st_ino != ino)) {
		rc = -ESTALE;
		goto out;
	}
	/* Reopening the O_PATH descriptor opens that inode, whatever the path means now. */
	tls_lib_fd_path(o, self, sizeof(self));
	fd = open(self, O_RDONLY | O_CLOEXEC);
	rc = fd < 0 ? -errno : fd;
out:
	close(o);
	return rc;
}

int tls_lib_open_crypto(const char *ssl_path)
{
	const char *base = strrchr(ssl_path, '/');
	char path[PATH_MAX];
	size_t dirlen;

	base = base ? base + 1 : ssl_path;
	if (strncmp(base, "libssl", 6) != 0)
		return -ENOENT;
	dirlen = (size_t)(base - ssl_path);
	if (snprintf(path, sizeof(path), "%.*slibcrypto%s", (int)dirlen, ssl_path, base + 6) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	return tls_lib_open(path, 0, 0);
}

int tls_lib_digest(int fd, char hex[TLS_LIB_DIGEST_HEX])
{
	unsigned char buf[65536], md[SHA256_LEN];
	struct sha256 ctx = { 0 };
	off_t off = 0;
	ssize_t n;
	int rc = sha256_init(&ctx);

	if (rc)
		goto out;
	for (;;) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		sha256_update(&ctx, buf, (size_t)n);
		off += n;
	}
	sha256_final(&ctx, md);
	for (unsigned i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	sha256_free(&ctx);
	return rc;
}

struct find_crypto {
	char dir[PATH_MAX];
	bool found;
};

static int find_crypto(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find_crypto *fc = data;
	const char *base;

	if (!info->dlpi_name || info->dlpi_name[0] != '/')
		return 0;
	base = strrchr(info->dlpi_name, '/') + 1;
	if (strncmp(base, "libcrypto.so.", 13) != 0)
		return 0;
	snprintf(fc->dir, sizeof(fc->dir), "%.*s", (int)(base - info->dlpi_name),
		 info->dlpi_name);
	fc->found = true;
	return 1;
}

int tls_lib_default(char *path, size_t len)
{
	static const char *const names[] = { "libssl.so.3", "libssl.so.1.1" };
	struct find_crypto fc = { .found = false };
	char real[PATH_MAX], cand[PATH_MAX];
	struct stat st;

	dl_iterate_phdr(find_crypto, &fc);
	if (!fc.found)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (snprintf(cand, sizeof(cand), "%s%s", fc.dir, names[i]) >= (int)sizeof(cand))
			continue;
		if (stat(cand, &st) < 0 || !S_ISREG(st.st_mode) || !realpath(cand, real))
			continue;
		snprintf(path, len, "%s", real);
		return 0;
	}
	return -ENOENT;
}
