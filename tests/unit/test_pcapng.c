// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_pcapng.c - unit tests of the PCAP-NG codec (schema/pcapng.c): every writer read back
 * by the parser, lengths that lie (truncated, odd, below the minimum, trailer mismatch,
 * options overrunning their block), a big-endian section built by hand, if_tsresol values,
 * a DSB wrapped in place around its data (the same bytes as one written whole, at every
 * padding), the packet path's inline EPB writer (pcapng_write_epb's bytes, its padding zeroed
 * in room that held other bytes), and a file that tshark must read with its comment and
 * flags.
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

#include "le.h"
#include "pcapng.h"

static const uint8_t pkt_a[] = { 0x45, 0x00, 0x00, 0x1d, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
				 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25 };

/* Parse the block at p[*off], advancing *off; fails the test when it does not parse. */
static void next_block(const struct buf *b, size_t *off, bool *swap, struct pcapng_block *blk)
{
	long n = pcapng_block_parse(b->data + *off, b->len - *off, swap, blk);
	if (n <= 0)
		fail_msg("block at %zu: %ld (%s)", *off, n, pcapng_error());
	*off += (size_t)n;
}

static void test_roundtrip(void **state)
{
	struct buf b = { 0 };
	struct pcapng_shb_info shb = { .comment = "hello", .os = "Linux", .userappl = "ecap" };
	struct pcapng_idb_info idb0 = { .linktype = 1, .snaplen = 262144, .name = "eth0@ns1",
					.filter = "tcp port 443", .tsresol = 9,
					.description = "netns 4026532870 /run/netns/ns1 ifindex 2" };
	struct pcapng_idb_info idb1 = { .linktype = 113, .snaplen = 0, .tsresol = 6 };
	struct pcapng_isb_info isb = { .starttime = 5, .endtime = 0x100000007ull,
				       .ifrecv = 10, .ifdrop = 3, .comment = NULL };
	static const char keys[] = "CLIENT_RANDOM 00 11\n";
	uint64_t ts = 0x0123456789abcdefull;

	assert_int_equal(pcapng_write_shb(&b, &shb), 0);
	assert_int_equal(pcapng_write_idb(&b, &idb0), 0);
	assert_int_equal(pcapng_write_idb(&b, &idb1), 0);
	assert_int_equal(pcapng_write_dsb(&b, PCAPNG_SECRETS_TLS, keys, sizeof(keys) - 1), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, ts, pkt_a, sizeof(pkt_a), 1500, 2,
					  "PID: 1234\nCmd: /usr/bin/curl"), 0);
	assert_int_equal(pcapng_write_epb(&b, 1, 7, pkt_a, 3, 3, 0, NULL), 0);
	assert_int_equal(pcapng_write_epb(&b, 1, 8, pkt_a, 0, 60, 1, NULL), 0);
	assert_int_equal(pcapng_write_isb(&b, 0, 99, &isb), 0);
	assert_int_equal(b.len % 4, 0);

	size_t off = 0;
	bool swap = true; /* must be set by the SHB */
	struct pcapng_block blk;
	next_block(&b, &off, &swap, &blk);
	assert_int_equal(blk.type, PCAPNG_BT_SHB);
	assert_false(swap);
	struct pcapng_opt_iter it;
	uint16_t code, len;
	const uint8_t *val;
	assert_int_equal(pcapng_opts_begin(&it, &blk, 16, swap), 0);
	int seen = 0;
	while (pcapng_opts_next(&it, &code, &val, &len) > 0) {
		if (code == PCAPNG_OPT_COMMENT) {
			assert_int_equal(len, 5);
			assert_memory_equal(val, "hello", 5);
			seen |= 1;
		} else if (code == PCAPNG_SHB_OS) {
			assert_memory_equal(val, "Linux", 5);
			seen |= 2;
		} else if (code == PCAPNG_SHB_USERAPPL) {
			seen |= 4;
		}
	}
	assert_int_equal(seen, 7);
	/* section length -1 */
	assert_int_equal(le64_load(blk.body + 8), UINT64_MAX);

	struct pcapng_idb idb;
	next_block(&b, &off, &swap, &blk);
	assert_int_equal(blk.type, PCAPNG_BT_IDB);
	assert_int_equal(pcapng_parse_idb(&blk, swap, &idb), 0);
	assert_int_equal(idb.linktype, 1);
	assert_int_equal(idb.snaplen, 262144);
	assert_string_equal(idb.name, "eth0@ns1");
	assert_string_equal(idb.filter, "tcp port 443");
	assert_string_equal(idb.description, "netns 4026532870 /run/netns/ns1 ifindex 2");
	assert_int_equal(idb.ts_units_per_sec, 1000000000ull);
	next_block(&b, &off, &swap, &blk);
	assert_int_equal(pcapng_parse_idb(&blk, swap, &idb), 0);
	assert_int_equal(idb.linktype, 113);
	assert_string_equal(idb.name, "");
	assert_string_equal(idb.filter, "");
	assert_string_equal(idb.description, "");
	assert_int_equal(idb.ts_units_per_sec, 1000000ull);

	next_block(&b, &off, &swap, &blk);
	assert_int_equal(blk.type, PCAPNG_BT_DSB);
	uint32_t stype, slen;
	const uint8_t *sdata;
	assert_int_equal(pcapng_parse_dsb(&blk, swap, &stype, &sdata, &slen), 0);
	assert_int_equal(stype, PCAPNG_SECRETS_TLS);
	assert_int_equal(slen, sizeof(keys) - 1);
	assert_memory_equal(sdata, keys, slen);

	struct pcapng_epb epb;
	next_block(&b, &off, &swap, &blk);
	assert_int_equal(blk.type, PCAPNG_BT_EPB);
	assert_int_equal(pcapng_parse_packet(&blk, swap, &epb), 0);
	assert_int_equal(epb.ifid, 0);
	assert_int_equal(epb.ts, ts);
	assert_int_equal(epb.caplen, sizeof(pkt_a));
	assert_int_equal(epb.origlen, 1500);
	assert_memory_equal(epb.data, pkt_a, sizeof(pkt_a));
	assert_int_equal(epb.flags, 2);
	assert_non_null(epb.comment);
	assert_int_equal(epb.comment_len, strlen("PID: 1234\nCmd: /usr/bin/curl"));
	assert_memory_equal(epb.comment, "PID: 1234\nCmd: /usr/bin/curl", epb.comment_len);

	next_block(&b, &off, &swap, &blk);
	assert_int_equal(pcapng_parse_packet(&blk, swap, &epb), 0);
	assert_int_equal(epb.ifid, 1);
	assert_int_equal(epb.ts, 7);
	assert_int_equal(epb.caplen, 3);
	assert_int_equal(epb.flags, 0);
	assert_null(epb.comment);
	assert_int_equal(blk.total_len, 32 + 4); /* 3 bytes padded to 4, no options */

	next_block(&b, &off, &swap, &blk);
	assert_int_equal(pcapng_parse_packet(&blk, swap, &epb), 0);
	assert_int_equal(epb.caplen, 0);
	assert_int_equal(epb.origlen, 60);
	assert_int_equal(epb.flags, 1);

	next_block(&b, &off, &swap, &blk);
	assert_int_equal(blk.type, PCAPNG_BT_ISB);
	assert_int_equal(pcapng_opts_begin(&it, &blk, 12, swap), 0);
	seen = 0;
	while (pcapng_opts_next(&it, &code, &val, &len) > 0) {
		assert_int_equal(len, 8);
		if (code == PCAPNG_ISB_ENDTIME) {
			/* high word first */
			assert_int_equal(le32_load(val), 1);
			assert_int_equal(le32_load(val + 4), 7);
			seen |= 1;
		} else if (code == PCAPNG_ISB_IFDROP) {
			assert_int_equal(le64_load(val), 3);
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	assert_int_equal(off, b.len);
	buf_free(&b);
}

static void test_truncated(void **state)
{
	struct buf b = { 0 };
	assert_int_equal(pcapng_write_shb(&b, NULL), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 1, pkt_a, sizeof(pkt_a), 60, 0, NULL), 0);
	bool swap = false;
	struct pcapng_block blk;
	long shb = pcapng_block_parse(b.data, b.len, &swap, &blk);
	assert_int_equal(shb, 28);
	/* every prefix of the EPB is "need more", never an error or a block */
	for (size_t n = 0; n < b.len - (size_t)shb; n++)
		assert_int_equal(pcapng_block_parse(b.data + shb, n, &swap, &blk), 0);
	assert_true(pcapng_block_parse(b.data + shb, b.len - shb, &swap, &blk) > 0);
	buf_free(&b);
}

