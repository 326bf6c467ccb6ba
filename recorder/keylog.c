// SPDX-License-Identifier: GPL-2.0-only
/*
 * keylog.c - the NSS key log format parser and file loader (the format is in keylog.h).
 *
 * A line is: optional blanks, LABEL, blanks, 64 hex digits of client_random, blanks, 2..128
 * hex digits of secret (an even count), optional blanks, then the end of the line ("\n",
 * "\r\n" or nothing). Blanks are spaces and tabs. CLIENT_RANDOM carries the 48-byte TLS 1.2
 * master secret; the TLS 1.3 labels carry a traffic or exporter secret of at most 64 bytes.
 */
#include "keylog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "../schema/hex.h"
#include "../schema/tls_labels.h"

static _Thread_local char keylog_reason[160];

const char *keylog_error(void)
{
	return keylog_reason;
}

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(keylog_reason, sizeof(keylog_reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int keylog_label_known(const char *label)
{
	return tls_label_index(label, strlen(label)) >= 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}


/* The token starting at *pos (after blanks): its start and length; *pos moves past it. */
static size_t next_token(const char *line, size_t len, size_t *pos, const char **tok)
{
	size_t i = *pos;
	while (i < len && is_blank(line[i]))
		i++;
	size_t start = i;
	while (i < len && !is_blank(line[i]))
		i++;
	*tok = line + start;
	*pos = i;
	return i - start;
}

int keylog_parse_line(const char *line, size_t len, struct tls_secret *out)
{
	keylog_reason[0] = '\0';
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len))
		return fail("NUL byte in line");
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\r' || line[i] == '\n')
			return fail("stray line break character inside the line");

	size_t pos = 0;
	const char *tok;
	size_t n = next_token(line, len, &pos, &tok);
	if (n == 0)
		return 0;
	if (tok[0] == '#')
		return 0;

	char label[ECAP_LABEL_MAX];
	if (n >= sizeof(label))
		return fail("unknown label (too long)");
	memcpy(label, tok, n);
	label[n] = '\0';
	int li = tls_label_index(tok, n);
	if (li < 0) {
		if (strcmp(label, "RSA") == 0)
			return fail("label RSA (keyed by encrypted pre-master secret, not by "
				    "client_random) is not supported");
		return fail("unknown label '%s'", label);
	}

	n = next_token(line, len, &pos, &tok);
	if (n == 0)
		return fail("%s: client_random missing", label);
	if (n != 64)
		return fail("%s: client_random is not 64 hex digits", label);
	uint8_t cr[32];
	if (hex_decode(tok, 64, cr))
		return fail("%s: client_random has a non-hex digit", label);

	n = next_token(line, len, &pos, &tok);
	if (n == 0)
		return fail("%s: secret missing", label);
	if (n % 2)
		return fail("%s: secret has an odd number of hex digits", label);
	if (n > 2 * ECAP_SECRET_MAX)
		return fail("%s: secret longer than 64 bytes", label);
	if (li == 0 && n != 96)
		return fail("%s: master secret is not 48 bytes (96 hex digits)", label);
	uint8_t sec[ECAP_SECRET_MAX];
	if (hex_decode(tok, n, sec))
		return fail("%s: secret has a non-hex digit", label);

	const char *extra;
	if (next_token(line, len, &pos, &extra) != 0)
		return fail("%s: unexpected text after the secret", label);

	memset(out, 0, sizeof(*out));
	memcpy(out->label, label, strlen(label) + 1);
	memcpy(out->client_random, cr, 32);
	out->secret_len = (uint8_t)(n / 2);
	memcpy(out->secret, sec, n / 2);
	return 1;
}

int keylog_read(FILE *f, const char *name, int (*fn)(void *ctx, const struct tls_secret *sec),
		void *ctx, FILE *err, struct keylog_report *rep)
{
	struct keylog_report local = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t lineno = 0;
	int ret = 0;

	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	errno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		rep->lines++;
		struct tls_secret sec;
		int r = keylog_parse_line(line, (size_t)n, &sec);
		if (r == 0)
			continue;
		if (r < 0) {
			rep->malformed++;
			if (err)
				fprintf(err, "%s:%llu: %s\n", name, (unsigned long long)lineno,
					keylog_error());
			continue;
		}
		rep->secrets++;
		r = fn(ctx, &sec);
		if (r < 0) {
			if (err)
				fprintf(err, "%s:%llu: cannot store the secret: %s\n", name,
					(unsigned long long)lineno, strerror(-r));
			ret = r;
			break;
		}
		if (r > 0)
			rep->new_secrets++;
		else
			rep->duplicates++;
		errno = 0;
	}
	if (ret == 0 && ferror(f)) {
		ret = errno ? -errno : -EIO;
		if (err)
			fprintf(err, "%s:%llu: read error: %s\n", name,
				(unsigned long long)lineno + 1, strerror(-ret));
	}
	free(line);
	return ret;
}

static int to_pipeline(void *ctx, const struct tls_secret *sec)
{
	return pipeline_secret(ctx, sec);
}

int keylog_load(const char *path, struct pipeline *p, FILE *err, struct keylog_report *rep)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "r");
	if (!f) {
		int e = errno;
		if (err)
			fprintf(err, "%s: cannot open key log: %s\n", path, strerror(e));
		if (rep)
			memset(rep, 0, sizeof(*rep));
		return -e;
	}
	int r = keylog_read(f, is_stdin ? "<stdin>" : path, to_pipeline, p, err, rep);
	if (!is_stdin)
		fclose(f);
	return r;
}
