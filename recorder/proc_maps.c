// SPDX-License-Identifier: GPL-2.0-only
/*
 * proc_maps.c - one line of /proc/PID/maps, parsed without scanf (proc_maps.h).
 */
#include "proc_maps.h"

#include <stddef.h>

#include "hex.h"

/* Digits of base 16 or 10 at *p (at least one, at most 16 or 19: no overflow), then *p past
 * them. false: none, or too many. */
static bool number(const char **p, unsigned base, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	unsigned n = 0;
	int d;

	while ((d = hex_digit_value(*s)) >= 0 && (unsigned)d < base) {
		if (++n > (base == 16 ? 16u : 19u))
			return false;
		v = v * base + (unsigned)d;
		s++;
	}
	if (n == 0)
		return false;
	*out = v;
	*p = s;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

bool proc_maps_parse(const char *line, struct proc_maps_line *m)
{
	const char *p = line;
	uint64_t maj, mnr;
	int i;

	if (!number(&p, 16, &m->start) || !expect(&p, '-') || !number(&p, 16, &m->end) ||
	    !expect(&p, ' '))
		return false;
	for (i = 0; i < 4; i++) {
		if (!p[i] || p[i] == ' ' || p[i] == '\n')
			return false;
		m->perms[i] = p[i];
	}
	m->perms[4] = '\0';
	p += 4;
	if (!expect(&p, ' ') || !number(&p, 16, &m->offset) || !expect(&p, ' ') ||
	    !number(&p, 16, &maj) || !expect(&p, ':') || !number(&p, 16, &mnr) ||
	    !expect(&p, ' ') || !number(&p, 10, &m->inode) || maj > 0xfff || mnr > 0xfffff)
		return false;
	if (*p != ' ' && *p != '\n' && *p != '\0')
		return false;
	m->major = (unsigned)maj;
	m->minor = (unsigned)mnr;
	while (*p == ' ')
		p++;
	m->path = *p == '/' ? p : NULL; /* not "[heap]", "[anon:name]" and such */
	return true;
}
