/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sha256_x2.h - SHA-256 of two or four messages at once: the data blocks of a chunk
 * (chunk_digest.c).
 *
 * One SHA-256 stream is bound by the latency of the CPU's SHA round instruction (each 64-byte
 * step waits for the one before); two independent messages, their rounds interleaved, keep
 * the unit busy in each other's waits (about 1.5 against 2.2 GB/s on this machine,
 * BENCHMARKS section 6 "i17sha"). With the x86 SHA extensions (chosen at run time by CPUID)
 * this is our own code (sha256_x2.c); without them each message goes through sha256.h's
 * backend, one after the other. Same digests either way: plain SHA-256 (FIPS 180-4).
 */
#ifndef ECAP_SHA256_X2_H
#define ECAP_SHA256_X2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* The digests of a (alen bytes) into da and of b (blen bytes) into db. 0 or -ENOMEM (from
 * the backend, without SHA extensions). */
int sha256_x2(const void *a, size_t alen, uint8_t da[SHA256_LEN], const void *b, size_t blen,
	      uint8_t db[SHA256_LEN]);
/* The digests of four messages (p[i], len[i] bytes) into d[i]: where the SHA extensions run,
 * four lanes interleaved (about 2.6-2.8 GB/s against two lanes' 2.2 on the development VM). */
int sha256_x4(const void *const p[4], const size_t len[4], uint8_t d[4][SHA256_LEN]);
/* Most messages sha256_xn takes at once. */
#define SHA256_XN_MAX 64
/* The digests of n messages (p[i], len[i] bytes; n at most SHA256_XN_MAX) into d[i]: where
 * the SHA extensions run, four lanes kept busy from the first message to the last (a lane
 * whose message ends takes the next, longest first), so messages of unequal lengths (a
 * chunk's data blocks) go at four lanes' rate nearly all the way. 0, -EINVAL (n too large) or
 * -ENOMEM (from the backend, without SHA extensions). */
int sha256_xn(const void *const p[], const size_t len[], size_t n, uint8_t (*d)[SHA256_LEN]);
/* One message on the same path (the odd one out of a pairing). */
int sha256_x1(const void *p, size_t len, uint8_t d[SHA256_LEN]);
/* Tests and benchmarks: allow (the default, where the CPU has AVX-512) or forbid sha256_xn's
 * sixteen lanes in AVX-512 registers (sha256_x16.h), which it takes beside the SHA extensions
 * (only where the CPU has both) while 12 messages or more are left. */
void sha256_x2_allow_x16(bool allow);
/* Whether sha256_xn takes the sixteen lanes: the SHA extensions and AVX-512 F and BW used. */
bool sha256_x2_x16(void);
/* Whether the SHA extensions are used. */
bool sha256_x2_hw(void);
/* Tests and benchmarks: allow (the default, when the CPU has them) or forbid the SHA
 * extensions, so that the backend path runs on any machine. */
void sha256_x2_allow_hw(bool allow);

#endif
