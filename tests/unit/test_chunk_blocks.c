// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_chunk_blocks.c - chunks whose data frame is made of independent blocks: the block
 * codec (compressed and stored blocks, the back-off on incompressible data and on data that
 * only the slow search shrinks, text blocks outside it, CRC of the raw bytes and size checks),
 * and the key log lines of the DSB; the DSB made in place around them (the bytes a DSB written
 * whole has, a chunk's size unchanged, a seal repeated giving the same frames); blocks
 * compressed ahead of the seal, also when the chunk then
 * takes more packets; and, through the store, reading only the blocks that hold the packets
 * of some flows: the same packets as a whole read, and a damaged block elsewhere in the
 * chunk does not stop it (while a whole read and fsck report that block); a block list that
 * lies about its packets; packets larger than a block. The order sections of the
 * metadata: each interface's latest time in the writer's earlier chunks (8) and in each
 * block (9), encoded and decoded. One chunk with 3000 interfaces (names and filters of the
 * length -i any gives them), whose IDBs take several header blocks, read whole, by flow,
 * checked and rebuilt. The read plan and flow directory (sections 17, 18) against a whole
 * read of the metadata.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "chunk.h"
#include "chunk_digest.h"
#include "crc32c.h"
#include "lz4blocks.h"
#include "pcapng.h"
#include "segment.h"
#include "sha256.h"
#include "store.h"
#include "tmp_store.h"

#define NS 1000000000ull
#define T0 (1764140400ull * NS)

static uint64_t rng = 88172645463325252ull;
static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)rng;
}

/* ---- the block codec ---------------------------------------------------------------- */

static void put_get(struct lz4blocks_enc *e, const uint8_t *src, size_t len, size_t *stored)
{
	struct buf out = { 0 };
	uint32_t crc = crc32c(0, src, len);
	assert_int_equal(lz4blocks_put(e, &out, src, len), 0);
	uint8_t *back = malloc(len);
	const char *why = NULL;
	assert_int_equal(lz4blocks_get(out.data, out.len, crc, back, len, &why), 0);
	assert_memory_equal(back, src, len);
	*stored = out.len;

	/* a flipped bit fails the CRC (or, in an LZ4 block, the decoding itself); a wrong
	 * size is refused */
	out.data[out.len / 2] ^= 0x04;
	assert_int_equal(lz4blocks_get(out.data, out.len, crc, back, len, &why), -EBADMSG);
	assert_true(strstr(why, "CRC") || strstr(why, "LZ4") || strstr(why, "size"));
	out.data[out.len / 2] ^= 0x04;
	assert_int_equal(lz4blocks_get(out.data, out.len, crc, back, len - 1, &why), -EBADMSG);
	free(back);
	buf_free(&out);
}

static void test_codec(void **state)
{
	(void)state;
	struct lz4blocks_enc e;
	assert_int_equal(lz4blocks_enc_init(&e), 0);
	uint8_t text[65536], noise[65536];
	for (size_t i = 0; i < sizeof(text); i++) {
		text[i] = (uint8_t)("GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n"[i % 44]);
		noise[i] = rnd8();
	}
	size_t stored;
	put_get(&e, text, sizeof(text), &stored);
	assert_true(stored < sizeof(text) / 10);
	put_get(&e, noise, sizeof(noise), &stored);
	assert_int_equal(stored, sizeof(noise) + 4); /* stored as is: size word + bytes */
	put_get(&e, noise, 1, &stored);
	assert_int_equal(stored, 5);
	lz4blocks_enc_free(&e);
}

/* The frame header lz4blocks_begin writes itself is the one liblz4's frame API writes for
 * the same settings (independent blocks of 256 KiB at most, the content size, no checksums),
 * header checksum included, whatever the content size. */
static void test_frame_header(void **state)
{
	(void)state;
	LZ4F_cctx *c;
	assert_false(LZ4F_isError(LZ4F_createCompressionContext(&c, LZ4F_VERSION)));
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (int i = 0; i < 20000; i++) {
		uint64_t size = i < 5000 ? (uint64_t)i : i < 5064 ? 1ull << (i - 5000) : x;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		LZ4F_preferences_t prefs = { 0 };
		prefs.frameInfo.blockSizeID = LZ4F_max256KB;
		prefs.frameInfo.blockMode = LZ4F_blockIndependent;
		prefs.frameInfo.contentSize = size;
		uint8_t want[LZ4F_HEADER_SIZE_MAX];
		size_t n = LZ4F_compressBegin(c, want, sizeof(want), &prefs);
		if (size == 0) /* liblz4 leaves a size of 0 out (unknown); chunks are never empty */
			continue;
		assert_int_equal(n, LZ4BLOCKS_HEADER_LEN);
		struct lz4blocks_enc e;
		assert_int_equal(lz4blocks_enc_init(&e), 0);
		assert_int_equal(lz4blocks_begin(&e, &e.frame, size), 0);
		assert_int_equal(e.frame.len, LZ4BLOCKS_HEADER_LEN);
		assert_memory_equal(e.frame.data, want, LZ4BLOCKS_HEADER_LEN);
		lz4blocks_enc_free(&e);
	}
	LZ4F_freeCompressionContext(c);
}

/* Incompressible blocks in a row are stored without an attempt for longer and longer;
 * one compressible block makes the next attempt immediate again. */
static void test_backoff(void **state)
{
	(void)state;
	struct lz4blocks_enc e;
	assert_int_equal(lz4blocks_enc_init(&e), 0);
	uint8_t noise[8192], text[8192];
	for (size_t i = 0; i < sizeof(noise); i++) {
		noise[i] = rnd8();
		text[i] = (uint8_t)('a' + i % 7);
	}
	struct buf out = { 0 };
	for (int i = 0; i < 200; i++)
		assert_int_equal(lz4blocks_put(&e, &out, noise, sizeof(noise)), 0);
	assert_int_equal(e.stored_raw, 200);
	assert_true(e.tried < 15); /* 1, 2, 4, ... 32 skipped between tries */
	uint64_t tried = e.tried;
	/* compressible data after the noise: stored as is at most until the next try (32
	 * blocks away at most), compressed from then on */
	for (int i = 0; i < 40; i++)
		assert_int_equal(lz4blocks_put(&e, &out, text, sizeof(text)), 0);
	assert_true(e.tried >= tried + 40 - 32);
	size_t before = out.len;
	assert_int_equal(lz4blocks_put(&e, &out, text, sizeof(text)), 0);
	assert_true(out.len - before < sizeof(text) / 4);
	buf_free(&out);
	lz4blocks_enc_free(&e);
}

/* Barely compressible blocks (random bytes between repeated headers, as TLS records between
 * packet headers) are compressed with the fast search after the first, still decode, and
 * still save; text after them goes back to the full search at once. */
