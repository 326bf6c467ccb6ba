// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_sessions - what the store costs per TLS session, as the live recorder feeds it: for
 * each session a new flow with both owners (both ends local), 18 packets of a TLS 1.3 request
 * (8.2 KB, incompressible records), the session (client_random to flow) and its five secrets,
 * reported twice (by the client and by the server, as the uprobes do). As the recorder's
 * pipeline does since issue 17, the first report of each goes to the store with
 * store_put_session_secret() (its session is recorded, so the store need not look whether it
 * holds it) and the second is known by its label and never reaches the store; --lookup gives
 * all ten to store_put_secret(), which looks (the recorder's path before). Sessions come at a
 * steady rate on a simulated clock, so the group commit (fdatasync, then COMMIT) runs once per
 * simulated second as it does live, with the store's writer thread on.
 *
 * It prints the CPU time (all threads, and the kernel's part of it) per session over a
 * measured run, after a warm-up, and the bytes of segment files per session stored (the price
 * of what the writer does not compress) and of the index file, the page faults per session
 * over the run (memory touched for the first time: mostly SQLite's page cache growing to its
 * 16 MiB in the first ~70,000 sessions, each fault some 20 us on the development VM), and
 * optionally after preloading the store with many sessions: the cost of the random keys
 * (client_random) in the index as the store grows (--preload 1000000 is the long mode that
 * bench.sh runs only with --long: about 8 GB of segments).
 *
 * Packet payloads are slices of a 16 MiB pool of random bytes made before the clock starts,
 * at random offsets: incompressible as TLS records are (two slices in one 64 KiB LZ4 window
 * rarely overlap), without charging a random generator to the store. Each slice starts out of
 * the cache, and where the last one did not end, so the processor's prefetchers do not see it
 * coming. --source ring takes them one after the other instead, each after a record header
 * of RING_HEADER bytes, as ecap-rec reads packets from its BPF ring (16 MiB by default): the
 * same bytes, read in the order the recorder reads them.
 *
 * Under callgrind with --instr-atstart=no, only the measured run is counted (the preload and
 * the warm-up run uninstrumented, several times faster): instructions per session at any store
 * size, e.g. `valgrind --tool=callgrind --instr-atstart=no bench_sessions --sessions 3000
 * --preload 1000000`.
 *
 * --keep leaves the store in place (to measure an export of its sessions), instead of removing it.
 * --beacon N makes every Nth session's client one long-lived process (pid 3000, comm "beacon":
 * few flows spread over the whole store) instead of a new one, for timing selections by owner.
 * --stime makes every session's client one long-lived process of the server's name (pid 3000,
 * comm "openssl", as `openssl s_time` against `openssl s_server`): two owners of one name, uid
 * and netns, too far apart in pid to share a row of owner_flows (index schema 11's groups),
 * both in every flow.
 * --procs stores, as ecap-rec does for a new process (a curl per session), the record of each
 * new client process (store_put_process: exe, command line, cgroup, parent) before its flow:
 * the store's share of a new process per session. Off by default, so figures compare.
 * --pod (and so --procs) makes each record a process in a Kubernetes pod's container, as such a
 * host's are: a 300-byte command line, the container's cgroup path, its 64-hex id, runtime
 * and pod uid (about 700 bytes of text against a curl's 110): a layout of the index that
 * suits small records (a smaller page, say) may not suit these.
 * --every N prints the CPU per session of each N sessions of the preload and warm-up: how the
 * cost moves as the store grows, in one process under one load.
 * --client-pid N gives the new clients pids N, N+1, ... (100000 by default), and the server
 * (pid 4000) a start time as a real process has (0 otherwise, so that figures compare): with N
 * a few above 4000, the clients start just after a long-lived process with a row of
 * owner_flows per chunk, as curls started after a daemon, for timing a selection by pid.
 * --late-server N makes every Nth session's server end learned late, as ecap-rec learns an
 * accepted socket's owner under the curl loops: the flow's record is stored without the
 * server's owner, and again with it a simulated second later (in a later chunk), so that the
 * index writes the owner into the flow's row (index_rows.c, the owner's UPDATE).
 *
 *   bench_sessions [--store DIR] [--sessions N] [--rate PER_SECOND] [--preload N] [--lookup]
 *                  [--keep] [--beacon N | --stime] [--source random|ring] [--procs [--pod]]
 *                  [--every N] [--client-pid N] [--late-server N]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include "bench_common.h"
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif
#include "segment.h"
#include "store.h"

/* Frame lengths of one HTTPS request over TLS 1.3 (curl against openssl s_server -www). */
static const uint16_t frame_len[] = { 74,  74, 66,   583, 66, 1490, 66,  146, 66,
				      171, 66, 1390, 66,  2650, 66, 66,   66,  66 };
#define FRAMES (sizeof(frame_len) / sizeof(frame_len[0]))
/* Labels and names at their fields' sizes, copied whole: the benchmark's own work per session
 * (it used snprintf, about 3,400 instructions a session, counted as the store's) stays small. */
static const char labels[][ECAP_LABEL_MAX] = { "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
					       "SERVER_HANDSHAKE_TRAFFIC_SECRET",
					       "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0",
					       "EXPORTER_SECRET" };
static const char comms[][ECAP_COMM_LEN] = { "curl", "openssl", "beacon" };

#define POOL_BYTES (16u << 20)
/* The BPF ring's record header (8 bytes) and struct ecap_pkt_event before each packet. */
#define RING_HEADER 40u

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = next_rand();
		memcpy(p + i, &r, n - i < 8 ? n - i : 8);
	}
}

