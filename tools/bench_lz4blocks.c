// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_lz4blocks - what the writer's LZ4 choices (schema/lz4blocks.c) make of a recorded
 * load: the EPB blocks of every chunk of the given segment files, decoded, then compressed
 * again block by block
 *   - through lz4blocks_put_frame, the writer's way (its back-off and its choice between the
 *     default and the fast search carried from block to block, one encoder for all): stored
 *     bytes over raw bytes, blocks tried (of them at the fast search), stored as is;
 *   - through LZ4_compress_fast_extState alone at acceleration 1, 8, 32 and 64, every block;
 * with the CPU time per raw byte of each (the best of ROUNDS passes; the blocks stay in the
 * cache, so these are the search's own costs, not those of a block read from memory).
 * A segment of a capture of the curl loops (tools/bench_rec_account.sh's loads, a store kept)
 * gives their blocks; one of `ecap-rec --replay` of gen_traffic, the replay corpus's.
 *
 *   bench_lz4blocks [--rounds N] SEGMENT...
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chunkmeta.h"
#include "lz4blocks.h"
#include "segment.h"

struct block {
	uint8_t *raw;
	size_t len;
};

struct blocks {
	struct block *b;
	size_t n, cap, bytes;
};

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The EPB blocks (those holding packets) of every chunk of the segment at path. */
static int read_segment(const char *path, struct blocks *all)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "bench_lz4blocks: %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct chunk_meta m = { 0 };
	struct buf frames = { 0 };
	const char *why = NULL;
	int rc = 0;
	for (uint64_t off = 0; off < (uint64_t)st.st_size;) {
		long len = segment_read_pad(fd, off, (uint64_t)st.st_size, &why);
		if (len > 0) {
			off += (uint64_t)len;
			continue;
		}
		if (len == 0)
			len = segment_read_chunk(fd, off, (uint64_t)st.st_size, &m, &frames, &why);
		if (len < 0) {
			fprintf(stderr, "bench_lz4blocks: %s: chunk at %llu: %s\n", path,
				(unsigned long long)off, why ? why : strerror((int)-len));
			rc = -1;
			break;
		}
		size_t meta_len = m.length - m.data_len;
		for (size_t i = m.header_blocks; i < m.n_blocks && !rc; i++) {
			const struct chunkmeta_block *k = &m.blocks[i];
			if (!k->packets)
				continue; /* the key log's */
			struct block *b = chunkmeta_grow((void **)&all->b, &all->n, &all->cap,
							 sizeof(*b));
			if (!b || !(b->raw = malloc(k->raw_len))) {
				rc = -1;
				break;
			}
			b->len = k->raw_len;
			all->bytes += k->raw_len;
			if (lz4blocks_get(frames.data + meta_len + k->data_off, k->data_len, k->crc,
					  b->raw, b->len, &why)) {
				fprintf(stderr, "bench_lz4blocks: %s: chunk %llu: %s\n", path,
					(unsigned long long)m.id, why);
				rc = -1;
			}
		}
		off += (uint64_t)len;
	}
	chunkmeta_free(&m);
	buf_free(&frames);
	close(fd);
	return rc;
}

/* The writer's way: one encoder for all the blocks, each put into a frame of its own. */
static void writer_policy(const struct blocks *all, unsigned rounds)
{
	double best = 0;
	size_t stored = 0;
	struct lz4blocks_enc e;
	for (unsigned r = 0; r < rounds; r++) {
		if (lz4blocks_enc_init(&e))
			return;
		size_t sum = 0;
		double t0 = cpu_now();
		for (size_t i = 0; i < all->n; i++) {
			lz4blocks_frame_reset(&e);
			if (lz4blocks_put_frame(&e, all->b[i].raw, all->b[i].len))
				return;
			sum += lz4blocks_frame_len(&e) - 4; /* the size word */
		}
		double t = cpu_now() - t0;
		if (!r || t < best)
			best = t;
		stored = sum;
		if (r + 1 < rounds)
			lz4blocks_enc_free(&e);
	}
	printf("| writer (lz4blocks_put_frame) | %.4f | %llu (%llu fast) | %llu | %.3f |\n",
	       (double)stored / (double)all->bytes, (unsigned long long)e.tried,
	       (unsigned long long)e.tried_fast, (unsigned long long)e.stored_raw,
	       best / (double)all->bytes * 1e9);
	lz4blocks_enc_free(&e);
}

/* LZ4 alone at one acceleration, every block (stored as is when it does not shrink). */
static void fixed_accel(const struct blocks *all, unsigned rounds, int accel, void *state,
			uint8_t *out)
{
	double best = 0;
	size_t stored = 0, raw = 0;
	for (unsigned r = 0; r < rounds; r++) {
		size_t sum = 0, n_raw = 0;
		double t0 = cpu_now();
		for (size_t i = 0; i < all->n; i++) {
			int len = (int)all->b[i].len;
			int n = LZ4_compress_fast_extState(state, (const char *)all->b[i].raw,
							   (char *)out, len, LZ4_compressBound(len),
							   accel);
			if (n > 0 && n < len) {
				sum += (size_t)n;
			} else {
				sum += (size_t)len;
				n_raw++;
			}
		}
		double t = cpu_now() - t0;
		if (!r || t < best)
			best = t;
		stored = sum;
		raw = n_raw;
	}
	printf("| LZ4 at acceleration %d | %.4f | %zu | %zu | %.3f |\n", accel,
	       (double)stored / (double)all->bytes, all->n, raw, best / (double)all->bytes * 1e9);
}

int main(int argc, char **argv)
{
	unsigned rounds = 5;
	static const struct option opts[] = { { "rounds", required_argument, NULL, 'r' },
					      { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r' || (rounds = (unsigned)atoi(optarg)) == 0) {
			fprintf(stderr, "usage: bench_lz4blocks [--rounds N] SEGMENT...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: bench_lz4blocks [--rounds N] SEGMENT...\n");
		return 2;
	}
	struct blocks all = { 0 };
	for (int i = optind; i < argc; i++)
		if (read_segment(argv[i], &all))
			return 1;
	if (!all.n) {
		fprintf(stderr, "bench_lz4blocks: no EPB blocks\n");
		return 1;
	}
	void *state = malloc((size_t)LZ4_sizeofState());
	uint8_t *out = malloc((size_t)LZ4_compressBound(LZ4BLOCKS_MAX));
	if (!state || !out)
		return 1;
	printf("%zu EPB blocks, %zu bytes; best of %u passes\n\n", all.n, all.bytes, rounds);
	printf("| compressed by | stored / raw | blocks tried | stored as is | ns per raw byte |\n");
	printf("|---|---|---|---|---|\n");
	writer_policy(&all, rounds);
	static const int accels[] = { 1, 8, 32, 64 };
	for (size_t k = 0; k < sizeof(accels) / sizeof(accels[0]); k++)
		fixed_accel(&all, rounds, accels[k], state, out);
	for (size_t i = 0; i < all.n; i++)
		free(all.b[i].raw);
	free(all.b);
	free(state);
	free(out);
	return 0;
}
