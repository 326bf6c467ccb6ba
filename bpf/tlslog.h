/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tlslog.h - shared across the kernel boundary by bpf/tlslog.bpf.c and recorder/live_keylog.c:
 * the TLS libraries whose own key-log function is probed (Go crypto/tls, OpenSSL built into an
 * executable, GnuTLS, BoringSSL: recorder/tls/), one struct keylog_config per probed file (map
 * "kl_cfg", index = the uprobe's attach cookie), and the records put into "kl_events".
 * Fixed-width __uN types, explicit padding, no pointers.
 *
 * Two calling conventions are probed, both at function entry (never on return: Go moves its
 * stacks, and a return probe would crash a Go program):
 *   KL_ABI_GO    Go >= 1.17 register ABI, crypto/tls.(*Config).writeKeyLog(label string,
 *                clientRandom, secret []byte): RBX/RCX label, RDI/RSI client random,
 *                R9/R10 secret (pointer, length).
 *   KL_ABI_CALL  C, f(obj, const char *label, const u8 *secret, size_t len): RDI the library's
 *                session object, RSI a NUL-terminated label, RDX/RCX the secret; the client
 *                random is read from obj at the configured location (obj, then nderef 0..2
 *                pointers read at ptr[0], ptr[1], then off).
 */
#ifndef ECAP_BPF_TLSLOG_H
#define ECAP_BPF_TLSLOG_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KL_FILES_MAX 64u
#define KL_LABEL_MAX 64u      /* a power of 2; longest label: CLIENT_HANDSHAKE_TRAFFIC_SECRET */
#define KL_SECRET_MAX 64u     /* a power of 2, SHA-512 sized; TLS uses 48 at most */

enum keylog_abi {
	KL_ABI_NONE = 0,
	KL_ABI_GO,
	KL_ABI_CALL,
};

struct keylog_config {
	__u32 abi;              /* enum keylog_abi; KL_ABI_NONE: slot unused */
	__u16 nderef;           /* KL_ABI_CALL: 0..2 pointers followed to the client random */
	__u16 ptr[2];
	__u16 off;
	__u16 pad[2];
};

enum keylog_kind {
	KL_EV_SECRET = 1,       /* struct keylog_event */
	KL_EV_EXEC,             /* struct keylog_exec: a process ran execve() */
};

/* One secret as the library logs it. */
struct keylog_event {
	__u32 kind;             /* KL_EV_SECRET */
	__u32 lib;              /* attach cookie: index into kl_cfg */
	__u64 ts_ns;            /* CLOCK_MONOTONIC */
	__u32 pid, tid;
	char comm[16];
	__u32 secret_len;       /* as the library gave it; bytes beyond KL_SECRET_MAX not read */
	__u32 random_len;       /* Go: the slice's length (32 expected); C: 32 */
	char label[KL_LABEL_MAX];
	__u8 client_random[32];
	__u8 secret[KL_SECRET_MAX];
};

/* A file user space has looked at (kl_known): an exec of it needs no record. dev is the
 * kernel's encoding of the super block's device (major << 20 | minor). */
struct keylog_file {
	__u64 dev;
	__u64 ino;
};
#define KL_KNOWN_MAX 8192

/* A program run in a mount namespace (kl_named: when it was last recorded), so that user
 * space learns its name (for processes gone before their sockets are read) about twice per
 * minute per program and namespace, not at every exec. */
struct keylog_named {
	__u64 dev;
	__u64 ino;
	__u64 mntns_id;         /* the namespace's id, never reused (mntns_id.h) */
};
#define KL_NAMED_MAX 4096
#define KL_NAME_EVERY_NS (30ull * 1000000000ull)

/* A process that just ran execve(): user space looks at its executable before it runs far
 * (known 0), or only names it (known 1: a file looked at already, not named lately in its
 * mount namespace). A known file's record carries its name when the probe could build it
 * for certain (bpf/exe_path.h: as readlink of /proc/PID/exe gives it to the recorder); then
 * it wakes nobody, and user space takes the name from the record instead of /proc. */
#define KL_EXE_NAME_MAX 256u  /* a power of 2: ECAP_EXE_MAX, the longest name the store keeps */
struct keylog_exec {
	__u32 kind;             /* KL_EV_EXEC */
	__u32 pid;
	__u64 ts_ns;            /* CLOCK_MONOTONIC */
	__u64 dev;              /* the executable, as in struct keylog_file (0: unknown) */
	__u64 ino;
	__u64 mntns_id;         /* the process's mount namespace (its id, mntns_id.h; 0: unknown) */
	__u32 known;
	__u32 name_len;         /* bytes of name (0: no name, read /proc/PID/exe); < KL_EXE_NAME_MAX */
	char name[KL_EXE_NAME_MAX]; /* the executable's path, NUL at name_len */
};

enum keylog_counter {
	KL_CNT_EVENTS = 0,      /* secrets written */
	KL_CNT_RING_FULL,       /* records lost: no room in the ring buffer */
	KL_CNT_READ_FAIL,       /* a secret or random could not be read */
	KL_CNT_NR,
};

#endif
