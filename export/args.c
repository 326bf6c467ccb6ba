// SPDX-License-Identifier: GPL-2.0-only
/*
 * args.c - the selection options shared by ecap-export and ecap-ls (args.h).
 *
 * Filters of different kinds combine with AND, repeats of one kind with OR (the store's
 * struct flow_filter has that meaning). Addresses are kept v4-mapped, ports in host order.
 * Every bad value is reported with the option that carried it; the callers exit 2.
 */
#include "args.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "units.h"

const char args_filter_help[] =
	"Selection (kinds combine with AND, repeats of one kind with OR):\n"
	"  --since T          packets at or after T\n"
	"  --until T          packets at or before T\n"
	"                     T is a duration back from now (90s, 10m, 2h, 7d, 1h30m),\n"
	"                     RFC 3339 / ISO 8601 (2026-11-26T06:00:00Z,\n"
	"                     2026-11-26 07:00+01:00; no offset: local time; a bare\n"
	"                     date is its midnight) or @EPOCH[.FRAC]\n"
	"  --pid N[@START]    connections owned by process N (either end); a pid reused\n"
	"                     over the time selected names several processes (a warning\n"
	"                     lists them): @START picks the one that started then (its\n"
	"                     Start as comments print it)\n"
	"  --comm NAME        connections owned by a process of that name (15 characters\n"
	"                     at most, as the kernel keeps it; longer names are cut)\n"
	"  --uid N|USER       connections owned by that user\n"
	"  --tuple A:P-B:P    one connection, either direction; IPv6 in brackets:\n"
	"                     [::1]:443-[::1]:5000\n"
	"  --host ADDR        connections with ADDR at either end (IPv4 or IPv6)\n"
	"  --port N           connections with port N at either end\n"
	"  --proto P          tcp, udp, icmp (ICMP and ICMPv6) or icmp6\n"
	"  --container ID|NAME\n"
	"                     connections owned by a process of that container: its id\n"
	"                     (or the first 12 or more of its hex digits), or its name as\n"
	"                     its runtime gave it when it was recorded\n"
	"  --pod NAME         connections owned by a process of a container of that\n"
	"                     Kubernetes pod: NAME, NAMESPACE/NAME, or the pod's uid\n"
	"  --exe PATH         connections owned by a process running that executable\n"
	"  --cgroup PATH      connections owned by a process in that cgroup v2 path or below\n"
	"  --netns INODE|NAME connections of sockets in that network namespace (its inode,\n"
	"                     or a name under /run/netns)\n"
	"  PCAP-FILTER        a libpcap expression applied to the selected packets\n"
	"                     (as in tcpdump; several words are joined with spaces)\n";

static const char *prog(void)
{
	return program_invocation_short_name;
}

void args_query_init(struct query *q)
{
	memset(q, 0, sizeof(*q));
	flow_filter_init(&q->flows);
}

void args_query_free(struct query *q)
{
	free(q->pcap_filter);
	q->pcap_filter = NULL;
}

int args_parse_u32(const char *s, uint32_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > UINT32_MAX)
			return -EINVAL;
	}
	*v = (uint32_t)x;
	return 0;
}

int args_parse_port(const char *s, uint16_t *port)
{
	uint32_t v;

	if (args_parse_u32(s, &v) < 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int args_parse_proto(const char *s, uint8_t *proto)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} names[] = {
		{ "tcp", FLOW_PROTO_TCP },     { "udp", FLOW_PROTO_UDP },
		{ "icmp", FLOW_PROTO_ICMP },   { "icmp6", FLOW_PROTO_ICMPV6 },
		{ "icmpv6", FLOW_PROTO_ICMPV6 },
	};
	uint32_t v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*proto = names[i].proto;
			return 0;
		}
	}
	if (args_parse_u32(s, &v) < 0 || v < 1 || v > 255)
		return -EINVAL;
	*proto = (uint8_t)v;
	return 0;
}

