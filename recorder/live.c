// SPDX-License-Identifier: GPL-2.0-only
/*
 * live.c - live_run(): the live source's main loop (live.h).
 *
 * Start: check capabilities (say which are missing: -EPERM), lift RLIMIT_MEMLOCK for older
 * kernels, attach the socket tracepoints first, then read /proc (so no socket falls between
 * the two), then the TC capture, then the OpenSSL probes (live_tls.h, when built). Run: one
 * epoll set over the ring buffers; at every wakeup the rings are drained (socket records
 * before packets, so an owner is known before its flow's packets when both wait), then link
 * notifications (an interface gone or back, live_capture.c); the pipeline is ticked every
 * 100 ms and at the store's deadlines, loss counters checked every second (read when the
 * capture counted a loss), a status line printed every 5 s. While a chunk is open, the loop
 * sleeps until the store's next deadline (the chunk's close by its age, a commit:
 * pipeline_tick_due), as a tick before then has nothing
 * to do; the rings' fill thresholds wake it sooner, and it polls every 100 ms while a chunk is
 * with the writer. With no chunk open while records still come (a chunk just closed under a
 * steady load), it sleeps until a chunk opened since the last tick would be due, then drains
 * into that chunk and closes it at once; the once-a-second duty (loss counters, clock,
 * watchdog, the status line every 5 s) runs up to 250 ms late to share that wake-up: one
 * wake-up per chunk instead of two or three (a wake-up costs a VM 100-300 us of CPU).
 * With no chunk open and no record lately (nothing recorded, or only a commit due), the loop
 * sleeps until that commit or until a quiet recorder has a duty (quiet_until: the status line
 * every 5 s, the watchdog's ping, the capture's backstop check of its TC filters, whose
 * removal the TC group's notices tell at once; 5 s at most): it first tells the capture
 * and TLS programs that it sleeps (bpf/reader_wake.h), so that their first record wakes it at
 * once, then drains once more and sleeps only if their rings hold nothing (ring_pos.h). A
 * quiet recorder wakes about every 5 s instead of ten times a second; what it records still
 * starts being stored when it comes. When the only records lately were the TLS programs' and
 * they opened no chunk (the host's own handshakes), it sleeps so too with only the capture
 * told: their records wait in their ring for the next packet or duty (sleep_ms). Nothing it
 * skips while quiet is lost: a packet is lost only when its ring is full, which wakes it, and
 * the other rings wake it at a quarter full.
 * A full disk does not stop the recording: the store drops the chunks that do not fit
 * (store_set_drop_when_full), and a line says so at most every 5 s. Stop (*stop set by
 * SIGINT/SIGTERM): detach the TC filters first, drain what the rings still hold, detach the
 * rest; the caller then flushes the pipeline.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "ctr_meta.h"
#include "live.h"
#include "service.h"
#include "live_internal.h"
#ifdef ECAP_HAVE_LIVE_TLS
#include "live_tls.h"
#include "privs.h"
#endif

#define POLL_MS 100
#define TICK_NS (100ull * 1000000ull)
#define SECOND_NS 1000000000ull
#define STATUS_NS (5ull * SECOND_NS)

/* ---- clock ------------------------------------------------------------------------------ */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * SECOND_NS + (uint64_t)ts.tv_nsec;
}

uint64_t live_clock_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

void live_clock_update(struct live_clock *c)
{
	uint64_t m1, m2, w, b1, b2, best = UINT64_MAX, best_boot = UINT64_MAX;
	int64_t mono_to_boot = 0;
	int i;

	for (i = 0; i < 5; i++) {
		m1 = clock_ns(CLOCK_MONOTONIC);
		w = clock_ns(CLOCK_REALTIME);
		m2 = clock_ns(CLOCK_MONOTONIC);
		if (m2 - m1 < best) {
			best = m2 - m1;
			c->mono_to_wall_ns = (int64_t)w - (int64_t)(m1 + (m2 - m1) / 2);
		}
		b1 = clock_ns(CLOCK_BOOTTIME);
		m1 = clock_ns(CLOCK_MONOTONIC);
		b2 = clock_ns(CLOCK_BOOTTIME);
		if (b2 - b1 < best_boot) {
			best_boot = b2 - b1;
			mono_to_boot = (int64_t)(b1 + (b2 - b1) / 2) - (int64_t)m1;
		}
	}
	c->boot_to_wall_ns = c->mono_to_wall_ns - mono_to_boot;
}

