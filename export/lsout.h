/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lsout.h - the pieces of ecap-ls output that the local listing (tools/ecap-ls.c) and the
 * fleet listing (fleet/ls.c) share, so that both print a process or a flow end in the same
 * shape: JSON strings, times, process objects and what was recorded of a process, as JSON
 * and as text.
 */
#ifndef ECAP_EXPORT_LSOUT_H
#define ECAP_EXPORT_LSOUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "records.h"
#include "store.h"

/* A process's line in a listing: its connections' totals. */
struct lsout_proc {
	uint32_t pid, uid;
	uint64_t start_ns; /* with pid, one process: a reused pid is another row */
	char comm[ECAP_COMM_LEN];
	int selected; /* by what was recorded of it: 1 yes, -1 no, 0 not asked yet */
	uint64_t flows, packets, bytes, first_ns, last_ns;
};

/* A JSON string of s (at most max bytes); '"', '\\' escaped, anything else outside printable
 * ASCII as \u00XX. */
void lsout_json_str(FILE *f, const char *s, size_t max);
/* "KEY_ns":N,"KEY":"2026-...Z" */
void lsout_json_time(FILE *f, const char *key, uint64_t ns);
/* {"pid":..,"tid":..,"uid":..,"gid":..,"comm":".."}, or null when !p->valid. */
void lsout_json_proc(FILE *f, const struct ecap_proc *p);
/* What was recorded of a process and of its container (c: zeroed when nothing), as JSON
 * members (",\"exe\":..."). */
void lsout_json_proc_info(FILE *f, const struct ecap_proc_info *pi, const struct ecap_container *c);
/* One flow as a JSON object: {"host":..(when host is not NULL),"id":..,"proto":..,"a":{"addr":..,
 * "port":..,"process":..},"b":{..},"first_ns":..,"first":..,"last_ns":..,"last":..,"packets":..,
 * "bytes":..}. */
void lsout_json_flow(FILE *f, const char *host, const struct flow_info *fi);
/* The same without the closing brace, for a caller that adds members (ecap-ls: "nat"). */
void lsout_json_flow_members(FILE *f, const char *host, const struct flow_info *fi);
/* A flow's NAT links (the flow is id; v: n of them, as store_get_links gives them): as the
 * JSON member ,"nat":[{"kind":"SNAT|DNAT|SNAT+DNAT","after"|"before":OTHER-ID},...], and as
 * text lines "INDENT         NAT: KIND to|from flow OTHER-ID". */
void lsout_json_links(FILE *f, uint64_t id, const struct flow_link *v, size_t n);
void lsout_text_links(FILE *f, const char *indent, uint64_t id, const struct flow_link *v,
		      size_t n);
/* One process as a JSON object: {"host":..(when not NULL),"pid":..,"comm":..,"uid":..,"flows":..,
 * "packets":..,"bytes":..,"first_ns":..,"first":..,"last_ns":..,"last":.. and, when pi is not
 * NULL, what was recorded of it and its container c}. */
void lsout_json_process(FILE *f, const char *host, const struct lsout_proc *r,
			const struct ecap_proc_info *pi, const struct ecap_container *c);
/* The text lines under a process with recorded details (started, parent, exe; args, cgroup,
 * container with its name and image, labels, pod when known), each starting with indent. */
void lsout_text_proc_info(FILE *f, const struct ecap_proc_info *pi, const struct ecap_container *c,
			  const char *indent);
/* 2026-11-26T06:00:00.123Z */
void lsout_fmt_time(uint64_t ns, char *out, size_t len);
/* A process name for text output: control characters as '?'. */
void lsout_safe_comm(const char *in, char out[ECAP_COMM_LEN]);

#endif
