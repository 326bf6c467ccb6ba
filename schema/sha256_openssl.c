// SPDX-License-Identifier: GPL-2.0-only
/*
 * sha256_openssl.c - SHA-256 of sha256.h on libcrypto's EVP interface (the SHA instructions
 * where the CPU has them): the backend of the writer (schema_ossl_dep: ecap-rec and the store
 * benchmarks). The digest's implementation is fetched once; a context is allocated at the
 * first sha256_init of a struct sha256 and reused until sha256_free.
 */
#include "sha256.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_md_once = PTHREAD_ONCE_INIT;

/* libcrypto started without its configuration file, as ecap-rec starts it (recorder/
 * ossl_init.c), should this be its first use: a file that openssl.cnf or OPENSSL_CONF names
 * must not load engines or provider modules into a process that runs as root. */
static void fetch_md(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *md(void)
{
	pthread_once(&sha256_md_once, fetch_md);
	return sha256_md;
}

const char *sha256_backend(void)
{
	return "openssl";
}

int sha256_init(struct sha256 *h)
{
	if (!md() || (!h->ctx && !(h->ctx = EVP_MD_CTX_new())))
		return -ENOMEM;
	return EVP_DigestInit_ex(h->ctx, md(), NULL) == 1 ? 0 : -ENOMEM;
}

void sha256_update(struct sha256 *h, const void *p, size_t len)
{
	EVP_DigestUpdate(h->ctx, p, len);
}

void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN])
{
	EVP_DigestFinal_ex(h->ctx, out, NULL);
}

int sha256_copy(struct sha256 *dst, const struct sha256 *src)
{
	if (!dst->ctx && !(dst->ctx = EVP_MD_CTX_new()))
		return -ENOMEM;
	return EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) == 1 ? 0 : -ENOMEM;
}

int sha256_peek(const struct sha256 *h, uint8_t out[SHA256_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_MD_CTX_copy_ex(c, h->ctx) == 1 && EVP_DigestFinal_ex(c, out, NULL) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -ENOMEM;
}

void sha256_free(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int sha256_once(const void *p, size_t len, uint8_t out[SHA256_LEN])
{
	return md() && EVP_Digest(p, len, out, NULL, md(), NULL) == 1 ? 0 : -ENOMEM;
}
