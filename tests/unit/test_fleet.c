// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_fleet.c - the fleet's pieces that take input from elsewhere: --flow-ids lists (they
 * arrive over SSH), timestamps and words from the central database, host ids and shards,
 * and the merger's check of a host's PCAP-NG answer (truncated, a second section, a packet
 * on an undeclared interface, garbage), plus the merge of two good answers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "flowids.h"
#include "lsout.h"
#include "pcapng.h"
#include "pgconn.h"
#include "pmerge.h"
#include "query.h"

static void test_flowids(void **state)
{
	(void)state;
	struct idset s = { 0 };
	assert_int_equal(flowids_parse("7,12,40-45,3", &s), 0);
	assert_int_equal(s.n, 9);
	assert_true(idset_has(&s, 3) && idset_has(&s, 42) && !idset_has(&s, 46));
	char *f = flowids_format(&s);
	assert_string_equal(f, "3,7,12,40-45");
	free(f);
	idset_free(&s);
	static const char *const bad[] = {
		"",	      ",",  "1,",   "0",   "5-3",
		"1-",	      "-1", "1;id", "1 2", "99999999999999999999",
		"1-20000000", "a"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct idset b = { 0 };
		assert_int_equal(flowids_parse(bad[i], &b), -EINVAL);
		idset_free(&b);
	}
}

static void test_times_words(void **state)
{
	(void)state;
	char t[64];
	uint64_t ns;
	fleet_format_ts(1764140400123456789ull, t, sizeof(t));
	assert_string_equal(t, "2025-11-26 07:00:00.123456+00");
	assert_int_equal(fleet_parse_ts(t, &ns), 0);
	assert_true(ns == 1764140400123456000ull);
	assert_int_equal(fleet_parse_ts("2025-11-26 07:00:00+00", &ns), 0);
	assert_true(ns == 1764140400000000000ull);
	assert_int_equal(fleet_parse_ts("2025-11-26 07:00:00.1234567+00", &ns), -EINVAL);
	assert_int_equal(fleet_parse_ts("2025-11-26 07:00:00+01", &ns), -EINVAL);
	assert_int_equal(fleet_parse_ts("yesterday", &ns), -EINVAL);
	assert_true(fleet_safe_word("host-a.example:22"));
	assert_true(fleet_safe_word("/var/lib/ecap"));
	assert_false(fleet_safe_word("-oProxyCommand=x"));
	assert_false(fleet_safe_word("a;id"));
	assert_false(fleet_safe_word("a b"));
	assert_false(fleet_safe_word("$(id)"));
	assert_false(fleet_safe_word(""));
	/* stable ids, positive, spread over shards */
	assert_true(fleet_host_id("hostA") == fleet_host_id("hostA"));
	assert_true(fleet_host_id("hostA") > 0 && fleet_host_id("hostB") > 0);
	size_t per[2] = { 0, 0 };
	for (int i = 0; i < 200; i++) {
		char n[16];
		snprintf(n, sizeof(n), "h%d", i);
		per[fleet_shard(fleet_host_id(n), 2)]++;
	}
	assert_true(per[0] > 60 && per[1] > 60);
	uint8_t a4[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [13] = 0, [14] = 0, [15] = 7 };
	fleet_format_inet(a4, t, sizeof(t));
	assert_string_equal(t, "10.0.0.7");
}

/* An answer as ecap-export writes it: SHB, IDB, a DSB, packets with comments. */
static void answer(struct buf *b, const char *ifname, uint64_t t0, int n)
{
	struct pcapng_shb_info shb = { .comment = "x" };
	struct pcapng_idb_info idb = { .linktype = 1, .snaplen = 0, .name = ifname, .tsresol = 9 };
	uint8_t pkt[60];
	memset(pkt, 0xab, sizeof(pkt));
	assert_int_equal(pcapng_write_shb(b, &shb), 0);
	assert_int_equal(pcapng_write_idb(b, &idb), 0);
	assert_int_equal(pcapng_write_dsb(b, PCAPNG_SECRETS_TLS, "CLIENT_RANDOM a b\n", 18), 0);
	for (int i = 0; i < n; i++) {
		pkt[0] = (uint8_t)i;
		assert_int_equal(pcapng_write_epb(b, 0, t0 + (uint64_t)i * 10, pkt, sizeof(pkt),
						  sizeof(pkt), 2, "PID: 1\nCmd: curl"),
				 0);
	}
}

static int file_of(const void *p, size_t n)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fflush(f);
	return dup(fileno(f)); /* the FILE leaks its stream on purpose: test process */
}

