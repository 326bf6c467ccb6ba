/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fetch.h - running `CMD HOST ecap-export --store DIR --flow-ids IDS ... -o -` for many hosts
 * in parallel (CMD: the operator's ssh with its own keys), each host's answer into an
 * unlinked temporary file. Nothing listens anywhere: every connection is an outgoing SSH.
 */
#ifndef ECAP_FLEET_FETCH_H
#define ECAP_FLEET_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "args.h"

struct fetch_job {
	const char *host;  /* SSH target */
	const char *store; /* the store on that host */
	char *ids;	   /* --flow-ids list */
	int fd;		   /* the answer (a temporary file), -1 before */
	pid_t pid;
	int status;    /* waitpid status */
	bool answered; /* exited 0 or 1 (1: nothing matched or partly read) */
	char why[160]; /* when not answered */
};

#define FETCH_CMD_DEFAULT "ssh -o BatchMode=yes -o ConnectTimeout=10"

/* Run every job, at most `parallel` at a time; the time range of q travels as @SEC.NS.
 * Returns 0 or -errno when no job could start at all (each job says how it ended). */
int fetch_run(struct fetch_job *jobs, size_t n, const char *cmd, const struct query *q,
	      bool no_secrets, unsigned parallel);

#endif
