// SPDX-License-Identifier: GPL-2.0-only
/*
 * capture_any.bpf.c - `ecap-rec -i any`: every packet of every device of every network
 * namespace, from two tracepoints that see all devices with no per-device attach (devices
 * and namespaces made after the start included): tp_btf/net_dev_queue (a device is about to
 * transmit: __dev_queue_xmit, after TC egress, before the qdisc) and tp_btf/netif_receive_skb
 * (a device received: __netif_receive_skb_core, before TC ingress). Each packet goes to user
 * space once through bpf_skb_output (the kernel copies the bytes, also those in page
 * fragments) into the perf event array "any_packets" (struct ecap_any_event, bpf/ecap.h).
 *
 * Where a packet is recorded (so that it is recorded once per link it crosses):
 *   - loopback devices: when sent (egress); their receive is the same packet again;
 *   - veth pairs: at one end only, both ways (sent there: egress, received: ingress): the end
 *     outside the recorder's namespace when exactly one end is, else the end with the larger
 *     (namespace inode, ifindex). A packet sent into a veth is received by its peer: the end
 *     not chosen records nothing. Both directions of a connection are then in one namespace,
 *     whose sockets own it;
 *   - bridges: never on the bridge device: what it receives came in through a port, what it
 *     sends leaves through ports, and the ports record it;
 *   - every other device (physical, tun, VLAN, macvlan, bond...): egress and ingress. A
 *     stacked device's packet is also seen on its lower device, as tcpdump -i any sees it.
 * Devices of other link types than Ethernet, loopback and raw IP are counted, not recorded.
 *
 * With PCAP-FILTER (have_filter), the packet's head (link-layer header and up to
 * ECAP_ANY_HEAD bytes of the skb's linear part) is copied into the per-CPU "any_head" and
 * the filter program of the point (recorder/cbpf_ebpf.c, CBPF_SRC_HEAD) is tail-called; it
 * counts a packet that does not match as filtered, and tail-calls ecap_any_in_record /
 * ecap_any_eg_record for one that matches or that it cannot judge from the head. An empty
 * entry (the kernel refused the filter) falls through: the packet is recorded and user space
 * filters it. The event is built in the per-CPU "any_event" (one slot per point: the two
 * programs run with bottom halves off and do not nest), where the record programs find it.
 *
 * The programs observe only (tracepoints cannot change a packet); a packet that cannot be
 * recorded (perf buffer full, copy failure) is counted as lost.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ecap.h"
#include "any_point.h"

char LICENSE[] SEC("license") = "GPL";

#define IFF_LOOPBACK_FLAG 0x8
#define ARPHRD_ETHER_T 1
#define ARPHRD_LOOPBACK_T 772
#define ARPHRD_NONE_T 65534

/* Settings, written through the skeleton's rodata before load. */
const volatile __u32 owner_pid = 0;       /* the recorder (for bpftool listings) */
const volatile __u32 recorder_netns = 0;  /* inode of the recorder's network namespace */
const volatile __u32 snaplen = ECAP_ANY_CAP_MAX;
const volatile bool have_filter = false;  /* PCAP-FILTER: tail-call any_filter */

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} any_packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ecap_any_counters);
} any_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct ecap_any_event);
} any_event SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct ecap_any_head);
} any_head SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, ECAP_ANY_PROGS);
	__type(key, __u32);
	__type(value, __u32);
} any_filter SEC(".maps");

static __always_inline struct ecap_any_counters *counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&any_counters, &zero);
}

/* TPID and TCI, both in network order, at l2[at] (at <= ECAP_ANY_L2_MAX - 4); a TPID of 0
 * (a tag set without one) is 802.1Q, as the kernel's own insertion takes it. */
static __always_inline void put_tag(struct ecap_any_event *ev, __u32 at, __be16 tpid,
				    __be16 tci)
{
	if (!tpid)
		tpid = bpf_htons(0x8100);
	__builtin_memcpy(&ev->l2[at], &tpid, 2);
	__builtin_memcpy(&ev->l2[at + 2], &tci, 2);
}

/* ev's link-layer part: ingress, the header the kernel pulled off (between the mac header
 * and data); a VLAN tag kept outside the bytes goes after the 12 address bytes. */
