// SPDX-License-Identifier: GPL-2.0-only
/*
 * secret_hold.c - the ring of TLS secrets waiting for their ClientHello (secret_hold.h).
 *
 * Every item put gets the next sequence number; it lives in slot seq % cap while it is
 * between the ring's tail and head. Its chain link (prev) is the sequence number + 1 of the
 * previous item of the same client_random (0: none); a link is followed only while it
 * points into the ring at a slot that still holds that sequence number, so links to items
 * dropped or taken meanwhile end the chain instead of naming another item. Items taken
 * out of the middle leave empty slots, reclaimed when the tail reaches them.
 *
 * An item is a secret (struct tls_secret, 145 bytes) or a TLS 1.3 session's material (struct
 * tls13_material, 275 bytes) in the same slot; a slot's bytes are wiped as soon as its item
 * leaves (forget()), and the old ring when it grows, so that no secret stays in memory that
 * nothing holds.
 */
#include "secret_hold.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 256u

enum held_kind { HELD_SECRET = 1, HELD_TLS13 };

struct held {
	union {
		struct tls_secret sec;
		struct tls13_material m;
	} u;
	uint8_t kind;   /* enum held_kind; 0: the slot holds nothing */
	uint8_t weight; /* secrets: 1, or the key log records of the material */
	uint64_t at_ns;
	uint64_t seq;
	uint64_t prev;  /* seq + 1 of the previous item of this client_random; 0: none */
};

struct secret_hold {
	struct held *ring;
	uint32_t cap, max;   /* cap: a power of two, below 4 * max: room for max live items
			      * and the gaps left by those taken out of the middle */
	uint64_t tail, head; /* sequence numbers: [tail, head) are in the ring */
	uint64_t live;       /* items */
	uint64_t secrets;    /* their weights */
	uint64_t derived;
	uint64_t *order;     /* secret_hold_take()'s list of a chain, reused */
	size_t order_cap;
};

struct secret_hold *secret_hold_new(uint32_t max)
{
	struct secret_hold *h = calloc(1, sizeof(*h));
	if (h)
		h->max = max ? max : 1;
	return h;
}

void secret_hold_free(struct secret_hold *h)
{
	if (!h)
		return;
	if (h->ring)
		explicit_bzero(h->ring, (size_t)h->cap * sizeof(*h->ring));
	free(h->ring);
	free(h->order);
	free(h);
}

static struct held *slot(const struct secret_hold *h, uint64_t seq)
{
	return &h->ring[seq & (h->cap - 1)];
}

/* The item leaves: its bytes are wiped, its slot is empty. Returns its weight. */
static unsigned forget(struct secret_hold *h, struct held *e)
{
	unsigned w = e->weight;
	explicit_bzero(&e->u, sizeof(e->u));
	e->kind = 0;
	e->weight = 0;
	h->live--;
	h->secrets -= w;
	return w;
}

static int grow(struct secret_hold *h)
{
	uint32_t ncap = h->cap ? h->cap * 2 : FIRST_CAP;
	struct held *v = calloc(ncap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint64_t s = h->tail; s < h->head; s++)
		v[s & (ncap - 1)] = *slot(h, s);
	if (h->ring)
		explicit_bzero(h->ring, (size_t)h->cap * sizeof(*h->ring));
	free(h->ring);
	h->ring = v;
	h->cap = ncap;
	return 0;
}

/* Drops the oldest item held (the tail is live after reclaim()); its weight. */
static unsigned drop_oldest(struct secret_hold *h)
{
	unsigned w = forget(h, slot(h, h->tail));
	h->tail++;
	return w;
}

/* Moves the tail past slots whose item was taken. */
static void reclaim(struct secret_hold *h)
{
	while (h->tail < h->head && !slot(h, h->tail)->kind)
		h->tail++;
}

/* A slot at the head of the ring for a new item of chain *head; NULL when out of memory.
 * *dropped: the secrets dropped to make room. */
static struct held *put(struct secret_hold *h, uint64_t now_ns, uint64_t *head, int *dropped)
{
	*dropped = 0;
	reclaim(h);
	if (h->live >= h->max) {
		*dropped += (int)drop_oldest(h);
		reclaim(h);
	}
	if (h->head - h->tail == h->cap) {
		/* full of live items and the gaps of taken ones: grow, up to twice max */
		if (h->cap / 2 < h->max) {
			if (grow(h))
				return NULL;
		} else {
			*dropped += (int)drop_oldest(h);
		}
	}
	struct held *e = slot(h, h->head);
	e->at_ns = now_ns;
	e->seq = h->head;
	e->prev = *head;
	h->live++;
	*head = ++h->head;
	return e;
}

