// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_socket_scope.c - which sockets the filter leaves out (recorder/socket_scope.c).
 *
 *  - Understood: plain combinations of tcp, udp, ip, ip6, host, net, port, portrange; every
 *    other filter (names, "port 80 or 443", vlan, byte offsets, ...) keeps every socket.
 *  - Against libpcap itself: for each understood filter, packets of many tuples (IPv4 and
 *    IPv6, TCP and UDP, plain, VLAN-tagged, with an IPv6 hop-by-hop header, a first IPv4
 *    fragment) are built, decoded as the recorder decodes them, and run through the filter
 *    with pcap_offline_filter. Whenever one passes, every socket that could own it (either
 *    end connected, either end unconnected, bound to the address or to any) must be kept,
 *    and must be within the kernel's protocols and ports (socket_scope_ports). And the
 *    filter must leave some socket out (the test would prove nothing otherwise).
 *  - Cases by hand: a TCP filter leaves UDP out, "not port 22" leaves nothing out, an
 *    unconnected socket is kept when its remote end could match, an IPv6 address is IPv6,
 *    ::ffff:a.b.c.d and :: may be either.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../socket_scope_owners.h"

static const char *const understood[] = {
	"tcp port 443",
	"udp port 53",
	"port 80 or port 443",
	"tcp and not port 22",
	"host 10.0.0.1",
	"src host 10.0.0.1 and dst port 80",
	"net 10.0.0.0/8 and tcp",
	"ip6 and udp",
	"ip and tcp dst portrange 1000-2000",
	"not (tcp or udp)",
	"host 2001:db8::1 or port 53",
	"not not tcp port 80",
	"tcp port 80 or udp port 53 and host 10.0.0.2",
	"! udp && (port 1000 || port 1500)",
	"net 2001:db8::/32 and not src port 22",
	"ip host 127.0.0.1",
	"ip6 net fe80::/10",
	"dst net 192.168.0.0/16 or src port 40000",
	"udp src port 53 and not host 10.0.0.2",
	"(tcp)and(port 22)",
	"not port 22",
	"host ::ffff:10.0.0.1",
};

static const char *const not_understood[] = {
	"port 80 or 443", "tcp port http", "host localhost", "vlan and tcp", "tcp[13] & 2 != 0",
	"src or dst port 80", "port 0x50", "net 10/8", "greater 100", "ip proto 6",
	"ether host 00:11:22:33:44:55", "net 10.0.0.0 mask 255.0.0.0", "portrange 90-80",
	"tcp port 080", "host 10.0.0.01", "TCP port 80", "sctp", "icmp", "tcp and", "(tcp",
	"tcp and udp", /* libpcap: "expression rejects all packets" */
};

static void test_parse(void **state)
{
	struct socket_scope *s;

	(void)state;
	for (size_t i = 0; i < sizeof(understood) / sizeof(understood[0]); i++) {
		assert_int_equal(socket_scope_new(understood[i], &s), 0);
		if (!socket_scope_active(s))
			fail_msg("'%s' not understood: %s", understood[i], socket_scope_why(s));
		socket_scope_free(s);
	}
	for (size_t i = 0; i < sizeof(not_understood) / sizeof(not_understood[0]); i++) {
		assert_int_equal(socket_scope_new(not_understood[i], &s), 0);
		if (socket_scope_active(s))
			fail_msg("'%s' taken as understood", not_understood[i]);
		assert_true(strlen(socket_scope_why(s)) > 0);
		socket_scope_free(s);
	}
	assert_int_equal(socket_scope_new(NULL, &s), 0);
	assert_false(socket_scope_active(s));
	socket_scope_free(s);
	assert_int_equal(socket_scope_new("", &s), 0);
	assert_false(socket_scope_active(s));
	socket_scope_free(s);
}

/* ---- packets ------------------------------------------------------------------------------ */

static const char *const v4_pool[] = { "10.0.0.1", "10.0.0.2", "192.168.1.9", "127.0.0.1" };
static const char *const v6_pool[] = { "::1", "2001:db8::1", "::ffff:10.0.0.1", "fe80::1" };
static const uint16_t port_pool[] = { 22, 53, 80, 443, 1000, 1500, 2000, 40000 };

