// SPDX-License-Identifier: GPL-2.0-only
/*
 * lsout.c - ecap-ls output shared by the local and the fleet listings (lsout.h).
 */
#include <inttypes.h>
#include <string.h>

#include "args.h"
#include "lsout.h"
#include "units.h"

void lsout_json_str(FILE *f, const char *s, size_t max)
{
	fputc('"', f);
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void lsout_safe_comm(const char *in, char out[ECAP_COMM_LEN])
{
	size_t i;
	for (i = 0; i + 1 < ECAP_COMM_LEN && in[i]; i++)
		out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	out[i] = '\0';
}

void lsout_fmt_time(uint64_t ns, char *out, size_t len)
{
	char full[48];
	units_format_time(ns, full, sizeof(full));
	/* 2026-11-26T06:00:00.123456789Z -> 2026-11-26T06:00:00.123Z */
	snprintf(out, len, "%.23sZ", full);
}

void lsout_json_time(FILE *f, const char *key, uint64_t ns)
{
	char t[48];
	units_format_time(ns, t, sizeof(t));
	fprintf(f, "\"%s_ns\":%" PRIu64 ",\"%s\":\"%s\"", key, ns, key, t);
}

void lsout_json_proc(FILE *f, const struct ecap_proc *p)
{
	if (!p->valid) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"pid\":%u,\"tid\":%u,\"uid\":%u,\"gid\":%u,\"comm\":", p->pid, p->tid, p->uid,
		p->gid);
	lsout_json_str(f, p->comm, ECAP_COMM_LEN);
	fputc('}', f);
}

void lsout_json_proc_info(FILE *f, const struct ecap_proc_info *pi, const struct ecap_container *c)
{
	static const char *const keys[] = { "exe", "args", "parent_comm", "cgroup",
					    "container_id", "runtime", "pod_uid", "container_name",
					    "container_image", "container_labels", "pod_name",
					    "pod_namespace" };
	const char *vals[] = { pi->exe, pi->args, pi->parent_comm, pi->cgroup, pi->container_id,
			       pi->runtime, pi->pod_uid[0] ? pi->pod_uid : c->pod_uid, c->name,
			       c->image, c->labels, c->pod_name, c->pod_namespace };

	fprintf(f, ",\"start_boot_ns\":%" PRIu64 ",\"ppid\":%u,\"nspid\":%u,", pi->start_ns,
		pi->ppid, pi->nspid);
	lsout_json_time(f, "start", pi->start_wall_ns);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		fprintf(f, ",\"%s\":", keys[k]);
		lsout_json_str(f, vals[k], strlen(vals[k]));
	}
}

void lsout_text_proc_info(FILE *f, const struct ecap_proc_info *pi, const struct ecap_container *c,
			  const char *indent)
{
	char t[40];
	const char *pod_uid = pi->pod_uid[0] ? pi->pod_uid : c->pod_uid;

	lsout_fmt_time(pi->start_wall_ns, t, sizeof(t));
	fprintf(f, "%s%8s started %s, parent %u %s, exe %s\n", indent, "", t, pi->ppid,
		pi->parent_comm[0] ? pi->parent_comm : "-", pi->exe[0] ? pi->exe : "-");
	if (pi->args[0])
		fprintf(f, "%s%8s args: %s\n", indent, "", pi->args);
	if (pi->cgroup[0])
		fprintf(f, "%s%8s cgroup: %s\n", indent, "", pi->cgroup);
	if (pi->container_id[0])
		fprintf(f, "%s%8s container: %s %s%s%s%s%s\n", indent, "", pi->runtime,
			pi->container_id, c->name[0] ? " name " : "", c->name,
			c->image[0] ? " image " : "", c->image);
	if (c->labels[0] && strcmp(c->labels, "{}"))
		fprintf(f, "%s%8s labels: %s\n", indent, "", c->labels);
	if (c->pod_name[0])
		fprintf(f, "%s%8s pod: %s%s%s%s%s\n", indent, "", c->pod_namespace,
			c->pod_namespace[0] ? "/" : "", c->pod_name, pod_uid[0] ? " uid " : "",
			pod_uid);
	else if (pod_uid[0])
		fprintf(f, "%s%8s pod uid %s\n", indent, "", pod_uid);
}

static void json_host(FILE *f, const char *host)
{
	if (!host)
		return;
	fputs("\"host\":", f);
	lsout_json_str(f, host, strlen(host));
	fputc(',', f);
}

void lsout_json_flow_members(FILE *f, const char *host, const struct flow_info *fi)
{
	const struct flow_record *r = &fi->rec;
	char proto[8], a[64];

	fputc('{', f);
	json_host(f, host);
	fprintf(f, "\"id\":%" PRIu64 ",\"proto\":\"%s\",", r->id,
		args_proto_name(r->key.proto, proto, sizeof(proto)));
	for (int side = 0; side < 2; side++) {
		args_format_addr(side ? r->key.addr_b : r->key.addr_a, a, sizeof(a));
		fprintf(f, "\"%s\":{\"addr\":\"%s\",\"port\":%u,\"process\":", side ? "b" : "a", a,
			side ? r->key.port_b : r->key.port_a);
		lsout_json_proc(f, &r->proc[side]);
		fputs("},", f);
	}
	lsout_json_time(f, "first", r->first_ns);
	fputc(',', f);
	lsout_json_time(f, "last", fi->last_ns);
	fprintf(f, ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64, fi->packets, fi->bytes);
}

void lsout_json_flow(FILE *f, const char *host, const struct flow_info *fi)
{
	lsout_json_flow_members(f, host, fi);
	fputc('}', f);
}

static const char *nat_kind(uint8_t kind)
{
	return kind == (FLOW_LINK_SNAT | FLOW_LINK_DNAT) ? "SNAT+DNAT" :
	       kind == FLOW_LINK_DNAT ? "DNAT" : "SNAT";
}

void lsout_json_links(FILE *f, uint64_t id, const struct flow_link *v, size_t n)
{
	fputs(",\"nat\":[", f);
	for (size_t i = 0; i < n; i++) {
		bool pre = v[i].pre_id == id;
		fprintf(f, "%s{\"kind\":\"%s\",\"%s\":%" PRIu64 "}", i ? "," : "",
			nat_kind(v[i].kind), pre ? "after" : "before", pre ? v[i].post_id : v[i].pre_id);
	}
	fputc(']', f);
}

void lsout_text_links(FILE *f, const char *indent, uint64_t id, const struct flow_link *v,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool pre = v[i].pre_id == id;
		fprintf(f, "%s         NAT: %s %s flow %" PRIu64 "\n", indent, nat_kind(v[i].kind),
			pre ? "to" : "from", pre ? v[i].post_id : v[i].pre_id);
	}
}

void lsout_json_process(FILE *f, const char *host, const struct lsout_proc *r,
			const struct ecap_proc_info *pi, const struct ecap_container *c)
{
	fputc('{', f);
	json_host(f, host);
	fprintf(f, "\"pid\":%u,\"comm\":", r->pid);
	lsout_json_str(f, r->comm, ECAP_COMM_LEN);
	fprintf(f, ",\"uid\":%u,\"flows\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
		",", r->uid, r->flows, r->packets, r->bytes);
	lsout_json_time(f, "first", r->first_ns);
	fputc(',', f);
	lsout_json_time(f, "last", r->last_ns);
	if (pi)
		lsout_json_proc_info(f, pi, c);
	fputc('}', f);
}