/* ---- libbpf messages -------------------------------------------------------------------- */

static bool libbpf_muted;
static bool libbpf_debug;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (libbpf_muted || (level == LIBBPF_DEBUG && !libbpf_debug))
		return 0;
	if (level == LIBBPF_INFO && !libbpf_debug)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void live_libbpf_setup(void)
{
	const char *d = getenv("ECAP_DEBUG");

	libbpf_debug = d && *d && strcmp(d, "0") != 0;
	libbpf_set_print(libbpf_print);
}

bool live_debug(void)
{
	return libbpf_debug;
}

void live_libbpf_mute(bool mute)
{
	libbpf_muted = mute && !libbpf_debug;
}

/* ---- privileges ------------------------------------------------------------------------- */

static int drop_privileges(bool quiet)
{
	char err[256], names[256];
	int rc = privs_drop(PRIVS_RECORDER, err, sizeof(err));

	if (rc < 0) {
		fprintf(stderr, "ecap-rec: cannot drop privileges: %s\n", err);
		return rc;
	}
	if (!quiet)
		fprintf(stderr, "ecap-rec: privileges: keeping %s only, no_new_privs\n",
			privs_names(PRIVS_RECORDER, names, sizeof(names)));
	return 0;
}

static bool has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

static int check_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	const char *missing[4];
	int n = 0, i;
	bool admin;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	admin = has_cap(d, CAP_SYS_ADMIN);
	if (!admin && !has_cap(d, CAP_BPF))
		missing[n++] = "CAP_BPF (or CAP_SYS_ADMIN): load BPF programs";
	if (!admin && !has_cap(d, CAP_PERFMON))
		missing[n++] = "CAP_PERFMON (or CAP_SYS_ADMIN): tracepoints and uprobes";
	if (!has_cap(d, CAP_NET_ADMIN))
		missing[n++] = "CAP_NET_ADMIN: attach TC filters";
	if (n == 0)
		return 0;
	fprintf(stderr, "ecap-rec: live recording needs privileges this process lacks:\n");
	for (i = 0; i < n; i++)
		fprintf(stderr, "  missing %s\n", missing[i]);
	fprintf(stderr, "ecap-rec: run as root, or grant them: setcap "
		"cap_bpf,cap_perfmon,cap_net_admin,cap_sys_resource+ep ecap-rec\n");
	return -EPERM;
}

static void lift_memlock(void)
{
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };

	/* Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK; newer ones ignore it. */
	if (setrlimit(RLIMIT_MEMLOCK, &r) < 0 && errno != EPERM)
		fprintf(stderr, "ecap-rec: cannot raise RLIMIT_MEMLOCK: %s\n", strerror(errno));
}

/* ---- the run ---------------------------------------------------------------------------- */

struct live {
	const struct live_options *opt;
	struct pipeline *p;
	struct store *s;
	struct live_clock clock;
	struct live_udp *udp;
	struct live_sockets *socks;
	struct ctr_meta *ctr;
	struct live_capture *cap;
	struct ring_buffer *rb;
#ifdef ECAP_HAVE_LIVE_TLS
	struct live_tls *tls;
#endif
	int epfd;
	uint64_t start_ns;
	/* the store full (store_full()): what was said on stderr, and when */
	bool full_said;
	uint64_t full_said_ns, lost_said, lost_seen;
};

static void human_bytes(char *out, size_t n, uint64_t v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
}

