// SPDX-License-Identifier: GPL-2.0-only
/*
 * live_sockets.c - which process owns each socket: the tracepoint programs of
 * bpf/sockets.bpf.c, and /proc for the sockets that exist when the recorder starts.
 *
 * No kprobes, no fentry (many kernels have neither). Each of the three tracepoints is probed
 * alone at start, first as tp_btf (typed arguments, socket cookies), then as raw_tp; the
 * flavour that loads is kept. What cannot be loaded is said plainly on stderr together with
 * what the recording loses because of it. Records become pipeline_socket_owner() calls by
 * network namespace and exact tuple; unconnected UDP sockets go to live_udp.c, which matches
 * them to packets. The namespace is the socket's own (its struct net, or the table of
 * /proc/PID/net it was listed in), never the process's: a flow gets an owner only from a
 * socket of the namespace its packets were recorded in.
 *
 * TCP sockets without a peer (listeners) name no one, whatever the filter: they make no record
 * in the kernel, and the ones /proc lists are not looked at (no process record).
 * Under a PCAP-FILTER, sockets no recorded packet can carry (socket_scope.c) are left out:
 * in the kernel where the filter reduces to protocols and a set of ports (no record is
 * made), and here for every record and every socket found in /proc (no pending owner, no
 * process record); counted as out of scope.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctr_meta.h"
#include "ecap.h"
#include "live_internal.h"
#include "proc_info.h"
#include "proc_owner.h"
#include "proc_sockets.h"
#include "socket_scope.h"
#include "sockets.skel.h"

#define IPPROTO_TCP_NR 6
#define IPPROTO_UDP_NR 17
/* ports the kernel tests itself (scope_ports in bpf/sockets.bpf.c); more: protocol only */
#define SCOPE_KERNEL_PORTS 4096

enum feature {
	FEAT_CONNECT,
	FEAT_SEND,
	FEAT_RECV,
	FEAT_NR,
};

static const struct {
	const char *tracepoint;
	const char *progs[2];   /* tp_btf, raw_tp */
	const char *loss;       /* what is missing without it */
} features[FEAT_NR] = {
	[FEAT_CONNECT] = { "sock:inet_sock_set_state", { "ecap_set_state", "ecap_raw_set_state" },
			   "TCP clients are attributed from their first send or receive only" },
	[FEAT_SEND] = { "sock:sock_send_length", { "ecap_send", "ecap_raw_send" },
			"the accepting side of TCP and UDP senders get no owner unless their "
			"sockets exist at start (/proc)" },
	[FEAT_RECV] = { "sock:sock_recv_length", { "ecap_recv", "ecap_raw_recv" },
			"processes that only receive (UDP servers, TCP sinks) get no owner unless "
			"their sockets exist at start (/proc)" },
};

static const char *const flavour_name[2] = { "tp_btf", "raw_tp" };

/* Processes whose details were stored lately, direct-mapped by (pid, start): details are
 * read from /proc once, and stored again after PROC_REFRESH_NS so that retention, which keeps
 * a process record as long as the chunk that carried it, keeps the record of a process that
 * still owns sockets. */
#define PROC_SEEN_SLOTS 4096u
#define PROC_REFRESH_NS (60ull * 1000000000ull)

struct proc_seen {
	uint32_t pid;
	uint64_t start_ns;
	uint64_t at_ns;         /* when stored (or tried: a process that is gone is not read again) */
};

struct live_sockets {
	struct pipeline *p;
	struct proc_seen *seen;
	struct proc_owner *owners;    /* executables and cgroups named so far */
	uint64_t tick_ns;             /* /proc's start time resolution */
	struct live_udp *udp;
	const struct live_clock *clock;
	struct ctr_meta *ctr;         /* container metadata lookups; NULL: none */
	struct socket_scope *scope;   /* which sockets the filter leaves out */
	int (*execs_first)(void *ctx); /* live_sockets_set_execs_first(); NULL: none */
	void *execs_ctx;
	struct sockets_bpf *skel;
	struct bpf_link *links[FEAT_NR];
	int chosen[FEAT_NR];          /* index into progs, -1: none */
	uint64_t events, bad, from_proc, procs_read, out_of_scope;
};

