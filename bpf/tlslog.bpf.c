// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlslog.bpf.c - TLS secrets from the key-log function of libraries that are not a shared
 * OpenSSL (Go crypto/tls, OpenSSL built into an executable, GnuTLS, BoringSSL), by uprobes at
 * function entry, and the execve() of every process so that user space can attach to a new
 * executable before its first handshake (bpf/tlslog.h).
 *
 *   kl_go    uprobe on crypto/tls.(*Config).writeKeyLog (Go register ABI). Go calls it for
 *            every secret whether or not a KeyLogWriter is set. The probe can fire twice for
 *            one call (the prologue grows the stack and runs the function again): user space
 *            drops repeats.
 *   kl_call  uprobe on a C key-log function f(obj, label, secret, len) (OpenSSL's and
 *            BoringSSL's ssl_log_secret, GnuTLS's _gnutls_call_keylog_func): all called for
 *            every secret, with or without a key-log callback.
 *   kl_exec  tp_btf/sched_process_exec: the pid, so user space can inspect the new program;
 *            for a program user space has looked at already (kl_known, by device and inode)
 *            only once per KL_NAME_EVERY_NS per mount namespace (kl_named), so that its name
 *            is known for processes gone before their sockets are read, while the execs of a
 *            busy host (a build runs thousands a second) cost the recorder almost no wakeup
 *            and no work. Such a naming record carries the path when bpf/exe_path.h can
 *            build it for certain, and then wakes nobody (read at the next poll, no /proc).
 *   kl_self  tp_btf/task_rename: the recorder's own fs->root, once at its start (it renames
 *            itself to its own name), where exe_path.h stops as d_path() does.
 *
 * The probes never change what the program does; a read that fails drops the record and
 * counts it.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tlslog.h"
#include "mntns_id.h"
#include "exe_path.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KL_FILES_MAX);
	__type(key, __u32);
	__type(value, struct keylog_config);
} kl_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* 1 MiB: at 2,000 handshakes/s with both ends probed, 0.4 s of events (256 KiB: 0.1 s) when
	 * ecap-rec's reader waits for a core; 256 KiB lost whole sessions' secrets at load 9-12 */
	__uint(max_entries, 1 << 20);
} kl_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KL_KNOWN_MAX);
	__type(key, struct keylog_file);
	__type(value, __u8);
} kl_known SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KL_NAMED_MAX);
	__type(key, struct keylog_named);
	__type(value, __u64);
} kl_named SEC(".maps");

/* Secrets come a handful per handshake: wake the reader only when 64 KiB wait
 * (it drains every 100 ms anyway), or when it sleeps longer (reader_wake.h). Exec records wake
 * it at once: it attaches to new programs. */
#define KL_WAKE_BYTES (64 * 1024)
#include "reader_wake.h"

__u64 kl_counters[KL_CNT_NR];

/* Whether exec records are wanted (user space sets it once the maps are ready). */
const volatile __u32 kl_want_exec = 1;

/* The recorder's process (kl_self), set by user space before it renames itself. */
__u32 kl_self_tgid;

static __always_inline void count(enum keylog_counter c)
{
	__sync_fetch_and_add(&kl_counters[c], 1);
}

