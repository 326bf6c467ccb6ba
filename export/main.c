// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - ecap-export: the command line. Parses options into a query (args.c) and runs
 * one export (export.c). Exit status: 0 packets written, 1 nothing matched or something
 * could not be read (the file is still valid), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "ecap_config.h"
#include "export.h"
#include "fetch.h"
#include "fexport.h"
#include "flowids.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ecap-export [--store DIR] [SELECTION...] [-o FILE|-] [--keylog FILE]\n"
		"                   [--no-secrets] [--follow] [PCAP-FILTER...]\n"
		"\n"
		"Write the recorded packets that match a selection as one PCAP-NG file that\n"
		"Wireshark opens, decrypts and annotates without configuration: the TLS secrets\n"
		"of exactly the exported sessions travel in the file (Decryption Secrets Blocks,\n"
		"before the first packet), and every packet of a connection whose process is\n"
		"known carries a comment naming it.\n"
		"\n"
		"Output:\n"
		"  -o, --output FILE  write to FILE (mode 0600: it holds secrets); '-' or no -o:\n"
		"                     standard output\n"
		"  --keylog FILE      also write the secrets as an NSS key log file\n"
		"  --no-secrets       leave the secrets out\n"
		"  -f, --follow       after the recorded packets, keep appending newly recorded\n"
		"                     matching ones (each new session's secrets first) until\n"
		"                     interrupted (SIGINT/SIGTERM) or --until has passed\n"
		"  --store DIR        the store (default: %s)\n"
		"  --flow-ids LIST    only these flows of the store, by local id: 7,12,40-45\n"
		"\n"
		"A fleet (hosts shipping to PostgreSQL with ecap-ship):\n"
		"  --fleet DSN        find the hosts and flows of the selection in the fleet's\n"
		"                     PostgreSQL (several times: shards, asked in parallel),\n"
		"                     fetch exactly those flows from each host with\n"
		"                     'CMD HOST ecap-export --store DIR --flow-ids ... -o -' and\n"
		"                     merge them: interfaces IFACE@HOST, 'Host: NAME' first in\n"
		"                     every comment, all DSBs first, the SHB naming the hosts\n"
		"                     that answered and those that did not (exit 1; the rest is\n"
		"                     written). A connection seen on two hosts appears twice.\n"
		"  --fleet-file FILE  the DSNs from a root-only file\n"
		"  --fleet-ssh CMD    the command to reach a host (default '%s'),\n"
		"                     split at spaces\n"
		"  --tls-ca FILE      connect to PostgreSQL with sslmode=verify-full\n"
		"  -q, --quiet        no progress line\n"
		"  -h, --help         this text;  -V, --version  the version\n"
		"\n"
		"%s"
		"With no time option the whole recorded span is searched. Packets that belong to\n"
		"no connection (ARP and the like) are exported only when no connection filter\n"
		"(--pid, --comm, --uid, --tuple, --host, --port, --proto) is given.\n"
		"\n"
		"The file: one section. The SHB names ecap-export and its version, the OS and\n"
		"the machine, and its comment records the query, the store, the time of export\n"
		"and the window. One IDB per recorded interface that occurs (if_name,\n"
		"if_tsresol 9, if_filter when the recording had a capture filter). EPBs in\n"
		"timestamp order with epb_flags direction when it was recorded. An ISB per\n"
		"interface at the end: window start and end, packets exported (isb_ifrecv),\n"
		"drops recorded in the window (isb_ifdrop). tcpdump and other libpcap readers\n"
		"open the file when the exported interfaces share link type and snaplen;\n"
		"Wireshark opens it always.\n"
		"\n"
		"Packet comments (frame.comment in tshark), one 'Key: value' per line:\n"
		"    PID: 1234\n"
		"    TID: 1234\n"
		"    UID: 1000\n"
		"    Cmd: curl\n"
		"  naming the local process whose socket sent (outbound) or received (inbound)\n"
		"  the packet; with no recorded direction, the sender when known, else the\n"
		"  receiver. When the other end is a local process too (loopback), a second block\n"
		"  follows with every key prefixed 'Peer ' (Peer PID: 5678 ... Peer Cmd: nginx).\n"
		"  TID is left out when unknown. Packets of unattributed connections have none.\n"
		"\n"
		"Exit status: 0 packets were written; 1 nothing matched (a valid empty capture is\n"
		"still written and stderr says why) or part of the store could not be read (the\n"
		"rest is exported); 2 a bad argument or no such store.\n"
		"\n"
		"Examples:\n"
		"  ecap-export --pid 1234 --since 10m -o out.pcapng\n"
		"  ecap-export --comm curl --since 2026-11-26T06:00:00Z --until 2026-11-26T07:00Z \\\n"
		"      -o curl.pcapng\n"
		"  ecap-export --tuple 10.0.0.5:51234-93.184.216.34:443 -o conn.pcapng\n"
		"  ecap-export --tuple '[::1]:443-[::1]:50312' -o v6.pcapng\n"
		"  ecap-export --host 192.0.2.7 --port 53 --proto udp --since 1h -o dns.pcapng\n"
		"  ecap-export --since 5m -o - 'tcp port 443 and not host 10.0.0.1' | tshark -r -\n"
		"  ecap-export --uid www-data --follow -o - | wireshark -k -i -\n"
		"  ecap-export --since 1h --keylog keys.log -o all.pcapng\n",
		ECAP_DEFAULT_STORE, FETCH_CMD_DEFAULT, args_filter_help);
}