/* Loads the object with only one program; true when the kernel accepts it. */
static bool probe_one(const char *prog_name)
{
	struct sockets_bpf *o = sockets_bpf__open();
	struct bpf_program *prog;
	bool ok;

	if (!o)
		return false;
	bpf_object__for_each_program(prog, o->obj)
		bpf_program__set_autoload(prog, strcmp(bpf_program__name(prog), prog_name) == 0);
	bpf_map__set_max_entries(o->maps.pending, 16);
	bpf_map__set_max_entries(o->maps.seen, 16);
	bpf_map__set_max_entries(o->maps.sock_events, 4096);
	ok = sockets_bpf__load(o) == 0;
	sockets_bpf__destroy(o);
	return ok;
}

static void probe(struct live_sockets *s)
{
	int f, v;

	live_libbpf_mute(true);
	for (f = 0; f < FEAT_NR; f++) {
		s->chosen[f] = -1;
		for (v = 0; v < 2; v++) {
			if (probe_one(features[f].progs[v])) {
				s->chosen[f] = v;
				break;
			}
		}
	}
	live_libbpf_mute(false);
}

/* The filter's protocols and ports into the programs' rodata, when it reduces to them. */
static int kernel_scope(struct live_sockets *s)
{
	uint16_t *ports = calloc(SCOPE_KERNEL_PORTS, sizeof(*ports));
	size_t n = 0;
	uint8_t protos;
	bool all;
	int rc;

	if (!ports)
		return -ENOMEM;
	rc = socket_scope_ports(s->scope, &protos, &all, ports, SCOPE_KERNEL_PORTS, &n);
	if (rc == -ENOSPC)
		rc = 0; /* too many ports: by protocol only */
	if (rc == 0 && socket_scope_active(s->scope) && (protos != 3 || !all)) {
		s->skel->rodata->scope_protos = protos ? protos : 0x80; /* 0x80: none at all */
		s->skel->rodata->scope_by_port = !all;
		for (size_t i = 0; i < n; i++)
			s->skel->rodata->scope_ports[ports[i] / 64] |= 1ull << (ports[i] % 64);
	}
	free(ports);
	return rc;
}

static int load_and_attach(struct live_sockets *s)
{
	struct bpf_program *prog;
	int f, rc, n = 0;

	s->skel = sockets_bpf__open();
	if (!s->skel)
		return -errno;
	bpf_object__for_each_program(prog, s->skel->obj) {
		bool want = false;

		for (f = 0; f < FEAT_NR; f++)
			if (s->chosen[f] >= 0 &&
			    strcmp(bpf_program__name(prog), features[f].progs[s->chosen[f]]) == 0)
				want = true;
		bpf_program__set_autoload(prog, want);
	}
	/* The LRU maps serve the raw_tp flavour only (tp_btf uses socket local storage). */
	for (f = 0; f < FEAT_NR && s->chosen[f] != 1; f++)
		;
	if (f == FEAT_NR) {
		bpf_map__set_max_entries(s->skel->maps.pending, 1);
		bpf_map__set_max_entries(s->skel->maps.seen, 1);
	}
	rc = kernel_scope(s);
	if (rc == 0)
		rc = sockets_bpf__load(s->skel);
	if (rc < 0) {
		for (f = 0; f < FEAT_NR; f++)
			s->chosen[f] = -1;
		return rc;
	}
	for (f = 0; f < FEAT_NR; f++) {
		if (s->chosen[f] < 0)
			continue;
		prog = bpf_object__find_program_by_name(s->skel->obj,
							features[f].progs[s->chosen[f]]);
		s->links[f] = prog ? bpf_program__attach(prog) : NULL;
		if (!s->links[f]) {
			fprintf(stderr, "ecap-rec: cannot attach to tracepoint %s: %s\n",
				features[f].tracepoint, strerror(errno));
			s->chosen[f] = -1;
			continue;
		}
		n++;
	}
	return n ? 0 : -EOPNOTSUPP;
}

