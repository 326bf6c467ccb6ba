// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_export_args.c - the selection options of ecap-export and ecap-ls (export/args.c):
 * tuples (IPv4, bracketed IPv6, mixed families refused), hosts kept v4-mapped, ports,
 * protocols, pids, repeats and their limit, times, and the joined libpcap expression.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"

static const uint8_t V4_LO[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };
static const uint8_t V6_LO[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static void test_tuple(void **state)
{
	struct flow_key k;
	uint8_t want[16];

	assert_int_equal(args_parse_tuple("127.0.0.1:443-10.1.2.3:51000", &k), 0);
	assert_int_equal(k.family, 4);
	assert_int_equal(k.proto, 0);
	assert_memory_equal(k.addr_a, V4_LO, 16);
	memcpy(want, V4_LO, 12);
	want[12] = 10, want[13] = 1, want[14] = 2, want[15] = 3;
	assert_memory_equal(k.addr_b, want, 16);
	assert_int_equal(k.port_a, 443);
	assert_int_equal(k.port_b, 51000);

	assert_int_equal(args_parse_tuple("[::1]:443-[::1]:5000", &k), 0);
	assert_int_equal(k.family, 6);
	assert_memory_equal(k.addr_a, V6_LO, 16);
	assert_memory_equal(k.addr_b, V6_LO, 16);
	assert_int_equal(k.port_a, 443);
	assert_int_equal(k.port_b, 5000);

	assert_int_equal(args_parse_tuple("[2001:db8::a:1]:65535-[fe80::1]:0", &k), 0);
	assert_int_equal(k.port_a, 65535);
	assert_int_equal(k.addr_a[0], 0x20);
	assert_int_equal(k.addr_a[15], 1);
	assert_int_equal(k.addr_b[0], 0xfe);

	static const char *const bad[] = {
		"",
		"127.0.0.1:443",
		"127.0.0.1:443-",
		"127.0.0.1-127.0.0.2",
		"127.0.0.1:443-127.0.0.2",
		"127.0.0.1:443-127.0.0.2:",
		"127.0.0.1:65536-127.0.0.2:1",
		"127.0.0.1:44x-127.0.0.2:1",
		"127.0.0.1:443-127.0.0.2:80x",
		"127.0.0.1:443-127.0.0.2:80-",
		"127.0.0.1:443-[::1]:80",         /* mixed families */
		"::1:443-::1:80",                 /* IPv6 without brackets */
		"[127.0.0.1]:443-[127.0.0.2]:80", /* IPv4 in brackets */
		"[::1:443-[::1]:80",
		"[::1]443-[::1]:80",
		"256.0.0.1:1-127.0.0.1:2",
		"localhost:1-127.0.0.1:2",
		"127.0.0.1:-1-127.0.0.1:2",
		" 127.0.0.1:1-127.0.0.1:2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (args_parse_tuple(bad[i], &k) != -EINVAL)
			fail_msg("accepted tuple '%s'", bad[i]);
	(void)state;
}

static void test_host_port_proto(void **state)
{
	uint8_t a[16];
	uint16_t port;
	uint8_t proto;
	int fam;

	assert_int_equal(args_parse_host("127.0.0.1", a, &fam), 0);
	assert_int_equal(fam, 4);
	assert_memory_equal(a, V4_LO, 16);
	assert_int_equal(args_parse_host("::1", a, &fam), 0);
	assert_int_equal(fam, 6);
	assert_memory_equal(a, V6_LO, 16);
	assert_int_equal(args_parse_host("[::1]", a, &fam), 0);
	assert_memory_equal(a, V6_LO, 16);
	/* ::ffff:127.0.0.1 written out is the same v4-mapped address. */
	assert_int_equal(args_parse_host("::ffff:127.0.0.1", a, &fam), 0);
	assert_memory_equal(a, V4_LO, 16);
	assert_int_equal(args_parse_host("", a, &fam), -EINVAL);
	assert_int_equal(args_parse_host("[]", a, &fam), -EINVAL);
	assert_int_equal(args_parse_host("1.2.3", a, &fam), -EINVAL);
	assert_int_equal(args_parse_host("example.com", a, &fam), -EINVAL);
	assert_int_equal(args_parse_host("127.0.0.1 ", a, &fam), -EINVAL);

	assert_int_equal(args_parse_port("0", &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(args_parse_port("65535", &port), 0);
	assert_int_equal(port, 65535);
	assert_int_equal(args_parse_port("65536", &port), -EINVAL);
	assert_int_equal(args_parse_port("-1", &port), -EINVAL);
	assert_int_equal(args_parse_port("80a", &port), -EINVAL);
	assert_int_equal(args_parse_port("", &port), -EINVAL);
	assert_int_equal(args_parse_port("https", &port), -EINVAL);

	assert_int_equal(args_parse_proto("tcp", &proto), 0);
	assert_int_equal(proto, 6);
	assert_int_equal(args_parse_proto("UDP", &proto), 0);
	assert_int_equal(proto, 17);
	assert_int_equal(args_parse_proto("icmp", &proto), 0);
	assert_int_equal(proto, 1);
	assert_int_equal(args_parse_proto("icmp6", &proto), 0);
	assert_int_equal(proto, 58);
	assert_int_equal(args_parse_proto("132", &proto), 0);
	assert_int_equal(proto, 132);
	assert_int_equal(args_parse_proto("0", &proto), -EINVAL);
	assert_int_equal(args_parse_proto("256", &proto), -EINVAL);
	assert_int_equal(args_parse_proto("sctpx", &proto), -EINVAL);
	(void)state;
}

static void test_options(void **state)
{
	struct query q;
	const uint64_t now = 1795672800ull * 1000000000ull;

	args_query_init(&q);
	assert_false(flow_filter_selects(&q.flows));
	assert_int_equal(q.flows.since_ns, 0);
	assert_int_equal(q.flows.until_ns, UINT64_MAX);

	assert_int_equal(args_filter_option(&q, ARGS_OPT_PID, "1234", now), 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PID, "5678", now), 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PID, "12x", now), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PID, "4294967296", now), -EINVAL);
	assert_int_equal(q.flows.n_pids, 2);
	assert_int_equal(q.flows.pids[0], 1234);
	assert_int_equal(q.flows.pids[1], 5678);
	assert_int_equal(q.flows.pid_starts[0], 0);
	assert_true(flow_filter_selects(&q.flows));
	/* N@START: one process of a reused pid */
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PID, "77@2026-11-26T06:00:01.25Z", now),
			 1);
	assert_int_equal(q.flows.pids[2], 77);
	assert_int_equal(q.flows.pid_starts[2], 1795672801250000000ull);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PID, "77@", now), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PID, "@2026-11-26T06:00:00Z", now),
			 -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PID, "77@soon", now), -EINVAL);
	assert_int_equal(q.flows.n_pids, 3);

	/* What was recorded of the process */
	assert_int_equal(args_filter_option(&q, ARGS_OPT_CONTAINER, "0123456789AB", now), 1);
	assert_string_equal(q.flows.containers[0], "0123456789ab");
	/* anything else is a name, as its runtime gave it (case kept) */
	assert_int_equal(args_filter_option(&q, ARGS_OPT_CONTAINER, "My-nginx_1.x", now), 1);
	assert_string_equal(q.flows.containers[1], "My-nginx_1.x");
	assert_int_equal(args_filter_option(&q, ARGS_OPT_CONTAINER, "0123456789A", now), 1);
	assert_string_equal(q.flows.containers[2], "0123456789A");
	assert_int_equal(args_filter_option(&q, ARGS_OPT_CONTAINER, "two words", now), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_CONTAINER, "a/b", now), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_CONTAINER, "", now), -EINVAL);
	assert_int_equal(q.flows.n_containers, 3);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_POD, "web-7d9f", now), 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_POD, "prod/web-7d9f", now), 1);
	assert_string_equal(q.flows.pods[1], "prod/web-7d9f");
	assert_int_equal(args_filter_option(&q, ARGS_OPT_POD, "/web", now), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_POD, "prod/", now), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_POD, "a/b/c", now), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_POD, "bad\tname", now), -EINVAL);
	assert_int_equal(q.flows.n_pods, 2);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_EXE, "/usr/bin/curl", now), 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_EXE, "curl", now), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_CGROUP, "/system.slice//", now), 1);
	assert_string_equal(q.flows.cgroups[0], "/system.slice");
	assert_int_equal(args_filter_option(&q, ARGS_OPT_CGROUP, "/", now), 1);
	assert_string_equal(q.flows.cgroups[1], "");
	assert_int_equal(args_filter_option(&q, ARGS_OPT_CGROUP, "system.slice", now), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_NETNS, "4026531840", now), 1);
	assert_int_equal(q.flows.netns[0], 4026531840u);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_NETNS, "../etc", now), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_NETNS, "no-such-netns-xyz", now),
			 -EINVAL);

	assert_int_equal(args_filter_option(&q, ARGS_OPT_UID, "0", now), 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_UID, "root", now), 1);
	assert_int_equal(q.flows.uids[1], 0);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_UID, "no-such-user-xyz", now), -EINVAL);

	assert_int_equal(args_filter_option(&q, ARGS_OPT_COMM, "curl", now), 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_COMM, "systemd-resolved", now), 1);
	assert_string_equal(q.flows.comms[0], "curl");
	assert_string_equal(q.flows.comms[1], "systemd-resolve"); /* as the kernel cuts it */
	assert_int_equal(args_filter_option(&q, ARGS_OPT_COMM, "", now), -EINVAL);

	assert_int_equal(args_filter_option(&q, ARGS_OPT_HOST, "::1", now), 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_HOST, "127.0.0.1", now), 1);
	assert_memory_equal(q.flows.hosts[0], V6_LO, 16);
	assert_memory_equal(q.flows.hosts[1], V4_LO, 16);
	assert_int_equal(q.flows.n_hosts, 2);

	assert_int_equal(args_filter_option(&q, ARGS_OPT_PORT, "443", now), 1);
	assert_int_equal(q.flows.ports[0], 443);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_TUPLE, "[::1]:1-[::1]:2", now), 1);
	assert_int_equal(q.flows.n_tuples, 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_TUPLE, "1.2.3.4", now), -EINVAL);
	assert_int_equal(q.flows.n_tuples, 1);

	assert_int_equal(args_filter_option(&q, ARGS_OPT_PROTO, "tcp", now), 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PROTO, "tcp", now), 1);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_PROTO, "udp", now), -EINVAL);
	assert_int_equal(q.flows.proto, 6);

	/* Times: relative to now, absolute, and a since after until is refused. */
	assert_int_equal(args_filter_option(&q, ARGS_OPT_SINCE, "10m", now), 1);
	assert_int_equal(q.flows.since_ns, now - 600ull * 1000000000ull);
	assert_true(q.has_since);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_UNTIL, "@1795672800", now), 1);
	assert_int_equal(q.flows.until_ns, now);
	assert_int_equal(args_finish(&q), 0);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_UNTIL, "2026-11-26T05:00:00Z", now), 1);
	assert_int_equal(args_finish(&q), -EINVAL);
	assert_int_equal(args_filter_option(&q, ARGS_OPT_SINCE, "yesterday", now), -EINVAL);

	/* Not a filter option. */
	assert_int_equal(args_filter_option(&q, 'o', "x", now), 0);

	/* The limit of repeats. */
	struct query r;
	args_query_init(&r);
	for (int i = 0; i < STORE_MATCH_MAX; i++)
		assert_int_equal(args_filter_option(&r, ARGS_OPT_PORT, "1", now), 1);
	assert_int_equal(args_filter_option(&r, ARGS_OPT_PORT, "1", now), -EINVAL);
	args_query_free(&r);
	args_query_free(&q);
	(void)state;
}

static void test_pcap_filter(void **state)
{
	struct query q;
	char *words[] = { "tcp", "port", "443", "and", "not host 10.0.0.1" };

	args_query_init(&q);
	assert_int_equal(args_set_pcap_filter(&q, words, 0), 0);
	assert_null(q.pcap_filter);
	assert_int_equal(args_set_pcap_filter(&q, words, 5), 0);
	assert_string_equal(q.pcap_filter, "tcp port 443 and not host 10.0.0.1");
	assert_int_equal(args_set_pcap_filter(&q, words, 1), 0);
	assert_string_equal(q.pcap_filter, "tcp");
	args_query_free(&q);
	assert_null(q.pcap_filter);
	(void)state;
}

static void test_format(void **state)
{
	char s[64], t[8];

	args_format_addr(V4_LO, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1");
	args_format_addr(V6_LO, s, sizeof(s));
	assert_string_equal(s, "::1");
	assert_string_equal(args_proto_name(6, t, sizeof(t)), "tcp");
	assert_string_equal(args_proto_name(58, t, sizeof(t)), "icmp6");
	assert_string_equal(args_proto_name(132, t, sizeof(t)), "132");
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tuple),
		cmocka_unit_test(test_host_port_proto),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_pcap_filter),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
