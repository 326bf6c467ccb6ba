// SPDX-License-Identifier: GPL-2.0-only
/*
 * units.c - the quantities users type on command lines (units.h): sizes, durations and
 * points in time, parsed strictly (no trailing characters, overflow checked) and printed back.
 *
 * Accepted forms:
 *   size      DIGITS[.DIGITS][K|M|G|T|P][B|iB]   powers of 1024, suffix letters in either case
 *   duration  NUMBER UNIT [NUMBER UNIT]...       units ns us ms s m h d w ("1h30m", "1.5h"),
 *             or one bare NUMBER of seconds
 *   time      DURATION                           that long before now
 *             @SECONDS[.FRACTION]                seconds since the Unix epoch
 *             YYYY-MM-DD[(T|t| )HH:MM[:SS[.FRACTION]]][Z|z|(+|-)HH[[:]MM]]
 *                                               RFC 3339 / ISO 8601; without an offset the
 *                                               time is local (TZ), a bare date is midnight
 * Fractions keep up to nine digits (nanoseconds); further digits must be valid but are cut.
 */
#include "units.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_SEC 1000000000ull

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits into *v; at least one digit; overflow is an error. Advances *s. */
static int parse_uint(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;

	if (!is_digit(*p))
		return -EINVAL;
	for (; is_digit(*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*s = p;
	*v = x;
	return 0;
}

/* Exactly n digits into *v (fixed-width date fields). */
static int parse_fixed(const char **s, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit((*s)[i]))
			return -EINVAL;
		x = x * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*v = x;
	return 0;
}

/*
 * An optional ".DIGITS" after an integer, as a fraction scaled to 10^9 (nanoseconds of a
 * second, or billionths of any unit). A dot must be followed by at least one digit.
 */
static int parse_frac(const char **s, uint64_t *frac_e9)
{
	const char *p = *s;
	uint64_t f = 0, scale = 100000000ull;

	*frac_e9 = 0;
	if (*p != '.')
		return 0;
	p++;
	if (!is_digit(*p))
		return -EINVAL;
	for (; is_digit(*p); p++) {
		f += (uint64_t)(*p - '0') * scale;
		scale /= 10;
	}
	*s = p;
	*frac_e9 = f;
	return 0;
}

/* whole + frac/1e9, times mult, with overflow checks. */
static int scale_value(uint64_t whole, uint64_t frac_e9, uint64_t mult, uint64_t *out)
{
	if (whole && mult > UINT64_MAX / whole)
		return -EINVAL;
	uint64_t v = whole * mult;
	/* frac_e9 < 1e9: split mult at 1e9 so that neither product overflows. */
	uint64_t fpart = (mult / NS_PER_SEC) * frac_e9 + (mult % NS_PER_SEC) * frac_e9 / NS_PER_SEC;
	if (v > UINT64_MAX - fpart)
		return -EINVAL;
	*out = v + fpart;
	return 0;
}

static bool ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a, y = *b;
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return *a == *b;
}

int units_parse_size(const char *s, uint64_t *bytes)
{
	static const char prefixes[] = "kmgtp";
	uint64_t whole, frac, mult = 1;

	if (!s || parse_uint(&s, &whole) < 0 || parse_frac(&s, &frac) < 0)
		return -EINVAL;
	if (*s) {
		const char *pos = NULL;
		char c = *s;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != 'b')
			pos = strchr(prefixes, c);
		if (pos) {
			for (const char *q = prefixes; q <= pos; q++)
				mult *= 1024;
			s++;
		}
		if (*s && !ieq(s, "b") && !(pos && ieq(s, "ib")))
			return -EINVAL;
	}
	return scale_value(whole, frac, mult, bytes);
}

static int duration_unit(const char **s, uint64_t *mult)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		/* Longer names first so that "ms" is not read as "m" followed by garbage. */
		{ "ns", 1 },
		{ "us", 1000 },
		{ "ms", 1000000 },
		{ "s", NS_PER_SEC },
		{ "m", 60 * NS_PER_SEC },
		{ "h", 3600 * NS_PER_SEC },
		{ "d", 86400 * NS_PER_SEC },
		{ "w", 7 * 86400 * NS_PER_SEC },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].name);
		if (strncmp(*s, units[i].name, n) == 0) {
			*s += n;
			*mult = units[i].ns;
			return 0;
		}
	}
	return -EINVAL;
}

int units_parse_duration(const char *s, uint64_t *ns)
{
	uint64_t total = 0;
	bool first = true;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		uint64_t whole, frac, mult, v;
		if (parse_uint(&s, &whole) < 0 || parse_frac(&s, &frac) < 0)
			return -EINVAL;
		if (!*s && first) {
			mult = NS_PER_SEC; /* a bare number: seconds */
		} else if (duration_unit(&s, &mult) < 0) {
			return -EINVAL;
		}
		if (scale_value(whole, frac, mult, &v) < 0 || total > UINT64_MAX - v)
			return -EINVAL;
		total += v;
		first = false;
	}
	*ns = total;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

