// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_cbpf_ebpf.c - the classic BPF to eBPF translation (recorder/cbpf_ebpf.c), tested
 * against libpcap itself: each expression is compiled by pcap_compile, translated, loaded
 * into the kernel and run (BPF_PROG_TEST_RUN) on crafted packets (IPv4/IPv6, TCP/UDP/ICMP,
 * fragments, VLAN and QinQ tags, ARP, truncated headers); its verdict must equal
 * pcap_offline_filter's on the same bytes. The same packets are then run with a VLAN tag
 * given outside the bytes (the skb mark stands in for the device's tag, CBPF_VLAN_MARK): the
 * verdict must equal pcap_offline_filter's on the packet with the tag put in at offset 12.
 * Raw-IP programs (DLT_RAW) run on the packets' IP parts. Then the live epilogue: a match
 * tail-calls the next program, no match and a failed tail call return TC_ACT_UNSPEC and are
 * counted. Needs root and BPF: exits 77 with the reason otherwise.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>
/* The bpf(2) attributes, without the kernel's struct bpf_insn (pcap has its own). */
#define bpf_insn kernel_bpf_insn
#include <linux/bpf.h>
#undef bpf_insn
#include <sys/syscall.h>

#include "cbpf_ebpf.h"

#define SNAPLEN 262144
#define PKT_MAX 1600
#define TAG_OUT 0x81000123u /* TPID 0x8100, PCP 0, VID 0x123 */

struct pkt {
	const char *name;
	uint8_t b[PKT_MAX];
	uint32_t len;
};

static struct pkt pkts[32];
static size_t npkts;

/* ---- packet building ------------------------------------------------------------------- */

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t MAC_BC[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Ethernet header with optional tags (each TPID << 16 | TCI, 0: none) before type. */
static uint8_t *eth(uint8_t *p, const uint8_t *dst, uint32_t tag1, uint32_t tag2, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, MAC_A == dst ? MAC_B : MAC_A, 6);
	p += 12;
	if (tag1)
		p = put32(p, tag1);
	if (tag2)
		p = put32(p, tag2);
	return put16(p, type);
}

/* IPv4 header of ihl words (options zero), total length total, fragment field frag. */
static uint8_t *ip4(uint8_t *p, unsigned ihl, uint16_t total, uint16_t frag, uint8_t proto,
		    uint32_t src, uint32_t dst)
{
	memset(p, 0, ihl * 4);
	p[0] = (uint8_t)(0x40 | ihl);
	put16(p + 2, total);
	put16(p + 4, 0x1234);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	put32(p + 12, src);
	put32(p + 16, dst);
	return p + ihl * 4;
}

static uint8_t *ip6(uint8_t *p, uint16_t plen, uint8_t next, uint8_t last_src, uint8_t last_dst)
{
	static const uint8_t pre[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0 };

	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, plen);
	p[6] = next;
	p[7] = 64;
	memcpy(p + 8, pre, 8);
	p[23] = last_src;
	memcpy(p + 24, pre, 8);
	p[39] = last_dst;
	return p + 40;
}

static uint8_t *tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	memset(p, 0, 20);
	put16(p, sport);
	put16(p + 2, dport);
	put32(p + 4, 1000);
	p[12] = 5 << 4;
	p[13] = flags;
	put16(p + 14, 65535);
	return p + 20;
}

static uint8_t *udp(uint8_t *p, uint16_t sport, uint16_t dport, uint16_t len)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, len);
	put16(p + 6, 0);
	return p + 8;
}

static uint8_t *fill(uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
	return p + n;
}

static struct pkt *add(const char *name)
{
	assert_true(npkts < sizeof(pkts) / sizeof(pkts[0]));
	pkts[npkts].name = name;
	return &pkts[npkts++];
}

static void done(struct pkt *k, const uint8_t *end)
{
	k->len = (uint32_t)(end - k->b);
	assert_true(k->len >= 14 && k->len <= PKT_MAX);
}

#define A4 0x0a000001u /* 10.0.0.1 */
#define B4 0x0a000002u
#define C4 0xc0a80105u /* 192.168.1.5 */

