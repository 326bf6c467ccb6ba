// SPDX-License-Identifier: GPL-2.0-only
/*
 * sockets.bpf.c - which process owns which TCP and UDP socket, without kprobes or fentry.
 *
 * Three tracepoints, each in two attach flavours (tp_btf, and raw_tp as a fallback for
 * kernels where tp_btf will not load; user space keeps whichever loads):
 *
 *   sock:inet_sock_set_state  TCP CLOSE -> SYN_SENT runs in connect(), in the caller's
 *                             context: the owner is remembered per socket ("pending") and
 *                             reported at SYN_SENT -> ESTABLISHED (or -> CLOSE: refused),
 *                             when both ports are known (that transition runs in softirq,
 *                             where current is nobody).
 *                             -> CLOSE forgets the socket.
 *   sock:sock_send_length,    every sendmsg/recvmsg on a socket, in the caller's context:
 *   sock:sock_recv_length     accepted TCP sockets (the server side), UDP in both directions,
 *                             and sockets inherited across fork.
 *
 * A socket is reported when it is first seen by a process and again when its owner process or
 * its ports change ("seen": socket local storage with tp_btf, an LRU map keyed by the
 * socket's address with raw_tp), so steady traffic costs one lookup per send or receive and
 * no ring buffer record.
 * Records go to the "sock_events" ring buffer (struct ecap_sock_event, bpf/ecap.h).
 *
 * A TCP socket without a peer (a listener) is never reported: it owns no flow, whatever the
 * filter (its connections are sockets of their own, reported by their own ports).
 * Under a PCAP-FILTER that rules sockets out (recorder/socket_scope.c: by protocol, and by
 * port when every packet it can pass has one of a set of ports), a socket it rules out makes
 * no record: its protocol is not in scope_protos, or (scope_by_port) it has a peer and neither
 * of its ports is in scope_ports. It is remembered as "seen" like a reported one, so that its
 * traffic costs no more than a reported socket's. The settings are rodata, written by user
 * space before load: without a filter the test is compiled away.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ecap.h"
#include "mntns_id.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

char LICENSE[] SEC("license") = "GPL";

/* Settings, written through the skeleton's rodata before load (recorder/live_sockets.c). */
const volatile __u8 scope_protos = 0;    /* bit 0 TCP, bit 1 UDP may be recorded; 0: no test */
const volatile bool scope_by_port = false;
const volatile __u64 scope_ports[65536 / 64] = { 0 }; /* bit p % 64 of word p / 64: port p */

struct seen {
	__u32 pid;
	__u32 ports;    /* lport << 16 | rport */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} sock_events SEC(".maps");

/* The reader drains the rings every 100 ms anyway: wake it early only when a quarter of the
 * ring waits, not for every event (a wakeup per connection cost more than the event). */
#define SOCK_WAKE_BYTES ((1 << 20) / 4)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct ecap_owner);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, __u64);
	__type(value, struct seen);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ecap_owner);
} sk_pending SEC(".maps");

/* Zeroes for a new "pending" entry, which is then filled in place (an owner is too big for
 * the BPF stack, and a per-CPU scratch copy could be overwritten by a nested program). */
static const struct ecap_owner no_owner;

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct seen);
} sk_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ECAP_SCNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} scounters SEC(".maps");

static __always_inline void scount(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&scounters, &which);

	if (c)
		*c += 1;
}

/* The current process, written in place (into a ring record or socket storage). */
static __always_inline void current_owner(struct ecap_owner *o)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct pid *tp = BPF_CORE_READ(t, group_leader, thread_pid);
	unsigned long a0, a1, len;
	unsigned int level;

	o->pid = pid_tgid >> 32;
	o->tid = (__u32)pid_tgid;
	o->uid = (__u32)uid_gid;
	o->gid = uid_gid >> 32;
	o->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	/* what /proc/PID/stat's starttime counts: the leader's start, suspend included */
	o->start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
	o->ppid = BPF_CORE_READ(t, real_parent, tgid);
	BPF_CORE_READ_INTO(&o->parent_comm, t, real_parent, group_leader, comm);
	o->exe_ino = BPF_CORE_READ(t, mm, exe_file, f_inode, i_ino);
	o->exe_dev = BPF_CORE_READ(t, mm, exe_file, f_inode, i_sb, s_dev);
	o->mntns_id = task_mntns_id(t);
	o->nspid = 0;
	level = BPF_CORE_READ(tp, level);
	if (tp && level < 32) /* numbers[level].nr, offsets relocated for the running kernel */
		bpf_probe_read_kernel(&o->nspid, sizeof(o->nspid),
				      (const char *)tp + bpf_core_field_offset(struct pid, numbers) +
				      level * bpf_core_type_size(struct upid) +
				      bpf_core_field_offset(struct upid, nr));
	o->args_len = 0;
	o->args_total = 0;
	a0 = BPF_CORE_READ(t, mm, arg_start);
	a1 = BPF_CORE_READ(t, mm, arg_end);
	if (a0 && a1 > a0) {
		o->args_total = a1 - a0 > 0xffffffffu ? 0xffffffffu : (__u32)(a1 - a0);
		len = a1 - a0 < ECAP_ARGS_BPF ? a1 - a0 : ECAP_ARGS_BPF;
		/* not paged in: no arguments rather than a fault */
		if (len > 0 && len <= ECAP_ARGS_BPF &&
		    bpf_probe_read_user(o->args, len, (const void *)a0) == 0)
			o->args_len = (__u32)len;
	}
}

