/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * endpoints.h - just enough decoding of a stored packet to tell which end of its flow sent
 * it: the source and destination address and port behind the link-layer header.
 */
#ifndef ECAP_EXPORT_ENDPOINTS_H
#define ECAP_EXPORT_ENDPOINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "records.h"

struct endpoints {
	uint8_t proto;
	uint8_t src[16], dst[16];   /* v4-mapped for IPv4 */
	uint16_t sport, dport;      /* 0 when the protocol has none or the header is cut */
	bool has_ports;
};

/*
 * Decodes Ethernet (with 802.1Q/802.1ad tags), Linux cooked (SLL, SLL2), raw IP, IPv4/IPv6
 * link types and BSD loopback (NULL, LOOP). 0, or -EINVAL when the packet is not IP or too
 * short to say.
 */
int endpoints_parse(uint16_t linktype, const uint8_t *data, uint32_t caplen, struct endpoints *e);

/* Which side of the flow sent a packet with these endpoints; -1 when it cannot be told. */
int endpoints_sender(const struct endpoints *e, const struct flow_key *key);

#endif
