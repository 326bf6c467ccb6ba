/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * store_key.h - a store's Ed25519 key (Nettle), which signs its seals (seal.h) and the
 * proofs of its exports. Made when the store is created (or when this version of ecap first
 * writes an older store): the private half in STORE/store.key (PEM PKCS#8, mode 0600, owned
 * by the recorder's user: root), the public half in STORE/store.pub (PEM SubjectPublicKeyInfo,
 * `openssl pkey -pubin -in store.pub -text` reads it). A copy of store.pub kept off the host
 * is what lets a third party check seals and exports (`ecap-verify --key`).
 *
 * The fingerprint is the SHA-256 of the 32 raw public key bytes, written "SHA256:<64 hex>".
 * Files are opened relative to the store's directory descriptor, never through a symlink.
 */
#ifndef ECAP_STORE_KEY_H
#define ECAP_STORE_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_KEY_NAME "store.key"
#define STORE_PUB_NAME "store.pub"
#define STORE_KEY_RAW_LEN 32
#define STORE_KEY_SIG_LEN 64
/* "SHA256:" and 64 hex digits and a NUL */
#define STORE_KEY_FP_TEXT 72

struct store_key {
	bool loaded;                    /* pub (and fp) hold a key */
	bool has_private;               /* and seed its private half */
	uint8_t seed[STORE_KEY_RAW_LEN];/* the private key (RFC 8032's 32-byte secret) */
	uint8_t pub[STORE_KEY_RAW_LEN]; /* the raw public key */
	uint8_t fp[32];                 /* SHA-256 of pub */
};

/*
 * The writer's key: loads dirfd's store.key, or makes a new one (*created true) when there
 * is none. store.pub is written when missing; one that differs from store.key is left alone
 * (*pub_differs true: ecap-verify reports it). 0 or -errno, with a message in err.
 */
int store_key_ensure(int dirfd, struct store_key *k, bool *created, bool *pub_differs,
		     char *err, size_t errlen);
/* Only the private key (export signs its proofs with it). -ENOENT when there is none. */
int store_key_load_private(int dirfd, struct store_key *k, char *err, size_t errlen);
/* A public key file: name relative to dirfd (AT_FDCWD for a path). PEM public key, or a
 * private key whose public half is taken. 0 or -errno with a message. The PEM forms read are
 * those an Ed25519 key has (store_key_pem.c): SubjectPublicKeyInfo, PKCS#8. */
int store_key_load_public(int dirfd, const char *name, struct store_key *k, char *err,
			  size_t errlen);
/* A public key from its raw 32 bytes. */
int store_key_from_raw(const uint8_t pub[STORE_KEY_RAW_LEN], struct store_key *k);
/* Wipes k (its private half too). */
void store_key_free(struct store_key *k);

int store_key_sign(const struct store_key *k, const void *msg, size_t len,
		   uint8_t sig[STORE_KEY_SIG_LEN]);
/* 0 when sig is k's signature of msg, -EBADMSG when not. */
int store_key_verify(const struct store_key *k, const void *msg, size_t len,
		     const uint8_t sig[STORE_KEY_SIG_LEN]);
/* "SHA256:<hex>" of fp. */
void store_key_fp_text(const uint8_t fp[32], char out[STORE_KEY_FP_TEXT]);

#endif
