// SPDX-License-Identifier: GPL-2.0-only
/*
 * rec_args.c - ecap-rec's options (rec_args.h): --help and its text (also the source of the
 * ecap-rec(8) man page), getopt over the configuration file's settings turned into long
 * options and then over the command line, and --print-config.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecap_config.h"
#include "../schema/store.h"
#include "../schema/units.h"
#include "config.h"
#include "rec_args.h"

static const char usage_text[] =
"Usage: ecap-rec -i IFACE [-i IFACE]... [--store DIR] [--snaplen N] [-B SIZE] [--max-size SIZE]\n"
"                [--max-age DUR] [--libssl PATH]... [--no-tls] [--keylog FILE]...\n"
"                [--keep-all-secrets] [-q] [--container-api SOCKET|none]...\n"
"                [PCAP-FILTER...]\n"
"       ecap-rec --replay FILE [--store DIR] [--keylog FILE]... [--max-size SIZE]\n"
"                [--max-age DUR] [--keep-all-secrets] [-q]\n"
"       ecap-rec --config FILE [OPTION]... [PCAP-FILTER...]\n"
"       ecap-rec [--config FILE] [OPTION]... --print-config\n"
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
"  Only the TLS secrets of sessions it records are kept: a secret (from the probes, a key\n"
"  log or a Decryption Secrets Block) is stored once a recorded ClientHello carried its\n"
"  client_random. Until then it waits in memory, live for 30 s at most (32768 items at\n"
"  most: a secret, or a TLS 1.3 session from the OpenSSL probes, whose handshake traffic\n"
"  secrets are derived only once it is recorded), in a replay until the end of the input\n"
"  (1048576 at most); then it is dropped, wiped, and the status line and the summary\n"
"  count it (\"N TLS secrets of sessions not recorded were not kept\"). An export only ever writes the secrets of the sessions it exports, so\n"
"  a secret of a session not recorded would be exposure and nothing else.\n"
"  --keep-all-secrets keeps them all.\n"
"\n"
"OPTIONS\n"
"  -i, --interface IFACE   capture live on IFACE (repeatable; at most 32); \"any\" (alone):\n"
"                          every interface of every network namespace, those that appear\n"
"                          later included, each packet once (README: -i any)\n"
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
"                          (default 16M); a larger one absorbs longer bursts; with -i any\n"
"                          each CPU has one (beyond 8 CPUs they share 8 times SIZE)\n"
"      --chunk-size SIZE   raw pcapng bytes that close a chunk (default 1M); smaller\n"
"                          chunks make packets queryable sooner and cost more index\n"
"      --segment-size SIZE\n"
"                          stored bytes that seal a segment file (default 64M; at most\n"
"                          an eighth of --max-size)\n"
"      --libssl PATH       live: also probe the OpenSSL library at PATH (repeatable)\n"
"      --no-tls            live: do not probe OpenSSL for TLS secrets\n"
"      --keep-all-secrets  store every TLS secret, also of sessions not recorded (by\n"
"                          default only the secrets of recorded sessions are kept)\n"
"      --container-api SOCKET\n"
"                          live: ask the Docker API at this unix socket (Docker's, or\n"
"                          podman system service's) for the name, image and labels of\n"
"                          the containers whose processes own connections (repeatable,\n"
"                          asked in order; default /run/podman/podman.sock and\n"
"                          /run/docker.sock); containerd's containers are described by\n"
"                          their bundles under /run/containerd. \"none\": ask no runtime\n"
"  -q, --quiet             no progress line and no summary\n"
"  -c, --config FILE       read settings from FILE first (see CONFIGURATION); options\n"
"                          on the command line override them\n"
"      --print-config      print the effective settings, in the configuration file's\n"
"                          syntax, and exit\n"
"  -h, --help              show this help and exit\n"
"  -V, --version           show the version and exit\n"
"\n"
"  PCAP-FILTER (live only) is a pcap-filter(7) expression limiting what is stored.\n"
"\n"
"CONFIGURATION\n"
"  The file given with --config holds one setting a line, \"key = value\", where key is a\n"
"  long option name above (interface, store, max-size, no-tls...) and value its argument;\n"
"  \"filter = EXPRESSION\" is the PCAP-FILTER. Lines starting with '#' and blank lines are\n"
"  ignored; a value runs to the end of its line. Options without an argument take yes or\n"
"  no. Repeatable options (interface, keylog, libssl, container-api) repeat the key. An\n"
"  option given on the command line replaces the file's setting (all of a repeatable\n"
"  option's values, and the filter when the command line has one). A bad line is an error\n"
"  naming the file and the line (exit 2). The service (ecap-rec.service) runs ecap-rec\n"
"  --config /etc/ecap/ecap-rec.conf.\n"
"\n"
"SIGNALS\n"
"  SIGINT, SIGTERM  stop recording, write what is held, exit\n"
"  SIGHUP           ignored (and said on stderr): settings are read once, at start; restart\n"
"                   ecap-rec to apply a changed configuration\n"
"\n"
"EXAMPLES\n"
"  ecap-rec -i eth0 --store /var/lib/ecap --max-size 20G --max-age 7d\n"
"  ecap-rec -i eth0 -i lo --store /var/lib/ecap 'not port 22'\n"
"  ecap-rec --replay capture.pcapng --store ./ecap-store --keylog keys.txt\n"
"  ecap-rec --config /etc/ecap/ecap-rec.conf --print-config\n"
"  tcpdump -i lo -w - | ecap-rec --replay - --store ./ecap-store\n"
"\n"
"ENVIRONMENT\n"
"  ECAP_FILTER_USERSPACE=1  apply PCAP-FILTER in user space (every packet is copied out of\n"
"                           the kernel, then tested) instead of in the TC program\n"
"  ECAP_BUFFERED_WRITES=1   live: write segments through the page cache; by default a\n"
"                           chunk is written with O_DIRECT where the file system supports\n"
"                           it, padded to a 4 KiB boundary; =0 makes a replay write so too\n"
"  NOTIFY_SOCKET            set by systemd (Type=notify): ecap-rec says READY=1 once its\n"
"                           probes are attached and the store is open, and pings the\n"
"                           watchdog every second while it records\n"
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
"  DIR/chain.ecap          a signed seal per sealed segment (ecap-verify checks it)\n"
"  DIR/store.key, .pub     the store's Ed25519 signing key (keep store.pub off the host)\n"
"  The store holds TLS secrets: its directory is mode 0700 and its files 0600.\n"
"  /etc/ecap/ecap-rec.conf\n"
"                          the configuration file of the service (ecap-rec.service)\n"
"\n"
"SEE ALSO\n"
"  ecap-export(1), ecap-ls(1), ecap-fsck(8), ecap-calibrate(8), ecap-store(5), tcpdump(8),\n"
"  pcap-filter(7)\n";



/* where the option being parsed comes from, for messages: a line of the configuration file */
static const char *err_file;
static unsigned err_line;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ecap-rec: ", stderr);
	if (err_file)
		fprintf(stderr, "%s:%u: ", err_file, err_line);
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