/* n bytes of s as an IPv4 or IPv6 address (no brackets). */
static int parse_addr(const char *s, size_t n, uint8_t addr[16], int *family)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	struct in_addr a4;

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, &a4) == 1) {
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &a4, 4);
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, addr) == 1) {
		*family = 6;
		return 0;
	}
	return -EINVAL;
}

int args_parse_host(const char *s, uint8_t addr[16], int *family)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		return parse_addr(s + 1, n - 2, addr, family);
	return parse_addr(s, n, addr, family);
}

/* "ADDR:PORT" or "[ADDR6]:PORT" at *s, up to (not including) a '-' or the end. */
static int parse_endpoint(const char **s, uint8_t addr[16], uint16_t *port, int *family)
{
	const char *p = *s, *colon;
	char portbuf[8];
	size_t n;

	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		if (parse_addr(p + 1, (size_t)(close - p - 1), addr, family) < 0 || *family != 6)
			return -EINVAL;
		colon = close + 1;
	} else {
		colon = strchr(p, ':');
		if (!colon || parse_addr(p, (size_t)(colon - p), addr, family) < 0 || *family != 4)
			return -EINVAL;
	}
	p = colon + 1;
	n = strcspn(p, "-");
	if (n == 0 || n >= sizeof(portbuf))
		return -EINVAL;
	memcpy(portbuf, p, n);
	portbuf[n] = '\0';
	if (args_parse_port(portbuf, port) < 0)
		return -EINVAL;
	*s = p + n;
	return 0;
}

int args_parse_tuple(const char *s, struct flow_key *key)
{
	struct flow_key k;
	int fa, fb;

	memset(&k, 0, sizeof(k));
	if (parse_endpoint(&s, k.addr_a, &k.port_a, &fa) < 0 || *s++ != '-' ||
	    parse_endpoint(&s, k.addr_b, &k.port_b, &fb) < 0 || *s || fa != fb)
		return -EINVAL;
	k.family = (uint8_t)fa;
	*key = k;
	return 0;
}

void args_format_addr(const uint8_t addr[16], char *out, size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(addr, mapped, sizeof(mapped)) == 0)
		inet_ntop(AF_INET, addr + 12, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, addr, out, (socklen_t)len);
}

const char *args_proto_name(uint8_t proto, char *tmp, size_t len)
{
	switch (proto) {
	case FLOW_PROTO_TCP:
		return "tcp";
	case FLOW_PROTO_UDP:
		return "udp";
	case FLOW_PROTO_ICMP:
		return "icmp";
	case FLOW_PROTO_ICMPV6:
		return "icmp6";
	default:
		snprintf(tmp, len, "%u", proto);
		return tmp;
	}
}

static int bad(const char *opt, const char *arg, const char *want)
{
	fprintf(stderr, "%s: --%s '%s': %s\n", prog(), opt, arg, want);
	return -EINVAL;
}

static int too_many(const char *opt)
{
	fprintf(stderr, "%s: --%s: more than %d values\n", prog(), opt, STORE_MATCH_MAX);
	return -EINVAL;
}

static int parse_uid(const char *arg, uint32_t *uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (args_parse_u32(arg, uid) == 0)
		return 0;
	if (getpwnam_r(arg, &pw, buf, sizeof(buf), &res) == 0 && res) {
		*uid = (uint32_t)res->pw_uid;
		return 0;
	}
	return -EINVAL;
}

int args_parse_pid(const char *arg, uint64_t now_ns, uint32_t *pid, uint64_t *start_ns)
{
	const char *at = strchr(arg, '@');
	char num[16];

	*start_ns = 0;
	if (!at)
		return args_parse_u32(arg, pid);
	if ((size_t)(at - arg) >= sizeof(num))
		return -EINVAL;
	snprintf(num, sizeof(num), "%.*s", (int)(at - arg), arg);
	if (args_parse_u32(num, pid) < 0 || units_parse_time(at + 1, now_ns, start_ns) < 0 ||
	    *start_ns == 0)
		return -EINVAL;
	return 0;
}