static void test_fast_search(void **state)
{
	(void)state;
	struct lz4blocks_enc e;
	assert_int_equal(lz4blocks_enc_init(&e), 0);
	static uint8_t mixed[65536], text[65536];
	for (size_t i = 0; i < sizeof(mixed); i++) {
		mixed[i] = i % 512 < 64 ? (uint8_t)(i % 64) : rnd8();
		text[i] = (uint8_t)("GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n"[i % 44]);
	}
	size_t stored, total = 0;
	for (int i = 0; i < 8; i++) {
		put_get(&e, mixed, sizeof(mixed), &stored);
		total += stored;
	}
	assert_int_equal(e.tried, 8);
	assert_int_equal(e.tried_fast, 7);
	assert_int_equal(e.stored_raw, 0);
	assert_true(total < 8 * sizeof(mixed) * 15 / 16); /* the headers still compress */
	put_get(&e, text, sizeof(text), &stored);
	assert_true(stored < sizeof(text) / 10);
	put_get(&e, text, sizeof(text), &stored);
	assert_int_equal(e.tried_fast, 8); /* the first text block at the fast search, */
	assert_true(stored < sizeof(text) / 10); /* then the full one again */
	lz4blocks_enc_free(&e);
}

/* Whole frames of random bytes between EPB headers (bench_sessions' packets): the default
 * search saves about 5%, the fast one less than 1/32. After the first block the attempts are
 * at the fast search, every other block; the default search returns every 16th attempt only.
 * Text after them is compressed from its second block on. A key log put meanwhile is
 * compressed every time and leaves the back-off as it was. */
static void test_random_frames(void **state)
{
	(void)state;
	static const uint16_t frame_len[] = { 74, 74, 66,  583,  66, 1490, 66, 146, 66,
					      171, 66, 1390, 66, 2650, 66, 66,   66, 66 };
	static uint8_t frames[16384 + 2800], keylog[16384];
	size_t at = 0;
	uint64_t ts = T0;
	for (unsigned k = 0; at < 16384; k++, ts += 20000) {
		uint32_t len = frame_len[k % 18], total = 28 + (len + 3) / 4 * 4 + 12;
		uint32_t hdr[7] = { 6, total, 0, (uint32_t)(ts >> 32), (uint32_t)ts, len, len };
		uint32_t opt[3] = { 2 | 4 << 16, 2, 0 }; /* epb_flags, then the end of options */
		memcpy(frames + at, hdr, sizeof(hdr));
		for (uint32_t i = 0; i < len; i++)
			frames[at + 28 + i] = rnd8();
		memset(frames + at + 28 + len, 0, (len + 3) / 4 * 4 - len);
		memcpy(frames + at + total - 16, opt, sizeof(opt));
		memcpy(frames + at + total - 4, &total, 4);
		at += total;
	}
	/* a key log as a TLS 1.3 session's five secrets make it (SHA-384): five labels, one
	 * client_random, five random secrets */
	static const char *const labels[5] = {
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
		"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"
	};
	struct tls_secret sec = { .secret_len = 48 };
	size_t klen = 0;
	for (unsigned n = 0; klen + 200 < sizeof(keylog); n++) {
		snprintf(sec.label, sizeof(sec.label), "%s", labels[n % 5]);
		for (size_t i = 0; i < 48; i++) {
			if (n % 5 == 0 && i < 32)
				sec.client_random[i] = rnd8();
			sec.secret[i] = rnd8();
		}
		klen += secret_format_line(&sec, (char *)keylog + klen, sizeof(keylog) - klen);
	}
	struct lz4blocks_enc e;
	assert_int_equal(lz4blocks_enc_init(&e), 0);
	size_t stored;
	for (int i = 0; i < 600; i++) {
		put_get(&e, frames, at, &stored);
		if (i % 50 == 49) {
			unsigned skip = e.skip, backoff = e.backoff;
			struct buf out = { 0 };
			assert_int_equal(lz4blocks_put_keylog(&e, &out, keylog, klen), 0);
			/* the labels and each session's client_random on its five lines: about
			 * 35% saved at the key log's search speed (23% at ACCEL_FAST's) */
			assert_true(out.len < klen * 69 / 100);
			assert_int_equal(e.skip, skip);
			assert_int_equal(e.backoff, backoff);
			buf_free(&out);
		}
	}
	/* a default try, then 16 fast ones every other block, and again */
	assert_true(e.tried - e.tried_fast >= 10);
	assert_true(e.tried - e.tried_fast < 30);
	assert_true(e.tried_fast > 250);
	assert_true(e.stored_raw > 250);
	static uint8_t text[16384];
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)("GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n"[i % 44]);
	put_get(&e, text, sizeof(text), &stored);
	put_get(&e, text, sizeof(text), &stored);
	assert_true(stored < sizeof(text) / 10);
	lz4blocks_enc_free(&e);
}

/* A key log line (the DSB's text) spells every byte value as two lower-case digits, and
 * parses back to the secret it came from. */
static void test_key_log_line(void **state)
{
	(void)state;
	for (unsigned base = 0; base < 256; base += 96) {
		struct tls_secret sec = { .label = "SERVER_HANDSHAKE_TRAFFIC_SECRET", .secret_len = 64 };
		char want[300], line[300];
		int n = snprintf(want, sizeof(want), "%s ", sec.label);
		for (unsigned i = 0; i < 32; i++) {
			sec.client_random[i] = (uint8_t)(base + i);
			n += snprintf(want + n, sizeof(want) - (size_t)n, "%02x", (base + i) & 255);
		}
		want[n++] = ' ';
		for (unsigned i = 0; i < 64; i++) {
			sec.secret[i] = (uint8_t)(base + 32 + i);
			n += snprintf(want + n, sizeof(want) - (size_t)n, "%02x", (base + 32 + i) & 255);
		}
		want[n++] = '\n';
		assert_int_equal(secret_format_line(&sec, line, sizeof(line)), n);
		assert_memory_equal(line, want, (size_t)n);
		struct tls_secret back;
		assert_int_equal(secret_parse_line(line, (size_t)n - 1, &back), 0);
		assert_string_equal(back.label, sec.label);
		assert_memory_equal(back.client_random, sec.client_random, 32);
		assert_int_equal(back.secret_len, 64);
		assert_memory_equal(back.secret, sec.secret, 64);
	}
}

/* ---- the chunk's digest ------------------------------------------------------------- */

/*
 * The digest of m's data frame at frame as chunk_digest.c specifies kind BLOCKS, made here
 * from that text with the plain SHA-256 of sha256.h: the header naming the scheme and the
 * counts, the frame header, each block's size word and the SHA-256 of its bytes, the end.
 * The chunk's digest must be it (of kind BLOCKS), not the SHA-256 of the frame in one
 * stream, and chunk_digest_frame must make the same; of kind 0 it makes the one stream.
 */
