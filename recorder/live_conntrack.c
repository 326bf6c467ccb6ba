// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_conntrack.c - the conntrack reader of bpf/conntrack.bpf.c: loading it beside the
 * capture programs, and its records in the packets ring into the pipeline.
 *
 * The reader is its own BPF object, tail-called by the capture programs after a packet is
 * recorded (ECAP_CONNTRACK_PROG in ecap.h), and shares their ring and interface map. When it
 * cannot be loaded (a kernel without bpf_cast_to_kern_ctx, before Linux 6.2) the prog array
 * entries stay empty and capture goes on as before, without NAT links and without owners from
 * other namespaces' sockets; one line on stderr says so. ECAP_NO_CONNTRACK=1 in the
 * environment leaves it out (to measure what it costs).
 *
 * Records (checked against their size before use):
 *   ECAP_REC_NAT        struct ecap_nat_info   -> pipeline_nat()
 *   ECAP_REC_PEER_SOCK  struct ecap_peer_sock  -> pipeline_peer_socket()
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "capture.skel.h"
#include "conntrack.skel.h"
#include "ecap.h"
#include "live_capture_impl.h"

bool live_conntrack_off(bool quiet)
{
	const char *env = getenv("ECAP_NO_CONNTRACK");

	if (!env || !*env || strcmp(env, "0") == 0)
		return false;
	if (!quiet)
		fprintf(stderr, "ecap-rec: ECAP_NO_CONNTRACK=%s: no NAT links, no owners from "
			"other namespaces' sockets\n", env);
	return true;
}

uint32_t live_nf_conn_btf_id(bool quiet)
{
	/* this kernel's BTF may hold more than one struct nf_conn (CO-RE cannot choose): the
	 * first is taken, the verifier checks every access against it */
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id = 0;

	if (vmlinux) {
		id = btf__find_by_name_kind(vmlinux, "nf_conn", BTF_KIND_STRUCT);
		btf__free(vmlinux);
	}
	if (id <= 0 && !quiet)
		fprintf(stderr, "ecap-rec: the kernel's BTF has no struct nf_conn: flows before "
			"and after NAT are not linked\n");
	return id > 0 ? (uint32_t)id : 0;
}

int live_conntrack_load(struct live_capture *c, bool quiet)
{
	struct conntrack_bpf *o;
	int fd_map, rc;
	uint32_t key;

	if (live_conntrack_off(quiet))
		return 0;
	o = conntrack_bpf__open();
	if (!o)
		return -errno;
	o->rodata->nf_conn_btf_id = live_nf_conn_btf_id(quiet);
	rc = bpf_map__reuse_fd(o->maps.packets, bpf_map__fd(c->skel->maps.packets));
	if (rc == 0)
		rc = bpf_map__reuse_fd(o->maps.ifaces, bpf_map__fd(c->skel->maps.ifaces));
	if (rc == 0) {
		live_libbpf_mute(true); /* the refusal is said below, in one line */
		rc = conntrack_bpf__load(o);
		live_libbpf_mute(false);
	}
	fd_map = bpf_map__fd(c->skel->maps.filter_progs);
	for (key = 0; rc == 0 && key < 2; key++) {
		int fd = bpf_program__fd(key ? o->progs.ecap_ct_egress : o->progs.ecap_ct_ingress);
		uint32_t index = ECAP_CONNTRACK_PROG + key;

		if (bpf_map_update_elem(fd_map, &index, &fd, BPF_ANY) < 0)
			rc = -errno;
	}
	if (rc < 0) {
		for (key = 0; key < 2; key++) {
			uint32_t index = ECAP_CONNTRACK_PROG + key;

			bpf_map_delete_elem(fd_map, &index);
		}
		fprintf(stderr, "ecap-rec: the conntrack reader cannot be loaded here (%s): flows "
			"before and after NAT are not linked, and flows sent through a veth by "
			"another namespace's socket get no owner\n", strerror(-rc));
		conntrack_bpf__destroy(o);
		return 0;
	}
	c->ct_skel = o;
	return 0;
}

void live_conntrack_free(struct live_capture *c)
{
	conntrack_bpf__destroy(c->ct_skel);
	c->ct_skel = NULL;
}

static void nat_end(uint8_t addr[16], uint16_t *port, const struct ecap_ct_end *e)
{
	memcpy(addr, e->addr, 16);
	*port = e->port;
}

void live_nat_entry(struct nat_entry *e, const struct ecap_nat_info *n)
{
	memset(e, 0, sizeof(*e));
	e->proto = n->proto;
	e->kind = (uint8_t)(((n->status & ECAP_NAT_SRC) ? FLOW_LINK_SNAT : 0) |
			    ((n->status & ECAP_NAT_DST) ? FLOW_LINK_DNAT : 0));
	nat_end(e->orig_src, &e->orig_sport, &n->orig_src);
	nat_end(e->orig_dst, &e->orig_dport, &n->orig_dst);
	nat_end(e->reply_src, &e->reply_sport, &n->reply_src);
	nat_end(e->reply_dst, &e->reply_dport, &n->reply_dst);
}

int live_conntrack_record(struct live_capture *c, const struct live_iface *li,
			  const struct ecap_pkt_event *ev, const uint8_t *body)
{
	uint64_t ts = live_clock_wall(c->clock, ev->ts_mono_ns);

	if (ev->dir == ECAP_REC_NAT && ev->caplen == sizeof(struct ecap_nat_info)) {
		struct ecap_nat_info n;
		struct nat_entry e;

		memcpy(&n, body, sizeof(n));
		/* the entry is of the interface's namespace (egress: after its hooks ran) */
		if (n.netns != li->netns || (n.family != 4 && n.family != 6))
			goto bad;
		live_nat_entry(&e, &n);
		e.pre_netns = n.netns;
		e.post_netns = n.netns;
		c->ct_records++;
		int rc = pipeline_nat(c->p, &e, ts);
		return rc < 0 ? rc : 0;
	}
	if (ev->dir == ECAP_REC_PEER_SOCK && ev->caplen == sizeof(struct ecap_peer_sock)) {
		struct ecap_peer_sock s;
		struct peer_socket ps;

		memcpy(&s, body, sizeof(s));
		if (s.dev_netns != li->netns || !s.sk_netns || s.sk_netns == li->netns)
			goto bad;
		memset(&ps, 0, sizeof(ps));
		ps.netns = li->netns;
		ps.sock_netns = s.sk_netns;
		ps.proto = s.proto;
		memcpy(ps.local_addr, s.laddr, 16);
		memcpy(ps.remote_addr, s.raddr, 16);
		ps.local_port = s.lport;
		ps.remote_port = s.rport;
		c->ct_records++;
		return pipeline_peer_socket(c->p, &ps, ts);
	}
bad:
	c->bad++;
	return 0;
}
