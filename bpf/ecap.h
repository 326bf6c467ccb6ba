/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ecap.h - the one header shared across the kernel boundary: the records the BPF programs
 * (capture.bpf.c, sockets.bpf.c) put into their ring buffers, the counters they keep, and
 * the constants both sides agree on. Fixed-width __uN types, explicit padding, no pointers:
 * the layout is the same for clang -target bpf and the host compiler.
 *
 * Ring "packets" (capture.bpf.c) holds struct ecap_pkt_event records, each followed by
 * caplen bytes of the packet starting at its Ethernet header; conntrack.bpf.c puts two other
 * kinds of record there, told apart by `dir` (ECAP_REC_NAT, ECAP_REC_PEER_SOCK), right after
 * the packet they were read from. Ring "sock_events"
 * (sockets.bpf.c) holds struct ecap_sock_event records. The user side must check every
 * record's size against what the header claims before reading (live_packets.c).
 */
#ifndef ECAP_BPF_ECAP_H
#define ECAP_BPF_ECAP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* The largest packet prefix one record carries (lo's MTU is 65536, plus Ethernet, GSO up
 * to 64 KiB): longer packets are cut here, their wire length is kept in len. */
#define ECAP_CAP_MAX 65600u

/* TC filter priority of our filters; the handle is the recorder's pid, so that recorders
 * into different stores can share an interface. */
#define ECAP_TC_PRIORITY 0xecu

/* Slots of the per-interface settings map (index: ifindex % ECAP_IFSLOTS). */
#define ECAP_IFSLOTS 1024u
#define ECAP_IFACES_MAX 32u

/* Counters of the TC programs, per CPU, per interface slot (map "counters", index: slot).
 * Slot ECAP_IFACES_MAX collects packets of interfaces that are not ours. */
struct ecap_counters {
	__u64 seen;             /* packets the TC programs saw */
	__u64 seen_bytes;       /* their wire bytes */
	__u64 ring_full;        /* lost: no room in the ring buffer */
	__u64 copy_fail;        /* lost: bpf_skb_load_bytes failed, or a filter's tail call */
	__u64 filtered;         /* not matching PCAP-FILTER, skipped in the kernel */
};

/* Map "filter_progs" of capture.bpf.c (BPF_MAP_TYPE_PROG_ARRAY): entry 2 * slot + point
 * (point 0: ingress, 1: egress) holds the PCAP-FILTER program of one interface, made by
 * recorder/cbpf_ebpf.c; entry ECAP_FILTER_RECORD + point the program that records a packet
 * that matched. */
#define ECAP_FILTER_RECORD (2 * ECAP_IFACES_MAX)
/* Entry ECAP_CONNTRACK_PROG + point: conntrack.bpf.c's reader, tail-called after a packet
 * was recorded (empty when it could not be loaded: the tail call falls through). */
#define ECAP_CONNTRACK_PROG (2 * ECAP_IFACES_MAX + 2)
#define ECAP_FILTER_PROGS (2 * ECAP_IFACES_MAX + 4)

/* Socket program counters (one slot, per CPU). */
enum ecap_sock_counter {
	ECAP_SCNT_EVENTS = 0,   /* owner records written */
	ECAP_SCNT_RING_FULL,    /* owner records lost */
	ECAP_SCNT_OUT_OF_SCOPE, /* sockets no recorded packet can carry (scope_* in sockets.bpf.c) */
	ECAP_SCNT_NR,
};

/* Settings per captured interface (map "ifaces", filled by user space). */
struct ecap_iface_cfg {
	__u32 ifindex;          /* 0: free slot */
	__u32 slot;             /* 0..ECAP_IFACES_MAX-1: counters and user-side interface */
	__u32 snaplen;          /* bytes to keep, 1..ECAP_CAP_MAX */
	__u32 pad;
};

enum ecap_dir {
	ECAP_DIR_INGRESS = 1,
	ECAP_DIR_EGRESS = 2,
	/* not packets: conntrack.bpf.c's records, with caplen bytes of their own struct */
	ECAP_REC_NAT = 0x10,            /* struct ecap_nat_info */
	ECAP_REC_PEER_SOCK = 0x11,      /* struct ecap_peer_sock */
};

