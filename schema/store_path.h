/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * store_path.h - opening a store directory safely. ecap runs as root and a store holds TLS
 * secrets, so the path to it must be one that no other user could have bent: every directory
 * on the way, every symlink followed, and the store itself must belong to root or to the
 * caller; a directory that others may write must be sticky (like /tmp, where they cannot
 * replace what is ours); the store directory must not be writable by group or others. The
 * store is then used only through the descriptor returned, files in it opened relative to it.
 */
#ifndef ECAP_STORE_PATH_H
#define ECAP_STORE_PATH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Opens the store directory at path (O_RDONLY | O_DIRECTORY), creating it with mode 0700 when
 * create and it is missing (its parent checked first). Returns the descriptor, or -errno with
 * a reason naming the component in err: -EPERM a component another user owns or may change,
 * -ENOENT missing, -ENOTDIR not a directory, -ELOOP too many symlinks.
 */
int store_path_open(const char *path, bool create, char *err, size_t errlen);

/* "/proc/self/fd/DIRFD/name": a path that SQLite can open through the directory's descriptor
 * (the index's VFS keeps it as it is: schema/index_vfs.c). */
int store_path_at(int dirfd, const char *name, char *out, size_t outlen);

#endif
