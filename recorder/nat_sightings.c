// SPDX-License-Identifier: GPL-2.0-only
/*
 * nat_sightings.c - pairing the two flows of a NATed conntrack entry under -i any
 * (nat_sightings.h).
 *
 * An entry is known by its namespace, protocol and both tuples (the same original tuple
 * translated to another reply tuple is another entry). The table is open-addressed with at
 * most PROBE slots tried per key; a slot whose entry was not seen for the TTL is free. Each
 * side (0: the flow before the translation, 1: after) is unseen, seen in one namespace, or
 * ambiguous (seen in two). Linking waits for nat_sightings_resolve(), called after the
 * reports of a whole poll were taken, so that the reports of a flooded packet, which come
 * one after another from the CPU that flooded it, are all in before anything is linked.
 */
#include "nat_sightings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PROBE 16u

enum side_state { SIDE_UNSEEN = 0, SIDE_SEEN, SIDE_AMBIGUOUS };

struct ct_key {
	uint32_t netns;
	uint8_t proto, pad[3];
	uint8_t addr[4][16];    /* original source, destination; reply source, destination */
	uint16_t port[4];
};

struct entry {
	struct ct_key key;      /* key.netns 0: free */
	uint64_t last_ns;
	uint32_t side_netns[2];
	uint8_t side[2];        /* enum side_state */
	uint8_t kind;           /* FLOW_LINK_* bits, as reported */
	bool linked;
};

struct nat_sightings {
	struct entry *tab;
	struct nat_sightings_stats st;
};

int nat_sightings_new(struct nat_sightings **out)
{
	struct nat_sightings *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->tab = calloc(NAT_SIGHTINGS_SLOTS, sizeof(*t->tab));
	if (!t->tab) {
		free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void nat_sightings_free(struct nat_sightings *t)
{
	if (!t)
		return;
	free(t->tab);
	free(t);
}

static void make_key(struct ct_key *k, const struct nat_sighting *s)
{
	const struct nat_entry *e = &s->e;

	memset(k, 0, sizeof(*k));
	k->netns = s->ct_netns;
	k->proto = e->proto;
	memcpy(k->addr[0], e->orig_src, 16);
	memcpy(k->addr[1], e->orig_dst, 16);
	memcpy(k->addr[2], e->reply_src, 16);
	memcpy(k->addr[3], e->reply_dst, 16);
	k->port[0] = e->orig_sport;
	k->port[1] = e->orig_dport;
	k->port[2] = e->reply_sport;
	k->port[3] = e->reply_dport;
}

static uint32_t key_hash(const struct ct_key *k)
{
	uint64_t h = 0, w;
	const uint8_t *b = (const uint8_t *)k;

	for (size_t i = 0; i + 8 <= sizeof(*k); i += 8) {
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return (uint32_t)(h >> 32);
}

static bool expired(const struct entry *e, uint64_t now_ns)
{
	return now_ns > e->last_ns && now_ns - e->last_ns > NAT_SIGHTING_TTL_NS;
}

/* The entry of k, or a free slot made its own; NULL when the probe window is full. */
static struct entry *find(struct nat_sightings *t, const struct ct_key *k, uint64_t now_ns)
{
	uint32_t h = key_hash(k);
	struct entry *free_slot = NULL;

	for (uint32_t i = 0; i < PROBE; i++) {
		struct entry *e = &t->tab[(h + i) & (NAT_SIGHTINGS_SLOTS - 1)];

		if (e->key.netns && memcmp(&e->key, k, sizeof(*k)) == 0)
			return e;
		if (!free_slot && (!e->key.netns || expired(e, now_ns)))
			free_slot = e;
	}
	if (free_slot) {
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->key = *k;
	}
	return free_slot;
}

void nat_sightings_add(struct nat_sightings *t, const struct nat_sighting *s, uint64_t ts_ns)
{
	struct ct_key k;
	struct entry *e;
	int side = s->reply ? 0 : 1;

	if (!s->ct_netns || !s->rec_netns)
		return;
	make_key(&k, s);
	e = find(t, &k, ts_ns);
	if (!e) {
		t->st.dropped++;
		return;
	}
	t->st.sightings++;
	e->last_ns = ts_ns;
	e->kind |= s->e.kind;
	if (e->side[side] == SIDE_UNSEEN) {
		e->side[side] = SIDE_SEEN;
		e->side_netns[side] = s->rec_netns;
	} else if (e->side[side] == SIDE_SEEN && e->side_netns[side] != s->rec_netns) {
		e->side[side] = SIDE_AMBIGUOUS;
		if (!e->linked)
			t->st.ambiguous++;
	}
}

int nat_sightings_resolve(struct nat_sightings *t, struct pipeline *p, uint64_t now_ns)
{
	for (uint32_t i = 0; i < NAT_SIGHTINGS_SLOTS; i++) {
		struct entry *e = &t->tab[i];
		struct nat_entry ne;
		int rc;

		if (!e->key.netns)
			continue;
		if (expired(e, now_ns)) {
			memset(e, 0, sizeof(*e));
			continue;
		}
		if (e->linked || e->side[0] != SIDE_SEEN || e->side[1] != SIDE_SEEN)
			continue;
		memset(&ne, 0, sizeof(ne));
		ne.pre_netns = e->side_netns[0];
		ne.post_netns = e->side_netns[1];
		ne.proto = e->key.proto;
		ne.kind = e->kind;
		memcpy(ne.orig_src, e->key.addr[0], 16);
		memcpy(ne.orig_dst, e->key.addr[1], 16);
		memcpy(ne.reply_src, e->key.addr[2], 16);
		memcpy(ne.reply_dst, e->key.addr[3], 16);
		ne.orig_sport = e->key.port[0];
		ne.orig_dport = e->key.port[1];
		ne.reply_sport = e->key.port[2];
		ne.reply_dport = e->key.port[3];
		rc = pipeline_nat(p, &ne, e->last_ns);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			e->linked = true;
			t->st.linked++;
		}
	}
	return 0;
}

void nat_sightings_get_stats(const struct nat_sightings *t, struct nat_sightings_stats *st)
{
	*st = t->st;
}
