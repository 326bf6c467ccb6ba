// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_export_writer.c - the PCAP-NG that ecap-export writes (export/writer.c), the process
 * comments (text and which side they name, export/attrib.c) and the packet decoding that
 * tells the sender (export/endpoints.c). A whole file is written, parsed back block by block
 * with the schema codec, and handed to tshark and tcpdump when they are installed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "attrib.h"
#include "endpoints.h"
#include "pcapng.h"
#include "writer.h"

static const uint8_t LO4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 };

static struct flow_record both_ends(void)
{
	struct flow_record r = { .id = 7 };
	r.key.proto = 6;
	r.key.family = 4;
	memcpy(r.key.addr_a, LO4, 16);
	memcpy(r.key.addr_b, LO4, 16);
	r.key.port_a = 40000;
	r.key.port_b = 443;
	r.proc[0] = (struct ecap_proc){ .valid = true, .pid = 1234, .tid = 1235, .uid = 1000,
					.comm = "curl" };
	r.proc[1] = (struct ecap_proc){ .valid = true, .pid = 99, .tid = 0, .uid = 33,
					.comm = "nginx" };
	return r;
}

static void test_comment_text(void **state)
{
	struct flow_record r = both_ends();
	char s[WRITER_COMMENT_MAX];

	int n = writer_format_comment(&r, NULL, NULL, FLOW_SIDE_A, s, sizeof(s));
	assert_int_equal(n, (int)strlen(s));
	assert_string_equal(s, "PID: 1234\nTID: 1235\nUID: 1000\nCmd: curl\n"
			       "Peer PID: 99\nPeer UID: 33\nPeer Cmd: nginx");
	writer_format_comment(&r, NULL, NULL, FLOW_SIDE_B, s, sizeof(s));
	assert_string_equal(s, "PID: 99\nUID: 33\nCmd: nginx\n"
			       "Peer PID: 1234\nPeer TID: 1235\nPeer UID: 1000\nPeer Cmd: curl");
	r.proc[1].valid = false;
	writer_format_comment(&r, NULL, NULL, FLOW_SIDE_A, s, sizeof(s));
	assert_string_equal(s, "PID: 1234\nTID: 1235\nUID: 1000\nCmd: curl");
	writer_format_comment(&r, NULL, NULL, FLOW_SIDE_B, s, sizeof(s));
	assert_string_equal(s, "Peer PID: 1234\nPeer TID: 1235\nPeer UID: 1000\nPeer Cmd: curl");
	r.proc[0].valid = false;
	assert_int_equal(writer_format_comment(&r, NULL, NULL, FLOW_SIDE_A, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	r = both_ends();
	assert_int_equal(writer_format_comment(&r, NULL, NULL, FLOW_SIDE_A, s, 10), -ENOSPC);
	(void)state;
}

/* What the runtime said of the container follows its id, ptcpdump's keys; a pod's uid once. */
static void test_comment_container(void **state)
{
	struct flow_record r = both_ends();
	struct ecap_proc_info pi = { .pid = 1234, .ppid = 1 };
	struct ecap_container c = { .last_ns = 1 };
	const struct ecap_proc_info *info[2] = { &pi, NULL };
	const struct ecap_container *ctr[2] = { &c, NULL };
	char s[WRITER_COMMENT_MAX];

	r.proc[1].valid = false;
	memset(pi.container_id, 'a', 64);
	snprintf(pi.runtime, sizeof(pi.runtime), "docker");
	c = (struct ecap_container){ .last_ns = 1 };
	memcpy(c.id, pi.container_id, sizeof(c.id));
	snprintf(c.name, sizeof(c.name), "web-1");
	snprintf(c.image, sizeof(c.image), "nginx:1.25");
	snprintf(c.labels, sizeof(c.labels), "{\"app\":\"web\"}");
	snprintf(c.pod_name, sizeof(c.pod_name), "web-7d9f");
	snprintf(c.pod_namespace, sizeof(c.pod_namespace), "prod");
	snprintf(c.pod_uid, sizeof(c.pod_uid), "5e1c7b0a-1111-2222-3333-444455556666");
	assert_true(writer_format_comment(&r, info, ctr, FLOW_SIDE_A, s, sizeof(s)) > 0);
	char want[1024];
	snprintf(want, sizeof(want), "PID: 1234\nTID: 1235\nUID: 1000\nCmd: curl\nParentPID: 1\n"
		 "ContainerId: %s\nContainerRuntime: docker\nContainerName: web-1\n"
		 "ContainerImage: nginx:1.25\nContainerLabels: {\"app\":\"web\"}\n"
		 "PodName: web-7d9f\nPodNamespace: prod\n"
		 "PodUID: 5e1c7b0a-1111-2222-3333-444455556666", pi.container_id);
	assert_string_equal(s, want);
	/* the cgroup path's pod uid stands; a record of another container is not used */
	snprintf(pi.pod_uid, sizeof(pi.pod_uid), "11111111-2222-3333-4444-555555555555");
	writer_format_comment(&r, info, ctr, FLOW_SIDE_A, s, sizeof(s));
	assert_non_null(strstr(s, "PodUID: 11111111-2222-3333-4444-555555555555"));
	assert_null(strstr(s, "PodUID: 5e1c"));
	c.id[0] = 'b';
	writer_format_comment(&r, info, ctr, FLOW_SIDE_A, s, sizeof(s));
	assert_null(strstr(s, "ContainerName"));
	(void)state;
}

static void test_comment_side(void **state)
{
	struct flow_record r = both_ends();
	struct attrib at;
	const struct attrib_entry *e;

	assert_int_equal(attrib_init(&at, NULL), 0);
	assert_int_equal(attrib_put(&at, &r), 0);
	e = attrib_get(&at, 7);
	assert_non_null(e);
	/* Outbound: the sender is local. Inbound: the receiver. */
	assert_string_equal(attrib_comment(e, FLOW_SIDE_A, PKT_DIR_OUTBOUND), e->comment[0]);
	assert_string_equal(attrib_comment(e, FLOW_SIDE_A, PKT_DIR_INBOUND), e->comment[1]);
	assert_string_equal(attrib_comment(e, FLOW_SIDE_B, PKT_DIR_OUTBOUND), e->comment[1]);
	assert_string_equal(attrib_comment(e, FLOW_SIDE_B, PKT_DIR_UNKNOWN), e->comment[1]);
	assert_string_equal(attrib_comment(e, -1, PKT_DIR_UNKNOWN), e->comment[0]);
	assert_true(strncmp(e->comment[1], "PID: 99\n", 8) == 0);

	/* Only B known: an unknown-direction packet from A names B, as the receiver. */
	r.id = 8;
	r.proc[0].valid = false;
	assert_int_equal(attrib_put(&at, &r), 0);
	e = attrib_get(&at, 8);
	assert_string_equal(attrib_comment(e, FLOW_SIDE_A, PKT_DIR_UNKNOWN), e->comment[1]);
	assert_string_equal(attrib_comment(e, -1, 0), "PID: 99\nUID: 33\nCmd: nginx");

	/* A flow nobody knows (no store to ask): no comment, asked once. */
	e = attrib_get(&at, 9);
	assert_non_null(e);
	assert_null(attrib_comment(e, FLOW_SIDE_A, PKT_DIR_OUTBOUND));
	assert_int_equal(at.lookups_failed, 1);
	assert_non_null(attrib_get(&at, 9));
	assert_int_equal(at.lookups_failed, 1);
	assert_null(attrib_get(&at, 0));

	/* Growth keeps every entry. */
	for (uint64_t id = 100; id < 3000; id++) {
		r.id = id;
		assert_int_equal(attrib_put(&at, &r), 0);
	}
	for (uint64_t id = 100; id < 3000; id++)
		assert_int_equal(attrib_get(&at, id)->flow_id, id);
	attrib_free(&at);
	(void)state;
}

/* An Ethernet + IPv4 + TCP frame 127.0.0.1:sport -> 127.0.0.1:dport with a payload. */
static size_t frame(uint8_t *f, uint16_t sport, uint16_t dport, const char *payload)
{
	size_t pl = strlen(payload), ip_len = 20 + 20 + pl;
	memset(f, 0, 14 + ip_len);
	f[12] = 0x08;
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, LO4 + 12, 4);
	memcpy(ip + 16, LO4 + 12, 4);
	uint8_t *t = ip + 20;
	t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8), t[3] = (uint8_t)dport;
	t[12] = 5 << 4;
	t[13] = 0x18;
	t[14] = 0xff, t[15] = 0xff;
	memcpy(t + 20, payload, pl);
	return 14 + ip_len;
}

