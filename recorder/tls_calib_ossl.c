// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_calib_ossl.c - drives one target OpenSSL build for calibration (tls_calib_ossl.h).
 *
 * The target libssl and the libcrypto beside it are dlmopen'ed into a fresh link-map namespace,
 * from descriptors the sandboxed child was given (/proc/self/fd/N),
 * so that a build other than the one this program links (same soname, other path) is the one
 * that runs. Before the target allocates anything, CRYPTO_set_mem_functions() installs an
 * allocator that records the address and size of every live block: the search then knows how
 * big the SSL object is and which of its pointer fields lead to other heap objects.
 *
 * The handshake: a throwaway P-256 key and self-signed certificate made in memory, a server
 * and a client SSL joined by a BIO pair, a keylog callback and a message callback (for the
 * ClientHello and ServerHello bytes) on both. Calibration runs in a sandboxed child process
 * (tls_calibrate.c, sandbox.h), single-threaded, so the callbacks reach their handshake through a static.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls_calib_ossl.h"
#include "../schema/hex.h"

#define ALLOC_SLOTS (1u << 17)

struct alloc_slot {
	uintptr_t p;     /* 0 empty, 1 deleted */
	size_t size;
};

struct ossl_lib {
	void *hcrypto, *hssl;
	/* libcrypto */
	int (*set_mem_functions)(void *(*)(size_t, const char *, int),
				 void *(*)(void *, size_t, const char *, int),
				 void (*)(void *, const char *, int));
	const char *(*openssl_version)(int);
	EVP_PKEY_CTX *(*pkey_ctx_new_id)(int, ENGINE *);
	int (*pkey_keygen_init)(EVP_PKEY_CTX *);
	int (*pkey_ctx_ctrl)(EVP_PKEY_CTX *, int, int, int, int, void *);
	int (*pkey_keygen)(EVP_PKEY_CTX *, EVP_PKEY **);
	void (*pkey_ctx_free)(EVP_PKEY_CTX *);
	void (*pkey_free)(EVP_PKEY *);
	const EVP_MD *(*sha256)(void);
	X509 *(*x509_new)(void);
	void (*x509_free)(X509 *);
	int (*x509_set_version)(X509 *, long);
	ASN1_INTEGER *(*x509_get_serial)(X509 *);
	int (*asn1_integer_set)(ASN1_INTEGER *, long);
	ASN1_TIME *(*x509_getm_not_before)(const X509 *);
	ASN1_TIME *(*x509_getm_not_after)(const X509 *);
	ASN1_TIME *(*x509_gmtime_adj)(ASN1_TIME *, long);
	int (*x509_set_pubkey)(X509 *, EVP_PKEY *);
	X509_NAME *(*x509_get_subject_name)(const X509 *);
	int (*x509_name_add_txt)(X509_NAME *, const char *, int, const unsigned char *, int, int,
				 int);
	int (*x509_set_issuer_name)(X509 *, const X509_NAME *);
	int (*x509_sign)(X509 *, EVP_PKEY *, const EVP_MD *);
	int (*bio_new_bio_pair)(BIO **, size_t, BIO **, size_t);
	/* libssl */
	const SSL_METHOD *(*tls_method)(void);
	SSL_CTX *(*ctx_new)(const SSL_METHOD *);
	void (*ctx_free)(SSL_CTX *);
	int (*ctx_use_cert)(SSL_CTX *, X509 *);
	int (*ctx_use_key)(SSL_CTX *, EVP_PKEY *);
	long (*ctx_ctrl)(SSL_CTX *, int, long, void *);
	int (*ctx_set_ciphersuites)(SSL_CTX *, const char *);
	void (*ctx_set_keylog_cb)(SSL_CTX *, void (*)(const SSL *, const char *));
	void (*ctx_set_msg_cb)(SSL_CTX *, void (*)(int, int, int, const void *, size_t, SSL *,
						   void *));
	SSL *(*ssl_new)(SSL_CTX *);
	void (*ssl_free)(SSL *);
	void (*ssl_set_bio)(SSL *, BIO *, BIO *);
	void (*ssl_set_connect_state)(SSL *);
	void (*ssl_set_accept_state)(SSL *);
	int (*ssl_do_handshake)(SSL *);
	int (*ssl_get_error)(const SSL *, int);
	int (*ssl_read)(SSL *, void *, int);
	int (*ssl_write)(SSL *, const void *, int);
	size_t (*ssl_get_client_random)(const SSL *, unsigned char *, size_t);
	SSL_SESSION *(*ssl_get_session)(const SSL *);
	size_t (*session_get_master_key)(const SSL_SESSION *, unsigned char *, size_t);
	const SSL_CIPHER *(*ssl_get_current_cipher)(const SSL *);
	uint32_t (*cipher_get_id)(const SSL_CIPHER *);
	int (*ssl_version)(const SSL *);

