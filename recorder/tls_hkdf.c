// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_hkdf.c - TLS 1.3 HKDF-Expand-Label over libcrypto's SHA-256 and SHA-384 (tls_hkdf.h).
 *
 * RFC 8446 7.1: HkdfLabel = uint16 length || opaque label<7..255> ("tls13 " + Label) ||
 * opaque context<0..255>; HKDF-Expand (RFC 5869) with L <= HashLen is a single block:
 * T(1) = HMAC-Hash(PRK = secret, info = HkdfLabel || 0x01), truncated to L.
 *
 * HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)) (RFC 2104; K, the secret, is HashLen
 * bytes, shorter than the hash's block, so it is used as is). The hash states after the two
 * padded key blocks are made once and copied for each label, so several labels under one key
 * (a handshake's "c hs traffic" and "s hs traffic") hash the key blocks once: with SHA-384 and
 * a 48-byte context, 2 + 2 per label compressions, against 4 per label when each HMAC starts
 * from the key. No allocation; the states are wiped afterwards.
 *
 * The hash is libcrypto's, through its SHA256_* and SHA384_* functions: OpenSSL 3.0 marks
 * them deprecated in favour of EVP, whose context copies allocate (a provider's dupctx) and
 * cost what the faster compression saves (issue 17's notes), but they are still part of its
 * API. Its SHA-512 compression (AVX2) takes about 2/3 of Nettle's time here: a handshake's
 * pair of labels (six compressions) 1.21 us against Nettle's HMAC's 1.73 us. This runs for
 * every recorded TLS 1.3 session, on the thread that drains the rings.
 *
 * tls13_material_secrets() makes a TLS 1.3 session's key log records from what the probe
 * read (struct tls13_material), when a recorded session claims them.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init and SHA384_Init: see above */

#include <errno.h>
#include <string.h>

#include <openssl/sha.h>

#include "tls_hkdf.h"

#define LABEL_PREFIX "tls13 "
#define INFO_MAX (2 + 1 + 255 + 1 + 255 + 1)

/* HkdfLabel || 0x01 into info; its length, or 0 when a length does not fit. */
static size_t hkdf_info(uint8_t info[INFO_MAX], size_t out_len, const char *label,
			const uint8_t *context, size_t context_len)
{
	size_t label_len = strlen(label), n = 0;

	if (context_len > 255 || sizeof(LABEL_PREFIX) - 1 + label_len > 255)
		return 0;
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
	return n;
}

/* A hash state of either hash. */
union hash_state {
	SHA256_CTX sha256;
	SHA512_CTX sha384;
};

static void hash_init(size_t hash_len, union hash_state *h)
{
	if (hash_len == 32)
		SHA256_Init(&h->sha256);
	else
		SHA384_Init(&h->sha384);
}

static void hash_update(size_t hash_len, union hash_state *h, const uint8_t *p, size_t len)
{
	if (hash_len == 32)
		SHA256_Update(&h->sha256, p, len);
	else
		SHA384_Update(&h->sha384, p, len);
}

static void hash_final(size_t hash_len, union hash_state *h, uint8_t *out)
{
	if (hash_len == 32)
		SHA256_Final(out, &h->sha256);
	else
		SHA384_Final(out, &h->sha384);
}

/* The HMAC states after key ^ ipad and key ^ opad (key: hash_len bytes). */
static void hmac_key(size_t hash_len, const uint8_t *key, union hash_state *inner,
		     union hash_state *outer)
{
	size_t block_len = hash_len == 32 ? SHA256_CBLOCK : SHA512_CBLOCK;
	uint8_t pad[SHA512_CBLOCK];

	memset(pad, 0x36, block_len);
	for (size_t i = 0; i < hash_len; i++)
		pad[i] ^= key[i];
	hash_init(hash_len, inner);
	hash_update(hash_len, inner, pad, block_len);
	memset(pad, 0x5c, block_len);
	for (size_t i = 0; i < hash_len; i++)
		pad[i] ^= key[i];
	hash_init(hash_len, outer);
	hash_update(hash_len, outer, pad, block_len);
	explicit_bzero(pad, sizeof(pad));
}

int tls_hkdf_expand_labels(size_t hash_len, const uint8_t *secret, const char *const labels[],
			   size_t n_labels, const uint8_t *context, size_t context_len, uint8_t *out,
			   size_t out_len)
{
	union hash_state inner, outer, h;
	uint8_t info[INFO_MAX], block[SHA512_DIGEST_LENGTH];
	size_t i, len;
	int rc = 0;

	if ((hash_len != 32 && hash_len != 48) || out_len == 0 || out_len > hash_len ||
	    context_len > 255)
		return -EINVAL;
	for (i = 0; i < n_labels; i++)
		if (sizeof(LABEL_PREFIX) - 1 + strlen(labels[i]) > 255)
			return -EINVAL;
	hmac_key(hash_len, secret, &inner, &outer);
	for (i = 0; i < n_labels; i++) {
		len = hkdf_info(info, out_len, labels[i], context, context_len);
		if (!len) {
			rc = -EINVAL;
			break;
		}
		h = inner;
		hash_update(hash_len, &h, info, len);
		hash_final(hash_len, &h, block);
		h = outer;
		hash_update(hash_len, &h, block, hash_len);
		hash_final(hash_len, &h, block);
		memcpy(out + i * out_len, block, out_len);
	}
	explicit_bzero(&inner, sizeof(inner));
	explicit_bzero(&outer, sizeof(outer));
	explicit_bzero(&h, sizeof(h));
	explicit_bzero(block, sizeof(block));
	return rc;
}

int tls_hkdf_expand_label(size_t hash_len, const uint8_t *secret, const char *label,
			  const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
	return tls_hkdf_expand_labels(hash_len, secret, &label, 1, context, context_len, out,
				      out_len);
}

unsigned tls13_material_count(const struct tls13_material *m)
{
	return (unsigned)__builtin_popcount(m->has & 0x1fu);
}

/* out = the key log record label/client_random/secret. */
static void record(struct tls_secret *out, const char *label, const uint8_t *cr,
		   const uint8_t *secret, size_t len)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->label, label, strlen(label));
	memcpy(out->client_random, cr, 32);
	memcpy(out->secret, secret, len);
	out->secret_len = (uint8_t)len;
}

int tls13_material_secrets(const struct tls13_material *m, struct tls_secret out[TLS13_SECRETS],
			   bool *derived)
{
	static const char *const hs_labels[2] = { "c hs traffic", "s hs traffic" };
	static const char *const names[TLS13_SECRETS] = {
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
		"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET",
	};
	uint8_t both[2 * SHA512_DIGEST_LENGTH];
	const char *want[2];
	unsigned which[2], nd = 0, n = 0, i;
	size_t hl = m->hash_len;
	int rc = 0;

	*derived = false;
	if (hl != 32 && hl != 48)
		return -EINVAL;
	for (i = 0; i < 2; i++)
		if (m->has & (1u << i)) {
			which[nd] = i;
			want[nd++] = hs_labels[i];
		}
	if (nd) {
		rc = tls_hkdf_expand_labels(hl, m->hs_secret, want, nd, m->hs_hash, hl, both, hl);
		if (rc == 0) {
			*derived = true;
			for (i = 0; i < nd; i++)
				record(&out[n++], names[which[i]], m->client_random, both + i * hl,
				       hl);
		}
		explicit_bzero(both, sizeof(both));
	}
	for (i = 0; i < 3; i++)
		if (m->has & (TLS13_CLIENT_APP << i))
			record(&out[n++], names[2 + i], m->client_random, m->app[i], hl);
	return rc < 0 ? rc : (int)n;
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