int secret_hold_put(struct secret_hold *h, const struct tls_secret *sec, uint64_t now_ns,
		    uint64_t *head)
{
	int dropped;
	struct held *e = put(h, now_ns, head, &dropped);
	if (!e)
		return -ENOMEM;
	e->u.sec = *sec;
	e->kind = HELD_SECRET;
	e->weight = 1;
	h->secrets++;
	return dropped;
}

int secret_hold_put_tls13(struct secret_hold *h, const struct tls13_material *m, uint64_t now_ns,
			  uint64_t *head)
{
	int dropped;
	struct held *e = put(h, now_ns, head, &dropped);
	if (!e)
		return -ENOMEM;
	e->u.m = *m;
	e->kind = HELD_TLS13;
	e->weight = (uint8_t)tls13_material_count(m);
	h->secrets += e->weight;
	return dropped;
}

/* The slot of chain link `link` (seq + 1), or NULL when it no longer holds that item. */
static struct held *follow(const struct secret_hold *h, uint64_t link)
{
	if (!link || !h->cap)
		return NULL;
	uint64_t seq = link - 1;
	if (seq < h->tail || seq >= h->head)
		return NULL;
	struct held *e = slot(h, seq);
	return e->seq == seq && e->kind ? e : NULL;
}

/* Hands item e's secrets to fn (a session's made now, and wiped after). */
static int hand_over(struct secret_hold *h, const struct held *e,
		     int (*fn)(void *ctx, const struct tls_secret *sec), void *ctx)
{
	struct tls_secret out[TLS13_SECRETS];
	bool derived;
	int n, err = 0;

	if (e->kind == HELD_SECRET)
		return fn(ctx, &e->u.sec);
	n = tls13_material_secrets(&e->u.m, out, &derived);
	if (derived)
		h->derived++;
	for (int i = 0; i < n && !err; i++)
		err = fn(ctx, &out[i]);
	explicit_bzero(out, sizeof(out));
	return err;
}

int secret_hold_take(struct secret_hold *h, uint64_t *head,
		     int (*fn)(void *ctx, const struct tls_secret *sec), void *ctx)
{
	size_t n = 0;
	for (struct held *e = follow(h, *head); e; e = follow(h, e->prev)) {
		if (n == h->order_cap) {
			size_t ncap = h->order_cap ? h->order_cap * 2 : 16;
			uint64_t *v = realloc(h->order, ncap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			h->order = v;
			h->order_cap = ncap;
		}
		h->order[n++] = e->seq;
	}
	*head = 0;
	int err = 0;
	while (n-- > 0) { /* newest first in the list: oldest first out */
		struct held *e = slot(h, h->order[n]);
		if (!err)
			err = hand_over(h, e, fn, ctx);
		forget(h, e);
	}
	return err < 0 ? err : 0;
}

bool secret_hold_has(const struct secret_hold *h, uint64_t head, const struct tls_secret *sec)
{
	int n = 0;
	for (const struct held *e = follow(h, head); e && n < SECRET_HOLD_DUP_LOOK;
	     e = follow(h, e->prev), n++)
		if (e->kind == HELD_SECRET && e->u.sec.secret_len == sec->secret_len &&
		    !strncmp(e->u.sec.label, sec->label, sizeof(sec->label)) &&
		    !memcmp(e->u.sec.secret, sec->secret, sec->secret_len))
			return true;
	return false;
}

bool secret_hold_has_tls13(const struct secret_hold *h, uint64_t head,
			   const struct tls13_material *m)
{
	int n = 0;
	for (const struct held *e = follow(h, head); e && n < SECRET_HOLD_DUP_LOOK;
	     e = follow(h, e->prev), n++)
		if (e->kind == HELD_TLS13 && !memcmp(&e->u.m, m, sizeof(*m)))
			return true;
	return false;
}

uint64_t secret_hold_expire(struct secret_hold *h, uint64_t now_ns, uint64_t max_age_ns)
{
	uint64_t dropped = 0;
	for (; h->tail < h->head; h->tail++) {
		struct held *e = slot(h, h->tail);
		if (e->kind) {
			if (max_age_ns && now_ns - e->at_ns < max_age_ns)
				break;
			dropped += forget(h, e);
		}
	}
	return dropped;
}

uint64_t secret_hold_count(const struct secret_hold *h)
{
	return h->secrets;
}

uint64_t secret_hold_derived(const struct secret_hold *h)
{
	return h->derived;
}