static int check(const void *p, size_t n)
{
	struct pmerge_input in = { .host = "h", .fd = file_of(p, n) };
	int r = pmerge_check(&in);
	pmerge_release(&in);
	close(in.fd);
	return r;
}

static void test_check_hostile(void **state)
{
	(void)state;
	struct buf b = { 0 };
	answer(&b, "eth0", 1000, 3);
	assert_int_equal(check(b.data, b.len), 0);
	assert_int_equal(check(b.data, b.len - 4), -EBADMSG); /* truncated */
	assert_int_equal(check("\0\0\0\0garbage!", 12), -EBADMSG);
	assert_int_equal(check(b.data, 0), -EBADMSG); /* empty */
	struct buf two = { 0 };
	answer(&two, "eth0", 1000, 1);
	answer(&two, "eth0", 2000, 1); /* a second section */
	assert_int_equal(check(two.data, two.len), -EBADMSG);
	struct buf und = { 0 };
	struct pcapng_shb_info shb = { 0 };
	uint8_t pkt[20] = { 0 };
	pcapng_write_shb(&und, &shb);
	pcapng_write_epb(&und, 0, 1, pkt, sizeof(pkt), sizeof(pkt), 0, NULL); /* no IDB */
	assert_int_equal(check(und.data, und.len), -EBADMSG);
	buf_free(&b);
	buf_free(&two);
	buf_free(&und);
}

/* The JSON of a flow and of a process as ecap-ls prints them, locally (no host) and
 * fleet-wide (a "host" member first); hostile text escaped. */
