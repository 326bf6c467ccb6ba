// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_args.c - libFuzzer target for what users type on the command lines: sizes, durations
 * and points in time (schema/units.c), and the export selection arguments (export/args.c:
 * tuples, hosts, ports, protocols, pids; and args_filter_option() as getopt hands them).
 * The input is one NUL-terminated string in a buffer of exactly its size; its first byte
 * picks the option it is given to. Whatever parses must print and, where the format allows
 * it, parse back to the same value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_NS 1764140400000000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	uint8_t which = data[0];

	uint64_t v, v2;
	char txt[128];
	if (!units_parse_size(s, &v))
		units_format_size(v, txt, sizeof(txt));
	if (!units_parse_duration(s, &v))
		(void)v;
	if (!units_parse_time(s, NOW_NS, &v)) {
		units_format_time(v, txt, sizeof(txt));
		/* the printed form is RFC 3339 UTC with nanoseconds: it must read back */
		if (units_parse_time(txt, NOW_NS, &v2) || v2 != v)
			abort();
	}

	struct flow_key key;
	if (!args_parse_tuple(s, &key)) {
		char a[64], b[64];
		args_format_addr(key.addr_a, a, sizeof(a));
		args_format_addr(key.addr_b, b, sizeof(b));
	}
	uint8_t addr[16], addr2[16];
	int family;
	if (!args_parse_host(s, addr, &family)) {
		args_format_addr(addr, txt, sizeof(txt));
		if (args_parse_host(txt, addr2, &family) || memcmp(addr, addr2, 16))
			abort();
	}
	uint16_t port;
	uint8_t proto;
	uint32_t u;
	args_parse_port(s, &port);
	if (!args_parse_proto(s, &proto))
		args_proto_name(proto, txt, sizeof(txt));
	args_parse_u32(s, &u);

	/* as an option value: every filter option, so the per-kind limits are exercised too */
	static const int opts[] = { ARGS_OPT_SINCE, ARGS_OPT_UNTIL, ARGS_OPT_PID, ARGS_OPT_COMM,
				    ARGS_OPT_UID, ARGS_OPT_TUPLE, ARGS_OPT_HOST, ARGS_OPT_PORT,
				    ARGS_OPT_PROTO };
	struct query q;
	args_query_init(&q);
	FILE *saved = stderr;
	stderr = fopen("/dev/null", "w");
	for (int i = 0; i < 1 + (which >> 4); i++)
		args_filter_option(&q, opts[which % 9], s, NOW_NS);
	args_finish(&q);
	fclose(stderr);
	stderr = saved;
	args_query_free(&q);
	free(s);
	return 0;
}
