/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ls.h - ecap-ls --fleet: hosts (with shipping lag), processes and flows, fleet-wide, as
 * text or JSON.
 */
#ifndef ECAP_FLEET_LS_H
#define ECAP_FLEET_LS_H

#include <stdbool.h>

#include "args.h"
#include "pgconn.h"

/* Exit status: 0 ok, 1 a server failed or nothing matched a selection. json: one JSON
 * object (ls.c says its shape) instead of text. */
int fleet_ls(const struct fleet_dsns *d, const char *tls_ca, const struct query *q,
	     bool list_flows, bool list_procs, bool json);

#endif
