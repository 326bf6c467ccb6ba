/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mntns_id.h - a task's mount namespace by an id the kernel never gives to another namespace
 * while it runs, for the programs that name executables per namespace (sockets.bpf.c,
 * tlslog.bpf.c). Included after vmlinux.h and bpf_core_read.h.
 *
 * The namespace's inode number (ns.inum) is no such id: a freed namespace's number goes to the
 * next new one at once (unshare -m, ip netns exec, a container started after another ended).
 * The 64-bit sequence number is: Linux 6.18 keeps it in ns.ns_id, older kernels in the mount
 * namespace's own seq (the value ioctl(NS_GET_MNTNS_ID) gives since 6.11 in both cases). The
 * types below name only those fields, so that CO-RE finds whichever the running kernel has,
 * whatever the vmlinux.h of the build machine holds. 0 when it has neither: user space then
 * remembers nothing across processes for that namespace (recorder/proc_owner.c).
 */
#ifndef ECAP_MNTNS_ID_H
#define ECAP_MNTNS_ID_H

struct ns_common___ecap_id {
	__u64 ns_id;
} __attribute__((preserve_access_index));

struct mnt_namespace___ecap_id {
	struct ns_common___ecap_id ns;
} __attribute__((preserve_access_index));

struct mnt_namespace___ecap_seq {
	__u64 seq;
} __attribute__((preserve_access_index));

static __always_inline __u64 task_mntns_id(struct task_struct *t)
{
	void *ns = BPF_CORE_READ(t, nsproxy, mnt_ns);

	if (!ns)
		return 0;
	if (bpf_core_field_exists(struct mnt_namespace___ecap_id, ns.ns_id))
		return BPF_CORE_READ((struct mnt_namespace___ecap_id *)ns, ns.ns_id);
	if (bpf_core_field_exists(struct mnt_namespace___ecap_seq, seq))
		return BPF_CORE_READ((struct mnt_namespace___ecap_seq *)ns, seq);
	return 0;
}

#endif