static void test_bad_lengths(void **state)
{
	struct buf b = { 0 };
	assert_int_equal(pcapng_write_epb(&b, 0, 1, pkt_a, 8, 8, 0, NULL), 0);
	bool swap = false;
	struct pcapng_block blk;
	uint8_t p[64];
	assert_true(b.len <= sizeof(p));
	uint32_t len = (uint32_t)b.len;

	/* odd length */
	memcpy(p, b.data, len);
	le32_store(p + 4, len - 2);
	assert_int_equal(pcapng_block_parse(p, len, &swap, &blk), -EBADMSG);
	assert_non_null(strstr(pcapng_error(), "multiple of 4"));
	/* below the minimum */
	le32_store(p + 4, 8);
	assert_int_equal(pcapng_block_parse(p, len, &swap, &blk), -EBADMSG);
	/* above the maximum: an error at once, not a request for 4 GiB */
	le32_store(p + 4, 0xfffffff0u);
	assert_int_equal(pcapng_block_parse(p, len, &swap, &blk), -EBADMSG);
	/* trailer differs */
	memcpy(p, b.data, len);
	le32_store(p + len - 4, len + 4);
	assert_int_equal(pcapng_block_parse(p, len, &swap, &blk), -EBADMSG);
	assert_non_null(strstr(pcapng_error(), "trailing"));
	/* captured length beyond the block */
	memcpy(p, b.data, len);
	le32_store(p + 20, 200);
	assert_int_equal(pcapng_block_parse(p, len, &swap, &blk), (long)len);
	struct pcapng_epb epb;
	assert_int_equal(pcapng_parse_packet(&blk, swap, &epb), -EBADMSG);
	assert_non_null(strstr(pcapng_error(), "captured length"));
	buf_free(&b);
}