enum { OPT_MAX_SIZE = 256, OPT_MAX_AGE, OPT_LIBSSL, OPT_NO_TLS, OPT_CHUNK_SIZE, OPT_SEGMENT_SIZE,
       OPT_PRINT_CONFIG, OPT_CONTAINER_API, OPT_KEEP_ALL_SECRETS };
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
	{ "keep-all-secrets", no_argument, NULL, OPT_KEEP_ALL_SECRETS },
	{ "container-api", required_argument, NULL, OPT_CONTAINER_API },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "config", required_argument, NULL, 'c' },
	{ "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
	{ 0 },
};
static const char optstring[] = "+i:r:w:k:s:B:c:qhV";

/*
 * Applies the options of argv to a: the configuration file's (from_config, argv built by
 * load_config()) or the command line's. 0 parsed; an exit status to leave with otherwise
 * (-1 for "exit 0 now").
 */
static int parse_options(int argc, char **argv, struct rec_args *a, bool from_config)
{
	int c;
	char *end;

	optind = 0; /* glibc: start a new scan */
	err_file = from_config ? a->config : NULL;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (from_config)
			err_line = a->cfg_lines[optind - 1];
		switch (c) {
		case 'i':
			if (!from_config && a->cfg_ifaces)
				a->n_ifaces = 0;
			a->cfg_ifaces = from_config;
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
			if (!from_config && a->cfg_keylogs)
				a->n_keylogs = 0;
			a->cfg_keylogs = from_config;
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
			if (!from_config && a->cfg_libssl)
				a->n_libssl = 0;
			a->cfg_libssl = from_config;
			if (a->n_libssl == MAX_LIBSSL)
				return usage_error("at most %d --libssl paths", MAX_LIBSSL);
			a->libssl[a->n_libssl++] = optarg;
			break;
		case OPT_NO_TLS:
			a->no_tls = true;
			break;
		case OPT_KEEP_ALL_SECRETS:
			a->keep_all_secrets = true;
			break;
		case OPT_CONTAINER_API:
			if (!from_config && a->cfg_container_api)
				a->n_container_api = 0;
			a->cfg_container_api = from_config;
			if (a->n_container_api == MAX_CONTAINER_API)
				return usage_error("at most %d --container-api sockets",
						   MAX_CONTAINER_API);
			if (strcmp(optarg, "none") && optarg[0] != '/')
				return usage_error("--container-api: '%s' is not the absolute path "
						   "of a socket, or none", optarg);
			a->container_api[a->n_container_api++] = optarg;
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
		case 'c':
		case OPT_PRINT_CONFIG:
			break; /* taken by find_config() */
		default:
			fputs(usage_text, stderr);
			fputs("Try 'ecap-rec --help' for more information.\n", stderr);
			return EXIT_USAGE;
		}
	}
	err_file = NULL;
	return 0;
}

