/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sha256_x16.h - SHA-256's compression function on sixteen lanes at once in AVX-512
 * registers (sha256_x16.c), for sha256_xn (sha256_x2.c), which pads the messages, feeds the
 * lanes and chooses between this and the SHA instructions.
 */
#ifndef ECAP_SHA256_X16_H
#define ECAP_SHA256_X16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SHA-256's round constants (FIPS 180-4 4.2.2), 16-byte aligned: this file's and
 * sha256_x2.c's. */
extern const uint32_t sha256_round_k[64];
/* Whether this CPU (and its kernel) runs sha256_x16_blocks: AVX-512 F and BW. (sha256_xn
 * takes it only beside the SHA extensions: sha256_x2_x16.) */
bool sha256_x16_cpu(void);
/* n 64-byte blocks of each of the sixteen lanes: s[j][l] is word j of lane l's state
 * (updated), p[l] its next block; p[l] moves on by 64 bytes a block for the lanes whose bit is
 * set in advance, and the others (lanes without a message: their state is garbage) read the
 * same 64 bytes each time. */
void sha256_x16_blocks(uint32_t s[8][16], const uint8_t *p[16], uint16_t advance, size_t n);

#endif