static void test_endpoints(void **state)
{
	struct flow_record r = both_ends();
	struct endpoints e;
	uint8_t f[256], g[256];
	size_t n = frame(f, 40000, 443, "x");

	assert_int_equal(endpoints_parse(1, f, (uint32_t)n, &e), 0);
	assert_int_equal(e.proto, 6);
	assert_int_equal(e.sport, 40000);
	assert_int_equal(e.dport, 443);
	assert_memory_equal(e.src, LO4, 16);
	assert_int_equal(endpoints_sender(&e, &r.key), FLOW_SIDE_A);
	n = frame(f, 443, 40000, "y");
	endpoints_parse(1, f, (uint32_t)n, &e);
	assert_int_equal(endpoints_sender(&e, &r.key), FLOW_SIDE_B);
	n = frame(f, 443, 40001, "y");
	endpoints_parse(1, f, (uint32_t)n, &e);
	assert_int_equal(endpoints_sender(&e, &r.key), -1);

	/* The same packet behind an 802.1Q tag, behind SLL2, and as raw IP. */
	n = frame(f, 40000, 443, "x");
	memcpy(g, f, 12);
	g[12] = 0x81, g[13] = 0x00, g[14] = 0, g[15] = 5;
	memcpy(g + 16, f + 12, n - 12);
	assert_int_equal(endpoints_parse(1, g, (uint32_t)n + 4, &e), 0);
	assert_int_equal(e.sport, 40000);
	memset(g, 0, 20);
	g[0] = 0x08;
	memcpy(g + 20, f + 14, n - 14);
	assert_int_equal(endpoints_parse(276, g, (uint32_t)n + 6, &e), 0);
	assert_int_equal(e.dport, 443);
	assert_int_equal(endpoints_parse(101, f + 14, (uint32_t)n - 14, &e), 0);
	assert_int_equal(e.sport, 40000);

	/* Cut short, not IP, unknown link type. */
	assert_int_equal(endpoints_parse(1, f, 20, &e), -EINVAL);
	assert_int_equal(endpoints_parse(1, f, 14 + 20, &e), 0);
	assert_false(e.has_ports);
	f[12] = 0x08, f[13] = 0x06; /* ARP */
	assert_int_equal(endpoints_parse(1, f, (uint32_t)n, &e), -EINVAL);
	assert_int_equal(endpoints_parse(147, f, (uint32_t)n, &e), -EINVAL);
	(void)state;
}

