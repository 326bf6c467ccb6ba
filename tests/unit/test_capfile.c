// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_capfile.c - unit tests of the capture file reader (recorder/capfile.c) on files the
 * test writes itself: pcap in both byte orders and both resolutions, pcapng with several
 * interfaces of different if_tsresol and several sections, DSBs, SPB/PB/ISB/unknown blocks,
 * joined comments, a pipe, inputs larger than the read buffer, and damaged inputs (garbage,
 * truncated tails, a block or record whose length lies) where everything valid is kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "capfile.h"
#include "le.h"
#include "pcapng.h"

static char path[64];

static int setup(void **state)
{
	snprintf(path, sizeof(path), "/tmp/test_capfile.XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

static void write_file(const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void put32(struct buf *b, uint32_t v, bool be)
{
	uint8_t x[4];
	if (be) {
		x[0] = (uint8_t)(v >> 24);
		x[1] = (uint8_t)(v >> 16);
		x[2] = (uint8_t)(v >> 8);
		x[3] = (uint8_t)v;
	} else {
		le32_store(x, v);
	}
	assert_int_equal(buf_append(b, x, 4), 0);
}

static void pcap_header(struct buf *b, bool be, bool ns, uint32_t snaplen, uint32_t lt)
{
	put32(b, ns ? 0xa1b23c4d : 0xa1b2c3d4, be);
	uint8_t v[4];
	if (be) {
		v[0] = 0; v[1] = 2; v[2] = 0; v[3] = 4;
	} else {
		v[0] = 2; v[1] = 0; v[2] = 4; v[3] = 0;
	}
	assert_int_equal(buf_append(b, v, 4), 0);
	put32(b, 0, be);
	put32(b, 0, be);
	put32(b, snaplen, be);
	put32(b, lt, be);
}

/* A record whose data is n bytes of the value seq. */
static void pcap_record(struct buf *b, bool be, uint32_t sec, uint32_t frac, uint32_t n,
			uint32_t origlen, uint8_t seq)
{
	put32(b, sec, be);
	put32(b, frac, be);
	put32(b, n, be);
	put32(b, origlen, be);
	assert_int_equal(buf_reserve(b, n), 0);
	memset(b->data + b->len, seq, n);
	b->len += n;
}

static struct capfile *open_path(void)
{
	struct capfile *cf = NULL;
	assert_int_equal(capfile_open(path, &cf), 0);
	return cf;
}

static void expect_packet(struct capfile *cf, uint32_t iface, uint64_t ts, uint32_t caplen,
			  uint8_t seq)
{
	struct capfile_item it;
	int r = capfile_next(cf, &it);
	if (r != 1)
		fail_msg("expected a packet, got %d (%s)", r, capfile_error(cf));
	assert_int_equal(it.kind, CAPFILE_PACKET);
	assert_int_equal(it.iface, iface);
	assert_int_equal(it.ts_ns, ts);
	assert_int_equal(it.caplen, caplen);
	for (uint32_t i = 0; i < caplen; i++)
		if (it.data[i] != seq)
			fail_msg("byte %u of packet %u is %u", i, seq, it.data[i]);
}

static const struct capfile_iface *expect_iface(struct capfile *cf, uint32_t index,
						uint16_t lt)
{
	struct capfile_item it;
	int r = capfile_next(cf, &it);
	if (r != 1)
		fail_msg("expected an interface, got %d (%s)", r, capfile_error(cf));
	assert_int_equal(it.kind, CAPFILE_INTERFACE);
	assert_int_equal(it.ifc->index, index);
	assert_int_equal(it.ifc->linktype, lt);
	return it.ifc;
}

static void expect_end(struct capfile *cf)
{
	struct capfile_item it;
	int r = capfile_next(cf, &it);
	if (r != 0)
		fail_msg("expected the end, got %d (%s)", r, capfile_error(cf));
	assert_int_equal(capfile_next(cf, &it), 0);
}

static void expect_error(struct capfile *cf, const char *what)
{
	struct capfile_item it;
	int r = capfile_next(cf, &it);
	if (r != -EBADMSG)
		fail_msg("expected an error about '%s', got %d", what, r);
	print_message("error: %s\n", capfile_error(cf));
	if (!strstr(capfile_error(cf), what))
		fail_msg("'%s' does not say '%s'", capfile_error(cf), what);
	assert_non_null(strstr(capfile_error(cf), path));
}

static void test_pcap_orders(void **state)
{
	for (int be = 0; be < 2; be++) {
		for (int ns = 0; ns < 2; ns++) {
			struct buf b = { 0 };
			pcap_header(&b, be, ns, 65535, 1);
			pcap_record(&b, be, 1764140400, 5, 60, 60, 1);
			pcap_record(&b, be, 1764140401, 999, 3, 1500, 2);
			pcap_record(&b, be, 1764140402, 0, 0, 0, 3);
			write_file(b.data, b.len);
			struct capfile *cf = open_path();
			const struct capfile_iface *ifc = expect_iface(cf, 0, 1);
			assert_int_equal(ifc->snaplen, 65535);
			assert_int_equal(ifc->units_per_sec, ns ? 1000000000u : 1000000u);
			uint64_t m = ns ? 1 : 1000;
			expect_packet(cf, 0, 1764140400000000000ull + 5 * m, 60, 1);
			expect_packet(cf, 0, 1764140401000000000ull + 999 * m, 3, 2);
			expect_packet(cf, 0, 1764140402000000000ull, 0, 3);
			expect_end(cf);
			assert_int_equal(capfile_format(cf), CAPFILE_FMT_PCAP);
			assert_int_equal(capfile_offset(cf), b.len);
			assert_int_equal(capfile_size(cf), b.len);
			capfile_close(cf);
			buf_free(&b);
		}
	}
}

/* Two interfaces of different resolution, a DSB, SPB, PB, ISB, an unknown block, and a
 * second section whose interfaces continue the numbering. */
static void test_pcapng_sections(void **state)
{
	struct buf b = { 0 };
	uint8_t d[8];
	memset(d, 7, sizeof(d));
	assert_int_equal(pcapng_write_shb(&b, NULL), 0);
	struct pcapng_idb_info i0 = { .linktype = 1, .snaplen = 0, .name = "eth0", .tsresol = 6 };
	struct pcapng_idb_info i1 = { .linktype = 276, .snaplen = 4, .tsresol = 9 };
	assert_int_equal(pcapng_write_idb(&b, &i0), 0);
	assert_int_equal(pcapng_write_idb(&b, &i1), 0);
	assert_int_equal(pcapng_write_dsb(&b, PCAPNG_SECRETS_TLS, "K", 1), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 1764140400123456ull, d, 8, 8, 2,
					  "PID: 1\nCmd: /bin/x"), 0);
	assert_int_equal(pcapng_write_epb(&b, 1, 1764140400123456789ull, d, 2, 2, 0, NULL), 0);
	/* an ISB and an unknown (custom) block are passed over */
	assert_int_equal(pcapng_write_isb(&b, 1, 5, NULL), 0);
	size_t custom = b.len;
	put32(&b, 0x00000BAD, false);
	put32(&b, 20, false);
	put32(&b, 12345, false);
	put32(&b, 0, false);
	put32(&b, 20, false);
	assert_int_equal(b.len - custom, 20);
	/* SPB on interface 0 (snaplen 0): caplen is origlen */
	put32(&b, PCAPNG_BT_SPB, false);
	put32(&b, 24, false);
	put32(&b, 5, false);
	assert_int_equal(buf_append(&b, d, 8), 0);
	put32(&b, 24, false);
	/* obsolete PB on interface 1 with two comments in one packet via the EPB writer and
	 * a patched type: PB's u16 ifid + u16 drops read the EPB's u32 ifid as 1, 0 */
	size_t pb = b.len;
	assert_int_equal(pcapng_write_epb(&b, 1, 7000000000ull, d, 4, 4, 0, "a"), 0);
	le32_store(b.data + pb, PCAPNG_BT_PB);
	/* a second section with one interface at 2^-10 s and if_tsoffset via patched bytes */
	assert_int_equal(pcapng_write_shb(&b, NULL), 0);
	struct pcapng_idb_info i2 = { .linktype = 101, .tsresol = 0x80 | 10 };
	assert_int_equal(pcapng_write_idb(&b, &i2), 0);
	/* two comments on one packet */
	size_t epb = b.len;
	assert_int_equal(pcapng_write_epb(&b, 0, 1024 * 3 + 512, d, 1, 1, 0, "PID: 9"), 0);
	/* append a second opt_comment by rebuilding: write by hand */
	b.len = epb;
	put32(&b, PCAPNG_BT_EPB, false);
	put32(&b, 32 + 4 + 12 + 12 + 4, false);
	put32(&b, 0, false);
	put32(&b, 0, false);
	put32(&b, 1024 * 3 + 512, false);
	put32(&b, 1, false);
	put32(&b, 1, false);
	assert_int_equal(buf_append(&b, "\7\0\0\0", 4), 0);
	assert_int_equal(buf_append(&b, "\1\0\6\0PID: 9\0\0", 12), 0);
	assert_int_equal(buf_append(&b, "\1\0\7\0UID: 10\0", 12), 0);
	put32(&b, 0, false);
	put32(&b, 32 + 4 + 12 + 12 + 4, false);
	write_file(b.data, b.len);

	struct capfile *cf = open_path();
	const struct capfile_iface *ifc = expect_iface(cf, 0, 1);
	assert_string_equal(ifc->name, "eth0");
	assert_int_equal(ifc->units_per_sec, 1000000);
	ifc = expect_iface(cf, 1, 276);
	assert_int_equal(ifc->units_per_sec, 1000000000);
	struct capfile_item it;
	assert_int_equal(capfile_next(cf, &it), 1);
	assert_int_equal(it.kind, CAPFILE_SECRETS);
	assert_int_equal(it.secrets_type, PCAPNG_SECRETS_TLS);
	assert_int_equal(it.secrets_len, 1);
	assert_int_equal(it.secrets[0], 'K');
	assert_int_equal(capfile_next(cf, &it), 1);
	assert_int_equal(it.kind, CAPFILE_PACKET);
	assert_int_equal(it.ts_ns, 1764140400123456000ull);
	assert_int_equal(it.flags, 2);
	assert_int_equal(it.comment_len, strlen("PID: 1\nCmd: /bin/x"));
	assert_memory_equal(it.comment, "PID: 1\nCmd: /bin/x", it.comment_len);
	expect_packet(cf, 1, 1764140400123456789ull, 2, 7);
	/* SPB takes the time of the packet before */
	expect_packet(cf, 0, 1764140400123456789ull, 5, 7);
	assert_int_equal(capfile_next(cf, &it), 1);
	assert_int_equal(it.iface, 1);
	assert_int_equal(it.ts_ns, 7000000000ull);
	assert_int_equal(it.comment_len, 1);
	ifc = expect_iface(cf, 2, 101);
	assert_int_equal(ifc->units_per_sec, 1024);
	assert_int_equal(capfile_next(cf, &it), 1);
	assert_int_equal(it.iface, 2);
	assert_int_equal(it.ts_ns, 3500000000ull);
	assert_int_equal(it.comment_len, strlen("PID: 9\nUID: 10"));
	assert_memory_equal(it.comment, "PID: 9\nUID: 10", it.comment_len);
	expect_end(cf);
	assert_int_equal(capfile_skipped(cf), 0);
	capfile_close(cf);
	buf_free(&b);
}

static void test_pcapng_tsoffset_spb_snaplen(void **state)
{
	/* IDB with if_tsoffset 100 and snaplen 4; an SPB with origlen 8 is cut to 4 */
	struct buf b = { 0 };
	uint8_t d[8];
	memset(d, 3, sizeof(d));
	assert_int_equal(pcapng_write_shb(&b, NULL), 0);
	put32(&b, PCAPNG_BT_IDB, false);
	put32(&b, 20 + 12 + 4, false);
	put32(&b, 1, false);
	put32(&b, 4, false);
	assert_int_equal(buf_append(&b, "\x0e\0\x08\0", 4), 0);
	put32(&b, 100, false);
	put32(&b, 0, false);
	put32(&b, 0, false);
	put32(&b, 20 + 12 + 4, false);
	assert_int_equal(pcapng_write_epb(&b, 0, 5, d, 4, 8, 0, NULL), 0);
	put32(&b, PCAPNG_BT_SPB, false);
	put32(&b, 24, false);
	put32(&b, 8, false);
	assert_int_equal(buf_append(&b, d, 8), 0);
	put32(&b, 24, false);
	write_file(b.data, b.len);
	struct capfile *cf = open_path();
	const struct capfile_iface *ifc = expect_iface(cf, 0, 1);
	assert_int_equal(ifc->tsoffset_sec, 100);
	expect_packet(cf, 0, 100000000000ull + 5000, 4, 3);
	expect_packet(cf, 0, 100000000000ull + 5000, 4, 3);
	expect_end(cf);
	capfile_close(cf);
	buf_free(&b);
}

static void test_garbage(void **state)
{
	char junk[300];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 37 + 11);
	write_file(junk, sizeof(junk));
	struct capfile *cf = open_path();
	expect_error(cf, "not a pcap or pcapng file");
	expect_end(cf);
	capfile_close(cf);

	write_file("", 0);
	cf = open_path();
	expect_error(cf, "empty");
	expect_end(cf);
	capfile_close(cf);

	write_file("\xd4\xc3\xb2\xa1\x02\x00", 6);
	cf = open_path();
	expect_error(cf, "offset 0: pcap file header cut short");
	expect_end(cf);
	capfile_close(cf);
}

static void test_truncated_tails(void **state)
{
	struct buf b = { 0 };
	pcap_header(&b, false, false, 65535, 1);
	pcap_record(&b, false, 10, 0, 100, 100, 1);
	pcap_record(&b, false, 11, 0, 100, 100, 2);
	size_t full = b.len;
	/* cut in the second record's data, then in its header */
	size_t cuts[] = { full - 30, 24 + 116 + 7 };
	for (size_t c = 0; c < 2; c++) {
		write_file(b.data, cuts[c]);
		struct capfile *cf = open_path();
		expect_iface(cf, 0, 1);
		expect_packet(cf, 0, 10000000000ull, 100, 1);
		expect_error(cf, "offset 140: record");
		expect_end(cf);
		capfile_close(cf);
	}
	buf_free(&b);

	assert_int_equal(pcapng_write_shb(&b, NULL), 0);
	struct pcapng_idb_info i0 = { .linktype = 1, .tsresol = 9 };
	assert_int_equal(pcapng_write_idb(&b, &i0), 0);
	uint8_t d[40] = { 0 };
	assert_int_equal(pcapng_write_epb(&b, 0, 1, d, 40, 40, 0, NULL), 0);
	size_t second = b.len;
	assert_int_equal(pcapng_write_epb(&b, 0, 2, d, 40, 40, 0, NULL), 0);
	write_file(b.data, b.len - 10);
	struct capfile *cf = open_path();
	expect_iface(cf, 0, 1);
	expect_packet(cf, 0, 1, 40, 0);
	char want[64];
	snprintf(want, sizeof(want), "offset %zu: block type 0x00000006 of 72 bytes cut short",
		 second);
	expect_error(cf, want);
	expect_end(cf);
	assert_int_equal(capfile_skipped(cf), 62);
	capfile_close(cf);
	buf_free(&b);
}

/* A pcapng block and a pcap record whose lengths lie: reported, and reading goes on. */
static void test_lying_lengths(void **state)
{
	struct buf b = { 0 };
	uint8_t d[16];
	memset(d, 5, sizeof(d));
	assert_int_equal(pcapng_write_shb(&b, NULL), 0);
	struct pcapng_idb_info i0 = { .linktype = 1, .tsresol = 9 };
	assert_int_equal(pcapng_write_idb(&b, &i0), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 1, d, 16, 16, 0, NULL), 0);
	size_t bad = b.len;
	assert_int_equal(pcapng_write_epb(&b, 0, 2, d, 16, 16, 0, NULL), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 3, d, 16, 16, 0, NULL), 0);
	size_t bad2 = b.len;
	assert_int_equal(pcapng_write_epb(&b, 0, 4, d, 16, 16, 0, NULL), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 5, d, 16, 16, 0, NULL), 0);
	le32_store(b.data + bad + 4, 44);           /* smaller: the trailer disagrees */
	le32_store(b.data + bad2 + 4, 0x7ffffff0);  /* far too large */
	write_file(b.data, b.len);
	struct capfile *cf = open_path();
	expect_iface(cf, 0, 1);
	expect_packet(cf, 0, 1, 16, 5);
	char want[64];
	snprintf(want, sizeof(want), "offset %zu: ", bad);
	expect_error(cf, want);
	assert_non_null(strstr(capfile_error(cf), "skipped 48 bytes"));
	expect_packet(cf, 0, 3, 16, 5);
	snprintf(want, sizeof(want), "offset %zu: ", bad2);
	expect_error(cf, want);
	expect_packet(cf, 0, 5, 16, 5);
	expect_end(cf);
	capfile_close(cf);
	buf_free(&b);

	/* pcap: the second record's caplen is huge; the third and fourth are kept */
	pcap_header(&b, false, true, 65535, 1);
	pcap_record(&b, false, 100, 1, 20, 20, 1);
	size_t r2 = b.len;
	pcap_record(&b, false, 100, 2, 20, 20, 2);
	pcap_record(&b, false, 100, 3, 20, 20, 3);
	pcap_record(&b, false, 100, 4, 20, 20, 4);
	le32_store(b.data + r2 + 8, 0x10000000);
	write_file(b.data, b.len);
	cf = open_path();
	expect_iface(cf, 0, 1);
	expect_packet(cf, 0, 100000000001ull, 20, 1);
	snprintf(want, sizeof(want), "offset %zu: record claims", r2);
	expect_error(cf, want);
	expect_packet(cf, 0, 100000000003ull, 20, 3);
	expect_packet(cf, 0, 100000000004ull, 20, 4);
	expect_end(cf);
	capfile_close(cf);
	buf_free(&b);

	/* a packet for an interface that does not exist is reported and skipped */
	assert_int_equal(pcapng_write_shb(&b, NULL), 0);
	assert_int_equal(pcapng_write_idb(&b, &i0), 0);
	size_t e = b.len;
	assert_int_equal(pcapng_write_epb(&b, 3, 1, d, 16, 16, 0, NULL), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 2, d, 16, 16, 0, NULL), 0);
	write_file(b.data, b.len);
	cf = open_path();
	expect_iface(cf, 0, 1);
	snprintf(want, sizeof(want), "offset %zu: packet for interface 3", e);
	expect_error(cf, want);
	expect_packet(cf, 0, 2, 16, 5);
	expect_end(cf);
	capfile_close(cf);
	buf_free(&b);
}

