/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * secret_hold.h - TLS secrets waiting for the ClientHello that makes them worth keeping.
 *
 * ecap-rec keeps only the secrets of sessions it records (unless --keep-all-secrets): a secret
 * whose client_random has not been seen in a recorded ClientHello waits here, for a bounded
 * time and in bounded number, and is dropped (and counted) when its ClientHello does not come.
 *
 * The hold is a ring in arrival order. The secrets of one client_random form a chain through
 * the ring; the caller keeps the chain's head (0: none) beside its own record of that
 * client_random, and hands it back to take the chain out when the ClientHello comes. A head
 * whose secrets were dropped meanwhile is harmless: taking it finds nothing.
 *
 * A held item is a secret, or a TLS 1.3 session's secrets as the OpenSSL probe read them
 * (struct tls13_material): its handshake traffic secrets are derived when the chain is taken,
 * so that HKDF runs only for the sessions that are recorded. Counts are of secrets (a
 * session's material counts as the key log records it makes); the bound is on items. Every item leaves memory wiped
 * (explicit_bzero): taken, dropped, expired, moved when the ring grows, or freed.
 */
#ifndef ECAP_SECRET_HOLD_H
#define ECAP_SECRET_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "../schema/records.h"
#include "tls_hkdf.h"

struct secret_hold;

/* A hold of at most max items (grown as needed up to that). NULL when out of memory. */
struct secret_hold *secret_hold_new(uint32_t max);
void secret_hold_free(struct secret_hold *h);

/*
 * Holds sec, arrived at now_ns, at the head of the chain *head (updated). When the hold is
 * full, its oldest item is dropped to make room. Returns how many secrets were dropped, or
 * -ENOMEM.
 */
int secret_hold_put(struct secret_hold *h, const struct tls_secret *sec, uint64_t now_ns,
		    uint64_t *head);

/* The same for a TLS 1.3 session's material, whose secrets are made when the chain is taken. */
int secret_hold_put_tls13(struct secret_hold *h, const struct tls13_material *m, uint64_t now_ns,
			  uint64_t *head);

/*
 * Hands the held secrets of chain *head to fn, oldest first (a session's material as the
 * key log records it makes, derived now), and forgets them; *head becomes 0. Stops at fn's first negative
 * return, which it returns; else 0 (material that derives nothing, bad lengths, is dropped).
 */
int secret_hold_take(struct secret_hold *h, uint64_t *head,
		     int (*fn)(void *ctx, const struct tls_secret *sec), void *ctx);

/* Whether the newest SECRET_HOLD_DUP_LOOK secrets of chain head include sec (same label and
 * secret): a secret reported twice is held once. */
#define SECRET_HOLD_DUP_LOOK 32
bool secret_hold_has(const struct secret_hold *h, uint64_t head, const struct tls_secret *sec);

/* The same for a TLS 1.3 session's material (the same bytes). */
bool secret_hold_has_tls13(const struct secret_hold *h, uint64_t head,
			   const struct tls13_material *m);

/* Drops the secrets held since before now_ns - max_age_ns (max_age_ns 0: every one); returns
 * how many. */
uint64_t secret_hold_expire(struct secret_hold *h, uint64_t now_ns, uint64_t max_age_ns);

/* Secrets held now (a session's material: the key log records it makes). */
uint64_t secret_hold_count(const struct secret_hold *h);

/* Handshakes whose traffic secrets secret_hold_take() derived so far. */
uint64_t secret_hold_derived(const struct secret_hold *h);

#endif
