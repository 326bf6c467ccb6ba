/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * store_key_pem.h - the two files of a store key (store_key.h) as bytes: the Ed25519 key forms
 * of RFC 8410 in DER, in PEM armour (RFC 7468). Only the fixed layouts an Ed25519 key has;
 * store_key_pem.c specifies them byte by byte.
 */
#ifndef ECAP_STORE_KEY_PEM_H
#define ECAP_STORE_KEY_PEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEM_PRIVATE_LABEL "PRIVATE KEY"
#define PEM_PUBLIC_LABEL "PUBLIC KEY"
/* The largest key file read: a PEM of either form is under 200 bytes, with room for the
 * text `openssl pkey -text` puts around it. */
#define STORE_KEY_FILE_MAX 8192
/* The PEM text of either form, with its NUL: the armour lines and one line of base64. */
#define STORE_KEY_PEM_MAX 256

/*
 * The DER body of the first PEM block labelled `label` in text[0..len) (lines before and
 * after it are left alone, as OpenSSL does) into der (cap bytes), its length in *der_len.
 * 0; -ENOENT: no such block; -EBADMSG: a block with no end line, or whose body is not
 * base64 (an encrypted key's headers are not), or longer than cap.
 */
int pem_find_block(const char *text, size_t len, const char *label, uint8_t *der, size_t cap,
		   size_t *der_len);
/* A PEM block of der labelled label, into out (cap >= STORE_KEY_PEM_MAX): its length. */
size_t pem_write_block(const char *label, const uint8_t *der, size_t n, char *out, size_t cap);

/* An Ed25519 PrivateKeyInfo (PKCS#8 version 1, or version 2 with the public key, which then
 * goes to pub and *has_pub): its 32-byte seed. 0 or -EBADMSG for any other DER. */
int der_ed25519_private(const uint8_t *der, size_t n, uint8_t seed[32], uint8_t pub[32],
			bool *has_pub);
/* An Ed25519 SubjectPublicKeyInfo: its 32 bytes. 0 or -EBADMSG. */
int der_ed25519_public(const uint8_t *der, size_t n, uint8_t pub[32]);
/* The DER forms OpenSSL writes (PKCS#8 version 1; SubjectPublicKeyInfo): their length. */
#define DER_ED25519_PRIVATE_LEN 48
#define DER_ED25519_PUBLIC_LEN 44
void der_ed25519_private_write(const uint8_t seed[32], uint8_t out[DER_ED25519_PRIVATE_LEN]);
void der_ed25519_public_write(const uint8_t pub[32], uint8_t out[DER_ED25519_PUBLIC_LEN]);

#endif
