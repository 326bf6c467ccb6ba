/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * decode.h - decode a captured packet from its link-layer header down to L4.
 *
 * The recorder needs just enough of a packet to find its flow (addresses, protocol, ports),
 * to follow TCP (flags, sequence number) and to look at the start of a TCP stream (payload).
 * decode_packet() reads nothing past caplen and never fails: a packet it cannot decode is
 * reported as such and still stored by the caller.
 *
 * Link types (LINKTYPE_* numbers as in pcap/pcapng files, see
 * https://www.tcpdump.org/linktypes.html):
 *   0   NULL / BSD loopback: 4-byte address family in the capturing host's byte order
 *       (2 = IPv4; 10, 24, 28, 30 = IPv6 on Linux, Net/OpenBSD, FreeBSD, macOS)
 *   1   Ethernet II, with any number (up to 8) of 802.1Q / 802.1ad / QinQ tags
 *       (TPID 0x8100, 0x88a8, 0x9100)
 *   12, 14, 101  raw IP (version taken from the first nibble)
 *   108 OpenBSD loopback: like NULL but the family is big-endian
 *   113 Linux cooked v1 (16-byte header, protocol at offset 14)
 *   228 raw IPv4, 229 raw IPv6
 *   276 Linux cooked v2 (20-byte header, protocol at offset 0)
 * IPv4 with options and fragments; IPv6 with hop-by-hop, routing, destination options,
 * fragment and AH extension headers; TCP, UDP, ICMP and ICMPv6 (echo identifiers).
 */
#ifndef ECAP_DECODE_H
#define ECAP_DECODE_H

#include <stdint.h>

enum decode_result {
	DECODE_NONE = 0, /* not IP (ARP, LLC, unknown link type) or unreadable: no flow */
	DECODE_L3 = 1,   /* IP addresses and protocol known, no ports (later fragment, ...) */
	DECODE_L4 = 2,   /* ports (TCP/UDP) or ICMP type/code known */
};

/* decoded.flags */
enum {
	DECODE_F_TRUNCATED = 1 << 0,  /* caplen ended inside a header we needed */
	DECODE_F_FRAGMENT = 1 << 1,   /* an IP fragment (frag_id valid) */
	DECODE_F_FRAG_FIRST = 1 << 2, /* ... the first one (offset 0, more to come) */
	DECODE_F_ECHO = 1 << 3,       /* ICMP(v6) echo request/reply: icmp_id valid */
	DECODE_F_TCP_HDR = 1 << 4,    /* full TCP header read: tcp_flags, seq, ack valid */
	DECODE_F_BAD = 1 << 5,        /* a header field is inconsistent (e.g. IHL < 5) */
	DECODE_F_L4HDR = 1 << 6,      /* ports (TCP/UDP) or ICMP type and code were read */
};

/* TCP flag bits as in the header's 13th byte. */
enum {
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_PSH = 0x08,
	TCP_ACK = 0x10,
};

struct decoded {
	uint8_t family;       /* 4 or 6 when the result is L3 or L4 */
	uint8_t proto;        /* IP protocol of the transport header */
	uint8_t flags;        /* DECODE_F_* */
	uint8_t tcp_flags;
	uint8_t src[16];      /* IPv4 as ::ffff:a.b.c.d */
	uint8_t dst[16];
	uint16_t sport, dport;           /* TCP, UDP; 0 otherwise */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id;                /* with DECODE_F_ECHO */
	uint32_t seq, ack;               /* with DECODE_F_TCP_HDR */
	uint32_t frag_id;                /* IPv4 identification or IPv6 fragment id */
	const uint8_t *payload;          /* L4 payload (TCP/UDP), NULL when none */
	uint32_t payload_len;            /* captured bytes at payload */
	uint32_t payload_wire;           /* payload bytes on the wire per the IP length */
};

/* Decodes data[0..caplen) of link type linktype into *d. Returns an enum decode_result. */
int decode_packet(uint32_t linktype, const uint8_t *data, uint32_t caplen, struct decoded *d);

/* LINKTYPE_* values understood by decode_packet() (prefixed: pcap headers may define others). */
enum {
	DECODE_LT_NULL = 0,
	DECODE_LT_ETHERNET = 1,
	DECODE_LT_DLT_RAW12 = 12,
	DECODE_LT_DLT_RAW14 = 14,
	DECODE_LT_RAW = 101,
	DECODE_LT_LOOP = 108,
	DECODE_LT_LINUX_SLL = 113,
	DECODE_LT_IPV4 = 228,
	DECODE_LT_IPV6 = 229,
	DECODE_LT_LINUX_SLL2 = 276,
};

#endif