static void check_digest(struct chunk_meta *m, const uint8_t *frame)
{
	size_t n = m->n_blocks, len = m->data_len, head = m->blocks[0].data_off;
	size_t end = m->blocks[n - 1].data_off + m->blocks[n - 1].data_len;
	struct buf in = { 0 };
	uint8_t v[4], d[SHA256_LEN], want[SHA256_LEN], flat[SHA256_LEN];
	const char *why;
	assert_int_equal(buf_append(&in, "ECAP-SHA256-BLK1", 16), 0);
	const size_t nums[4] = { n, len, head, len - end };
	for (int i = 0; i < 4; i++) {
		v[0] = (uint8_t)nums[i], v[1] = (uint8_t)(nums[i] >> 8);
		v[2] = (uint8_t)(nums[i] >> 16), v[3] = (uint8_t)(nums[i] >> 24);
		assert_int_equal(buf_append(&in, v, 4), 0);
	}
	assert_int_equal(buf_append(&in, frame, head), 0);
	for (size_t i = 0; i < n; i++) {
		const struct chunkmeta_block *b = &m->blocks[i];
		assert_int_equal(buf_append(&in, frame + b->data_off, 4), 0);
		assert_int_equal(sha256_once(frame + b->data_off + 4, b->data_len - 4, d), 0);
		assert_int_equal(buf_append(&in, d, SHA256_LEN), 0);
	}
	assert_int_equal(buf_append(&in, frame + end, len - end), 0);
	assert_int_equal(sha256_once(in.data, in.len, want), 0);
	buf_free(&in);

	assert_true(m->has_digest);
	assert_int_equal(m->digest_kind, CHUNK_DIGEST_BLOCKS);
	assert_memory_equal(m->digest, want, SHA256_LEN);
	assert_int_equal(sha256_once(frame, len, flat), 0);
	assert_memory_not_equal(m->digest, flat, SHA256_LEN);
	assert_int_equal(chunk_digest_frame(m, frame, len, d, &why), 0);
	assert_memory_equal(d, want, SHA256_LEN);
	m->digest_kind = CHUNK_DIGEST_FLAT;
	assert_int_equal(chunk_digest_frame(m, frame, len, d, &why), 0);
	assert_memory_equal(d, flat, SHA256_LEN);
	m->digest_kind = 7;
	assert_int_equal(chunk_digest_frame(m, frame, len, d, &why), -EBADMSG);
	assert_non_null(strstr(why, "kind"));
	m->digest_kind = CHUNK_DIGEST_BLOCKS;
}

/* ---- the builder: blocks compressed ahead of the seal ---------------------------------- */

/* Seal cb, put both frames together as a writer would and read them back: the section's
 * EPBs must be the builder's, every block passing its CRC. */
static void seal_and_check(struct chunk_builder *cb, struct lz4blocks_enc *enc)
{
	struct buf meta = { 0 }, frames = { 0 }, raw = { 0 };
	assert_int_equal(chunk_builder_seal(cb, 1, enc, &meta), 0);
	struct iovec *iov = NULL;
	size_t cap = 0;
	int cnt = lz4blocks_frame_iov(enc, 1, &iov, &cap);
	assert_true(cnt > 1);
	iov[0] = (struct iovec){ meta.data, meta.len };
	for (int i = 0; i < cnt; i++)
		assert_int_equal(buf_append(&frames, iov[i].iov_base, iov[i].iov_len), 0);
	free(iov);
	struct chunk_meta m = { 0 };
	const char *why = NULL;
	assert_int_equal(chunkmeta_decode(frames.data, frames.len, &m, &why), (long)meta.len);
	assert_int_equal(frames.len, meta.len + m.data_len);
	check_digest(&m, frames.data + meta.len);
	assert_int_equal(segment_decompress(&m, &frames, &raw, &why), 0);
	assert_int_equal(m.packets, cb->meta.packets);
	assert_true(raw.len > cb->epbs.len);
	assert_memory_equal(raw.data + raw.len - cb->epbs.len, cb->epbs.data, cb->epbs.len);
	chunkmeta_free(&m);
	buf_free(&meta);
	buf_free(&frames);
	buf_free(&raw);
}

static void add_packets(struct chunk_builder *cb, uint32_t from, uint32_t n)
{
	static const struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	uint8_t data[1000];
	for (uint32_t i = from; i < from + n; i++) {
		for (size_t j = 0; j < sizeof(data); j++)
			data[j] = j < 600 ? (uint8_t)(i + j / 40) : rnd8();
		struct ecap_packet p = { .ts_ns = T0 + i, .caplen = sizeof(data),
					 .origlen = sizeof(data), .data = data,
					 .flow_id = 1 + i % 3 };
		assert_int_equal(chunk_builder_add_packet(cb, &p, &ifc), 0);
	}
}

/* Seal, decode the metadata frame back into *m. */
static void seal_decode(struct chunk_builder *cb, struct lz4blocks_enc *enc, struct chunk_meta *m)
{
	struct buf meta = { 0 };
	const char *why = NULL;
	assert_int_equal(chunk_builder_seal(cb, 7, enc, &meta), 0);
	assert_int_equal(chunkmeta_decode(meta.data, meta.len, m, &why), (long)meta.len);
	buf_free(&meta);
}

static void test_order_sections(void **state)
{
	(void)state;
	static const struct ecap_iface ifc = { .name = "x", .linktype = 1 };
	struct chunk_run run = { 0 };
	struct chunk_builder cb;
	struct lz4blocks_enc enc;
	uint8_t data[1000];
	uint64_t want_max[2][16] = { { 0 } }; /* [local iface][EPB block] */
	assert_int_equal(chunk_builder_init(&cb), 0);
	assert_int_equal(lz4blocks_enc_init(&enc), 0);
	cb.run = &run;
	memset(data, 0x5a, sizeof(data));

	/* Chunk 1: store interfaces 3 and 9, times that step back every 5th packet. */
	uint64_t last[2] = { 0, 0 };
	for (uint32_t i = 0; i < 200; i++) {
		uint32_t k = i % 3 == 0; /* local 0 is store 9 (the first packet), local 1 store 3 */
		uint64_t ts = T0 + i * 1000 - (i % 5 == 4 ? 7000 : 0);
		struct ecap_packet p = { .ts_ns = ts, .iface = k ? 9 : 3, .caplen = sizeof(data),
					 .origlen = sizeof(data), .data = data };
		assert_int_equal(chunk_builder_add_packet(&cb, &p, &ifc), 0);
		uint32_t local = cb.meta.ifaces[0].store_id == p.iface ? 0 : 1;
		size_t b = cb.n_eblk - 1;
		assert_true(b < 16);
		if (ts > want_max[local][b])
			want_max[local][b] = ts;
		if (ts > last[local])
			last[local] = ts;
	}
	assert_true(cb.n_eblk >= 3);
	struct chunk_meta m = { 0 };
	seal_decode(&cb, &enc, &m);
	assert_int_equal(m.n_ifaces, 2);
	assert_int_equal(m.ifaces[0].after_ns, 0); /* the writer's first chunk */
	assert_int_equal(m.ifaces[1].after_ns, 0);
	size_t first_epb = m.n_blocks - cb.n_eblk;
	assert_int_equal(m.n_blockmax, m.n_blocks * 2);
	for (size_t b = 0; b < m.n_blocks; b++)
		for (size_t i = 0; i < 2; i++)
			assert_int_equal(m.blockmax[b * 2 + i],
					 b < first_epb ? 0 : want_max[i][b - first_epb]);
	size_t eblk1 = cb.n_eblk;
	chunkmeta_free(&m);
	chunk_builder_reset(&cb);

	/* Chunk 2: times earlier than chunk 1's; each interface carries its latest time
	 * there. */
	for (uint32_t i = 0; i < 2; i++) {
		struct ecap_packet p = { .ts_ns = T0 + i, .iface = i ? 3 : 9, .caplen = 10,
					 .origlen = 10, .data = data };
		assert_int_equal(chunk_builder_add_packet(&cb, &p, &ifc), 0);
	}
	seal_decode(&cb, &enc, &m);
	assert_int_equal(m.n_ifaces, 2);
	assert_int_equal(m.ifaces[0].store_id, 9);
	assert_int_equal(m.ifaces[0].after_ns, last[0]);
	assert_int_equal(m.ifaces[1].after_ns, last[1]);
	assert_true(last[0] != last[1]);
	assert_int_equal(m.blockmax[(m.n_blocks - 1) * 2], T0);
	assert_int_equal(m.blockmax[(m.n_blocks - 1) * 2 + 1], T0 + 1);
	assert_true(eblk1 > 1);
	chunkmeta_free(&m);
	chunk_builder_free(&cb);
	lz4blocks_enc_free(&enc);
	free(run.last_ns);
}

