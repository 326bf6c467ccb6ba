// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - the ecap-rec command line: records live traffic (-i, when built with the eBPF
 * source) or replays a capture file (--replay) into a store, with TLS secrets from key log
 * files. Opens the store and the pipeline, runs the source until it ends or SIGINT/SIGTERM,
 * then flushes and closes everything so that what was recorded is durable.
 *
 * Exit status: 0 ok; 1 the input had errors (all valid data kept); 2 usage or permission;
 * 3 the store failed.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecap_config.h"
#include "../schema/store.h"
#include "keylog.h"
#include "ossl_init.h"
#include "pipeline.h"
#include "privs.h"
#include "rec_args.h"
#include "replay.h"
#include "tls_calib_launcher.h"
#ifdef ECAP_HAVE_LIVE
#include "live.h"
#endif

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_hangup(int sig)
{
	static const char msg[] = "ecap-rec: SIGHUP ignored: settings are read at start only; "
				  "restart ecap-rec to apply a changed configuration\n";
	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		return;
}


static int run_live(const struct rec_args *a, struct pipeline *p, struct store *s)
{
#ifdef ECAP_HAVE_LIVE
	struct live_options lo;
	memset(&lo, 0, sizeof(lo));
	for (size_t i = 0; i < a->n_ifaces; i++)
		lo.ifaces[i] = a->ifaces[i];
	lo.n_ifaces = a->n_ifaces;
	for (size_t i = 0; i < a->n_libssl; i++)
		lo.libssl[i] = a->libssl[i];
	lo.n_libssl = a->n_libssl;
	lo.snaplen = a->snaplen;
	lo.ring_bytes = (uint32_t)a->buffer_size;
	lo.filter = a->filter;
	lo.no_tls = a->no_tls;
	for (size_t i = 0; i < a->n_container_api; i++) {
		if (!strcmp(a->container_api[i], "none"))
			lo.no_containers = true;
		else
			lo.container_api[lo.n_container_api++] = a->container_api[i];
	}
	lo.store_dir = a->store;
	lo.quiet = a->quiet;
	int err = live_run(&lo, p, s, &stop);
	if (err == -EPERM || err == -EACCES || err == -ENODEV || err == -EINVAL)
		return EXIT_USAGE;
	return err < 0 ? EXIT_INPUT : 0;
#else
	(void)a;
	(void)p;
	(void)s;
	return EXIT_USAGE; /* not reached: checked before the store is opened */
#endif
}

