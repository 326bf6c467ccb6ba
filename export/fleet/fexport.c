// SPDX-License-Identifier: GPL-2.0-only
/*
 * fexport.c - ecap-export --fleet (fexport.h): central query, one SSH export per host with
 * matching flows (their local ids), answers checked and merged; a host that does not
 * answer is named and the others are still written.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fetch.h"
#include "fexport.h"
#include "flowids.h"
#include "pmerge.h"
#include "query.h"

#define PARALLEL 16

static int open_out(const char *path)
{
	if (!path || strcmp(path, "-") == 0)
		return STDOUT_FILENO;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fprintf(stderr, "ecap-export: %s: %s\n", path, strerror(errno));
	return fd;
}

static const struct fleet_host *find_host(const struct fleet_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_hosts; i++)
		if (strcmp(r->hosts[i].name, name) == 0)
			return &r->hosts[i];
	return NULL;
}

/* One job per host with flows (flows come sorted by host, then id). */
static int make_jobs(const struct fleet_result *r, struct fetch_job **out, size_t *n)
{
	struct fetch_job *jobs = calloc(r->n_flows ? r->n_flows : 1, sizeof(*jobs));
	size_t nj = 0;
	if (!jobs)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_flows;) {
		struct idset ids = { 0 };
		size_t j = i;
		for (; j < r->n_flows && strcmp(r->flows[j].host, r->flows[i].host) == 0; j++)
			if (idset_add(&ids, r->flows[j].fi.rec.id) < 0)
				return -ENOMEM;
		idset_seal(&ids);
		const struct fleet_host *h = find_host(r, r->flows[i].host);
		struct fetch_job *jb = &jobs[nj++];
		jb->host = h ? h->name : r->flows[i].host;
		jb->store = h ? h->store : "";
		jb->ids = flowids_format(&ids);
		jb->fd = -1;
		idset_free(&ids);
		if (!jb->ids)
			return -ENOMEM;
		i = j;
	}
	*out = jobs;
	*n = nj;
	return 0;
}

int fleet_export_run(const struct fleet_export_options *o)
{
	PGconn *conns[FLEET_MAX_DSNS] = { 0 };
	struct fleet_result r;
	struct fetch_job *jobs = NULL;
	struct pmerge_input *ins = NULL, **ok = NULL;
	struct buf shb = { 0 };
	size_t nj = 0, n_ok = 0;
	uint64_t packets = 0;
	int rc = 1, err, fd = -1;

	size_t connected = fleet_connect_all(o->dsns, o->tls_ca, conns);
	if (connected == 0)
		return 1;
	err = fleet_query(conns, o->dsns->n, o->q, false, &r);
	fleet_disconnect_all(conns, o->dsns->n);
	if (err || make_jobs(&r, &jobs, &nj) < 0)
		goto out;
	if (nj && fetch_run(jobs, nj, o->ssh_cmd ? o->ssh_cmd : FETCH_CMD_DEFAULT, o->q,
			    o->no_secrets, PARALLEL) < 0) {
		fprintf(stderr, "ecap-export: --fleet-ssh: one to %d words\n", 32);
		rc = 2;
		goto out;
	}
	ins = calloc(nj ? nj : 1, sizeof(*ins));
	ok = calloc(nj ? nj : 1, sizeof(*ok));
	if (!ins || !ok)
		goto out;
	for (size_t i = 0; i < nj; i++) {
		ins[i].host = jobs[i].host;
		ins[i].fd = jobs[i].fd;
		if (jobs[i].answered && pmerge_check(&ins[i]) == 0)
			ok[n_ok++] = &ins[i];
		else if (jobs[i].answered)
			snprintf(jobs[i].why, sizeof(jobs[i].why), "%s", ins[i].why);
	}

	/* the SHB comment: the query, who answered, who did not */
	char line[512];
	snprintf(line, sizeof(line), "ecap-export --fleet: %s\nServers: %zu of %zu answered\n",
		 o->cmdline ? o->cmdline : "", connected - r.servers_failed, o->dsns->n);
	err = buf_append(&shb, line, strlen(line));
	err = err ?: buf_append(&shb, "Hosts answered:", 15);
	for (size_t i = 0; i < n_ok && !err; i++) {
		snprintf(line, sizeof(line), " %s (%" PRIu64 " packets)", ok[i]->host,
			 ok[i]->packets);
		err = buf_append(&shb, line, strlen(line));
	}
	err = err ?: buf_append(&shb, "\nHosts not answered:", 20);
	size_t failed = 0;
	for (size_t i = 0; i < nj && !err; i++) {
		if (jobs[i].answered && !ins[i].why[0])
			continue;
		failed++;
		snprintf(line, sizeof(line), " %s (%s)", jobs[i].host, jobs[i].why);
		err = buf_append(&shb, line, strlen(line));
		fprintf(stderr, "ecap-export: host %s did not answer: %s\n", jobs[i].host,
			jobs[i].why);
	}
	if (!failed)
		err = err ?: buf_append(&shb, " none", 5);
	err = err ?: buf_append(&shb, "", 1);
	if (err || (fd = open_out(o->out_path)) < 0)
		goto out;
	err = pmerge_write(fd, ok, n_ok, (const char *)shb.data, &packets);
	if (err) {
		fprintf(stderr, "ecap-export: writing: %s\n", strerror(-err));
		goto out;
	}
	fprintf(stderr,
		"ecap-export: %" PRIu64 " packets from %zu of %zu hosts with matching "
		"flows (%zu flows)\n",
		packets, n_ok, nj, r.n_flows);
	if (r.n_flows == 0)
		fprintf(stderr, "ecap-export: no flow matched in the fleet\n");
	rc = failed || r.servers_failed || connected < o->dsns->n || packets == 0 ? 1 : 0;
out:
	if (fd > STDOUT_FILENO)
		close(fd);
	for (size_t i = 0; i < nj; i++) {
		if (ins)
			pmerge_release(&ins[i]);
		if (jobs[i].fd >= 0)
			close(jobs[i].fd);
		free(jobs[i].ids);
	}
	free(ins);
	free(ok);
	free(jobs);
	buf_free(&shb);
	fleet_result_free(&r);
	return rc;
}
