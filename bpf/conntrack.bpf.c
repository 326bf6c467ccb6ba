// SPDX-License-Identifier: GPL-2.0-only
/*
 * conntrack.bpf.c - what the kernel knows about a recorded packet beyond its bytes: the
 * conntrack entry NAT changed it with, and the local socket of another network namespace
 * that sent it. Both go into the "packets" ring (shared with capture.bpf.c) as records of
 * their own (struct ecap_nat_info, struct ecap_peer_sock in ecap.h) right after the packet.
 *
 * capture.bpf.c tail-calls ecap_ct_ingress / ecap_ct_egress (entries ECAP_CONNTRACK_PROG + 0
 * and + 1 of "filter_progs") after it recorded a packet. This is a program of its own so that
 * a kernel without the kfunc it needs (bpf_cast_to_kern_ctx, Linux 6.2) only loses what it
 * gives: the entry stays empty, the tail call falls through, packets are recorded as before.
 *
 *  - Egress: the packet's conntrack entry is skb->_nfct with its low 3 bits (ctinfo) masked
 *    off, a struct nf_conn. By egress the POSTROUTING hooks have run, so SNAT and MASQUERADE
 *    are applied and the entry is confirmed; on ingress the entry is not attached yet (TC
 *    ingress runs before PREROUTING). When its status has IPS_SRC_NAT or IPS_DST_NAT, both of
 *    its tuples are reported: the flow of the original tuple and the flow of the reply tuple
 *    (reversed) are the connection before and after the translation.
 *  - Ingress: skb->sk is kept when a packet crosses a veth pair into another namespace
 *    (skb_scrub_packet no longer orphans it), so on the host end of a container's veth it
 *    is the container's socket that sent the packet. It is reported when its namespace is not
 *    the interface's and the packet's addresses and ports are exactly the socket's (a packet
 *    the other namespace translated, or forwarded, names no owner).
 *
 * Each is reported at most once a second per conntrack entry or socket and CPU (a per-CPU
 * table, direct-mapped, keyed by the entry's address and ports or by the socket's ends:
 * freed memory is soon the next connection's; the table and the entry's reading are
 * conntrack_read.h's, shared with -i any's conntrack_any.bpf.c), so the cost per packet is
 * a few loads and, for a NATed or peer packet, one array lookup. Kernel memory is read
 * through typed pointers (the context cast with bpf_cast_to_kern_ctx; the conntrack entry,
 * an integer in skb->_nfct, cast with bpf_rdonly_cast), whose loads the verifier turns into
 * plain loads that read zero where they fault; with bpf_probe_read_kernel calls instead the
 * reader cost far more (tools/bench_nat.sh: 64-byte UDP through MASQUERADE, +280 ns per
 * packet against +35 ns). Nothing is written but the ring and the table. Returns TC_ACT_UNSPEC always: the
 * packet goes on as if no filter were there.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ecap.h"

#define TC_ACT_UNSPEC (-1)
#define TCP_TIME_WAIT_NR 6
#define TCP_NEW_SYN_RECV_NR 12

char LICENSE[] SEC("license") = "GPL";

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

#include "conntrack_read.h"

/* packets and ifaces: capture.bpf.c's (user space hands their fds over before load) */
#include "capture_maps.h"

/* The ring record header, as capture.bpf.c writes a packet's. */
static __always_inline bool header(struct __sk_buff *ctx, struct ecap_pkt_event *h, __u8 kind,
				   __u32 size, __u64 now)
{
	__u32 key = ctx->ifindex % ECAP_IFSLOTS;
	struct ecap_iface_cfg *cfg = bpf_map_lookup_elem(&ifaces, &key);

	if (!cfg || cfg->ifindex != ctx->ifindex || cfg->slot >= ECAP_IFACES_MAX)
		return false;
	__builtin_memset(h, 0, sizeof(*h));
	h->ts_mono_ns = now;
	h->ifindex = ctx->ifindex;
	h->slot = cfg->slot;
	h->len = size;
	h->caplen = size;
	h->dir = kind;
	return true;
}

static __always_inline bool same16(const __u8 *a, const __u8 *b)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	return a0 == b0 && a1 == b1;
}

struct nat_record {
	struct ecap_pkt_event h;
	struct ecap_nat_info n;
};

SEC("tc")
int ecap_ct_egress(struct __sk_buff *ctx)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);
	struct nat_record *rec;
	struct reported *claimed;
	__u64 nfct = skb->_nfct & ~7ull, now;
	struct nf_conn *ct;
	__u32 status;

	ct = ct_natted(nfct, &status);
	if (!ct)
		return TC_ACT_UNSPEC;
	now = bpf_ktime_get_ns();
	/* An entry freed and its memory reused for the next connection within the second is
	 * another connection: the ports are part of the key. */
	claimed = claim(nfct ^ ct_ports_key(ct), now);
	if (!claimed)
		return TC_ACT_UNSPEC;
	rec = bpf_ringbuf_reserve(&packets, sizeof(*rec), 0);
	if (!rec)
		goto unclaim;
	if (!ct_nat_info(&rec->n, ct, status) ||
	    !header(ctx, &rec->h, ECAP_REC_NAT, sizeof(rec->n), now)) {
		bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP);
		return TC_ACT_UNSPEC;
	}
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	return TC_ACT_UNSPEC;
unclaim:
	claimed->key = 0; /* not reported: try again with the next packet */
	return TC_ACT_UNSPEC;
}

struct peer_record {
	struct ecap_pkt_event h;
	struct ecap_peer_sock s;
};

