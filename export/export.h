/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * export.h - one export from a store to a PCAP-NG stream: plan the query over the index,
 * gather the TLS secrets of exactly the exported sessions, merge the chunks' packets in
 * time order, filter them and write them (writer.h); with follow, keep appending.
 */
#ifndef ECAP_EXPORT_EXPORT_H
#define ECAP_EXPORT_EXPORT_H

#include <signal.h>
#include <stdbool.h>

#include "args.h"
#include "idset.h"

struct export_options {
	const struct query *q;
	const char *store_dir;
	const char *out_path;      /* NULL or "-": standard output */
	const char *keylog_path;   /* NULL: none */
	bool no_secrets;
	bool follow;
	bool progress;             /* progress lines on stderr after a second */
	const char *cmdline;       /* the command as typed, for the SHB comment */
	const struct idset *flow_ids; /* --flow-ids: only these flows (sealed), or NULL */
};

/* Set by a signal handler: --follow finishes the file and returns. */
extern volatile sig_atomic_t export_stop;

/* Exit status: 0 packets exported, 1 nothing matched or an error (reported), 2 usage. */
int export_run(const struct export_options *o);

#endif