static void status_line(struct live *L, bool final)
{
	struct live_capture_stats cs;
	struct live_sockets_stats ss = { 0 };
	struct pipeline_stats ps;
	struct store_stats st;
	char bytes[32], ratio[32] = "-";
	uint64_t secrets;

	live_capture_get_stats(L->cap, &cs);
	if (L->socks)
		live_sockets_get_stats(L->socks, &ss);
	pipeline_get_stats(L->p, &ps);
	secrets = ps.secrets;
	store_writer_stats(L->s, &st);
	if (st.bytes_stored > 0)
		snprintf(ratio, sizeof(ratio), "%.1fx",
			 (double)st.bytes_raw / (double)st.bytes_stored);
	human_bytes(bytes, sizeof(bytes), cs.bytes);
	fprintf(stderr, "ecap-rec: %s%" PRIu64 " packets (%s), %" PRIu64 " drops, %" PRIu64
		" flows, %" PRIu64 " TLS sessions, %" PRIu64 " secrets, compression %s",
		final ? "stopped: " : "", cs.packets, bytes, cs.drops, ps.flows, ps.tls_sessions,
		secrets, ratio);
	if (cs.filtered)
		fprintf(stderr, ", %" PRIu64 " filtered out", cs.filtered);
	if (cs.filtered_kernel)
		fprintf(stderr, " (%" PRIu64 " in the kernel)", cs.filtered_kernel);
	if (ss.lost)
		fprintf(stderr, ", %" PRIu64 " socket records lost", ss.lost);
	if (ss.out_of_scope)
		fprintf(stderr, ", %" PRIu64 " sockets outside the filter", ss.out_of_scope);
	if (L->tls) {
		/* secrets the probes read but found no room for in their ring: those sessions'
		 * secrets are missing from the store, so say so */
		struct live_tls_stats ts;

		live_tls_get_stats(L->tls, &ts);
		if (ts.lost)
			fprintf(stderr, ", %" PRIu64 " TLS secret records lost (ring full)", ts.lost);
		/* what the 10 s rescans of every process's maps cost, in processes visited */
		if (final && ts.rescans)
			fprintf(stderr, "; %" PRIu64 " rescan%s read %" PRIu64 " processes' maps",
				ts.rescans, ts.rescans == 1 ? "" : "s", ts.rescan_visits);
	}
	if (ps.nat_links)
		fprintf(stderr, ", %" PRIu64 " flows linked through NAT", ps.nat_links);
	if (cs.nat_ambiguous)
		fprintf(stderr, ", %" PRIu64 " NATed connections not linked (seen in two "
			"namespaces)", cs.nat_ambiguous);
	if (st.packets_lost)
		fprintf(stderr, ", %" PRIu64 " not stored (store full)", st.packets_lost);
	if (cs.interfaces)
		fprintf(stderr, ", %" PRIu64 " interfaces", cs.interfaces);
	if (cs.out_of_order)
		fprintf(stderr, ", %" PRIu64 " stored out of time order", cs.out_of_order);
	/* at the end, what still waits for its ClientHello will not be kept either */
	uint64_t not_kept = ps.secrets_not_kept + (final ? ps.secrets_held : 0);
	if (not_kept)
		fprintf(stderr, "; %" PRIu64 " TLS secret%s of sessions not recorded %s not kept",
			not_kept, not_kept == 1 ? "" : "s", not_kept == 1 ? "was" : "were");
	/* HKDF runs for recorded sessions only: the host's other TLS 1.3 handshakes add none */
	if (final && L->tls)
		fprintf(stderr, "; %" PRIu64 " TLS 1.3 handshake%s derived", ps.tls_derived,
			ps.tls_derived == 1 ? "" : "s");
	if (final)
		fprintf(stderr, "; the kernel saw %" PRIu64 " packets", cs.kernel_seen);
	fputc('\n', stderr);
	if (final && L->ctr) {
		struct ctr_meta_stats cm;

		ctr_meta_get_stats(L->ctr, &cm);
		if (cm.asked)
			fprintf(stderr, "ecap-rec: containers: %" PRIu64 " asked about, %" PRIu64
				" described, %" PRIu64 " unknown to their runtime, %" PRIu64
				" not answered; %.1f ms per answer on average, %.1f ms at most\n",
				cm.asked, cm.found, cm.unknown, cm.failed,
				(double)cm.latency_sum_ns / (double)cm.asked / 1e6,
				(double)cm.latency_max_ns / 1e6);
	}
}

#ifdef ECAP_HAVE_LIVE_TLS
/* live_sockets_set_execs_first()'s fn */
static int take_execs(void *tls)
{
	return live_tls_take_execs(tls);
}
#endif