/* "@SECONDS[.FRACTION]" */
static int parse_epoch(const char *s, uint64_t *ns)
{
	uint64_t sec, frac;

	if (parse_uint(&s, &sec) < 0 || parse_frac(&s, &frac) < 0 || *s)
		return -EINVAL;
	return scale_value(sec, frac, NS_PER_SEC, ns);
}

/* An RFC 3339 / ISO 8601 date and time; see the top of the file. */
static int parse_datetime(const char *s, uint64_t *ns)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;
	uint64_t frac = 0;
	bool has_offset = false;
	int64_t offset_sec = 0;

	if (parse_fixed(&s, 4, &y) < 0 || *s++ != '-' || parse_fixed(&s, 2, &mo) < 0 ||
	    *s++ != '-' || parse_fixed(&s, 2, &d) < 0)
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -EINVAL;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (parse_fixed(&s, 2, &h) < 0 || *s++ != ':' || parse_fixed(&s, 2, &mi) < 0)
			return -EINVAL;
		if (*s == ':') {
			s++;
			if (parse_fixed(&s, 2, &sec) < 0 || parse_frac(&s, &frac) < 0)
				return -EINVAL;
		}
		/* 60 is a leap second (RFC 3339); it lands on the next second's start. */
		if (h > 23 || mi > 59 || sec > 60)
			return -EINVAL;
		if (*s == 'Z' || *s == 'z') {
			has_offset = true;
			s++;
		} else if (*s == '+' || *s == '-') {
			int sign = *s++ == '-' ? -1 : 1, oh, om = 0;
			if (parse_fixed(&s, 2, &oh) < 0)
				return -EINVAL;
			if (*s == ':') {
				s++;
				if (parse_fixed(&s, 2, &om) < 0)
					return -EINVAL;
			} else if (is_digit(*s) && parse_fixed(&s, 2, &om) < 0) {
				return -EINVAL;
			}
			if (oh > 23 || om > 59)
				return -EINVAL;
			has_offset = true;
			offset_sec = sign * (oh * 3600 + om * 60);
		}
	}
	if (*s)
		return -EINVAL;

	int64_t t;
	if (has_offset) {
		t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_sec;
	} else {
		struct tm tm = {
			.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			.tm_hour = h, .tm_min = mi, .tm_sec = sec, .tm_isdst = -1,
		};
		errno = 0;
		time_t tt = mktime(&tm);
		if (tt == (time_t)-1 && errno)
			return -EINVAL;
		t = (int64_t)tt;
	}
	if (t < 0 || (uint64_t)t > (UINT64_MAX - frac) / NS_PER_SEC)
		return -EINVAL;
	*ns = (uint64_t)t * NS_PER_SEC + frac;
	return 0;
}

/* A date starts with four digits and a dash; a duration never has a dash. */
static bool looks_like_date(const char *s)
{
	return is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
	       s[4] == '-';
}

int units_parse_time(const char *s, uint64_t now_ns, uint64_t *ns)
{
	uint64_t back;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '@')
		return parse_epoch(s + 1, ns);
	if (looks_like_date(s))
		return parse_datetime(s, ns);
	if (units_parse_duration(s, &back) < 0)
		return -EINVAL;
	/* Further back than the epoch: the epoch (everything recorded is after it). */
	*ns = back > now_ns ? 0 : now_ns - back;
	return 0;
}

void units_format_size(uint64_t bytes, char *out, size_t len)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	size_t u = 0;
	double v = (double)bytes;

	while (v >= 1024.0 && u + 1 < sizeof(names) / sizeof(names[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%" PRIu64 " B", bytes);
	else if (v < 10.0 && (uint64_t)(v * 10.0 + 0.5) % 10 != 0)
		snprintf(out, len, "%.1f %s", v, names[u]);
	else
		snprintf(out, len, "%.0f %s", v, names[u]);
}

void units_format_time(uint64_t ns, char *out, size_t len)
{
	uint64_t sec = ns / NS_PER_SEC;
	int64_t days = (int64_t)(sec / 86400), y;
	unsigned rem = (unsigned)(sec % 86400);
	int m, d;

	civil_from_days(days, &y, &m, &d);
	snprintf(out, len, "%04" PRId64 "-%02d-%02dT%02u:%02u:%02u.%09" PRIu64 "Z", y, m, d,
		 rem / 3600, rem / 60 % 60, rem % 60, (uint64_t)(ns % NS_PER_SEC));
}
