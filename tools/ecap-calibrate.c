// SPDX-License-Identifier: GPL-2.0-only
/*
 * ecap-calibrate - shows where a libssl build keeps its TLS secrets (recorder/tls_calibrate.h),
 * and with --watch prints the secrets the OpenSSL uprobes capture, as key log lines.
 *
 * With no LIBSSL argument it calibrates the system's libssl.so.3 (then libssl.so.1.1), the one
 * beside the libcrypto ecap links, found without loading it. --watch attaches the same probes as ecap-rec (recorder/live_tls.h) to those
 * libraries and prints every secret in the NSS key log format on stdout until the time is up
 * or SIGINT/SIGTERM, so that its output can be compared with SSLKEYLOGFILE of the peers.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ecap_config.h"
#include "tls/lib.h"
#include "tls_calibrate.h"
#include "tls_lib.h"
#ifdef ECAP_HAVE_LIVE
#include "live_tls.h"
#endif

static volatile sig_atomic_t stop;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ecap-calibrate [OPTION]... [LIBSSL]...\n"
		"Calibrate OpenSSL builds for ecap-rec: load each LIBSSL, run in-memory TLS 1.2\n"
		"and TLS 1.3 handshakes and locate the client random, master key, TLS 1.3\n"
		"secrets, handshake secret and transcript hash in its SSL object. Without\n"
		"LIBSSL, the system's libssl.so.3 (beside the libcrypto ecap links). Each\n"
		"library is loaded only in a sandbox: as nobody, without capabilities, under\n"
		"seccomp, in namespaces of its own.\n"
		"\n"
		"  -j, --json           print one JSON object per library\n"
		"  -s, --store DIR      use and fill the calibration cache of store DIR\n"
		"  -w, --watch SECONDS  attach the OpenSSL uprobes (root) to the system's libssl,\n"
		"                       every libssl a process has mapped, and each LIBSSL; print\n"
		"                       each captured secret as a key log line until SECONDS pass\n"
		"                       (0: until SIGINT or SIGTERM)\n"
		"  -a, --all            with --watch: print a secret each time a process reports\n"
		"                       it (the client and the server of one session both do)\n"
		"  -v, --verbose        with --watch: precede each key log line with a comment\n"
		"                       line \"# pid=PID tid=TID comm=COMM\" naming its process\n"
		"  -i, --inspect        say for each FILE whether it is a TLS library that ecap-rec\n"
		"                       probes through its key-log function (Go crypto/tls,\n"
		"                       OpenSSL built into an executable, GnuTLS, BoringSSL),\n"
		"                       what was found in it and how; nothing of it is run\n"
		"  -h, --help           show this help\n"
		"      --version        show the version\n"
		"\n"
		"Exit status: 0 every library calibrated (or the watch ended normally), 1 some\n"
		"library could not be calibrated, 2 usage error or no probe could be attached.\n");
}


#ifdef ECAP_HAVE_LIVE
static void on_signal(int sig)
{
	stop = 1;
}

struct watch_ctx {
	bool verbose;
	uint64_t printed;
};

static int print_secret(void *ctx, const struct tls_secret *s, const struct ecap_proc *who)
{
	struct watch_ctx *w = ctx;
	unsigned i;

	if (w->verbose && who)
		printf("# pid=%u tid=%u comm=%s\n", who->pid, who->tid, who->comm);
	printf("%s ", s->label);
	for (i = 0; i < 32; i++)
		printf("%02x", s->client_random[i]);
	putchar(' ');
	for (i = 0; i < s->secret_len; i++)
		printf("%02x", s->secret[i]);
	putchar('\n');
	fflush(stdout);
	w->printed++;
	return 0;
}

static int watch(const char **libs, size_t nlibs, const char *store, unsigned seconds,
		 bool verbose, bool all)
{
	struct live_options opt = { .store_dir = store, .quiet = !verbose };
	struct watch_ctx w = { .verbose = verbose };
	struct live_tls_stats st;
	struct live_tls *t = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	time_t end = time(NULL) + seconds;
	size_t i;
	int rc;

	for (i = 0; i < nlibs && i < LIVE_LIBSSL_MAX; i++)
		opt.libssl[opt.n_libssl++] = libs[i];
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = live_tls_start_cb(&opt, print_secret, &w, &t);
	if (rc < 0) {
		fprintf(stderr, "ecap-calibrate: cannot watch: %s\n", strerror(-rc));
		return 2;
	}
	live_tls_set_dedupe(t, !all);
	live_tls_begin(t);
	fprintf(stderr, "ecap-calibrate: watching (%s)\n", seconds ? "timed" : "until SIGINT");
	while (!stop && (!seconds || time(NULL) < end)) {
		rc = live_tls_poll(t, 200);
		if (rc < 0 && rc != -EINTR) {
			fprintf(stderr, "ecap-calibrate: polling: %s\n", strerror(-rc));
			break;
		}
	}
	live_tls_poll(t, 0);
	live_tls_get_stats(t, &st);
	live_tls_stop(t);
	fprintf(stderr, "ecap-calibrate: %u libraries attached, %u skipped, %llu events, "
		"%llu secrets, %llu duplicates, %llu dropped (zero), %llu lost\n",
		st.libs_attached, st.libs_failed, (unsigned long long)st.events,
		(unsigned long long)st.secrets, (unsigned long long)st.duplicates,
		(unsigned long long)st.zero_dropped, (unsigned long long)st.lost);
	return 0;
}
#endif

/* --inspect: each file opened once, without following a symbolic link at its end. */
static int inspect_files(const char **files, int n)
{
	int i, fd, rc, failed = 0;

	if (n == 0) {
		fprintf(stderr, "ecap-calibrate: --inspect: no FILE given\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		fd = open(files[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0) {
			fprintf(stderr, "ecap-calibrate: %s: %s\n", files[i], strerror(errno));
			failed = 1;
			continue;
		}
		rc = tls_probe_describe(fd, files[i], stdout);
		close(fd);
		if (rc < 0 && rc != -ENOENT)
			failed = 1;
	}
	return failed;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "store", required_argument, NULL, 's' },
		{ "watch", required_argument, NULL, 'w' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "inspect", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	bool json = false, verbose = false, do_watch = false, all = false, inspect = false;
	const char *store = NULL, *deflib[1];
	const char **libs;
	char path[PATH_MAX], err[512];
	struct tls_calibration cal;
	unsigned long seconds = 0;
	int c, i, n, failed = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "ajis:w:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			store = optarg;
			break;
		case 'w':
			errno = 0;
			seconds = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || seconds > 86400 * 365) {
				fprintf(stderr, "ecap-calibrate: --watch: '%s' is not a number of "
					"seconds\n", optarg);
				return 2;
			}
			do_watch = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'i':
			inspect = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ecap-calibrate %s\n", ECAP_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	libs = (const char **)argv + optind;
	n = argc - optind;
	if (inspect)
		return inspect_files(libs, n);
	if (do_watch) {
#ifdef ECAP_HAVE_LIVE
		return watch(libs, (size_t)n, store, (unsigned)seconds, verbose, all);
#else
		(void)verbose;
		(void)all;
		fprintf(stderr, "ecap-calibrate: --watch: built without eBPF support\n");
		return 2;
#endif
	}
	if (n == 0) {
		if (tls_lib_default(path, sizeof(path)) < 0) {
			fprintf(stderr, "ecap-calibrate: no libssl.so.3 or libssl.so.1.1 found by "
				"the dynamic linker\n");
			return 1;
		}
		deflib[0] = path;
		libs = deflib;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		err[0] = '\0';
		if (tls_calibrate(libs[i], store, &cal, err, sizeof(err)) < 0) {
			fprintf(stderr, "ecap-calibrate: %s\n", err);
			failed = 1;
			continue;
		}
		if (!json)
			printf("# %s in %.2f ms\n", cal.from_cache ? "from cache" : "calibrated",
			       (double)cal.elapsed_us / 1000.0);
		tls_calibrate_write(&cal, stdout, json);
	}
	return failed;
}