struct sim {
	struct store *s;
	uint32_t ifid;
	uint64_t mono, wall, step_ns; /* the simulated clocks, one session apart */
	uint64_t next_tick;
	uint32_t n;                   /* sessions so far */
	uint8_t *pool;                /* POOL_BYTES random bytes */
	bool lookup;                  /* every report to store_put_secret() */
	uint32_t beacon;              /* every beacon-th client is pid 3000; 0: none */
	bool stime;                   /* --stime: pid 3000 is named as the server is */
	bool ring;                    /* --source ring: slices in order */
	size_t ring_at;               /* where the next one starts */
	bool procs;                   /* --procs: a process record per new client */
	bool pod;                     /* --pod: that record a pod's container process */
	uint32_t client_pid;          /* the first new client's pid */
	uint64_t server_start;        /* the server's start time (--client-pid), or 0 */
	uint32_t late_server;         /* every late_server-th server end learned late; 0: none */
	struct flow_record late;      /* that flow's record, with its server end, to store ... */
	uint64_t late_due;            /* ... when mono reaches this; 0: none pending */
};

/* The bytes of the next packet of len bytes. */
static const uint8_t *packet_source(struct sim *m, uint32_t len)
{
	if (!m->ring)
		return m->pool + next_rand() % (POOL_BYTES - len);
	size_t at = m->ring_at + RING_HEADER;
	if (at + len > POOL_BYTES)
		at = RING_HEADER; /* the ring wraps */
	m->ring_at = (at + len + 7) & ~(size_t)7;
	return m->pool + at;
}

static int fail(struct sim *m, const char *what)
{
	fprintf(stderr, "bench_sessions: %s: %s\n", what, store_errmsg(m->s));
	return 1;
}

