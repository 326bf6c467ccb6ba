/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls_labels.h - the labels of TLS secrets that ecap knows: those of the NSS key log format
 * (SSLKEYLOGFILE) for TLS 1.2 and 1.3, the ones Wireshark reads from a key log or a DSB.
 */
#ifndef ECAP_TLS_LABELS_H
#define ECAP_TLS_LABELS_H

#include <stddef.h>

#define TLS_LABELS_N 8

extern const char *const tls_labels[TLS_LABELS_N];

/* The index in tls_labels of the label s (n bytes, not NUL-terminated), or -1. */
int tls_label_index(const char *s, size_t n);

#endif
