// SPDX-License-Identifier: GPL-2.0-only
/*
 * ecap-verify - check that a store, or an export, is what ecap wrote: the store's seal
 * chain end to end (verify_store.c), or an export against its signed proof
 * (verify_export.c). Needs read access only; never writes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecap_config.h"
#include "hex.h"
#include "verify.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ecap-verify [OPTIONS] [STORE]\n"
		"       ecap-verify --export FILE [--store STORE | --key PUB] [OPTIONS]\n"
		"\n"
		"Check a store's seal chain end to end: the key (STORE/store.pub, or the trusted\n"
		"copy given with --key), every seal in STORE/chain.ecap against the seal before it\n"
		"and the key, every segment file against its seal, and the segment still being\n"
		"written chunk by chunk against its chunks' own digests. Segments deleted by\n"
		"retention (the oldest ones) leave their seals behind and are not a break.\n"
		"\n"
		"With --export, check an export made by ecap-export against its signed proof\n"
		"(FILE.ecap-proof): the file's digest, its packets and DSBs, and the signature,\n"
		"with the store's key (--store) or a trusted public key (--key). With --store the\n"
		"proof's source chunks that are still in the store are read again and every\n"
		"packet of the file is looked up in them; the seals named must be in the chain.\n"
		"\n"
		"Every finding is one line naming the file and the byte offset; the last line\n"
		"says whether everything verified and names the first break.\n"
		"\n"
		"STORE defaults to %s.\n"
		"\n"
		"Options:\n"
		"  -s, --store DIR     the store (for --export: the key, chain and chunks)\n"
		"  -k, --key FILE      a trusted copy of the store's public key (PEM)\n"
		"  -e, --export FILE   check an export instead of the store\n"
		"  -p, --proof FILE    the export's proof (default: FILE.ecap-proof)\n"
		"  -P, --published I:SHA256\n"
		"                      the chain must hold seal I with this digest (one published\n"
		"                      off the host: a chain rewritten and signed again fails)\n"
		"  -v, --verbose       also list what verified (each seal, segment and chunk)\n"
		"  -h, --help          show this help and exit\n"
		"  -V, --version       show the version and exit\n"
		"\n"
		"Exit status:\n"
		"  0  verified\n"
		"  1  a break: bytes altered, added, removed or reordered, a seal or segment\n"
		"     missing, or another key\n"
		"  2  bad usage, or a store refused for its path (another user could change it)\n"
		"  3  nothing could be checked (no store, chain, proof or key to read)\n"
		"  4  verified, except a torn tail that a crash left (not tampering)\n"
		"\n"
		"Examples:\n"
		"  ecap-verify /var/lib/ecap\n"
		"  ecap-verify --key /safe/store.pub /var/lib/ecap\n"
		"  ecap-verify --export out.pcapng --key /safe/store.pub\n",
		ECAP_DEFAULT_STORE);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "export", required_argument, NULL, 'e' },
		{ "proof", required_argument, NULL, 'p' },
		{ "published", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct verify_opts o = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "s:k:e:p:P:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.store = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'e':
			o.export_path = optarg;
			break;
		case 'p':
			o.proof_path = optarg;
			break;
		case 'P': {
			const char *colon = strchr(optarg, ':');
			char *end;
			o.published_index = strtoull(optarg, &end, 10);
			if (!colon || end != colon || strlen(colon + 1) != 64 ||
			    hex_decode(colon + 1, 64, o.published)) {
				fprintf(stderr, "ecap-verify: --published: '%s' is not INDEX:SHA256 "
					"(64 hex digits)\n", optarg);
				return VERIFY_USAGE;
			}
			o.has_published = true;
			break;
		}
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ecap-verify %s\n", ECAP_VERSION);
			return 0;
		default:
			usage(stderr);
			return VERIFY_USAGE;
		}
	}
	if (optind < argc && !o.store)
		o.store = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "ecap-verify: unexpected argument '%s'\n", argv[optind]);
		return VERIFY_USAGE;
	}
	if (o.proof_path && !o.export_path) {
		fprintf(stderr, "ecap-verify: --proof goes with --export\n");
		return VERIFY_USAGE;
	}
	if (o.export_path) {
		if (!o.store && !o.key) {
			fprintf(stderr, "ecap-verify: --export needs --store STORE or --key PUB to "
				"know whose signature to trust\n");
			return VERIFY_USAGE;
		}
		return verify_export(&o);
	}
	if (!o.store)
		o.store = ECAP_DEFAULT_STORE;
	return verify_store(&o);
}