	void (*midpoint)(void *arg, const struct ossl_hs *hs);
	void *midpoint_arg;
	EVP_PKEY *key;
	X509 *cert;
	SSL_CTX *server_ctx;
	struct alloc_slot *slots;
	size_t live, overflow;
};

/* The calibration child is single-threaded: the allocator and callbacks find their state here. */
static struct ossl_lib *cur_lib;
static struct ossl_hs *cur_hs;

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- the tracking allocator ---- */

static size_t slot_hash(uintptr_t p)
{
	return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> 47) & (ALLOC_SLOTS - 1);
}

static void alloc_add(uintptr_t p, size_t size)
{
	struct ossl_lib *l = cur_lib;
	size_t i, n;

	if (!l || !p)
		return;
	if (l->live >= ALLOC_SLOTS / 2) {
		l->overflow++;
		return;
	}
	for (i = slot_hash(p), n = 0; n < ALLOC_SLOTS; i = (i + 1) & (ALLOC_SLOTS - 1), n++) {
		if (l->slots[i].p <= 1) {
			l->slots[i].p = p;
			l->slots[i].size = size;
			l->live++;
			return;
		}
	}
}

static struct alloc_slot *alloc_find(const struct ossl_lib *l, uintptr_t p)
{
	size_t i, n;

	if (!l || p <= 1)
		return NULL;
	for (i = slot_hash(p), n = 0; n < ALLOC_SLOTS; i = (i + 1) & (ALLOC_SLOTS - 1), n++) {
		if (l->slots[i].p == p)
			return &l->slots[i];
		if (l->slots[i].p == 0)
			return NULL;
	}
	return NULL;
}

static void alloc_del(uintptr_t p)
{
	struct alloc_slot *s = alloc_find(cur_lib, p);

	if (s) {
		s->p = 1;
		cur_lib->live--;
	}
}

size_t ossl_alloc_size(const struct ossl_lib *l, uintptr_t p)
{
	struct alloc_slot *s = alloc_find(l, p);

	return s ? s->size : 0;
}

static void *track_malloc(size_t n, const char *file, int line)
{
	void *p = malloc(n ? n : 1);

	alloc_add((uintptr_t)p, n);
	return p;
}

static void *track_realloc(void *old, size_t n, const char *file, int line)
{
	uintptr_t was = (uintptr_t)old;
	void *p;

	if (!old)
		return track_malloc(n, file, line);
	if (n == 0) {
		alloc_del(was);
		free(old);
		return NULL;
	}
	p = realloc(old, n);
	if (!p)
		return NULL;
	alloc_del(was);
	alloc_add((uintptr_t)p, n);
	return p;
}

static void track_free(void *p, const char *file, int line)
{
	if (!p)
		return;
	alloc_del((uintptr_t)p);
	free(p);
}

/* ---- loading ---- */

#define SYM(h, field, name)                                                                    \
	do {                                                                                   \
		*(void **)&l->field = dlsym(h, name);                                          \
		if (!l->field) {                                                               \
			seterr(err, errlen, "%s: no symbol %s", path, name);                   \
			return -ENOEXEC;                                                       \
		}                                                                              \
	} while (0)