static int add_ring(struct live *L, int map_fd, ring_buffer_sample_fn fn, void *ctx)
{
	if (!L->rb) {
		L->rb = ring_buffer__new(map_fd, fn, ctx, NULL);
		return L->rb ? 0 : -errno;
	}
	return ring_buffer__add(L->rb, map_fd, fn, ctx);
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int start(struct live *L)
{
	int rc;

	rc = live_udp_new(L->p, &L->clock, &L->udp);
	if (rc < 0)
		return rc;
	if (!L->opt->no_containers) {
		struct ctr_meta_options co = { .quiet = L->opt->quiet };

		for (size_t i = 0; i < L->opt->n_container_api && i < CTR_META_API_MAX; i++)
			co.api[co.n_api++] = L->opt->container_api[i];
		rc = ctr_meta_new(&co, &L->ctr);
		if (rc < 0)
			return rc;
	}
	/* Sockets first: a socket opened while /proc is read is seen by the tracepoints. */
	rc = live_sockets_start(L->p, L->udp, &L->clock, L->ctr, L->opt->filter,
				L->opt->quiet, &L->socks);
	if (rc < 0)
		return rc;
	if (live_sockets_ring_fd(L->socks) >= 0) {
		rc = add_ring(L, live_sockets_ring_fd(L->socks), live_sockets_on_event, L->socks);
		if (rc < 0)
			return rc;
	}
	rc = live_capture_start(L->opt, L->p, L->s, L->udp, &L->clock, &L->cap);
	if (rc < 0)
		return rc;
	if (live_capture_ring_fd(L->cap) >= 0 && !live_capture_reads_ring(L->cap)) {
		rc = add_ring(L, live_capture_ring_fd(L->cap), live_capture_on_event, L->cap);
		if (rc < 0)
			return rc;
	}
	/* Sockets already open; their owners apply to flows as their packets come. */
	rc = live_sockets_scan_proc(L->socks);
	if (rc < 0 && rc != -ENOENT)
		fprintf(stderr, "ecap-rec: reading sockets from /proc: %s\n", strerror(-rc));

	L->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (L->epfd < 0)
		return -errno;
	if (L->rb) {
		rc = epoll_add(L->epfd, ring_buffer__epoll_fd(L->rb));
		if (rc < 0)
			return rc;
	}
	if (live_capture_reads_ring(L->cap)) {
		/* the ring's own descriptor polls readable when records wait */
		rc = epoll_add(L->epfd, live_capture_ring_fd(L->cap));
		if (rc < 0)
			return rc;
	}
	if (live_capture_perf_fd(L->cap) >= 0) {
		rc = epoll_add(L->epfd, live_capture_perf_fd(L->cap));
		if (rc < 0)
			return rc;
	}
	if (live_capture_link_fd(L->cap) >= 0) {
		rc = epoll_add(L->epfd, live_capture_link_fd(L->cap));
		if (rc < 0)
			return rc;
	}
#ifdef ECAP_HAVE_LIVE_TLS
	if (!L->opt->no_tls) {
		/* Not fatal: without secrets the packets are still worth recording. */
		if (live_tls_start(L->opt, L->p, &L->tls) == 0) {
			if (L->socks) {
				live_tls_set_exe_fn(L->tls, live_sockets_exe_named, L->socks);
				live_sockets_set_execs_first(L->socks, take_execs, L->tls);
			}
			rc = epoll_add(L->epfd, live_tls_fd(L->tls));
			if (rc < 0)
				return rc;
		}
	}
#endif
	return 0;
}

static int store_container(void *ctx, const struct ecap_container *c)
{
	return pipeline_container(ctx, c);
}

/* The containers described since the last call, into the store. */
static int containers(struct live *L, uint64_t now)
{
	return ctr_meta_collect(L->ctr, now, live_clock_wall(&L->clock, now), store_container,
				L->p);
}

/* Drains everything that waits. The key-log probes' records first: an exec record that names
 * a program (without waking us) is older than the socket records of the process it names,
 * which then find the name remembered instead of reading /proc (where a short-lived client is
 * gone). The OpenSSL probes' records last: a handshake's secrets come after its ClientHello,
 * so the packets drained before them make a recorded session known, and its secrets are
 * derived and stored at once rather than held until its ClientHello comes. */
static int drain(struct live *L)
{
	int rc;

#ifdef ECAP_HAVE_LIVE_TLS
	if (L->tls) {
		rc = live_tls_poll_exec(L->tls);
		if (rc < 0 && rc != -EINTR)
			return rc;
	}
#endif
	rc = L->rb ? ring_buffer__consume(L->rb) : 0;
	if (rc < 0)
		return rc;
	rc = live_capture_consume(L->cap);
	if (rc < 0)
		return rc;
#ifdef ECAP_HAVE_LIVE_TLS
	if (L->tls) {
		rc = live_tls_poll(L->tls, 0);
		if (rc < 0 && rc != -EINTR)
			return rc;
	}
#endif
	return 0;
}

/* The store refuses chunks while the disk is full (drop_when_full): say so at most once per
 * status interval while packets are lost, and once when chunks are stored again and none
 * was lost for a second (near the limit small chunks still fit while large ones do not).
 * Called once a second. Not muted by --quiet: it is about packets that are not recorded. */
static void full_notice(struct live *L, uint64_t now)
{
	uint64_t lost;
	bool full = store_full(L->s, &lost);

	if (lost > L->lost_said && (!L->full_said || now - L->full_said_ns >= STATUS_NS)) {
		fprintf(stderr, "ecap-rec: store full: %" PRIu64 " packets not stored so far; "
			"recording resumes when space is freed\n", lost);
		L->full_said = true;
		L->full_said_ns = now;
		L->lost_said = lost;
	} else if (L->full_said && !full && lost == L->lost_seen) {
		fprintf(stderr, "ecap-rec: the store has room again; recording resumed (%" PRIu64
			" packets were not stored)\n", lost);
		L->full_said = false;
		L->lost_said = lost;
	}
	L->lost_seen = lost;
}

/* ---- the long sleep (bpf/reader_wake.h) ------------------------------------------------- */

/* tls: the TLS programs' flags too (the packets' alone: their records wait for the next wake-up,
 * as socket records do) */
static void set_asleep(struct live *L, bool asleep, bool tls)
{
	live_capture_set_asleep(L->cap, asleep);
#ifdef ECAP_HAVE_LIVE_TLS
	if (L->tls)
		live_tls_set_asleep(L->tls, asleep && tls);
#else
	(void)tls;
#endif
	/* the flags before the rings' positions are read (rings_waiting) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Moves whenever the rings that wake a sleeping loop had records. */
static unsigned long rings_taken(const struct live *L)
{
	unsigned long n = live_capture_taken(L->cap);

#ifdef ECAP_HAVE_LIVE_TLS
	if (L->tls)
		n += live_tls_taken(L->tls);
#endif
	return n;
}

static bool rings_waiting(const struct live *L, bool tls)
{
#ifdef ECAP_HAVE_LIVE_TLS
	if (tls && L->tls && live_tls_waiting(L->tls))
		return true;
#else
	(void)tls;
#endif
	return live_capture_waiting(L->cap);
}

/* How late the once-a-second duty may run to share the store's wake-up (wake_at). */
#define DUTY_LATE_NS (250ull * 1000000ull)
/* The longest sleep while the store has a deadline (a guard: the deadlines come sooner). */
#define SLEEP_MAX_MS 2000
/* The poll intervals in a row without a packet after which TLS records alone let the loop take
 * the long sleep (sleep_ms). */
#define TLS_ONLY_INTERVALS 3
/* The longest sleep of a recorder with nothing to record (quiet_until). */
#define QUIET_MAX_NS (5ull * SECOND_NS)

/* When a recorder with nothing to record (no chunk open, no record lately) next has a duty,
 * from its last duty at last_sec: the status line (every STATUS_NS from last_status, unless
 * --quiet), the watchdog's ping (a quarter of its interval, so that a late wake-up still
 * pings in time), the capture's check of what it cannot hear of (live_capture_quiet_ns); at
 * most QUIET_MAX_NS, and never before the once-a-second duty would come. The rest of the
 * duty (loss counters, the clock, the store's room) waits for it: nothing changes them
 * while nothing is recorded, and a record wakes the loop at once. */
static uint64_t quiet_until(const struct live *L, uint64_t last_sec, uint64_t last_status)
{
	uint64_t gap = live_capture_quiet_ns(L->cap), wd = service_watchdog_ns() / 4, t;

	if (gap > QUIET_MAX_NS)
		gap = QUIET_MAX_NS;
	if (wd && wd < gap)
		gap = wd;
	if (gap < SECOND_NS)
		gap = SECOND_NS;
	t = last_sec + gap;
	if (!L->opt->quiet && last_status + STATUS_NS < t)
		t = last_status + STATUS_NS;
	return t > last_sec + SECOND_NS ? t : last_sec + SECOND_NS;
}

/* When to wake for the store's next deadline (due; 0: none) and the once-a-second duty at
 * duty: the store's deadline when it comes at most DUTY_LATE_NS after the duty (which then runs
 * that late, at the same wake-up), else the duty DUTY_LATE_NS late. So the two come closer by
 * that much at each of the duty's wake-ups until they share one, and then stay together: under
 * a steady load the loop wakes once per chunk (the chunk's close, its commit, the duty)
 * instead of two or three times, and a wake-up costs this VM 100-300 us of CPU whatever it
 * then does (BENCHMARKS.md, i23main). */
static uint64_t wake_at(uint64_t duty, uint64_t due)
{
	if (!due || due > duty + DUTY_LATE_NS)
		return duty + (due ? DUTY_LATE_NS : 0);
	return due;
}

static int ms_until(uint64_t now, uint64_t t)
{
	uint64_t ms = t > now ? (t - now + 999999) / 1000000 : 1;

	return ms > SLEEP_MAX_MS ? SLEEP_MAX_MS : (int)ms;
}

/* How long the loop may sleep: while a chunk is open, until the store's next deadline
 * (pipeline_tick_due: the chunk's age, the group commit; POLL_MS when its work is at once, as
 * a chunk with the writer) or the duty (wake_at).
 * With no chunk open and records taken in the last interval (a chunk just closed by its age
 * while the load goes on, or records that opened none: the host's own TLS handshakes), until
 * a chunk opened by the next drain would be due, and a poll interval more (*batch: that drain
 * comes before the next tick, so the chunk counts its age from the last tick): the records of
 * the meantime wait in the rings and go into that chunk, which the tick right after closes.
 * Before, the loop polled once (POLL_MS) and the chunk its drain opened counted its age from
 * then: the same chunks (one per chunk age and poll interval under a steady load), the same
 * longest wait of a record for its chunk's close (a chunk age and a poll interval), with one
 * wake-up where there were two. The rings' fill thresholds still wake it sooner.
 * With no chunk open and no record in the last interval (nothing is recorded, or a chunk
 * closed by its size waits for its commit), until the quiet recorder's next duty (quiet, from
 * quiet_until) or the commit due before it, after telling the capture and TLS programs, so
 * that their next record wakes the loop at once: a record that opens a chunk counts its age
 * from its drain.
 * With no chunk open, only TLS records in the last interval (secrets, and exec records that
 * name programs), which opened no chunk, and no packet in the two intervals before it either
 * (TLS_ONLY_INTERVALS: under a load of a session a second, a poll interval without a packet
 * between two with packets keeps the sleep above, which takes the next session's packets in
 * one wake-up where a packet's own would add a second): they were the host's own handshakes,
 * held for a ClientHello not recorded yet, and a host that makes one a second kept the loop
 * waking every 1.1 s for them (BENCHMARKS.md, i25main). The same sleep, with only the packets'
 * program told:
 * the TLS records of the meantime wait in their ring (its fill threshold still wakes the loop)
 * for the next wake-up, by a packet, which drains them after the packets that may claim them,
 * or by the duty. A secret that a session recorded before the sleep claims is stored up to
 * QUIET_MAX_NS later than its drain at the chunk's pace would have (a session whose every
 * packet came more than a poll interval before its secrets; none of OpenSSL's, whose
 * handshake is followed by the session's data).
 * *asleep: the programs were told (set_asleep), and the caller clears it when it wakes.
 * *taken, *cap_taken: rings_taken() and live_capture_taken() at the previous call; *no_packets:
 * the calls in a row since the packets ring last had records. A negative errno when the drain
 * failed. */
static int sleep_ms(struct live *L, uint64_t next_duty, uint64_t quiet, bool *asleep, bool *batch,
		    unsigned long *taken, unsigned long *cap_taken, unsigned *no_packets)
{
	unsigned long was = *taken, cap_was = *cap_taken;
	uint64_t ms, now, due, open_due;
	bool tls_only;
	int rc;

	*batch = false;
	*taken = rings_taken(L);
	*cap_taken = live_capture_taken(L->cap);
	if (*cap_taken != cap_was)
		*no_packets = 0;
	else if (*no_packets < TLS_ONLY_INTERVALS)
		(*no_packets)++;
	tls_only = *taken != was && *no_packets >= TLS_ONLY_INTERVALS;
	if (!live_capture_can_sleep(L->cap))
		return POLL_MS;
	due = pipeline_tick_due(L->p);
	now = live_clock_mono_ns();
	if (due > now && pipeline_chunk_open(L->p))
		return ms_until(now, wake_at(next_duty, due));
	if (due && due <= now)
		return POLL_MS;
	if (*taken != was && !tls_only) {
		open_due = pipeline_chunk_due_if_opened(L->p) + TICK_NS;
		if (due && due < open_due)
			open_due = due; /* the commit of chunks closed by their size */
		*batch = true;
		return ms_until(now, wake_at(next_duty, open_due));
	}
	if (due && due < quiet)
		quiet = due; /* the commit of chunks closed by their size */
	set_asleep(L, true, !tls_only);
	/* records submitted before the programs saw the flag */
	rc = drain(L);
	if (rc < 0 ||
	    (tls_only ? live_capture_taken(L->cap) != *cap_taken : rings_taken(L) != *taken) ||
	    pipeline_tick_due(L->p) != due || pipeline_chunk_open(L->p) ||
	    rings_waiting(L, !tls_only)) {
		set_asleep(L, false, true);
		return rc < 0 ? rc : POLL_MS;
	}
	*asleep = true;
	now = live_clock_mono_ns();
	ms = quiet > now ? (quiet - now + 999999) / 1000000 : 0;
	return ms < POLL_MS ? POLL_MS : ms > QUIET_MAX_NS / 1000000 ? (int)(QUIET_MAX_NS / 1000000)
								      : (int)ms;
}

/* The pipeline's periodic work (and the containers' answers) at now. */
static int tick(struct live *L, uint64_t now)
{
	int rc = containers(L, now);

	return rc == 0 ? pipeline_tick(L->p, now) : rc;
}

static int loop(struct live *L, volatile sig_atomic_t *stop)
{
	uint64_t now, next_duty, due, last_tick = 0, last_sec = 0, last_status;
	struct epoll_event evs[4];
	int rc, n, i, timeout = POLL_MS;
	unsigned long taken = 0, cap_taken = 0;
	unsigned no_packets = 0;
	bool asleep = false, batch = false;

	last_status = L->start_ns = live_clock_mono_ns();
	while (!*stop) {
		n = epoll_wait(L->epfd, evs, 4, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (asleep) {
			/* the tick first: what the drain stores counts its age (the chunk's, a
			 * held secret's) from now, not from before the sleep */
			set_asleep(L, false, true);
			asleep = false;
			/* the duty that keeps it may not have run for seconds (quiet_until) */
			live_clock_update(&L->clock);
			last_tick = live_clock_mono_ns();
			rc = tick(L, last_tick);
			if (rc < 0)
				return rc;
		} else if (!batch && !pipeline_chunk_open(L->p) &&
			   live_clock_mono_ns() - last_tick >= TICK_NS) {
			/* No chunk open, after a poll: the tick first, so that a chunk the drain
			 * opens counts its age from now, not from the last tick. After a sleep
			 * until a chunk opened since the last tick would be due (batch), the
			 * drain first: what waited in the rings goes into a chunk that the tick
			 * after the drain closes. With a chunk open, the drain first: what the
			 * rings hold goes into it before its close. */
			last_tick = live_clock_mono_ns();
			rc = tick(L, last_tick);
			if (rc < 0)
				return rc;
		}
		rc = drain(L);
		if (rc < 0)
			return rc;
		/* after the drain: records of a device that went away are taken first */
		for (i = 0; i < n; i++)
			if (evs[i].data.fd == live_capture_link_fd(L->cap))
				live_capture_on_link(L->cap);
		now = live_clock_mono_ns();
		due = pipeline_tick_due(L->p);
		if (now - last_tick >= TICK_NS || (due > 1 && now >= due)) {
			last_tick = now;
			rc = tick(L, now);
			if (rc < 0)
				return rc;
		}
		if (now - last_sec >= SECOND_NS) {
			last_sec = now;
			live_clock_update(&L->clock);
			service_notify_watchdog();
			rc = live_capture_tick(L->cap, now, false);
			if (rc < 0)
				return rc;
			full_notice(L, now);
			/* with the duty, which may run up to DUTY_LATE_NS late (wake_at): a
			 * wake-up of its own would cost more than the line */
			if (!L->opt->quiet && now - last_status >= STATUS_NS - DUTY_LATE_NS) {
				last_status = now;
				status_line(L, false);
			}
		}
		next_duty = last_sec + SECOND_NS;
		timeout = *stop ? 0 : sleep_ms(L, next_duty, quiet_until(L, last_sec, last_status),
					       &asleep, &batch, &taken, &cap_taken, &no_packets);
		if (timeout < 0)
			return timeout;
	}
	if (asleep)
		set_asleep(L, false, true);
	return 0;
}

static void teardown(struct live *L)
{
	live_capture_detach(L->cap);
#ifdef ECAP_HAVE_LIVE_TLS
	if (L->socks)
		live_sockets_set_execs_first(L->socks, NULL, NULL);
	live_tls_stop(L->tls);
	L->tls = NULL;
#endif
	live_sockets_stop(L->socks);
	L->socks = NULL;
	ctr_meta_free(L->ctr);
	L->ctr = NULL;
	ring_buffer__free(L->rb);
	L->rb = NULL;
	live_capture_free(L->cap);
	L->cap = NULL;
	live_udp_free(L->udp);
	L->udp = NULL;
	if (L->epfd >= 0)
		close(L->epfd);
	L->epfd = -1;
}

int live_run(const struct live_options *opt, struct pipeline *p, struct store *s,
	     volatile sig_atomic_t *stop)
{
	struct live L = { .opt = opt, .p = p, .s = s, .epfd = -1 };
	int rc, r;

	if (opt->n_ifaces == 0) {
		fprintf(stderr, "ecap-rec: no interface to record (-i IFACE)\n");
		return -EINVAL;
	}
	rc = check_caps();
	if (rc < 0)
		return rc;
	lift_memlock();
	live_libbpf_setup();
	live_clock_update(&L.clock);
	/* A full disk loses packets, but recording goes on and resumes when space returns. */
	store_set_drop_when_full(s, true);

	rc = start(&L);
	/* Everything that needs more than the recording set is done: drop the rest for good. */
	if (rc == 0)
		rc = drop_privileges(opt->quiet);
	/* threads after the drop: they would keep the privileges of the moment they start */
	if (rc == 0 && L.ctr && (r = ctr_meta_start(L.ctr)) < 0)
		fprintf(stderr, "ecap-rec: no container metadata: %s\n", strerror(-r));
#ifdef ECAP_HAVE_LIVE_TLS
	/* the calibration thread, and the start's calibrations (2 s at most) */
	if (rc == 0)
		live_tls_begin(L.tls);
#endif
	if (rc == 0) {
		char what[512];

		if (opt->n_ifaces == 1 && strcmp(opt->ifaces[0], "any") == 0)
			snprintf(what, sizeof(what), "recording on every interface of every "
				 "network namespace (-i any) into %s", store_dir(s));
		else
			snprintf(what, sizeof(what), "recording on %zu interface%s into %s",
				 opt->n_ifaces, opt->n_ifaces == 1 ? "" : "s", store_dir(s));
		if (!opt->quiet)
			fprintf(stderr, "ecap-rec: %s\n", what);
		/* the probes are attached and the store is open */
		service_notify_ready(what);
		rc = loop(&L, stop);
		service_notify_stopping();
		if (rc < 0)
			fprintf(stderr, "ecap-rec: recording stopped: %s%s%s\n", strerror(-rc),
				rc == -EIO || rc == -ENOSPC ? ": " : "",
				rc == -EIO || rc == -ENOSPC ? store_errmsg(s) : "");
	}
	/* No new packets; programs already running finish within an RCU grace period; then
	 * take what the rings still hold, so that recorded + lost = seen by the kernel. */
	live_capture_detach(L.cap);
	if (L.cap)
		usleep(50000);
	if (L.cap && rc == 0) {
		r = drain(&L);
		if (r < 0)
			rc = r;
	}
	/* the containers still being asked about: a second at most, then into the store */
	ctr_meta_stop(L.ctr, 1000);
	r = containers(&L, live_clock_mono_ns());
	if (r < 0 && rc == 0)
		rc = r;
	if (L.cap) {
		r = live_capture_tick(L.cap, live_clock_mono_ns(), true);
		if (r < 0 && rc == 0)
			rc = r;
		if (!opt->quiet)
			status_line(&L, true);
	}
	teardown(&L);
	/* The caller flushes the pipeline (pipeline_finish) and closes the store. */
	return rc;
}