static void test_option_overrun(void **state)
{
	struct buf b = { 0 };
	assert_int_equal(pcapng_write_epb(&b, 0, 1, pkt_a, 4, 4, 0, "abcdefgh"), 0);
	bool swap = false;
	struct pcapng_block blk;
	/* the comment option sits at 28 + 4 */
	uint8_t *opt = b.data + 32;
	assert_int_equal(le16_load(opt), PCAPNG_OPT_COMMENT);
	le16_store(opt + 2, 200);
	assert_true(pcapng_block_parse(b.data, b.len, &swap, &blk) > 0);
	struct pcapng_epb epb;
	assert_int_equal(pcapng_parse_packet(&blk, swap, &epb), -EBADMSG);
	assert_non_null(strstr(pcapng_error(), "overruns"));
	/* a 2-byte tail is an overrun too */
	struct pcapng_opt_iter it;
	uint16_t code, len;
	const uint8_t *val;
	le16_store(opt + 2, 8);
	assert_true(pcapng_block_parse(b.data, b.len, &swap, &blk) > 0);
	assert_int_equal(pcapng_opts_begin(&it, &blk, 24, swap), 0);
	it.end -= 2;
	assert_int_equal(pcapng_opts_next(&it, &code, &val, &len), 1);
	assert_int_equal(pcapng_opts_next(&it, &code, &val, &len), -EBADMSG);
	/* fixed part beyond the body */
	assert_int_equal(pcapng_opts_begin(&it, &blk, blk.body_len + 4, swap), -EBADMSG);
	/* a bad epb_flags length */
	buf_reset(&b);
	assert_int_equal(pcapng_write_epb(&b, 0, 1, pkt_a, 4, 4, 1, NULL), 0);
	le16_store(b.data + 32 + 2, 2);
	assert_true(pcapng_block_parse(b.data, b.len, &swap, &blk) > 0);
	assert_int_equal(pcapng_parse_packet(&blk, swap, &epb), -EBADMSG);
	buf_free(&b);
}

static void be32(uint8_t **w, uint32_t v)
{
	(*w)[0] = (uint8_t)(v >> 24);
	(*w)[1] = (uint8_t)(v >> 16);
	(*w)[2] = (uint8_t)(v >> 8);
	(*w)[3] = (uint8_t)v;
	*w += 4;
}