static int load_symbols(struct ossl_lib *l, const char *path, char *err, size_t errlen)
{
	void *c = l->hcrypto ? l->hcrypto : l->hssl, *s = l->hssl;

	SYM(c, set_mem_functions, "CRYPTO_set_mem_functions");
	SYM(c, openssl_version, "OpenSSL_version");
	SYM(c, pkey_ctx_new_id, "EVP_PKEY_CTX_new_id");
	SYM(c, pkey_keygen_init, "EVP_PKEY_keygen_init");
	SYM(c, pkey_ctx_ctrl, "EVP_PKEY_CTX_ctrl");
	SYM(c, pkey_keygen, "EVP_PKEY_keygen");
	SYM(c, pkey_ctx_free, "EVP_PKEY_CTX_free");
	SYM(c, pkey_free, "EVP_PKEY_free");
	SYM(c, sha256, "EVP_sha256");
	SYM(c, x509_new, "X509_new");
	SYM(c, x509_free, "X509_free");
	SYM(c, x509_set_version, "X509_set_version");
	SYM(c, x509_get_serial, "X509_get_serialNumber");
	SYM(c, asn1_integer_set, "ASN1_INTEGER_set");
	SYM(c, x509_getm_not_before, "X509_getm_notBefore");
	SYM(c, x509_getm_not_after, "X509_getm_notAfter");
	SYM(c, x509_gmtime_adj, "X509_gmtime_adj");
	SYM(c, x509_set_pubkey, "X509_set_pubkey");
	SYM(c, x509_get_subject_name, "X509_get_subject_name");
	SYM(c, x509_name_add_txt, "X509_NAME_add_entry_by_txt");
	SYM(c, x509_set_issuer_name, "X509_set_issuer_name");
	SYM(c, x509_sign, "X509_sign");
	SYM(c, bio_new_bio_pair, "BIO_new_bio_pair");
	SYM(s, tls_method, "TLS_method");
	SYM(s, ctx_new, "SSL_CTX_new");
	SYM(s, ctx_free, "SSL_CTX_free");
	SYM(s, ctx_use_cert, "SSL_CTX_use_certificate");
	SYM(s, ctx_use_key, "SSL_CTX_use_PrivateKey");
	SYM(s, ctx_ctrl, "SSL_CTX_ctrl");
	SYM(s, ctx_set_ciphersuites, "SSL_CTX_set_ciphersuites");
	SYM(s, ctx_set_keylog_cb, "SSL_CTX_set_keylog_callback");
	SYM(s, ctx_set_msg_cb, "SSL_CTX_set_msg_callback");
	SYM(s, ssl_new, "SSL_new");
	SYM(s, ssl_free, "SSL_free");
	SYM(s, ssl_set_bio, "SSL_set_bio");
	SYM(s, ssl_set_connect_state, "SSL_set_connect_state");
	SYM(s, ssl_set_accept_state, "SSL_set_accept_state");
	SYM(s, ssl_do_handshake, "SSL_do_handshake");
	SYM(s, ssl_get_error, "SSL_get_error");
	SYM(s, ssl_read, "SSL_read");
	SYM(s, ssl_write, "SSL_write");
	SYM(s, ssl_get_client_random, "SSL_get_client_random");
	SYM(s, ssl_get_session, "SSL_get_session");
	SYM(s, session_get_master_key, "SSL_SESSION_get_master_key");
	SYM(s, ssl_get_current_cipher, "SSL_get_current_cipher");
	SYM(s, cipher_get_id, "SSL_CIPHER_get_id");
	SYM(s, ssl_version, "SSL_version");
	return 0;
}

