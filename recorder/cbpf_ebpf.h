/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cbpf_ebpf.h - classic BPF (the packet filter programs pcap_compile makes) translated into
 * an eBPF program of type BPF_PROG_TYPE_SCHED_CLS and loaded into the kernel, so that the
 * capture program (bpf/capture.bpf.c) can tail-call it and skip the packets PCAP-FILTER does
 * not want before they are copied to user space. cbpf_ebpf.c has the translation rules.
 *
 * This header includes neither <pcap.h> nor <linux/bpf.h> (they both define struct bpf_insn),
 * so that both sides can include it: struct cbpf_insn has the layout of libpcap's and the
 * kernel's classic instruction (struct sock_filter).
 */
#ifndef ECAP_CBPF_EBPF_H
#define ECAP_CBPF_EBPF_H

#include <stddef.h>
#include <stdint.h>

struct cbpf_insn {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};

/* Where the program finds a VLAN tag that the device keeps outside the packet bytes. */
enum cbpf_vlan {
	CBPF_VLAN_NONE = 0,     /* no such tag: the filter sees the bytes as they are */
	CBPF_VLAN_SKB,          /* __sk_buff vlan_present/vlan_proto/vlan_tci (the live case) */
	CBPF_VLAN_MARK,         /* __sk_buff mark = TPID << 16 | TCI, 0: none (tests: the test
				 * run of a program cannot set a VLAN tag, it can set the mark) */
};

/* Where the program reads the packet. */
enum cbpf_src {
	CBPF_SRC_SKB = 0,       /* a TC program (BPF_PROG_TYPE_SCHED_CLS): the __sk_buff */
	/* A tracing program (bpf/capture_any.bpf.c's tp_btf programs tail-call it): the packet's
	 * head in the per-CPU array head_map_fd at head_key (struct ecap_any_head, bpf/ecap.h).
	 * A load past the head but inside the packet cannot be answered: the packet matches
	 * (it is recorded, and user space filters it). vlan must be CBPF_VLAN_NONE (the head
	 * holds the bytes as recorded). Loaded with attach_btf_id (the tracepoint's
	 * btf_trace_* type in vmlinux BTF) as its attach target. */
	CBPF_SRC_HEAD,
};

struct cbpf_ebpf_opts {
	enum cbpf_vlan vlan;
	enum cbpf_src src;
	int head_map_fd;
	uint32_t head_key;
	uint32_t attach_btf_id;
	/* A match tail-calls entry next_index of the BPF_MAP_TYPE_PROG_ARRAY next_map_fd, and
	 * no match returns TC_ACT_UNSPEC (-1). next_map_fd < 0: a match returns 1 and no match
	 * returns 0 (tests). */
	int next_map_fd;
	uint32_t next_index;
	/* Counting (count_map_fd >= 0): per-CPU array whose value at count_key holds u64
	 * counters; filtered_off is incremented for each packet that does not match, lost_off
	 * for each match whose tail call failed (the packet then goes unrecorded). Byte offsets,
	 * multiples of 8. */
	int count_map_fd;
	uint32_t count_key;
	uint32_t filtered_off;
	uint32_t lost_off;
};

/*
 * Translates the n classic instructions and loads the result (named ecap_filter). Returns the
 * program's fd, or -errno with the reason in err (errsz bytes): -EOPNOTSUPP for an
 * instruction it does not translate, -EINVAL for a malformed program (jump out of range,
 * memory slot past 15), -E2BIG when a jump does not fit eBPF's 16-bit offsets, or the
 * kernel's refusal (the verifier's last word in err).
 */
int cbpf_ebpf_load(const struct cbpf_insn *prog, size_t n, const struct cbpf_ebpf_opts *o,
		   char *err, size_t errsz);

/* Runs program fd once on the len bytes at pkt (an Ethernet frame, len >= 14) with the given
 * skb mark (BPF_PROG_TEST_RUN): its return value in *ret. 0 or -errno. */
int cbpf_ebpf_test_run(int fd, const uint8_t *pkt, uint32_t len, uint32_t mark, int32_t *ret);

#endif
