// SPDX-License-Identifier: GPL-2.0-only
/*
 * tls_labels.c - the list of tls_labels.h, and its lookup.
 */
#include "tls_labels.h"

#include <string.h>

const char *const tls_labels[TLS_LABELS_N] = {
	"CLIENT_RANDOM",                   /* TLS 1.2: the master secret */
	"CLIENT_EARLY_TRAFFIC_SECRET",     /* TLS 1.3 */
	"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	"SERVER_HANDSHAKE_TRAFFIC_SECRET",
	"CLIENT_TRAFFIC_SECRET_0",
	"SERVER_TRAFFIC_SECRET_0",
	"EARLY_EXPORTER_SECRET",
	"EXPORTER_SECRET",
};

int tls_label_index(const char *s, size_t n)
{
	for (size_t i = 0; i < TLS_LABELS_N; i++)
		if (strlen(tls_labels[i]) == n && memcmp(tls_labels[i], s, n) == 0)
			return (int)i;
	return -1;
}