static void build_packets(void)
{
	struct pkt *k;
	uint8_t *p;

	k = add("ipv4 tcp syn :80");
	p = ip4(eth(k->b, MAC_B, 0, 0, 0x0800), 5, 40, 0x4000, 6, A4, B4);
	done(k, tcp(p, 1234, 80, 0x02));
	k = add("ipv4 tcp ack :443 200 bytes");
	p = ip4(eth(k->b, MAC_B, 0, 0, 0x0800), 5, 240, 0, 6, B4, A4);
	done(k, fill(tcp(p, 443, 5000, 0x10), 200, 3));
	k = add("ipv4 options tcp :8080 GET");
	p = ip4(eth(k->b, MAC_B, 0, 0, 0x0800), 6, 68, 0, 6, A4, C4);
	p = tcp(p, 40000, 8080, 0x18);
	memcpy(p, "GET / HTTP/1.0\r\n\r\n", 18);
	done(k, p + 24);
	k = add("ipv4 ihl 15 tcp rst ack :22");
	p = ip4(eth(k->b, MAC_B, 0, 0, 0x0800), 15, 80, 0, 6, C4, A4);
	done(k, tcp(p, 22, 50000, 0x14));
	k = add("ipv4 udp :53");
	p = ip4(eth(k->b, MAC_B, 0, 0, 0x0800), 5, 48, 0, 17, A4, B4);
	p = udp(p, 33333, 53, 28);
	done(k, fill(p, 20, 9));
	k = add("ipv4 udp :9 payload 1234");
	p = ip4(eth(k->b, MAC_BC, 0, 0, 0x0800), 5, 32, 0, 17, B4, 0xffffffffu);
	p = udp(p, 9, 9, 12);
	done(k, put32(put16(p, 0x1234), 0));
	k = add("ipv4 icmp echo");
	p = ip4(eth(k->b, MAC_B, 0, 0, 0x0800), 5, 84, 0, 1, A4, B4);
	p[0] = 8;
	done(k, fill(p + 1, 63, 1));
	k = add("ipv4 udp non-first fragment");
	p = ip4(eth(k->b, MAC_B, 0, 0, 0x0800), 5, 120, 0x00b9, 17, A4, B4);
	done(k, fill(p, 100, 5));
	k = add("ipv4 tcp 1400 bytes");
	p = ip4(eth(k->b, MAC_A, 0, 0, 0x0800), 5, 1440, 0, 6, C4, B4);
	done(k, fill(tcp(p, 5201, 41000, 0x10), 1400, 11));
	k = add("ipv6 tcp syn :80");
	p = ip6(eth(k->b, MAC_B, 0, 0, 0x86dd), 20, 6, 1, 2);
	done(k, tcp(p, 1234, 80, 0x02));
	k = add("ipv6 udp :53");
	p = ip6(eth(k->b, MAC_B, 0, 0, 0x86dd), 30, 17, 2, 1);
	done(k, fill(udp(p, 53, 40000, 30), 22, 4));
	k = add("ipv6 icmp6 echo");
	p = ip6(eth(k->b, MAC_B, 0, 0, 0x86dd), 16, 58, 1, 2);
	p[0] = 128;
	done(k, fill(p + 1, 15, 2));
	k = add("vlan 100 ipv4 tcp :80");
	p = ip4(eth(k->b, MAC_B, 0x81000064u, 0, 0x0800), 5, 40, 0, 6, A4, B4);
	done(k, tcp(p, 1234, 80, 0x02));
	k = add("vlan 200 ipv4 udp :53");
	p = ip4(eth(k->b, MAC_B, 0x810000c8u, 0, 0x0800), 5, 36, 0, 17, B4, A4);
	done(k, fill(udp(p, 53, 5353, 16), 8, 6));
	k = add("vlan 100 ipv6 tcp :443");
	p = ip6(eth(k->b, MAC_B, 0x81000064u, 0, 0x86dd), 20, 6, 1, 2);
	done(k, tcp(p, 443, 1234, 0x12));
	k = add("qinq 300/100 ipv4 udp :9");
	p = ip4(eth(k->b, MAC_B, 0x88a8012cu, 0x81000064u, 0x0800), 5, 36, 0, 17, A4, B4);
	done(k, fill(udp(p, 1000, 9, 16), 8, 8));
	k = add("arp request");
	p = eth(k->b, MAC_BC, 0, 0, 0x0806);
	p = put32(put32(p, 0x00010800u), 0x06040001u);
	memcpy(p, MAC_A, 6);
	p = put32(p + 6, A4);
	memset(p, 0, 6);
	done(k, put32(p + 6, B4));
	/* Short packets: the kernel's test run refuses an IPv4 or IPv6 frame shorter than its
	 * IP header, so these are cut behind a VLAN tag or have another type. */
	k = add("vlan ipv4 header cut after 10 bytes");
	p = ip4(eth(k->b, MAC_B, 0x81000064u, 0, 0x0800), 5, 40, 0, 6, A4, B4);
	done(k, p - 10);
	k = add("ipv4 tcp cut after 2 bytes");
	p = ip4(eth(k->b, MAC_B, 0, 0, 0x0800), 5, 40, 0, 6, A4, B4);
	tcp(p, 1234, 80, 0x02);
	done(k, p + 2);
	k = add("ethernet header only, lldp");
	done(k, eth(k->b, MAC_B, 0, 0, 0x88cc));
	k = add("vlan ipv6 1 byte");
	p = eth(k->b, MAC_B, 0x81000064u, 0, 0x86dd);
	*p = 0x60;
	done(k, p + 1);
	k = add("vlan tag cut");
	done(k, eth(k->b, MAC_B, 0x81000064u, 0, 0x0800));
}