static int make_identity(struct ossl_lib *l, char *err, size_t errlen)
{
	EVP_PKEY_CTX *kc = l->pkey_ctx_new_id(EVP_PKEY_EC, NULL);
	X509_NAME *name;

	if (!kc || l->pkey_keygen_init(kc) <= 0 ||
	    l->pkey_ctx_ctrl(kc, EVP_PKEY_EC, EVP_PKEY_OP_PARAMGEN | EVP_PKEY_OP_KEYGEN,
			     EVP_PKEY_CTRL_EC_PARAMGEN_CURVE_NID, NID_X9_62_prime256v1,
			     NULL) <= 0 ||
	    l->pkey_keygen(kc, &l->key) <= 0) {
		if (kc)
			l->pkey_ctx_free(kc);
		seterr(err, errlen, "cannot generate a P-256 key");
		return -EIO;
	}
	l->pkey_ctx_free(kc);
	l->cert = l->x509_new();
	if (!l->cert)
		goto fail;
	name = l->x509_get_subject_name(l->cert);
	if (l->x509_set_version(l->cert, 2) <= 0 ||
	    l->asn1_integer_set(l->x509_get_serial(l->cert), 1) <= 0 ||
	    !l->x509_gmtime_adj(l->x509_getm_not_before(l->cert), -3600) ||
	    !l->x509_gmtime_adj(l->x509_getm_not_after(l->cert), 3600) ||
	    l->x509_set_pubkey(l->cert, l->key) <= 0 ||
	    l->x509_name_add_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"ecap-calibrate",
				 -1, -1, 0) <= 0 ||
	    l->x509_set_issuer_name(l->cert, name) <= 0 ||
	    l->x509_sign(l->cert, l->key, l->sha256()) <= 0)
		goto fail;
	return 0;
fail:
	seterr(err, errlen, "cannot make a self-signed certificate");
	return -EIO;
}

/*
 * Thread-specific data keys live in the thread descriptor, which the namespace's own libc
 * shares with ours, but each libc hands out key numbers from its own table: the target's
 * libcrypto would get the keys our libcrypto already uses and read our values as its own.
 * So the namespace's libc first burns every key number ours has handed out, plus room for
 * a few more.
 */
static void reserve_keys(void *h)
{
	int (*ns_create)(pthread_key_t *, void (*)(void *));
	pthread_key_t ours, theirs;
	unsigned n = 0;

	*(void **)&ns_create = dlsym(h, "pthread_key_create");
	if (!ns_create || (void *)ns_create == (void *)pthread_key_create ||
	    pthread_key_create(&ours, NULL) != 0)
		return;
	pthread_key_delete(ours);
	do {
		if (ns_create(&theirs, NULL) != 0)
			return;
	} while (theirs < ours + 32 && ++n < 1024);
}

int ossl_lib_open(const char *path, const char *crypto_path, struct ossl_lib **out, char *err,
		  size_t errlen)
{
	struct ossl_lib *l;
	Lmid_t lmid = LM_ID_NEWLM;
	int rc;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->slots = calloc(ALLOC_SLOTS, sizeof(*l->slots));
	if (!l->slots) {
		free(l);
		return -ENOMEM;
	}
	/* libcrypto first: libssl's DT_NEEDED then finds it in the namespace by its soname. */
	if (crypto_path) {
		l->hcrypto = dlmopen(LM_ID_NEWLM, crypto_path, RTLD_NOW | RTLD_LOCAL);
		if (l->hcrypto && dlinfo(l->hcrypto, RTLD_DI_LMID, &lmid) != 0)
			lmid = LM_ID_NEWLM;
	}
	l->hssl = dlmopen(lmid, path, RTLD_NOW | RTLD_LOCAL);
	if (!l->hssl) {
		seterr(err, errlen, "%s: cannot load: %s", path, dlerror());
		rc = -ENOEXEC;
		goto fail;
	}
	reserve_keys(l->hcrypto ? l->hcrypto : l->hssl);
	rc = load_symbols(l, path, err, errlen);
	if (rc < 0)
		goto fail;
	cur_lib = l;
	if (!l->set_mem_functions(track_malloc, track_realloc, track_free)) {
		seterr(err, errlen, "%s: its libcrypto allocated before calibration could track it",
		       path);
		rc = -ENOEXEC;
		goto fail;
	}
	rc = make_identity(l, err, errlen);
	if (rc < 0)
		goto fail;
	l->server_ctx = l->ctx_new(l->tls_method());
	if (!l->server_ctx || l->ctx_use_cert(l->server_ctx, l->cert) <= 0 ||
	    l->ctx_use_key(l->server_ctx, l->key) <= 0) {
		seterr(err, errlen, "%s: cannot set up a server context", path);
		rc = -EIO;
		goto fail;
	}
	*out = l;
	return 0;
fail:
	/* The namespaces are not unloaded: the child that runs this exits soon after. */
	free(l->slots);
	free(l);
	cur_lib = NULL;
	return rc;
}