/* Some blocks compressed ahead, the rest at the seal; and a chunk whose every block was
 * compressed ahead that then takes more packets (its close failed and the store went on):
 * the stale copy of its open block is not used. */
static void test_precompress(void **state)
{
	(void)state;
	struct chunk_builder cb;
	struct lz4blocks_enc ahead, enc;
	assert_int_equal(chunk_builder_init(&cb), 0);
	assert_int_equal(lz4blocks_enc_init(&ahead), 0);
	assert_int_equal(lz4blocks_enc_init(&enc), 0);

	add_packets(&cb, 0, 300);
	assert_true(cb.n_eblk >= 4);
	assert_true(chunk_builder_precompress(&cb, &ahead));
	assert_true(chunk_builder_precompress(&cb, &ahead));
	assert_int_equal(cb.n_packed, 2);
	seal_and_check(&cb, &enc);
	chunk_builder_reset(&cb);

	add_packets(&cb, 0, 300);
	while (chunk_builder_precompress(&cb, &ahead))
		;
	assert_int_equal(cb.n_packed, cb.n_eblk);
	add_packets(&cb, 300, 5); /* into the open (last) block */
	seal_and_check(&cb, &enc);
	chunk_builder_reset(&cb);

	chunk_builder_free(&cb);
	lz4blocks_enc_free(&ahead);
	lz4blocks_enc_free(&enc);
}

/* The frames of a sealed chunk, as a writer puts them together. */
static void sealed_frames(struct chunk_builder *cb, struct lz4blocks_enc *enc, struct buf *frames)
{
	struct buf meta = { 0 };
	assert_int_equal(chunk_builder_seal(cb, 9, enc, &meta), 0);
	struct iovec *iov = NULL;
	size_t cap = 0;
	int cnt = lz4blocks_frame_iov(enc, 1, &iov, &cap);
	assert_true(cnt > 1);
	iov[0] = (struct iovec){ meta.data, meta.len };
	buf_reset(frames);
	for (int i = 0; i < cnt; i++)
		assert_int_equal(buf_append(frames, iov[i].iov_base, iov[i].iov_len), 0);
	free(iov);
	struct chunk_meta m = { 0 };
	const char *why = NULL;
	assert_int_equal(chunkmeta_decode(frames->data, frames->len, &m, &why), (long)meta.len);
	check_digest(&m, frames->data + meta.len);
	chunkmeta_free(&m);
	buf_free(&meta);
}

/* The DSB is made where the key log lines were written: its bytes in the section are those of
 * a DSB written whole (pcapng_write_dsb) from the same lines, over several blocks, at each
 * padding the lines give; the chunk's size counts the lines only; and a second seal of the
 * same chunk makes the same frames. */
static void test_dsb_in_place(void **state)
{
	(void)state;
	struct chunk_builder cb;
	struct lz4blocks_enc enc;
	assert_int_equal(chunk_builder_init(&cb), 0);
	assert_int_equal(lz4blocks_enc_init(&enc), 0);
	for (int n_secrets = 1; n_secrets <= 400; n_secrets += 133) {
		struct buf text = { 0 }, want = { 0 }, frames = { 0 }, again = { 0 }, raw = { 0 };
		add_packets(&cb, 0, 40);
		for (int i = 0; i < n_secrets; i++) {
			struct tls_secret sec = { .secret_len = 32 + (uint32_t)(i % 4) * 8 };
			snprintf(sec.label, sizeof(sec.label), "%s",
				 i % 2 ? "CLIENT_TRAFFIC_SECRET_0" : "EXPORTER_SECRET");
			for (int k = 0; k < 32; k++)
				sec.client_random[k] = rnd8();
			for (uint32_t k = 0; k < sec.secret_len; k++)
				sec.secret[k] = rnd8();
			char line[400];
			size_t n = secret_format_line(&sec, line, sizeof(line));
			assert_int_equal(buf_append(&text, line, n), 0);
			assert_int_equal(chunk_builder_add_secret(&cb, &sec), 0);
		}
		assert_int_equal(chunk_builder_raw_size(&cb), cb.epbs.len + text.len);
		sealed_frames(&cb, &enc, &frames);
		assert_int_equal(chunk_builder_raw_size(&cb), cb.epbs.len + text.len);
		sealed_frames(&cb, &enc, &again);
		assert_int_equal(again.len, frames.len);
		assert_memory_equal(again.data, frames.data, frames.len);

		struct chunk_meta m = { 0 };
		const char *why = NULL;
		long mlen = chunkmeta_decode(frames.data, frames.len, &m, &why);
		assert_true(mlen > 0);
		assert_int_equal(segment_decompress(&m, &frames, &raw, &why), 0);
		assert_int_equal(pcapng_write_dsb(&want, PCAPNG_SECRETS_TLS, text.data,
						  (uint32_t)text.len), 0);
		size_t dsb_at = raw.len - cb.epbs.len - want.len;
		assert_int_equal(dsb_at, m.blocks[m.header_blocks].raw_off);
		assert_memory_equal(raw.data + dsb_at, want.data, want.len);
		if (want.len > CHUNK_BLOCK_TARGET)
			assert_true(m.n_blocks > m.header_blocks + 1 + cb.n_eblk);
		chunkmeta_free(&m);
		buf_free(&text);
		buf_free(&want);
		buf_free(&frames);
		buf_free(&again);
		buf_free(&raw);
		chunk_builder_reset(&cb);
	}
	chunk_builder_free(&cb);
	lz4blocks_enc_free(&enc);
}

/* ---- through the store -------------------------------------------------------------- */

#define setup tmp_store_setup
#define teardown tmp_store_teardown

#define N_PKTS 2000
#define RARE_EVERY 400 /* flow 3 has one packet in 400: a few blocks of the chunk */

static void write_chunk(const char *dir, uint64_t ids[3], bool noise);

static uint64_t flow_of(uint32_t i, const uint64_t ids[3])
{
	return i % RARE_EVERY == 7 ? ids[2] : ids[i % 2];
}