/* ---- expressions ----------------------------------------------------------------------- */

static char long_expr[4096];

static const char *const exprs[] = {
	"",
	"tcp",
	"udp",
	"icmp",
	"ip6",
	"arp",
	"host 10.0.0.1",
	"src host 10.0.0.2",
	"net 10.0.0.0/24",
	"dst net 192.168.0.0/16",
	"port 80",
	"tcp port 443",
	"portrange 1000-6000",
	"udp and not port 53",
	"tcp[tcpflags] & tcp-syn != 0",
	"tcp[tcpflags] & (tcp-rst|tcp-ack) == (tcp-rst|tcp-ack)",
	"vlan",
	"vlan 100",
	"vlan and udp",
	"vlan 200 and udp port 53",
	"vlan 300 and vlan 100 and udp port 9",
	"len > 100",
	"less 64",
	"greater 1000",
	"ether host 02:00:00:00:00:01",
	"ether broadcast",
	"ether[12:2] = 0x8100",
	"ip[2:2] - ((ip[0]&0xf)<<2) > 40",
	"ip[100] = 1",
	"ip6 and tcp port 80",
	"icmp6",
	"ip[6:2] & 0x1fff != 0",
	"tcp[13] = 2",
	"udp[8:2] = 0x1234",
	"tcp[((tcp[12]&0xf0)>>2):4] = 0x47455420",
	"ether[ether[11] & 15] = 2",
	"ether[(ether[5] & 15) + 8:4] != 0",
	"ether[(ether[5] & 15) + 9:2] = 0x0081",
	"ip[8] << (ip[9] & 0x3f) > 0x1000",
	"ip[2:2] % 7 = 3 or ip[2:2] / 3 = 80",
	"(ip[8] * 3) ^ 5 = 197",
	"-ip[8] & 0xff = 0xc0",
	"ip[2:2] / (ip[9] & 2) > 10",
	"ip[2:2] / (ip[9] & 2) = 0",
	"(ip[2:2] % (ip[9] & 2)) + 1 > 0",
	"ip[8] << (ip[1] | 32) = 0",
	"ip[8] >> (ip[1] | 40) = 0",
	"ip proto 17 and len >= 60 and len <= 100",
	"ip6 or arp",
	long_expr,
	/* bounds exactly at some packets' values */
	"len >= 54",
	"greater 74",
	"ip[8] >= 64",
	"portrange 80-443",
	"udp portrange 53-53",
	/* tag outside: loads after it, across it, into it, at offsets known at run time */
	"vlan and udp port 53",
	"vlan and tcp[tcpflags] & tcp-syn != 0",
	"vlan and tcp port 80",
	"vlan 291 and ip6",
	"ether[10:4] = 0x00018100",
	"ether[14:4] = 0x01230800",
	"ether[15:2] = 0x2308",
	"ether[(ether[11] & 3) + 12:2] = 0x0001",
	"ether[(ether[11] & 3) + 13:4] = 0x01230800",
	"ether[(ether[11] & 3) + 10:4] = 0x02810001",
};

