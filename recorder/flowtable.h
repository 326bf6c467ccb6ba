/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flowtable.h - the recorder's table of live flows.
 *
 * A flow is one connection over its lifetime, found by its normalized 5-tuple (protocol,
 * the two address/port ends in a fixed order). Rules:
 *  - A new flow (a fresh id from the id callback) starts on a tuple when there is none, when
 *    the flow there has been idle longer than tcp_idle_ns (TCP) or udp_idle_ns (all else),
 *    or when a TCP SYN without ACK arrives on a flow that has seen a FIN or a RST. So port
 *    reuse never merges two connections. A flow other than TCP whose packets all came
 *    within UDP_STREAM_AFTER_NS of its first (a DNS query and its answer) ends after
 *    udp_short_idle_ns instead, as Linux conntrack treats UDP: a host that answers many
 *    one-exchange flows does not keep each of them for udp_idle_ns.
 *  - Side A (the initiator): TCP: the sender of a SYN without ACK; the receiver of a SYN+ACK;
 *    when the flow's first packet is neither (its start was missed), the end with the higher
 *    port (clients use ephemeral ports), and on equal ports the sender. UDP and other IP
 *    protocols: the sender of the first packet. ICMP: the sender of the first packet, but the
 *    receiver when that is an echo reply.
 *  - ICMP and ICMPv6 echo request/reply are keyed by their identifier (one flow per ping
 *    run); other ICMP messages share one flow per address pair. The stored key has
 *    port_a = type<<8|code of the first packet and port_b = the echo identifier (0 if none).
 *    Other IP protocols are keyed by addresses and protocol with ports 0.
 *  - Time is packet time: the table's clock is the latest packet timestamp it was given, so
 *    a replay expires flows as the capture's own clock says, however fast it runs.
 *
 * Entries are preallocated (max_flows of them; untouched memory is not resident) and
 * chained from a power-of-two bucket array; each time class (TCP, other, short-lived other,
 * closed TCP) keeps its flows in
 * last-packet order, so expiry pops from the front with bounded work, and a full table
 * evicts the least recently active flow. No allocation per packet.
 */
#ifndef ECAP_FLOWTABLE_H
#define ECAP_FLOWTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../schema/le.h"
#include "../schema/records.h"
#include "decode.h"
#include "tls_hello.h"

/* The lookup key: ends ordered so that (lo, port_lo) <= (hi, port_hi), and the network
 * namespace the packets were recorded in (the inode of the interface's netns, 0 when not
 * known, as in a replay): one tuple in two namespaces is two connections. */
struct ft_key {
	uint8_t lo[16];
	uint8_t hi[16];
	uint16_t port_lo, port_hi;
	uint8_t proto;
	uint8_t pad[3];      /* always 0: keys are hashed and compared as bytes */
	uint32_t netns;
	uint32_t pad2;       /* always 0 */
};

_Static_assert(sizeof(struct ft_key) == 48, "ft_key is hashed as six 64-bit words");

/* A 32-bit hash of a key, read as six 64-bit words (the padding is always 0): the flow
 * table's buckets (seed 0), and the recorder's other tables keyed by a tuple, each with a
 * seed of its own. */