/* --config FILE and --print-config, looked for before anything else is parsed. */
static int find_config(int argc, char **argv, struct rec_args *a)
{
	int c;

	opterr = 0; /* parse_options() reports what is wrong */
	optind = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (c == 'c')
			a->config = optarg;
		else if (c == OPT_PRINT_CONFIG)
			a->print_config = true;
	}
	opterr = 1;
	return 0;
}

static bool word_is(const char *v, const char *a, const char *b, const char *c)
{
	return !strcmp(v, a) || !strcmp(v, b) || !strcmp(v, c);
}

/* The configuration file's settings as long options in a->cfg_argv; filter into a->filter. */
static int load_config(struct rec_args *a)
{
	struct config cfg;
	int err, status = 0;

	memset(&cfg, 0, sizeof(cfg));
	err = config_load(a->config, &cfg);
	if (err == -ENOMEM)
		return EXIT_STORE;
	if (err) {
		err_file = a->config;
		err_line = cfg.err_line;
		if (!cfg.err_line)
			err_file = NULL;
		status = cfg.err_line ? usage_error("%s", cfg.err) :
					usage_error("--config %s: %s", a->config, cfg.err);
		goto out;
	}
	a->cfg_argv = calloc(cfg.n + 2, sizeof(*a->cfg_argv));
	a->cfg_lines = calloc(cfg.n + 1, sizeof(*a->cfg_lines));
	if (!a->cfg_argv || !a->cfg_lines) {
		status = EXIT_STORE;
		goto out;
	}
	a->cfg_argv[a->cfg_argc++] = (char *)"ecap-rec";
	err_file = a->config;
	for (size_t i = 0; i < cfg.n && !status; i++) {
		const struct config_entry *e = &cfg.entries[i];
		const struct option *o = longopts;
		char *opt = NULL;

		err_line = e->line;
		if (!strcmp(e->key, "filter")) {
			free(a->filter);
			a->filter = strdup(e->value);
			if (!a->filter)
				status = EXIT_STORE;
			continue;
		}
		while (o->name && strcmp(o->name, e->key))
			o++;
		if (!o->name || !strcmp(o->name, "help") || !strcmp(o->name, "version") ||
		    !strcmp(o->name, "config") || !strcmp(o->name, "print-config")) {
			status = usage_error("unknown setting '%s'", e->key);
			break;
		}
		if (o->has_arg == no_argument) {
			if (word_is(e->value, "no", "false", "0"))
				continue;
			if (!word_is(e->value, "yes", "true", "1")) {
				status = usage_error("%s: '%s' is not yes or no", e->key, e->value);
				break;
			}
			if (asprintf(&opt, "--%s", e->key) < 0)
				opt = NULL;
		} else if (asprintf(&opt, "--%s=%s", e->key, e->value) < 0) {
			opt = NULL;
		}
		if (!opt) {
			status = EXIT_STORE;
			break;
		}
		a->cfg_lines[a->cfg_argc] = e->line;
		a->cfg_argv[a->cfg_argc++] = opt;
	}
out:
	err_file = NULL;
	config_free(&cfg);
	return status;
}

void rec_args_free(struct rec_args *a)
{
	for (int i = 1; i < a->cfg_argc; i++)
		free(a->cfg_argv[i]);
	free(a->cfg_argv);
	free(a->cfg_lines);
	free(a->filter);
}

