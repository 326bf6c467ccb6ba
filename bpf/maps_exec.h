/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * maps_exec.h - the records of bpf/maps_iter.bpf.c, shared with user space (recorder/maps_iter.c).
 *
 * One record per executable file mapping of every task that has an mm, in the order the
 * kernel's task_vma iterator visits them: task by task (threads of one process repeat its
 * mappings: user space keeps the first task of each tgid), each task's mappings by address.
 */
#ifndef ECAP_BPF_MAPS_EXEC_H
#define ECAP_BPF_MAPS_EXEC_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

struct maps_exec_rec {
	__u32 tgid;             /* the process, as the initial pid namespace numbers it (as the
				 * exec records do: ecap-rec reads /proc there) */
	__u32 tid;              /* the task whose mm was walked */
	__u64 start, end;       /* the mapping's range */
	__u64 offset;           /* into the file, in bytes */
	__u64 dev;              /* the file's super block device, the kernel's encoding
				 * (major << 20 | minor) */
	__u64 ino;
	__u32 flags;            /* MAPS_R, MAPS_W, MAPS_X, MAPS_SHARED */
	__u32 pad;
};

#define MAPS_R 0x1u
#define MAPS_W 0x2u
#define MAPS_X 0x4u
#define MAPS_SHARED 0x8u

#endif