/* A long expression (set up by main): "port 97 or port 194 or ... or vlan and (...)". */
static void build_long_expr(void)
{
	size_t n = 0;
	int i;

	for (i = 1; i <= 60; i++)
		n += (size_t)snprintf(long_expr + n, sizeof(long_expr) - n, "%sport %d",
				      i > 1 ? " or " : "", i * 97 % 6000);
	snprintf(long_expr + n, sizeof(long_expr) - n, " or vlan and (udp port 53 or tcp port 80 "
		 "or host 10.0.0.1 or ip6 and tcp[tcpflags] & tcp-syn != 0)");
}

static struct bpf_program compile(int dlt, const char *expr)
{
	struct bpf_program prog;
	pcap_t *dead = pcap_open_dead(dlt, SNAPLEN);

	assert_non_null(dead);
	if (pcap_compile(dead, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0)
		fail_msg("pcap_compile '%s': %s", expr, pcap_geterr(dead));
	pcap_close(dead);
	return prog;
}

static struct cbpf_insn *classic(const struct bpf_program *prog)
{
	struct cbpf_insn *v = calloc(prog->bf_len, sizeof(*v));
	unsigned i;

	assert_non_null(v);
	for (i = 0; i < prog->bf_len; i++) {
		v[i].code = prog->bf_insns[i].code;
		v[i].jt = prog->bf_insns[i].jt;
		v[i].jf = prog->bf_insns[i].jf;
		v[i].k = prog->bf_insns[i].k;
	}
	return v;
}

static int load(int dlt, const char *expr, const struct cbpf_ebpf_opts *o)
{
	struct bpf_program prog = compile(dlt, expr);
	struct cbpf_insn *v = classic(&prog);
	char err[256];
	int fd;

	fd = cbpf_ebpf_load(v, prog.bf_len, o, err, sizeof(err));
	if (fd < 0)
		fail_msg("'%s': %s (%s)", expr, err, strerror(-fd));
	free(v);
	pcap_freecode(&prog);
	return fd;
}

static bool pcap_verdict(const struct bpf_program *prog, const uint8_t *b, uint32_t len)
{
	struct pcap_pkthdr h = { .caplen = len, .len = len };

	return pcap_offline_filter(prog, &h, b) != 0;
}

static bool kernel_verdict(int fd, const uint8_t *b, uint32_t len, uint32_t mark)
{
	int32_t ret = -2;
	int rc = cbpf_ebpf_test_run(fd, b, len, mark, &ret);

	if (rc < 0)
		fail_msg("test run on %u bytes: %s", len, strerror(-rc));
	assert_true(ret == 0 || ret == 1);
	return ret == 1;
}

static void check(const char *expr, const char *pkt, const char *how, bool want, bool got,
		  unsigned *bad)
{
	if (want == got)
		return;
	print_error("'%s' on %s (%s): libpcap %s, kernel %s\n", expr, pkt, how,
		    want ? "match" : "no match", got ? "match" : "no match");
	(*bad)++;
}

/* Each expression against each packet, as is and with a tag outside the bytes. */
static void test_ethernet(void **state)
{
	struct cbpf_ebpf_opts o = { .vlan = CBPF_VLAN_MARK, .next_map_fd = -1,
				    .count_map_fd = -1 };
	uint8_t tagged[PKT_MAX + 4];
	unsigned bad = 0, matches = 0, runs = 0;
	size_t e, i;
	bool want;
	int fd;

	(void)state;
	for (e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		struct bpf_program prog = compile(DLT_EN10MB, exprs[e]);

		fd = load(DLT_EN10MB, exprs[e], &o);
		for (i = 0; i < npkts; i++) {
			const struct pkt *k = &pkts[i];

			want = pcap_verdict(&prog, k->b, k->len);
			matches += want;
			check(exprs[e], k->name, "bytes", want, kernel_verdict(fd, k->b, k->len, 0),
			      &bad);
			/* the tag outside: the program must see it at 12, as the recorder does */
			memcpy(tagged, k->b, 12);
			put32(tagged + 12, TAG_OUT);
			memcpy(tagged + 16, k->b + 12, k->len - 12);
			want = pcap_verdict(&prog, tagged, k->len + 4);
			matches += want;
			check(exprs[e], k->name, "tag outside", want,
			      kernel_verdict(fd, k->b, k->len, TAG_OUT), &bad);
			runs += 2;
		}
		close(fd);
		pcap_freecode(&prog);
	}
	print_message("%u runs, %u matches, %u differences\n", runs, matches, bad);
	assert_int_equal(bad, 0);
	assert_true(matches > runs / 8 && matches < runs - runs / 8); /* a test that can fail */
}

/* Raw IP (tun devices): the IP part of each IP packet, no VLAN view. */
static void test_raw(void **state)
{
	static const char *const raw[] = {
		"tcp", "udp port 53", "ip6", "host 10.0.0.1 and tcp[13] = 2",
		"ip[2:2] - ((ip[0]&0xf)<<2) > 40", "len > 100", "icmp or icmp6",
	};
	struct cbpf_ebpf_opts o = { .vlan = CBPF_VLAN_NONE, .next_map_fd = -1,
				    .count_map_fd = -1 };
	unsigned bad = 0;
	size_t e, i;
	int fd;

	(void)state;
	for (e = 0; e < sizeof(raw) / sizeof(raw[0]); e++) {
		struct bpf_program prog = compile(DLT_RAW, raw[e]);

		fd = load(DLT_RAW, raw[e], &o);
		for (i = 0; i < npkts; i++) {
			const struct pkt *k = &pkts[i];

			if (k->b[12] != 0x08 && k->b[12] != 0x86)
				continue;
			if (k->len < 28) /* a test run needs 14 bytes */
				continue;
			check(raw[e], k->name, "raw", pcap_verdict(&prog, k->b + 14, k->len - 14),
			      kernel_verdict(fd, k->b + 14, k->len - 14, 0), &bad);
		}
		close(fd);
		pcap_freecode(&prog);
	}
	assert_int_equal(bad, 0);
}

/* Programs libpcap does not make: what the translation refuses, and why. */
static void test_refused(void **state)
{
	struct cbpf_ebpf_opts o = { .next_map_fd = -1, .count_map_fd = -1 };
	const struct cbpf_insn ancillary[] = { { 0x20 | 0x00 | 0x00, 0, 0, 0xfffff000u },
					       { 0x06, 0, 0, 1 } };
	const struct cbpf_insn jump_out[] = { { 0x05, 0, 0, 5 }, { 0x06, 0, 0, 1 } };
	const struct cbpf_insn bad_mem[] = { { 0x02, 0, 0, 16 }, { 0x06, 0, 0, 1 } };
	const struct cbpf_insn bad_misc[] = { { 0x07 | 0x10, 0, 0, 0 }, { 0x06, 0, 0, 1 } };
	const struct cbpf_insn no_ret[] = { { 0x00, 0, 0, 1 } };
	char err[256];
	int fd;

	(void)state;
	/* an ancillary load is an out of range load: no match, as in pcap_offline_filter */
	fd = cbpf_ebpf_load(ancillary, 2, &o, err, sizeof(err));
	assert_true(fd >= 0);
	{
		uint8_t b[60] = { 0 };

		assert_false(kernel_verdict(fd, b, sizeof(b), 0));
	}
	close(fd);
	assert_int_equal(cbpf_ebpf_load(jump_out, 2, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "instruction 0"));
	assert_int_equal(cbpf_ebpf_load(bad_mem, 2, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "memory slot 16"));
	assert_int_equal(cbpf_ebpf_load(bad_misc, 2, &o, err, sizeof(err)), -EOPNOTSUPP);
	assert_int_equal(cbpf_ebpf_load(no_ret, 1, &o, err, sizeof(err)), -EINVAL);
	/* the largest sequence, 300 times (x + k loads across a tag): room enough */
	{
		struct cbpf_insn many[301];
		uint8_t b[60] = { 0 };
		int i;

		for (i = 0; i < 300; i++)
			many[i] = (struct cbpf_insn){ 0x40, 0, 0, 9 + (uint32_t)i % 8 };
		many[300] = (struct cbpf_insn){ 0x06, 0, 0, 1 };
		o.vlan = CBPF_VLAN_MARK;
		fd = cbpf_ebpf_load(many, 301, &o, err, sizeof(err));
		if (fd < 0)
			fail_msg("300 loads: %s", err);
		assert_true(kernel_verdict(fd, b, sizeof(b), TAG_OUT));
		close(fd);
	}
	assert_int_equal(cbpf_ebpf_load(no_ret, 0, &o, err, sizeof(err)), -EINVAL);
}

/* ---- the live epilogue: tail call on a match, counters ---------------------------------- */

/* Without <bpf/bpf.h> (its struct bpf_insn is not pcap's): the few syscalls needed. */
static int sys_bpf(int cmd, union bpf_attr *a)
{
	return (int)syscall(__NR_bpf, cmd, a, sizeof(*a));
}

static int map_create(uint32_t type, uint32_t value_size, uint32_t entries)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = 4;
	a.value_size = value_size;
	a.max_entries = entries;
	return sys_bpf(BPF_MAP_CREATE, &a);
}