static int run(const struct rec_args *a)
{
	struct store_options so;
	store_options_default(&so);
	so.max_size = a->max_size;
	so.max_age_ns = a->max_age_ns;
	if (a->chunk_size)
		so.chunk_bytes = a->chunk_size;
	if (a->segment_size)
		so.segment_bytes = a->segment_size;
	/* A replay is bound by the disk: the page cache's write-behind lets it compress the
	 * next chunk while the last one goes out. Live recording writes with O_DIRECT (where the
	 * file system takes it): less CPU, and the host's page cache is left alone. */
	const char *bw = getenv("ECAP_BUFFERED_WRITES");
	so.buffered_writes = a->replay != NULL && !(bw && !strcmp(bw, "0"));
	struct store *s = NULL;
	int err = store_open(a->store, STORE_WRITE, &so, &s);
	if (err) {
		fprintf(stderr, "ecap-rec: %s\n",
			s && store_errmsg(s)[0] ? store_errmsg(s) : strerror(-err));
		store_close(s);
		return err == -EACCES || err == -EPERM ? EXIT_USAGE : EXIT_STORE;
	}
	char fp[72];
	if (store_signing_key(s, fp) && !a->quiet)
		fprintf(stderr, "ecap-rec: %s: made the store's Ed25519 signing key, fingerprint %s; "
			"its public half is %s/store.pub: keep a copy off this host "
			"(ecap-verify --key)\n", a->store, fp, a->store);
	if (a->replay) {
		char why[256];
		if (privs_drop(PRIVS_REPLAY, why, sizeof(why)) < 0) {
			fprintf(stderr, "ecap-rec: cannot drop privileges: %s\n", why);
			store_close(s);
			return EXIT_USAGE;
		}
	}
	struct pipeline_options po;
	pipeline_options_default(&po);
	po.keep_all_secrets = a->keep_all_secrets;
	if (a->replay) { /* a key log or DSB may come long before its ClientHello */
		po.secret_hold_ns = 0;
		po.secret_hold_max = 1u << 20;
	}
	struct pipeline *p = NULL;
	err = pipeline_new(s, &po, &p);
	if (err) {
		fprintf(stderr, "ecap-rec: pipeline: %s\n", strerror(-err));
		store_close(s);
		return EXIT_STORE;
	}

	int status = 0;
	uint64_t keylog_malformed = 0;
	for (size_t i = 0; i < a->n_keylogs && !status; i++) {
		struct keylog_report rep;
		memset(&rep, 0, sizeof(rep));
		err = keylog_load(a->keylogs[i], p, stderr, &rep);
		if (err)
			status = EXIT_STORE;
		keylog_malformed += rep.malformed;
		if (!a->quiet && !err)
			fprintf(stderr, "%s: %llu secrets (%llu new), %llu malformed lines\n",
				a->keylogs[i], (unsigned long long)rep.secrets,
				(unsigned long long)rep.new_secrets,
				(unsigned long long)rep.malformed);
	}

	struct replay_result res;
	memset(&res, 0, sizeof(res));
	if (!status && a->replay) {
		struct replay_options ro = { .path = a->replay, .err = stderr, .quiet = a->quiet };
		err = replay_run(&ro, p, s, &stop, &res);
		if (res.store_failed)
			status = EXIT_STORE;
		else if (err)
			status = EXIT_USAGE; /* the input could not be opened */
		else if (res.input_errors)
			status = EXIT_INPUT;
	} else if (!status) {
		status = run_live(a, p, s);
	}

	err = pipeline_finish(p);
	if (err && status != EXIT_STORE) {
		fprintf(stderr, "ecap-rec: store: %s\n", store_errmsg(s));
		status = EXIT_STORE;
	}
	if (a->replay && !a->quiet && status != EXIT_STORE)
		replay_summary(stderr, &res, p, s);
	else if (a->replay && status != EXIT_STORE)
		replay_not_kept(stderr, p); /* what the input had and the store does not, even -q */
	struct store_stats ss;
	if (a->replay && res.store_failed && !store_get_stats(s, &ss))
		fprintf(stderr, "ecap-rec: %s: the replay stopped after %llu packets (%llu input "
			"bytes): %llu packets could not be stored and the rest of the input was not "
			"read; the store keeps %llu packets and stays readable\n", a->store,
			(unsigned long long)res.packets, (unsigned long long)res.bytes_in,
			(unsigned long long)ss.packets_lost, (unsigned long long)ss.packets);
	pipeline_free(p);
	err = store_close(s);
	if (err) {
		fprintf(stderr, "ecap-rec: store: closing: %s\n", strerror(-err));
		status = EXIT_STORE;
	}
	if (!status && keylog_malformed)
		status = EXIT_INPUT;
	if (stop && !a->quiet)
		fprintf(stderr, "ecap-rec: stopped by signal; what was read is recorded\n");
	return status;
}

int main(int argc, char **argv)
{
	struct rec_args a;
	ecap_ossl_init(); /* before any library that links libcrypto starts it (ossl_init.h) */
	int status = rec_args_parse(argc, argv, &a);
	if (status) {
		rec_args_free(&a);
		return status < 0 ? 0 : status;
	}
#ifndef ECAP_HAVE_LIVE
	if (a.n_ifaces) {
		fprintf(stderr, "ecap-rec: live capture (-i) is not built into this binary "
				"(needs clang, bpftool and libbpf at build time); use --replay\n");
		return EXIT_USAGE;
	}
#endif
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hangup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Live TLS calibration needs to start sandboxes after the recorder has dropped the
	 * capabilities for it: a launcher keeps them, forked now, before any thread. */
	if (a.n_ifaces && !a.no_tls) {
		char why[256];
		if (tls_calib_launcher_start(why, sizeof(why)) < 0) {
			fprintf(stderr, "ecap-rec: calibration launcher: %s\n", why);
			return EXIT_USAGE;
		}
	}
	status = run(&a);
	tls_calib_launcher_stop();
	rec_args_free(&a);
	return status;
}
