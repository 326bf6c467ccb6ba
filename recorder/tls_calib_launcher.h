/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tls_calib_launcher.h - privilege separation for calibration in ecap-rec.
 *
 * Starting a calibration sandbox needs CAP_SETUID and CAP_SETGID (to become nobody), which the
 * recorder itself drops after start-up. So, at start-up and before anything else, ecap-rec
 * forks this launcher: a process that keeps only those two capabilities and does one thing:
 * given a library as open descriptors on its socket, it runs the calibration child in the
 * sandbox (tls_calibrate_child_run) and sends back the child's raw answer, which it never reads.
 * The recorder parses that answer as untrusted input. Protocol (SOCK_SEQPACKET, one message
 * each way):
 *   request: one byte 'C', with 1 or 2 descriptors (libssl, libcrypto) as SCM_RIGHTS
 *   reply:   struct launcher_reply (below), then out_len bytes of the child's stdout, then
 *            err_len bytes of its stderr
 * The launcher ends when the recorder closes its end, or dies (PR_SET_PDEATHSIG).
 */
#ifndef ECAP_TLS_CALIB_LAUNCHER_H
#define ECAP_TLS_CALIB_LAUNCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sandbox_result;

/* Forks the launcher. 0, or -errno with a reason in err. Call before any thread starts. */
int tls_calib_launcher_start(char *err, size_t errlen);

bool tls_calib_launcher_running(void);

/* The launcher's pid, or 0. */
pid_t tls_calib_launcher_pid(void);

/* tls_calibrate_child_run() through the launcher. 0 with *res filled, or -errno. */
int tls_calib_launcher_run(const int *fds, unsigned nfds, struct sandbox_result *res);

/* Closes the launcher's socket and reaps it. */
void tls_calib_launcher_stop(void);

#endif