/* One chunk of N_PKTS 1000-byte packets of three flows; flow 3 is rare. noise: packets
 * made only of random bytes (else half of each packet is). */
static void write_chunks(const char *dir, uint64_t ids[3], bool noise, uint64_t chunk_bytes)
{
	struct store_options o;
	store_options_default(&o);
	o.quiet = true;
	o.chunk_bytes = chunk_bytes;
	o.sync_writer = noise; /* the writer on the caller's thread, for once */
	struct store *s;
	assert_int_equal(store_open(dir, STORE_WRITE, &o, &s), 0);
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	uint32_t ifid;
	assert_int_equal(store_add_interface(s, &ifc, &ifid), 0);
	for (int k = 0; k < 3; k++) {
		ids[k] = store_new_flow_id(s);
		struct flow_record fr = { .id = ids[k], .first_ns = T0 };
		fr.key.proto = FLOW_PROTO_TCP;
		fr.key.family = 4;
		fr.key.port_a = (uint16_t)(1000 + k);
		fr.key.port_b = 80;
		assert_int_equal(store_put_flow(s, &fr), 0);
	}
	uint8_t data[1000];
	for (uint32_t i = 0; i < N_PKTS; i++) {
		for (size_t j = 0; j < sizeof(data); j++)
			data[j] = j < 500 && !noise ? (uint8_t)(i + j / 50) : rnd8();
		memcpy(data, &i, 4);
		struct ecap_packet p = { .ts_ns = T0 + i * 1000ull, .iface = ifid,
					 .caplen = sizeof(data), .origlen = sizeof(data),
					 .data = data, .flow_id = flow_of(i, ids) };
		assert_int_equal(store_append_packet(s, &p), 0);
	}
	assert_int_equal(store_close(s), 0);
}

static void write_chunk(const char *dir, uint64_t ids[3], bool noise)
{
	write_chunks(dir, ids, noise, 8u << 20);
}

static void segment_path(const char *dir, char *out, size_t cap)
{
	snprintf(out, cap, "%s/seg-00000001.ecap", dir);
}

/* The segment file at path, open for reading, and its size. */
static int open_segment(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*size = (uint64_t)st.st_size;
	return fd;
}

/* The metadata of the segment's first chunk. */
static void first_meta(const char *path, struct chunk_meta *m)
{
	struct buf frames = { 0 };
	const char *why = NULL;
	uint64_t size;
	int fd = open_segment(path, &size);
	assert_true(segment_read_meta(fd, 0, size, m, &frames, &why) > 0);
	close(fd);
	buf_free(&frames);
}

/* One chunk written (noise: see write_chunks) and its metadata read back into m. */
static void written_meta(struct fixture *f, uint64_t ids[3], bool noise, struct chunk_meta *m)
{
	char seg[128];
	write_chunk(f->dir, ids, noise);
	snprintf(seg, sizeof(seg), "%s/seg-00000001.ecap", f->dir);
	first_meta(seg, m);
}

/* The packet numbers read from chunk 0 for flows (NULL: all), in order; returns the count
 * or -1 when the chunk does not open. */
static int read_numbers(const char *dir, const struct idset *flows, uint32_t *nums)
{
	struct store *s;
	struct chunk_list cl = { 0 };
	assert_int_equal(store_open(dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, flows, &cl), 0);
	assert_int_equal(cl.n, 1);
	struct chunk_view *v;
	int n = 0;
	if (store_chunk_open_flows(s, &cl.v[0], flows, &v) == 0) {
		struct ecap_packet p;
		while (chunk_view_next(v, &p) == 1) {
			assert_int_equal(p.caplen, 1000);
			memcpy(&nums[n++], p.data, 4);
		}
		chunk_view_close(v);
	} else {
		assert_non_null(strstr(store_errmsg(s), "CRC"));
		n = -1;
	}
	chunk_list_free(&cl);
	store_close(s);
	return n;
}

static void test_read_flow_blocks(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[3];
	struct chunk_meta m = { 0 };
	written_meta(f, ids, false, &m);
	char seg[128];
	segment_path(f->dir, seg, sizeof(seg));
	assert_true(m.flags & CHUNKMETA_FLAG_BLOCKS);
	assert_true(m.n_blocks > 20); /* ~2 MB of EPBs in 16 KiB blocks */

	struct idset rare = { 0 };
	assert_int_equal(idset_add(&rare, ids[2]), 0);
	idset_seal(&rare);
	static uint32_t all[N_PKTS], some[N_PKTS];
	assert_int_equal(read_numbers(f->dir, NULL, all), N_PKTS);
	int n = read_numbers(f->dir, &rare, some);
	assert_int_equal(n, N_PKTS / RARE_EVERY);
	for (int i = 0; i < n; i++)
		assert_int_equal(some[i], (uint32_t)(i * RARE_EVERY + 7));

	/* Damage a block that holds no packet of the rare flow: the flow's read still works,
	 * a whole read and fsck find the damage. */
	size_t victim = 0;
	for (size_t b = 1; b < m.n_blocks && !victim; b++) {
		const struct chunkmeta_block *k = &m.blocks[b];
		bool has_rare = false;
		for (uint32_t i = k->first_packet; i < k->first_packet + k->packets; i++)
			has_rare |= flow_of(i, ids) == ids[2];
		if (k->packets && !has_rare)
			victim = b;
	}
	assert_true(victim > 0);
	off_t at = (off_t)(m.length - m.data_len + m.blocks[victim].data_off + 20);
	int fd = open(seg, O_RDWR);
	uint8_t byte;
	assert_int_equal(pread(fd, &byte, 1, at), 1);
	byte ^= 0x01;
	assert_int_equal(pwrite(fd, &byte, 1, at), 1);
	close(fd);
	assert_int_equal(read_numbers(f->dir, &rare, some), N_PKTS / RARE_EVERY);
	assert_int_equal(read_numbers(f->dir, NULL, all), -1);
	char *report = NULL;
	size_t rlen = 0;
	FILE *mem = open_memstream(&report, &rlen);
	assert_true(store_fsck(f->dir, mem) >= 1);
	fclose(mem);
	assert_non_null(strstr(report, "CRC"));
	free(report);
	idset_free(&rare);
	chunkmeta_free(&m);
}

/*
 * The read plan (sections 17 and 18): a read of one flow decodes only the plan, keeps the
 * directory entry of that flow alone and has the blocks, packet flows and digest of a whole
 * read, from one read that also holds the header blocks; a proof's read takes the digest
 * alone, checked or peeked at from the frame's first bytes. A directory that disagrees with
 * the flow stats fails a whole read.
 */
