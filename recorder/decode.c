// SPDX-License-Identifier: GPL-2.0-only
/*
 * decode.c - link layer to L4 decoding for the recorder's flow lookup (see decode.h for the
 * link types and headers understood).
 *
 * One bounds-checked walk: every header is read only after checking that caplen holds it.
 * The IP length field bounds the transport payload (Ethernet pads short frames); caplen
 * bounds what is read. A total length of 0 (TSO/GSO frames captured before segmentation) is
 * taken as "up to caplen".
 */
#include "decode.h"

#include <string.h>

#include "../schema/le.h"

#define ETH_HLEN 14
#define SLL_HLEN 16
#define SLL2_HLEN 20
#define VLAN_MAX_TAGS 8
#define IPV6_EXT_MAX 16

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100

enum {
	IPPROTO_HOPOPTS_ = 0,
	IPPROTO_ICMP_ = 1,
	IPPROTO_TCP_ = 6,
	IPPROTO_UDP_ = 17,
	IPPROTO_ROUTING_ = 43,
	IPPROTO_FRAGMENT_ = 44,
	IPPROTO_AH_ = 51,
	IPPROTO_ICMPV6_ = 58,
	IPPROTO_NONE_ = 59,
	IPPROTO_DSTOPTS_ = 60,
};

static void v4_mapped(uint8_t out[16], const uint8_t *a)
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, a, 4);
}

/* The transport header at p, len captured bytes of it, wire bytes per the IP length. */
static int decode_l4(struct decoded *d, const uint8_t *p, uint32_t len, uint32_t wire)
{
	switch (d->proto) {
	case IPPROTO_TCP_: {
		if (len < 4) {
			d->flags |= DECODE_F_TRUNCATED;
			return DECODE_L3;
		}
		d->sport = be16_load(p);
		d->dport = be16_load(p + 2);
		d->flags |= DECODE_F_L4HDR;
		if (len < 20) {
			d->flags |= DECODE_F_TRUNCATED;
			return DECODE_L4;
		}
		uint32_t doff = (uint32_t)(p[12] >> 4) * 4;
		if (doff < 20) {
			d->flags |= DECODE_F_BAD;
			return DECODE_L4;
		}
		d->seq = be32_load(p + 4);
		d->ack = be32_load(p + 8);
		d->tcp_flags = p[13];
		d->flags |= DECODE_F_TCP_HDR;
		if (doff > len) {
			/* Options cut off by the snap length: no payload to look at. */
			d->flags |= DECODE_F_TRUNCATED;
			d->payload_wire = wire > doff ? wire - doff : 0;
			return DECODE_L4;
		}
		d->payload = p + doff;
		d->payload_len = len - doff;
		d->payload_wire = wire > doff ? wire - doff : d->payload_len;
		return DECODE_L4;
	}
	case IPPROTO_UDP_:
		if (len < 8) {
			d->flags |= DECODE_F_TRUNCATED;
			if (len < 4)
				return DECODE_L3;
			d->sport = be16_load(p);
			d->dport = be16_load(p + 2);
			d->flags |= DECODE_F_L4HDR;
			return DECODE_L4;
		}
		d->sport = be16_load(p);
		d->dport = be16_load(p + 2);
		d->flags |= DECODE_F_L4HDR;
		d->payload = p + 8;
		d->payload_len = len - 8;
		d->payload_wire = wire > 8 ? wire - 8 : d->payload_len;
		return DECODE_L4;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_: {
		if (len < 2) {
			d->flags |= DECODE_F_TRUNCATED;
			return DECODE_L3;
		}
		d->icmp_type = p[0];
		d->icmp_code = p[1];
		d->flags |= DECODE_F_L4HDR;
		uint8_t req = d->proto == IPPROTO_ICMP_ ? 8 : 128;
		uint8_t rep = d->proto == IPPROTO_ICMP_ ? 0 : 129;
		if (d->icmp_type == req || d->icmp_type == rep) {
			if (len < 6) {
				d->flags |= DECODE_F_TRUNCATED;
				return DECODE_L4;
			}
			d->icmp_id = be16_load(p + 4);
			d->flags |= DECODE_F_ECHO;
		}
		return DECODE_L4;
	}
	default:
		return DECODE_L3;
	}
}

static int decode_ipv4(struct decoded *d, const uint8_t *p, uint32_t len)
{
	if (len < 20) {
		d->flags |= DECODE_F_TRUNCATED;
		return DECODE_NONE;
	}
	uint32_t ihl = (uint32_t)(p[0] & 0x0f) * 4;
	if ((p[0] >> 4) != 4 || ihl < 20) {
		d->flags |= DECODE_F_BAD;
		return DECODE_NONE;
	}
	if (ihl > len) {
		d->flags |= DECODE_F_TRUNCATED;
		return DECODE_NONE;
	}
	uint32_t tot = be16_load(p + 2);
	if (tot == 0)
		tot = len;
	if (tot < ihl) {
		d->flags |= DECODE_F_BAD;
		return DECODE_NONE;
	}
	d->family = 4;
	d->proto = p[9];
	v4_mapped(d->src, p + 12);
	v4_mapped(d->dst, p + 16);
	uint16_t frag = be16_load(p + 6);
	uint16_t offset = frag & 0x1fff;
	if (offset != 0 || (frag & 0x2000)) {
		d->flags |= DECODE_F_FRAGMENT;
		d->frag_id = be16_load(p + 4);
		if (offset != 0)
			return DECODE_L3;
		d->flags |= DECODE_F_FRAG_FIRST;
	}
	uint32_t caplen = len < tot ? len : tot;
	return decode_l4(d, p + ihl, caplen - ihl, tot - ihl);
}