/* ---- a whole file ----------------------------------------------------------------------- */

struct parsed {
	uint32_t types[32];
	size_t n;
	struct pcapng_epb epb[8];
	size_t n_epb;
	char dsb[1024];
	uint64_t ifrecv;
	char shb_comment[256], shb_appl[64];
	char ifname[64];
	uint64_t ts_units;
};

static void parse_file(const uint8_t *p, size_t len, struct parsed *out)
{
	bool swap = false;
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	while (off < len) {
		struct pcapng_block blk;
		long r = pcapng_block_parse(p + off, len - off, &swap, &blk);
		if (r <= 0)
			fail_msg("block at %zu: %s", off, pcapng_error());
		assert_true(out->n < 32);
		out->types[out->n++] = blk.type;
		struct pcapng_opt_iter it;
		uint16_t code, olen;
		const uint8_t *val;
		if (blk.type == PCAPNG_BT_SHB) {
			assert_int_equal(pcapng_opts_begin(&it, &blk, 16, swap), 0);
			while (pcapng_opts_next(&it, &code, &val, &olen) == 1) {
				if (code == PCAPNG_OPT_COMMENT)
					snprintf(out->shb_comment, sizeof(out->shb_comment),
						 "%.*s", olen, (const char *)val);
				if (code == PCAPNG_SHB_USERAPPL)
					snprintf(out->shb_appl, sizeof(out->shb_appl), "%.*s", olen,
						 (const char *)val);
			}
		} else if (blk.type == PCAPNG_BT_IDB) {
			struct pcapng_idb idb;
			assert_int_equal(pcapng_parse_idb(&blk, swap, &idb), 0);
			snprintf(out->ifname, sizeof(out->ifname), "%s", idb.name);
			out->ts_units = idb.ts_units_per_sec;
		} else if (blk.type == PCAPNG_BT_EPB) {
			assert_true(out->n_epb < 8);
			struct pcapng_epb *e = &out->epb[out->n_epb++];
			assert_int_equal(pcapng_parse_packet(&blk, swap, e), 0);
		} else if (blk.type == PCAPNG_BT_DSB) {
			uint32_t type, dlen;
			const uint8_t *d;
			assert_int_equal(pcapng_parse_dsb(&blk, swap, &type, &d, &dlen), 0);
			assert_int_equal(type, PCAPNG_SECRETS_TLS);
			snprintf(out->dsb, sizeof(out->dsb), "%.*s", (int)dlen, (const char *)d);
		} else if (blk.type == PCAPNG_BT_ISB) {
			assert_int_equal(pcapng_opts_begin(&it, &blk, 12, swap), 0);
			while (pcapng_opts_next(&it, &code, &val, &olen) == 1)
				if (code == PCAPNG_ISB_IFRECV && olen == 8)
					memcpy(&out->ifrecv, val, 8); /* little-endian host */
		}
		off += (size_t)r;
	}
}

