// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_secrets.c - store_put_secret(): each TLS secret (label, client_random) is stored
 * once, in the first chunk that gets it.
 *
 * Whether the store already holds a secret is asked of the open chunk, the chunk in flight
 * (neither indexed yet) and the index. To ask the index once per TLS session rather than
 * once per secret (a TLS 1.3 session brings five), the writer keeps a direct-mapped cache
 * of the client_randoms it met last, each with the set of the well-known labels the store
 * holds for it: a hit answers without SQL; a miss reads every label of that client_random
 * from the index, and looks through the two unindexed chunks, once. A label outside the
 * well-known set is asked about every time. Whatever removes secrets from the store
 * (retention deleting a segment, a chunk the full disk refused) empties the cache:
 * store_secrets_forget().
 *
 * store_put_session_secret() asks nothing: its caller (the recorder's pipeline) passes a
 * secret of a session it recorded in this run, once per label, so the store can hold it only
 * from this run's chunks; such a secret lands in or after its session's chunk, where the index
 * finds it without a secret_chunks row (index.sql), and none of the lookups above is made.
 */
#include "store_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tls_labels.h"

#define SEEN_SLOTS 4096u /* a power of two */

struct secret_seen {
	uint8_t client_random[32];
	uint16_t labels;        /* bit i: the store holds label tls_labels[i] */
	bool used;
};

static int label_bit(const char *label)
{
	return tls_label_index(label, strlen(label));
}

static void add_label(const char *label, void *ctx)
{
	int bit = label_bit(label);
	if (bit >= 0)
		*(uint16_t *)ctx |= (uint16_t)(1u << bit);
}

static void add_chunk_labels(const struct chunk_builder *cb, const uint8_t cr[32],
			     uint16_t *labels)
{
	uint64_t head, h;
	memcpy(&head, cr, 8);
	for (size_t i = 0; i < cb->n_secrets; i++) { /* the first 8 bytes first: one compare */
		memcpy(&h, cb->secrets[i].client_random, 8);
		if (h == head && !memcmp(cb->secrets[i].client_random, cr, 32))
			add_label(cb->secrets[i].label, labels);
	}
}

static struct secret_seen *seen_slot(struct store *s, const uint8_t cr[32])
{
	if (!s->seen && !(s->seen = calloc(SEEN_SLOTS, sizeof(*s->seen))))
		return NULL;
	/* both ends: a TLS 1.2 client may still start its random with the time */
	uint64_t a, b;
	memcpy(&a, cr, 8);
	memcpy(&b, cr + 24, 8);
	uint64_t h = (a ^ b) * 0x9e3779b97f4a7c15ull;
	return &s->seen[(h >> 32) & (SEEN_SLOTS - 1)];
}

void store_secrets_forget(struct store *s)
{
	if (s->seen)
		memset(s->seen, 0, SEEN_SLOTS * sizeof(*s->seen));
}

/* 1 when the store holds the secret, 0 when not, <0 error. *ep: the cache entry that now
 * describes sec's client_random, with *bitp its label's bit; NULL when the cache has none. */
static int store_holds(struct store *s, const struct tls_secret *sec, struct secret_seen **ep,
		       int *bitp)
{
	int bit = *bitp = label_bit(sec->label);
	struct secret_seen *e = *ep = bit >= 0 ? seen_slot(s, sec->client_random) : NULL;
	if (e && e->used && !memcmp(e->client_random, sec->client_random, 32))
		return (e->labels >> bit) & 1;
	if (!e) {
		if (chunk_builder_has_secret(&s->cb, sec) ||
		    (s->inflight && chunk_builder_has_secret(&s->cb_spare, sec)))
			return 1;
		pthread_mutex_lock(&s->ix_lock);
		int r = index_has_secret(s->ix, sec);
		pthread_mutex_unlock(&s->ix_lock);
		return r;
	}
	uint16_t labels = 0;
	pthread_mutex_lock(&s->ix_lock);
	int err = index_secret_labels(s->ix, sec->client_random, add_label, &labels);
	pthread_mutex_unlock(&s->ix_lock);
	if (err)
		return err;
	add_chunk_labels(&s->cb, sec->client_random, &labels);
	if (s->inflight)
		add_chunk_labels(&s->cb_spare, sec->client_random, &labels);
	memcpy(e->client_random, sec->client_random, 32);
	e->labels = labels;
	e->used = true;
	return (labels >> bit) & 1;
}

int store_put_secret(struct store *s, const struct tls_secret *secret)
{
	struct secret_seen *e;
	int bit;
	int r = store_holds(s, secret, &e, &bit);
	if (r < 0)
		return store_fail(s, r, "%s: %s", s->dir, index_errmsg(s->ix));
	if (r)
		return 0;
	int err = chunk_builder_add_secret(&s->cb, secret);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, strerror(-err));
	if (e)
		e->labels |= (uint16_t)(1u << bit);
	store_chunk_begun(s);
	return 1;
}

int store_put_session_secret(struct store *s, const struct tls_secret *secret)
{
	int err = chunk_builder_add_secret(&s->cb, secret);
	if (err)
		return store_fail(s, err, "%s: %s", s->dir, strerror(-err));
	store_chunk_begun(s);
	return 1;
}
