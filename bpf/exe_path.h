/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exe_path.h - the path of a file (an exec's bprm->file->f_path) as readlink(/proc/PID/exe)
 * gives it to the recorder, built at the exec by tlslog.bpf.c (kl_exec) where bpf_d_path is
 * not allowed (tp_btf) and no kprobe or fentry exists. Included after vmlinux.h,
 * bpf_core_read.h and tlslog.h.
 *
 * What it mirrors: the kernel's d_path() walks from the file's dentry up its d_parent chain,
 * prepending each d_name, and at the root dentry of a mount crosses to the mount it is mounted
 * on (mnt_parent, at mnt_mountpoint); it stops at the reader's root (the recorder's
 * fs->root, learnt once by kl_self) or at the namespace's root mount (its own parent). So a
 * process of another mount namespace, or in a chroot, is named from its namespace's root,
 * which is what readlink gives from outside too.
 *
 * One step per bpf_loop() call (Linux 5.17+; without it, no names). It gives up (returns 0,
 * and the caller sends the exec record as before: user space reads /proc/PID/exe) whenever
 * the name could be wrong or partial:
 *   - deeper than KL_PATH_STEPS steps (components plus mount crossings), or longer than
 *     KL_EXE_NAME_MAX - 1 bytes (the longest name the store keeps);
 *   - a read fails, or a name is empty (a NUL inside a name is the reader's to refuse:
 *     recorder/live_keylog.c);
 *   - the file is unlinked (" (deleted)"), or a dentry on the way is unhashed;
 *   - a dentry's d_seq is odd or changes while its name and parent are read (a rename);
 *   - a dentry is its own parent below a mount's root (escaped), or the file has a d_dname
 *     (pipes, memfd and such: their name is not a path);
 *   - a mount on the way is not in the process's own mount namespace (lazily unmounted:
 *     its mnt_ns is gone; or another namespace's, reached through /proc/PID/root);
 *   - another walk ran on the same CPU in the middle of this one (preemption: the scratch
 *     buffer is per CPU);
 *   - the kernel's types lack a field used (CO-RE: bpf_core_field_exists).
 */
#ifndef ECAP_EXE_PATH_H
#define ECAP_EXE_PATH_H

#define KL_PATH_STEPS 64

/* The scratch buffer: the path is built backwards from KL_EXE_NAME_MAX, each component copied
 * at an offset below 2 * KL_EXE_NAME_MAX with at most KL_EXE_NAME_MAX bytes, so every copy is
 * inside the buffer whatever the verifier knows of the offset. */
struct kl_path_buf {
	__u64 owner;    /* the thread whose walk wrote last: see exe_path() */
	char b[3 * KL_EXE_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kl_path_buf);
} kl_path SEC(".maps");

/* The recorder's own root (fs->root), as kl_self saw it; 0: not known, no names built. */
__u64 kl_root_dentry, kl_root_mnt;

static __always_inline bool exe_path_fields(void)
{
	return bpf_core_field_exists(struct mount, mnt_parent) &&
	       bpf_core_field_exists(struct mount, mnt_mountpoint) &&
	       bpf_core_field_exists(struct mount, mnt_ns) &&
	       bpf_core_field_exists(struct mount, mnt) &&
	       bpf_core_field_exists(struct dentry, d_seq.seqcount.sequence) &&
	       bpf_core_field_exists(struct dentry, d_hash.pprev) &&
	       bpf_core_field_exists(struct dentry, d_parent) &&
	       bpf_core_field_exists(struct dentry, d_name.name) &&
	       bpf_core_field_exists(struct dentry, d_name.len) &&
	       bpf_core_field_exists(struct dentry, d_op) &&
	       bpf_core_field_exists(struct dentry_operations, d_dname) &&
	       bpf_core_field_exists(struct vfsmount, mnt_root);
}

/* Where the walk is (bpf_loop's context, on the stack; kernel pointers as numbers, read with
 * CO-RE probe reads). state: 0 going on, 1 done (a root reached), -1 given up. */
struct kl_walk {
	__u64 d;        /* struct dentry * */
	__u64 vm;       /* struct vfsmount * of m */
	__u64 m;        /* struct mount * */
	__u64 ns;       /* the process's struct mnt_namespace * */
	__u32 pos;      /* the path so far: kl_path_buf.b[pos .. KL_EXE_NAME_MAX - 1) */
	__s32 state;
};

static __always_inline struct vfsmount *mount_vfs(__u64 m)
{
	return (struct vfsmount *)(m + bpf_core_field_offset(struct mount, mnt));
}

