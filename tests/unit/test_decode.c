// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_decode.c - decode.c: every link type, VLAN stacks, IPv4 options and fragments, IPv6
 * extension headers, TCP/UDP/ICMP, and that no caplen makes it read past the captured bytes
 * (each truncation is decoded from an exactly sized heap copy, so a sanitizer or valgrind
 * run catches an overread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"

struct pkt {
	uint8_t b[512];
	size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void put8(struct pkt *p, uint8_t v)
{
	put(p, &v, 1);
}

static void put16(struct pkt *p, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(p, b, 2);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}

static void eth(struct pkt *p, uint16_t type)
{
	static const uint8_t macs[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	put(p, macs, 12);
	put16(p, type);
}

/* IPv4 header with `opt_words` 32-bit option words; total length covers l4len. */
static void ipv4(struct pkt *p, uint8_t proto, unsigned opt_words, size_t l4len, uint16_t id,
		 uint16_t frag)
{
	put8(p, (uint8_t)(0x40 | (5 + opt_words)));
	put8(p, 0);
	put16(p, (uint16_t)(20 + 4 * opt_words + l4len));
	put16(p, id);
	put16(p, frag);
	put8(p, 64);
	put8(p, proto);
	put16(p, 0);
	put32(p, 0x0a000001); /* 10.0.0.1 */
	put32(p, 0xc0a80102); /* 192.168.1.2 */
	for (unsigned i = 0; i < opt_words; i++)
		put32(p, 0x01010101); /* NOPs */
}

static const uint8_t v6src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

static void ipv6(struct pkt *p, uint8_t nh, size_t plen)
{
	put32(p, 0x60000000);
	put16(p, (uint16_t)plen);
	put8(p, nh);
	put8(p, 64);
	put(p, v6src, 16);
	put(p, v6dst, 16);
}

static void tcp(struct pkt *p, uint16_t sp, uint16_t dp, uint32_t seq, uint8_t flags,
		unsigned opt_words, const char *payload)
{
	put16(p, sp);
	put16(p, dp);
	put32(p, seq);
	put32(p, 0);
	put8(p, (uint8_t)((5 + opt_words) << 4));
	put8(p, flags);
	put16(p, 65535);
	put32(p, 0);
	for (unsigned i = 0; i < opt_words; i++)
		put32(p, 0x01010101);
	if (payload)
		put(p, payload, strlen(payload));
}

static void udp(struct pkt *p, uint16_t sp, uint16_t dp, const char *payload)
{
	put16(p, sp);
	put16(p, dp);
	put16(p, (uint16_t)(8 + strlen(payload)));
	put16(p, 0);
	put(p, payload, strlen(payload));
}

static int dec(uint32_t lt, const struct pkt *p, struct decoded *d)
{
	/* An exact-size copy: reading past caplen is a heap overflow. */
	uint8_t *copy = malloc(p->n ? p->n : 1);
	assert_non_null(copy);
	memcpy(copy, p->b, p->n);
	int r = decode_packet(lt, copy, (uint32_t)p->n, d);
	if (d->payload) {
		assert_true(d->payload >= copy && d->payload + d->payload_len <= copy + p->n);
		/* Re-point into the static packet so callers can compare after the free. */
		d->payload = p->b + (d->payload - copy);
	}
	free(copy);
	return r;
}

static void assert_v4(const uint8_t a[16], uint32_t v4)
{
	uint8_t want[16] = { [10] = 0xff, [11] = 0xff };
	want[12] = (uint8_t)(v4 >> 24);
	want[13] = (uint8_t)(v4 >> 16);
	want[14] = (uint8_t)(v4 >> 8);
	want[15] = (uint8_t)v4;
	assert_memory_equal(a, want, 16);
}

static void test_eth_ipv4_tcp(void **state)
{
	(void)state;
	struct pkt p = { .n = 0 };
	struct decoded d;
	eth(&p, 0x0800);
	ipv4(&p, 6, 0, 20 + 5, 0x1234, 0x4000);
	tcp(&p, 43210, 443, 1000, TCP_PSH | TCP_ACK, 0, "hello");
	assert_int_equal(dec(DECODE_LT_ETHERNET, &p, &d), DECODE_L4);
	assert_int_equal(d.family, 4);
	assert_int_equal(d.proto, 6);
	assert_v4(d.src, 0x0a000001);
	assert_v4(d.dst, 0xc0a80102);
	assert_int_equal(d.sport, 43210);
	assert_int_equal(d.dport, 443);
	assert_int_equal(d.seq, 1000);
	assert_int_equal(d.tcp_flags, TCP_PSH | TCP_ACK);
	assert_true(d.flags & DECODE_F_TCP_HDR);
	assert_false(d.flags & (DECODE_F_TRUNCATED | DECODE_F_FRAGMENT | DECODE_F_BAD));
	assert_int_equal(d.payload_len, 5);
	assert_int_equal(d.payload_wire, 5);
	assert_memory_equal(d.payload, "hello", 5);
}

static void test_eth_padding_and_options(void **state)
{
	(void)state;
	struct pkt p = { .n = 0 };
	struct decoded d;
	eth(&p, 0x0800);
	ipv4(&p, 6, 2, 24, 1, 0);
	tcp(&p, 1, 2, 7, TCP_SYN, 1, NULL);
	put(&p, "\0\0\0\0\0\0", 6); /* Ethernet trailer padding, not payload */
	assert_int_equal(dec(DECODE_LT_ETHERNET, &p, &d), DECODE_L4);
	assert_int_equal(d.tcp_flags, TCP_SYN);
	assert_int_equal(d.payload_len, 0);
	assert_int_equal(d.payload_wire, 0);
	assert_int_equal(d.sport, 1);
	assert_int_equal(d.dport, 2);
}

static void test_vlan_stack_ipv6_udp(void **state)
{
	(void)state;
	struct pkt p = { .n = 0 };
	struct decoded d;
	eth(&p, 0x88a8);
	put16(&p, 100);
	put16(&p, 0x8100);
	put16(&p, 200);
	put16(&p, 0x86dd);
	ipv6(&p, 17, 8 + 3);
	udp(&p, 5353, 53, "dns");
	assert_int_equal(dec(DECODE_LT_ETHERNET, &p, &d), DECODE_L4);
	assert_int_equal(d.family, 6);
	assert_int_equal(d.proto, 17);
	assert_memory_equal(d.src, v6src, 16);
	assert_memory_equal(d.dst, v6dst, 16);
	assert_int_equal(d.sport, 5353);
	assert_int_equal(d.dport, 53);
	assert_int_equal(d.payload_len, 3);
	assert_memory_equal(d.payload, "dns", 3);

	/* Nine tags is more than anyone stacks: not decoded, not a crash. */
	struct pkt q = { .n = 0 };
	eth(&q, 0x8100);
	for (int i = 0; i < 9; i++) {
		put16(&q, 1);
		put16(&q, 0x8100);
	}
	put(&q, p.b + 22, p.n - 22);
	assert_int_equal(dec(DECODE_LT_ETHERNET, &q, &d), DECODE_NONE);
}

static void test_arp_and_unknown(void **state)
{
	(void)state;
	struct pkt p = { .n = 0 };
	struct decoded d;
	eth(&p, 0x0806);
	put(&p, "\0\1\10\0\6\4\0\1", 8);
	assert_int_equal(dec(DECODE_LT_ETHERNET, &p, &d), DECODE_NONE);
	assert_false(d.flags & DECODE_F_TRUNCATED);
	assert_int_equal(dec(147, &p, &d), DECODE_NONE);
}

static void test_sll_sll2(void **state)
{
	(void)state;
	struct pkt p = { .n = 0 };
	struct decoded d;
	put16(&p, 0);      /* packet type */
	put16(&p, 1);      /* ARPHRD_ETHER */
	put16(&p, 6);
	put(&p, "\1\2\3\4\5\6\0\0", 8);
	put16(&p, 0x0800);
	ipv4(&p, 17, 0, 8 + 2, 0, 0);
	udp(&p, 1000, 2000, "hi");
	assert_int_equal(dec(DECODE_LT_LINUX_SLL, &p, &d), DECODE_L4);
	assert_int_equal(d.sport, 1000);
	assert_int_equal(d.payload_len, 2);

	struct pkt q = { .n = 0 };
	put16(&q, 0x86dd); /* protocol */
	put16(&q, 0);      /* reserved */
	put32(&q, 1);      /* ifindex */
	put16(&q, 1);      /* ARPHRD_ETHER */
	put8(&q, 4);       /* outgoing */
	put8(&q, 6);
	put(&q, "\1\2\3\4\5\6\0\0", 8);
	ipv6(&q, 6, 20);
	tcp(&q, 55555, 80, 9, TCP_SYN, 0, NULL);
	assert_int_equal(dec(DECODE_LT_LINUX_SLL2, &q, &d), DECODE_L4);
	assert_int_equal(d.family, 6);
	assert_int_equal(d.sport, 55555);
	assert_int_equal(d.dport, 80);
	assert_int_equal(d.tcp_flags, TCP_SYN);
}

static void test_raw_types(void **state)
{
	(void)state;
	struct pkt p4 = { .n = 0 }, p6 = { .n = 0 };
	struct decoded d;
	ipv4(&p4, 17, 0, 8 + 1, 0, 0);
	udp(&p4, 1, 2, "x");
	ipv6(&p6, 17, 8 + 1);
	udp(&p6, 3, 4, "y");
	const uint32_t raw[] = { DECODE_LT_RAW, DECODE_LT_DLT_RAW12, DECODE_LT_DLT_RAW14 };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(dec(raw[i], &p4, &d), DECODE_L4);
		assert_int_equal(d.family, 4);
		assert_int_equal(dec(raw[i], &p6, &d), DECODE_L4);
		assert_int_equal(d.family, 6);
		assert_int_equal(d.sport, 3);
	}
	assert_int_equal(dec(DECODE_LT_IPV4, &p4, &d), DECODE_L4);
	assert_int_equal(dec(DECODE_LT_IPV6, &p6, &d), DECODE_L4);
	/* The wrong version for the link type is not decoded. */
	assert_int_equal(dec(DECODE_LT_IPV4, &p6, &d), DECODE_NONE);
	assert_int_equal(dec(DECODE_LT_IPV6, &p4, &d), DECODE_NONE);
}

static void test_null_loop(void **state)
{
	(void)state;
	struct pkt ip4 = { .n = 0 }, ip6 = { .n = 0 };
	struct decoded d;
	ipv4(&ip4, 17, 0, 8 + 1, 0, 0);
	udp(&ip4, 1, 2, "x");
	ipv6(&ip6, 17, 8 + 1);
	udp(&ip6, 3, 4, "y");

	struct {
		uint8_t hdr[4];
		const struct pkt *ip;
		int family;
	} cases[] = {
		{ { 2, 0, 0, 0 }, &ip4, 4 },   /* little-endian host */
		{ { 0, 0, 0, 2 }, &ip4, 4 },   /* big-endian host */
		{ { 24, 0, 0, 0 }, &ip6, 6 },  /* NetBSD/OpenBSD */
		{ { 28, 0, 0, 0 }, &ip6, 6 },  /* FreeBSD */
		{ { 0, 0, 0, 30 }, &ip6, 6 },  /* macOS, big-endian */
		{ { 10, 0, 0, 0 }, &ip6, 6 },  /* Linux */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt p = { .n = 0 };
		put(&p, cases[i].hdr, 4);
		put(&p, cases[i].ip->b, cases[i].ip->n);
		assert_int_equal(dec(DECODE_LT_NULL, &p, &d), DECODE_L4);
		assert_int_equal(d.family, cases[i].family);
	}
	struct pkt p = { .n = 0 };
	put32(&p, 24);
	put(&p, ip6.b, ip6.n);
	assert_int_equal(dec(DECODE_LT_LOOP, &p, &d), DECODE_L4);
	assert_int_equal(d.family, 6);
	p.n = 0;
	put32(&p, 2);
	put(&p, ip4.b, ip4.n);
	assert_int_equal(dec(DECODE_LT_LOOP, &p, &d), DECODE_L4);
	assert_int_equal(d.family, 4);
	p.n = 0;
	put32(&p, 7); /* not IP */
	put(&p, ip4.b, ip4.n);
	assert_int_equal(dec(DECODE_LT_LOOP, &p, &d), DECODE_NONE);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	struct pkt first = { .n = 0 }, later = { .n = 0 };
	struct decoded d;
	ipv4(&first, 17, 0, 8 + 4, 0xbeef, 0x2000); /* MF, offset 0 */
	udp(&first, 4000, 5000, "abcd");
	assert_int_equal(dec(DECODE_LT_RAW, &first, &d), DECODE_L4);
	assert_true(d.flags & DECODE_F_FRAGMENT);
	assert_true(d.flags & DECODE_F_FRAG_FIRST);
	assert_int_equal(d.frag_id, 0xbeef);
	assert_int_equal(d.sport, 4000);

	ipv4(&later, 17, 0, 16, 0xbeef, 185); /* offset 1480, last */
	put(&later, "0123456789abcdef", 16);
	assert_int_equal(dec(DECODE_LT_RAW, &later, &d), DECODE_L3);
	assert_true(d.flags & DECODE_F_FRAGMENT);
	assert_false(d.flags & (DECODE_F_FRAG_FIRST | DECODE_F_L4HDR));
	assert_int_equal(d.frag_id, 0xbeef);
	assert_int_equal(d.proto, 17);
	assert_int_equal(d.sport, 0);
	assert_v4(d.src, 0x0a000001);
}

static void test_ipv6_ext_headers(void **state)
{
	(void)state;
	struct pkt p = { .n = 0 };
	struct decoded d;
	ipv6(&p, 0, 8 + 24 + 16 + 20 + 3);
	/* hop-by-hop, 8 bytes: next = routing */
	put8(&p, 43);
	put8(&p, 0);
	put(&p, "\1\4\0\0\0\0", 6);
	/* routing, 24 bytes: next = destination options */
	put8(&p, 60);
	put8(&p, 2);
	put(&p, "\0\0\0\0\0\0", 6);
	put(&p, v6dst, 16);
	/* destination options, 16 bytes: next = TCP */
	put8(&p, 6);
	put8(&p, 1);
	put(&p, "\1\14\0\0\0\0\0\0\0\0\0\0\0\0", 14);
	tcp(&p, 33333, 8443, 5, TCP_ACK, 0, "abc");
	assert_int_equal(dec(DECODE_LT_RAW, &p, &d), DECODE_L4);
	assert_int_equal(d.proto, 6);
	assert_int_equal(d.sport, 33333);
	assert_int_equal(d.dport, 8443);
	assert_int_equal(d.payload_len, 3);
	assert_int_equal(d.payload_wire, 3);

	struct pkt f1 = { .n = 0 }, f2 = { .n = 0 };
	ipv6(&f1, 44, 8 + 8 + 2);
	put8(&f1, 17);
	put8(&f1, 0);
	put16(&f1, 0x0001); /* offset 0, M */
	put32(&f1, 0xcafe0001);
	udp(&f1, 7, 9, "zz");
	assert_int_equal(dec(DECODE_LT_RAW, &f1, &d), DECODE_L4);
	assert_true(d.flags & DECODE_F_FRAG_FIRST);
	assert_int_equal(d.frag_id, 0xcafe0001);
	assert_int_equal(d.sport, 7);

	ipv6(&f2, 44, 8 + 4);
	put8(&f2, 17);
	put8(&f2, 0);
	put16(&f2, (uint16_t)(1448 << 3));
	put32(&f2, 0xcafe0001);
	put(&f2, "tail", 4);
	assert_int_equal(dec(DECODE_LT_RAW, &f2, &d), DECODE_L3);
	assert_int_equal(d.proto, 17);
	assert_true(d.flags & DECODE_F_FRAGMENT);
	assert_false(d.flags & DECODE_F_FRAG_FIRST);
	assert_int_equal(d.frag_id, 0xcafe0001);
}

static void test_icmp(void **state)
{
	(void)state;
	struct pkt p = { .n = 0 };
	struct decoded d;
	ipv4(&p, 1, 0, 8 + 4, 0, 0);
	put8(&p, 8);
	put8(&p, 0);
	put16(&p, 0);
	put16(&p, 0x4242);
	put16(&p, 1);
	put32(&p, 0);
	assert_int_equal(dec(DECODE_LT_RAW, &p, &d), DECODE_L4);
	assert_int_equal(d.proto, 1);
	assert_int_equal(d.icmp_type, 8);
	assert_true(d.flags & DECODE_F_ECHO);
	assert_int_equal(d.icmp_id, 0x4242);

	struct pkt q = { .n = 0 };
	ipv6(&q, 58, 8);
	put8(&q, 129);
	put8(&q, 0);
	put16(&q, 0);
	put16(&q, 0x0707);
	put16(&q, 3);
	assert_int_equal(dec(DECODE_LT_RAW, &q, &d), DECODE_L4);
	assert_int_equal(d.proto, 58);
	assert_int_equal(d.icmp_type, 129);
	assert_int_equal(d.icmp_id, 0x0707);

	struct pkt u = { .n = 0 };
	ipv4(&u, 1, 0, 8, 0, 0);
	put8(&u, 3);
	put8(&u, 3);
	put(&u, "\0\0\0\0\0\0", 6);
	assert_int_equal(dec(DECODE_LT_RAW, &u, &d), DECODE_L4);
	assert_false(d.flags & DECODE_F_ECHO);
	assert_int_equal(d.icmp_code, 3);
}

static void test_snaplen_cut(void **state)
{
	(void)state;
	struct pkt p = { .n = 0 };
	struct decoded d;
	eth(&p, 0x0800);
	ipv4(&p, 6, 0, 20 + 12 + 100, 0, 0);
	tcp(&p, 1234, 443, 77, TCP_ACK, 3, NULL);
	/* 100 payload bytes on the wire, none captured; then cut inside the options. */
	assert_int_equal(dec(DECODE_LT_ETHERNET, &p, &d), DECODE_L4);
	assert_int_equal(d.payload_len, 0);
	assert_int_equal(d.payload_wire, 100);
	assert_false(d.flags & DECODE_F_TRUNCATED);
	p.n -= 4;
	assert_int_equal(dec(DECODE_LT_ETHERNET, &p, &d), DECODE_L4);
	assert_true(d.flags & DECODE_F_TRUNCATED);
	assert_null(d.payload);
	assert_int_equal(d.sport, 1234);
}

/* Every prefix of every kind of packet decodes without reading past its end. */
static void test_all_truncations(void **state)
{
	(void)state;
	struct pkt pk[4] = { { .n = 0 } };
	eth(&pk[0], 0x8100);
	put16(&pk[0], 5);
	put16(&pk[0], 0x0800);
	ipv4(&pk[0], 6, 1, 20 + 8 + 4, 0, 0);
	tcp(&pk[0], 1, 2, 3, TCP_SYN, 2, "data");
	put32(&pk[1], 24);
	ipv6(&pk[1], 0, 8 + 8 + 8 + 2);
	put8(&pk[1], 44);
	put8(&pk[1], 0);
	put(&pk[1], "\1\4\0\0\0\0", 6);
	put8(&pk[1], 17);
	put8(&pk[1], 0);
	put16(&pk[1], 1);
	put32(&pk[1], 99);
	udp(&pk[1], 5, 6, "ab");
	ipv4(&pk[2], 1, 0, 8, 0, 0);
	put(&pk[2], "\10\0\0\0\0\1\0\1", 8);
	ipv6(&pk[3], 58, 8);
	put(&pk[3], "\200\0\0\0\0\1\0\1", 8);
	const uint32_t lt[4] = { DECODE_LT_ETHERNET, DECODE_LT_NULL, DECODE_LT_RAW,
				 DECODE_LT_IPV6 };
	for (int k = 0; k < 4; k++) {
		struct decoded d;
		assert_int_equal(dec(lt[k], &pk[k], &d), DECODE_L4);
		assert_false(d.flags & DECODE_F_TRUNCATED);
		size_t full = pk[k].n;
		for (size_t n = 0; n < full; n++) {
			struct pkt cut = pk[k];
			cut.n = n;
			int r = dec(lt[k], &cut, &d);
			assert_true(r >= DECODE_NONE && r <= DECODE_L4);
			/* Only a cut in the TCP/UDP payload is not a truncation of a header. */
			if (!d.payload && !(d.flags & DECODE_F_ECHO))
				assert_true(d.flags & DECODE_F_TRUNCATED);
			if (r == DECODE_NONE)
				assert_int_equal(d.family, 0);
		}
	}
}

/* Random bytes (and random mutations of real headers) under every link type. */
static void test_random_input(void **state)
{
	(void)state;
	const uint32_t lts[] = { 0, 1, 12, 14, 101, 108, 113, 228, 229, 276 };
	uint32_t seed = 12345;
	struct pkt base = { .n = 0 };
	eth(&base, 0x8100);
	put16(&base, 5);
	put16(&base, 0x86dd);
	ipv6(&base, 0, 8 + 8 + 20);
	put8(&base, 44);
	put8(&base, 0);
	put(&base, "\1\4\0\0\0\0", 6);
	put8(&base, 6);
	put8(&base, 0);
	put16(&base, 0);
	put32(&base, 1);
	tcp(&base, 1, 2, 3, TCP_SYN, 0, NULL);
	for (int iter = 0; iter < 200000; iter++) {
		struct pkt p = { .n = 0 };
		seed = seed * 1103515245u + 12345u;
		if (iter % 2) {
			p = base;
			for (int k = 0; k < 3; k++) {
				seed = seed * 1103515245u + 12345u;
				p.b[(seed >> 8) % p.n] = (uint8_t)(seed >> 20);
			}
			seed = seed * 1103515245u + 12345u;
			p.n = (seed >> 8) % (p.n + 1);
		} else {
			p.n = (seed >> 8) % 120;
			for (size_t i = 0; i < p.n; i++) {
				seed = seed * 1103515245u + 12345u;
				p.b[i] = (uint8_t)(seed >> 16);
			}
			if (p.n > 0)
				p.b[0] = (uint8_t)(iter & 1 ? 0x45 : 0x60);
		}
		struct decoded d;
		uint32_t lt = iter % 2 ? 1 : lts[(seed >> 4) % 10];
		int r = dec(lt, &p, &d);
		assert_true(r >= DECODE_NONE && r <= DECODE_L4);
		assert_true(d.payload_len <= p.n);
		if (r != DECODE_NONE)
			assert_true(d.family == 4 || d.family == 6);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_ipv4_tcp),
		cmocka_unit_test(test_eth_padding_and_options),
		cmocka_unit_test(test_vlan_stack_ipv6_udp),
		cmocka_unit_test(test_arp_and_unknown),
		cmocka_unit_test(test_sll_sll2),
		cmocka_unit_test(test_raw_types),
		cmocka_unit_test(test_null_loop),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_ext_headers),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_snaplen_cut),
		cmocka_unit_test(test_all_truncations),
		cmocka_unit_test(test_random_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
