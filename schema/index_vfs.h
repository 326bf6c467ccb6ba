/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * index_vfs.h - the SQLite VFS the index is opened with: the default one, with the frames of
 * each commit written to the write-ahead log in one system call, and a name through a
 * directory descriptor ("/proc/self/fd/N/index.db") used as it is, never resolved to the
 * directory's path by name (index_vfs.c).
 */
#ifndef ECAP_INDEX_VFS_H
#define ECAP_INDEX_VFS_H

#define INDEX_VFS_NAME "ecap-wal"

/* Register the VFS (once per process; later calls return the first one's result): an
 * SQLite result code. */
int index_vfs_register(void);

#endif
