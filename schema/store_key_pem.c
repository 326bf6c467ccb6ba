// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_key_pem.c - the files of a store key (store_key_pem.h), read and written without a
 * general ASN.1 decoder: an Ed25519 key has fixed layouts, compared here byte for byte, and
 * anything else is refused. The files are in the store (root's), but read as hostile input:
 * bounded, no length taken from them but checked against the one the layout has.
 *
 * FORMAT (RFC 8410, DER; OID 1.3.101.112 is id-Ed25519, encoded 06 03 2b 65 70):
 *
 *   private key, PKCS#8 PrivateKeyInfo version 1 (what ecap-rec and `openssl genpkey
 *   -algorithm ed25519` write), 48 bytes:
 *     30 2e                SEQUENCE, 46 bytes
 *       02 01 00           INTEGER 0 (version 1)
 *       30 05 06 03 2b 65 70   AlgorithmIdentifier { id-Ed25519 }, no parameters
 *       04 22 04 20 SEED   OCTET STRING holding the CurvePrivateKey OCTET STRING: 32 bytes
 *   private key, OneAsymmetricKey version 2 (RFC 5958, read only), 83 bytes:
 *     30 51 02 01 01 30 05 06 03 2b 65 70 04 22 04 20 SEED
 *       81 21 00 PUB       [1] publicKey, BIT STRING of 32 bytes, no unused bits
 *   public key, SubjectPublicKeyInfo, 44 bytes:
 *     30 2a 30 05 06 03 2b 65 70 03 21 00 PUB
 *
 * PEM (RFC 7468): a line "-----BEGIN LABEL-----", the DER in base64 (lines of 64 characters
 * when written; any whitespace between characters when read), a line "-----END LABEL-----";
 * LABEL is "PRIVATE KEY" or "PUBLIC KEY". A block with headers (an encrypted key's
 * "Proc-Type:") is not base64 and is refused.
 */
#include "store_key_pem.h"

#include <errno.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <string.h>

static const uint8_t private_v1[16] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
					0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20 };
static const uint8_t private_v2[16] = { 0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06,
					0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20 };
static const uint8_t private_v2_pub[3] = { 0x81, 0x21, 0x00 };
static const uint8_t public_spki[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
					 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };

int der_ed25519_private(const uint8_t *der, size_t n, uint8_t seed[32], uint8_t pub[32],
			bool *has_pub)
{
	*has_pub = false;
	if (n == sizeof(private_v1) + 32 && !memcmp(der, private_v1, sizeof(private_v1))) {
		memcpy(seed, der + sizeof(private_v1), 32);
		return 0;
	}
	if (n == sizeof(private_v2) + 32 + sizeof(private_v2_pub) + 32 &&
	    !memcmp(der, private_v2, sizeof(private_v2)) &&
	    !memcmp(der + sizeof(private_v2) + 32, private_v2_pub, sizeof(private_v2_pub))) {
		memcpy(seed, der + sizeof(private_v2), 32);
		memcpy(pub, der + n - 32, 32);
		*has_pub = true;
		return 0;
	}
	return -EBADMSG;
}

int der_ed25519_public(const uint8_t *der, size_t n, uint8_t pub[32])
{
	if (n != sizeof(public_spki) + 32 || memcmp(der, public_spki, sizeof(public_spki)))
		return -EBADMSG;
	memcpy(pub, der + sizeof(public_spki), 32);
	return 0;
}

void der_ed25519_private_write(const uint8_t seed[32], uint8_t out[DER_ED25519_PRIVATE_LEN])
{
	memcpy(out, private_v1, sizeof(private_v1));
	memcpy(out + sizeof(private_v1), seed, 32);
}

void der_ed25519_public_write(const uint8_t pub[32], uint8_t out[DER_ED25519_PUBLIC_LEN])
{
	memcpy(out, public_spki, sizeof(public_spki));
	memcpy(out + sizeof(public_spki), pub, 32);
}

/* The line at *pos (without its '\n' and a '\r' before it), *pos moved past it; false at the
 * end of the text. */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *ll)
{
	if (*pos >= len)
		return false;
	const char *s = text + *pos, *nl = memchr(s, '\n', len - *pos);
	size_t l = nl ? (size_t)(nl - s) : len - *pos;
	*pos += l + (nl != NULL);
	if (l && s[l - 1] == '\r')
		l--;
	*line = s;
	*ll = l;
	return true;
}

/* line[0..ll) is "-----WHAT LABEL-----" */
static bool is_armour(const char *line, size_t ll, const char *what, const char *label)
{
	char want[64];
	int n = snprintf(want, sizeof(want), "-----%s %s-----", what, label);
	return n > 0 && (size_t)n == ll && !memcmp(line, want, ll);
}

int pem_find_block(const char *text, size_t len, const char *label, uint8_t *der, size_t cap,
		   size_t *der_len)
{
	size_t pos = 0, ll;
	const char *line;
	bool found = false;
	while (!found && next_line(text, len, &pos, &line, &ll))
		found = is_armour(line, ll, "BEGIN", label);
	if (!found)
		return -ENOENT;
	struct base64_decode_ctx b64;
	uint8_t out[BASE64_DECODE_LENGTH(80)];
	*der_len = 0;
	base64_decode_init(&b64);
	while (next_line(text, len, &pos, &line, &ll)) {
		if (is_armour(line, ll, "END", label))
			return base64_decode_final(&b64) ? 0 : -EBADMSG;
		for (size_t at = 0; at < ll; at += 80) {
			size_t take = ll - at < 80 ? ll - at : 80, got = sizeof(out);
			if (!base64_decode_update(&b64, &got, out, take, line + at) ||
			    got > cap - *der_len)
				return -EBADMSG;
			memcpy(der + *der_len, out, got);
			*der_len += got;
		}
	}
	return -EBADMSG;
}

size_t pem_write_block(const char *label, const uint8_t *der, size_t n, char *out, size_t cap)
{
	char b64[BASE64_ENCODE_RAW_LENGTH(DER_ED25519_PRIVATE_LEN + 48)];
	size_t at = (size_t)snprintf(out, cap, "-----BEGIN %s-----\n", label);
	if (BASE64_ENCODE_RAW_LENGTH(n) > sizeof(b64))
		return 0;
	base64_encode_raw(b64, n, der);
	for (size_t i = 0; i < BASE64_ENCODE_RAW_LENGTH(n) && at < cap; i += 64) {
		size_t l = BASE64_ENCODE_RAW_LENGTH(n) - i < 64 ? BASE64_ENCODE_RAW_LENGTH(n) - i : 64;
		at += (size_t)snprintf(out + at, cap - at, "%.*s\n", (int)l, b64 + i);
	}
	if (at < cap)
		at += (size_t)snprintf(out + at, cap - at, "-----END %s-----\n", label);
	return at < cap ? at : 0;
}