static void test_read_plan(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[3];
	struct chunk_meta whole = { 0 }, plan = { 0 }, dig = { 0 }, bad = { 0 };
	written_meta(f, ids, false, &whole);
	char seg[128];
	segment_path(f->dir, seg, sizeof(seg));

	/* the whole read: the directory lists the three flows by id, as the stats do */
	assert_false(whole.plan_only);
	assert_int_equal(whole.n_flowstats, 3);
	assert_int_equal(whole.n_flowdir, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(whole.flowdir[i].flow_id, ids[i]);
		assert_int_equal(whole.flowstats[whole.flowdir[i].local].flow_id, ids[i]);
	}

	struct buf frames = { 0 };
	const char *why = NULL;
	uint64_t size;
	int fd = open_segment(seg, &size);
	const struct chunkmeta_want rare = { .flow_ids = &ids[2], .n = 1 };
	assert_int_equal(segment_read_plan(fd, 0, size, whole.length, &rare, &plan, &frames, &why),
			 (long)whole.length);
	assert_true(plan.plan_only);
	assert_int_equal(plan.plan_flows, 3);
	assert_int_equal(plan.n_flowdir, 1);
	assert_int_equal(plan.flowdir[0].flow_id, ids[2]);
	assert_int_equal(whole.flowstats[plan.flowdir[0].local].flow_id, ids[2]);
	assert_int_equal(plan.n_flowstats, 0); /* the flow stats and records are not read */
	assert_int_equal(plan.n_flows, 0);
	assert_int_equal(plan.n_pktflow, whole.n_pktflow);
	assert_memory_equal(plan.pktflow, whole.pktflow, whole.n_pktflow * sizeof(uint32_t));
	assert_int_equal(plan.n_blocks, whole.n_blocks);
	assert_memory_equal(plan.blocks, whole.blocks, whole.n_blocks * sizeof(*whole.blocks));
	assert_int_equal(plan.n_blockmax, whole.n_blockmax);
	assert_true(plan.has_digest);
	assert_memory_equal(plan.digest, whole.digest, CHUNKMETA_DIGEST_LEN);
	/* one read held the metadata and the header blocks after it */
	uint64_t header_end = whole.length - whole.data_len +
			      whole.blocks[whole.header_blocks - 1].data_off +
			      whole.blocks[whole.header_blocks - 1].data_len;
	assert_true(frames.len >= header_end);

	const struct chunkmeta_want digest = { .digest_only = true };
	assert_int_equal(segment_read_plan(fd, 0, size, 0, &digest, &dig, &frames, &why),
			 (long)whole.length);
	assert_true(dig.has_digest);
	assert_memory_equal(dig.digest, whole.digest, CHUNKMETA_DIGEST_LEN);
	assert_int_equal(whole.digest_kind, CHUNK_DIGEST_BLOCKS);
	assert_int_equal(plan.digest_kind, CHUNK_DIGEST_BLOCKS);
	assert_int_equal(dig.digest_kind, CHUNK_DIGEST_BLOCKS);
	assert_string_equal(dig.version, whole.version);
	assert_int_equal(dig.n_pktflow, 0);

	/* what the proof peeks at: the digest from the frame's first bytes alone, unchecked */
	uint8_t head[1024];
	struct chunk_meta peek = { 0 };
	assert_int_equal(pread(fd, head, sizeof(head), 0), (ssize_t)sizeof(head));
	assert_true(whole.length - whole.data_len > sizeof(head)); /* the frame goes on */
	assert_int_equal(chunkmeta_peek_digest(head, sizeof(head), &peek, &why),
			 (long)(whole.length - whole.data_len));
	assert_true(peek.has_digest);
	assert_int_equal(peek.id, whole.id);
	assert_memory_equal(peek.digest, whole.digest, CHUNKMETA_DIGEST_LEN);
	assert_int_equal(peek.digest_kind, CHUNK_DIGEST_BLOCKS);
	assert_string_equal(peek.version, whole.version);
	assert_int_equal(chunkmeta_peek_digest(head, 80, &peek, &why), -ENODATA);
	chunkmeta_free(&peek);
	close(fd);

	/* A packet naming a chunk-local flow beyond the chunk's three: the whole read refuses
	 * the metadata; a read of the plan leaves that to the packets it walks, and the walk of
	 * that packet's block names it. */
	struct chunk_view v = { 0 };
	fd = open_segment(seg, &size);
	assert_true(segment_read_chunk(fd, 0, size, &v.meta, &v.frames, &why) > 0);
	close(fd);
	assert_int_equal(segment_decompress(&v.meta, &v.frames, &v.raw, &why), 0);
	size_t victim = whole.n_pktflow / 2;
	uint32_t was = whole.pktflow[victim];
	whole.pktflow[victim] = 7;
	struct buf meta = { 0 };
	assert_int_equal(chunkmeta_encode(&whole, &meta), 0);
	assert_int_equal(chunkmeta_decode(meta.data, meta.len, &bad, &why), -EBADMSG);
	assert_non_null(strstr(why, "does not list"));
	assert_true(chunkmeta_decode_plan(meta.data, meta.len, &v.meta, &rare, &why) > 0);
	assert_true(v.meta.plan_only);
	uint8_t *want = calloc(v.meta.n_blocks, 1);
	uint64_t keep[4] = { 0 };
	assert_non_null(want);
	for (size_t b = 0; b < v.meta.n_blocks; b++) /* the blocks around the packet, not it */
		want[b] = victim < v.meta.blocks[b].first_packet ||
			  victim >= v.meta.blocks[b].first_packet + v.meta.blocks[b].packets;
	assert_int_equal(chunk_view_parse_blocks(&v, want, keep, &why), 0);
	memset(want, 1, v.meta.n_blocks);
	assert_int_equal(chunk_view_parse_blocks(&v, want, keep, &why), -EBADMSG);
	assert_non_null(strstr(why, "a packet names a flow the chunk does not list"));
	free(want);
	chunk_view_free_contents(&v);
	whole.pktflow[victim] = was;
	buf_reset(&meta);

	/* a directory whose entries name other chunk-local flows than the stats */
	uint32_t t = whole.flowdir[0].local;
	whole.flowdir[0].local = whole.flowdir[1].local;
	whole.flowdir[1].local = t;
	assert_int_equal(chunkmeta_encode(&whole, &meta), 0);
	assert_int_equal(chunkmeta_decode(meta.data, meta.len, &bad, &why), -EBADMSG);
	assert_non_null(strstr(why, "flow directory"));
	buf_free(&meta);
	buf_free(&frames);
	chunkmeta_free(&whole);
	chunkmeta_free(&plan);
	chunkmeta_free(&dig);
	chunkmeta_free(&bad);
}

/* Half of each packet is noise: the chunk still compresses where it can, and the blocks'
 * stored sizes add up to the data frame. */
static void test_block_sizes(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[3];
	struct chunk_meta m = { 0 };
	written_meta(f, ids, false, &m);
	uint64_t stored = LZ4BLOCKS_HEADER_LEN + LZ4BLOCKS_END_LEN, raw = 0;
	for (size_t b = 0; b < m.n_blocks; b++) {
		stored += m.blocks[b].data_len;
		raw += m.blocks[b].raw_len;
		assert_true(m.blocks[b].raw_len <= CHUNK_BLOCK_TARGET + 1100);
	}
	assert_int_equal(stored, m.data_len);
	assert_int_equal(raw, m.raw_len);
	assert_true(m.data_len < m.raw_len * 3 / 4);
	assert_true(m.data_len > m.raw_len / 3);
	chunkmeta_free(&m);
}

