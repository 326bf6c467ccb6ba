/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of chunk metadata frames in segments.
 */
#ifndef ECAP_CRC32C_H
#define ECAP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC over more bytes; start with crc = 0. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