/* The packet's addresses (16 bytes each), protocol and ports; false when it is not an
 * unfragmented IPv4 or IPv6 TCP/UDP packet (IPv6 extension headers included). */
static __always_inline bool packet_tuple(struct __sk_buff *ctx, struct sk_buff *skb,
					 __u8 src[16], __u8 dst[16], __u8 *proto, __u16 ports[2])
{
	__u32 off = (__u32)skb->network_header - skb->mac_header;
	__u8 ip[40];

	if (off > 64)
		return false;
	if (ctx->protocol == bpf_htons(0x0800)) {
		__u32 s, d;

		if (bpf_skb_load_bytes(ctx, off, ip, 20) < 0 || (ip[0] >> 4) != 4 ||
		    ((ip[6] & 0x3f) | ip[7]) != 0) /* MF or an offset: a fragment */
			return false;
		__builtin_memcpy(&s, ip + 12, 4);
		__builtin_memcpy(&d, ip + 16, 4);
		v4_mapped(src, s);
		v4_mapped(dst, d);
		*proto = ip[9];
		off += (ip[0] & 0xf) * 4;
	} else if (ctx->protocol == bpf_htons(0x86DD)) {
		if (bpf_skb_load_bytes(ctx, off, ip, 40) < 0 || (ip[0] >> 4) != 6)
			return false;
		__builtin_memcpy(src, ip + 8, 16);
		__builtin_memcpy(dst, ip + 24, 16);
		*proto = ip[6];
		off += 40;
	} else {
		return false;
	}
	if (*proto != IPPROTO_TCP_NR && *proto != IPPROTO_UDP_NR)
		return false;
	if (bpf_skb_load_bytes(ctx, off, ports, 4) < 0)
		return false;
	ports[0] = bpf_ntohs(ports[0]);
	ports[1] = bpf_ntohs(ports[1]);
	return true;
}

SEC("tc")
int ecap_ct_ingress(struct __sk_buff *ctx)
{
	struct sk_buff *skb = bpf_cast_to_kern_ctx(ctx);
	__u8 src[16], dst[16], la[16], ra[16], proto, state;
	struct peer_record *rec;
	struct reported *claimed;
	__u16 ports[2], family;
	__u32 sk_netns, dev_netns, a4;
	struct sock *sk;
	__u64 now;

	sk = skb->sk;
	if (!sk)
		return TC_ACT_UNSPEC;
	sk_netns = sk->__sk_common.skc_net.net->ns.inum;
	dev_netns = skb->dev->nd_net.net->ns.inum;
	if (!sk_netns || !dev_netns || sk_netns == dev_netns)
		return TC_ACT_UNSPEC;
	now = bpf_ktime_get_ns();
	/* keyed by what the socket is (its ends), not where it lives: freed memory is soon
	 * another socket's */
	claimed = claim(((__u64)sk->__sk_common.skc_portpair << 32 | sk->__sk_common.skc_daddr) ^
			sk_netns, now);
	if (!claimed)
		return TC_ACT_UNSPEC;
	if (!packet_tuple(ctx, skb, src, dst, &proto, ports))
		goto unclaim;
	/* The socket's own ends; request and time-wait sockets are TCP's and have no
	 * sk_protocol (only the common part of struct sock). */
	state = sk->__sk_common.skc_state;
	if (state != TCP_NEW_SYN_RECV_NR && state != TCP_TIME_WAIT_NR && sk->sk_protocol != proto)
		return TC_ACT_UNSPEC;
	if ((state == TCP_NEW_SYN_RECV_NR || state == TCP_TIME_WAIT_NR) && proto != IPPROTO_TCP_NR)
		return TC_ACT_UNSPEC;
	family = sk->__sk_common.skc_family;
	if (family == AF_INET_NR) {
		a4 = sk->__sk_common.skc_rcv_saddr;
		v4_mapped(la, a4);
		a4 = sk->__sk_common.skc_daddr;
		v4_mapped(ra, a4);
	} else if (family == AF_INET6_NR) {
		__builtin_memcpy(la, &sk->__sk_common.skc_v6_rcv_saddr, 16);
		__builtin_memcpy(ra, &sk->__sk_common.skc_v6_daddr, 16);
	} else {
		return TC_ACT_UNSPEC;
	}
	if (sk->__sk_common.skc_num != ports[0] ||
	    bpf_ntohs(sk->__sk_common.skc_dport) != ports[1] ||
	    !same16(la, src) || !same16(ra, dst))
		return TC_ACT_UNSPEC; /* not the socket's own tuple: asked again in a second */
	rec = bpf_ringbuf_reserve(&packets, sizeof(*rec), 0);
	if (!rec)
		goto unclaim;
	if (!header(ctx, &rec->h, ECAP_REC_PEER_SOCK, sizeof(rec->s), now)) {
		bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP);
		return TC_ACT_UNSPEC;
	}
	rec->s.sk_netns = sk_netns;
	rec->s.dev_netns = dev_netns;
	rec->s.proto = proto;
	rec->s.family = ctx->protocol == bpf_htons(0x0800) ? 4 : 6;
	rec->s.lport = ports[0];
	rec->s.rport = ports[1];
	rec->s.pad = 0;
	__builtin_memcpy(rec->s.laddr, src, 16);
	__builtin_memcpy(rec->s.raddr, dst, 16);
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	return TC_ACT_UNSPEC;
unclaim:
	claimed->key = 0;
	return TC_ACT_UNSPEC;
}