static inline uint32_t flowtable_key_hash(const struct ft_key *key, uint64_t seed)
{
	const uint8_t *p = (const uint8_t *)key;
	uint64_t h = 0x243f6a8885a308d3ull ^ seed, w;
	for (int i = 0; i < 6; i++) {
		memcpy(&w, p + 8 * i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* flow.tcp_state bits */
enum {
	FT_FIN_A = 1 << 0,
	FT_FIN_B = 1 << 1,
	FT_RST = 1 << 2,
};

struct flow {
	struct ft_key key;
	uint32_t hnext;           /* hash chain (1-based entry index, 0: end) */
	uint32_t prev, next;      /* age list of its class */
	uint64_t last_ns;         /* latest packet */
	uint8_t a_is_lo;          /* side A is the key's lo end */
	uint8_t tcp_state;        /* FT_* */
	uint8_t cls;              /* time class: 0 TCP, 1 other, 2 closed TCP, 3 other not yet a
				   * stream; 0xff: free */
	struct tls_hello_state tls; /* the pipeline's ClientHello search */
	uint64_t nat_peer;        /* the flow this one is linked to through NAT (0: none) */
	uint32_t store_epoch;     /* the store's epoch of its latest record (store_flow_epoch;
				   * 0: none yet) */
	uint32_t chunk_stat;      /* where the store's open chunk counts its packets, as it last
				   * said (store_append_flow_packet: checked there) */
	struct flow_record rec;   /* id, A/B key, first_ns, procs: what the store gets */
};

/* A flow other than TCP with a packet this long after its first is a stream (udp_idle_ns). */
#define UDP_STREAM_AFTER_NS (2ull * 1000000000ull)

struct flowtable_options {
	uint64_t tcp_idle_ns;
	uint64_t udp_idle_ns;
	/* A TCP flow that has seen a FIN from both ends, or a RST, leaves the table after this
	 * much quiet (late ACKs and retransmissions still find it); 0: tcp_idle_ns. */
	uint64_t tcp_closed_idle_ns;
	/* A flow other than TCP with no packet yet UDP_STREAM_AFTER_NS after its first leaves
	 * after this much quiet; 0: udp_idle_ns. */
	uint64_t udp_short_idle_ns;
	uint32_t max_flows;
	/* A fresh flow id (> 0); 0 when none can be given (the packet is refused: -ERANGE). */
	uint64_t (*new_id)(void *ctx);
	/* Called for a flow leaving the table (expired, evicted, replaced), may be NULL. */
	void (*on_remove)(void *ctx, struct flow *f);
	void *ctx;
};

struct flowtable;

struct flowtable_stats {
	uint64_t created, active, expired, evicted, replaced;
};

int flowtable_new(const struct flowtable_options *opt, struct flowtable **out);
void flowtable_free(struct flowtable *ft);

/* The lookup key of a tuple given as two ends; *one_is_lo tells where end 1 went. Inline, as
 * flowtable_key(): once per packet. */
static inline void flowtable_tuple_key(struct ft_key *key, uint32_t netns, uint8_t proto,
				       const uint8_t a1[16], uint16_t p1, const uint8_t a2[16],
				       uint16_t p2, bool *one_is_lo)
{
	/* (a1, p1) <= (a2, p2), the addresses in memcmp's order, as two 8-byte numbers each
	 * (for each packet: a call of memcmp was most of this function) */
	uint64_t x1 = be64_load(a1), x2 = be64_load(a2);
	bool lo1;
	if (x1 != x2) {
		lo1 = x1 < x2;
	} else {
		x1 = be64_load(a1 + 8);
		x2 = be64_load(a2 + 8);
		lo1 = x1 != x2 ? x1 < x2 : p1 <= p2;
	}
	memcpy(key->lo, lo1 ? a1 : a2, 16);
	memcpy(key->hi, lo1 ? a2 : a1, 16);
	key->port_lo = lo1 ? p1 : p2;
	key->port_hi = lo1 ? p2 : p1;
	key->proto = proto;
	key->pad[0] = key->pad[1] = key->pad[2] = 0;
	key->netns = netns;
	key->pad2 = 0;
	*one_is_lo = lo1;
}

/*
 * Builds the lookup key of a decoded packet (L4, or L3 of a protocol without ports) recorded
 * in network namespace netns. *sender_is_lo tells which key end sent it (false when no key).
 * False when the packet cannot have a flow (not IP, a TCP/UDP packet without ports).
 */
static inline bool flowtable_key(const struct decoded *d, uint32_t netns, struct ft_key *key,
				 bool *sender_is_lo)
{
	uint16_t sp = 0, dp = 0;
	*sender_is_lo = false; /* the packet's when it has a key */
	if (d->family == 0)
		return false;
	switch (d->proto) {
	case FLOW_PROTO_TCP:
	case FLOW_PROTO_UDP:
		if (!(d->flags & DECODE_F_L4HDR))
			return false;
		sp = d->sport;
		dp = d->dport;
		break;
	case FLOW_PROTO_ICMP:
	case FLOW_PROTO_ICMPV6:
		if (!(d->flags & DECODE_F_L4HDR))
			return false;
		if (d->flags & DECODE_F_ECHO)
			sp = dp = d->icmp_id;
		break;
	default:
		break;
	}
	flowtable_tuple_key(key, netns, d->proto, d->src, sp, d->dst, dp, sender_is_lo);
	return true;
}

struct flow_hit {
	struct flow *flow;
	enum flow_side sender;   /* the packet sender's side */
	bool created;            /* a new flow (its record has not been stored yet) */
};

/*
 * The flow of a packet with lookup key `key` (from flowtable_key()), creating it when the
 * rules above say so, and updating its time and TCP state. d supplies the TCP flags and ICMP
 * type/code. Returns 0, or -ENOMEM when the id callback gives 0.
 */
int flowtable_packet(struct flowtable *ft, const struct ft_key *key, bool sender_is_lo,
		     const struct decoded *d, uint64_t ts_ns, struct flow_hit *hit);

/*
 * The flow of namespace netns with proto between (addr1, port1) and (addr2, port2) in either
 * orientation, or NULL; *side1 is the side of end 1.
 */
struct flow *flowtable_find(struct flowtable *ft, uint32_t netns, uint8_t proto,
			    const uint8_t addr1[16], uint16_t port1, const uint8_t addr2[16],
			    uint16_t port2, enum flow_side *side1);

/* flowtable_find() with the key already made by flowtable_tuple_key() (one_is_lo as it
 * gave it). */
struct flow *flowtable_find_key(struct flowtable *ft, const struct ft_key *key, bool one_is_lo,
				enum flow_side *side1);

/* Ends flows idle at the table's clock, at most `budget` of them. Returns how many. */
uint32_t flowtable_expire(struct flowtable *ft, uint32_t budget);

/* The table's clock: the latest packet time seen. */
uint64_t flowtable_now(const struct flowtable *ft);

/* Calls fn for every flow in the table (any order). */
void flowtable_walk(struct flowtable *ft, void (*fn)(void *ctx, struct flow *f), void *ctx);

void flowtable_get_stats(const struct flowtable *ft, struct flowtable_stats *st);

#endif
