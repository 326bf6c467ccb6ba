// SPDX-License-Identifier: GPL-2.0-only
/*
 * sha256_nettle.c - SHA-256 of sha256.h on Nettle (libnettle, whose x86-64 build picks the
 * CPU's SHA extensions at run time): the backend of the readers (schema_dep). Nettle's header names its functions sha256_init and so on through
 * macros; they are taken away here so that this file's own functions keep those names, and
 * Nettle's are called by their real ones (nettle_sha256_*).
 */
#include "sha256.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

#undef sha256_init
#undef sha256_update
#undef sha256_digest

const char *sha256_backend(void)
{
	return "nettle";
}

int sha256_init(struct sha256 *h)
{
	if (!h->ctx && !(h->ctx = malloc(sizeof(struct sha256_ctx))))
		return -ENOMEM;
	nettle_sha256_init(h->ctx);
	return 0;
}

void sha256_update(struct sha256 *h, const void *p, size_t len)
{
	nettle_sha256_update(h->ctx, len, p);
}

void sha256_final(struct sha256 *h, uint8_t out[SHA256_LEN])
{
	nettle_sha256_digest(h->ctx, SHA256_LEN, out);
}

int sha256_copy(struct sha256 *dst, const struct sha256 *src)
{
	if (!dst->ctx && !(dst->ctx = malloc(sizeof(struct sha256_ctx))))
		return -ENOMEM;
	memcpy(dst->ctx, src->ctx, sizeof(struct sha256_ctx));
	return 0;
}

int sha256_peek(const struct sha256 *h, uint8_t out[SHA256_LEN])
{
	struct sha256_ctx c;
	memcpy(&c, h->ctx, sizeof(c));
	nettle_sha256_digest(&c, SHA256_LEN, out);
	return 0;
}

void sha256_free(struct sha256 *h)
{
	free(h->ctx);
	h->ctx = NULL;
}

int sha256_once(const void *p, size_t len, uint8_t out[SHA256_LEN])
{
	struct sha256_ctx c;
	nettle_sha256_init(&c);
	nettle_sha256_update(&c, len, p);
	nettle_sha256_digest(&c, SHA256_LEN, out);
	return 0;
}
