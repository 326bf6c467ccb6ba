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
 */
#ifndef ECAP_SECRET_HOLD_H
#define ECAP_SECRET_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "../schema/records.h"

struct secret_hold;

/* A hold of at most max secrets (grown as needed up to that). NULL when out of memory. */
struct secret_hold *secret_hold_new(uint32_t max);
void secret_hold_free(struct secret_hold *h);

/*
 * Holds sec, arrived at now_ns, at the head of the chain *head (updated). When the hold is
 * full, its oldest secret is dropped to make room. Returns how many were dropped (0 or 1), or
 * -ENOMEM.
 */
int secret_hold_put(struct secret_hold *h, const struct tls_secret *sec, uint64_t now_ns,
		    uint64_t *head);

/*
 * Hands the held secrets of chain *head to fn, oldest first, and forgets them; *head becomes
 * 0. Stops at fn's first negative return, which it returns; else 0.
 */
int secret_hold_take(struct secret_hold *h, uint64_t *head,
		     int (*fn)(void *ctx, const struct tls_secret *sec), void *ctx);

/* Whether the newest SECRET_HOLD_DUP_LOOK secrets of chain head include sec (same label and
 * secret): a secret reported twice is held once. */
#define SECRET_HOLD_DUP_LOOK 32
bool secret_hold_has(const struct secret_hold *h, uint64_t head, const struct tls_secret *sec);

/* Drops the secrets held since before now_ns - max_age_ns (max_age_ns 0: every one); returns
 * how many. */
uint64_t secret_hold_expire(struct secret_hold *h, uint64_t now_ns, uint64_t max_age_ns);

/* Secrets held now. */
uint64_t secret_hold_count(const struct secret_hold *h);

#endif