/* One step up: a component prepended, or a crossing to the parent mount. */
static long exe_path_step(__u32 i, struct kl_walk *w)
{
	__u32 zero = 0, seq, len, pos = w->pos;
	struct kl_path_buf *s = bpf_map_lookup_elem(&kl_path, &zero);
	struct dentry *d = (struct dentry *)w->d, *parent;
	struct mount *m = (struct mount *)w->m, *mp;
	struct vfsmount *vm = (struct vfsmount *)w->vm;
	const unsigned char *name;

	w->state = -1;
	if (!s || pos >= KL_EXE_NAME_MAX)
		return 1;
	if (w->d == kl_root_dentry && w->vm == kl_root_mnt) {
		w->state = 1; /* the recorder's root: where its readlink stops */
		return 1;
	}
	if ((__u64)BPF_CORE_READ(m, mnt_ns) != w->ns)
		return 1;
	if (d == BPF_CORE_READ(vm, mnt_root)) {
		mp = BPF_CORE_READ(m, mnt_parent);
		if (!mp)
			return 1;
		if (mp == m) {
			w->state = 1; /* the namespace's root mount */
			return 1;
		}
		w->d = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->m = (__u64)mp;
		w->vm = (__u64)mount_vfs(w->m);
		w->state = 0;
		return 0;
	}
	seq = BPF_CORE_READ(d, d_seq.seqcount.sequence);
	parent = BPF_CORE_READ(d, d_parent);
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	/* unhashed and not a root: unlinked ("(deleted)"), or dropped by a rename */
	if ((seq & 1) || !parent || parent == d || !name || !BPF_CORE_READ(d, d_hash.pprev))
		return 1;
	if (len == 0 || len + 1 > pos)
		return 1;
	pos -= len + 1;
	/* pos < KL_EXE_NAME_MAX, len < KL_EXE_NAME_MAX: inside s->b (struct kl_path_buf) */
	if (bpf_probe_read_kernel(&s->b[(pos + 1) & (2 * KL_EXE_NAME_MAX - 1)],
				  len & (KL_EXE_NAME_MAX - 1), name))
		return 1;
	s->b[pos & (2 * KL_EXE_NAME_MAX - 1)] = '/';
	if (BPF_CORE_READ(d, d_seq.seqcount.sequence) != seq)
		return 1;
	w->d = (__u64)parent;
	w->pos = pos;
	w->state = 0;
	return 0;
}

/*
 * The path of f (the exec'ing task t's file) into out[KL_EXE_NAME_MAX] and its length (out[len]
 * is NUL), or 0 when it cannot be certain (above).
 */
static __always_inline __u32 exe_path(struct task_struct *t, struct file *f, char *out)
{
	__u32 zero = 0, len;
	__u64 me;
	struct kl_path_buf *s = bpf_map_lookup_elem(&kl_path, &zero);
	struct kl_walk w = { .pos = KL_EXE_NAME_MAX - 1 };
	struct dentry *d;

	if (!s || !kl_root_dentry || !exe_path_fields() ||
	    !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop))
		return 0;
	w.ns = (__u64)BPF_CORE_READ(t, nsproxy, mnt_ns);
	d = BPF_CORE_READ(f, f_path.dentry);
	w.d = (__u64)d;
	w.vm = (__u64)BPF_CORE_READ(f, f_path.mnt);
	if (!w.ns || !w.d || !w.vm || BPF_CORE_READ(d, d_op, d_dname))
		return 0;
	w.m = w.vm - bpf_core_field_offset(struct mount, mnt);
	/* A preemptible kernel can run another exec's walk on this CPU in the middle of ours
	 * (programs run with migration, not preemption, disabled): each walk writes its thread
	 * id first, and ours counts only if the buffer is still its own once the name is out. */
	me = bpf_get_current_pid_tgid();
	s->owner = me;
	s->b[KL_EXE_NAME_MAX - 1] = '\0';
	bpf_loop(KL_PATH_STEPS, exe_path_step, &w, 0);
	if (w.state != 1 || w.pos >= KL_EXE_NAME_MAX - 1)
		return 0;
	len = KL_EXE_NAME_MAX - 1 - w.pos;
	/* a fixed size (bytes past the NUL are not part of the name: the record says len) */
	if (bpf_probe_read_kernel(out, KL_EXE_NAME_MAX, &s->b[w.pos & (KL_EXE_NAME_MAX - 1)]))
		return 0;
	if (*(volatile __u64 *)&s->owner != me)
		return 0;
	return len;
}

#endif