int args_parse_netns(const char *arg, uint32_t *inode)
{
	char path[300];
	struct stat st;

	if (args_parse_u32(arg, inode) == 0)
		return *inode ? 0 : -EINVAL;
	/* a name as ip-netns(8) keeps them: one path component */
	if (!*arg || strchr(arg, '/') || !strcmp(arg, ".") || !strcmp(arg, "..") ||
	    strlen(arg) > 255)
		return -EINVAL;
	snprintf(path, sizeof(path), "/run/netns/%s", arg);
	if (stat(path, &st) < 0 || st.st_ino == 0 || st.st_ino > UINT32_MAX)
		return -EINVAL;
	*inode = (uint32_t)st.st_ino;
	return 0;
}

bool args_name_ok(const char *s, size_t size)
{
	size_t n = strlen(s);

	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '/')
			return false;
	return true;
}

#define TIME_FORMS "expected a time: 10m, 2026-11-26T06:00:00Z or @EPOCH"

int args_filter_option(struct query *q, int opt, const char *arg, uint64_t now_ns)
{
	struct flow_filter *f = &q->flows;
	int family;

	switch (opt) {
	case ARGS_OPT_SINCE:
		if (units_parse_time(arg, now_ns, &f->since_ns) < 0)
			return bad("since", arg, TIME_FORMS);
		q->has_since = true;
		return 1;
	case ARGS_OPT_UNTIL:
		if (units_parse_time(arg, now_ns, &f->until_ns) < 0)
			return bad("until", arg, TIME_FORMS);
		q->has_until = true;
		return 1;
	case ARGS_OPT_PID:
		if (f->n_pids == STORE_MATCH_MAX)
			return too_many("pid");
		if (args_parse_pid(arg, now_ns, &f->pids[f->n_pids], &f->pid_starts[f->n_pids]) < 0)
			return bad("pid", arg, "expected a process id, or N@START with START its "
				   "start time as comments print it (2026-11-26T06:00:01.25Z)");
		f->n_pids++;
		return 1;
	case ARGS_OPT_UID:
		if (f->n_uids == STORE_MATCH_MAX)
			return too_many("uid");
		if (parse_uid(arg, &f->uids[f->n_uids]) < 0)
			return bad("uid", arg, "expected a user id or a user name");
		f->n_uids++;
		return 1;
	case ARGS_OPT_COMM:
		if (f->n_comms == STORE_MATCH_MAX)
			return too_many("comm");
		if (!*arg)
			return bad("comm", arg, "expected a process name");
		/* The kernel keeps 15 characters of a task's name: match what it kept. */
		snprintf(f->comms[f->n_comms], ECAP_COMM_LEN, "%s", arg);
		f->n_comms++;
		return 1;
	case ARGS_OPT_TUPLE:
		if (f->n_tuples == STORE_MATCH_MAX)
			return too_many("tuple");
		if (args_parse_tuple(arg, &f->tuples[f->n_tuples]) < 0)
			return bad("tuple", arg,
				   "expected ADDR:PORT-ADDR:PORT, IPv6 as [ADDR]:PORT, one family");
		f->n_tuples++;
		return 1;
	case ARGS_OPT_HOST:
		if (f->n_hosts == STORE_MATCH_MAX)
			return too_many("host");
		if (args_parse_host(arg, f->hosts[f->n_hosts], &family) < 0)
			return bad("host", arg, "expected an IPv4 or IPv6 address");
		f->n_hosts++;
		return 1;
	case ARGS_OPT_PORT:
		if (f->n_ports == STORE_MATCH_MAX)
			return too_many("port");
		if (args_parse_port(arg, &f->ports[f->n_ports]) < 0)
			return bad("port", arg, "expected a port number 0-65535");
		f->n_ports++;
		return 1;
	case ARGS_OPT_CONTAINER: {
		size_t n = strlen(arg);
		bool hex = n >= 12 && n <= 64 && strspn(arg, "0123456789abcdefABCDEF") == n;
		if (f->n_containers == STORE_MATCH_TEXT_MAX)
			return too_many("container");
		if (!hex && !args_name_ok(arg, ECAP_CTR_NAME_MAX))
			return bad("container", arg, "expected a container id (12 to 64 hex "
				   "digits) or a container name");
		for (size_t i = 0; i <= n; i++)
			f->containers[f->n_containers][i] =
				hex ? (char)tolower((unsigned char)arg[i]) : arg[i];
		f->n_containers++;
		return 1;
	}
	case ARGS_OPT_POD: {
		const char *slash = strchr(arg, '/');
		if (f->n_pods == STORE_MATCH_TEXT_MAX)
			return too_many("pod");
		if (slash ? (slash == arg || (size_t)(slash - arg) >= ECAP_POD_NAMESPACE_MAX ||
			     !args_name_ok(slash + 1, ECAP_POD_NAME_MAX))
			  : !args_name_ok(arg, ECAP_POD_NAME_MAX))
			return bad("pod", arg, "expected a pod name, NAMESPACE/NAME or a pod uid");
		snprintf(f->pods[f->n_pods++], sizeof(f->pods[0]), "%s", arg);
		return 1;
	}
	case ARGS_OPT_EXE:
		if (f->n_exes == STORE_MATCH_TEXT_MAX)
			return too_many("exe");
		if (arg[0] != '/' || strlen(arg) >= ECAP_EXE_MAX)
			return bad("exe", arg, "expected the absolute path of an executable");
		snprintf(f->exes[f->n_exes++], ECAP_EXE_MAX, "%s", arg);
		return 1;
	case ARGS_OPT_CGROUP: {
		size_t n = strlen(arg);
		if (f->n_cgroups == STORE_MATCH_TEXT_MAX)
			return too_many("cgroup");
		if (arg[0] != '/' || n >= ECAP_CGROUP_MAX)
			return bad("cgroup", arg, "expected a cgroup v2 path such as /system.slice");
		while (n > 0 && arg[n - 1] == '/')
			n--; /* "/a/" is "/a"; "/" is the root, everything below it */
		snprintf(f->cgroups[f->n_cgroups++], ECAP_CGROUP_MAX, "%.*s", (int)n, arg);
		return 1;
	}
	case ARGS_OPT_NETNS:
		if (f->n_netns == STORE_MATCH_MAX)
			return too_many("netns");
		if (args_parse_netns(arg, &f->netns[f->n_netns]) < 0)
			return bad("netns", arg, "expected a namespace inode or a name in /run/netns");
		f->n_netns++;
		return 1;
	case ARGS_OPT_PROTO: {
		uint8_t p;
		if (args_parse_proto(arg, &p) < 0)
			return bad("proto", arg,
				   "expected tcp, udp, icmp, icmp6 or a number 1-255");
		if (f->proto && f->proto != p)
			return bad("proto", arg, "only one protocol can be selected");
		f->proto = p;
		return 1;
	}
	default:
		return 0;
	}
}

int args_set_pcap_filter(struct query *q, char *const *words, int n)
{
	size_t len = 0;

	free(q->pcap_filter);
	q->pcap_filter = NULL;
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++)
		len += strlen(words[i]) + 1;
	q->pcap_filter = malloc(len);
	if (!q->pcap_filter)
		return -ENOMEM;
	q->pcap_filter[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(q->pcap_filter, " ");
		strcat(q->pcap_filter, words[i]);
	}
	return 0;
}

int args_finish(struct query *q)
{
	if (q->has_since && q->has_until && q->flows.since_ns > q->flows.until_ns) {
		char a[40], b[40];
		units_format_time(q->flows.since_ns, a, sizeof(a));
		units_format_time(q->flows.until_ns, b, sizeof(b));
		fprintf(stderr, "%s: --since %s is after --until %s\n", prog(), a, b);
		return -EINVAL;
	}
	return 0;
}