static __always_inline void fill_l2(struct sk_buff *skb, struct ecap_any_event *ev, __u8 dir,
				    __u16 type)
{
	unsigned char *head = BPF_CORE_READ(skb, head), *data = BPF_CORE_READ(skb, data);
	__u16 mac = BPF_CORE_READ(skb, mac_header);
	__be16 tpid = BPF_CORE_READ(skb, vlan_proto);
	__be16 tci = bpf_htons(BPF_CORE_READ(skb, vlan_tci));
	__u32 pull = 0, j, at;
	bool tag = (tpid || tci) && type != ARPHRD_NONE_T;

	if (tag && dir == ECAP_DIR_EGRESS) {
		/* the first 12 bytes of data, the tag, then data from 12 on */
		if (bpf_probe_read_kernel(&ev->l2[ECAP_ANY_L2_MAX - 16], 12, data) < 0)
			return;
		put_tag(ev, ECAP_ANY_L2_MAX - 4, tpid, tci);
		ev->l2_len = 16;
		ev->data_skip = 12;
		return;
	}
	if (dir == ECAP_DIR_INGRESS && mac != (__u16)~0U && head + mac <= data)
		pull = data - (head + mac);
	if (pull == 0 || pull > ECAP_ANY_L2_MAX - 4)
		return; /* none, or not a header we know: the bytes from data on */
	/* the 32 bytes before data end with the header (what precedes it is not used) */
	if (bpf_probe_read_kernel(ev->l2, ECAP_ANY_L2_MAX, data - ECAP_ANY_L2_MAX) < 0) {
		if (pull != 14 || bpf_probe_read_kernel(&ev->l2[ECAP_ANY_L2_MAX - 14], 14,
							head + mac) < 0)
			return;
	}
	ev->l2_len = pull;
	if (!tag || pull < 12)
		return;
	for (j = 0; j < 12; j++) {
		__u32 to = ECAP_ANY_L2_MAX - 4 - pull + j, from = to + 4;

		/* the masks keep the indices inside l2[] for the verifier */
		asm volatile("" : "+r"(to), "+r"(from));
		ev->l2[to & 31] = ev->l2[from & 31];
	}
	at = ECAP_ANY_L2_MAX - 4 - pull + 12;
	asm volatile("" : "+r"(at));
	at &= 31;
	if (at > ECAP_ANY_L2_MAX - 4)
		return;
	put_tag(ev, at, tpid, tci);
	ev->l2_len = pull + 4;
}

/* The packet's head for the kernel filter: ev's l2[], then the linear bytes. */
static __always_inline void fill_head(struct sk_buff *skb, const struct ecap_any_event *ev,
				      __u32 point)
{
	struct ecap_any_head *h = bpf_map_lookup_elem(&any_head, &point);
	unsigned char *data = BPF_CORE_READ(skb, data);
	__u32 linear = BPF_CORE_READ(skb, len) - BPF_CORE_READ(skb, data_len);
	__u32 l2 = ev->l2_len, skip = ev->data_skip, n;
	__u64 size;

	if (!h)
		return;
	h->len = ev->len;
	h->caplen = 0;
	h->off = ECAP_ANY_L2_MAX - l2;
	if (l2 > ECAP_ANY_L2_MAX || skip > linear)
		return;
	__builtin_memcpy(h->data, ev->l2, ECAP_ANY_L2_MAX);
	n = linear - skip;
	if (n > ECAP_ANY_HEAD)
		n = ECAP_ANY_HEAD;
	if (l2 + n > ev->caplen)
		n = ev->caplen > l2 ? ev->caplen - l2 : 0;
	size = n;
	asm volatile("" : "+r"(size)); /* the bound below stays on what the helper gets */
	size &= 0x1ff;
	if (size > ECAP_ANY_HEAD)
		size = 0;
	if (size && bpf_probe_read_kernel(&h->data[ECAP_ANY_L2_MAX], size, data + skip) < 0)
		n = 0;
	h->caplen = l2 + n;
}