/* More data than one buffer holds, a block larger than the buffer, and a pipe. */
static void test_large_and_pipe(void **state)
{
	struct buf b = { 0 };
	pcap_header(&b, false, false, 262144, 1);
	const uint32_t n = 12000;
	for (uint32_t i = 0; i < n; i++)
		pcap_record(&b, false, 1000 + i / 1000, i % 1000, 1000 + i % 7, 1500,
			    (uint8_t)i);
	write_file(b.data, b.len);
	struct capfile *cf = open_path();
	expect_iface(cf, 0, 1);
	for (uint32_t i = 0; i < n; i++)
		expect_packet(cf, 0, (1000ull + i / 1000) * 1000000000ull + (i % 1000) * 1000ull,
			      1000 + i % 7, (uint8_t)i);
	expect_end(cf);
	capfile_close(cf);
	buf_free(&b);

	/* a 6 MiB EPB between two small ones */
	uint32_t big = 6u << 20;
	uint8_t *d = malloc(big);
	assert_non_null(d);
	memset(d, 9, big);
	assert_int_equal(pcapng_write_shb(&b, NULL), 0);
	struct pcapng_idb_info i0 = { .linktype = 1, .tsresol = 9 };
	assert_int_equal(pcapng_write_idb(&b, &i0), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 1, d, 100, 100, 0, NULL), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 2, d, big, big, 0, NULL), 0);
	assert_int_equal(pcapng_write_epb(&b, 0, 3, d, 100, 100, 0, NULL), 0);
	free(d);
	write_file(b.data, b.len);
	cf = open_path();
	expect_iface(cf, 0, 1);
	expect_packet(cf, 0, 1, 100, 9);
	expect_packet(cf, 0, 2, big, 9);
	expect_packet(cf, 0, 3, 100, 9);
	expect_end(cf);
	capfile_close(cf);

	/* the same bytes through a pipe, written by a child in small pieces */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		for (size_t off = 0; off < b.len;) {
			size_t k = b.len - off < 1000 ? b.len - off : 1000;
			ssize_t w = write(fds[1], b.data + off, k);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(capfile_open_fd(fds[0], "pipe", &cf), 0);
	assert_int_equal(capfile_size(cf), 0);
	expect_iface(cf, 0, 1);
	expect_packet(cf, 0, 1, 100, 9);
	expect_packet(cf, 0, 2, big, 9);
	expect_packet(cf, 0, 3, 100, 9);
	expect_end(cf);
	assert_int_equal(capfile_offset(cf), b.len);
	capfile_close(cf);
	close(fds[0]);
	buf_free(&b);
}

