// SPDX-License-Identifier: GPL-2.0-only
/*
 * capture.bpf.c - TC clsact programs that copy every packet of the captured interfaces into
 * the "packets" ring buffer (struct ecap_pkt_event + up to snaplen bytes, bpf/ecap.h).
 *
 * The programs observe only: whatever happens they return TC_ACT_UNSPEC, which lets the
 * packet continue to the next filter on the hook and, after the last one, on its way as if no
 * filter were there (TC_ACT_OK would end classification and skip filters that run after us).
 * A packet that cannot be copied (ring full, load failure) is counted per CPU and per
 * interface in "counters" (struct ecap_counters) and passes unchanged.
 *
 * A ring buffer reservation needs a size known at load time, so the copy goes through size
 * classes: the smallest class that holds caplen bytes is reserved, so a record wastes less
 * than half of its room. User space attaches only the egress program on lo, where the same
 * skb goes through egress and then ingress: each packet is recorded once.
 *
 * PCAP-FILTER runs in the kernel when user space could translate it (recorder/cbpf_ebpf.c):
 * after counting the packet as seen, ecap_ingress/ecap_egress tail-call the interface's
 * filter program in "filter_progs" (ECAP_FILTER_* in ecap.h). An empty entry (no filter, or
 * the filter runs in user space) makes the tail call fall through: the packet is recorded
 * here. The filter program returns TC_ACT_UNSPEC on no match (counted as filtered) and on a
 * match tail-calls ecap_in_record/ecap_eg_record, which record without counting the packet
 * as seen again; if that tail call fails the filter program counts the packet as copy_fail,
 * a loss. Neither program is attached to TC itself.
 *
 * After a packet is recorded, the programs tail-call conntrack.bpf.c's reader (entries
 * ECAP_CONNTRACK_PROG + point), which may add a record of the packet's NAT or of the other
 * namespace's socket that sent it; an empty entry falls through.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ecap.h"

#define TC_ACT_UNSPEC (-1)

char LICENSE[] SEC("license") = "GPL";

/* Settings, written through the skeleton's rodata before load. */
const volatile __u32 owner_pid = 0;     /* the recorder; tells live filters from stale ones */
const volatile __u64 wakeup_bytes = 0;  /* wake the reader when this much waits; 0: always */

#include "capture_maps.h"
#include "reader_wake.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, ECAP_FILTER_PROGS);
	__type(key, __u32);
	__type(value, __u32);
} filter_progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ECAP_IFACES_MAX + 1);
	__type(key, __u32);
	__type(value, struct ecap_counters);
} counters SEC(".maps");

/* Packets lost (ring full, copy failed) on any interface, bumped after the interface's per-CPU
 * counter: the reader looks up the per-CPU counters (a system call) only when this moved
 * (live_capture_tick). Written only when a packet is lost, so nothing per recorded packet. */
volatile __u64 losses = 0;

/* Why a packet was not recorded. */
enum {
	LOST_NONE = 0,
	LOST_RING_FULL,
	LOST_COPY_FAIL,
};

