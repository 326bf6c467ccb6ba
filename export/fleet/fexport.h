/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fexport.h - ecap-export --fleet: the hosts and flows of a selection found centrally,
 * exactly those flows fetched from each host over SSH (fetch.h), merged into one PCAP-NG
 * (pmerge.h).
 */
#ifndef ECAP_FLEET_FEXPORT_H
#define ECAP_FLEET_FEXPORT_H

#include <stdbool.h>

#include "args.h"
#include "pgconn.h"

struct fleet_export_options {
	const struct fleet_dsns *dsns;
	const char *tls_ca;
	const char *ssh_cmd; /* NULL: FETCH_CMD_DEFAULT */
	const struct query *q;
	const char *out_path; /* NULL or "-": standard output */
	bool no_secrets;
	const char *cmdline;
};

/* Exit status: 0 every host with matching flows answered; 1 nothing matched, a server or a
 * host did not answer (named on stderr and in the SHB; the rest is written); 2 usage. */
int fleet_export_run(const struct fleet_export_options *o);

#endif
