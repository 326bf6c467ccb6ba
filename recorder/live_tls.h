/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live_tls.h - TLS secrets of live OpenSSL sessions, from uprobes on libssl (bpf/openssl.bpf.c).
 *
 * live_tls_start() finds the libraries to watch (the system's libssl.so.3, every other libssl
 * that a running process has mapped, and the --libssl paths), calibrates each one
 * (tls_calibrate.h: struct offsets found by an in-memory handshake, cached per build-id under
 * the store), loads one BPF object and attaches its uprobes to every calibrated library by path
 * with pid -1, so processes started later are covered. A library that cannot be calibrated or
 * attached is reported on stderr by path and skipped; packets are recorded all the same.
 * Calibrations run on a thread of their own (calib_worker.h), the start's too: live_tls_begin()
 * starts it and waits for them 2 s at most, and the probes of one that ends later are attached
 * when its result is taken (live_tls_poll), while recording.
 *
 * Events from the ring buffer become key log records (struct tls_secret): TLS 1.2 gives
 * CLIENT_RANDOM; TLS 1.3 gives CLIENT/SERVER_HANDSHAKE_TRAFFIC_SECRET (derived in user space
 * with HKDF-Expand-Label from the handshake secret and transcript hash), CLIENT_TRAFFIC_SECRET_0,
 * SERVER_TRAFFIC_SECRET_0 and EXPORTER_SECRET. All-zero secrets are dropped and each secret is
 * handed over once (a client and a server process on the same host report the same session).
 *
 * Threading: one thread owns a struct live_tls; nothing here is thread-safe.
 */
#ifndef ECAP_LIVE_TLS_H
#define ECAP_LIVE_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include "../schema/records.h"
#include "live.h"
#include "pipeline.h"

struct live_tls;

/*
 * Where secrets go. who is the process whose libssl reported the secret (pid, tid, comm;
 * uid/gid/cgroup are not filled). Return 0, or a negative errno that live_tls_poll() passes on.
 */
typedef int (*live_tls_secret_fn)(void *ctx, const struct tls_secret *secret,
				  const struct ecap_proc *who);

/*
 * Starts TLS capture feeding pipeline_secret(p, ...). opt->no_tls is not looked at (the caller
 * does not call this then); opt->libssl / n_libssl and opt->store_dir (calibration cache; NULL:
 * no cache) are. Returns 0 with *out set when at least one library is attached or still being
 * calibrated; else a negative errno after saying why on stderr (-ENOENT: no libssl found or none
 * could be calibrated;
 * -EPERM/-EOPNOTSUPP: uprobes cannot be used here). An error is not fatal to a recording.
 */
int live_tls_start(const struct live_options *opt, struct pipeline *p, struct live_tls **out);

/* The same, handing each secret to fn instead (ecap-calibrate --watch, tests). */
int live_tls_start_cb(const struct live_options *opt, live_tls_secret_fn fn, void *ctx,
		      struct live_tls **out);

/* Starts the calibrations live_tls_start() found (on their thread), once the caller's
 * privileges are final: the thread keeps those it starts with. Waits for them 2 s at most,
 * their probes attached as they end. Without it no calibration runs. */
void live_tls_begin(struct live_tls *t);

/*
 * A file descriptor that becomes readable (EPOLLIN) when a quarter of an event ring waits;
 * add it to an epoll set and call live_tls_poll(t, 0) when it fires, and every 100 ms or so
 * anyway (fewer events wake no one).
 */
int live_tls_fd(const struct live_tls *t);

/*
 * The key-log probes' ring alone (secrets of other TLS libraries, and the exec records that
 * name programs), so that a reader can take exec records before socket records, and the
 * OpenSSL events after the packets (whose ClientHellos then are known to the pipeline: a
 * recorded session's secrets go to the store at once instead of through the hold).
 * live_tls_poll() drains it too, and live_tls_fd() wakes for it. Returns the records handled
 * or a negative errno.
 */
int live_tls_poll_exec(struct live_tls *t);

/*
 * Consumes the events that wait, after waiting up to timeout_ms (0: none, -1: forever) for a
 * wakeup (which comes only when a quarter of the ring waits).
 * Returns the number of events handled, or a negative errno (-EINTR is a normal wakeup).
 * Also rescans /proc for newly mapped libssl builds every 10 s (attaching the new ones).
 */
int live_tls_poll(struct live_tls *t, int timeout_ms);

/*
 * The reader's long sleep (bpf/reader_wake.h): while asleep, the probes' first record wakes
 * it at once instead of at a quarter of the ring. waiting: whether a secrets ring holds
 * records not taken yet, or its positions could not be mapped (then never sleep long).
 */
void live_tls_set_asleep(struct live_tls *t, bool asleep);
bool live_tls_waiting(const struct live_tls *t);
/* The secrets rings' bytes taken so far (moves whenever records were read). */
unsigned long live_tls_taken(const struct live_tls *t);

/*
 * Consumes the key-log ring's events when it holds records (exec records may be among them;
 * the OpenSSL ring and the rescan wait): called before a socket record's process is named
 * (live_sockets_set_execs_first). 0, or a negative errno from the events' handling.
 */
int live_tls_take_execs(struct live_tls *t);

/*
 * fn(ctx, ...) is told the name of every new program that the exec handler opens (see
 * live_keylog_exe_fn), e.g. for proc_owner_exe_named(). Nothing when
 * the key-log probes could not be loaded.
 */
typedef void (*live_tls_exe_fn)(void *ctx, uint32_t dev, uint64_t ino, uint64_t mntns_id,
				const char *path, uint64_t mono_ns);
void live_tls_set_exe_fn(struct live_tls *t, live_tls_exe_fn fn, void *ctx);

struct live_tls_stats {
	uint32_t libs_attached;   /* libraries with uprobes attached */
	uint32_t libs_failed;     /* libraries reported and skipped */
	uint32_t libs_forgotten;  /* libraries given up on and forgotten for another (table full) */
	uint64_t events;          /* ring buffer events read */
	uint64_t secrets;         /* secrets handed over (after dedupe) */
	uint64_t duplicates;      /* secrets, or a handshake's secrets, seen before (client and
				   * server of one session, ...) */
	uint64_t zero_dropped;    /* all-zero or unusable secrets dropped */
	uint64_t lost;            /* events the kernel side could not emit (ring buffer full) */
	uint64_t rescans;         /* 10 s rescans of the processes' maps (live_keylog_rescan) */
	uint64_t rescan_visits;   /* processes whose maps they read */
};
void live_tls_get_stats(const struct live_tls *t, struct live_tls_stats *st);

/*
 * Whether repeats are dropped (the default). Off, every process that reports a secret hands it
 * over (ecap-calibrate --watch --all shows the client's and the server's copy).
 */
void live_tls_set_dedupe(struct live_tls *t, bool on);

/* Detaches every uprobe and frees everything. Accepts NULL. */
void live_tls_stop(struct live_tls *t);

#endif
