// SPDX-License-Identifier: GPL-2.0-only
/*
 * small_file.c - a small file of the kernel's read in one call (small_file.h).
 */
#include "small_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int small_file_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n == 0)
		return -ENODATA;
	if (n > 0)
		buf[n] = '\0';
	return (int)n;
}