static void test_lsout_json(void **state)
{
	struct flow_info fi = { 0 };
	struct lsout_proc pr = { .pid = 501, .uid = 0, .flows = 2, .packets = 10, .bytes = 900,
				 .first_ns = 1000000001, .last_ns = 2000000000 };
	struct ecap_proc_info pi = { .pid = 501, .start_ns = 7, .start_wall_ns = 3000000000,
				     .ppid = 40, .nspid = 7 };
	char *out = NULL;
	size_t len = 0;
	(void)state;

	fi.rec.id = 12;
	fi.rec.key.proto = 6;
	fi.rec.key.family = 4;
	memcpy(fi.rec.key.addr_a, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\x01", 16);
	memcpy(fi.rec.key.addr_b, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
	fi.rec.key.port_a = 40000;
	fi.rec.key.port_b = 443;
	fi.rec.first_ns = 1000000001;
	fi.rec.proc[0] = (struct ecap_proc){ .valid = true, .pid = 501, .tid = 502, .uid = 1,
					     .gid = 2, .comm = "a\"b\\c\x01" };
	fi.last_ns = 2000000000;
	fi.packets = 5;
	fi.bytes = 600;
	snprintf(pr.comm, sizeof(pr.comm), "app");
	snprintf(pi.exe, sizeof(pi.exe), "/usr/bin/app");
	snprintf(pi.cgroup, sizeof(pi.cgroup), "/system.slice/x.scope");

	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	lsout_json_flow(f, "web\"1", &fi);
	fputc('\n', f);
	lsout_json_flow(f, NULL, &fi);
	fputc('\n', f);
	struct ecap_container ctr = { .name = "web-1", .image = "nginx:1", .labels = "{\"a\":\"b\"}",
				      .pod_name = "web", .pod_namespace = "prod" };
	lsout_json_process(f, "web1", &pr, &pi, &ctr);
	fputc('\n', f);
	lsout_json_process(f, NULL, &pr, NULL, &ctr);
	fclose(f);
	const char *flow = "\"id\":12,\"proto\":\"tcp\",\"a\":{\"addr\":\"10.0.0.1\",\"port\":40000,"
			   "\"process\":{\"pid\":501,\"tid\":502,\"uid\":1,\"gid\":2,\"comm\":"
			   "\"a\\\"b\\\\c\\u0001\"}},\"b\":{\"addr\":\"2001:db8::2\",\"port\":443,"
			   "\"process\":null},\"first_ns\":1000000001,\"first\":"
			   "\"1970-01-01T00:00:01.000000001Z\",\"last_ns\":2000000000,\"last\":"
			   "\"1970-01-01T00:00:02.000000000Z\",\"packets\":5,\"bytes\":600}";
	const char *proc = "\"pid\":501,\"comm\":\"app\",\"uid\":0,\"flows\":2,\"packets\":10,"
			   "\"bytes\":900,\"first_ns\":1000000001,\"first\":"
			   "\"1970-01-01T00:00:01.000000001Z\",\"last_ns\":2000000000,\"last\":"
			   "\"1970-01-01T00:00:02.000000000Z\"";
	char want[4096];
	snprintf(want, sizeof(want),
		 "{\"host\":\"web\\\"1\",%s\n{%s\n{\"host\":\"web1\",%s,\"start_boot_ns\":7,"
		 "\"ppid\":40,\"nspid\":7,\"start_ns\":3000000000,\"start\":"
		 "\"1970-01-01T00:00:03.000000000Z\",\"exe\":\"/usr/bin/app\",\"args\":\"\","
		 "\"parent_comm\":\"\",\"cgroup\":\"/system.slice/x.scope\",\"container_id\":\"\","
		 "\"runtime\":\"\",\"pod_uid\":\"\",\"container_name\":\"web-1\","
		 "\"container_image\":\"nginx:1\",\"container_labels\":\"{\\\"a\\\":\\\"b\\\"}\","
		 "\"pod_name\":\"web\",\"pod_namespace\":\"prod\"}\n{%s}",
		 flow, flow, proc, proc);
	assert_string_equal(out, want);
	free(out);
}

static void test_merge(void **state)
{
	(void)state;
	struct buf a = { 0 }, c = { 0 };
	answer(&a, "eth0", 1000, 3); /* 1000, 1010, 1020 */
	answer(&c, "", 1005, 2);     /* 1005, 1015 */
	struct pmerge_input ia = { .host = "hostA", .fd = file_of(a.data, a.len) };
	struct pmerge_input ic = { .host = "hostC", .fd = file_of(c.data, c.len) };
	assert_int_equal(pmerge_check(&ia), 0);
	assert_int_equal(pmerge_check(&ic), 0);
	struct pmerge_input *ok[2] = { &ia, &ic };
	FILE *out = tmpfile();
	uint64_t packets;
	assert_int_equal(pmerge_write(fileno(out), ok, 2, "answered: hostA hostC", &packets), 0);
	assert_int_equal(packets, 5);
	size_t len = (size_t)ftell(out);
	(void)len;
	fseek(out, 0, SEEK_END);
	len = (size_t)ftell(out);
	uint8_t *m = malloc(len);
	rewind(out);
	assert_int_equal(fread(m, 1, len, out), len);
	/* walk it: 1 SHB, 2 IDBs named, 2 DSBs before the first EPB, EPBs in time order with
	 * the host first in the comment */
	size_t off = 0;
	bool swap = false, seen_epb = false;
	int idbs = 0, dsbs = 0, epbs = 0;
	uint64_t last = 0;
	const char *hosts[5] = { "hostA", "hostC", "hostA", "hostC", "hostA" };
	while (off < len) {
		struct pcapng_block blk;
		long n = pcapng_block_parse(m + off, len - off, &swap, &blk);
		assert_true(n > 0);
		if (blk.type == PCAPNG_BT_IDB) {
			struct pcapng_idb idb;
			assert_int_equal(pcapng_parse_idb(&blk, swap, &idb), 0);
			assert_string_equal(idb.name, idbs == 0 ? "eth0@hostA" : "if0@hostC");
			idbs++;
		} else if (blk.type == PCAPNG_BT_DSB) {
			assert_false(seen_epb);
			dsbs++;
		} else if (blk.type == PCAPNG_BT_EPB) {
			struct pcapng_epb e;
			char want[64];
			seen_epb = true;
			assert_int_equal(pcapng_parse_packet(&blk, swap, &e), 0);
			assert_true(e.ts >= last);
			last = e.ts;
			assert_int_equal(e.ifid, strcmp(hosts[epbs], "hostA") ? 1 : 0);
			snprintf(want, sizeof(want), "Host: %s\nPID: 1\nCmd: curl", hosts[epbs]);
			assert_int_equal(e.comment_len, strlen(want));
			assert_memory_equal(e.comment, want, e.comment_len);
			assert_int_equal(e.flags, 2);
			epbs++;
		}
		off += (size_t)n;
	}
	assert_int_equal(idbs, 2);
	assert_int_equal(dsbs, 2);
	assert_int_equal(epbs, 5);
	free(m);
	fclose(out);
	pmerge_release(&ia);
	pmerge_release(&ic);
	buf_free(&a);
	buf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flowids),
		cmocka_unit_test(test_times_words),
		cmocka_unit_test(test_check_hostile),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_lsout_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
