// SPDX-License-Identifier: GPL-2.0-only
/*
 * conntrack_any.bpf.c - NAT links under `ecap-rec -i any`: the conntrack entry of a packet
 * that leaves a device, from any device of any network namespace, and where that packet is
 * recorded, as a record of its own in capture_any.bpf.c's perf event array "any_packets"
 * (header struct ecap_any_event with dir ECAP_REC_NAT, then struct ecap_nat_info; ecap.h).
 *
 * capture_any.bpf.c tail-calls ecap_any_nat (entry ECAP_ANY_NAT of its prog array
 * "any_filter") on tp_btf/net_dev_queue for a packet that has a conntrack entry, once the
 * packet is recorded or left to another point of its path. It is a program of its own so
 * that a kernel without bpf_rdonly_cast (before Linux 6.2) only loses the links: the entry
 * stays empty, the tail call falls through.
 *
 * Why here: -i any records a veth pair's packets at the end outside the recorder's namespace
 * (a container's), where the packet has crossed the pair and lost its conntrack entry
 * (skb_scrub_packet). The entry is still there when the host's end sends it, after the
 * host's NAT hooks ran (POSTROUTING: SNAT and MASQUERADE done; DNAT was done before
 * routing). So each sending device is asked, recorded or not: which namespace records this
 * packet (any_point.h: the device's own, or its veth peer's; none for a bridge, whose ports
 * are asked in turn), and is the packet exactly one of the entry's two flows? A packet in the
 * entry's original direction carries the reply tuple reversed (the flow after the
 * translation), one in the reply direction the original tuple reversed (the flow before);
 * the packet's addresses and ports are compared with that tuple, and a packet that is not
 * exactly it (not translated yet, fragments, other protocols) reports nothing. User space
 * (recorder/nat_sightings.c) links the two flows once each was seen in one namespace.
 *
 * A report is made at most once a second per entry, direction, device and CPU
 * (conntrack_read.h's table): a flow is reported for each device it leaves through, so a
 * packet flooded to several bridge ports shows up in several namespaces, and user space
 * links none of them. The cost per packet: a few loads and, for a NATed one, one table
 * lookup; the device's kind, its peer and the packet's headers are read only for a report.
 * The program observes only (a tracepoint cannot change a packet).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ecap.h"
#include "any_point.h"
#include "conntrack_read.h"

char LICENSE[] SEC("license") = "GPL";

#define IP_CT_IS_REPLY_NR 3

const volatile __u32 recorder_netns = 0; /* inode of the recorder's network namespace */

/* capture_any.bpf.c's (user space hands its fd over before load) */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} any_packets SEC(".maps");

struct any_nat_record {
	struct ecap_any_event h;
	struct ecap_nat_info n;
};

static __always_inline bool same_end(const __u8 *addr, __u16 port_be, const struct ecap_ct_end *e)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, addr, 8);
	__builtin_memcpy(&a1, addr + 8, 8);
	__builtin_memcpy(&b0, e->addr, 8);
	__builtin_memcpy(&b1, e->addr + 8, 8);
	return a0 == b0 && a1 == b1 && bpf_ntohs(port_be) == e->port;
}

/* Whether the packet's addresses and ports are src -> dst: an unfragmented (or first
 * fragment) IPv4 packet, or an IPv6 packet without extension headers, of protocol proto. */
static __always_inline bool packet_is(struct sk_buff *skb, __u8 proto,
				      const struct ecap_ct_end *src,
				      const struct ecap_ct_end *dst)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u8 ip[40], s[16], d[16];
	__u16 ports[2];
	__u32 th;

	if (nh == (__u16)~0U || bpf_probe_read_kernel(ip, 20, head + nh) < 0)
		return false;
	if ((ip[0] >> 4) == 4) {
		__u32 sa, da;

		if (ip[9] != proto || ((ip[6] & 0x1f) | ip[7]) != 0) /* a later fragment */
			return false;
		__builtin_memcpy(&sa, ip + 12, 4);
		__builtin_memcpy(&da, ip + 16, 4);
		v4_mapped(s, sa);
		v4_mapped(d, da);
		th = nh + (ip[0] & 0xf) * 4;
	} else if ((ip[0] >> 4) == 6) {
		if (bpf_probe_read_kernel(ip, 40, head + nh) < 0 || ip[6] != proto)
			return false;
		__builtin_memcpy(s, ip + 8, 16);
		__builtin_memcpy(d, ip + 24, 16);
		th = nh + 40;
	} else {
		return false;
	}
	if (bpf_probe_read_kernel(ports, 4, head + th) < 0)
		return false;
	return same_end(s, ports[0], src) && same_end(d, ports[1], dst);
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(ecap_any_nat, struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	struct any_nat_record rec;
	struct reported *claimed;
	__u32 status, ifindex, netns, rec_netns, peer_netns;
	__u64 nfct, now;
	struct nf_conn *ct;
	enum dev_kind kind;
	bool reply;

	if (!bpf_core_field_exists(skb->_nfct) || !dev)
		return 0;
	nfct = skb->_nfct;
	reply = (nfct & 7) >= IP_CT_IS_REPLY_NR;
	nfct &= ~7ull;
	ct = ct_natted(nfct, &status);
	if (!ct)
		return 0;
	ifindex = dev->ifindex;
	now = bpf_ktime_get_ns();
	/* one report per entry (its address and ports), direction and device */
	claimed = claim(nfct ^ ct_ports_key(ct) ^
			(((__u64)ifindex << 1 | reply) * 0x9e3779b97f4a7c15ull), now);
	if (!claimed)
		return 0;
	/* the namespace whose point records this packet (capture_any.bpf.c's rules) */
	netns = dev_netns(dev);
	kind = dev_kind(dev);
	if (kind == KIND_BRIDGE)
		return 0; /* its ports send the packet on, and are asked then */
	rec_netns = netns;
	if (kind == KIND_VETH && !veth_chosen(dev, netns, ifindex, recorder_netns, &peer_netns))
		rec_netns = peer_netns;
	if (!rec_netns || !ct_nat_info(&rec.n, ct, status))
		return 0;
	rec.n.reply = reply;
	/* the packet is the flow before the translation (reply direction) or after it */
	if (reply ? !packet_is(skb, rec.n.proto, &rec.n.orig_dst, &rec.n.orig_src)
		  : !packet_is(skb, rec.n.proto, &rec.n.reply_dst, &rec.n.reply_src))
		return 0;
	__builtin_memset(&rec.h, 0, sizeof(rec.h));
	rec.h.ts_mono_ns = now;
	rec.h.netns = rec_netns;
	rec.h.ifindex = ifindex;
	rec.h.len = sizeof(rec.n);
	rec.h.caplen = sizeof(rec.n);
	rec.h.dir = ECAP_REC_NAT;
	if (bpf_perf_event_output(ctx, &any_packets, BPF_F_CURRENT_CPU, &rec, sizeof(rec)) < 0)
		claimed->key = 0; /* not reported: try again with the next packet */
	return 0;
}