static int decode_ipv6(struct decoded *d, const uint8_t *p, uint32_t len)
{
	if (len < 40) {
		d->flags |= DECODE_F_TRUNCATED;
		return DECODE_NONE;
	}
	if ((p[0] >> 4) != 6) {
		d->flags |= DECODE_F_BAD;
		return DECODE_NONE;
	}
	uint32_t plen = be16_load(p + 4);
	uint32_t avail = len - 40;
	if (plen == 0)          /* jumbogram or TSO: trust caplen */
		plen = avail;
	if (avail > plen)
		avail = plen;
	d->family = 6;
	memcpy(d->src, p + 8, 16);
	memcpy(d->dst, p + 24, 16);
	uint8_t nh = p[6];
	const uint8_t *h = p + 40;
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		uint32_t hlen;
		switch (nh) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
			if (avail < 2)
				goto truncated;
			hlen = ((uint32_t)h[1] + 1) * 8;
			break;
		case IPPROTO_AH_:
			if (avail < 2)
				goto truncated;
			hlen = ((uint32_t)h[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT_: {
			if (avail < 8)
				goto truncated;
			uint16_t off = be16_load(h + 2);
			d->flags |= DECODE_F_FRAGMENT;
			d->frag_id = be32_load(h + 4);
			if ((off >> 3) != 0) {
				d->proto = h[0];
				return DECODE_L3;
			}
			d->flags |= DECODE_F_FRAG_FIRST;
			hlen = 8;
			break;
		}
		default:
			d->proto = nh;
			return decode_l4(d, h, avail, plen);
		}
		if (hlen > avail)
			goto truncated;
		nh = h[0];
		h += hlen;
		avail -= hlen;
		plen = plen > hlen ? plen - hlen : 0;
	}
	/* More extension headers than anyone sends: addresses only. */
	d->proto = nh;
	d->flags |= DECODE_F_BAD;
	return DECODE_L3;
truncated:
	d->proto = nh;
	d->flags |= DECODE_F_TRUNCATED;
	return DECODE_L3;
}

static int decode_ip(struct decoded *d, const uint8_t *p, uint32_t len)
{
	if (len < 1) {
		d->flags |= DECODE_F_TRUNCATED;
		return DECODE_NONE;
	}
	switch (p[0] >> 4) {
	case 4:
		return decode_ipv4(d, p, len);
	case 6:
		return decode_ipv6(d, p, len);
	default:
		return DECODE_NONE;
	}
}

/* A link header's protocol field (an ethertype), its payload at off; VLAN tags may follow. */
static int decode_ethertype(struct decoded *d, const uint8_t *p, uint32_t len, uint16_t type,
			    uint32_t off)
{
	for (int tags = 0; type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
			   type == ETHERTYPE_QINQ_OLD; tags++) {
		if (tags == VLAN_MAX_TAGS)
			return DECODE_NONE;
		if (len - off < 4) {
			d->flags |= DECODE_F_TRUNCATED;
			return DECODE_NONE;
		}
		type = be16_load(p + off + 2);
		off += 4;
	}
	if (type == ETHERTYPE_IPV4)
		return decode_ipv4(d, p + off, len - off);
	if (type == ETHERTYPE_IPV6)
		return decode_ipv6(d, p + off, len - off);
	return DECODE_NONE;
}

/* BSD loopback address families for IPv6 (Linux, Net/OpenBSD, FreeBSD, macOS). */
static int decode_af(struct decoded *d, uint32_t af, const uint8_t *p, uint32_t len)
{
	switch (af) {
	case 2:
		return decode_ipv4(d, p, len);
	case 10:
	case 24:
	case 28:
	case 30:
		return decode_ipv6(d, p, len);
	default:
		return DECODE_NONE;
	}
}

int decode_packet(uint32_t linktype, const uint8_t *data, uint32_t caplen, struct decoded *d)
{
	d->family = 0;
	d->proto = 0;
	d->flags = 0;
	d->tcp_flags = 0;
	d->sport = d->dport = 0;
	d->icmp_type = d->icmp_code = 0;
	d->icmp_id = 0;
	d->seq = d->ack = d->frag_id = 0;
	d->payload = NULL;
	d->payload_len = d->payload_wire = 0;

	switch (linktype) {
	case DECODE_LT_ETHERNET:
		if (caplen < ETH_HLEN)
			break;
		return decode_ethertype(d, data, caplen, be16_load(data + 12), ETH_HLEN);
	case DECODE_LT_LINUX_SLL:
		if (caplen < SLL_HLEN)
			break;
		return decode_ethertype(d, data, caplen, be16_load(data + 14), SLL_HLEN);
	case DECODE_LT_LINUX_SLL2:
		if (caplen < SLL2_HLEN)
			break;
		return decode_ethertype(d, data, caplen, be16_load(data), SLL2_HLEN);
	case DECODE_LT_RAW:
	case DECODE_LT_DLT_RAW12:
	case DECODE_LT_DLT_RAW14:
		return decode_ip(d, data, caplen);
	case DECODE_LT_IPV4:
		return decode_ipv4(d, data, caplen);
	case DECODE_LT_IPV6:
		return decode_ipv6(d, data, caplen);
	case DECODE_LT_NULL: {
		if (caplen < 4)
			break;
		uint32_t af = le32_load(data);
		/* Written in the capturing host's order: a big-endian host gives 0x02000000. */
		if (af > 0xffff)
			af = __builtin_bswap32(af);
		return decode_af(d, af, data + 4, caplen - 4);
	}
	case DECODE_LT_LOOP:
		if (caplen < 4)
			break;
		return decode_af(d, be32_load(data), data + 4, caplen - 4);
	default:
		return DECODE_NONE;
	}
	d->flags |= DECODE_F_TRUNCATED;
	return DECODE_NONE;
}