const char *ossl_lib_version(const struct ossl_lib *l)
{
	return l->openssl_version(OPENSSL_VERSION);
}

/* ---- callbacks ---- */

/* Parses "<hex>" of exactly n bytes ending at a space or NUL; returns the end or NULL. */
static const char *parse_hex(const char *s, uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = hex_digit_value(s[2 * i]), lo = hi < 0 ? -1 : hex_digit_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return NULL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	s += 2 * n;
	return (*s == ' ' || *s == '\0') ? s : NULL;
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	static const struct {
		const char *label;
		unsigned bit;
		size_t field;
	} labels[] = {
		{ "CLIENT_RANDOM ", 1, offsetof(struct ossl_hs, keylog_master) },
		{ "CLIENT_HANDSHAKE_TRAFFIC_SECRET ", 2, offsetof(struct ossl_hs, chts) },
		{ "SERVER_HANDSHAKE_TRAFFIC_SECRET ", 4, offsetof(struct ossl_hs, shts) },
		{ "CLIENT_TRAFFIC_SECRET_0 ", 8, offsetof(struct ossl_hs, cats) },
		{ "SERVER_TRAFFIC_SECRET_0 ", 16, offsetof(struct ossl_hs, sats) },
		{ "EXPORTER_SECRET ", 32, offsetof(struct ossl_hs, exporter) },
	};
	struct ossl_hs *hs = cur_hs;
	uint8_t random[32];
	size_t i, len, n;
	const char *p;

	if (!hs || ssl != hs->client)
		return;
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		len = strlen(labels[i].label);
		if (strncmp(line, labels[i].label, len) != 0)
			continue;
		p = parse_hex(line + len, random, 32);
		if (!p || *p != ' ')
			return;
		n = strlen(p + 1) / 2;
		if (n != 32 && n != 48)
			return;
		if (!parse_hex(p + 1, (uint8_t *)hs + labels[i].field, n))
			return;
		if (labels[i].bit != 1)
			hs->hash_len = n;
		hs->has_keylog |= labels[i].bit;
		return;
	}
}

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
		   SSL *ssl, void *arg)
{
	struct ossl_hs *hs = cur_hs;
	const uint8_t *b = buf;

	if (!hs || ssl != hs->client || content_type != SSL3_RT_HANDSHAKE || len < 4)
		return;
	if (!((write_p && b[0] == 1) || (!write_p && b[0] == 2)))
		return;
	hs->hellos++;
	if (hs->transcript_len + len > sizeof(hs->transcript))
		return;
	memcpy(hs->transcript + hs->transcript_len, buf, len);
	hs->transcript_len += len;
}

/* ---- handshakes ---- */

/* Steps one side; 1 done, 0 wants more, <0 failed. */
static int step(struct ossl_lib *l, SSL *s)
{
	int r = l->ssl_do_handshake(s), e;

	if (r == 1)
		return 1;
	e = l->ssl_get_error(s, r);
	return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? 0 : -EPROTO;
}

