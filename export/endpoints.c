// SPDX-License-Identifier: GPL-2.0-only
/*
 * endpoints.c - addresses and ports of a stored packet (endpoints.h).
 *
 * Link-layer headers understood (all multi-byte fields big-endian unless said):
 *   LINKTYPE_ETHERNET (1)    dst[6] src[6] type[2], then 4-byte tags while type is
 *                            0x8100 / 0x88a8 / 0x9100 (the inner type sits at tag + 2)
 *   LINKTYPE_LINUX_SLL (113) 16 bytes, protocol type at offset 14
 *   LINKTYPE_LINUX_SLL2(276) 20 bytes, protocol type at offset 0
 *   LINKTYPE_RAW (101), LINKTYPE_IPV4 (228), LINKTYPE_IPV6 (229): the IP header itself
 *   LINKTYPE_NULL (0)        4-byte address family in the capturing host's byte order
 *   LINKTYPE_LOOP (108)      4-byte address family, big-endian
 * IPv4: version/IHL, protocol at 9, source at 12, destination at 16; no ports in a
 * fragment after the first. IPv6: next header at 6, source at 8, destination at 24,
 * then hop-by-hop / routing / destination-options extension headers (8-byte units) and
 * the fragment header (8 bytes) are skipped. TCP and UDP ports are the first 4 bytes.
 */
#include "endpoints.h"

#include <errno.h>
#include <string.h>

#include "le.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd

static void map_v4(uint8_t out[16], const uint8_t *a)
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, a, 4);
}

static int parse_l4(uint8_t proto, const uint8_t *p, uint32_t len, struct endpoints *e)
{
	e->proto = proto;
	if ((proto == FLOW_PROTO_TCP || proto == FLOW_PROTO_UDP) && len >= 4) {
		e->sport = be16_load(p);
		e->dport = be16_load(p + 2);
		e->has_ports = true;
	}
	return 0;
}

static int parse_ipv4(const uint8_t *p, uint32_t len, struct endpoints *e)
{
	uint32_t ihl;

	if (len < 20 || p[0] >> 4 != 4)
		return -EINVAL;
	ihl = (uint32_t)(p[0] & 15) * 4;
	if (ihl < 20 || ihl > len)
		return -EINVAL;
	map_v4(e->src, p + 12);
	map_v4(e->dst, p + 16);
	if (be16_load(p + 6) & 0x1fff) { /* a later fragment: no L4 header */
		e->proto = p[9];
		return 0;
	}
	return parse_l4(p[9], p + ihl, len - ihl, e);
}

static int parse_ipv6(const uint8_t *p, uint32_t len, struct endpoints *e)
{
	uint32_t off = 40;
	uint8_t nh;

	if (len < 40 || p[0] >> 4 != 6)
		return -EINVAL;
	memcpy(e->src, p + 8, 16);
	memcpy(e->dst, p + 24, 16);
	nh = p[6];
	for (int i = 0; i < 8; i++) {
		if (nh == 0 || nh == 43 || nh == 60) {
			if (off + 8 > len)
				break;
			uint32_t hl = ((uint32_t)p[off + 1] + 1) * 8;
			nh = p[off];
			off += hl;
		} else if (nh == 44) {
			if (off + 8 > len)
				break;
			bool later = (be16_load(p + off + 2) & 0xfff8) != 0;
			nh = p[off];
			off += 8;
			if (later) {
				e->proto = nh;
				return 0;
			}
		} else {
			break;
		}
	}
	if (off > len) {
		e->proto = nh;
		return 0;
	}
	return parse_l4(nh, p + off, len - off, e);
}

static int parse_ip(const uint8_t *p, uint32_t len, struct endpoints *e)
{
	if (len < 1)
		return -EINVAL;
	if (p[0] >> 4 == 4)
		return parse_ipv4(p, len, e);
	if (p[0] >> 4 == 6)
		return parse_ipv6(p, len, e);
	return -EINVAL;
}

static int parse_ethertype(uint16_t type, const uint8_t *p, uint32_t len, struct endpoints *e)
{
	if (type == ETHERTYPE_IPV4)
		return parse_ipv4(p, len, e);
	if (type == ETHERTYPE_IPV6)
		return parse_ipv6(p, len, e);
	return -EINVAL;
}

static int parse_family(uint32_t fam, const uint8_t *p, uint32_t len, struct endpoints *e)
{
	if (fam == 2)
		return parse_ipv4(p, len, e);
	if (fam == 10 || fam == 24 || fam == 28 || fam == 30) /* AF_INET6 on Linux, BSDs, macOS */
		return parse_ipv6(p, len, e);
	return -EINVAL;
}

int endpoints_parse(uint16_t linktype, const uint8_t *d, uint32_t len, struct endpoints *e)
{
	memset(e, 0, sizeof(*e));
	switch (linktype) {
	case 1: { /* Ethernet */
		uint32_t off = 12;
		uint16_t type;
		for (;;) {
			if (off + 2 > len)
				return -EINVAL;
			type = be16_load(d + off);
			if (type != 0x8100 && type != 0x88a8 && type != 0x9100)
				break;
			off += 4;
		}
		off += 2;
		return parse_ethertype(type, d + off, len - off, e);
	}
	case 113: /* Linux cooked v1 */
		if (len < 16)
			return -EINVAL;
		return parse_ethertype(be16_load(d + 14), d + 16, len - 16, e);
	case 276: /* Linux cooked v2 */
		if (len < 20)
			return -EINVAL;
		return parse_ethertype(be16_load(d), d + 20, len - 20, e);
	case 101: /* raw IP */
	case 12:  /* DLT_RAW on some BSDs, seen in old files */
		return parse_ip(d, len, e);
	case 228:
		return parse_ipv4(d, len, e);
	case 229:
		return parse_ipv6(d, len, e);
	case 0: { /* BSD loopback, host byte order of the capturing machine: try both */
		if (len < 4)
			return -EINVAL;
		uint32_t fam = le32_load(d);
		if (fam > 0xffff)
			fam = be32_load(d);
		return parse_family(fam, d + 4, len - 4, e);
	}
	case 108: /* OpenBSD loopback */
		if (len < 4)
			return -EINVAL;
		return parse_family(be32_load(d), d + 4, len - 4, e);
	default:
		return -EINVAL;
	}
}

int endpoints_sender(const struct endpoints *e, const struct flow_key *k)
{
	bool ports = e->has_ports && (k->proto == FLOW_PROTO_TCP || k->proto == FLOW_PROTO_UDP);
	bool fwd = memcmp(e->src, k->addr_a, 16) == 0 && memcmp(e->dst, k->addr_b, 16) == 0;
	bool rev = memcmp(e->src, k->addr_b, 16) == 0 && memcmp(e->dst, k->addr_a, 16) == 0;

	if (ports) {
		fwd = fwd && e->sport == k->port_a && e->dport == k->port_b;
		rev = rev && e->sport == k->port_b && e->dport == k->port_a;
	}
	if (fwd == rev) /* neither, or both (same address and no ports to tell) */
		return -1;
	return fwd ? FLOW_SIDE_A : FLOW_SIDE_B;
}