static void be16(uint8_t **w, uint16_t v)
{
	(*w)[0] = (uint8_t)(v >> 8);
	(*w)[1] = (uint8_t)v;
	*w += 2;
}

static void test_big_endian(void **state)
{
	uint8_t f[256], *w = f;
	/* SHB */
	be32(&w, PCAPNG_BT_SHB); be32(&w, 28); be32(&w, PCAPNG_BYTE_ORDER_MAGIC);
	be16(&w, 1); be16(&w, 0); be32(&w, 0xffffffff); be32(&w, 0xffffffff); be32(&w, 28);
	/* IDB: linktype 1, snaplen 65535, if_name "en0", if_tsresol 0x83 (1/8 s),
	 * if_tsoffset 100 */
	uint8_t *idb = w;
	be32(&w, PCAPNG_BT_IDB); be32(&w, 0);
	be16(&w, 1); be16(&w, 0); be32(&w, 65535);
	be16(&w, PCAPNG_IF_NAME); be16(&w, 3); memcpy(w, "en0", 4); w += 4;
	be16(&w, PCAPNG_IF_TSRESOL); be16(&w, 1); memcpy(w, "\x83\0\0", 4); w += 4;
	be16(&w, PCAPNG_IF_TSOFFSET); be16(&w, 8); be32(&w, 0); be32(&w, 100);
	be16(&w, 0); be16(&w, 0);
	uint32_t idb_len = (uint32_t)(w - idb) + 4;
	be32(&w, idb_len);
	uint8_t *t = idb + 4;
	be32(&t, idb_len);
	/* EPB with 5 bytes of data and epb_flags 1 */
	uint8_t *epb = w;
	be32(&w, PCAPNG_BT_EPB); be32(&w, 0);
	be32(&w, 0); be32(&w, 1); be32(&w, 2); be32(&w, 5); be32(&w, 64);
	memcpy(w, "ABCDE\0\0", 8); w += 8;
	be16(&w, PCAPNG_EPB_FLAGS); be16(&w, 4); be32(&w, 1);
	be16(&w, 0); be16(&w, 0);
	uint32_t epb_len = (uint32_t)(w - epb) + 4;
	be32(&w, epb_len);
	t = epb + 4;
	be32(&t, epb_len);

	size_t n = (size_t)(w - f), off = 0;
	bool swap = false;
	struct pcapng_block blk;
	long r = pcapng_block_parse(f, n, &swap, &blk);
	assert_int_equal(r, 28);
	assert_int_equal(swap, __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
	off += 28;
	r = pcapng_block_parse(f + off, n - off, &swap, &blk);
	assert_int_equal(r, idb_len);
	assert_int_equal(blk.type, PCAPNG_BT_IDB);
	struct pcapng_idb i;
	assert_int_equal(pcapng_parse_idb(&blk, swap, &i), 0);
	assert_int_equal(i.linktype, 1);
	assert_int_equal(i.snaplen, 65535);
	assert_string_equal(i.name, "en0");
	assert_int_equal(i.ts_units_per_sec, 8);
	assert_int_equal(i.tsoffset_sec, 100);
	off += (size_t)r;
	r = pcapng_block_parse(f + off, n - off, &swap, &blk);
	assert_int_equal(r, epb_len);
	struct pcapng_epb e;
	assert_int_equal(pcapng_parse_packet(&blk, swap, &e), 0);
	assert_int_equal(e.ts, 0x100000002ull);
	assert_int_equal(e.caplen, 5);
	assert_int_equal(e.origlen, 64);
	assert_int_equal(e.flags, 1);
	assert_memory_equal(e.data, "ABCDE", 5);
	off += (size_t)r;
	assert_int_equal(off, n);

	/* a bad byte-order magic */
	f[8] ^= 0xff;
	swap = false;
	assert_int_equal(pcapng_block_parse(f, n, &swap, &blk), -EBADMSG);
	assert_non_null(strstr(pcapng_error(), "magic"));
}

static void test_simple_packet(void **state)
{
	/* SPB: origlen 6, 8 bytes of room: caplen 6; origlen 100: caplen is the room */
	uint8_t p[24];
	le32_store(p, PCAPNG_BT_SPB);
	le32_store(p + 4, 24);
	le32_store(p + 8, 6);
	memcpy(p + 12, "abcdefgh", 8);
	le32_store(p + 20, 24);
	bool swap = false;
	struct pcapng_block blk;
	assert_int_equal(pcapng_block_parse(p, sizeof(p), &swap, &blk), 24);
	struct pcapng_epb e;
	assert_int_equal(pcapng_parse_packet(&blk, swap, &e), 0);
	assert_int_equal(e.caplen, 6);
	assert_int_equal(e.ifid, 0);
	le32_store(p + 8, 100);
	assert_int_equal(pcapng_block_parse(p, sizeof(p), &swap, &blk), 24);
	assert_int_equal(pcapng_parse_packet(&blk, swap, &e), 0);
	assert_int_equal(e.caplen, 8);
	assert_int_equal(e.origlen, 100);
}

static void test_tsresol(void **state)
{
	assert_int_equal(pcapng_tsresol_units(6), 1000000ull);
	assert_int_equal(pcapng_tsresol_units(9), 1000000000ull);
	assert_int_equal(pcapng_tsresol_units(0), 1);
	assert_int_equal(pcapng_tsresol_units(19), 10000000000000000000ull);
	assert_int_equal(pcapng_tsresol_units(20), 0);
	assert_int_equal(pcapng_tsresol_units(0x80 | 10), 1024);
	assert_int_equal(pcapng_tsresol_units(0x80 | 63), 1ull << 63);
	assert_int_equal(pcapng_tsresol_units(0x80 | 64), 0);

	struct buf b = { 0 };
	struct pcapng_idb_info bad = { .linktype = 1, .tsresol = 40 };
	assert_int_equal(pcapng_write_idb(&b, &bad), -EINVAL);
	struct pcapng_idb_info ok = { .linktype = 1, .tsresol = 6 };
	assert_int_equal(pcapng_write_idb(&b, &ok), 0);
	/* corrupt the if_tsresol value (the only option: at 8 + 8 + 4) */
	assert_int_equal(le16_load(b.data + 16), PCAPNG_IF_TSRESOL);
	b.data[20] = 99;
	bool swap = false;
	struct pcapng_block blk;
	assert_true(pcapng_block_parse(b.data, b.len, &swap, &blk) > 0);
	struct pcapng_idb idb;
	assert_int_equal(pcapng_parse_idb(&blk, swap, &idb), -EBADMSG);
	assert_non_null(strstr(pcapng_error(), "if_tsresol"));
	buf_free(&b);
}

/* The writer's output as tshark sees it: comment, direction flags, interface name, DSB. */
static void test_tshark_reads(void **state)
{
	if (system("command -v tshark >/dev/null 2>&1") != 0)
		skip();
	char path[] = "/tmp/test_pcapng.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	struct buf b = { 0 };
	/* Ethernet + IPv4 + UDP 1234 -> 5678, 4 bytes payload */
	static const uint8_t frame[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
		0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 2,
		0x04, 0xd2, 0x16, 0x2e, 0, 12, 0, 0, 'p', 'i', 'n', 'g',
	};
	struct pcapng_idb_info idb = { .linktype = 1, .snaplen = 65535, .name = "tst0",
				       .filter = "udp", .tsresol = 9 };
	static const char keys[] = "CLIENT_RANDOM "
		"0000000000000000000000000000000000000000000000000000000000000000 "
		"000000000000000000000000000000000000000000000000000000000000000000000000000000"
		"000000000000000000\n";
	assert_int_equal(pcapng_write_shb(&b, &(struct pcapng_shb_info){ .userappl = "t" }), 0);
	assert_int_equal(pcapng_write_idb(&b, &idb), 0);
	assert_int_equal(pcapng_write_dsb(&b, PCAPNG_SECRETS_TLS, keys, sizeof(keys) - 1), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 1764140400123456789ull, frame, sizeof(frame),
					  sizeof(frame), 2, "pid=42 comm=x"), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 1764140400223456789ull, frame, sizeof(frame),
					  sizeof(frame), 1, NULL), 0);
	assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
	close(fd);
	buf_free(&b);

	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "tshark -r %s -T fields -E separator='|' -e frame.comment "
		 "-e frame.packet_flags_direction -e frame.interface_name -e udp.dstport "
		 "-e frame.time_epoch 2>/dev/null",
		 path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line1[256] = "", line2[256] = "";
	assert_non_null(fgets(line1, sizeof(line1), p));
	assert_non_null(fgets(line2, sizeof(line2), p));
	int rc = pclose(p);
	unlink(path);
	print_message("tshark: %s         %s", line1, line2);
	assert_int_equal(rc, 0);
	assert_string_equal(line1, "pid=42 comm=x|0x00000002|tst0|5678|1764140400.123456789\n");
	assert_string_equal(line2, "|0x00000001|tst0|5678|1764140400.223456789\n");
}