static void make_flow(struct sim *m, struct flow_record *fr)
{
	memset(fr, 0, sizeof(*fr));
	fr->id = store_new_flow_id(m->s);
	fr->first_ns = m->wall;
	fr->key.proto = 6;
	fr->key.family = 4;
	memset(fr->key.addr_a + 10, 0xff, 2);
	memset(fr->key.addr_b + 10, 0xff, 2);
	fr->key.addr_a[12] = fr->key.addr_b[12] = 127;
	fr->key.addr_a[15] = fr->key.addr_b[15] = 1;
	fr->key.port_a = (uint16_t)(32768 + m->n % 28000);
	fr->key.port_b = 4433;
	for (int side = 0; side < 2; side++) {
		struct ecap_proc *p = &fr->proc[side];
		p->valid = true;
		p->pid = p->tid = side ? 4000 : m->client_pid + m->n; /* a new client each time */
		if (!side && m->beacon && m->n % m->beacon == 0)
			p->pid = p->tid = 3000;
		p->uid = p->gid = 0;
		if (side)
			p->start_ns = m->server_start;
		memcpy(p->comm, comms[side || (p->pid == 3000 && m->stime) ? 1 :
				      p->pid == 3000 ? 2 : 0], sizeof(p->comm));
	}
}

/* The record ecap-rec stores for a new client process (proc_owner_info), as a curl's. */
static int put_process(struct sim *m, const struct ecap_proc *p)
{
	static struct ecap_proc_info pi;
	memset(&pi, 0, sizeof(pi));
	pi.pid = pi.nspid = p->pid;
	pi.start_ns = p->start_ns;
	pi.start_wall_ns = m->wall;
	pi.ppid = 4001;
	snprintf(pi.parent_comm, sizeof(pi.parent_comm), "bash");
	snprintf(pi.exe, sizeof(pi.exe), "/usr/bin/curl");
	snprintf(pi.args, sizeof(pi.args), "curl -sk -o /dev/null https://127.0.0.1:4433/");
	snprintf(pi.cgroup, sizeof(pi.cgroup), "/user.slice/user-0.slice/session-1.scope");
	if (m->pod) {
		static const char id[] = "4f1c9e0d7a2b46e8b3c5d9a1e7f02c6b8d4a1e9f3c7b5d2a6e0f8c4b1d9a3e70";
		static const char uid[] = "7d3e2a1b-9c4f-4e8d-a6b5-0f1e2d3c4b5a";
		snprintf(pi.container_id, sizeof(pi.container_id), "%s", id);
		snprintf(pi.pod_uid, sizeof(pi.pod_uid), "%s", uid);
		snprintf(pi.runtime, sizeof(pi.runtime), "containerd");
		snprintf(pi.cgroup, sizeof(pi.cgroup),
			 "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/"
			 "cri-containerd-%s.scope", uid, id);
		int len = snprintf(pi.args, sizeof(pi.args), "curl -sk -o /dev/null -H ");
		memset(pi.args + len, 'x', 300 - (size_t)len); /* a long header, as a token */
		pi.args[300] = '\0';
	}
	return store_put_process(m->s, &pi);
}

static int one_session(struct sim *m)
{
	struct flow_record fr;
	make_flow(m, &fr);
	if (m->procs && fr.proc[0].pid != 3000) {
		fr.proc[0].start_ns = m->mono;
		if (put_process(m, &fr.proc[0]))
			return fail(m, "process");
	}
	if (m->late_due && m->mono >= m->late_due) {
		m->late_due = 0;
		if (store_put_flow(m->s, &m->late))
			return fail(m, "flow learned late");
	}
	if (m->late_server && !m->late_due && m->n % m->late_server == 0) {
		m->late = fr;
		m->late_due = m->mono + 1000000000ull;
		fr.proc[1].valid = false;
	}
	if (store_put_flow(m->s, &fr))
		return fail(m, "flow");
	uint8_t cr[32];
	fill_random(cr, sizeof(cr));
	for (size_t i = 0; i < FRAMES; i++) {
		uint32_t len = frame_len[i];
		const uint8_t *data = packet_source(m, len);
		struct ecap_packet p = { .ts_ns = m->wall + i * 20000, .iface = m->ifid,
					 .caplen = len, .origlen = len, .flags = 2,
					 .flow_id = fr.id, .data = data };
		if (store_append_packet(m->s, &p))
			return fail(m, "packet");
		if (i == 3 && store_put_tls_session(m->s, cr, fr.id))
			return fail(m, "session");
	}
	for (int end = 0; end < (m->lookup ? 2 : 1); end++)
		for (size_t k = 0; k < sizeof(labels) / sizeof(labels[0]); k++) {
			struct tls_secret sec = { .secret_len = 32 };
			memcpy(sec.label, labels[k], sizeof(sec.label));
			memcpy(sec.client_random, cr, 32);
			memcpy(sec.secret, cr, 32);
			sec.secret[0] ^= (uint8_t)(k + 1);
			if ((m->lookup ? store_put_secret(m->s, &sec) :
					 store_put_session_secret(m->s, &sec)) < 0)
				return fail(m, "secret");
		}
	m->n++;
	m->mono += m->step_ns;
	m->wall += m->step_ns;
	if (m->mono >= m->next_tick) { /* the live loop ticks the store every 10 ms */
		m->next_tick = m->mono + 10000000;
		if (store_tick(m->s, m->mono))
			return fail(m, "tick");
	}
	return 0;
}

