/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls_lib.h - opening the TLS library files that other processes map, which ecap does not
 * trust: once, by descriptor, never through a symlink at the last component, only regular
 * files, and (for a file found in a process's maps) only the very inode that process mapped.
 * Everything done with the file afterwards (hashing, calibrating, attaching uprobes) goes
 * through that descriptor, so a file swapped at its path in between is never what is used.
 */
#ifndef ECAP_TLS_LIB_H
#define ECAP_TLS_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TLS_LIB_DIGEST_HEX 65   /* SHA-256 in hex, NUL-terminated */

/*
 * Opens path read-only: O_NOFOLLOW (but for the kernel's /proc/PID/map_files/ links), no side effect on a device or FIFO (it is opened O_PATH
 * first and checked), a regular file, and when dev/ino are not 0, exactly that file. Returns the
 * descriptor (close-on-exec), or -errno: -ELOOP a symlink, -EINVAL not a regular file, -ESTALE
 * not the expected file.
 */
int tls_lib_open(const char *path, dev_t dev, ino_t ino);

/*
 * The libcrypto beside a libssl ("DIR/libssl.so.3" -> "DIR/libcrypto.so.3", "libssl-HASH.so.X"
 * -> "libcrypto-HASH.so.X"), opened as tls_lib_open() does. A descriptor, or -ENOENT when the
 * name has no libssl in it or the file is not there.
 */
int tls_lib_open_crypto(const char *ssl_path);

/* The SHA-256 of the whole file behind fd, in hex (read with pread: the offset is not moved). */
int tls_lib_digest(int fd, char hex[TLS_LIB_DIGEST_HEX]);

/*
 * The libssl that programs get from the dynamic linker, found without loading anything: the
 * libssl.so.3 (then libssl.so.1.1) in the directory of the libcrypto this program links.
 * 0 or -ENOENT.
 */
int tls_lib_default(char *path, size_t len);

/* "/proc/self/fd/N": a path the kernel and libbpf resolve to the open file itself. */
void tls_lib_fd_path(int fd, char *buf, size_t len);

#endif