/* pcapng_wrap_dsb around data already in the buffer: pcapng_write_dsb's bytes. */
static void test_dsb_in_place(void **state)
{
	(void)state;
	const char text[] = "CLIENT_RANDOM 0123456789abcdef 00112233\n";
	for (uint32_t len = 0; len <= 9; len++) {
		struct buf whole = { 0 }, in_place = { 0 };
		assert_int_equal(pcapng_write_dsb(&whole, PCAPNG_SECRETS_TLS, text, len), 0);
		assert_int_equal(buf_append(&in_place, NULL, PCAPNG_DSB_HEAD), 0);
		assert_int_equal(buf_append(&in_place, text, len), 0);
		assert_int_equal(pcapng_wrap_dsb(&in_place, PCAPNG_SECRETS_TLS), 0);
		assert_int_equal(in_place.len, whole.len);
		assert_memory_equal(in_place.data, whole.data, whole.len);
		buf_free(&whole);
		buf_free(&in_place);
	}
	struct buf none = { 0 };
	assert_int_equal(buf_append(&none, NULL, PCAPNG_DSB_HEAD - 1), 0);
	assert_int_equal(pcapng_wrap_dsb(&none, PCAPNG_SECRETS_TLS), -EINVAL); /* no room */
	buf_free(&none);
}

