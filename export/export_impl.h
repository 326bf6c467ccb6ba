/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * export_impl.h - the state of one export, shared by export.c (plan, packets, file, follow)
 * and secrets.c (which TLS secrets go into the file). Not used outside export/.
 */
#ifndef ECAP_EXPORT_IMPL_H
#define ECAP_EXPORT_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "attrib.h"
#include "export.h"
#include "merge.h"
#include "pktfilter.h"
#include "proof.h"
#include "store.h"
#include "writer.h"

#define FLUSH_BYTES (1u << 20)
#define FOLLOW_POLL_NS 500000000ull
/* Chunks that become visible while following may start a little before the newest packet
 * written so far (chunks of one recorder overlap by less than a chunk's age). */
#define FOLLOW_SLACK_NS (60ull * 1000000000ull)

enum iface_state { IFACE_UNSEEN = 0, IFACE_OK, IFACE_SKIP };

struct exporter {
	const struct export_options *o;
	const struct query *q;
	struct store *s;
	uint64_t since, until;
	bool selects;
	struct idset sel;              /* the selected flows, when selecting */
	struct pktfilter pf;
	struct attrib at;
	struct writer w;
	int out_fd, keylog_fd;
	struct idset secrets_done;     /* hashes of (label, client_random) already written */
	uint64_t last_chunk_id, hi_ts;
	uint64_t examined;
	uint64_t chunk_errors;         /* unreadable chunks reported so far */
	uint64_t secret_errors;        /* batches whose secrets could not all be read */
	bool stopped;                  /* the reader went away */
	/* per store interface */
	uint8_t *ifstate;
	struct ecap_iface *ifinfo;
	size_t n_if;
	/* progress */
	uint64_t t0, last_report;
	bool progress_line;
	size_t batch_chunks;
	const struct merge *cur;
	/* the signed proof beside the file (proof.h), when it goes to a file and the store
	 * key can be read */
	struct proof proof;
	bool proof_on;
	/* the chunks of the first batch, found once for the proof and the batch */
	struct chunk_list first;
	bool have_first;
};

/* A warning on stderr, prefixed "ecap-export: ", after clearing the progress line. */
void exporter_warn(struct exporter *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether a packet passes the time window, the flow selection and the libpcap filter. */
bool exporter_accept(struct exporter *ex, const struct ecap_packet *pkt);
/* Writes the DSBs of the sessions whose packets this batch of chunks exports (secrets.c). */
int secrets_for_batch(struct exporter *ex, const struct chunk_list *cl);

#endif
