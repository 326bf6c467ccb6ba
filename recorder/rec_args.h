/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rec_args.h - the settings of ecap-rec: its command line and the configuration file of
 * --config (recorder/config.h), merged (the command line wins), checked, and printed back by
 * --print-config. recorder/main.c runs what they say.
 */
#ifndef ECAP_REC_ARGS_H
#define ECAP_REC_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* exit statuses of ecap-rec */
enum {
	EXIT_INPUT = 1,
	EXIT_USAGE = 2,
	EXIT_STORE = 3,
};

#define MAX_IFACES 32
#define MAX_LIBSSL 16
#define MAX_KEYLOGS 64
#define MAX_CONTAINER_API 4

struct rec_args {
	const char *ifaces[MAX_IFACES];
	size_t n_ifaces;
	const char *libssl[MAX_LIBSSL];
	size_t n_libssl;
	const char *keylogs[MAX_KEYLOGS];
	size_t n_keylogs;
	const char *container_api[MAX_CONTAINER_API]; /* "none": ask no runtime */
	size_t n_container_api;
	const char *replay;
	const char *store;
	uint32_t snaplen;
	uint64_t max_size, max_age_ns;
	uint64_t chunk_size, segment_size, buffer_size;
	bool no_tls, quiet;
	bool keep_all_secrets; /* also the secrets of sessions not recorded */
	char *filter;
	/* the configuration file, when given: its path, and its settings as long options
	 * ("--key=value", cfg_argv[0] a program name) with the line of each */
	const char *config;
	bool print_config;
	char **cfg_argv;
	unsigned *cfg_lines;
	int cfg_argc;
	/* the values of a repeatable option came from the file: the command line replaces them */
	bool cfg_ifaces, cfg_keylogs, cfg_libssl, cfg_container_api;
};

/*
 * Fills a from the configuration file (--config) and then argv: 0 to run; -1 to exit 0 now
 * (--help, --version, --print-config printed); an exit status otherwise, after saying why on
 * stderr. rec_args_free() releases a in every case.
 */
int rec_args_parse(int argc, char **argv, struct rec_args *a);
void rec_args_free(struct rec_args *a);

#endif