/* The command as typed, words with spaces or quotes single-quoted, for the SHB comment. */
static char *join_cmdline(int argc, char **argv)
{
	size_t len = 1;
	char *out, *p;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) * 4 + 3;
	out = malloc(len);
	if (!out)
		return NULL;
	p = out;
	for (int i = 0; i < argc; i++) {
		const char *a = i == 0 ? "ecap-export" : argv[i];
		bool quote = !*a || strpbrk(a, " \t\n'\"\\$*?()[]{}<>|&;") != NULL;
		if (i)
			*p++ = ' ';
		if (quote)
			*p++ = '\'';
		for (; *a; a++) {
			if (*a == '\'' && quote) {
				memcpy(p, "'\\''", 4);
				p += 4;
			} else {
				*p++ = *a;
			}
		}
		if (quote)
			*p++ = '\'';
	}
	*p = '\0';
	return out;
}

static void on_signal(int sig)
{
	(void)sig;
	export_stop = 1;
}

int main(int argc, char **argv)
{
	/* Each chunk read needs megabyte buffers: keep freed ones for the next chunk instead of
	 * mapping and faulting in fresh pages every time (glibc maps blocks over 128 KiB). */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
	enum { OPT_STORE = 0x2000, OPT_KEYLOG, OPT_NO_SECRETS, OPT_FLOW_IDS, OPT_FLEET,
	       OPT_FLEET_FILE, OPT_FLEET_SSH, OPT_TLS_CA };
	static const struct option longopts[] = {
		ARGS_FILTER_LONGOPTS,
		{ "store", required_argument, NULL, OPT_STORE },
		{ "output", required_argument, NULL, 'o' },
		{ "keylog", required_argument, NULL, OPT_KEYLOG },
		{ "no-secrets", no_argument, NULL, OPT_NO_SECRETS },
		{ "follow", no_argument, NULL, 'f' },
		{ "flow-ids", required_argument, NULL, OPT_FLOW_IDS },
		{ "fleet", required_argument, NULL, OPT_FLEET },
		{ "fleet-file", required_argument, NULL, OPT_FLEET_FILE },
		{ "fleet-ssh", required_argument, NULL, OPT_FLEET_SSH },
		{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct export_options o = { .store_dir = ECAP_DEFAULT_STORE };
	struct fleet_export_options fo = { 0 };
	struct fleet_dsns fleet = { 0 };
	struct idset flow_ids = { 0 };
	bool has_flow_ids = false;
	struct query q;
	struct timespec now;
	bool quiet = false;
	int c, r;

	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	args_query_init(&q);
	while ((c = getopt_long(argc, argv, "o:fqhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STORE:
			o.store_dir = optarg;
			break;
		case 'o':
			o.out_path = optarg;
			break;
		case OPT_KEYLOG:
			o.keylog_path = optarg;
			break;
		case OPT_NO_SECRETS:
			o.no_secrets = true;
			break;
		case 'f':
			o.follow = true;
			break;
		case OPT_FLOW_IDS:
			if (flowids_parse(optarg, &flow_ids) < 0) {
				fprintf(stderr, "ecap-export: --flow-ids: expected ids and "
					"ranges like 7,12,40-45 (at most %u ids)\n", FLOWIDS_MAX);
				return 2;
			}
			has_flow_ids = true;
			break;
		case OPT_FLEET:
		case OPT_FLEET_FILE:
			if (fleet_dsns_option(&fleet, c == OPT_FLEET_FILE, optarg,
					      "ecap-export") < 0)
				return 2;
			break;
		case OPT_FLEET_SSH:
			fo.ssh_cmd = optarg;
			break;
		case OPT_TLS_CA:
			fo.tls_ca = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ecap-export %s\n", ECAP_VERSION);
			return 0;
		default:
			r = args_filter_option(&q, c, optarg, now_ns);
			if (r < 0)
				return 2;
			if (r == 0) {
				fprintf(stderr, "Try 'ecap-export --help'.\n");
				return 2;
			}
		}
	}
	if (args_set_pcap_filter(&q, argv + optind, argc - optind) < 0 || args_finish(&q) < 0)
		return 2;
	if (o.keylog_path && o.no_secrets) {
		fprintf(stderr, "ecap-export: --keylog and --no-secrets exclude each other\n");
		return 2;
	}
	if (!o.out_path && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "ecap-export: refusing to write a capture to a terminal; use "
			"-o FILE or a pipe\n");
		return 2;
	}
	o.q = &q;
	o.cmdline = join_cmdline(argc, argv);
	o.flow_ids = has_flow_ids ? &flow_ids : NULL;
	if (fleet.n) {
		if (o.follow || o.keylog_path || has_flow_ids || q.pcap_filter) {
			fprintf(stderr, "ecap-export: --fleet takes no --follow, --keylog, "
				"--flow-ids or packet filter\n");
			return 2;
		}
		signal(SIGPIPE, SIG_IGN);
		fo.dsns = &fleet;
		fo.q = &q;
		fo.out_path = o.out_path;
		fo.no_secrets = o.no_secrets;
		fo.cmdline = o.cmdline;
		r = fleet_export_run(&fo);
		fleet_dsns_free(&fleet);
		free((char *)o.cmdline);
		args_query_free(&q);
		return r;
	}
	o.progress = !quiet && !o.follow && isatty(STDERR_FILENO);

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed pipe is -EPIPE from write(2): the reader went away */

	r = export_run(&o);
	idset_free(&flow_ids);
	free((char *)o.cmdline);
	args_query_free(&q);
	return r;
}
