/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * args.h - the selection options shared by ecap-export and ecap-ls: a time range, flow
 * filters (pid, comm, uid, tuple, host, port, proto) and a trailing libpcap expression,
 * parsed into a struct query. Both CLIs put ARGS_FILTER_LONGOPTS in their getopt_long table
 * and hand every option they do not know themselves to args_filter_option().
 */
#ifndef ECAP_EXPORT_ARGS_H
#define ECAP_EXPORT_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct query {
	struct flow_filter flows;  /* since_ns/until_ns hold the time range */
	bool has_since, has_until;
	char *pcap_filter;         /* the trailing expression, joined; NULL when none */
};

enum args_opt {
	ARGS_OPT_SINCE = 0x1000,
	ARGS_OPT_UNTIL,
	ARGS_OPT_PID,
	ARGS_OPT_COMM,
	ARGS_OPT_UID,
	ARGS_OPT_TUPLE,
	ARGS_OPT_HOST,
	ARGS_OPT_PORT,
	ARGS_OPT_PROTO,
	ARGS_OPT_CONTAINER,
	ARGS_OPT_EXE,
	ARGS_OPT_CGROUP,
	ARGS_OPT_NETNS,
	ARGS_OPT_POD,
};

#define ARGS_FILTER_LONGOPTS                                   \
	{ "since", required_argument, NULL, ARGS_OPT_SINCE },  \
	{ "until", required_argument, NULL, ARGS_OPT_UNTIL },  \
	{ "pid", required_argument, NULL, ARGS_OPT_PID },      \
	{ "comm", required_argument, NULL, ARGS_OPT_COMM },    \
	{ "uid", required_argument, NULL, ARGS_OPT_UID },      \
	{ "tuple", required_argument, NULL, ARGS_OPT_TUPLE },  \
	{ "host", required_argument, NULL, ARGS_OPT_HOST },    \
	{ "port", required_argument, NULL, ARGS_OPT_PORT },    \
	{ "proto", required_argument, NULL, ARGS_OPT_PROTO },  \
	{ "container", required_argument, NULL, ARGS_OPT_CONTAINER }, \
	{ "exe", required_argument, NULL, ARGS_OPT_EXE },      \
	{ "cgroup", required_argument, NULL, ARGS_OPT_CGROUP }, \
	{ "netns", required_argument, NULL, ARGS_OPT_NETNS },    \
	{ "pod", required_argument, NULL, ARGS_OPT_POD }

/* The FILTERS part of both --help texts. */
extern const char args_filter_help[];

void args_query_init(struct query *q);
void args_query_free(struct query *q);

/*
 * One option from getopt_long. 1: it was a filter option and is stored; 0: not a filter
 * option; -EINVAL: a bad value, already reported on stderr naming the option and value.
 */
int args_filter_option(struct query *q, int opt, const char *arg, uint64_t now_ns);
/* The words left after the options, joined into one libpcap expression (none: NULL). */
int args_set_pcap_filter(struct query *q, char *const *words, int n);
/* Checks across options (since <= until); -EINVAL reported on stderr. */
int args_finish(struct query *q);

/* A name as runtimes give them (containers, pods): printable, no space or '/', shorter than
 * size. */
bool args_name_ok(const char *s, size_t size);

/* The pieces, for tests. Each returns 0 or -EINVAL. */
/* "10.0.0.1:443-10.0.0.2:5000", "[::1]:443-[::1]:5000"; both ends of one family. */
int args_parse_tuple(const char *s, struct flow_key *key);
/* "10.0.0.1", "::1" or "[::1]", into 16 bytes, IPv4 as v4-mapped. *family gets 4 or 6. */
int args_parse_host(const char *s, uint8_t addr[16], int *family);
/* 0..65535 */
int args_parse_port(const char *s, uint16_t *port);
/* tcp, udp, icmp, icmp6 (also icmpv6) or a number 1..255 */
int args_parse_proto(const char *s, uint8_t *proto);
/* A pid or uid: a decimal number below 2^32. */
int args_parse_u32(const char *s, uint32_t *v);
/* A pid, or PID@START with START a time (units_parse_time) when the process started. */
int args_parse_pid(const char *arg, uint64_t now_ns, uint32_t *pid, uint64_t *start_ns);
/* A network namespace: its inode number, or the name of a namespace in /run/netns. */
int args_parse_netns(const char *arg, uint32_t *inode);

/* An address as text: dotted quad for v4-mapped, RFC 5952 IPv6 otherwise. */
void args_format_addr(const uint8_t addr[16], char *out, size_t len);
/* Protocol name ("tcp") or its number. */
const char *args_proto_name(uint8_t proto, char *tmp, size_t len);

#endif
