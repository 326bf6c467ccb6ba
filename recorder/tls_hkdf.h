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

/* The hash length of a TLS 1.3 suite (OpenSSL id 0x0300XXXX or IANA 0x13XX); 0: not one. */
size_t tls_hkdf_suite_hash_len(uint32_t cipher_id);

#endif
