// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_keylog.c - libFuzzer target for the NSS key log parser (recorder/keylog.c): the input
 * as one line for keylog_parse_line() (in a buffer of exactly its size, so that a read past
 * the line is caught), and as a whole file for keylog_read() through fmemopen(). A secret
 * that parses must be well formed: a known label, a secret length within bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keylog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_secret(void *ctx, const struct tls_secret *sec)
{
	(*(size_t *)ctx)++;
	if (!keylog_label_known(sec->label) || sec->secret_len == 0 ||
	    sec->secret_len > ECAP_SECRET_MAX)
		abort();
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	struct tls_secret sec;
	int r = keylog_parse_line(line, size, &sec);
	if (r == 1 && (!keylog_label_known(sec.label) || sec.secret_len == 0 ||
		       sec.secret_len > ECAP_SECRET_MAX))
		abort();
	if (r < 0 && !keylog_error()[0])
		abort(); /* a rejected line always says why */
	free(line);

	FILE *f = fmemopen((void *)data, size ? size : 1, "r");
	if (!f)
		return 0;
	FILE *null = fopen("/dev/null", "w");
	struct keylog_report rep = { 0 };
	size_t n = 0;
	if (size)
		keylog_read(f, "fuzz", count_secret, &n, null, &rep);
	if (rep.secrets != n || rep.malformed > rep.lines)
		abort();
	if (null)
		fclose(null);
	fclose(f);
	return 0;
}
