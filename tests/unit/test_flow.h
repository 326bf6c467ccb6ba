/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_flow.h - for the unit tests of the index: flow id's record, a TCP flow from
 * 10.0.(id >> 8).(id & 255) port 20000 + id to 192.0.0.1:443 (IPv4-mapped addresses), with
 * no owner.
 */
#ifndef ECAP_TEST_FLOW_H
#define ECAP_TEST_FLOW_H

#include <stdint.h>

#include "records.h"

static inline struct flow_record test_flow(uint64_t id)
{
	struct flow_record f = { .id = id, .first_ns = 1000 * id };
	f.key.proto = 6;
	f.key.family = 4;
	f.key.addr_a[10] = f.key.addr_a[11] = f.key.addr_b[10] = f.key.addr_b[11] = 0xff;
	f.key.addr_a[12] = 10;
	f.key.addr_a[14] = (uint8_t)(id >> 8);
	f.key.addr_a[15] = (uint8_t)id;
	f.key.addr_b[12] = 192;
	f.key.addr_b[15] = 1;
	f.key.port_a = (uint16_t)(20000 + id);
	f.key.port_b = 443;
	return f;
}

#endif