static __always_inline struct keylog_event *start(__u32 lib)
{
	struct keylog_event *e = bpf_ringbuf_reserve(&kl_events, sizeof(*e), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e) {
		count(KL_CNT_RING_FULL);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = KL_EV_SECRET;
	e->lib = lib;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* Reads the secret (len bytes at p, at most KL_SECRET_MAX) and submits e; or drops it. */
static __always_inline int finish(struct keylog_event *e, __u64 p, __u64 len)
{
	e->secret_len = len > 0xffffffffull ? 0xffffffffu : (__u32)len;
	if (!p || len == 0 || len > KL_SECRET_MAX)
		goto drop;
	/* len <= 64 here: the mask keeps it and shows the verifier the bound */
	if (bpf_probe_read_user(e->secret, len & (2 * KL_SECRET_MAX - 1), (void *)p))
		goto drop;
	bpf_ringbuf_submit(e, reader_wake_flags(bpf_ringbuf_query(&kl_events, BPF_RB_AVAIL_DATA) >=
							KL_WAKE_BYTES ? BPF_RB_FORCE_WAKEUP :
									BPF_RB_NO_WAKEUP));
	count(KL_CNT_EVENTS);
	return 0;
drop:
	count(KL_CNT_READ_FAIL);
	bpf_ringbuf_discard(e, 0);
	return 0;
}

SEC("uprobe")
int kl_go(struct pt_regs *ctx)
{
	__u32 lib = (__u32)bpf_get_attach_cookie(ctx);
	struct keylog_config *cfg = bpf_map_lookup_elem(&kl_cfg, &lib);
	struct keylog_event *e;
	__u64 llen = ctx->cx, rlen = ctx->si;

	if (!cfg || cfg->abi != KL_ABI_GO)
		return 0;
	e = start(lib);
	if (!e)
		return 0;
	e->random_len = rlen > 0xffffffffull ? 0xffffffffu : (__u32)rlen;
	if (llen == 0 || llen >= KL_LABEL_MAX || rlen != 32 ||
	    bpf_probe_read_user(e->label, llen & (KL_LABEL_MAX - 1), (void *)ctx->bx) ||
	    bpf_probe_read_user(e->client_random, 32, (void *)ctx->di)) {
		count(KL_CNT_READ_FAIL);
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	return finish(e, ctx->r9, ctx->r10);
}

SEC("uprobe")
int kl_call(struct pt_regs *ctx)
{
	__u32 lib = (__u32)bpf_get_attach_cookie(ctx);
	struct keylog_config *cfg = bpf_map_lookup_elem(&kl_cfg, &lib);
	struct keylog_event *e;
	__u64 a = ctx->di, p = 0;

	if (!cfg || cfg->abi != KL_ABI_CALL || !a || cfg->nderef > 2)
		return 0;
	if (cfg->nderef >= 1) {
		if (bpf_probe_read_user(&p, sizeof(p), (void *)(a + cfg->ptr[0])) || !p)
			goto fail;
		a = p;
	}
	if (cfg->nderef >= 2) {
		if (bpf_probe_read_user(&p, sizeof(p), (void *)(a + cfg->ptr[1])) || !p)
			goto fail;
		a = p;
	}
	e = start(lib);
	if (!e)
		return 0;
	e->random_len = 32;
	if (bpf_probe_read_user_str(e->label, sizeof(e->label), (void *)ctx->si) <= 1 ||
	    bpf_probe_read_user(e->client_random, 32, (void *)(a + cfg->off))) {
		count(KL_CNT_READ_FAIL);
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	/* GnuTLS passes an unsigned int: only the low 32 bits of RCX are the length */
	return finish(e, ctx->dx, ctx->cx & 0xffffffffull);
fail:
	count(KL_CNT_READ_FAIL);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(kl_self, struct task_struct *t, const char *comm)
{
	struct task_struct *me = bpf_get_current_task_btf();

	if (!kl_self_tgid || (bpf_get_current_pid_tgid() >> 32) != kl_self_tgid || kl_root_dentry)
		return 0;
	kl_root_mnt = (__u64)BPF_CORE_READ(me, fs, root.mnt);
	kl_root_dentry = (__u64)BPF_CORE_READ(me, fs, root.dentry);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(kl_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct keylog_exec *x;
	struct keylog_file f = {};
	struct keylog_named nk = {};
	__u64 now = bpf_ktime_get_ns(), *named;
	__u32 known = 0;

	if (!kl_want_exec)
		return 0;
	if (bprm && bprm->file && bprm->file->f_inode) {
		f.ino = bprm->file->f_inode->i_ino;
		f.dev = bprm->file->f_inode->i_sb->s_dev;
		known = bpf_map_lookup_elem(&kl_known, &f) != NULL;
		nk.dev = f.dev;
		nk.ino = f.ino;
		nk.mntns_id = task_mntns_id(p);
		named = bpf_map_lookup_elem(&kl_named, &nk);
		if (known && named && now - *named < KL_NAME_EVERY_NS)
			return 0;
		bpf_map_update_elem(&kl_named, &nk, &now, BPF_ANY);
	}
	x = bpf_ringbuf_reserve(&kl_events, sizeof(*x), 0);
	if (!x) {
		count(KL_CNT_RING_FULL);
		return 0;
	}
	x->kind = KL_EV_EXEC;
	x->pid = bpf_get_current_pid_tgid() >> 32;
	x->ts_ns = now;
	x->dev = nk.dev;
	x->ino = nk.ino;
	x->mntns_id = nk.mntns_id;
	x->known = known;
	/* a known file needs only its name: with it in the record, nothing is urgent */
	x->name_len = known && nk.mntns_id ? exe_path(p, bprm->file, x->name) : 0;
	if (!x->name_len)
		x->name[0] = '\0';
	bpf_ringbuf_submit(x, x->name_len ? BPF_RB_NO_WAKEUP : BPF_RB_FORCE_WAKEUP);
	return 0;
}
