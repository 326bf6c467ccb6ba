// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_hkdf.c - TLS 1.3 HKDF-Expand-Label, with HMAC (RFC 2104) built on libcrypto's digests.
 *
 * RFC 8446 7.1: HkdfLabel = uint16 length || opaque label<7..255> ("tls13 " + Label) ||
 * opaque context<0..255>; HKDF-Expand (RFC 5869) with L <= HashLen is a single block:
 * T(1) = HMAC-Hash(PRK = secret, info = HkdfLabel || 0x01), truncated to L.
 *
 * HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), K zero-padded to the hash's block size
 * (our keys, one hash long, always fit). libcrypto's one-shot HMAC() looks the MAC and the
 * digest up by name on every call, which cost more than the hashing: the digests are fetched
 * once here instead.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ossl_init.h"
#include "tls_hkdf.h"

#define LABEL_PREFIX "tls13 "
#define HMAC_BLOCK_MAX 128 /* SHA-384's block */

static EVP_MD *sha256, *sha384; /* fetched once, kept for the process's life */
static pthread_once_t fetched = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
	ecap_ossl_init();
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

/* One HMAC pass: H((key ^ pad byte) || a || b). */
static int hmac_pass(EVP_MD_CTX *c, const EVP_MD *md, const uint8_t *key, size_t key_len,
		     uint8_t padc, const uint8_t *a, size_t a_len, uint8_t *out)
{
	uint8_t pad[HMAC_BLOCK_MAX];
	size_t block = (size_t)EVP_MD_get_block_size(md);
	unsigned int len = 0;

	memset(pad, padc, block);
	for (size_t i = 0; i < key_len; i++)
		pad[i] ^= key[i];
	int ok = EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, pad, block) &&
		 EVP_DigestUpdate(c, a, a_len) && EVP_DigestFinal_ex(c, out, &len);
	OPENSSL_cleanse(pad, sizeof(pad));
	return ok ? (int)len : -1;
}

static int hmac(const EVP_MD *md, const uint8_t *key, size_t key_len, const uint8_t *msg,
		size_t msg_len, uint8_t *out)
{
	uint8_t inner[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int n = -1;

	if (c && key_len <= (size_t)EVP_MD_get_block_size(md) &&
	    (n = hmac_pass(c, md, key, key_len, 0x36, msg, msg_len, inner)) > 0)
		n = hmac_pass(c, md, key, key_len, 0x5c, inner, (size_t)n, out);
	EVP_MD_CTX_free(c);
	OPENSSL_cleanse(inner, sizeof(inner));
	return n;
}

int tls_hkdf_expand_label(size_t hash_len, const uint8_t *secret, const char *label,
			  const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
	const EVP_MD *md;
	uint8_t info[2 + 1 + 255 + 1 + 255 + 1];
	uint8_t block[EVP_MAX_MD_SIZE];
	size_t label_len = strlen(label), n = 0;

	pthread_once(&fetched, fetch_digests);
	if (hash_len == 32)
		md = sha256;
	else if (hash_len == 48)
		md = sha384;
	else
		return -EINVAL;
	if (!md)
		return -EIO;
	if (out_len == 0 || out_len > hash_len || context_len > 255 ||
	    sizeof(LABEL_PREFIX) - 1 + label_len > 255)
		return -EINVAL;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(sizeof(LABEL_PREFIX) - 1 + label_len);
	memcpy(info + n, LABEL_PREFIX, sizeof(LABEL_PREFIX) - 1);
	n += sizeof(LABEL_PREFIX) - 1;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = (uint8_t)context_len;
	if (context_len)
		memcpy(info + n, context, context_len);
	n += context_len;
	info[n++] = 0x01;
	if (hmac(md, secret, hash_len, info, n, block) != (int)hash_len)
		return -EIO;
	memcpy(out, block, out_len);
	OPENSSL_cleanse(block, sizeof(block));
	return 0;
}

size_t tls_hkdf_suite_hash_len(uint32_t cipher_id)
{
	/* RFC 8446 B.4: TLS_AES_256_GCM_SHA384 (0x1302) is the only SHA-384 suite. */
	uint32_t iana = cipher_id & 0xffff;

	if ((cipher_id >> 16) != 0x0300 && (cipher_id >> 16) != 0)
		return 0;
	if (iana == 0x1302)
		return 48;
	if (iana == 0x1301 || (iana >= 0x1303 && iana <= 0x1305))
		return 32;
	return 0;
}
