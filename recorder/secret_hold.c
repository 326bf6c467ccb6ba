// SPDX-License-Identifier: GPL-2.0-only
/*
 * secret_hold.c - the ring of TLS secrets waiting for their ClientHello (secret_hold.h).
 *
 * Every secret put gets the next sequence number; it lives in slot seq % cap while it is
 * between the ring's tail and head. Its chain link (prev) is the sequence number + 1 of the
 * previous secret of the same client_random (0: none); a link is followed only while it
 * points into the ring at a slot that still holds that sequence number, so links to secrets
 * dropped or taken meanwhile end the chain instead of naming another secret. Secrets taken
 * out of the middle leave empty slots, reclaimed when the tail reaches them.
 */
#include "secret_hold.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 256u

struct held {
	struct tls_secret sec;
	uint64_t at_ns;
	uint64_t seq;
	uint64_t prev;  /* seq + 1 of the previous secret of this client_random; 0: none */
	bool live;
};

struct secret_hold {
	struct held *ring;
	uint32_t cap, max;   /* cap: a power of two, below 4 * max: room for max live secrets
			      * and the gaps left by those taken out of the middle */
	uint64_t tail, head; /* sequence numbers: [tail, head) are in the ring */
	uint64_t live;
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
	free(h->ring);
	free(h->order);
	free(h);
}

static struct held *slot(const struct secret_hold *h, uint64_t seq)
{
	return &h->ring[seq & (h->cap - 1)];
}

static int grow(struct secret_hold *h)
{
	uint32_t ncap = h->cap ? h->cap * 2 : FIRST_CAP;
	struct held *v = calloc(ncap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint64_t s = h->tail; s < h->head; s++)
		v[s & (ncap - 1)] = *slot(h, s);
	free(h->ring);
	h->ring = v;
	h->cap = ncap;
	return 0;
}

/* Drops the oldest secret held (the tail is live after reclaim()). */
static void drop_oldest(struct secret_hold *h)
{
	slot(h, h->tail)->live = false;
	h->live--;
	h->tail++;
}

/* Moves the tail past slots whose secret was taken. */
static void reclaim(struct secret_hold *h)
{
	while (h->tail < h->head && !slot(h, h->tail)->live)
		h->tail++;
}

int secret_hold_put(struct secret_hold *h, const struct tls_secret *sec, uint64_t now_ns,
		    uint64_t *head)
{
	int dropped = 0;
	reclaim(h);
	if (h->live >= h->max) {
		drop_oldest(h);
		dropped = 1;
		reclaim(h);
	}
	if (h->head - h->tail == h->cap) {
		/* full of live secrets and the gaps of taken ones: grow, up to twice max */
		if (h->cap / 2 < h->max) {
			int err = grow(h);
			if (err)
				return err;
		} else {
			drop_oldest(h);
			dropped = 1;
		}
	}
	struct held *e = slot(h, h->head);
	e->sec = *sec;
	e->at_ns = now_ns;
	e->seq = h->head;
	e->prev = *head;
	e->live = true;
	h->live++;
	*head = ++h->head;
	return dropped;
}

/* The slot of chain link `link` (seq + 1), or NULL when it no longer holds that secret. */
static struct held *follow(const struct secret_hold *h, uint64_t link)
{
	if (!link || !h->cap)
		return NULL;
	uint64_t seq = link - 1;
	if (seq < h->tail || seq >= h->head)
		return NULL;
	struct held *e = slot(h, seq);
	return e->seq == seq && e->live ? e : NULL;
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
		e->live = false;
		h->live--;
		if (!err)
			err = fn(ctx, &e->sec);
	}
	return err < 0 ? err : 0;
}

bool secret_hold_has(const struct secret_hold *h, uint64_t head, const struct tls_secret *sec)
{
	int n = 0;
	for (const struct held *e = follow(h, head); e && n < SECRET_HOLD_DUP_LOOK;
	     e = follow(h, e->prev), n++)
		if (e->sec.secret_len == sec->secret_len &&
		    !strncmp(e->sec.label, sec->label, sizeof(sec->label)) &&
		    !memcmp(e->sec.secret, sec->secret, sec->secret_len))
			return true;
	return false;
}

uint64_t secret_hold_expire(struct secret_hold *h, uint64_t now_ns, uint64_t max_age_ns)
{
	uint64_t dropped = 0;
	for (; h->tail < h->head; h->tail++) {
		struct held *e = slot(h, h->tail);
		if (e->live) {
			if (max_age_ns && now_ns - e->at_ns < max_age_ns)
				break;
			e->live = false;
			h->live--;
			dropped++;
		}
	}
	return dropped;
}

uint64_t secret_hold_count(const struct secret_hold *h)
{
	return h->live;
}
