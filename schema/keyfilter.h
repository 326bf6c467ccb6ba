/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * keyfilter.h - a chunk's filter of flow keys (index schema 7): which addresses, ports and
 * (address, port) pairs the flows recorded in a chunk have, as a blocked Bloom filter, so that
 * a selection by --host, --port or a tuple reads the flows of the chunks whose filter says
 * "maybe" instead of keeping four b-tree indexes over every flow. The format is specified in
 * keyfilter.c.
 *
 * A key is a 64-bit hash (keyfilter_addr() and the others); keyfilter_encode() makes the
 * filter of a set of keys, keyfilter_may_have() asks it. A filter that is not one this code
 * makes (a damaged index) answers "maybe" to everything: a false positive costs time, a false
 * negative would lose evidence.
 */
#ifndef ECAP_KEYFILTER_H
#define ECAP_KEYFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The key of an address (16 bytes, IPv4 as v4-mapped IPv6), a port, or both. */
uint64_t keyfilter_addr(const uint8_t addr[16]);
uint64_t keyfilter_port(uint16_t port);
uint64_t keyfilter_addr_port(const uint8_t addr[16], uint16_t port);

/* Appends to b the filter of the n keys in keys (made unique in place, *n their number: the
 * filter of a set does not depend on the order it came in). 0 or -ENOMEM. */
int keyfilter_encode(struct buf *b, uint64_t *keys, size_t *n);

/* Whether the filter (len bytes) may hold key: false only when it certainly does not. */
bool keyfilter_may_have(const uint8_t *filter, size_t len, uint64_t key);

#endif
