// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_labels.c - the list of tls_labels.h, and its lookup.
 */
#include "tls_labels.h"

#include <string.h>

/* Each label once: the names and their lengths are made from this list. */
#define TLS_LABEL_LIST(X)                                                                       \
	X("CLIENT_RANDOM")                   /* TLS 1.2: the master secret */                     \
	X("CLIENT_EARLY_TRAFFIC_SECRET")     /* TLS 1.3 */                                        \
	X("CLIENT_HANDSHAKE_TRAFFIC_SECRET")                                                      \
	X("SERVER_HANDSHAKE_TRAFFIC_SECRET")                                                      \
	X("CLIENT_TRAFFIC_SECRET_0")                                                              \
	X("SERVER_TRAFFIC_SECRET_0")                                                              \
	X("EARLY_EXPORTER_SECRET")                                                                \
	X("EXPORTER_SECRET")
#define LABEL_NAME(s) s,
#define LABEL_LEN(s) sizeof(s) - 1,

const char *const tls_labels[TLS_LABELS_N] = { TLS_LABEL_LIST(LABEL_NAME) };

/* strlen() of each label: the lookup runs for every secret the recorder stores */
static const size_t label_len[TLS_LABELS_N] = { TLS_LABEL_LIST(LABEL_LEN) };

int tls_label_index(const char *s, size_t n)
{
	for (size_t i = 0; i < TLS_LABELS_N; i++)
		if (label_len[i] == n && memcmp(tls_labels[i], s, n) == 0)
			return (int)i;
	return -1;
}
