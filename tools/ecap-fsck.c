// SPDX-License-Identifier: GPL-2.0-only
/*
 * ecap-fsck - check an ecap store, or rebuild its index from the segment files alone.
 *
 * The check reads every chunk of every segment (metadata checksum, the CRC-32C of each data
 * block, or the LZ4 content checksum of chunks older than blocks, pcapng structure),
 * compares every index row with the chunk it points at, and checks the modes that keep TLS
 * secrets private. Each problem is one line naming the file and offset.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecap_config.h"
#include "store.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ecap-fsck [OPTIONS] [STORE]\n"
		"       ecap-fsck --rebuild [OPTIONS] [STORE]\n"
		"\n"
		"Check an ecap store: every chunk of every segment file (metadata checksum, the\n"
		"CRC-32C of each data block, pcapng structure), every index row against the chunk\n"
		"it points at, chunks that no index row names, the SQLite index itself, and the file\n"
		"modes that keep the store's TLS secrets private (directory 0700, files 0600).\n"
		"Each problem is reported on one line naming the file and the byte offset.\n"
		"\n"
		"With --rebuild, recreate the index from the segment files alone: chunks, flows,\n"
		"process attribution, TLS sessions and secrets. The old index is moved aside and\n"
		"removed once the new one is complete. The store must not have a writer running.\n"
		"\n"
		"STORE defaults to %s.\n"
		"\n"
		"Options:\n"
		"  -r, --rebuild   rebuild the index from the segments\n"
		"  -q, --quiet     print nothing when the store is clean\n"
		"  -h, --help      show this help and exit\n"
		"  -V, --version   show the version and exit\n"
		"\n"
		"Exit status:\n"
		"  0  the store is clean (or the rebuild succeeded)\n"
		"  1  problems were found (listed on standard output)\n"
		"  2  bad usage\n"
		"  3  the store could not be read or rebuilt\n"
		"\n"
		"Examples:\n"
		"  ecap-fsck /var/lib/ecap\n"
		"  ecap-fsck --rebuild /var/lib/ecap && ecap-fsck /var/lib/ecap\n",
		ECAP_DEFAULT_STORE);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rebuild", no_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool rebuild = false, quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "rqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rebuild = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ecap-fsck %s\n", ECAP_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "ecap-fsck: one store at a time (got %d arguments)\n", argc - optind);
		return 2;
	}
	const char *dir = optind < argc ? argv[optind] : ECAP_DEFAULT_STORE;

	if (rebuild) {
		int err = store_rebuild(dir, NULL, !quiet);
		if (err) {
			fprintf(stderr, "ecap-fsck: %s: rebuild failed: %s\n", dir, strerror(-err));
			return 3;
		}
		if (!quiet)
			printf("%s: index rebuilt from the segment files\n", dir);
		return 0;
	}
	int problems = store_fsck(dir, stdout);
	if (problems < 0) {
		fprintf(stderr, "ecap-fsck: %s: %s\n", dir, strerror(-problems));
		/* a store refused for its path or modes is a permission matter, as for the others */
		return problems == -EPERM || problems == -EACCES ? 2 : 3;
	}
	if (problems) {
		printf("%s: %d problem%s found\n", dir, problems, problems == 1 ? "" : "s");
		return 1;
	}
	if (!quiet)
		printf("%s: clean\n", dir);
	return 0;
}