/* Bytes of the segment files in dir (0 when it cannot be read). */
static uint64_t segment_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	uint64_t sum = 0;
	struct dirent *de;
	struct stat st;
	uint32_t id;
	while (d && (de = readdir(d)))
		if (segment_parse_name(de->d_name, &id) &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			sum += (uint64_t)st.st_size;
	if (d)
		closedir(d);
	return sum;
}

/* Page faults of this process so far (memory it touched for the first time, or again after
 * giving it back). */
static long minor_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* CPU seconds of all threads in the kernel so far (system calls, page faults). */
static double system_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Bytes of the index file in dir once closed (its WAL checkpointed into it), 0 when none. */
static uint64_t index_bytes(const char *dir)
{
	char p[600];
	struct stat st;
	snprintf(p, sizeof(p), "%s/index.db", dir);
	return stat(p, &st) ? 0 : (uint64_t)st.st_size;
}

static int sessions(struct sim *m, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (one_session(m))
			return 1;
	return 0;
}

/* n sessions in steps of `every`, each step's CPU (and the kernel's part) and page faults per
 * session printed: how the cost moves as the store grows, in one process under one load. */
static int sessions_by_step(struct sim *m, uint32_t n, uint32_t every)
{
	for (uint32_t done = 0; done < n;) {
		uint32_t k = n - done < every ? n - done : every;
		double c0 = cpu_seconds(), sys0 = system_seconds();
		long f0 = minor_faults();
		if (sessions(m, k))
			return 1;
		done += k;
		printf("  after %u: %.1f us CPU per session (%.1f in the kernel), %.2f page faults "
		       "per session\n", m->n, (cpu_seconds() - c0) / k * 1e6,
		       (system_seconds() - sys0) / k * 1e6, (double)(minor_faults() - f0) / k);
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = "/tmp/ecap-bench-sessions";
	uint32_t n = 20000, rate = 200, preload = 0;
	bool lookup = false, keep = false, procs = false, pod = false, stime = false;
	uint32_t beacon = 0, every = 0, client_pid = 100000, late_server = 0;
	uint64_t server_start = 0;
	int c;
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "preload", required_argument, NULL, 'p' },
		{ "lookup", no_argument, NULL, 'l' },
		{ "keep", no_argument, NULL, 'k' },
		{ "beacon", required_argument, NULL, 'b' },
		{ "stime", no_argument, NULL, 'S' },
		{ "source", required_argument, NULL, 'o' },
		{ "procs", no_argument, NULL, 'P' },
		{ "pod", no_argument, NULL, 'K' },
		{ "every", required_argument, NULL, 'e' },
		{ "client-pid", required_argument, NULL, 'c' },
		{ "late-server", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool ring = false;
	while ((c = getopt_long(argc, argv, "s:n:r:p:lkb:So:PKe:c:L:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'n':
			n = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			rate = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			preload = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'k':
			keep = true;
			break;
		case 'b':
			beacon = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'S':
			stime = true;
			beacon = 1;
			break;
		case 'l':
			lookup = true;
			break;
		case 'P':
			procs = true;
			break;
		case 'K':
			pod = procs = true;
			break;
		case 'e':
			every = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			client_pid = (uint32_t)strtoul(optarg, NULL, 0);
			server_start = 1000000000ull; /* a second after boot */
			break;
		case 'L':
			late_server = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'o':
			if (strcmp(optarg, "ring") && strcmp(optarg, "random")) {
				fprintf(stderr, "bench_sessions: --source %s: random or ring\n",
					optarg);
				return 2;
			}
			ring = !strcmp(optarg, "ring");
			break;
		default:
			fprintf(stderr, "usage: bench_sessions [--store DIR] [--sessions N] "
				"[--rate PER_SECOND] [--preload N] [--lookup] [--keep] "
				"[--beacon N | --stime] [--source random|ring] [--procs [--pod]] "
				"[--every N] [--client-pid N] "
				"[--late-server N]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!n || !rate) {
		fprintf(stderr, "bench_sessions: --sessions and --rate must be above 0\n");
		return 2;
	}
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return 1;
	struct store_options o;
	store_options_default(&o);
	o.quiet = true;
	o.drop_when_full = true;
	static struct sim m;
	m.lookup = lookup;
	m.beacon = beacon;
	m.stime = stime;
	m.ring = ring;
	m.procs = procs;
	m.pod = pod;
	m.client_pid = client_pid;
	m.server_start = server_start;
	m.late_server = late_server;
	if (!(m.pool = malloc(POOL_BYTES))) {
		fprintf(stderr, "bench_sessions: out of memory\n");
		return 1;
	}
	fill_random(m.pool, POOL_BYTES);
	if (store_open(dir, STORE_WRITE, &o, &m.s)) {
		fprintf(stderr, "bench_sessions: %s: %s\n", dir, store_errmsg(m.s));
		return 1;
	}
	struct ecap_iface ifc = { .name = "lo", .linktype = 1 };
	if (store_add_interface(m.s, &ifc, &m.ifid))
		return fail(&m, "interface");
	m.mono = now_ns(CLOCK_MONOTONIC);
	m.wall = now_ns(CLOCK_REALTIME);
	m.step_ns = 1000000000ull / rate;
	/* the preload, then a warm-up as long as the measured run's first fifth */
	if (every ? sessions_by_step(&m, preload + n / 5, every) : sessions(&m, preload + n / 5))
		return 1;
	double c0 = cpu_seconds(), sys0 = system_seconds();
	long faults0 = minor_faults();
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	CALLGRIND_START_INSTRUMENTATION;
	if (sessions(&m, n))
		return 1;
	if (store_sync(m.s))
		return fail(&m, "sync");
	CALLGRIND_STOP_INSTRUMENTATION;
	double cpu = cpu_seconds() - c0, sys = system_seconds() - sys0, wall = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	long faults = minor_faults() - faults0;
	if (store_close(m.s)) {
		fprintf(stderr, "bench_sessions: close failed\n");
		return 1;
	}
	uint64_t all = (uint64_t)preload + n / 5 + n;
	printf("TLS sessions into the store%s%s%s: %u at %u/s (simulated) after %u: %.1f us CPU per "
	       "session (%.1f in the kernel; %.2f s CPU, %.2f s wall); segments %.0f bytes per session, index %.0f; "
	       "%.2f page faults per session\n",
	       lookup ? " (--lookup)" : "", ring ? " (--source ring)" : "", stime ? " (--stime)" : "", n, rate, preload + n / 5, cpu / n * 1e6, sys / n * 1e6,
	       cpu, wall,
	       (double)segment_bytes(dir) / (double)all, (double)index_bytes(dir) / (double)all,
	       (double)faults / n);
	free(m.pool);
	return keep || !system(cmd) ? 0 : 1;
}