/* One captured packet; caplen bytes of data follow. */
struct ecap_pkt_event {
	__u64 ts_mono_ns;       /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 ifindex;
	__u32 slot;
	__u32 len;              /* wire length (skb->len) */
	__u32 caplen;           /* bytes that follow */
	__u8 dir;               /* enum ecap_dir */
	__u8 pad[7];
};

/* One end of a conntrack tuple: address (16 bytes, IPv4 as ::ffff:a.b.c.d), port in host
 * order. */
struct ecap_ct_end {
	__u8 addr[16];
	__u16 port;
	__u16 pad;
};

/* NAT status bits of a conntrack entry (IPS_SRC_NAT, IPS_DST_NAT of the kernel's enum). */
#define ECAP_NAT_SRC 0x10u
#define ECAP_NAT_DST 0x20u

/* A packet recorded on egress belongs to a conntrack entry that NAT changed (record
 * ECAP_REC_NAT, after that packet, at most once a second per entry and CPU): the entry's
 * tuple in its original direction and in its reply direction. The flow of the original tuple
 * is the one before the translation, the flow of the reply tuple (reversed) the one after. */
struct ecap_nat_info {
	__u32 netns;            /* inode of the conntrack entry's network namespace */
	__u32 status;           /* ECAP_NAT_SRC | ECAP_NAT_DST bits of the entry */
	__u8 proto;             /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family;            /* 4 or 6 */
	__u8 reply;             /* -i any: 1 when the packet went in the entry's reply direction
				 * (its addresses and ports are then the original tuple's,
				 * reversed: the flow before the translation), 0 in the original
				 * direction (the reply tuple's, reversed: the flow after it) */
	__u8 pad;
	struct ecap_ct_end orig_src, orig_dst, reply_src, reply_dst;
};

/* A packet recorded on ingress was sent by a local socket of another network namespace (it
 * came through a veth pair: skb->sk survives the crossing), and its addresses and ports are
 * that socket's own (record ECAP_REC_PEER_SOCK, after that packet, at most once a second per
 * socket and CPU). The socket's owner is then the owner of the sending end of the packet's
 * flow in the interface's namespace. */
struct ecap_peer_sock {
	__u32 sk_netns;         /* inode of the socket's network namespace */
	__u32 dev_netns;        /* inode of the interface's network namespace */
	__u8 proto;
	__u8 family;
	__u16 lport, rport;     /* the socket's local and remote port, host order */
	__u16 pad;
	__u8 laddr[16];
	__u8 raddr[16];
};

/*
 * -i any (bpf/capture_any.bpf.c): one record per packet in the perf event array "any_packets",
 * struct ecap_any_event followed by the bytes of the packet from the skb's data on, skipping
 * data_skip of them. The link-layer header the kernel had already pulled off (ingress) or a
 * VLAN tag it keeps outside the bytes is in l2[], at its end, so that the packet is the
 * last l2_len bytes of l2[] followed by the skb bytes (contiguous when data_skip is 0).
 * caplen counts both. A perf record holds less than 64 KiB: packets are cut at
 * ECAP_ANY_CAP_MAX bytes (their wire length stays in len).
 */
#define ECAP_ANY_L2_MAX 32u
#define ECAP_ANY_CAP_MAX 65400u

struct ecap_any_event {
	__u64 ts_mono_ns;       /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 netns;            /* inode of the device's network namespace */
	__u32 ifindex;          /* the device's index in that namespace */
	__u32 len;              /* wire length, link-layer header included */
	__u32 caplen;           /* bytes of the packet in the record (l2_len + skb bytes) */
	__u16 dev_type;         /* ARPHRD_* */
	__u8 dir;               /* enum ecap_dir */
	__u8 l2_len;            /* bytes used at the end of l2[] */
	__u8 data_skip;         /* skb bytes already in l2[] (a VLAN tag put back after 12) */
	__u8 pad[3];
	char name[16];          /* the device's name (IFNAMSIZ) */
	__u8 l2[ECAP_ANY_L2_MAX];
};

/* conntrack_any.bpf.c puts records of another kind in "any_packets": the same header with
 * dir ECAP_REC_NAT, netns the namespace whose recording point records the packet the entry
 * was read from (where its flow is), ifindex the device that sent it, len and caplen the size
 * of the struct ecap_nat_info that follows (reply says which flow of the entry that is). */

