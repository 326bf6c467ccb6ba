// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.c - reads the `key = value` configuration file of ecap-rec (syntax in config.h).
 * config_parse() takes bytes, not a file, so that the unit test and a fuzzer can feed it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static int fail(struct config *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct config *c, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->err_line = line;
	return -EINVAL;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

static int is_key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

static char *dup_range(const char *s, const char *end)
{
	size_t n = (size_t)(end - s);
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

/* One line, s..end without its newline: 0 (entry added or nothing on it), or an error. */
static int parse_line(const char *s, const char *end, unsigned line, struct config *c)
{
	const char *k, *k_end, *v, *v_end;

	if ((size_t)(end - s) > CONFIG_LINE_MAX)
		return fail(c, line, "line longer than %d bytes", CONFIG_LINE_MAX);
	if (memchr(s, 0, (size_t)(end - s)))
		return fail(c, line, "NUL byte");
	while (s < end && is_blank(*s))
		s++;
	if (s == end || *s == '#')
		return 0;
	k = s;
	while (s < end && is_key_char(*s))
		s++;
	k_end = s;
	while (s < end && is_blank(*s))
		s++;
	if (k_end == k)
		return fail(c, line, "a line starts with a key: lowercase letters, digits, '-'");
	if (s == end || *s != '=')
		return fail(c, line, "'%.*s' is not followed by '= value'", (int)(k_end - k), k);
	v = s + 1;
	while (v < end && is_blank(*v))
		v++;
	v_end = end;
	while (v_end > v && is_blank(v_end[-1]))
		v_end--;
	if (v_end == v)
		return fail(c, line, "'%.*s' has an empty value", (int)(k_end - k), k);

	struct config_entry *grown = realloc(c->entries, (c->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->entries = grown;
	struct config_entry *e = &c->entries[c->n];
	e->key = dup_range(k, k_end);
	e->value = dup_range(v, v_end);
	e->line = line;
	if (!e->key || !e->value) {
		free(e->key);
		free(e->value);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

int config_parse(const char *buf, size_t len, struct config *c)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		int err = parse_line(p, eol, ++line, c);

		if (err)
			return err;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

int config_load(const char *path, struct config *c)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;
	char *buf;
	int err;

	if (fd < 0) {
		err = -errno;
		snprintf(c->err, sizeof(c->err), "%s", strerror(-err));
		return err;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	/* one byte more than allowed: its arrival says the file is too long */
	while (len <= CONFIG_FILE_MAX &&
	       (n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			snprintf(c->err, sizeof(c->err), "%s", strerror(-err));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > CONFIG_FILE_MAX) {
		snprintf(c->err, sizeof(c->err), "larger than %u bytes", CONFIG_FILE_MAX);
		err = -EFBIG;
		goto out;
	}
	err = config_parse(buf, len, c);
out:
	free(buf);
	close(fd);
	return err;
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].key);
		free(c->entries[i].value);
	}
	free(c->entries);
	c->entries = NULL;
	c->n = 0;
}