/* A quiet pipe with an idle time: -ETIMEDOUT, then reading goes on where it was. */
static void test_idle_pipe(void **state)
{
	struct buf b = { 0 };
	pcap_header(&b, false, false, 100, 1);
	pcap_record(&b, false, 1, 0, 10, 10, 1);
	pcap_record(&b, false, 2, 0, 10, 10, 2);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	/* the header, the first record and half of the second */
	size_t first = 24 + 26 + 13;
	assert_int_equal(write(fds[1], b.data, first), (ssize_t)first);
	struct capfile *cf;
	assert_int_equal(capfile_open_fd(fds[0], "pipe", &cf), 0);
	capfile_set_idle(cf, 20);
	expect_iface(cf, 0, 1);
	expect_packet(cf, 0, 1000000000ull, 10, 1);
	struct capfile_item it;
	assert_int_equal(capfile_next(cf, &it), -ETIMEDOUT);
	assert_int_equal(capfile_next(cf, &it), -ETIMEDOUT);
	assert_int_equal(write(fds[1], b.data + first, b.len - first), (ssize_t)(b.len - first));
	expect_packet(cf, 0, 2000000000ull, 10, 2);
	assert_int_equal(capfile_next(cf, &it), -ETIMEDOUT);
	close(fds[1]);
	expect_end(cf);
	capfile_close(cf);
	close(fds[0]);
	buf_free(&b);
}

