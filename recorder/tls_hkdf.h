/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls_hkdf.h - TLS 1.3 HKDF-Expand-Label (RFC 8446 section 7.1), HMAC over libcrypto's hashes.
 *
 * Used to derive the handshake traffic secrets that OpenSSL does not keep:
 * CLIENT_HANDSHAKE_TRAFFIC_SECRET = HKDF-Expand-Label(handshake_secret, "c hs traffic",
 * Transcript-Hash(ClientHello..ServerHello), Hash.length), and "s hs traffic" likewise.
 */
#ifndef ECAP_TLS_HKDF_H
#define ECAP_TLS_HKDF_H

#include <stdbool.h>
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
 * A TLS 1.3 session's secrets as an OpenSSL probe read them, before anything is derived: the
 * handshake secret and transcript hash (hash_len bytes each; bytes beyond are zero) from which
 * the handshake traffic secrets follow, and the application traffic and exporter secrets as
 * they are. Kept instead of the key log records until a recorded session claims them
 * (secret_hold.h): one 275-byte item per session, and no HKDF for the sessions nobody records.
 */
#define TLS13_CLIENT_HS 0x01u   /* derive CLIENT_HANDSHAKE_TRAFFIC_SECRET */
#define TLS13_SERVER_HS 0x02u   /* derive SERVER_HANDSHAKE_TRAFFIC_SECRET */
#define TLS13_CLIENT_APP 0x04u  /* app[0]: CLIENT_TRAFFIC_SECRET_0 */
#define TLS13_SERVER_APP 0x08u  /* app[1]: SERVER_TRAFFIC_SECRET_0 */
#define TLS13_EXPORTER 0x10u    /* app[2]: EXPORTER_SECRET */
#define TLS13_SECRETS 5
struct tls13_material {
	uint8_t client_random[32];
	uint8_t hash_len;       /* 32 or 48 */
	uint8_t has;            /* TLS13_* bits */
	uint8_t hs_secret[48];
	uint8_t hs_hash[48];
	uint8_t app[3][48];
};

/* How many key log records m makes (0-5). */
unsigned tls13_material_count(const struct tls13_material *m);

/*
 * m's key log records, in the order of the TLS13_* bits, into out[0..n), the handshake
 * traffic secrets derived now (both under one HMAC key); n, or -EINVAL when hash_len is not a
 * TLS 1.3 hash's. *derived: whether HKDF ran. The caller wipes out.
 */
int tls13_material_secrets(const struct tls13_material *m, struct tls_secret out[TLS13_SECRETS],
			   bool *derived);

/* The hash length of a TLS 1.3 suite (OpenSSL id 0x0300XXXX or IANA 0x13XX); 0: not one. */
size_t tls_hkdf_suite_hash_len(uint32_t cipher_id);

#endif
