/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sha256.h - SHA-256 through Nettle (which uses the CPU's SHA extensions where there are
 * some): the digests of chunks, segments, seals and exports. One incremental form (a context
 * to init, update and finish) and one for a buffer at once. Nettle, not libcrypto: it needs
 * no initialisation, where OpenSSL 3's first digest loads its provider and name tables
 * (BENCHMARKS section 10: that, with the store key, was a third of a small export).
 */
#ifndef ECAP_SHA256_H
#define ECAP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
	void *ctx; /* Nettle's struct sha256_ctx; NULL until sha256_init */
};

/* 0 or -ENOMEM. */
int sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *p, size_t len);
/* The digest of what was fed since init; h may be used again after sha256_init. */
void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN]);
/* The digest so far, leaving h to go on. 0 or -ENOMEM. */
int sha256_peek(const struct sha256 *h, uint8_t out[SHA256_LEN]);
/* Copy the state of src into dst (initialised). 0 or -ENOMEM. */
int sha256_copy(struct sha256 *dst, const struct sha256 *src);
void sha256_free(struct sha256 *h);
/* The digest of len bytes. 0 or -ENOMEM. */
int sha256_once(const void *p, size_t len, uint8_t out[SHA256_LEN]);

#endif
