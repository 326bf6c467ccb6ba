/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * units.h - parsing and printing of the quantities users type: sizes (512M, 20G), durations
 * (90s, 10m, 2h, 7d), points in time (a duration back from now, RFC 3339 / ISO 8601 with an
 * offset, @EPOCH), shared by every command line.
 *
 * Parsers return 0 or -EINVAL and never accept trailing garbage.
 */
#ifndef ECAP_UNITS_H
#define ECAP_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "1500", "512K", "512M", "20G", "1T" (powers of 1024; an optional trailing 'B' or 'iB'). */
int units_parse_size(const char *s, uint64_t *bytes);
/* "250ms", "90s", "10m", "2h", "7d", "1w", or a bare number of seconds; into nanoseconds. */
int units_parse_duration(const char *s, uint64_t *ns);
/*
 * A point in time, into nanoseconds since the epoch: a duration back from now_ns ("10m"),
 * "@1764140400" or "@1764140400.5", or RFC 3339 / ISO 8601: "2026-11-26T06:00:00Z",
 * "2026-11-26 06:00:00.123+01:00", "2026-11-26T06:00" (no offset: local time), "2026-11-26".
 */
int units_parse_time(const char *s, uint64_t now_ns, uint64_t *ns);

/* "1.5 GiB", "312 KiB", "17 B". */
void units_format_size(uint64_t bytes, char *out, size_t len);
/* "2026-11-26T06:00:00.123456789Z" (UTC, nanoseconds). */
void units_format_time(uint64_t ns, char *out, size_t len);

#endif