/* Counters of the -i any programs, per CPU (map "any_counters", one slot). */
struct ecap_any_counters {
	__u64 seen;             /* packets chosen for recording (before PCAP-FILTER) */
	__u64 seen_bytes;       /* their wire bytes */
	__u64 lost;             /* chosen but not recorded: perf buffer full or copy failed */
	__u64 filtered;         /* not matching PCAP-FILTER, skipped in the kernel */
	__u64 other_end;        /* not recorded here because another point records them */
	__u64 unsupported;      /* devices of a link type we do not record */
};

/* Map "any_filter" (BPF_MAP_TYPE_PROG_ARRAY) of capture_any.bpf.c: entry ECAP_ANY_FILTER +
 * point (0 ingress, 1 egress) holds the PCAP-FILTER program (recorder/cbpf_ebpf.c, reading
 * the packet's head from "any_head"); entry ECAP_ANY_RECORD + point the program that records
 * a packet that matched; entry ECAP_ANY_NAT conntrack_any.bpf.c's reader, tail-called on
 * egress for a packet with a conntrack entry (empty when it could not be loaded). */
#define ECAP_ANY_FILTER 0u
#define ECAP_ANY_RECORD 2u
#define ECAP_ANY_NAT 4u
#define ECAP_ANY_PROGS 5u
/* The head of a packet the kernel filter runs over (per-CPU map "any_head", one slot per
 * point): byte i of the packet is data[off + i] for i < caplen. data[] is the event's l2[]
 * followed by up to ECAP_ANY_HEAD bytes of the skb's linear part. */
#define ECAP_ANY_HEAD 256u
struct ecap_any_head {
	__u32 len;              /* the packet's wire length */
	__u32 caplen;           /* bytes of the packet's start in data[] */
	__u32 off;              /* where it starts: ECAP_ANY_L2_MAX - l2_len */
	__u32 pad;
	__u8 data[ECAP_ANY_L2_MAX + ECAP_ANY_HEAD];
};

enum ecap_sock_source {
	ECAP_SRC_CONNECT = 1,   /* SYN_SENT -> ESTABLISHED, owner taken at SYN_SENT */
	ECAP_SRC_SEND = 2,      /* sock_send_length */
	ECAP_SRC_RECV = 3,      /* sock_recv_length */
};

/* Bytes of a process's command line a socket record carries: as many as the store keeps
 * (ECAP_ARGS_MAX), so that user space reads /proc/PID/cmdline only for longer ones. */
#define ECAP_ARGS_BPF 512u

/*
 * A socket's owning process as the kernel side saw it, in the process's own context: who it
 * is without a look at /proc (recorder/proc_owner.c), and what ps would show of a process
 * that is gone before user space reads the record.
 */
struct ecap_owner {
	__u64 cgroup_id;
	__u64 start_ns;         /* the process's start (its thread group leader's start_boottime,
				 * ns since boot); 0 when it could not be read */
	__u32 pid, tid, uid, gid;
	char comm[16];
	__u32 ppid;             /* its parent's pid (0: unknown) */
	__u32 nspid;            /* its pid in its own pid namespace (0: unknown) */
	char parent_comm[16];   /* the parent's (thread group leader's) name */
	__u64 exe_ino;          /* its executable (mm->exe_file): inode, 0 when unknown, */
	__u32 exe_dev;          /* and the kernel's device number (major << 20 | minor) */
	__u32 args_len;         /* bytes of args read (0..ECAP_ARGS_BPF) */
	__u64 mntns_id;         /* its mount namespace's id, never reused (bpf/mntns_id.h;
				 * 0: unknown) */
	__u32 args_total;       /* bytes of its whole command line (args_len < args_total: cut,
				 * or not paged in) */
	__u32 pad_args;
	char args[ECAP_ARGS_BPF]; /* the start of its command line, NUL-separated */
};

/* The owner of one local socket. Addresses: 16 bytes, IPv4 as ::ffff:a.b.c.d. Ports in host
 * order. remote all zero and rport 0 for an unconnected (UDP) socket. */
struct ecap_sock_event {
	__u64 ts_mono_ns;
	__u64 sk_cookie;        /* 0 when the program could not take it (raw_tp fallback) */
	__u32 netns;            /* inode of the socket's network namespace */
	__u8 proto;             /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 family;            /* 4 or 6 */
	__u8 source;            /* enum ecap_sock_source */
	__u8 pad0;
	__u16 lport, rport;
	__u16 pad1[2];
	__u8 laddr[16];
	__u8 raddr[16];
	struct ecap_owner who;
};

#endif