static __always_inline __u64 wake_flags(void)
{
	if (reader_asleep)
		return BPF_RB_FORCE_WAKEUP;
	if (!wakeup_bytes)
		return 0;
	if (bpf_ringbuf_query(&packets, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/*
 * Copy caplen (1..CAP) bytes into a record of class CAP. LOST_NONE when recorded, else why
 * not. The bounds are re-checked on the copy's own registers so that the verifier sees
 * 0 < length <= room at each helper call whatever clang did with caplen.
 *
 * tag (TPID << 16 | TCI, 0: none) is a VLAN tag the device keeps outside the packet bytes
 * (hardware VLAN acceleration): it is put back after the MAC addresses, as tcpdump shows it,
 * and caplen and len already count its 4 bytes. (A snaplen below 17 keeps the frame untagged.)
 */
#define DEFINE_CLASS(CAP)                                                                     \
	static __noinline int copy_##CAP(struct __sk_buff *skb, const struct ecap_pkt_event *h,  \
					 __u32 tag)                                               \
	{                                                                                         \
		struct ecap_pkt_event *ev;                                                        \
		__u32 n = h->caplen, rest;                                                        \
		__u8 *d;                                                                          \
		int rc;                                                                           \
                                                                                                  \
		if (n == 0 || n > CAP)                                                            \
			return LOST_COPY_FAIL;                                                    \
		ev = bpf_ringbuf_reserve(&packets, sizeof(*ev) + CAP, 0);                         \
		if (!ev)                                                                          \
			return LOST_RING_FULL;                                                    \
		__builtin_memcpy(ev, h, sizeof(*ev));                                             \
		d = (__u8 *)(ev + 1);                                                             \
		rest = n - 16;                                                                    \
		if (tag && n > 16 && rest <= CAP - 16) {                                          \
			rc = bpf_skb_load_bytes(skb, 0, d, 12);                                   \
			d[12] = tag >> 24;                                                        \
			d[13] = tag >> 16;                                                        \
			d[14] = tag >> 8;                                                         \
			d[15] = tag;                                                              \
			if (rc == 0)                                                              \
				rc = bpf_skb_load_bytes(skb, 12, d + 16, rest);                   \
		} else {                                                                          \
			rc = bpf_skb_load_bytes(skb, 0, d, n);                                    \
		}                                                                                 \
		if (rc < 0) {                                                                     \
			bpf_ringbuf_discard(ev, BPF_RB_NO_WAKEUP);                                \
			return LOST_COPY_FAIL;                                                    \
		}                                                                                 \
		bpf_ringbuf_submit(ev, wake_flags());                                             \
		return LOST_NONE;                                                                 \
	}

DEFINE_CLASS(96)
DEFINE_CLASS(224)
DEFINE_CLASS(480)
DEFINE_CLASS(992)
DEFINE_CLASS(1528)
DEFINE_CLASS(2040)
DEFINE_CLASS(4088)
DEFINE_CLASS(9208)
DEFINE_CLASS(16376)
DEFINE_CLASS(32760)
DEFINE_CLASS(65600)

_Static_assert(ECAP_CAP_MAX == 65600, "the largest size class must be ECAP_CAP_MAX");

/* matched: the packet passed the interface's filter program, which tail-called us */
static __always_inline int record(struct __sk_buff *skb, __u8 dir, bool matched)
{
	struct ecap_pkt_event h = {};
	struct ecap_iface_cfg *cfg;
	struct ecap_counters *cnt;
	__u32 key = skb->ifindex % ECAP_IFSLOTS;
	__u32 snaplen = ECAP_CAP_MAX, len = skb->len, n, tag = 0;
	int why;

	h.slot = ECAP_IFACES_MAX;
	cfg = bpf_map_lookup_elem(&ifaces, &key);
	if (cfg && cfg->ifindex == skb->ifindex) {
		h.slot = cfg->slot < ECAP_IFACES_MAX ? cfg->slot : ECAP_IFACES_MAX;
		if (cfg->snaplen && cfg->snaplen < snaplen)
			snaplen = cfg->snaplen;
	}
	cnt = bpf_map_lookup_elem(&counters, &h.slot);
	if (cnt && !matched) {
		cnt->seen++;
		cnt->seen_bytes += len;
	}
	if (h.slot == ECAP_IFACES_MAX || len == 0)
		return TC_ACT_UNSPEC;
	if (!matched)
		bpf_tail_call(skb, &filter_progs, 2 * h.slot + (dir == ECAP_DIR_EGRESS));

	if (skb->vlan_present) {
		__u32 tpid = bpf_ntohs((__u16)skb->vlan_proto);

		tag = (tpid ? tpid : 0x8100) << 16 | (skb->vlan_tci & 0xffff);
		len += 4;
	}
	n = len < snaplen ? len : snaplen;
	if (tag && n <= 16) {
		tag = 0; /* too short to hold the tag: the frame as the device has it */
		len -= 4;
		n = len < snaplen ? len : snaplen;
	}
	h.ts_mono_ns = bpf_ktime_get_ns();
	h.ifindex = skb->ifindex;
	h.len = len;
	h.caplen = n;
	h.dir = dir;

	if (n <= 96)
		why = copy_96(skb, &h, tag);
	else if (n <= 224)
		why = copy_224(skb, &h, tag);
	else if (n <= 480)
		why = copy_480(skb, &h, tag);
	else if (n <= 992)
		why = copy_992(skb, &h, tag);
	else if (n <= 1528)
		why = copy_1528(skb, &h, tag);
	else if (n <= 2040)
		why = copy_2040(skb, &h, tag);
	else if (n <= 4088)
		why = copy_4088(skb, &h, tag);
	else if (n <= 9208)
		why = copy_9208(skb, &h, tag);
	else if (n <= 16376)
		why = copy_16376(skb, &h, tag);
	else if (n <= 32760)
		why = copy_32760(skb, &h, tag);
	else
		why = copy_65600(skb, &h, tag);
	if (cnt && why == LOST_RING_FULL)
		cnt->ring_full++;
	else if (cnt && why == LOST_COPY_FAIL)
		cnt->copy_fail++;
	if (why != LOST_NONE)
		__sync_fetch_and_add(&losses, 1);
	if (why == LOST_NONE) /* an empty entry falls through */
		bpf_tail_call(skb, &filter_progs, ECAP_CONNTRACK_PROG + (dir == ECAP_DIR_EGRESS));
	return TC_ACT_UNSPEC;
}

SEC("tc")
int ecap_ingress(struct __sk_buff *skb)
{
	return record(skb, ECAP_DIR_INGRESS, false);
}

SEC("tc")
int ecap_egress(struct __sk_buff *skb)
{
	return record(skb, ECAP_DIR_EGRESS, false);
}

/* Entries ECAP_FILTER_RECORD + 0 and + 1 of filter_progs. */
SEC("tc")
int ecap_in_record(struct __sk_buff *skb)
{
	return record(skb, ECAP_DIR_INGRESS, true);
}

SEC("tc")
int ecap_eg_record(struct __sk_buff *skb)
{
	return record(skb, ECAP_DIR_EGRESS, true);
}
