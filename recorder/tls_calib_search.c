// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_calib_search.c - finds where a libssl build keeps each secret (tls_calibrate.h), by
 * searching the SSL objects of real in-memory handshakes for values the library reported.
 *
 * Search: the first handshake where a field applies proposes every location holding the
 * known value, in the SSL object (any byte offset) and in the heap objects reached through up
 * to two of its pointer fields (the tracking allocator in tls_calib_ossl.c knows which words
 * are pointers to live blocks and how big those are). Every later check point (client and
 * server object, right after the handshake and again after application data moved, TLS 1.2,
 * TLS 1.3 with SHA-256 and with SHA-384) drops the candidates that do not hold that
 * handshake's value. The candidate with the fewest pointer hops, then the lowest offset, wins.
 * Validation: three more handshakes must read right through the chosen locations.
 * The handshake state (in_init) is an int that is 1 in the middle of every handshake (a hook
 * in ossl_hs_run) and 0 after it, on both sides.
 *
 * Values: version and cipher id (through the session's SSL_CIPHER pointer), client random,
 * TLS 1.2 master key (SSL_SESSION_get_master_key), TLS 1.3 keylog secrets, the transcript hash
 * of ClientHello..ServerHello (computed from the message callback's bytes), and the handshake
 * secret: the window w for which HKDF-Expand-Label(w, "c hs traffic", hash) equals the keylog's
 * CLIENT_HANDSHAKE_TRAFFIC_SECRET.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ossl_init.h"
#include "tls_calib_ossl.h"
#include "tls_calibrate.h"
#include "tls_hkdf.h"

#define MAX_CANDS 1024
#define MAX_OBJ 65535    /* offsets are 16-bit */
#define CIPHER_SPAN 64   /* bytes of an SSL_CIPHER searched for its id */
#define TLS13_VERSION 0x0304

struct cands {
	bool started;
	size_t n;
	struct tls_cal_loc c[MAX_CANDS];
};

/* Reads len bytes at addr without faulting (process_vm_readv on ourselves). */
static bool safe_read(uintptr_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* Follows loc's pointers from ssl; returns the address of the field or 0. */
static uintptr_t loc_addr(const struct ossl_lib *l, const void *ssl, const struct tls_cal_loc *loc,
			  size_t len)
{
	uintptr_t base = (uintptr_t)ssl, p;
	size_t size = ossl_alloc_size(l, base);
	unsigned i;

	for (i = 0; i < loc->nderef; i++) {
		if (size && (size_t)loc->ptr[i] + sizeof(p) > size)
			return 0;
		if (!safe_read(base + loc->ptr[i], &p, sizeof(p)) || p < 4096)
			return 0;
		base = p;
		size = ossl_alloc_size(l, base);
	}
	if (size && (size_t)loc->off + len > size)
		return 0;
	return base + loc->off;
}

static bool loc_equals(const struct ossl_lib *l, const void *ssl, const struct tls_cal_loc *loc,
		       const void *val, size_t len)
{
	uint8_t buf[TLS_CAL_READ_LEN];
	uintptr_t a = loc_addr(l, ssl, loc, len);

	return a && len <= sizeof(buf) && safe_read(a, buf, len) && memcmp(buf, val, len) == 0;
}

static void cand_add(struct cands *c, unsigned nderef, uint16_t p0, uint16_t p1, size_t off)
{
	if (c->n >= MAX_CANDS || off > MAX_OBJ)
		return;
	c->c[c->n++] = (struct tls_cal_loc){ .found = true, .nderef = (uint8_t)nderef,
					     .ptr = { p0, p1 }, .off = (uint16_t)off };
}

/* Scans one object for val at offsets that are multiples of align. */
static void scan_obj(const uint8_t *obj, size_t size, const void *val, size_t len, size_t align,
		     struct cands *c, unsigned nderef, uint16_t p0, uint16_t p1)
{
	size_t off;

	if (size > MAX_OBJ || size < len)
		return;
	for (off = 0; off + len <= size; off += align)
		if (memcmp(obj + off, val, len) == 0)
			cand_add(c, nderef, p0, p1, off);
}

/* The pointer-sized words of a heap object that point at live heap blocks. */
static size_t children(const struct ossl_lib *l, const uint8_t *obj, size_t size,
		       uint16_t *offs, size_t max)
{
	size_t off, n = 0, sz;
	uintptr_t p;

	if (size > MAX_OBJ)
		return 0;
	for (off = 0; off + sizeof(p) <= size && n < max; off += sizeof(p)) {
		memcpy(&p, obj + off, sizeof(p));
		sz = ossl_alloc_size(l, p);
		if (sz && p != (uintptr_t)obj)
			offs[n++] = (uint16_t)off;
	}
	return n;
}

/* Proposes every location of val reachable from ssl in at most max_deref hops. */
static void search(const struct ossl_lib *l, const void *ssl, const void *val, size_t len,
		   size_t align, unsigned max_deref, struct cands *c)
{
	const uint8_t *root = ssl, *o1, *o2;
	uint16_t k1[1024], k2[1024];
	size_t n1, n2, i, j, s0 = ossl_alloc_size(l, (uintptr_t)ssl), s1, s2;
	uintptr_t p;

	c->started = true;
	c->n = 0;
	scan_obj(root, s0, val, len, align, c, 0, 0, 0);
	if (max_deref < 1)
		return;
	n1 = children(l, root, s0, k1, 1024);
	for (i = 0; i < n1; i++) {
		memcpy(&p, root + k1[i], sizeof(p));
		o1 = (const uint8_t *)p;
		s1 = ossl_alloc_size(l, p);
		scan_obj(o1, s1, val, len, align, c, 1, k1[i], 0);
		if (max_deref < 2)
			continue;
		n2 = children(l, o1, s1, k2, 1024);
		for (j = 0; j < n2; j++) {
			memcpy(&p, o1 + k2[j], sizeof(p));
			o2 = (const uint8_t *)p;
			s2 = ossl_alloc_size(l, p);
			scan_obj(o2, s2, val, len, align, c, 2, k1[i], k2[j]);
		}
	}
}

/* The cipher id: find the SSL_CIPHER pointer (it is static data, not heap), then the id in it. */
static void search_cipher(const struct ossl_lib *l, const struct ossl_hs *hs, struct cands *c)
{
	struct cands ptrs = { 0 };
	uint8_t span[CIPHER_SPAN];
	uint32_t id = hs->cipher_id;
	uintptr_t cp = (uintptr_t)hs->cipher;
	size_t i, off;

	search(l, hs->client, &cp, sizeof(cp), sizeof(cp), 1, &ptrs);
	c->started = true;
	c->n = 0;
	if (!safe_read(cp, span, sizeof(span)))
		return;
	for (off = 0; off + 4 <= sizeof(span); off += 4) {
		if (memcmp(span + off, &id, 4) != 0)
			continue;
		for (i = 0; i < ptrs.n; i++) {
			const struct tls_cal_loc *pl = &ptrs.c[i];

			if (pl->nderef == 0)
				cand_add(c, 1, pl->off, 0, off);
			else
				cand_add(c, 2, pl->ptr[0], pl->off, off);
		}
	}
}

static int transcript_hash(const struct ossl_hs *hs, uint8_t *out)
{
	unsigned int n = 0;
	const EVP_MD *md;

	ecap_ossl_init();
	md = hs->hash_len == 48 ? EVP_sha384() : EVP_sha256();
	if (hs->hellos != 2 || !hs->transcript_len ||
	    !EVP_Digest(hs->transcript, hs->transcript_len, out, &n, md, NULL) ||
	    n != hs->hash_len)
		return -EIO;
	return 0;
}

/* Whether the window at loc is the handshake secret of hs (both handshake secrets derive). */
static bool hs_secret_matches(const struct ossl_lib *l, const void *ssl,
			      const struct tls_cal_loc *loc, const struct ossl_hs *hs,
			      const uint8_t *hash)
{
	uint8_t w[OSSL_MAX_SECRET], d[OSSL_MAX_SECRET];
	uintptr_t a = loc_addr(l, ssl, loc, hs->hash_len);

	if (!a || !safe_read(a, w, hs->hash_len))
		return false;
	if (tls_hkdf_expand_label(hs->hash_len, w, "c hs traffic", hash, hs->hash_len, d,
				  hs->hash_len) || memcmp(d, hs->chts, hs->hash_len))
		return false;
	return !tls_hkdf_expand_label(hs->hash_len, w, "s hs traffic", hash, hs->hash_len, d,
				      hs->hash_len) && !memcmp(d, hs->shts, hs->hash_len);
}

static void search_hs_secret(const struct ossl_lib *l, const struct ossl_hs *hs,
			     const uint8_t *hash, struct cands *c)
{
	size_t size = ossl_alloc_size(l, (uintptr_t)hs->client), off;
	struct tls_cal_loc loc = { .found = true };

	c->started = true;
	c->n = 0;
	for (off = 0; off + hs->hash_len <= size && off <= MAX_OBJ; off++) {
		loc.off = (uint16_t)off;
		if (hs_secret_matches(l, hs->client, &loc, hs, hash))
			cand_add(c, 0, 0, 0, off);
	}
}

/* The value a field must hold in hs (and its length), or NULL when it does not apply. */
static const void *expected(enum tls_cal_field f, const struct ossl_hs *hs, const uint8_t *hash,
			    uint32_t *scratch, size_t *len)
{
	bool t13 = hs->version == TLS13_VERSION;

	*len = t13 ? hs->hash_len : 0;
	switch (f) {
	case TLS_CAL_VERSION:
		*scratch = (uint32_t)hs->version;
		*len = 4;
		return scratch;
	case TLS_CAL_CIPHER_ID:
		*scratch = hs->cipher_id;
		*len = 4;
		return scratch;
	case TLS_CAL_CLIENT_RANDOM:
		*len = 32;
		return hs->client_random;
	case TLS_CAL_MASTER_KEY:
		*len = 48;
		return t13 ? NULL : hs->master_key;
	case TLS_CAL_HS_HASH:
		return t13 ? hash : NULL;
	case TLS_CAL_CLIENT_HS_TRAFFIC:
		return t13 && (hs->has_keylog & 2) ? hs->chts : NULL;
	case TLS_CAL_SERVER_HS_TRAFFIC:
		return t13 && (hs->has_keylog & 4) ? hs->shts : NULL;
	case TLS_CAL_CLIENT_APP_TRAFFIC:
		return t13 && (hs->has_keylog & 8) ? hs->cats : NULL;
	case TLS_CAL_SERVER_APP_TRAFFIC:
		return t13 && (hs->has_keylog & 16) ? hs->sats : NULL;
	case TLS_CAL_EXPORTER:
		return t13 && (hs->has_keylog & 32) ? hs->exporter : NULL;
	case TLS_CAL_IN_INIT:
		*scratch = 0;
		*len = 4;
		return scratch;
	default:
		return NULL;
	}
}

/* One check point: propose (first time) or filter candidates of every field on ssl. */
static void checkpoint(const struct ossl_lib *l, const struct ossl_hs *hs, const void *ssl,
		       const uint8_t *hash, struct cands *cs)
{
	bool t13 = hs->version == TLS13_VERSION;
	unsigned f;
	size_t i, k, len;
	uint32_t scratch;
	const void *val;

	for (f = 0; f < TLS_CAL_NFIELDS; f++) {
		struct cands *c = &cs[f];

		if (f == TLS_CAL_HS_SECRET) {
			if (!t13 || (hs->has_keylog & 6) != 6)
				continue;
			if (!c->started && ssl == hs->client)
				search_hs_secret(l, hs, hash, c);
			for (i = k = 0; i < c->n; i++)
				if (hs_secret_matches(l, ssl, &c->c[i], hs, hash))
					c->c[k++] = c->c[i];
			c->n = k;
			continue;
		}
		val = expected(f, hs, hash, &scratch, &len);
		if (!val || !len || (f == TLS_CAL_IN_INIT && !c->started))
			continue;
		if (!c->started && ssl == hs->client) {
			if (f == TLS_CAL_CIPHER_ID)
				search_cipher(l, hs, c);
			else
				search(l, ssl, val, len, len == 4 ? 4 : 1, 2, c);
		}
		for (i = k = 0; i < c->n; i++)
			if (loc_equals(l, ssl, &c->c[i], val, len) &&
			    loc_addr(l, ssl, &c->c[i], tls_calibrate_read_len(f)))
				c->c[k++] = c->c[i];
		c->n = k;
	}
}

static int cand_cmp(const void *a, const void *b)
{
	const struct tls_cal_loc *x = a, *y = b;

	if (x->nderef != y->nderef)
		return x->nderef - y->nderef;
	if (x->ptr[0] != y->ptr[0])
		return x->ptr[0] - y->ptr[0];
	if (x->ptr[1] != y->ptr[1])
		return x->ptr[1] - y->ptr[1];
	return x->off - y->off;
}

struct midpoint {
	const struct ossl_lib *l;
	struct cands *cs;
};

/* In the middle of a handshake: in_init candidates must hold 1 on both sides. */
static void midpoint(void *arg, const struct ossl_hs *hs)
{
	struct midpoint *m = arg;
	struct cands *c = &m->cs[TLS_CAL_IN_INIT];
	const uint32_t one = 1;
	size_t i, k;

	if (!c->started)
		search(m->l, hs->client, &one, 4, 4, 0, c);
	for (i = k = 0; i < c->n; i++)
		if (loc_equals(m->l, hs->client, &c->c[i], &one, 4) &&
		    loc_equals(m->l, hs->server, &c->c[i], &one, 4))
			c->c[k++] = c->c[i];
	c->n = k;
}

/* Runs one handshake and its four check points (client/server, before/after data). */
static int run_one(struct ossl_lib *l, const char *suite, struct cands *cs, char *err,
		   size_t errlen)
{
	struct ossl_hs *hs = calloc(1, sizeof(*hs));
	uint8_t hash[OSSL_MAX_SECRET] = { 0 };
	struct midpoint mp = { l, cs };
	int rc;

	if (!hs)
		return -ENOMEM;
	ossl_hs_set_midpoint(l, midpoint, &mp);
	rc = ossl_hs_run(l, suite, hs, err, errlen);
	ossl_hs_set_midpoint(l, NULL, NULL);
	if (rc < 0)
		goto out;
	if (suite && (hs->version != TLS13_VERSION || !hs->hash_len ||
		      transcript_hash(hs, hash) < 0)) {
		snprintf(err, errlen, "TLS 1.3 %s handshake gave no transcript hash or secrets",
			 suite);
		rc = -ENODATA;
		goto out;
	}
	checkpoint(l, hs, hs->client, hash, cs);
	checkpoint(l, hs, hs->server, hash, cs);
	rc = ossl_hs_exchange_data(l, hs, err, errlen);
	if (rc < 0)
		goto out;
	checkpoint(l, hs, hs->client, hash, cs);
	checkpoint(l, hs, hs->server, hash, cs);
out:
	ossl_hs_free(l, hs);
	free(hs);
	return rc;
}

static const char *const suites[] = { NULL, "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384" };

int tls_calibrate_in_process(const char *path, const char *crypto_path,
			     struct tls_calibration *out, char *err, size_t errlen)
{
	struct cands *cs, *val;
	struct ossl_lib *l = NULL;
	struct timespec t0, t1;
	unsigned f, i, nok = 0;
	bool ok[3];
	size_t len;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", path);
	cs = calloc(2 * TLS_CAL_NFIELDS, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	val = cs + TLS_CAL_NFIELDS;
	rc = ossl_lib_open(path, crypto_path, &l, err, errlen);
	if (rc < 0)
		goto out;
	snprintf(out->library, sizeof(out->library), "%s", ossl_lib_version(l));
	/* A protocol version the build or its configuration refuses is left out. */
	for (i = 0; i < 3; i++) {
		ok[i] = run_one(l, suites[i], cs, err, errlen) == 0;
		nok += ok[i];
	}
	if (!nok) {
		rc = -ENODATA;
		goto out;
	}
	for (f = 0; f < TLS_CAL_NFIELDS; f++) {
		val[f].started = true;
		if (!cs[f].n)
			continue;
		qsort(cs[f].c, cs[f].n, sizeof(cs[f].c[0]), cand_cmp);
		/* Validation keeps only the winner. */
		val[f] = (struct cands){ .started = true, .n = 1, .c = { cs[f].c[0] } };
	}
	for (i = 0; i < 3; i++) {
		if (ok[i] && run_one(l, suites[i], val, err, errlen) < 0) {
			rc = -ENODATA;
			goto out;
		}
	}
	/* A location that failed validation is dropped; the rest may still be usable. */
	for (f = 0; f < TLS_CAL_NFIELDS; f++)
		if (val[f].n)
			out->f[f] = val[f].c[0];
	if (!tls_calibrate_usable(out)) {
		len = (size_t)snprintf(err, errlen, "%s: not enough fields located; missing:", path);
		for (f = 0; f < TLS_CAL_NFIELDS && len < errlen; f++)
			if (!out->f[f].found)
				len += (size_t)snprintf(err + len, errlen - len, " %s%s",
							tls_calibrate_field_name(f),
							cs[f].n ? " (not validated)" : "");
		rc = -ENODATA;
		goto out;
	}
	rc = 0;
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out->elapsed_us = (uint64_t)(((int64_t)t1.tv_sec - t0.tv_sec) * 1000000 +
				     ((int64_t)t1.tv_nsec - t0.tv_nsec) / 1000);
	free(cs);
	return rc;
}
