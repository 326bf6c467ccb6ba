// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_proc_maps.c - libFuzzer target for the /proc/PID/maps line parser (recorder/
 * proc_maps.c): the path at the end of a line is a process's choice, read by root every few
 * seconds. The input, NUL-terminated, is one line; an accepted line must have
 * a NUL-terminated four-letter perms field, and a path that starts with '/' inside the line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc_maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	struct proc_maps_line m;
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (proc_maps_parse(line, &m)) {
		size_t len = strlen(line);
		if (strlen(m.perms) != 4)
			abort();
		if (m.path && (m.path < line || m.path >= line + len || *m.path != '/'))
			abort();
	}
	free(line);
	return 0;
}
