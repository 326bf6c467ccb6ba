// SPDX-License-Identifier: GPL-2.0-only
/*
 * vlan_push.bpf.c - a test helper for tests/live/veth.sh: a TC program that gives IPv4 UDP
 * packets to port 9 (discard) a VLAN tag (id 100) through bpf_skb_vlan_push(), which keeps
 * the tag outside the packet bytes, as a NIC with VLAN acceleration does. The recorder must
 * put such a tag back into the frame it stores. Everything else passes untouched.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tc")
int vlan_push(struct __sk_buff *skb)
{
	__u8 ihl_proto[10];
	__u16 dport;
	__u32 ihl;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, ihl_proto, sizeof(ihl_proto)) < 0)
		return TC_ACT_OK;
	if (ihl_proto[9] != IPPROTO_UDP)
		return TC_ACT_OK;
	ihl = (ihl_proto[0] & 0x0f) * 4;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + ihl + 2, &dport, sizeof(dport)) < 0)
		return TC_ACT_OK;
	if (dport == bpf_htons(9))
		bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 100);
	return TC_ACT_OK;
}