static __always_inline void output(void *ctx, struct sk_buff *skb, struct ecap_any_event *ev)
{
	struct ecap_any_counters *cnt = counters();
	__u64 bytes = 0;

	if (ev->caplen > ev->l2_len)
		bytes = ev->caplen - ev->l2_len + ev->data_skip;
	else if (ev->data_skip)
		bytes = ev->data_skip;
	if (bpf_skb_output(skb, &any_packets, BPF_F_CURRENT_CPU | (bytes << 32), ev,
			   sizeof(*ev)) < 0 && cnt)
		cnt->lost++;
}

static __always_inline int record(void *ctx, struct sk_buff *skb, __u8 dir)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct ecap_any_counters *cnt = counters();
	struct ecap_any_event *ev;
	__u32 point = dir == ECAP_DIR_EGRESS, netns, ifindex, len, peer_netns;
	enum dev_kind kind;
	__u16 type;

	if (!dev)
		return 0;
	type = BPF_CORE_READ(dev, type);
	if (type != ARPHRD_ETHER_T && type != ARPHRD_LOOPBACK_T && type != ARPHRD_NONE_T) {
		if (cnt)
			cnt->unsupported++;
		return 0;
	}
	netns = dev_netns(dev);
	ifindex = BPF_CORE_READ(dev, ifindex);
	kind = dev_kind(dev);
	if (kind == KIND_BRIDGE ||
	    (dir == ECAP_DIR_INGRESS && (BPF_CORE_READ(dev, flags) & IFF_LOOPBACK_FLAG)) ||
	    (kind == KIND_VETH && !veth_chosen(dev, netns, ifindex, recorder_netns, &peer_netns))) {
		if (cnt)
			cnt->other_end++;
		return 0;
	}
	ev = bpf_map_lookup_elem(&any_event, &point);
	if (!ev)
		return 0;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_mono_ns = bpf_ktime_get_ns();
	ev->netns = netns;
	ev->ifindex = ifindex;
	ev->dev_type = type;
	ev->dir = dir;
	BPF_CORE_READ_STR_INTO(&ev->name, dev, name);
	fill_l2(skb, ev, dir, type);
	len = BPF_CORE_READ(skb, len) + ev->l2_len - ev->data_skip;
	ev->len = len;
	ev->caplen = len < snaplen ? len : snaplen;
	if (ev->caplen > ECAP_ANY_CAP_MAX)
		ev->caplen = ECAP_ANY_CAP_MAX;
	if (cnt) {
		cnt->seen++;
		cnt->seen_bytes += len;
	}
	if (have_filter && type != ARPHRD_NONE_T) { /* the filter is compiled for Ethernet */
		fill_head(skb, ev, point);
		bpf_tail_call(ctx, &any_filter, ECAP_ANY_FILTER + point);
	}
	output(ctx, skb, ev);
	return 0;
}

/* A packet that leaves a device and belongs to a conntrack entry: conntrack_any.bpf.c (entry
 * ECAP_ANY_NAT of any_filter, empty when it could not be loaded: the call falls through)
 * reports the entry when NAT changed it. Called once the packet is recorded, or left to
 * another point, never for one PCAP-FILTER rejected: its flow is not recorded. */
static __always_inline void nat_check(void *ctx, struct sk_buff *skb)
{
	if (bpf_core_field_exists(skb->_nfct) && skb->_nfct > 7)
		bpf_tail_call(ctx, &any_filter, ECAP_ANY_NAT);
}

/* A packet the filter program passed: its event waits in any_event. */
static __always_inline int record_matched(void *ctx, struct sk_buff *skb, __u32 point)
{
	struct ecap_any_event *ev = bpf_map_lookup_elem(&any_event, &point);

	if (ev)
		output(ctx, skb, ev);
	return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(ecap_any_ingress, struct sk_buff *skb)
{
	return record(ctx, skb, ECAP_DIR_INGRESS);
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(ecap_any_egress, struct sk_buff *skb)
{
	record(ctx, skb, ECAP_DIR_EGRESS);
	nat_check(ctx, skb);
	return 0;
}

/* Entries ECAP_ANY_RECORD + 0 and + 1 of any_filter; never attached themselves. */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(ecap_any_in_record, struct sk_buff *skb)
{
	return record_matched(ctx, skb, 0);
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(ecap_any_eg_record, struct sk_buff *skb)
{
	record_matched(ctx, skb, 1);
	nat_check(ctx, skb);
	return 0;
}