static void say(const struct live_sockets *s, bool quiet)
{
	char line[256];
	size_t off = 0;
	int f;

	for (f = 0; f < FEAT_NR; f++) {
		if (s->chosen[f] < 0) {
			fprintf(stderr, "ecap-rec: tracepoint %s cannot be used here: %s\n",
				features[f].tracepoint, features[f].loss);
			continue;
		}
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s (%s)",
					off ? ", " : "", features[f].tracepoint,
					flavour_name[s->chosen[f]]);
		if (off >= sizeof(line))
			off = sizeof(line) - 1;
	}
	if (!quiet && off)
		fprintf(stderr, "ecap-rec: process attribution through %s; sockets open before "
			"the start from /proc\n", line);
}

int live_sockets_start(struct pipeline *p, struct live_udp *udp, const struct live_clock *clock,
		       struct ctr_meta *ctr, const char *filter, bool quiet,
		       struct live_sockets **out)
{
	struct live_sockets *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->seen = calloc(PROC_SEEN_SLOTS, sizeof(*s->seen));
	s->owners = proc_owner_new();
	rc = socket_scope_new(filter, &s->scope);
	if (!s->seen || !s->owners || rc < 0) {
		socket_scope_free(s->scope);
		proc_owner_free(s->owners);
		free(s->seen);
		free(s);
		return -ENOMEM;
	}
	if (filter && *filter && live_debug())
		fprintf(stderr, "ecap-rec: socket records under the filter: %s%s\n",
			socket_scope_active(s->scope) ? "only those it can record" : "all: ",
			socket_scope_why(s->scope));
	s->tick_ns = proc_info_tick_ns();
	s->p = p;
	s->udp = udp;
	s->clock = clock;
	s->ctr = ctr;
	probe(s);
	rc = load_and_attach(s);
	say(s, quiet);
	if (rc < 0) {
		fprintf(stderr, "ecap-rec: no socket tracepoint works here (%s): only sockets open "
			"at start are attributed to processes (from /proc)\n", strerror(-rc));
		for (int f = 0; f < FEAT_NR; f++) {
			bpf_link__destroy(s->links[f]);
			s->links[f] = NULL;
		}
		sockets_bpf__destroy(s->skel);
		s->skel = NULL;
	}
	*out = s;
	return 0;
}

int live_sockets_ring_fd(const struct live_sockets *s)
{
	return s->skel ? bpf_map__fd(s->skel->maps.sock_events) : -1;
}

static void to_proc(const struct live_sockets *s, const struct ecap_sock_event *ev,
		    struct ecap_proc *proc)
{
	memset(proc, 0, sizeof(*proc));
	proc->valid = true;
	proc->pid = ev->who.pid;
	proc->tid = ev->who.tid;
	proc->uid = ev->who.uid;
	proc->gid = ev->who.gid;
	memcpy(proc->comm, ev->who.comm, sizeof(proc->comm) - 1);
	proc->comm[sizeof(proc->comm) - 1] = '\0';
	proc->cgroup_id = ev->who.cgroup_id;
	proc->netns = ev->netns;
	/* /proc's resolution */
	proc->start_ns = ev->who.start_ns - ev->who.start_ns % s->tick_ns;
}

/*
 * The details of proc's process once per PROC_REFRESH_NS: from the kernel's record of it (w,
 * with proc_owner.c naming its executable and cgroup), or for a socket found in /proc at the
 * start (w NULL) from /proc. Only with a known start time, which /proc must confirm for
 * anything read there: a pid reused since the event names another process, whose details
 * would be evidence against the wrong one.
 */