/* Protocol and family of an inet TCP/UDP socket; 0 for anything else. */
static __always_inline int sock_kind(const struct sock *sk, __u8 *proto, __u16 *family)
{
	*family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (*family != AF_INET && *family != AF_INET6)
		return 0;
	*proto = (__u8)BPF_CORE_READ(sk, sk_protocol);
	return *proto == IPPROTO_TCP || *proto == IPPROTO_UDP;
}

static __always_inline void v4_mapped(__u8 out[16], __u32 addr_be)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &addr_be, 4);
}

static __always_inline bool is_v4_mapped(const __u8 a[16])
{
	__u64 lo;
	__u32 mid;

	__builtin_memcpy(&lo, a, 8);
	__builtin_memcpy(&mid, a + 8, 4);
	return lo == 0 && mid == bpf_htonl(0x0000ffff);
}

/* Fill addresses and ports from the socket; false when it has no local port yet. */
static __always_inline bool sock_tuple(const struct sock *sk, __u16 family,
				       struct ecap_sock_event *ev)
{
	ev->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	ev->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (ev->lport == 0)
		return false;
	if (family == AF_INET) {
		v4_mapped(ev->laddr, BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
		v4_mapped(ev->raddr, BPF_CORE_READ(sk, __sk_common.skc_daddr));
		ev->family = 4;
	} else {
		BPF_CORE_READ_INTO(&ev->laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&ev->raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		ev->family = is_v4_mapped(ev->laddr) ? 4 : 6;
	}
	return true;
}

/*
 * Per-socket state: what was reported ("seen") and the connecting owner ("pending"). The
 * tp_btf flavour keeps it in socket local storage, which goes away with the socket and costs
 * a pointer walk; the raw_tp flavour (no BTF-typed socket, no local storage) uses the LRU
 * maps keyed by the socket's address. `btf` is a constant in each program: the compiler
 * drops the other branch, so each program only uses what its flavour allows.
 */
static __always_inline struct seen *seen_get(const struct sock *sk, bool btf)
{
	__u64 key = (__u64)sk;

	if (btf)
		return bpf_sk_storage_get(&sk_seen, (struct sock *)sk, 0, 0);
	return bpf_map_lookup_elem(&seen, &key);
}

static __always_inline void seen_put(const struct sock *sk, bool btf, const struct seen *now)
{
	__u64 key = (__u64)sk;
	struct seen *v;

	if (btf) {
		v = bpf_sk_storage_get(&sk_seen, (struct sock *)sk, 0,
				       BPF_SK_STORAGE_GET_F_CREATE);
		if (v)
			*v = *now;
	} else {
		bpf_map_update_elem(&seen, &key, now, BPF_ANY);
	}
}

static __always_inline void forget(const struct sock *sk, bool btf)
{
	__u64 key = (__u64)sk;

	if (btf) {
		bpf_sk_storage_delete(&sk_pending, (struct sock *)sk);
		bpf_sk_storage_delete(&sk_seen, (struct sock *)sk);
	} else {
		bpf_map_delete_elem(&pending, &key);
		bpf_map_delete_elem(&seen, &key);
	}
}

static __always_inline bool port_in_scope(__u16 port)
{
	return (scope_ports[port / 64] >> (port % 64)) & 1;
}

/* false when no recorded packet can carry this socket's ends (the filter rules it out). */
static __always_inline bool in_scope(__u8 proto, __u16 lport, __u16 rport)
{
	if (!scope_protos)
		return true;
	if (!(scope_protos & (proto == IPPROTO_TCP ? 1 : 2)))
		return false;
	/* unconnected: its datagrams may go to any port */
	return !scope_by_port || rport == 0 || port_in_scope(lport) || port_in_scope(rport);
}

/*
 * Report sk's owner (o, or the current task when o is NULL) unless this owner was already
 * reported for these ports, or the socket is out of the filter's scope.
 */
static __always_inline void report(const struct sock *sk, bool btf, __u8 source,
				   const struct ecap_owner *o)
{
	struct ecap_sock_event *ev;
	struct seen now, *was;
	__u16 family;
	__u8 proto;

	if (!sock_kind(sk, &proto, &family))
		return;
	now.ports = (__u32)BPF_CORE_READ(sk, __sk_common.skc_num) << 16 |
		    bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if ((now.ports >> 16) == 0)
		return; /* no local port yet: nothing to report (sock_tuple) */
	if (proto == IPPROTO_TCP && (now.ports & 0xffff) == 0)
		return; /* TCP without a peer owns no flow (its connections are sockets of their own) */
	if (scope_protos && !in_scope(proto, now.ports >> 16, now.ports & 0xffff)) {
		now.pid = o ? o->pid : bpf_get_current_pid_tgid() >> 32;
		was = seen_get(sk, btf);
		if (!was || was->pid != now.pid || was->ports != now.ports) {
			seen_put(sk, btf, &now);
			scount(ECAP_SCNT_OUT_OF_SCOPE);
		}
		return;
	}
	ev = bpf_ringbuf_reserve(&sock_events, sizeof(*ev), 0);
	if (!ev) {
		scount(ECAP_SCNT_RING_FULL);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	if (!sock_tuple(sk, family, ev)) {
		bpf_ringbuf_discard(ev, BPF_RB_NO_WAKEUP);
		return;
	}
	if (o)
		__builtin_memcpy(&ev->who, o, sizeof(ev->who));
	else
		current_owner(&ev->who);
	now.pid = ev->who.pid;
	now.ports = (__u32)ev->lport << 16 | ev->rport;
	was = seen_get(sk, btf);
	if (was && was->pid == now.pid && was->ports == now.ports) {
		bpf_ringbuf_discard(ev, BPF_RB_NO_WAKEUP);
		return;
	}
	seen_put(sk, btf, &now);
	ev->ts_mono_ns = bpf_ktime_get_ns();
	ev->sk_cookie = btf ? bpf_get_socket_cookie((void *)sk) : 0;
	ev->proto = proto;
	ev->source = source;
	ev->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	bpf_ringbuf_submit(ev, bpf_ringbuf_query(&sock_events, BPF_RB_AVAIL_DATA) >= SOCK_WAKE_BYTES ?
				   BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	scount(ECAP_SCNT_EVENTS);
}

/* The send/recv path, once per syscall: already reported for this process and ports? */
static __always_inline bool known(const struct sock *sk, bool btf)
{
	struct seen *was = seen_get(sk, btf);
	__u16 lport, dport;

	if (!was || was->pid != bpf_get_current_pid_tgid() >> 32)
		return false;
	if (btf) {
		lport = sk->__sk_common.skc_num;
		dport = sk->__sk_common.skc_dport;
	} else {
		lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	}
	return was->ports == ((__u32)lport << 16 | bpf_ntohs(dport));
}

static __always_inline void on_set_state(const struct sock *sk, bool btf, int oldstate,
					 int newstate)
{
	__u64 key = (__u64)sk;
	struct ecap_owner *p;

	if (newstate == TCP_SYN_SENT) {
		if (scope_protos && !(scope_protos & 1))
			return; /* no TCP can be recorded: no owner to keep */
		if (btf) {
			p = bpf_sk_storage_get(&sk_pending, (struct sock *)sk, 0,
					       BPF_SK_STORAGE_GET_F_CREATE);
		} else {
			bpf_map_update_elem(&pending, &key, &no_owner, BPF_ANY);
			p = bpf_map_lookup_elem(&pending, &key);
		}
		if (p)
			current_owner(p);
	} else if (oldstate == TCP_SYN_SENT &&
		   (newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE)) {
		/* Established, or refused / timed out: either way the ports are known now and
		 * the attempt's packets deserve an owner. */
		if (btf)
			p = bpf_sk_storage_get(&sk_pending, (struct sock *)sk, 0, 0);
		else
			p = bpf_map_lookup_elem(&pending, &key);
		if (p) {
			report(sk, btf, ECAP_SRC_CONNECT, p);
			if (btf)
				bpf_sk_storage_delete(&sk_pending, (struct sock *)sk);
			else
				bpf_map_delete_elem(&pending, &key);
		}
		if (newstate == TCP_CLOSE)
			forget(sk, btf);
	} else if (newstate == TCP_CLOSE) {
		forget(sk, btf);
	}
}

static __always_inline void on_io(const struct sock *sk, bool btf, __u8 source)
{
	if (!sk || known(sk, btf))
		return;
	report(sk, btf, source, NULL);
}

/* ---- tp_btf: typed arguments, socket local storage, socket cookies -------------------- */

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ecap_set_state, const struct sock *sk, int oldstate, int newstate)
{
	on_set_state(sk, true, oldstate, newstate);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(ecap_send, struct sock *sk, int ret, int flags)
{
	on_io(sk, true, ECAP_SRC_SEND);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(ecap_recv, struct sock *sk, int ret, int flags)
{
	on_io(sk, true, ECAP_SRC_RECV);
	return 0;
}

/* ---- raw_tp: the same without BTF-typed arguments ------------------------------------- */

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ecap_raw_set_state, const struct sock *sk, int oldstate, int newstate)
{
	on_set_state(sk, false, oldstate, newstate);
	return 0;
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(ecap_raw_send, struct sock *sk, int ret, int flags)
{
	on_io(sk, false, ECAP_SRC_SEND);
	return 0;
}

SEC("raw_tp/sock_recv_length")
int BPF_PROG(ecap_raw_recv, struct sock *sk, int ret, int flags)
{
	on_io(sk, false, ECAP_SRC_RECV);
	return 0;
}
