// SPDX-License-Identifier: GPL-2.0-only
/*
 * sha256.c - SHA-256 of sha256.h on libcrypto's EVP interface. A context is made once per
 * digest that runs for long (a segment's); EVP_Digest() serves the one-shot form.
 */
#include "sha256.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

void ecap_crypto_init(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
}

int sha256_init(struct sha256 *h)
{
	ecap_crypto_init();
	if (!h->ctx && !(h->ctx = EVP_MD_CTX_new()))
		return -ENOMEM;
	return EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1 ? 0 : -ENOMEM;
}

void sha256_update(struct sha256 *h, const void *p, size_t len)
{
	EVP_DigestUpdate(h->ctx, p, len);
}

void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN])
{
	unsigned n = SHA256_LEN;
	EVP_DigestFinal_ex(h->ctx, out, &n);
}

int sha256_copy(struct sha256 *dst, const struct sha256 *src)
{
	if (!dst->ctx && !(dst->ctx = EVP_MD_CTX_new()))
		return -ENOMEM;
	return EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) == 1 ? 0 : -ENOMEM;
}

int sha256_peek(const struct sha256 *h, uint8_t out[SHA256_LEN])
{
	struct sha256 c = { 0 };
	int err = sha256_copy(&c, h);
	if (!err)
		sha256_final(&c, out);
	sha256_free(&c);
	return err;
}

void sha256_free(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int sha256_once(const void *p, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned n = SHA256_LEN;
	ecap_crypto_init();
	return EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) == 1 ? 0 : -ENOMEM;
}