static int learn_process(struct live_sockets *s, const struct ecap_proc *proc,
			 const struct ecap_owner *w, uint64_t now_ns)
{
	struct ecap_proc_info info;
	struct proc_seen *e;
	uint64_t h;

	if (!proc->valid || proc->pid == 0 || proc->start_ns == 0 || !s->seen)
		return 0;
	h = ((uint64_t)proc->pid * 0x9E3779B97F4A7C15ull) ^ proc->start_ns;
	h ^= h >> 29;
	e = &s->seen[h & (PROC_SEEN_SLOTS - 1)];
	if (e->pid == proc->pid && e->start_ns == proc->start_ns &&
	    now_ns - e->at_ns < PROC_REFRESH_NS)
		return 0;
	e->pid = proc->pid;
	e->start_ns = proc->start_ns;
	e->at_ns = now_ns;
	if (w) {
		proc_owner_set_wall(s->owners, s->clock->boot_to_wall_ns);
		proc_owner_info(s->owners, w, proc->start_ns, now_ns, &info);
	} else if (proc_info_read((int)proc->pid, proc->start_ns, &info) < 0) {
		return 0; /* gone, or another process by now */
	}
	if (live_debug())
		fprintf(stderr, "ecap-rec: process %u (start %llu): exe '%s'\n", proc->pid,
			(unsigned long long)proc->start_ns, info.exe);
	s->procs_read++;
	if (info.container_id[0])
		ctr_meta_want(s->ctr, info.container_id, info.runtime, info.pod_uid, now_ns);
	return pipeline_process(s->p, &info);
}

/*
 * Whether a socket can name the owner of anything recorded, before its process is looked at:
 * not a TCP socket without a peer (a listener; whatever the filter, its connections are
 * sockets of their own), nor a socket whose traffic the filter cannot record (counted).
 */
static bool wanted(struct live_sockets *s, const struct socket_owner *so)
{
	if (so->proto == IPPROTO_TCP_NR && so->remote_port == 0)
		return false;
	if (socket_scope_needed(s->scope, so))
		return true;
	s->out_of_scope++;
	return false;
}

/* One socket (wanted()) and its owner, from either source. */
static int owner(struct live_sockets *s, const struct socket_owner *so, uint64_t ts_wall)
{
	int rc;

	if (so->proto == IPPROTO_UDP_NR && so->remote_port == 0)
		return live_udp_bind(s->udp, so->netns, so->local_addr, so->local_port, &so->proc,
				     ts_wall);
	rc = pipeline_socket_owner(s->p, so, ts_wall);
	if (rc == 0 && so->proto == IPPROTO_UDP_NR)
		live_udp_connected(s->udp, so);
	return rc;
}

static void debug_event(const struct ecap_sock_event *ev)
{
	static const char *const src[] = { "?", "connect", "send", "recv" };
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, ev->laddr, l, sizeof(l));
	inet_ntop(AF_INET6, ev->raddr, r, sizeof(r));
	fprintf(stderr, "ecap-rec: socket %s %s netns %u [%s]:%u -> [%s]:%u pid %u tid %u "
		"comm %.16s\n", ev->proto == IPPROTO_TCP_NR ? "tcp" : "udp",
		src[ev->source < 4 ? ev->source : 0], ev->netns, l, ev->lport, r, ev->rport,
		ev->who.pid, ev->who.tid, ev->who.comm);
}

/* A socket's end points, from either source; no owner yet. */
static void socket_of(struct socket_owner *so, uint8_t proto, const uint8_t local[16],
		      uint16_t local_port, const uint8_t remote[16], uint16_t remote_port,
		      uint32_t netns)
{
	memset(so, 0, sizeof(*so));
	so->proto = proto;
	memcpy(so->local_addr, local, 16);
	memcpy(so->remote_addr, remote, 16);
	so->local_port = local_port;
	so->remote_port = remote_port;
	so->netns = netns;
}