enum variant { PLAIN, VLAN, HOPOPT, FRAG_FIRST, VARIANTS };

static void addr16(const char *text, uint8_t out[16])
{
	uint8_t v4[4];

	if (inet_pton(AF_INET, text, v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, v4, 4);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, out), 1);
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An Ethernet frame from src:sport to dst:dport; its length, 0 when the variant does not
 * apply to the family. */
static size_t frame(uint8_t *b, int family, uint8_t proto, const uint8_t src[16], uint16_t sport,
		    const uint8_t dst[16], uint16_t dport, enum variant v)
{
	size_t off = 12, l4len = proto == 6 ? 20 : 8;
	uint8_t *ip;

	if ((v == HOPOPT && family != 6) || (v == FRAG_FIRST && family != 4))
		return 0;
	memset(b, 0, 128);
	b[0] = 0x02;
	b[6] = 0x02;
	b[11] = 1;
	if (v == VLAN) {
		put16(b + off, 0x8100);
		put16(b + off + 2, 5);
		off += 4;
	}
	put16(b + off, family == 4 ? 0x0800 : 0x86dd);
	off += 2;
	ip = b + off;
	if (family == 4) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4len));
		put16(ip + 4, 0x1234);
		if (v == FRAG_FIRST)
			ip[6] = 0x20; /* more fragments, offset 0 */
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, src + 12, 4);
		memcpy(ip + 16, dst + 12, 4);
		off += 20;
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(l4len + (v == HOPOPT ? 8 : 0)));
		ip[6] = v == HOPOPT ? 0 : proto;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		off += 40;
		if (v == HOPOPT) {
			b[off] = proto; /* next header; length 0: 8 bytes; PadN */
			b[off + 2] = 1;
			b[off + 3] = 4;
			off += 8;
		}
	}
	put16(b + off, sport);
	put16(b + off + 2, dport);
	if (proto == 6) {
		b[off + 12] = 0x50;
		b[off + 13] = 0x10; /* ACK */
	} else {
		put16(b + off + 4, 8);
	}
	return off + l4len;
}

/* Every socket that could own the decoded packet d is kept (and within the kernel's set). */
static void owners_kept(const struct socket_scope *s, const char *expr, const struct decoded *d,
			uint8_t protos, bool all, const uint16_t *ports, size_t n)
{
	struct socket_owner so[SCOPE_OWNERS];
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	owners_of(d, so);
	for (size_t i = 0; i < SCOPE_OWNERS; i++) {
		if (socket_scope_needed(s, &so[i]) && within_kernel(&so[i], protos, all, ports, n))
			continue;
		inet_ntop(AF_INET6, d->src, a, sizeof(a));
		inet_ntop(AF_INET6, d->dst, b, sizeof(b));
		fail_msg("'%s': packet %u [%s]:%u -> [%s]:%u passes, socket %zu %s", expr, d->proto,
			 a, d->sport, b, d->dport, i,
			 socket_scope_needed(s, &so[i]) ? "not in the kernel's set" : "left out");
	}
}

