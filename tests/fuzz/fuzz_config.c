// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_config.c - libFuzzer target for the ecap-rec configuration file parser
 * (recorder/config.c): the input as a whole file, in a buffer of exactly its size, so that a
 * read past it is caught. What parses must be well formed: keys of [a-z0-9-] only, values
 * without a newline and not blank at either end, line numbers increasing; an error names a
 * line within the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	size_t lines = 1;
	unsigned last = 0;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	memset(&c, 0, sizeof(c));
	int rc = config_parse((const char *)data, size, &c);
	if (rc && (c.err_line == 0 || c.err_line > lines || !c.err[0]))
		abort();
	for (size_t i = 0; i < c.n; i++) {
		const struct config_entry *e = &c.entries[i];
		size_t vl = strlen(e->value);
		if (!e->key[0] || strspn(e->key, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
				      strlen(e->key))
			abort();
		if (!vl || strchr(e->value, '\n') || blank(e->value[0]) || blank(e->value[vl - 1]))
			abort();
		if (e->line <= last || e->line > lines)
			abort();
		last = e->line;
	}
	config_free(&c);
	return 0;
}
