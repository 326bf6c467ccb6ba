/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls_calib_ossl.h - the part of one target OpenSSL build that calibration calls: function
 * pointers resolved with dlsym from a libssl (and its libcrypto) loaded into their own link-map
 * namespace, and an in-memory client/server handshake driven through them.
 *
 * Only functions that exist with the same signature in OpenSSL 1.1.1 and 3.x are used; the
 * types are opaque (void *) because the target's headers are not ours.
 */
#ifndef ECAP_TLS_CALIB_OSSL_H
#define ECAP_TLS_CALIB_OSSL_H

#include <stddef.h>
#include <stdint.h>

#define OSSL_MAX_SECRET 64

struct ossl_lib;

/* What one handshake produced, as the library itself reports it. */
struct ossl_hs {
	void *client, *server;        /* SSL *, alive until ossl_hs_free() */
	int version;                  /* SSL_version() */
	uint32_t cipher_id;           /* SSL_CIPHER_get_id() */
	const void *cipher;           /* SSL_get_current_cipher() on the client */
	size_t hash_len;              /* TLS 1.3: 32 or 48 */
	uint8_t client_random[32];
	uint8_t master_key[48];       /* TLS 1.2 */
	/* From the keylog callback (TLS 1.3), hash_len bytes each; has_* says which came. */
	uint8_t chts[OSSL_MAX_SECRET], shts[OSSL_MAX_SECRET];
	uint8_t cats[OSSL_MAX_SECRET], sats[OSSL_MAX_SECRET], exporter[OSSL_MAX_SECRET];
	unsigned has_keylog;          /* bit per label: 1 CLIENT_RANDOM, 2 chts, 4 shts, 8 cats,
				       * 16 sats, 32 exporter */
	uint8_t keylog_master[48];    /* CLIENT_RANDOM line's secret */
	/* ClientHello || ServerHello as seen by the client's message callback. */
	uint8_t transcript[4096];
	size_t transcript_len;
	unsigned hellos;              /* ClientHellos and ServerHellos seen (2 without HRR) */
};

/*
 * Loads the library into a new namespace (libcrypto_path, when not NULL, first: the libcrypto
 * it needs) and installs a tracking allocator into its libcrypto (before anything else
 * allocates). Runs foreign code: only ever called in the sandbox (sandbox.h). Returns 0 or -errno with a reason in err.
 */
int ossl_lib_open(const char *libssl_path, const char *libcrypto_path, struct ossl_lib **out,
		  char *err, size_t errlen);

/* OpenSSL_version(OPENSSL_VERSION) of the loaded build. */
const char *ossl_lib_version(const struct ossl_lib *l);

/*
 * Runs one handshake over a BIO pair. tls13_suite NULL: TLS 1.2 (max version); else TLS 1.3
 * with only that suite offered. Returns 0 or -errno with a reason in err. The SSL objects stay
 * alive for searching; exchange_data() then moves application data both ways (which makes the
 * TLS 1.3 client process the server's session tickets).
 */
int ossl_hs_run(struct ossl_lib *l, const char *tls13_suite, struct ossl_hs *hs, char *err,
		size_t errlen);

/*
 * When set, called once in the middle of each handshake: both sides have taken a step and
 * neither is done (hs->client/server exist, nothing else is filled yet).
 */
void ossl_hs_set_midpoint(struct ossl_lib *l, void (*fn)(void *arg, const struct ossl_hs *hs),
			  void *arg);
int ossl_hs_exchange_data(struct ossl_lib *l, struct ossl_hs *hs, char *err, size_t errlen);
void ossl_hs_free(struct ossl_lib *l, struct ossl_hs *hs);

/* The size of the live heap block that starts at p (allocated by the target's libcrypto), 0. */
size_t ossl_alloc_size(const struct ossl_lib *l, uintptr_t p);

#endif
