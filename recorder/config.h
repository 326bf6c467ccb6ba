/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * config.h - the ecap-rec configuration file (/etc/ecap/ecap-rec.conf): one setting a line,
 * `key = value`, where key is a long option name of ecap-rec (interface, store, max-size...).
 * Blank lines and lines whose first non-blank character is '#' are ignored; there are no
 * comments after a value (a value runs to the end of its line, blanks around it trimmed).
 * Keys are lowercase letters, digits and '-'. A line of more than CONFIG_LINE_MAX bytes, a NUL
 * byte, a line without '=', an empty key or an empty value is an error naming the line.
 *
 * This layer knows the syntax only; which keys exist is the caller's business
 * (recorder/main.c turns the entries into long options).
 */
#ifndef ECAP_CONFIG_H
#define ECAP_CONFIG_H

#include <stddef.h>

#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (1u << 20)

struct config_entry {
	char *key;
	char *value;
	unsigned line; /* 1-based */
};

struct config {
	struct config_entry *entries;
	size_t n;
	unsigned err_line;  /* the line of the first error; 0: none or not about a line */
	char err[128];      /* what was wrong with it */
};

/*
 * Parses len bytes (not NUL-terminated) into c, which the caller zeroes first: 0, -EINVAL
 * for a malformed line (c->err_line and c->err say which and why), -ENOMEM. On error the
 * entries parsed so far stay in c; config_free() releases them either way.
 */
int config_parse(const char *buf, size_t len, struct config *c);
/* Reads and parses the file at path (at most CONFIG_FILE_MAX bytes): 0, -EINVAL, or the
 * -errno of opening or reading it (c->err says which). */
int config_load(const char *path, struct config *c);
void config_free(struct config *c);

#endif