static void test_against_libpcap(void **state)
{
	uint16_t *ports = calloc(4096, sizeof(*ports));
	uint8_t pkt[128], src[16], dst[16];

	(void)state;
	assert_non_null(ports);
	for (size_t f = 0; f < sizeof(understood) / sizeof(understood[0]); f++) {
		pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
		struct socket_scope *s;
		struct bpf_program prog;
		uint64_t passed = 0, left_out = 0;
		uint8_t protos;
		bool all;
		size_t n;

		assert_non_null(dead);
		assert_int_equal(pcap_compile(dead, &prog, understood[f], 1, PCAP_NETMASK_UNKNOWN), 0);
		assert_int_equal(socket_scope_new(understood[f], &s), 0);
		assert_int_equal(socket_scope_ports(s, &protos, &all, ports, 4096, &n), 0);
		for (int family = 4; family <= 6; family += 2) {
			const char *const *pool = family == 4 ? v4_pool : v6_pool;

			for (int proto = 6; proto <= 17; proto += 11)
			for (size_t i = 0; i < 4; i++)
			for (size_t j = 0; j < 4; j++)
			for (size_t pi = 0; pi < 8; pi++)
			for (size_t pj = 0; pj < 8; pj++) {
				struct socket_owner so;

				addr16(pool[i], src);
				addr16(pool[j], dst);
				so = sock((uint8_t)proto, src, port_pool[pi], dst, port_pool[pj]);
				left_out += !socket_scope_needed(s, &so);
				for (int v = 0; v < VARIANTS; v++) {
					size_t len = frame(pkt, family, (uint8_t)proto, src,
							   port_pool[pi], dst, port_pool[pj],
							   (enum variant)v);
					struct pcap_pkthdr h = { .caplen = (bpf_u_int32)len,
								 .len = (bpf_u_int32)len };
					struct decoded d;

					if (!len)
						continue;
					/* the recorder keys it to this tuple */
					assert_int_equal(decode_packet(DECODE_LT_ETHERNET, pkt,
								       (uint32_t)len, &d),
							 DECODE_L4);
					assert_int_equal(d.sport, port_pool[pi]);
					assert_memory_equal(d.src, src, 16);
					if (!pcap_offline_filter(&prog, &h, pkt))
						continue;
					passed++;
					owners_kept(s, understood[f], &d, protos, all, ports, n);
				}
			}
		}
		/* each filter must prove something: some packet passes or some socket is out */
		if (passed == 0)
			fail_msg("'%s': no packet passes", understood[f]);
		/* (negations of what libpcap may find false on a packet of the tuple: nothing) */
		if (strncmp(understood[f], "not ", 4) != 0 && left_out == 0)
			fail_msg("'%s': no socket left out", understood[f]);
		pcap_freecode(&prog);
		pcap_close(dead);
		socket_scope_free(s);
	}
	free(ports);
}

static void check(const char *expr, uint8_t proto, const char *local, uint16_t lport,
		  const char *remote, uint16_t rport, bool want)
{
	struct socket_scope *s;
	uint8_t l[16], r[16];
	struct socket_owner so;

	addr16(local, l);
	addr16(remote, r);
	so = sock(proto, l, lport, r, rport);
	assert_int_equal(socket_scope_new(expr, &s), 0);
	assert_true(socket_scope_active(s));
	if (socket_scope_needed(s, &so) != want)
		fail_msg("'%s': %s socket [%s]:%u -> [%s]:%u %s", expr, proto == 6 ? "tcp" : "udp",
			 local, lport, remote, rport, want ? "left out" : "kept");
	socket_scope_free(s);
}