int live_sockets_on_event(void *ctx, void *data, size_t size)
{
	struct live_sockets *s = ctx;
	/* Read in place (a record is 8-byte aligned and stays as written until consumed): the
	 * owner's command line at its end (ECAP_ARGS_BPF bytes) is read only for a process
	 * not seen lately, instead of copied out with every record. */
	const struct ecap_sock_event *ev = data;
	struct socket_owner so;
	int rc;

	if (size < sizeof(*ev)) {
		s->bad++;
		return 0;
	}
	live_ring_prefetch_next(data, size, 3);
	if (ev->proto != IPPROTO_TCP_NR && ev->proto != IPPROTO_UDP_NR) {
		s->bad++;
		return 0;
	}
	s->events++;
	socket_of(&so, ev->proto, ev->laddr, ev->lport, ev->raddr, ev->rport, ev->netns);
	if (!wanted(s, &so))
		return 0;
	to_proc(s, ev, &so.proc);
	if (live_debug())
		debug_event(ev);
	/* the exec records submitted before this record first: they may name its program */
	if (s->execs_first && (rc = s->execs_first(s->execs_ctx)) < 0)
		return rc;
	rc = learn_process(s, &so.proc, &ev->who, ev->ts_mono_ns);
	if (rc < 0)
		return rc;
	return owner(s, &so, live_clock_wall(s->clock, ev->ts_mono_ns));
}

static int proc_cb(void *ctx, const struct proc_sock *ps, const struct ecap_proc *proc)
{
	struct live_sockets *s = ctx;
	struct socket_owner so;
	int rc;

	socket_of(&so, ps->proto, ps->local_addr, ps->local_port, ps->remote_addr,
		  ps->remote_port, ps->netns);
	if (!wanted(s, &so))
		return 0;
	so.proc = *proc;
	so.proc.netns = ps->netns; /* the socket's, as the tracepoints report it */
	s->from_proc++;
	rc = learn_process(s, &so.proc, NULL, live_clock_mono_ns());
	if (rc < 0)
		return rc;
	return owner(s, &so, live_clock_wall(s->clock, live_clock_mono_ns()));
}

int live_sockets_scan_proc(struct live_sockets *s)
{
	return proc_sockets_scan(proc_cb, s);
}

void live_sockets_exe_named(void *ctx, uint32_t dev, uint64_t ino, uint64_t mntns_id,
			    const char *path, uint64_t mono_ns)
{
	struct live_sockets *s = ctx;

	proc_owner_exe_named(s->owners, dev, ino, mntns_id, path, mono_ns);
}

void live_sockets_set_execs_first(struct live_sockets *s, int (*fn)(void *ctx), void *ctx)
{
	s->execs_first = fn;
	s->execs_ctx = ctx;
}

void live_sockets_get_stats(const struct live_sockets *s, struct live_sockets_stats *st)
{
	uint64_t *v;
	uint32_t key;
	int ncpu, i;

	memset(st, 0, sizeof(*st));
	st->events = s->events;
	st->bad = s->bad;
	st->from_proc = s->from_proc;
	st->out_of_scope = s->out_of_scope;
	ncpu = libbpf_num_possible_cpus();
	if (!s->skel || ncpu <= 0)
		return;
	v = calloc((size_t)ncpu, sizeof(*v));
	key = ECAP_SCNT_RING_FULL;
	if (v && bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.scounters), &key, v) == 0)
		for (i = 0; i < ncpu; i++)
			st->lost += v[i];
	key = ECAP_SCNT_OUT_OF_SCOPE;
	if (v && bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.scounters), &key, v) == 0)
		for (i = 0; i < ncpu; i++)
			st->out_of_scope += v[i];
	free(v);
}

void live_sockets_stop(struct live_sockets *s)
{
	int f;

	if (!s)
		return;
	for (f = 0; f < FEAT_NR; f++)
		bpf_link__destroy(s->links[f]);
	sockets_bpf__destroy(s->skel);
	socket_scope_free(s->scope);
	proc_owner_free(s->owners);
	free(s->seen);
	free(s);
}
