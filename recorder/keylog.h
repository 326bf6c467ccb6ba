/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * keylog.h - the NSS key log format (SSLKEYLOGFILE), as written by browsers, curl, OpenSSL's
 * SSL_CTX_set_keylog_callback users and Wireshark's "Export TLS Session Keys".
 *
 * Format (https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/):
 * one entry per line, "<label> <client_random hex, 64 digits> <secret hex>", fields separated
 * by spaces; lines starting with '#' are comments; LF or CRLF line ends. Labels: CLIENT_RANDOM
 * (TLS 1.2 master secret, 48 bytes), CLIENT_EARLY_TRAFFIC_SECRET,
 * CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0,
 * SERVER_TRAFFIC_SECRET_0, EARLY_EXPORTER_SECRET, EXPORTER_SECRET (TLS 1.3, 32 or 48 bytes).
 * Other label spellings ("RSA <encrypted pms prefix> <pms>") do not carry a client_random and
 * are reported as malformed for this recorder's purpose.
 */
#ifndef ECAP_KEYLOG_H
#define ECAP_KEYLOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../schema/records.h"

struct pipeline;

/*
 * Parses line[0..len), with or without its trailing "\n" or "\r\n" (a NUL or a line break
 * inside is malformed). Either hex case, any run of spaces/tabs between and around fields.
 * Returns 1 with *out filled, 0 for a blank or comment line, -EINVAL for a malformed line;
 * keylog_error() then says why (a thread-local string, valid until the next call on the
 * same thread).
 */
int keylog_parse_line(const char *line, size_t len, struct tls_secret *out);
const char *keylog_error(void);

/* True when label is one the parser accepts (exact, case-sensitive). */
int keylog_label_known(const char *label);

struct keylog_report {
	uint64_t lines;      /* lines read, comments and blanks included */
	uint64_t secrets;    /* well-formed secret lines */
	uint64_t new_secrets;/* of which the store did not know (pipeline_secret() returned 1) */
	uint64_t duplicates; /* of which the store knew already */
	uint64_t malformed;  /* lines rejected; each reported on err as "PATH:LINE: reason" */
};

/*
 * Reads a whole key log file (path "-": stdin) and hands each secret to pipeline_secret().
 * Malformed lines are reported on err (when not NULL) and counted, not fatal. Returns 0, or
 * -errno when the file cannot be read or the pipeline fails (the message is printed on err).
 * rep may be NULL.
 */
int keylog_load(const char *path, struct pipeline *p, FILE *err, struct keylog_report *rep);

/*
 * The reader behind keylog_load(): reads f to its end, naming it `name` in messages, and
 * hands each secret to fn (which returns 1 new, 0 known, <0 error that stops the read).
 */
int keylog_read(FILE *f, const char *name, int (*fn)(void *ctx, const struct tls_secret *sec),
		void *ctx, FILE *err, struct keylog_report *rep);

#endif
