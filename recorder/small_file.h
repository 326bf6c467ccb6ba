/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * small_file.h - a small file of the kernel's (/proc, /sys) read whole into a buffer, in one
 * read: for files of a line or two, whose content the kernel makes at once.
 */
#ifndef ECAP_SMALL_FILE_H
#define ECAP_SMALL_FILE_H

#include <stddef.h>

/* path's first len - 1 bytes at most into buf, NUL-terminated (len >= 1). Their number (> 0),
 * or -errno (-ENODATA: empty). */
int small_file_read(const char *path, char *buf, size_t len);

#endif