static int map_update(int fd, uint32_t key, const void *val)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uintptr_t)&key;
	a.value = (uintptr_t)val;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

/* counters[0] summed over the CPUs: [0] filtered, [1] lost */
static void counters(int fd, uint64_t out[2])
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF), i;
	uint64_t *v = calloc((size_t)ncpu * 2, 8);
	union bpf_attr a;
	uint32_t key = 0;

	assert_non_null(v);
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uintptr_t)&key;
	a.value = (uintptr_t)v;
	assert_int_equal(sys_bpf(BPF_MAP_LOOKUP_ELEM, &a), 0);
	out[0] = out[1] = 0;
	for (i = 0; i < ncpu; i++) {
		out[0] += v[2 * i];
		out[1] += v[2 * i + 1];
	}
	free(v);
}

static void test_tail_call(void **state)
{
	struct cbpf_ebpf_opts o = { .vlan = CBPF_VLAN_SKB, .next_index = 3, .filtered_off = 0,
				    .lost_off = 8 };
	struct cbpf_ebpf_opts next_o = { .next_map_fd = -1, .count_map_fd = -1 };
	const struct cbpf_insn ret7[] = { { 0x06, 0, 0, 7 } };
	uint64_t c[2];
	int32_t ret;
	int fd, next, pa, cnt;
	char err[256];

	(void)state;
	pa = map_create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4);
	cnt = map_create(BPF_MAP_TYPE_PERCPU_ARRAY, 16, 1);
	assert_true(pa >= 0 && cnt >= 0);
	o.next_map_fd = pa;
	o.count_map_fd = cnt;
	fd = load(DLT_EN10MB, "udp port 53", &o);
	/* no match: TC_ACT_UNSPEC, counted as filtered */
	assert_int_equal(cbpf_ebpf_test_run(fd, pkts[0].b, pkts[0].len, 0, &ret), 0);
	assert_int_equal(ret, -1);
	/* a match, nothing at entry 3: the tail call falls through, counted as lost */
	assert_int_equal(cbpf_ebpf_test_run(fd, pkts[4].b, pkts[4].len, 0, &ret), 0);
	assert_int_equal(ret, -1);
	counters(cnt, c);
	assert_int_equal(c[0], 1);
	assert_int_equal(c[1], 1);
	/* a match with a program at entry 3: its return value (a "ret #7" program) */
	next = cbpf_ebpf_load(ret7, 1, &next_o, err, sizeof(err));
	assert_true(next >= 0);
	assert_int_equal(map_update(pa, 3, &next), 0);
	assert_int_equal(cbpf_ebpf_test_run(fd, pkts[4].b, pkts[4].len, 0, &ret), 0);
	assert_int_equal(ret, 1); /* ret #7 is a match: 1 */
	assert_int_equal(cbpf_ebpf_test_run(fd, pkts[1].b, pkts[1].len, 0, &ret), 0);
	assert_int_equal(ret, -1);
	counters(cnt, c);
	assert_int_equal(c[0], 2);
	assert_int_equal(c[1], 1);
	close(next);
	close(fd);
	close(pa);
	close(cnt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_tail_call),
	};
	struct cbpf_ebpf_opts o = { .next_map_fd = -1, .count_map_fd = -1 };
	const struct cbpf_insn ret1[] = { { 0x06, 0, 0, 1 } };
	char err[256];
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: loading BPF programs needs root\n");
		return 77;
	}
	fd = cbpf_ebpf_load(ret1, 1, &o, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "skipped: this kernel does not load a BPF program: %s\n", err);
		return 77;
	}
	close(fd);
	build_packets();
	build_long_expr();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