static void test_cases(void **state)
{
	(void)state;
	/* a TCP filter: UDP out, TCP on other ports out, its port in either direction kept */
	check("tcp port 443", 17, "10.0.0.1", 53000, "10.0.0.9", 53, false);
	check("tcp port 443", 6, "10.0.0.1", 53000, "10.0.0.9", 80, false);
	check("tcp port 443", 6, "10.0.0.1", 53000, "10.0.0.9", 443, true);
	check("tcp port 443", 6, "10.0.0.1", 443, "10.0.0.9", 53000, true);
	/* an unconnected UDP socket may send to the port */
	check("udp port 53", 17, "0.0.0.0", 40000, "0.0.0.0", 0, true);
	check("udp port 53", 17, "::", 40000, "::", 0, true);
	check("tcp port 53", 17, "0.0.0.0", 40000, "0.0.0.0", 0, false);
	/* negation: only what it surely excludes */
	check("not port 22", 6, "10.0.0.1", 22, "10.0.0.9", 50000, true);
	check("tcp and not port 22", 17, "10.0.0.1", 53, "10.0.0.9", 50000, false);
	/* (an IPv6 UDP packet behind a hop-by-hop header is not "udp" to libpcap) */
	check("not udp", 17, "10.0.0.1", 53, "10.0.0.9", 50000, true);
	check("not udp and port 80", 17, "10.0.0.1", 53, "10.0.0.9", 50000, false);
	check("not udp", 6, "10.0.0.1", 53, "10.0.0.9", 50000, true);
	/* IPv6 addresses are IPv6; ::ffff:a.b.c.d may be either (an IPv6 packet with such
	 * addresses is keyed like IPv4), :: too */
	check("ip", 6, "2001:db8::1", 80, "2001:db8::2", 50000, false);
	check("ip6", 6, "2001:db8::1", 80, "2001:db8::2", 50000, true);
	check("ip6", 6, "::ffff:10.0.0.1", 80, "::ffff:10.0.0.9", 50000, true);
	check("ip", 6, "::ffff:10.0.0.1", 80, "::ffff:10.0.0.9", 50000, true);
	check("ip", 17, "::", 53, "::", 0, true);
	check("ip6", 17, "::", 53, "::", 0, true);
	check("ip6 and port 80", 6, "::ffff:10.0.0.1", 80, "::ffff:10.0.0.9", 50000, true);
	check("host ::ffff:10.0.0.1", 6, "::ffff:10.0.0.1", 80, "::ffff:10.0.0.9", 50000, true);
	check("host 2001:db8::1", 6, "::ffff:10.0.0.1", 80, "::ffff:10.0.0.9", 50000, false);
	check("host 10.0.0.1", 6, "::ffff:10.0.0.1", 80, "::ffff:10.0.0.9", 50000, true);
	check("host 10.0.0.1", 6, "::ffff:10.0.0.2", 80, "::ffff:10.0.0.9", 50000, false);
	/* an address in the filter, a socket bound to any: its packets may carry it */
	check("host 10.0.0.1", 17, "0.0.0.0", 53, "0.0.0.0", 0, true);
	check("net 10.0.0.0/8 and port 80", 6, "::ffff:10.200.0.1", 80, "::ffff:192.168.0.1",
	      50000, true);
	check("net 10.0.0.0/8 and port 80", 6, "::ffff:11.0.0.1", 80, "::ffff:192.168.0.1",
	      50000, false);
	/* a term the kernel cannot reduce to ports, judged here */
	check("tcp port 29280 or host 10.99.99.99", 17, "10.181.1.2", 40000, "10.181.2.2", 29283,
	      false);
	check("tcp port 29280 or host 10.99.99.99", 17, "0.0.0.0", 40000, "0.0.0.0", 0, true);
	/* direction: src port 80 is the socket's local port on its packets out, remote on in */
	check("src port 80", 6, "10.0.0.1", 50000, "10.0.0.9", 80, true);
	check("src port 80 and dst port 443", 6, "10.0.0.1", 80, "10.0.0.9", 443, true);
	check("src port 80 and dst port 443", 6, "10.0.0.1", 80, "10.0.0.9", 80, false);
}

static void test_kernel_ports(void **state)
{
	uint16_t ports[8];
	struct socket_scope *s;
	uint8_t protos;
	bool all;
	size_t n;

	(void)state;
	assert_int_equal(socket_scope_new("tcp port 443 or udp port 53", &s), 0);
	assert_int_equal(socket_scope_ports(s, &protos, &all, ports, 8, &n), 0);
	assert_int_equal(protos, 3);
	assert_false(all);
	assert_int_equal(n, 2);
	assert_int_equal(ports[0], 53);
	assert_int_equal(ports[1], 443);
	socket_scope_free(s);

	assert_int_equal(socket_scope_new("tcp and not port 22", &s), 0);
	assert_int_equal(socket_scope_ports(s, &protos, &all, ports, 8, &n), 0);
	assert_int_equal(protos, 1);
	assert_true(all);
	socket_scope_free(s);

	/* too many ports for the caller: by protocol only */
	assert_int_equal(socket_scope_new("tcp portrange 1000-2000", &s), 0);
	assert_int_equal(socket_scope_ports(s, &protos, &all, ports, 8, &n), -ENOSPC);
	assert_int_equal(protos, 1);
	assert_true(all);
	socket_scope_free(s);

	/* no filter, or one not understood: everything */
	assert_int_equal(socket_scope_new("vlan and tcp port 443", &s), 0);
	assert_int_equal(socket_scope_ports(s, &protos, &all, ports, 8, &n), 0);
	assert_int_equal(protos, 3);
	assert_true(all);
	socket_scope_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_against_libpcap),
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_kernel_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
