/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proc_maps.h - one line of /proc/PID/maps, parsed (proc(5)):
 *
 *   START-END PERMS OFFSET MAJOR:MINOR INODE [spaces PATHNAME]
 *   7f2c1a000000-7f2c1a021000 r-xp 00002000 08:01 1835132    /usr/lib/x86_64-linux-gnu/libc.so.6
 *
 * numbers in hexadecimal but INODE (decimal); PATHNAME as the process sees it (" (deleted)"
 * appended when the file was replaced), up to the newline. The text is the kernel's, but the
 * path in it is a process's choice: everything is parsed within the line's bounds, and a line
 * that is not in this form is refused. Rescans read every process's maps every few seconds:
 * this costs a fraction of sscanf's.
 */
#ifndef ECAP_PROC_MAPS_H
#define ECAP_PROC_MAPS_H

#include <stdbool.h>
#include <stdint.h>

struct proc_maps_line {
	uint64_t start, end, offset, inode;
	unsigned major, minor;
	char perms[5];          /* "r-xp", NUL-terminated */
	const char *path;       /* into the line, when the name is a path (NULL: none, or
	                         * "[heap]" and such); not cut at the newline */
};

/* Parses line (NUL-terminated, its newline included or not). false: not a maps line. */
bool proc_maps_parse(const char *line, struct proc_maps_line *m);

#endif