static void test_file(void **state)
{
	char path[] = "/tmp/test_export_writer.XXXXXX";
	int fd = mkstemp(path);
	struct writer w;
	struct ecap_iface iface = { .name = "lo", .linktype = 1, .snaplen = 262144,
				    .filter = "tcp port 443" };
	struct tls_secret sec = { .label = "CLIENT_RANDOM", .secret_len = 48 };
	struct pcapng_shb_info shb = { .comment = "Query: test", .os = "Linux",
				       .hardware = "x86_64", .userappl = "ecap-export test" };
	uint8_t f[3][128];
	size_t fl[3];
	struct parsed p;

	assert_true(fd >= 0);
	for (int i = 0; i < 32; i++)
		sec.client_random[i] = (uint8_t)i;
	memset(sec.secret, 0xab, 48);
	fl[0] = frame(f[0], 40000, 443, "GET / HTTP/1.1\r\n\r\n");
	fl[1] = frame(f[1], 443, 40000, "HTTP/1.1 200 OK\r\n\r\n");
	fl[2] = frame(f[2], 40000, 443, "bye");

	assert_int_equal(writer_init(&w, fd, &shb), 0);
	assert_int_equal(writer_secrets(&w, &sec, 1), 0);
	assert_int_equal(writer_iface_index(&w, 3), -1);
	assert_int_equal(writer_add_iface(&w, 3, &iface), 0);
	assert_int_equal(writer_add_iface(&w, 3, &iface), 0); /* once */
	assert_int_equal(writer_iface_index(&w, 3), 0);
	for (int i = 0; i < 3; i++) {
		struct ecap_packet pkt = {
			.ts_ns = 1795672800123456789ull + (uint64_t)i * 1000,
			.iface = 3, .caplen = (uint32_t)fl[i],
			.origlen = (uint32_t)fl[i] + (i == 2),
			.flags = i == 1 ? PKT_DIR_INBOUND : PKT_DIR_OUTBOUND, .flow_id = 7,
			.data = f[i],
		};
		const char *comment = i == 2 ? NULL : "PID: 1234\nCmd: curl";
		assert_int_equal(writer_packet(&w, &pkt, comment), 0);
	}
	struct ecap_packet stray = { .iface = 5, .caplen = 1, .origlen = 1, .data = f[0] };
	assert_int_equal(writer_packet(&w, &stray, NULL), -ENOENT);
	assert_int_equal(writer_isb(&w, 0, 1795672800000000000ull, 1795672801000000000ull, 2), 0);
	assert_int_equal(writer_isb(&w, 1, 1, 2, 0), -EINVAL);
	assert_int_equal(writer_flush(&w), 0);
	assert_int_equal(w.packets, 3);
	assert_int_equal(w.ifs[0].packets, 3);

	/* Read it back. */
	off_t size = lseek(fd, 0, SEEK_END);
	uint8_t *data = malloc((size_t)size);
	assert_non_null(data);
	assert_int_equal(pread(fd, data, (size_t)size, 0), size);
	assert_int_equal((uint64_t)size, w.bytes_out);
	parse_file(data, (size_t)size, &p);
	const uint32_t want[] = { PCAPNG_BT_SHB, PCAPNG_BT_DSB, PCAPNG_BT_IDB, PCAPNG_BT_EPB,
				  PCAPNG_BT_EPB, PCAPNG_BT_EPB, PCAPNG_BT_ISB };
	assert_int_equal(p.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < p.n; i++)
		assert_int_equal(p.types[i], want[i]);
	assert_string_equal(p.shb_comment, "Query: test");
	assert_string_equal(p.shb_appl, "ecap-export test");
	assert_string_equal(p.ifname, "lo");
	assert_int_equal(p.ts_units, 1000000000ull);
	char dsb[256] = "CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f"
			"101112131415161718191a1b1c1d1e1f ";
	for (int i = 0; i < 48; i++)
		strcat(dsb, "ab");
	strcat(dsb, "\n");
	assert_string_equal(p.dsb, dsb);
	assert_int_equal(p.epb[0].ts, 1795672800123456789ull);
	assert_int_equal(p.epb[2].ts, 1795672800123458789ull);
	assert_int_equal(p.epb[0].flags, PKT_DIR_OUTBOUND);
	assert_int_equal(p.epb[1].flags, PKT_DIR_INBOUND);
	assert_int_equal(p.epb[0].caplen, fl[0]);
	assert_int_equal(p.epb[2].origlen, fl[2] + 1);
	assert_memory_equal(p.epb[1].data, f[1], fl[1]);
	assert_int_equal(p.epb[0].comment_len, strlen("PID: 1234\nCmd: curl"));
	assert_memory_equal(p.epb[0].comment, "PID: 1234\nCmd: curl", p.epb[0].comment_len);
	assert_null(p.epb[2].comment);
	assert_int_equal(p.ifrecv, 3);
	free(data);

	/* Stock readers take it without a word on stderr. */
	char cmd[512];
	if (system("command -v tshark >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "tshark -r %s -T fields -e frame.comment -e "
			 "frame.p2p_dir 2>%s.err | grep -c 'PID: 1234' | grep -qx 2 && "
			 "! grep -v '^Running as user' %s.err | grep -q .", path, path, path);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s.err", path);
		unlink(cmd);
	}
	if (system("command -v tcpdump >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "tcpdump -nr %s 2>/dev/null | wc -l | grep -qx 3", path);
		assert_int_equal(system(cmd), 0);
	}
	writer_free(&w);
	close(fd);
	unlink(path);
	(void)state;
}

/* The SHB made at the first flush (writer_init_deferred), once. */
static int deferred_shb(void *ctx, struct buf *out)
{
	int *calls = ctx;
	struct pcapng_shb_info shb = { .comment = "Query: deferred",
				       .userappl = "ecap-export test" };
	(*calls)++;
	return pcapng_write_shb(out, &shb);
}

/* What the proof signs (writer_written) is what a walk of the file finds: its length,
 * SHA-256, packets and DSBs, with the SHB made at the first flush and further flushes. */
static void test_written(void **state)
{
	char path[] = "/tmp/test_export_writer.XXXXXX";
	int fd = mkstemp(path), calls = 0;
	struct writer w;
	struct ecap_iface iface = { .name = "lo", .linktype = 1, .snaplen = 262144 };
	struct tls_secret sec = { .label = "CLIENT_RANDOM", .secret_len = 48 };
	uint8_t f[128];
	size_t fl = frame(f, 40000, 443, "GET / HTTP/1.1\r\n\r\n");

	assert_true(fd >= 0);
	assert_int_equal(writer_init_deferred(&w, fd, deferred_shb, &calls), 0);
	assert_int_equal(writer_hash(&w), 0);
	assert_int_equal(writer_secrets(&w, &sec, 1), 0);
	assert_int_equal(writer_add_iface(&w, 0, &iface), 0);
	assert_int_equal(calls, 0); /* nothing written yet */
	for (int i = 0; i < 6; i++) {
		struct ecap_packet pkt = { .ts_ns = 1795672800123456789ull + (uint64_t)i,
					   .caplen = (uint32_t)fl, .origlen = (uint32_t)fl,
					   .data = f };
		assert_int_equal(writer_packet(&w, &pkt, i % 2 ? "PID: 1" : NULL), 0);
		if (i % 2) /* flushes in the middle of the file, as a large export's */
			assert_int_equal(writer_flush(&w), 0);
	}
	assert_int_equal(writer_secrets(&w, &sec, 1), 0); /* a later DSB (--follow) */
	assert_int_equal(writer_isb(&w, 0, 1, 2, 0), 0);
	assert_int_equal(writer_flush(&w), 0);
	assert_int_equal(calls, 1);

	struct proof_file written, scanned;
	const char *why = NULL;
	uint64_t bad = 0;
	writer_written(&w, &written);
	assert_int_equal(proof_scan_file(fd, &scanned, NULL, NULL, &why, &bad), 0);
	assert_int_equal(written.bytes, scanned.bytes);
	assert_memory_equal(written.sha256, scanned.sha256, sizeof(scanned.sha256));
	assert_int_equal(written.packets, 6);
	assert_int_equal(scanned.packets, 6);
	assert_int_equal(written.dsbs, 2);
	assert_int_equal(scanned.dsbs, 2);

	/* the SHB came first, with what the callback made */
	uint8_t *data = malloc(scanned.bytes);
	struct parsed p;
	assert_non_null(data);
	assert_int_equal(pread(fd, data, scanned.bytes, 0), (ssize_t)scanned.bytes);
	parse_file(data, scanned.bytes, &p);
	assert_int_equal(p.types[0], PCAPNG_BT_SHB);
	assert_string_equal(p.shb_comment, "Query: deferred");
	free(data);
	writer_free(&w);
	close(fd);
	unlink(path);
	(void)state;
}

/* The proof signs only the file the writer wrote: not one another process appended to, nor
 * one put in its place meanwhile (proof_write refuses before it reads or signs anything). */
static void test_proof_refuses(void **state)
{
	char path[] = "/tmp/test_export_writer.XXXXXX", other[] = "/tmp/test_export_writer.XXXXXX";
	char why[512];
	int fd = mkstemp(path), fd2 = mkstemp(other);
	struct writer w;
	struct proof p;
	struct proof_file written;
	struct stat st;
	assert_true(fd >= 0 && fd2 >= 0);
	memset(&p, 0, sizeof(p));
	assert_int_equal(writer_init(&w, fd, NULL), 0);
	assert_int_equal(writer_hash(&w), 0);
	assert_int_equal(writer_flush(&w), 0);
	writer_written(&w, &written);

	assert_int_equal(write(fd, "more", 4), 4); /* another writer appends */
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(proof_write(&p, path, &st, &written, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "another process wrote to it"));

	assert_int_equal(ftruncate(fd, (off_t)written.bytes), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(rename(other, path), 0); /* another file in its place */
	assert_int_equal(proof_write(&p, path, &st, &written, why, sizeof(why)), -ESTALE);
	assert_non_null(strstr(why, "no longer the file ecap-export wrote"));
	assert_int_equal(proof_write(&p, path, NULL, &written, why, sizeof(why)), -EINVAL);
	char proof_path[64];
	snprintf(proof_path, sizeof(proof_path), "%s%s", path, PROOF_SUFFIX);
	assert_int_equal(access(proof_path, F_OK), -1); /* no proof written */
	writer_free(&w);
	close(fd);
	close(fd2);
	unlink(path);
	(void)state;
}

static void test_keylog_line(void **state)
{
	struct tls_secret sec = { .label = "CLIENT_TRAFFIC_SECRET_0", .secret_len = 2,
				  .secret = { 0x01, 0xfe } };
	char line[WRITER_KEYLOG_LINE_MAX];

	memset(sec.client_random, 0xff, 32);
	int n = writer_keylog_line(&sec, line, sizeof(line));
	assert_int_equal(n, (int)strlen(line));
	assert_string_equal(line, "CLIENT_TRAFFIC_SECRET_0 "
				  "ffffffffffffffffffffffffffffffff"
				  "ffffffffffffffffffffffffffffffff 01fe\n");
	assert_int_equal(writer_keylog_line(&sec, line, 20), -ENOSPC);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comment_text),
		cmocka_unit_test(test_comment_container),
		cmocka_unit_test(test_comment_side),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_keylog_line),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_written),
		cmocka_unit_test(test_proof_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