/* The packet path's EPB writer (pcapng_write_epb_flags): pcapng_write_epb's bytes at every
 * padding, with and without epb_flags, into room that held other bytes (the padding is
 * zeroed), read back whole. */
static void test_epb_inline(void **state)
{
	(void)state;
	const uint8_t data[] = "0123456789";
	static const uint32_t flags[] = { 0, PCAPNG_EPB_FLAGS, 0xdeadbeef };
	for (uint32_t len = 0; len <= 9; len++) {
		for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			struct buf one = { 0 }, other = { 0 };
			assert_int_equal(buf_reserve(&other, 256), 0);
			memset(other.data, 0xee, other.cap);
			assert_int_equal(buf_append(&other, "x", 1), 0); /* not at offset 0 */
			uint64_t ts = 0x0123456789abcdefull + len;
			assert_int_equal(pcapng_write_epb(&one, 3, ts, data, len, len + 40,
							  flags[f], NULL),
					 0);
			assert_int_equal(pcapng_write_epb_flags(&other, 3, ts, data, len, len + 40,
								flags[f]), 0);
			assert_int_equal(other.len, one.len + 1);
			assert_memory_equal(other.data + 1, one.data, one.len);
			for (size_t i = 28 + len; i < 28 + ((len + 3) & ~3u); i++)
				assert_int_equal(one.data[i], 0);
			bool swap = false;
			struct pcapng_block blk;
			struct pcapng_epb e;
			long n = pcapng_block_parse(other.data + 1, other.len - 1, &swap, &blk);
			assert_int_equal(n, (long)one.len);
			assert_int_equal(pcapng_parse_packet(&blk, swap, &e), 0);
			assert_int_equal(e.ifid, 3);
			assert_true(e.ts == ts);
			assert_int_equal(e.caplen, len);
			assert_int_equal(e.origlen, len + 40);
			assert_int_equal(e.flags, flags[f]);
			assert_memory_equal(e.data, data, len);
			buf_free(&one);
			buf_free(&other);
		}
	}
	struct buf b = { 0 };
	assert_int_equal(pcapng_write_epb_flags(&b, 0, 0, data, PCAPNG_BLOCK_MAX + 1, 1, 0),
			 -EINVAL);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_option_overrun),
		cmocka_unit_test(test_big_endian),
		cmocka_unit_test(test_simple_packet),
		cmocka_unit_test(test_tsresol),
		cmocka_unit_test(test_dsb_in_place),
		cmocka_unit_test(test_epb_inline),
		cmocka_unit_test(test_tshark_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
