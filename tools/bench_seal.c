// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_seal - what the writer's per-byte steps at a chunk's seal cost on a recorded load's
 * chunks (the chunks of the given segment files, read once into memory): CPU time per MiB of
 * the chunks' raw bytes, best of ROUNDS passes over all of them (every chunk's bytes leave the
 * cache between its passes when the segments hold a few MiB or more, as a chunk of a second
 * has by its seal), for
 *   digest-x4  the leaf digests of each chunk's data blocks four at a time, each group run to
 *              its longest (sha256_x4, then two and one lane for the last 1-3 blocks): the
 *              writer's way up to session 21;
 *   digest-xn  the same digests by sha256_xn (up to 64 blocks a call, four lanes kept busy
 *              from the first block to the last): the writer's way since;
 *   digest     chunk_digest_frame, the whole chunk digest (section 10), as written;
 *   crc32c-streams  CRC-32C of every data block's raw bytes (the recorder's per block) by
 *              the crc32 instruction's three streams (crc32c_allow_fold(false));
 *   crc32c-fold  the same by folding (AVX-512 VPCLMULQDQ), where the CPU has it: the
 *              recorder's way since session 21;
 *   copy       the data frame copied into an aligned buffer (the direct write's staging);
 *   digest-xn-sha-warm, digest-xn-warm  the leaf digests as digest-xn-sha and digest-xn, of
 *              each chunk right after a first pass over it (its stored bytes in the cache, as
 *              the writer's LZ4 leaves them): only the second pass is counted;
 * and what they were given: chunks, blocks, raw and stored MiB. The digests of both leaf
 * ways are compared (a difference exits 1).
 *
 *   bench_seal [--rounds N] SEGMENT...
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "chunk_digest.h"
#include "chunkmeta.h"
#include "crc32c.h"
#include "lz4blocks.h"
#include "segment.h"
#include "sha256_x2.h"

struct chunk {
	struct chunk_meta m;
	uint8_t *frame; /* the data frame */
	uint8_t *raw;   /* the chunk decoded */
};

struct chunks {
	struct chunk *c;
	size_t n, cap;
	size_t blocks, raw, stored;
};

/* The chunks made of blocks of the segment at path. */
static int read_segment(const char *path, struct chunks *all)
{
	struct buf frames = { 0 };
	const char *why = NULL;
	struct stat st;
	int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "bench_seal: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (uint64_t off = 0; off < (uint64_t)st.st_size && !rc;) {
		long len = segment_read_pad(fd, off, (uint64_t)st.st_size, &why);
		if (len > 0) {
			off += (uint64_t)len;
			continue;
		}
		struct chunk *c = chunkmeta_grow((void **)&all->c, &all->n, &all->cap, sizeof(*c));
		if (!c)
			return -1;
		memset(c, 0, sizeof(*c));
		if (len == 0)
			len = segment_read_chunk(fd, off, (uint64_t)st.st_size, &c->m, &frames,
						 &why);
		struct buf raw = { 0 };
		int err = len < 0 ? (int)len : segment_decompress(&c->m, &frames, &raw, &why);
		if (err) {
			fprintf(stderr, "bench_seal: %s: chunk at %llu: %s\n", path,
				(unsigned long long)off, why ? why : strerror(-err));
			rc = -1;
			break;
		}
		if (!(c->m.flags & CHUNKMETA_FLAG_BLOCKS)) { /* written before blocks: skipped */
			chunkmeta_free(&c->m);
			buf_free(&raw);
			all->n--;
		} else if (!(c->frame = malloc(c->m.data_len))) {
			rc = -1;
		} else {
			memcpy(c->frame, frames.data + frames.len - c->m.data_len, c->m.data_len);
			c->raw = raw.data;
			all->blocks += c->m.n_blocks;
			all->raw += c->m.raw_len;
			all->stored += c->m.data_len;
		}
		off += (uint64_t)len;
	}
	buf_free(&frames);
	close(fd);
	return rc;
}

/* Block i's stored bytes after its size word. */
static const void *block_at(const struct chunk *c, size_t i, size_t *len)
{
	*len = c->m.blocks[i].data_len - 4;
	return c->frame + c->m.blocks[i].data_off + 4;
}

/* The leaf digests of chunk c into d: by groups of four (x4) or by sha256_xn. */
static int leaves(const struct chunk *c, int xn, uint8_t (*d)[SHA256_LEN])
{
	size_t n = c->m.n_blocks;
	for (size_t i = 0; i < n;) {
		const void *p[SHA256_XN_MAX];
		size_t len[SHA256_XN_MAX];
		size_t k = xn ? (n - i < SHA256_XN_MAX ? n - i : SHA256_XN_MAX) :
				(n - i < 4 ? n - i : 4);
		for (size_t j = 0; j < k; j++)
			p[j] = block_at(c, i + j, &len[j]);
		int err;
		if (xn)
			err = sha256_xn(p, len, k, d + i);
		else if (k == 4)
			err = sha256_x4(p, len, d + i);
		else if (k >= 2)
			err = sha256_x2(p[0], len[0], d[i], p[1], len[1], d[i + 1]) ||
			      (k == 3 && sha256_x1(p[2], len[2], d[i + 2]));
		else
			err = sha256_x1(p[0], len[0], d[i]);
		if (err)
			return -1;
		i += k;
	}
	return 0;
}

static uint32_t sink;

/* One pass of step `how` over all chunks: its CPU seconds. */
static double pass(const struct chunks *all, int how, uint8_t (*d)[SHA256_LEN], uint8_t *stage)
{
	uint64_t t0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (size_t i = 0; i < all->n; i++) {
		const struct chunk *c = &all->c[i];
		const char *why;
		uint8_t out[SHA256_LEN];
		switch (how) {
		case 0:
		case 1:
		case 2:
			if (leaves(c, how > 0, d))
				exit(1);
			sink ^= d[0][0];
			break;
		case 3:
			if (chunk_digest_frame(&c->m, c->frame, c->m.data_len, out, &why))
				exit(1);
			sink ^= out[0];
			break;
		case 4:
		case 5:
			for (size_t b = 0; b < c->m.n_blocks; b++)
				sink ^= crc32c(0, c->raw + c->m.blocks[b].raw_off,
					       c->m.blocks[b].raw_len);
			break;
		case 6:
			memcpy(stage, c->frame, c->m.data_len);
			sink ^= stage[c->m.data_len - 1];
			break;
		default: { /* the leaf digests of a chunk just read: only the second pass counts */
			uint64_t w = now_ns(CLOCK_PROCESS_CPUTIME_ID);
			if (leaves(c, 1, d))
				exit(1);
			t0 += now_ns(CLOCK_PROCESS_CPUTIME_ID) - w; /* the first pass's time off */
			if (leaves(c, 1, d))
				exit(1);
			sink ^= d[0][0];
		}
		}
	}
	return (double)(now_ns(CLOCK_PROCESS_CPUTIME_ID) - t0) * 1e-9;
}

int main(int argc, char **argv)
{
	static const char usage[] = "usage: bench_seal [--rounds N] SEGMENT...\n";
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ 0 },
	};
	unsigned rounds = 20;
	for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		if (o != 'r')
			return fputs(usage, stderr), 2;
		rounds = (unsigned)strtoul(optarg, NULL, 0);
	}
	if (optind >= argc || !rounds)
		return fputs(usage, stderr), 2;
	struct chunks all = { 0 };
	int bad = 0;
	for (int i = optind; i < argc && !bad; i++)
		bad = read_segment(argv[i], &all);
	if (!bad && !all.n)
		fprintf(stderr, "bench_seal: no chunk made of blocks\n");
	if (bad || !all.n)
		return 1;
	size_t most = 0, most_data = 0;
	for (size_t i = 0; i < all.n; i++) {
		most = all.c[i].m.n_blocks > most ? all.c[i].m.n_blocks : most;
		most_data = all.c[i].m.data_len > most_data ? all.c[i].m.data_len : most_data;
	}
	uint8_t(*d4)[SHA256_LEN] = malloc((most + 1) * SHA256_LEN);
	uint8_t(*dn)[SHA256_LEN] = malloc((most + 1) * SHA256_LEN);
	uint8_t *stage = aligned_alloc(4096, (most_data + 4095) / 4096 * 4096 + 4096);
	if (!d4 || !dn || !stage)
		return 1;
	for (size_t i = 0; i < all.n; i++) { /* both ways give the same digests */
		if (leaves(&all.c[i], 0, d4) || leaves(&all.c[i], 1, dn) ||
		    memcmp(d4, dn, all.c[i].m.n_blocks * SHA256_LEN)) {
			fprintf(stderr, "bench_seal: chunk %llu: the leaf digests differ\n",
				(unsigned long long)all.c[i].m.id);
			return 1;
		}
	}
	printf("%zu chunks, %zu blocks, %.2f MiB raw, %.2f MiB stored; SHA extensions: %s; "
	       "best of %u\n",
	       all.n, all.blocks, all.raw / 1048576.0, all.stored / 1048576.0,
	       sha256_x2_hw() ? "yes" : "no", rounds);
	static const char *const names[] = { "digest-x4", "digest-xn-sha", "digest-xn",
					      "digest", "crc32c-streams", "crc32c-fold", "copy",
					      "digest-xn-sha-warm", "digest-xn-warm" };
	printf("| step | us per raw MiB |\n|---|---|\n");
	for (int how = 0; how < 9; how++) {
		crc32c_allow_fold(how != 4);
		sha256_x2_allow_x16(how != 1 && how != 7);
		if (how == 5 && !crc32c_folds())
			continue;
		double best = 0;
		for (unsigned r = 0; r < rounds; r++) {
			double t = pass(&all, how, how ? dn : d4, stage);
			best = !r || t < best ? t : best;
		}
		printf("| %s | %.1f |\n", names[how], best * 1e6 / (all.raw / 1048576.0));
	}
	return sink == 0x12345678u ? 3 : 0;
}