/* Deterministic mutations of a valid pcapng and pcap: every read ends, never crashes, and
 * never hands out a packet that reaches past the bytes it was given. */
static void test_mutations(void **state)
{
	struct buf b = { 0 };
	uint8_t d[64];
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)i;
	assert_int_equal(pcapng_write_shb(&b, NULL), 0);
	struct pcapng_idb_info i0 = { .linktype = 1, .name = "x", .filter = "tcp", .tsresol = 9 };
	assert_int_equal(pcapng_write_idb(&b, &i0), 0);
	assert_int_equal(pcapng_write_dsb(&b, PCAPNG_SECRETS_TLS, "abc\n", 4), 0);
	for (int k = 0; k < 6; k++)
		assert_int_equal(pcapng_write_epb(&b, 0, (uint64_t)k, d, (uint32_t)(10 * k + 3), 64,
						  (uint32_t)k & 3, k & 1 ? "PID: 1" : NULL), 0);
	assert_int_equal(pcapng_write_isb(&b, 0, 9, NULL), 0);
	size_t ng_len = b.len;
	pcap_header(&b, false, false, 100, 1);
	for (int k = 0; k < 6; k++)
		pcap_record(&b, false, 50, (uint32_t)k, (uint32_t)(7 * k), 60, (uint8_t)k);

	uint32_t seed = 12345;
	uint8_t *m = malloc(b.len);
	assert_non_null(m);
	for (int round = 0; round < 3000; round++) {
		bool ng = round % 2 == 0;
		const uint8_t *src = ng ? b.data : b.data + ng_len;
		size_t n = ng ? ng_len : b.len - ng_len;
		memcpy(m, src, n);
		int flips = 1 + round % 4;
		for (int f = 0; f < flips; f++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % n;
			seed = seed * 1103515245u + 12345u;
			m[at] = (uint8_t)(round % 3 == 0 ? seed >> 16 : m[at] ^ (1u << (seed % 8)));
		}
		seed = seed * 1103515245u + 12345u;
		size_t len = round % 5 == 0 ? (seed >> 4) % n : n;
		int fd = memfd_create("mutation", 0);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, m, len), (ssize_t)len);
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		struct capfile *cf;
		assert_int_equal(capfile_open_fd(fd, "mutation", &cf), 0);
		struct capfile_item it;
		int r, steps = 0;
		while ((r = capfile_next(cf, &it)) != 0) {
			assert_true(r == 1 || r == -EBADMSG);
			assert_true(++steps < 1000);
			if (r == 1 && it.kind == CAPFILE_PACKET) {
				/* the packet lies within what was read */
				assert_true(it.caplen <= len);
				volatile uint8_t sum = 0;
				for (uint32_t i = 0; i < it.caplen; i++)
					sum ^= it.data[i];
				(void)sum;
				if (it.comment)
					assert_true(it.comment_len <= len);
			}
		}
		capfile_close(cf);
		close(fd);
	}
	free(m);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pcap_orders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcapng_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcapng_tsoffset_spb_snaplen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_tails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lying_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_and_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
