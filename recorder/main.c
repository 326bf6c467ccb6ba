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
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecap_config.h"
#include "../schema/store.h"
#include "../schema/units.h"
#include "keylog.h"
#include "pipeline.h"
#include "privs.h"
#include "replay.h"
#include "tls_calib_launcher.h"
#ifdef ECAP_HAVE_LIVE
#include "live.h"
#endif

enum {
	EXIT_INPUT = 1,
	EXIT_USAGE = 2,
	EXIT_STORE = 3,
};

#define MAX_IFACES 32
#define MAX_LIBSSL 16
#define MAX_KEYLOGS 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char usage_text[] =
"Usage: ecap-rec -i IFACE [-i IFACE]... [--store DIR] [--snaplen N] [-B SIZE] [--max-size SIZE]\n"
"                [--max-age DUR] [--libssl PATH]... [--no-tls] [--keylog FILE]... [-q]\n"
"                [PCAP-FILTER...]\n"
"       ecap-rec --replay FILE [--store DIR] [--keylog FILE]... [--max-size SIZE]\n"
"                [--max-age DUR] [-q]\n"
"       ecap-rec -h | -V\n";

static const char help_text[] =
"\n"
"Record network traffic, the process that owned each connection, and the TLS secrets of\n"
"every session into an ecap store, for later retrieval with ecap-export.\n"
"\n"
"DESCRIPTION\n"
"  With -i, ecap-rec captures live on the named interfaces with TC eBPF programs, learns\n"
"  socket owners from the kernel and TLS secrets from OpenSSL (uprobes), and records until\n"
"  it receives SIGINT or SIGTERM. It needs root (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON).\n"
"\n"
"  With --replay, it reads a pcap or pcapng file (or standard input, FILE \"-\") through\n"
"  the same pipeline: link types Ethernet (with VLAN tags), Linux cooked (SLL, SLL2), raw\n"
"  IP and BSD loopback. pcapng inputs keep their interface names, several interfaces,\n"
"  epb_flags directions, timestamps at their own resolution, Decryption Secrets Blocks\n"
"  (as TLS secrets) and per-packet comments naming a process (ptcpdump's\n"
"  \"PID: 1234\\nCmd: /usr/bin/curl\", or \"pid=1234 comm=curl\") as process attribution.\n"
"  Damaged input is reported with its byte offset; everything valid before and after it\n"
"  is kept. SIGINT or SIGTERM stops the replay early, keeping what was read.\n"
"\n"
"  Packets go into the store in LZ4-compressed chunks of pcapng; flows, TLS sessions\n"
"  (linked through the ClientHello's client_random) and secrets go into its index.\n"
"\n"
"OPTIONS\n"
"  -i, --interface IFACE   capture live on IFACE (repeatable; at most 32)\n"
"  -r, --replay FILE       read packets from the pcap/pcapng FILE (\"-\": standard input)\n"
"                          instead of capturing live\n"
"  -w, --store DIR         the store directory (created 0700 when missing);\n"
"                          default " ECAP_DEFAULT_STORE "\n"
"  -k, --keylog FILE       load TLS secrets from an NSS key log file (SSLKEYLOGFILE\n"
"                          format) before recording (repeatable); malformed lines are\n"
"                          reported with their line number and skipped\n"
"  -s, --snaplen N         live: keep at most N bytes of each packet (default: all)\n"
"      --max-size SIZE     retention: delete the oldest sealed segments while the store\n"
"                          is larger than SIZE (e.g. 512M, 20G)\n"
"      --max-age DUR       retention: delete sealed segments whose newest packet is older\n"
"                          than DUR (e.g. 12h, 7d)\n"
"  -B, --buffer-size SIZE  live: the kernel-to-recorder packet ring, a power of two\n"
"                          (default 16M); a larger one absorbs longer bursts\n"
"      --chunk-size SIZE   raw pcapng bytes that close a chunk (default 1M); smaller\n"
"                          chunks make packets queryable sooner and cost more index\n"
"      --segment-size SIZE stored bytes that seal a segment file (default 64M; at most\n"
"                          an eighth of --max-size)\n"
"      --libssl PATH       live: also probe the OpenSSL library at PATH (repeatable)\n"
"      --no-tls            live: do not probe OpenSSL for TLS secrets\n"
"  -q, --quiet             no progress line and no summary\n"
"  -h, --help              show this help and exit\n"
"  -V, --version           show the version and exit\n"
"\n"
"  PCAP-FILTER (live only) is a pcap-filter(7) expression limiting what is stored.\n"
"\n"
"EXAMPLES\n"
"  ecap-rec -i eth0 --store /var/lib/ecap --max-size 20G --max-age 7d\n"
"  ecap-rec -i eth0 -i lo --store /var/lib/ecap 'not port 22'\n"
"  ecap-rec --replay capture.pcapng --store ./ecap-store --keylog keys.txt\n"
"  tcpdump -i lo -w - | ecap-rec --replay - --store ./ecap-store\n"
"\n"
"ENVIRONMENT\n"
"  ECAP_FILTER_USERSPACE=1  apply PCAP-FILTER in user space (every packet is copied out of\n"
"                           the kernel, then tested) instead of in the TC program\n"
"  ECAP_BUFFERED_WRITES=1   live: write segments through the page cache; by default a\n"
"                           chunk's whole pages are written with O_DIRECT where the file\n"
"                           system supports it\n"
"\n"
"EXIT STATUS\n"
"  0  success\n"
"  1  the input had errors (damaged capture, malformed key log lines); all valid data\n"
"     was recorded\n"
"  2  usage error, unreadable input, or missing permission\n"
"  3  the store could not be opened or written\n"
"\n"
"FILES\n"
"  DIR/index.db            the SQLite index (flows, TLS sessions, secrets, chunks)\n"
"  DIR/seg-NNNNNNNN.ecap   segment files: LZ4 frames, each a pcapng section\n"
"  The store holds TLS secrets: its directory is mode 0700 and its files 0600.\n"
"\n"
"SEE ALSO\n"
"  ecap-export(1), ecap-ls(1), ecap-fsck(1), tcpdump(8), pcap-filter(7)\n";

