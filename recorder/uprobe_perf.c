// SPDX-License-Identifier: GPL-2.0-only
/*
 * uprobe_perf.c - opening a uprobe perf event on an open file (uprobe_perf_open in
 * uprobe_attach.h); what the launcher does for the recorder.
 *
 * The uprobe PMU: its type number is /sys/bus/event_source/devices/uprobe/type, the return
 * probe flag the bit named in .../format/retprobe ("config:N"); attr.config1 is the file's
 * path (here /proc/self/fd/N, the open file itself), attr.config2 the file offset. One event
 * for every process (pid -1, cpu 0), as libbpf opens it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "small_file.h"
#include "uprobe_attach.h"

int uprobe_perf_open(int fd, uint64_t offset, bool retprobe)
{
	struct perf_event_attr attr;
	char buf[64], path[32];
	unsigned bit = 0;
	int type, pfd;

	if (small_file_read("/sys/bus/event_source/devices/uprobe/type", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%d", &type) != 1)
		return -EOPNOTSUPP;
	if (retprobe &&
	    (small_file_read("/sys/bus/event_source/devices/uprobe/format/retprobe", buf,
			sizeof(buf)) < 0 ||
	     sscanf(buf, "config:%u", &bit) != 1 || bit > 63))
		return -EOPNOTSUPP;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = (uint32_t)type;
	attr.config = retprobe ? 1ull << bit : 0;
	attr.config1 = (uint64_t)(uintptr_t)path;
	attr.config2 = offset;
	pfd = (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	return pfd < 0 ? -errno : pfd;
}

