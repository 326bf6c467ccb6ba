/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of chunk metadata frames in segments.
 */
#ifndef ECAP_CRC32C_H
#define ECAP_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Continue a CRC over more bytes; start with crc = 0. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);
/* Whether long buffers go by carry-less multiplication (crc32c.c: AVX-512 and VPCLMULQDQ);
 * tests and benchmarks may forbid it (false) or allow it again (true: where the CPU has it),
 * so that the crc32 instruction's path runs on any machine. */
bool crc32c_folds(void);
void crc32c_allow_fold(bool allow);

#endif