struct args {
	const char *ifaces[MAX_IFACES];
	size_t n_ifaces;
	const char *libssl[MAX_LIBSSL];
	size_t n_libssl;
	const char *keylogs[MAX_KEYLOGS];
	size_t n_keylogs;
	const char *replay;
	const char *store;
	uint32_t snaplen;
	uint64_t max_size, max_age_ns;
	uint64_t chunk_size, segment_size, buffer_size;
	bool no_tls, quiet;
	char *filter;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ecap-rec: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fputs("Try 'ecap-rec --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* Joins the remaining words into one filter expression. */
static char *join_words(char **w, int n)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(w[i]) + 1;
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = 0;
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, w[i]);
	}
	return s;
}

/* 0 parsed; an exit status to leave with otherwise (-1 for "exit 0 now"). */
static int parse_args(int argc, char **argv, struct args *a)
{
	enum { OPT_MAX_SIZE = 256, OPT_MAX_AGE, OPT_LIBSSL, OPT_NO_TLS, OPT_CHUNK_SIZE, OPT_SEGMENT_SIZE };
	/* -B as in tcpdump */
	static const struct option longopts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "replay", required_argument, NULL, 'r' },
		{ "store", required_argument, NULL, 'w' },
		{ "keylog", required_argument, NULL, 'k' },
		{ "snaplen", required_argument, NULL, 's' },
		{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
		{ "max-age", required_argument, NULL, OPT_MAX_AGE },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK_SIZE },
		{ "buffer-size", required_argument, NULL, 'B' },
		{ "segment-size", required_argument, NULL, OPT_SEGMENT_SIZE },
		{ "libssl", required_argument, NULL, OPT_LIBSSL },
		{ "no-tls", no_argument, NULL, OPT_NO_TLS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	memset(a, 0, sizeof(*a));
	a->store = ECAP_DEFAULT_STORE;
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "+i:r:w:k:s:B:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (a->n_ifaces == MAX_IFACES)
				return usage_error("at most %d interfaces", MAX_IFACES);
			a->ifaces[a->n_ifaces++] = optarg;
			break;
		case 'r':
			if (a->replay)
				return usage_error("only one --replay FILE");
			a->replay = optarg;
			break;
		case 'w':
			a->store = optarg;
			break;
		case 'k':
			if (a->n_keylogs == MAX_KEYLOGS)
				return usage_error("at most %d key log files", MAX_KEYLOGS);
			a->keylogs[a->n_keylogs++] = optarg;
			break;
		case 's': {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v > UINT32_MAX || optarg[0] == '-')
				return usage_error("--snaplen: '%s' is not a byte count", optarg);
			a->snaplen = (uint32_t)v;
			break;
		}
		case OPT_MAX_SIZE:
			if (units_parse_size(optarg, &a->max_size) || !a->max_size)
				return usage_error("--max-size: '%s' is not a size (e.g. 512M, 20G)",
						   optarg);
			break;
		case OPT_MAX_AGE:
			if (units_parse_duration(optarg, &a->max_age_ns) || !a->max_age_ns)
				return usage_error("--max-age: '%s' is not a duration (e.g. 12h, 7d)",
						   optarg);
			break;
		case 'B':
			if (units_parse_size(optarg, &a->buffer_size) || a->buffer_size < 65536 ||
			    a->buffer_size > (1u << 30) || (a->buffer_size & (a->buffer_size - 1)))
				return usage_error("--buffer-size: '%s' is not a power of two from 64K "
						   "to 1G", optarg);
			break;
		case OPT_CHUNK_SIZE:
			if (units_parse_size(optarg, &a->chunk_size) || a->chunk_size < 4096 ||
			    a->chunk_size > (64u << 20))
				return usage_error("--chunk-size: '%s' is not a size from 4K to 64M",
						   optarg);
			break;
		case OPT_SEGMENT_SIZE:
			if (units_parse_size(optarg, &a->segment_size) || a->segment_size < 65536)
				return usage_error("--segment-size: '%s' is not a size of 64K or more",
						   optarg);
			break;
		case OPT_LIBSSL:
			if (a->n_libssl == MAX_LIBSSL)
				return usage_error("at most %d --libssl paths", MAX_LIBSSL);
			a->libssl[a->n_libssl++] = optarg;
			break;
		case OPT_NO_TLS:
			a->no_tls = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return -1;
		case 'V':
			printf("ecap-rec %s\n", ECAP_VERSION);
			return -1;
		default:
			fputs(usage_text, stderr);
			fputs("Try 'ecap-rec --help' for more information.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (a->replay && a->n_ifaces)
		return usage_error("--replay and -i exclude each other");
	if (!a->replay && !a->n_ifaces)
		return usage_error("nothing to record: give -i IFACE or --replay FILE");
	if (a->replay) {
		if (optind < argc)
			return usage_error("unexpected argument '%s' (a filter works on live "
					   "capture only)", argv[optind]);
		if (a->snaplen || a->n_libssl || a->no_tls)
			return usage_error("--snaplen, --libssl and --no-tls are for live capture");
		if (strcmp(a->replay, "-") && access(a->replay, R_OK))
			return usage_error("%s: %s", a->replay, strerror(errno));
	}
	for (size_t i = 0; i < a->n_keylogs; i++)
		if (strcmp(a->keylogs[i], "-") && access(a->keylogs[i], R_OK))
			return usage_error("--keylog %s: %s", a->keylogs[i], strerror(errno));
	if (optind < argc) {
		a->filter = join_words(argv + optind, argc - optind);
		if (!a->filter)
			return EXIT_STORE;
	}
	return 0;
}

static int run_live(const struct args *a, struct pipeline *p, struct store *s)
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

static int run(const struct args *a)
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
	so.buffered_writes = a->replay != NULL;
	struct store *s = NULL;
	int err = store_open(a->store, STORE_WRITE, &so, &s);
	if (err) {
		fprintf(stderr, "ecap-rec: %s\n",
			s && store_errmsg(s)[0] ? store_errmsg(s) : strerror(-err));
		store_close(s);
		return err == -EACCES || err == -EPERM ? EXIT_USAGE : EXIT_STORE;
	}
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
	struct args a;
	int status = parse_args(argc, argv, &a);
	if (status)
		return status < 0 ? 0 : status;
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
	free(a.filter);
	return status;
}
