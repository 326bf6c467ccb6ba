/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sha256.h - SHA-256: the digests of chunks, segments, seals and exports. One incremental form
 * (a context to init, update and finish) and one for a buffer at once.
 *
 * Two backends, one per binary, chosen at build time (schema/meson.build): Nettle
 * (sha256_nettle.c, schema_dep) for the readers (ecap-export, ecap-verify, ecap-fsck): it
 * needs no initialisation, where OpenSSL 3's first digest loads its provider and name tables
 * (BENCHMARKS section 10: that, with the store key, was a third of a small export). libcrypto
 * (sha256_openssl.c, schema_ossl_dep) for the writer (ecap-rec, which links it anyway, and the
 * store benchmarks): its SHA-256 runs about 11% faster on this machine's SHA instructions
 * (1.56 against 1.40 GB/s), and the writer hashes every byte it stores (BENCHMARKS section 11).
 * Both give the same digests (unit.sha256_nettle, unit.sha256_openssl).
 */
#ifndef ECAP_SHA256_H
#define ECAP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
	void *ctx; /* the backend's context; NULL until sha256_init */
};

/* "nettle" or "openssl": the backend this binary was linked with. */
const char *sha256_backend(void);
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
