/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls_calib_launcher.h - privilege separation in ecap-rec: what needs capabilities the
 * recorder drops after start-up.
 *
 * Starting a calibration sandbox needs CAP_SETUID and CAP_SETGID (to become nobody), and
 * opening a uprobe perf event needs CAP_SYS_ADMIN and CAP_PERFMON on this kernel; the recorder,
 * which parses packets, /proc and foreign files, keeps none of these. So, at start-up and
 * before anything else, ecap-rec forks two launchers: processes that keep only those four
 * capabilities, one for calibrations ('C') and one for uprobes ('U'), so that a calibration,
 * which can take seconds, never holds up a probe's attachment (calibrations run on a thread
 * of their own, calib_worker.h; probes are attached by the thread that reads the rings). Each
 * does on its socket:
 *   'C' given a library as open descriptors, it runs the calibration child in the sandbox
 *       (tls_calibrate_child_run) and sends back the child's raw answer, which it never reads;
 *       the recorder parses that answer as untrusted input;
 *   'U' given an open regular file and an offset inside it, it opens the uprobe perf event
 *       there (uprobe_perf_open) and sends back its descriptor; the recorder attaches its own
 *       program to it.
 * Protocol (SOCK_SEQPACKET, one message each way):
 *   request: struct launcher_request (tls_calib_launcher.c), with 1 or 2 descriptors
 *            (libssl, libcrypto; or the probed file) as SCM_RIGHTS
 *   reply 'C': struct launcher_reply, then out_len bytes of the child's stdout, then err_len
 *            bytes of its stderr
 *   reply 'U': an int32 status (0 or -errno), with the perf event's descriptor when 0
 * The launcher ends when the recorder closes its end, or dies (PR_SET_PDEATHSIG).
 */
#ifndef ECAP_TLS_CALIB_LAUNCHER_H
#define ECAP_TLS_CALIB_LAUNCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sandbox_result;

/* Forks the launchers. 0, or -errno with a reason in err. Call before any thread starts. */
int tls_calib_launcher_start(char *err, size_t errlen);

bool tls_calib_launcher_running(void);

/* The calibration launcher's pid, or 0. */
pid_t tls_calib_launcher_pid(void);

/* tls_calibrate_child_run() through the launcher. 0 with *res filled, or -errno. */
int tls_calib_launcher_run(const int *fds, unsigned nfds, struct sandbox_result *res);

/* A uprobe perf event opened by the launcher (uprobe_perf_open). A descriptor, or -errno. */
int tls_calib_launcher_uprobe(int fd, uint64_t offset, bool retprobe);

/* Gives up the calibration under way, at once: the calibration launcher's socket is shut, so
 * that tls_calib_launcher_run() returns an error, now and from then on, and the launcher is
 * told (SIGTERM) to kill its sandboxed child and end. For a recorder that stops. */
void tls_calib_launcher_abort(void);

/* Closes the launchers' sockets and reaps them. */
void tls_calib_launcher_stop(void);

#endif
