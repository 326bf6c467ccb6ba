// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_hkdf.c - TLS 1.3 HKDF-Expand-Label over libcrypto's one-shot HMAC.
 *
 * RFC 8446 7.1: HkdfLabel = uint16 length || opaque label<7..255> ("tls13 " + Label) ||
 * opaque context<0..255>; HKDF-Expand (RFC 5869) with L <= HashLen is a single block:
 * T(1) = HMAC-Hash(PRK = secret, info = HkdfLabel || 0x01), truncated to L.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tls_hkdf.h"

#define LABEL_PREFIX "tls13 "

int tls_hkdf_expand_label(size_t hash_len, const uint8_t *secret, const char *label,
			  const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
	const EVP_MD *md;
	uint8_t info[2 + 1 + 255 + 1 + 255 + 1];
	uint8_t block[EVP_MAX_MD_SIZE];
	unsigned int block_len = 0;
	size_t label_len = strlen(label), n = 0;

	if (hash_len == 32)
		md = EVP_sha256();
	else if (hash_len == 48)
		md = EVP_sha384();
	else
		return -EINVAL;
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
	if (!HMAC(md, secret, (int)hash_len, info, n, block, &block_len) || block_len != hash_len)
		return -EIO;
	memcpy(out, block, out_len);
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