/* Random bytes: every block is stored as is (written from the builder's buffer, not copied),
 * reads back whole and passes fsck. */
static void test_incompressible(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[3];
	struct chunk_meta m = { 0 };
	written_meta(f, ids, true, &m);
	assert_true(m.data_len > m.raw_len - m.raw_len / 50);
	assert_true(m.data_len < m.raw_len + m.raw_len / 100);
	{ /* blocks stored as is: the writer hashed them where the builder held them */
		char seg[128];
		struct buf frames = { 0 };
		const char *why = NULL;
		uint64_t size;
		struct chunk_meta w = { 0 };
		segment_path(f->dir, seg, sizeof(seg));
		int fd = open_segment(seg, &size);
		long r = segment_read_chunk(fd, 0, size, &w, &frames, &why);
		close(fd);
		assert_true(r > 0);
		check_digest(&w, frames.data + frames.len - w.data_len);
		chunkmeta_free(&w);
		buf_free(&frames);
	}
	static uint32_t all[N_PKTS];
	assert_int_equal(read_numbers(f->dir, NULL, all), N_PKTS);
	for (uint32_t i = 0; i < N_PKTS; i++)
		assert_int_equal(all[i], i);
	assert_int_equal(store_fsck(f->dir, stderr), 0);
	chunkmeta_free(&m);

	/* Chunks of one EPB block, whose blocks are all stored as is once the back-off
	 * skips the attempts: the section header block too (it is copied, never referred
	 * to: its buffer does not outlive the seal). */
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	write_chunks(f->dir, ids, true, 64 * 1024);
	assert_int_equal(store_fsck(f->dir, stderr), 0);
}

/* Many chunks through the threaded writer: while it writes one, the caller compresses blocks
 * of the next (chunk_writer_help), whose stored copies the seal then refers to. Every packet
 * reads back, in order, and the store passes fsck. */
static void test_many_chunks(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[3];
	write_chunks(f->dir, ids, false, 200 * 1024);
	struct store *s;
	struct chunk_list cl = { 0 };
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, NULL, &cl), 0);
	assert_true(cl.n >= 8);
	uint32_t next = 0;
	for (size_t c = 0; c < cl.n; c++) {
		struct chunk_view *v;
		assert_int_equal(store_chunk_open(s, &cl.v[c], &v), 0);
		struct ecap_packet p;
		uint32_t num;
		while (chunk_view_next(v, &p) == 1) {
			memcpy(&num, p.data, 4);
			assert_int_equal(num, next++);
		}
		chunk_view_close(v);
	}
	assert_int_equal(next, N_PKTS);
	chunk_list_free(&cl);
	store_close(s);
	assert_int_equal(store_fsck(f->dir, stderr), 0);
}

/* The views an export closes with store_chunk_close() come back, memory and all, for the
 * next chunks: reads of the rare flow's few blocks and whole reads in turns, over chunks of
 * other sizes (the last is short), each give exactly what a new view gives, and the store
 * hands back the views it kept instead of new ones. */
static void test_views_reused(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[3];
	write_chunks(f->dir, ids, false, 300 * 1024);
	struct idset rare = { 0 };
	assert_int_equal(idset_add(&rare, ids[2]), 0);
	idset_seal(&rare);
	struct store *s;
	struct chunk_list cl = { 0 };
	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, NULL, &cl), 0);
	assert_true(cl.n >= 5);
	uint32_t next = 0, rare_seen = 0;
	struct chunk_view *kept = NULL;
	for (size_t c = 0; c < cl.n; c++) {
		for (int sel = 0; sel < 3; sel++) { /* the rare flow, whole, the rare flow */
			const struct idset *flows = sel != 1 ? &rare : NULL;
			struct chunk_view *v, *fresh;
			struct ecap_packet p, q;
			assert_int_equal(store_chunk_open_flows(s, &cl.v[c], flows, &v), 0);
			if (kept)
				assert_ptr_equal(v, kept); /* the view closed last */
			/* the same chunk through a view of its own, while v is open */
			assert_int_equal(store_chunk_open_flows(s, &cl.v[c], flows, &fresh), 0);
			assert_ptr_not_equal(fresh, v);
			uint32_t n = 0, num;
			while (chunk_view_next(v, &p) == 1) {
				assert_int_equal(chunk_view_next(fresh, &q), 1);
				assert_int_equal(p.ts_ns, q.ts_ns);
				assert_int_equal(p.flow_id, q.flow_id);
				assert_int_equal(p.caplen, q.caplen);
				assert_memory_equal(p.data, q.data, p.caplen);
				memcpy(&num, p.data, 4);
				if (sel != 1) {
					assert_int_equal(p.flow_id, ids[2]);
					assert_int_equal(num % RARE_EVERY, 7);
				} else {
					assert_int_equal(num, next + n);
				}
				n++;
			}
			assert_int_equal(chunk_view_next(fresh, &q), 0);
			chunk_view_close(fresh);
			store_chunk_close(s, v);
			kept = v;
			if (sel == 0)
				rare_seen += n;
			else if (sel == 1)
				next += n;
		}
	}
	assert_int_equal(next, N_PKTS);
	assert_int_equal(rare_seen, N_PKTS / RARE_EVERY);
	chunk_list_free(&cl);
	idset_free(&rare);
	store_close(s);
}

/* A block list whose packet ranges lie (a packet moved from one block to the next, every
 * checksum intact): a read of some flows would miss it, so a whole read (and so fsck)
 * refuses the chunk too. */
