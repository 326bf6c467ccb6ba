// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_sha256 - SHA-256 throughput on a chunk's data blocks, as the writer hashes them
 * (schema/chunk_digest.c): N blocks of BYTES each (16 KiB: CHUNK_BLOCK_TARGET), hashed
 * ROUNDS times three ways, CPU time each (user + system of this process, single thread):
 *   stream   one SHA-256 over all the blocks (sha256.h's backend: the digest chunks had
 *            before the digest over data blocks);
 *   x1       each block on its own through sha256_x1 (the SHA extensions, one lane);
 *   x2       two blocks at a time through sha256_x2 (two lanes interleaved);
 *   x4       four blocks at a time through sha256_x4 (four lanes): the writer's way;
 * and x2 again on the backend path (sha256_x2_allow_hw(false): a CPU without the extensions).
 * The buffer (blocks * bytes, 4 MiB by default) stays in the cache levels a chunk being
 * sealed is in; GB/s are 10^9 bytes per CPU second.
 *
 *   bench_sha256 [--bytes N] [--blocks N] [--rounds N]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sha256_x2.h"

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint8_t sink;

static double run(int how, const uint8_t *buf, size_t bytes, size_t blocks, unsigned rounds)
{
	uint8_t d[4][SHA256_LEN];
	double t0 = cpu_now();
	for (unsigned r = 0; r < rounds; r++) {
		if (how == 0) {
			if (sha256_once(buf, bytes * blocks, d[0]))
				exit(1);
		} else if (how == 4) {
			size_t i = 0;
			for (; i + 4 <= blocks; i += 4) {
				const void *p[4] = { buf + i * bytes, buf + (i + 1) * bytes,
						     buf + (i + 2) * bytes, buf + (i + 3) * bytes };
				const size_t n[4] = { bytes, bytes, bytes, bytes };
				if (sha256_x4(p, n, d))
					exit(1);
			}
			for (; i < blocks; i++)
				if (sha256_x1(buf + i * bytes, bytes, d[0]))
					exit(1);
		} else {
			for (size_t i = 0; i < blocks; i += how) {
				const uint8_t *p = buf + i * bytes;
				int err = how == 1 || i + 1 == blocks ? sha256_x1(p, bytes, d[0]) :
					  sha256_x2(p, bytes, d[0], p + bytes, bytes, d[1]);
				if (err)
					exit(1);
			}
		}
		sink ^= d[0][0];
	}
	double s = cpu_now() - t0;
	return (double)bytes * (double)blocks * rounds / s / 1e9;
}

int main(int argc, char **argv)
{
	size_t bytes = 16384, blocks = 256;
	unsigned rounds = 200;
	static const struct option opts[] = {
		{ "bytes", required_argument, NULL, 'b' },
		{ "blocks", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': bytes = strtoul(optarg, NULL, 0); break;
		case 'n': blocks = strtoul(optarg, NULL, 0); break;
		case 'r': rounds = (unsigned)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: bench_sha256 [--bytes N] [--blocks N] [--rounds N]\n");
			return 2;
		}
	}
	if (!bytes || !blocks || !rounds) {
		fprintf(stderr, "bench_sha256: --bytes, --blocks and --rounds must be at least 1\n");
		return 2;
	}
	uint8_t *buf = malloc(bytes * blocks);
	if (!buf) {
		fprintf(stderr, "bench_sha256: out of memory\n");
		return 1;
	}
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < bytes * blocks; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	printf("blocks of %zu bytes, %zu of them, %u rounds; SHA extensions: %s; backend: %s\n",
	       bytes, blocks, rounds, sha256_x2_hw() ? "yes" : "no", sha256_backend());
	run(2, buf, bytes, blocks, 2); /* warm-up */
	printf("stream   %.2f GB/s\n", run(0, buf, bytes, blocks, rounds));
	printf("x1       %.2f GB/s\n", run(1, buf, bytes, blocks, rounds));
	printf("x2       %.2f GB/s\n", run(2, buf, bytes, blocks, rounds));
	printf("x4       %.2f GB/s\n", run(4, buf, bytes, blocks, rounds));
	sha256_x2_allow_hw(false);
	printf("x2 (backend path) %.2f GB/s\n", run(2, buf, bytes, blocks, rounds));
	free(buf);
	return 0;
}