/* A size as the configuration file takes it: in the largest unit that divides it. */
static void print_size(FILE *f, const char *key, uint64_t v)
{
	static const char *const units[] = { "", "K", "M", "G", "T" };
	size_t u = 0;

	while (u < 4 && v && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	fprintf(f, "%s = %llu%s\n", key, (unsigned long long)v, units[u]);
}

static void print_duration(FILE *f, const char *key, uint64_t ns)
{
	static const struct { uint64_t ns; const char *unit; } units[] = {
		{ 604800000000000ull, "w" }, { 86400000000000ull, "d" }, { 3600000000000ull, "h" },
		{ 60000000000ull, "m" }, { 1000000000ull, "s" }, { 1000000ull, "ms" },
	};
	size_t i = 0;

	while (i < sizeof(units) / sizeof(units[0]) - 1 && ns % units[i].ns)
		i++;
	fprintf(f, "%s = %llu%s\n", key, (unsigned long long)(ns / units[i].ns), units[i].unit);
}

static void print_list(FILE *f, const char *key, const char *const *v, size_t n)
{
	if (!n)
		fprintf(f, "# %s = (none)\n", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s = %s\n", key, v[i]);
}

/* --print-config: the effective settings, in the configuration file's syntax. */
static void print_config(const struct rec_args *a, FILE *f)
{
	struct store_options so;

	store_options_default(&so);
	fprintf(f, "# ecap-rec %s: effective settings (%s%s, then the command line)\n",
		ECAP_VERSION, a->config ? "--config " : "defaults",
		a->config ? a->config : "");
	fprintf(f, "store = %s\n", a->store);
	print_list(f, "interface", a->ifaces, a->n_ifaces);
	if (a->replay)
		fprintf(f, "replay = %s\n", a->replay);
	print_list(f, "keylog", a->keylogs, a->n_keylogs);
	print_list(f, "libssl", a->libssl, a->n_libssl);
	if (a->n_container_api)
		print_list(f, "container-api", a->container_api, a->n_container_api);
	else
		fprintf(f, "# container-api = (default: /run/podman/podman.sock, "
			"/run/docker.sock)\n");
	if (a->max_size)
		print_size(f, "max-size", a->max_size);
	else
		fprintf(f, "# max-size = (no limit)\n");
	if (a->max_age_ns)
		print_duration(f, "max-age", a->max_age_ns);
	else
		fprintf(f, "# max-age = (no limit)\n");
	if (a->snaplen)
		fprintf(f, "snaplen = %u\n", a->snaplen);
	else
		fprintf(f, "# snaplen = (whole packets)\n");
	if (a->buffer_size)
		print_size(f, "buffer-size", a->buffer_size);
	else
		fprintf(f, "# buffer-size = (default, 16M)\n");
	print_size(f, "chunk-size", a->chunk_size ? a->chunk_size : so.chunk_bytes);
	print_size(f, "segment-size", a->segment_size ? a->segment_size : so.segment_bytes);
	fprintf(f, "no-tls = %s\n", a->no_tls ? "yes" : "no");
	fprintf(f, "keep-all-secrets = %s\n", a->keep_all_secrets ? "yes" : "no");
	fprintf(f, "quiet = %s\n", a->quiet ? "yes" : "no");
	if (a->filter)
		fprintf(f, "filter = %s\n", a->filter);
	else
		fprintf(f, "# filter = (every packet)\n");
}

/* 0 parsed; an exit status to leave with otherwise (-1 for "exit 0 now"). */
int rec_args_parse(int argc, char **argv, struct rec_args *a)
{
	int status;

	memset(a, 0, sizeof(*a));
	a->store = ECAP_DEFAULT_STORE;
	find_config(argc, argv, a);
	if (a->config) {
		status = load_config(a);
		if (!status)
			status = parse_options(a->cfg_argc, a->cfg_argv, a, true);
		if (status)
			return status;
	}
	status = parse_options(argc, argv, a, false);
	if (status)
		return status;
	if (optind < argc) {
		free(a->filter);
		a->filter = join_words(argv + optind, argc - optind);
		if (!a->filter)
			return EXIT_STORE;
	}
	if (a->print_config) {
		print_config(a, stdout);
		return -1;
	}
	if (a->replay && a->n_ifaces)
		return usage_error("--replay and -i exclude each other");
	if (!a->replay && !a->n_ifaces)
		return usage_error("nothing to record: give -i IFACE or --replay FILE");
	for (size_t i = 0; i < a->n_ifaces && a->n_ifaces > 1; i++)
		if (strcmp(a->ifaces[i], "any") == 0)
			return usage_error("-i any records every interface: give it alone");
	if (a->replay) {
		if (a->filter)
			return usage_error("a filter ('%s') works on live capture only", a->filter);
		if (a->snaplen || a->n_libssl || a->no_tls || a->n_container_api)
			return usage_error("--snaplen, --libssl, --no-tls and --container-api are "
					   "for live capture");
		if (strcmp(a->replay, "-") && access(a->replay, R_OK))
			return usage_error("%s: %s", a->replay, strerror(errno));
	}
	for (size_t i = 0; i < a->n_container_api; i++)
		if (!strcmp(a->container_api[i], "none") && a->n_container_api > 1)
			return usage_error("--container-api none with sockets to ask");
	for (size_t i = 0; i < a->n_keylogs; i++)
		if (strcmp(a->keylogs[i], "-") && access(a->keylogs[i], R_OK))
			return usage_error("--keylog %s: %s", a->keylogs[i], strerror(errno));
	return 0;
}