static void test_block_packet_lie(void **state)
{
	struct fixture *f = *state;
	uint64_t ids[3];
	write_chunk(f->dir, ids, false);
	char seg[128];
	segment_path(f->dir, seg, sizeof(seg));
	struct stat st;
	int fd = open(seg, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	struct chunk_view v = { 0 };
	const char *why = NULL;
	assert_true(segment_read_chunk(fd, 0, (uint64_t)st.st_size, &v.meta, &v.frames, &why) > 0);
	close(fd);
	assert_int_equal(segment_decompress(&v.meta, &v.frames, &v.raw, &why), 0);
	assert_int_equal(chunk_view_parse(&v, &why), 0);
	assert_int_equal(v.n_pkts, N_PKTS);

	struct chunkmeta_block *k = v.meta.blocks;
	size_t b = 1;
	while (b + 1 < v.meta.n_blocks && k[b].packets < 2)
		b++;
	assert_true(b + 1 < v.meta.n_blocks);
	k[b].packets--;
	k[b + 1].first_packet--;
	k[b + 1].packets++;
	why = NULL;
	assert_int_equal(chunk_view_parse(&v, &why), -EBADMSG);
	assert_non_null(strstr(why, "number of packets"));
	uint8_t *want = calloc(v.meta.n_blocks, 1);
	memset(want, 1, v.meta.n_blocks);
	why = NULL;
	assert_int_equal(chunk_view_parse_blocks(&v, want, NULL, &why), -EBADMSG);
	assert_non_null(strstr(why, "number of packets"));
	free(want);
	chunk_view_free_contents(&v);
}

/* Packets of up to 16 MiB (what a replayed capture may hold) after packets that nearly fill a
 * block: no block grows past the frame's 256 KiB block maximum, so the chunk seals; a packet
 * too large for any block keeps its first bytes and its original length. */
static void test_large_packets(void **state)
{
	struct fixture *f = *state;
	static const uint32_t sizes[] = { 60000, 200000, 1000, 250000, 262144, 300000,
					  70000, 16u << 20, 100 };
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	uint8_t *data = malloc(16u << 20);
	assert_non_null(data);
	for (size_t j = 0; j < (16u << 20); j++)
		data[j] = (uint8_t)(j * 7 + j / 4096);

	struct store_options o;
	store_options_default(&o);
	o.quiet = true;
	o.chunk_bytes = 8u << 20; /* one chunk */
	struct store *s;
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	struct ecap_iface ifc = { .name = "lo", .linktype = 1, .snaplen = 16u << 20 };
	uint32_t ifid;
	assert_int_equal(store_add_interface(s, &ifc, &ifid), 0);
	for (size_t i = 0; i < n; i++) {
		struct ecap_packet p = { .ts_ns = T0 + i, .iface = ifid, .caplen = sizes[i],
					 .origlen = sizes[i], .data = data };
		assert_int_equal(store_append_packet(s, &p), 0);
	}
	assert_int_equal(store_close(s), 0);

	char seg[128];
	segment_path(f->dir, seg, sizeof(seg));
	struct chunk_meta m = { 0 };
	first_meta(seg, &m);
	for (size_t b = 0; b < m.n_blocks; b++)
		assert_true(m.blocks[b].raw_len <= LZ4BLOCKS_MAX);
	assert_int_equal(m.packets, n);

	assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
	struct chunk_list cl = { 0 };
	assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, NULL, &cl), 0);
	assert_int_equal(cl.n, 1);
	struct chunk_view *v;
	assert_int_equal(store_chunk_open(s, &cl.v[0], &v), 0);
	struct ecap_packet p;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(chunk_view_next(v, &p), 1);
		assert_int_equal(p.origlen, sizes[i]);
		assert_true(p.caplen <= sizes[i]);
		assert_true(p.caplen + 256 > (sizes[i] < LZ4BLOCKS_MAX ? sizes[i] : LZ4BLOCKS_MAX));
		assert_memory_equal(p.data, data, p.caplen);
	}
	assert_int_equal(chunk_view_next(v, &p), 0);
	chunk_view_close(v);
	chunk_list_free(&cl);
	store_close(s);
	assert_int_equal(store_fsck(f->dir, stderr), 0);
	chunkmeta_free(&m);
	free(data);
}

/* 3000 interfaces in one chunk: their IDBs (about 1.2 MB) take several header blocks; each
 * packet keeps its interface through a whole read, a read by flow, fsck and a rebuild. */
static void test_many_interfaces(void **state)
{
	struct fixture *f = *state;
	enum { N_IF = 3000 };
	struct store_options o;
	struct store *s;
	uint32_t ifid[N_IF];
	uint8_t data[100];
	char seg[128];

	store_options_default(&o);
	o.quiet = true;
	o.no_sync = true;
	o.chunk_bytes = 64u << 20;
	assert_int_equal(store_open(f->dir, STORE_WRITE, &o, &s), 0);
	for (uint32_t i = 0; i < N_IF; i++) {
		struct ecap_iface ifc = { .linktype = 1 };
		snprintf(ifc.name, sizeof(ifc.name), "veth%08x@4026532%03u", i * 2654435761u,
			 i % 1000);
		memset(ifc.filter, 'f', ECAP_FILTER_MAX - 1);
		snprintf(ifc.filter, 32, "not port %u or ", i);
		ifc.filter[strlen(ifc.filter)] = 'x';
		assert_int_equal(store_add_interface(s, &ifc, &ifid[i]), 0);
	}
	uint64_t flows[2] = { store_new_flow_id(s), store_new_flow_id(s) };
	for (int k = 0; k < 2; k++) {
		struct flow_record r = { .id = flows[k], .first_ns = T0 };
		r.key.proto = FLOW_PROTO_UDP;
		r.key.family = 4;
		r.key.port_a = (uint16_t)(1000 + k);
		assert_int_equal(store_put_flow(s, &r), 0);
	}
	for (uint32_t i = 0; i < N_IF; i++) {
		memset(data, 0, sizeof(data));
		memcpy(data, &i, 4);
		struct ecap_packet p = { .ts_ns = T0 + i, .iface = ifid[i], .caplen = sizeof(data),
					 .origlen = sizeof(data), .data = data,
					 .flow_id = flows[i % 2] };
		assert_int_equal(store_append_packet(s, &p), 0);
	}
	assert_int_equal(store_close(s), 0);

	struct chunk_meta m = { 0 };
	segment_path(f->dir, seg, sizeof(seg));
	first_meta(seg, &m);
	assert_int_equal(m.n_ifaces, N_IF);
	assert_true(m.header_blocks > 4);
	chunkmeta_free(&m);

	for (int pass = 0; pass < 2; pass++) {
		for (int sel = 0; sel < 2; sel++) { /* all, then flow 2 alone */
			struct idset ids = { 0 };
			struct chunk_list cl = { 0 };
			struct chunk_view *v;
			struct ecap_packet p;
			uint32_t n = 0, num;
			if (sel)
				idset_add(&ids, flows[1]);
			idset_seal(&ids);
			assert_int_equal(store_open(f->dir, STORE_READ, NULL, &s), 0);
			assert_int_equal(store_find_chunks(s, 0, UINT64_MAX, sel ? &ids : NULL, &cl),
					 0);
			assert_int_equal(cl.n, 1);
			assert_int_equal(sel ? store_chunk_open_flows(s, &cl.v[0], &ids, &v)
					     : store_chunk_open(s, &cl.v[0], &v), 0);
			while (chunk_view_next(v, &p) == 1) {
				memcpy(&num, p.data, 4);
				assert_int_equal(p.iface, ifid[num]);
				if (sel)
					assert_int_equal(num % 2, 1);
				n++;
			}
			assert_int_equal(n, sel ? N_IF / 2 : N_IF);
			chunk_view_close(v);
			chunk_list_free(&cl);
			idset_free(&ids);
			store_close(s);
		}
		FILE *devnull = fopen("/dev/null", "w");
		assert_int_equal(store_fsck(f->dir, devnull), 0);
		fclose(devnull);
		if (pass == 0) {
			char p[128];
			snprintf(p, sizeof(p), "%s/index.db", f->dir);
			assert_int_equal(unlink(p), 0);
			assert_int_equal(store_rebuild(f->dir, &o, false), 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_frame_header),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_fast_search),
		cmocka_unit_test(test_random_frames),
		cmocka_unit_test(test_key_log_line),
		cmocka_unit_test(test_precompress),
		cmocka_unit_test(test_dsb_in_place),
		cmocka_unit_test(test_order_sections),
		cmocka_unit_test_setup_teardown(test_read_flow_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incompressible, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_views_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_packet_lie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_interfaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_packets, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
