/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls_hkdf.h - TLS 1.3 HKDF-Expand-Label (RFC 8446 section 7.1) over Nettle's HMAC.
 *
 * Used to derive the handshake traffic secrets that OpenSSL does not keep:
 * CLIENT_HANDSHAKE_TRAFFIC_SECRET = HKDF-Expand-Label(handshake_secret, "c hs traffic",
 * Transcript-Hash(ClientHello..ServerHello), Hash.length), and "s hs traffic" likewise.
 */
#ifndef ECAP_TLS_HKDF_H
#define ECAP_TLS_HKDF_H

#include <stddef.h>
#include <stdint.h>

#include "../schema/records.h"

/*
 * out = HKDF-Expand-Label(secret, label, context, out_len) with the hash whose output length
 * is hash_len (32: SHA-256, 48: SHA-384); secret is hash_len bytes, label without the "tls13 "
 * prefix, out_len <= hash_len. Returns 0, or -EINVAL for bad lengths.
 */
int tls_hkdf_expand_label(size_t hash_len, const uint8_t *secret, const char *label,
			  const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len);

/*
 * The same for n_labels labels under one secret and context (a handshake's "c hs traffic" and
 * "s hs traffic"), into out[i * out_len ...]: the key's HMAC state is made once for all.
 */
int tls_hkdf_expand_labels(size_t hash_len, const uint8_t *secret, const char *const labels[],
			   size_t n_labels, const uint8_t *context, size_t context_len, uint8_t *out,
			   size_t out_len);

/*
 * What a TLS 1.3 handshake's traffic secrets are derived from, as a probe read it: the
 * handshake secret and the transcript hash, hash_len bytes each (bytes beyond are zero), and
 * which of the two secrets to derive. Kept instead of the secrets until a recorded session
 * claims them (secret_hold.h): 130 bytes, and no HKDF for the sessions nobody records.
 */
#define TLS_HS_CLIENT 1u /* CLIENT_HANDSHAKE_TRAFFIC_SECRET */
#define TLS_HS_SERVER 2u /* SERVER_HANDSHAKE_TRAFFIC_SECRET */
struct tls_hs_material {
	uint8_t client_random[32];
	uint8_t hash_len;       /* 32 or 48 */
	uint8_t derive;         /* TLS_HS_CLIENT | TLS_HS_SERVER */
	uint8_t hs_secret[48];
	uint8_t hs_hash[48];
};

/* How many secrets m derives (0-2). */
unsigned tls_hkdf_handshake_count(const struct tls_hs_material *m);

/*
 * The secrets m says, CLIENT_ before SERVER_HANDSHAKE_TRAFFIC_SECRET, into out[0..n) as key
 * log records; n, or -EINVAL when m's lengths are not a TLS 1.3 hash's. The caller wipes out.
 */
int tls_hkdf_handshake(const struct tls_hs_material *m, struct tls_secret out[2]);

/* The hash length of a TLS 1.3 suite (OpenSSL id 0x0300XXXX or IANA 0x13XX); 0: not one. */
size_t tls_hkdf_suite_hash_len(uint32_t cipher_id);

#endif
