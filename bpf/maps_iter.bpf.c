// SPDX-License-Identifier: GPL-2.0-only
/*
 * maps_iter.bpf.c - every process's executable file mappings in one read (bpf/maps_exec.h):
 * a task_vma iterator, so that the 10 s rescan of live_keylog.c learns the (device, inode,
 * range) of each mapping without opening /proc/PID/maps and asking PROCMAP_QUERY once per
 * mapping per process. Only the mappings are read here; names are still asked of /proc, for
 * files user space has not looked at. Runs only when user space reads the iterator: nothing on
 * any other process's path.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps_exec.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/mm.h */
#define VM_READ 0x1ul
#define VM_WRITE 0x2ul
#define VM_EXEC 0x4ul
#define VM_SHARED 0x8ul

SEC("iter/task_vma")
int maps_exec(struct bpf_iter__task_vma *ctx)
{
	struct vm_area_struct *vma = ctx->vma;
	struct task_struct *task = ctx->task;
	struct maps_exec_rec r = {};
	struct file *file;
	unsigned long fl;

	if (!vma || !task)
		return 0;
	fl = vma->vm_flags;
	file = vma->vm_file;
	if (!(fl & VM_EXEC) || !file)
		return 0;
	r.tgid = task->tgid;
	r.tid = task->pid;
	r.start = vma->vm_start;
	r.end = vma->vm_end;
	r.offset = (__u64)vma->vm_pgoff << 12; /* 4 KiB pages: x86_64, the one target */
	r.ino = BPF_CORE_READ(file, f_inode, i_ino);
	r.dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	r.flags = (fl & VM_READ ? MAPS_R : 0) | (fl & VM_WRITE ? MAPS_W : 0) | MAPS_X |
		  (fl & VM_SHARED ? MAPS_SHARED : 0);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