int ossl_hs_run(struct ossl_lib *l, const char *tls13_suite, struct ossl_hs *hs, char *err,
		size_t errlen)
{
	SSL_CTX *cctx = NULL;
	BIO *bc = NULL, *bs = NULL;
	int i, cdone = 0, sdone = 0, rc = -EIO;
	SSL_SESSION *sess;

	memset(hs, 0, sizeof(*hs));
	cur_hs = hs;
	cctx = l->ctx_new(l->tls_method());
	if (!cctx)
		goto out;
	l->ctx_set_keylog_cb(cctx, keylog_cb);
	l->ctx_set_msg_cb(cctx, msg_cb);
	if (tls13_suite) {
		if (l->ctx_ctrl(cctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_3_VERSION, NULL) <= 0 ||
		    l->ctx_set_ciphersuites(cctx, tls13_suite) <= 0) {
			seterr(err, errlen, "TLS 1.3 with %s is not available", tls13_suite);
			goto out;
		}
	} else if (l->ctx_ctrl(cctx, SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_2_VERSION, NULL) <= 0) {
		seterr(err, errlen, "TLS 1.2 is not available");
		goto out;
	}
	hs->client = l->ssl_new(cctx);
	hs->server = l->ssl_new(l->server_ctx);
	if (!hs->client || !hs->server || !l->bio_new_bio_pair(&bc, 0, &bs, 0))
		goto out;
	l->ssl_set_bio(hs->client, bc, bc);
	l->ssl_set_bio(hs->server, bs, bs);
	l->ssl_set_connect_state(hs->client);
	l->ssl_set_accept_state(hs->server);
	for (i = 0; i < 64 && !(cdone && sdone); i++) {
		if (!cdone && (cdone = step(l, hs->client)) < 0)
			break;
		if (!sdone && (sdone = step(l, hs->server)) < 0)
			break;
		if (i == 0 && !cdone && !sdone && l->midpoint)
			l->midpoint(l->midpoint_arg, hs);
	}
	if (cdone != 1 || sdone != 1) {
		seterr(err, errlen, "in-memory %s handshake failed", tls13_suite ? tls13_suite :
			"TLS 1.2");
		goto out;
	}
	hs->version = l->ssl_version(hs->client);
	hs->cipher = l->ssl_get_current_cipher(hs->client);
	hs->cipher_id = hs->cipher ? l->cipher_get_id(hs->cipher) : 0;
	if (l->ssl_get_client_random(hs->client, hs->client_random, 32) != 32)
		goto out;
	sess = l->ssl_get_session(hs->client);
	if (sess && hs->version <= TLS1_2_VERSION &&
	    l->session_get_master_key(sess, hs->master_key, 48) != 48) {
		seterr(err, errlen, "TLS 1.2 master key is not 48 bytes");
		goto out;
	}
	rc = 0;
out:
	/* The SSL_CTX is reference-counted by its SSL objects. */
	if (cctx)
		l->ctx_free(cctx);
	return rc;
}

void ossl_hs_set_midpoint(struct ossl_lib *l, void (*fn)(void *arg, const struct ossl_hs *hs),
			  void *arg)
{
	l->midpoint = fn;
	l->midpoint_arg = arg;
}

int ossl_hs_exchange_data(struct ossl_lib *l, struct ossl_hs *hs, char *err, size_t errlen)
{
	char buf[64];

	if (l->ssl_write(hs->client, "ping", 4) != 4 || l->ssl_read(hs->server, buf, 64) != 4 ||
	    l->ssl_write(hs->server, "pong", 4) != 4 || l->ssl_read(hs->client, buf, 64) != 4) {
		seterr(err, errlen, "application data exchange failed");
		return -EIO;
	}
	return 0;
}

void ossl_hs_free(struct ossl_lib *l, struct ossl_hs *hs)
{
	if (hs->client)
		l->ssl_free(hs->client);
	if (hs->server)
		l->ssl_free(hs->server);
	hs->client = hs->server = NULL;
	if (cur_hs == hs)
		cur_hs = NULL;
}
