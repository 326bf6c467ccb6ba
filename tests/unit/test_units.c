// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_units.c - sizes, durations and points in time as users type them (schema/units.c):
 * every accepted form, rejection of garbage and trailing characters, local time under a
 * fixed TZ, and the printing helpers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "units.h"

#define SEC 1000000000ull

static void test_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 },
		{ "1500", 1500 },
		{ "1500B", 1500 },
		{ "512K", 512ull << 10 },
		{ "512k", 512ull << 10 },
		{ "512KB", 512ull << 10 },
		{ "512KiB", 512ull << 10 },
		{ "512M", 512ull << 20 },
		{ "20G", 20ull << 30 },
		{ "20gib", 20ull << 30 },
		{ "1T", 1ull << 40 },
		{ "1.5G", 3ull << 29 },
		{ "2P", 2ull << 50 },
	};
	static const char *const bad[] = {
		"", "K", "-1", "1X", "1 G", "1GG", "1Gb2", "1.G", ".5G", "1iB", "20GiBx",
		"99999999999999999999", "16384P", " 1",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		assert_int_equal(units_parse_size(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(units_parse_size(bad[i], &v), -EINVAL);
	(void)state;
}

static void test_duration(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "90", 90 * SEC },
		{ "90s", 90 * SEC },
		{ "250ms", 250000000ull },
		{ "10us", 10000ull },
		{ "7ns", 7ull },
		{ "10m", 600 * SEC },
		{ "2h", 7200 * SEC },
		{ "7d", 7 * 86400 * SEC },
		{ "1w", 7 * 86400 * SEC },
		{ "1.5h", 5400 * SEC },
		{ "1h30m", 5400 * SEC },
		{ "0.5", SEC / 2 },
		{ "1m1s1ms", 61 * SEC + 1000000ull },
	};
	static const char *const bad[] = {
		"", "s", "10x", "10 m", "-5m", "1h30", "5mm", "1.5.2h", "m10", "10m ",
		"99999999999999999999s", "100000000000w",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		assert_int_equal(units_parse_duration(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(units_parse_duration(bad[i], &v), -EINVAL);
	(void)state;
}

/* 2026-11-26T06:00:00Z */
#define T0 1795672800ull

static void test_time_utc(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "2026-11-26T06:00:00Z", T0 * SEC },
		{ "2026-11-26t06:00:00z", T0 * SEC },
		{ "2026-11-26 06:00:00Z", T0 * SEC },
		{ "2026-11-26T06:00Z", T0 * SEC },
		{ "2026-11-26T06:00:00.123Z", T0 * SEC + 123000000ull },
		{ "2026-11-26T06:00:00.123456789Z", T0 * SEC + 123456789ull },
		{ "2026-11-26T06:00:00.1234567891Z", T0 * SEC + 123456789ull },
		{ "2026-11-26T07:00:00+01:00", T0 * SEC },
		{ "2026-11-26 06:00:00.123+01:00", (T0 - 3600) * SEC + 123000000ull },
		{ "2026-11-26T11:30:00+0530", T0 * SEC },
		{ "2026-11-26T01:00:00-05", T0 * SEC },
		{ "2026-11-26T00:30:00-05:30", T0 * SEC },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2024-02-29T00:00:00Z", 1709164800ull * SEC },
		{ "2016-12-31T23:59:60Z", 1483228800ull * SEC },
		{ "@1764140400", 1764140400ull * SEC },
		{ "@1764140400.5", 1764140400ull * SEC + SEC / 2 },
		{ "@0", 0 },
	};
	static const char *const bad[] = {
		"", "@", "@-1", "@1.", "@12x", "2026-11-26T06:00:00ZZ", "2026-11-26T06:00:00Zx",
		"2026-13-01", "2026-02-30", "2025-02-29", "2026-11-26T24:00", "2026-11-26T06:60",
		"2026-11-26T06:00:61Z", "2026-11-26T6:00Z", "2026-11-26T", "2026-11-26T06",
		"2026-11-26T06:00+25:00", "2026-11-26T06:00+01:", "2026-11-26T06:00+1",
		"2026-11-26T06:00:00.Z", "26-11-26", "2026/11/26", "1969-12-31T23:59:59Z",
		"yesterday", "2026-11-26x", " 2026-11-26",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		if (units_parse_time(ok[i].s, 0, &v) != 0)
			fail_msg("rejected '%s'", ok[i].s);
		if (v != ok[i].v)
			fail_msg("'%s': got %llu, expected %llu", ok[i].s, (unsigned long long)v,
				 (unsigned long long)ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (units_parse_time(bad[i], T0 * SEC, &v) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	(void)state;
}

static void test_time_local(void **state)
{
	uint64_t v;

	/* Central Europe: UTC+1 in November, UTC+2 in July (DST). */
	assert_int_equal(setenv("TZ", "Europe/Berlin", 1), 0);
	tzset();
	assert_int_equal(units_parse_time("2026-11-26T07:00:00", 0, &v), 0);
	assert_int_equal(v, T0 * SEC);
	assert_int_equal(units_parse_time("2026-11-26T07:00", 0, &v), 0);
	assert_int_equal(v, T0 * SEC);
	assert_int_equal(units_parse_time("2026-11-26 07:00:00.25", 0, &v), 0);
	assert_int_equal(v, T0 * SEC + SEC / 4);
	assert_int_equal(units_parse_time("2026-11-26", 0, &v), 0);
	assert_int_equal(v, (T0 - 7 * 3600) * SEC);
	assert_int_equal(units_parse_time("2026-07-01T02:00:00", 0, &v), 0);
	assert_int_equal(v, 1782864000ull * SEC);
	/* An explicit offset wins over TZ. */
	assert_int_equal(units_parse_time("2026-11-26T06:00:00Z", 0, &v), 0);
	assert_int_equal(v, T0 * SEC);

	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	tzset();
	assert_int_equal(units_parse_time("2026-11-26T06:00:00", 0, &v), 0);
	assert_int_equal(v, T0 * SEC);
	(void)state;
}

static void test_time_relative(void **state)
{
	uint64_t now = T0 * SEC + 500, v;

	assert_int_equal(units_parse_time("10m", now, &v), 0);
	assert_int_equal(v, now - 600 * SEC);
	assert_int_equal(units_parse_time("90s", now, &v), 0);
	assert_int_equal(v, now - 90 * SEC);
	assert_int_equal(units_parse_time("2h", now, &v), 0);
	assert_int_equal(v, now - 7200 * SEC);
	assert_int_equal(units_parse_time("7d", now, &v), 0);
	assert_int_equal(v, now - 7 * 86400 * SEC);
	assert_int_equal(units_parse_time("0s", now, &v), 0);
	assert_int_equal(v, now);
	/* Before the epoch: clamps to it. */
	assert_int_equal(units_parse_time("10000w", now, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(units_parse_time("10q", now, &v), -EINVAL);
	assert_int_equal(units_parse_time("10m ago", now, &v), -EINVAL);
	(void)state;
}

static void test_format(void **state)
{
	char s[64];

	units_format_size(17, s, sizeof(s));
	assert_string_equal(s, "17 B");
	units_format_size(1023, s, sizeof(s));
	assert_string_equal(s, "1023 B");
	units_format_size(1024, s, sizeof(s));
	assert_string_equal(s, "1 KiB");
	units_format_size(312 * 1024 + 100, s, sizeof(s));
	assert_string_equal(s, "312 KiB");
	units_format_size(3ull << 29, s, sizeof(s));
	assert_string_equal(s, "1.5 GiB");
	units_format_size(20ull << 30, s, sizeof(s));
	assert_string_equal(s, "20 GiB");

	units_format_time(T0 * SEC + 123456789ull, s, sizeof(s));
	assert_string_equal(s, "2026-11-26T06:00:00.123456789Z");
	units_format_time(0, s, sizeof(s));
	assert_string_equal(s, "1970-01-01T00:00:00.000000000Z");
	units_format_time(951782400ull * SEC + 1, s, sizeof(s)); /* 2000-02-29 */
	assert_string_equal(s, "2000-02-29T00:00:00.000000001Z");

	/* What is printed parses back to the same instant. */
	uint64_t v;
	units_format_time(T0 * SEC + 987654321ull, s, sizeof(s));
	assert_int_equal(units_parse_time(s, 0, &v), 0);
	assert_int_equal(v, T0 * SEC + 987654321ull);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_time_utc),
		cmocka_unit_test(test_time_local),
		cmocka_unit_test(test_time_relative),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
