/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * secret_blob.h - the secrets of one TLS session in one chunk, as the index keeps them: one
 * row per (chunk, client_random) instead of one per secret (a TLS 1.3 session has five), so
 * that a session costs one b-tree entry and one statement.
 *
 * Format of the `secrets` column of table `secrets` (index schema 4), a sequence of entries
 * with no header and nothing after the last:
 *
 *   u8  label_len    1 .. ECAP_LABEL_MAX - 1
 *   u8  label[label_len]      the NSS key log label, no NUL
 *   u8  secret_len   1 .. ECAP_SECRET_MAX
 *   u8  secret[secret_len]
 *
 * Entries are sorted by label (bytewise, shorter first on a common prefix) and each label
 * appears once, so that one chunk's secrets always encode to the same bytes (a rebuilt index
 * answers like the original). A reader stops at the first entry that breaks a bound.
 */
#ifndef ECAP_SECRET_BLOB_H
#define ECAP_SECRET_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "records.h"

/* Appends to b the entries of the n secrets in v (which share one client_random), sorted,
 * the first of each label kept; *count: how many entries. b NULL: only counts them (the
 * index's secrets near their session, which the chunk's DSB holds). 0 or -ENOMEM. */
int secret_blob_encode(struct buf *b, const struct tls_secret *const *v, size_t n,
		       unsigned *count);

/* The entry at *off of blob (len bytes) into sec's label and secret (client_random is left
 * alone); *off moves past it. 1 an entry, 0 the end, -EBADMSG a broken entry. */
int secret_blob_next(const uint8_t *blob, size_t len, size_t *off, struct tls_secret *sec);

/* 1 when blob holds label, 0 when not. */
int secret_blob_has(const uint8_t *blob, size_t len, const char *label);

#endif
