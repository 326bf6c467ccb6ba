// SPDX-License-Identifier: GPL-2.0-only
/*
 * replay.c - the replay source of replay.h: capfile items into the pipeline.
 *
 * The loop makes no allocation per packet: interface ids are mapped through an array that
 * grows only at a new interface, the process hint of a comment is parsed once and reused while
 * the next packets carry the same comment, and the progress line and pipeline_tick() run
 * every few thousand packets.
 */
#include "replay.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../schema/pcapng.h"
#include "../schema/store.h"
#include "../schema/units.h"
#include "capfile.h"
#include "ctr_json.h"
#include "keylog.h"
#include "proc_info.h"

#define TICK_EVERY 4096u               /* packets between pipeline_tick() calls, at most */
#define TICK_CHECK 256u                /* packets between looks at the clock (files) */
#define TICK_NS 100000000ull           /* time between pipeline_tick() calls, at most */
#define IDLE_MS 200                    /* a quiet pipe for this long: tick anyway */
#define PROGRESS_MIN_BYTES (64u << 20) /* inputs smaller than this show no progress line */
#define PROGRESS_NS 250000000ull       /* at most 4 refreshes a second */
#define ERRORS_SHOWN 50u               /* damaged places reported one by one */
#define COMMENT_CACHE 16384u           /* export comments with container labels are long */
#define PROCS_PUT_SLOTS 256u
#define CTRS_PUT_SLOTS 64u

struct seen_proc {
	uint32_t pid;
	uint64_t start_ns;
};

struct replay {
	const struct replay_options *opt;
	FILE *err;
	struct pipeline *p;
	struct store *s;
	struct capfile *cf;
	struct replay_result *res;
	const char *path;
	char base[40];           /* basename of the input, for interface names */

	uint32_t *ifmap;         /* file interface index -> store interface id */
	uint32_t n_ifmap, cap_ifmap;

	struct seen_proc procs_put[PROCS_PUT_SLOTS];
	char ctrs_put[CTRS_PUT_SLOTS][ECAP_CONTAINER_ID_MAX]; /* containers stored, by id */
	int last_err;            /* a process record the store refused */
	char last_comment[COMMENT_CACHE];
	size_t last_comment_len;
	struct ecap_proc last_proc;
	bool last_proc_valid;

	bool progress;
	uint64_t t0, last_progress, last_tick;
	bool other_secrets_noted;
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void input_error(struct replay *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void input_error(struct replay *r, const char *fmt, ...)
{
	r->res->input_errors++;
	if (r->res->input_errors > ERRORS_SHOWN)
		return;
	if (r->progress)
		fputs("\r\033[K", r->err);
	va_list ap;
	va_start(ap, fmt);
	fputs("ecap-rec: ", r->err);
	vfprintf(r->err, fmt, ap);
	fputc('\n', r->err);
	va_end(ap);
	if (r->res->input_errors == ERRORS_SHOWN)
		fprintf(r->err, "ecap-rec: %s: further errors are counted, not shown\n", r->path);
}

/* ---- process comments ------------------------------------------------------------- */

static bool parse_u32(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* comm from a command: the basename of its first word, at most 15 bytes. */
static void set_comm(struct ecap_proc *pr, const char *v, size_t n)
{
	size_t end = 0;
	while (end < n && v[end] != ' ' && v[end] != '\t')
		end++;
	size_t start = end;
	while (start > 0 && v[start - 1] != '/')
		start--;
	size_t len = end - start;
	if (len == 0)
		return;
	if (len > ECAP_COMM_LEN - 1)
		len = ECAP_COMM_LEN - 1;
	memcpy(pr->comm, v + start, len);
	pr->comm[len] = 0;
}

static bool key_is(const char *k, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(k, want, n) == 0;
}

/* 64 lower-case hex digits in vn bytes (only the bytes of the comment are read). */
static bool container_id_ok(const char *v, size_t vn)
{
	size_t i = 0;

	while (i < vn && ((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
		i++;
	return vn == 64 && i == vn;
}

/* A field of what the process was (ecap_proc_info), when k is one of those keys. */
static void apply_info(struct ecap_proc_info *pi, const char *k, size_t kn, const char *v,
		       size_t vn)
{
	struct ecap_proc tmp;
	char text[64];
	uint64_t t;
	uint32_t x;

	if (key_is(k, kn, "args")) {
		proc_info_printable(pi->args, sizeof(pi->args), v, vn);
	} else if (key_is(k, kn, "exe")) {
		proc_info_printable(pi->exe, sizeof(pi->exe), v, vn);
	} else if (key_is(k, kn, "parentpid")) {
		if (parse_u32(v, vn, &x))
			pi->ppid = x;
	} else if (key_is(k, kn, "parentcmd")) {
		memset(&tmp, 0, sizeof(tmp));
		set_comm(&tmp, v, vn);
		proc_info_printable(pi->parent_comm, sizeof(pi->parent_comm), tmp.comm,
				    strlen(tmp.comm));
	} else if (key_is(k, kn, "nspid")) {
		if (parse_u32(v, vn, &x))
			pi->nspid = x;
	} else if (key_is(k, kn, "start")) {
		proc_info_printable(text, sizeof(text), v, vn < sizeof(text) ? vn : 0);
		if (text[0] && units_parse_time(text, 0, &t) == 0 && t > 0)
			pi->start_ns = pi->start_wall_ns = t;
	} else if (key_is(k, kn, "cgroup")) {
		proc_info_printable(pi->cgroup, sizeof(pi->cgroup), v, vn);
	} else if (key_is(k, kn, "containerid")) {
		if (container_id_ok(v, vn))
			proc_info_printable(pi->container_id, sizeof(pi->container_id), v, vn);
	} else if (key_is(k, kn, "containerruntime")) {
		proc_info_printable(pi->runtime, sizeof(pi->runtime), v, vn);
	} else if (key_is(k, kn, "poduid")) {
		proc_info_printable(pi->pod_uid, sizeof(pi->pod_uid), v, vn);
	}
}

/* One "key" with its value; true when it was a PID. */
static bool apply_field(struct ecap_proc *pr, struct ecap_proc_info *pi, const char *k,
			size_t kn, const char *v, size_t vn)
{
	uint32_t x;
	if (pi)
		apply_info(pi, k, kn, v, vn);
	if (key_is(k, kn, "pid")) {
		if (parse_u32(v, vn, &x) && x > 0) {
			pr->pid = x;
			return true;
		}
	} else if (key_is(k, kn, "cmd") || key_is(k, kn, "command") || key_is(k, kn, "comm")) {
		set_comm(pr, v, vn);
	} else if (key_is(k, kn, "threadid") || key_is(k, kn, "tid")) {
		if (parse_u32(v, vn, &x))
			pr->tid = x;
	} else if (key_is(k, kn, "userid") || key_is(k, kn, "uid")) {
		if (parse_u32(v, vn, &x))
			pr->uid = x;
	} else if (key_is(k, kn, "groupid") || key_is(k, kn, "gid")) {
		if (parse_u32(v, vn, &x))
			pr->gid = x;
	}
	return false;
}

static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* One "Key: value" of the comment's own block about its container. */
static void apply_container(struct ecap_container *ct, const char *k, size_t kn, const char *v,
			    size_t vn)
{
	char text[ECAP_LABELS_MAX];
	struct json_object *labels;

	if (key_is(k, kn, "containerid")) {
		if (container_id_ok(v, vn))
			proc_info_printable(ct->id, sizeof(ct->id), v, vn);
	} else if (key_is(k, kn, "containerruntime")) {
		proc_info_printable(ct->runtime, sizeof(ct->runtime), v, vn);
	} else if (key_is(k, kn, "containername")) {
		proc_info_printable(ct->name, sizeof(ct->name), v, vn);
	} else if (key_is(k, kn, "containerimage")) {
		proc_info_printable(ct->image, sizeof(ct->image), v, vn);
	} else if (key_is(k, kn, "containerlabels")) {
		/* made again from what it parses to: sorted, printable, cut at whole pairs */
		proc_info_printable(text, sizeof(text), v, vn < sizeof(text) ? vn : 0);
		labels = text[0] ? ctr_json_parse(text, strlen(text)) : NULL;
		if (labels && json_object_is_type(labels, json_type_object))
			ctr_json_labels(labels, ct->labels, sizeof(ct->labels));
		json_object_put(labels);
	} else if (key_is(k, kn, "podname")) {
		proc_info_printable(ct->pod_name, sizeof(ct->pod_name), v, vn);
	} else if (key_is(k, kn, "podnamespace")) {
		proc_info_printable(ct->pod_namespace, sizeof(ct->pod_namespace), v, vn);
	} else if (key_is(k, kn, "poduid")) {
		proc_info_printable(ct->pod_uid, sizeof(ct->pod_uid), v, vn);
	}
}

bool replay_comment_container(const char *c, size_t len, struct ecap_container *out)
{
	const char *end = c + len;

	memset(out, 0, sizeof(*out));
	while (c < end) {
		const char *nl = memchr(c, '\n', (size_t)(end - c));
		const char *le = nl ? nl : end;
		const char *colon = memchr(c, ':', (size_t)(le - c));
		if (colon) {
			const char *k = c, *v = colon + 1;
			size_t kn = (size_t)(colon - c), vn = (size_t)(le - v);
			trim(&k, &kn);
			trim(&v, &vn);
			apply_container(out, k, kn, v, vn);
		}
		c = nl ? nl + 1 : end;
	}
	/* a container is kept only with what its runtime said of it */
	if (!out->id[0] || (!out->name[0] && !out->image[0] && !out->labels[0] &&
			    !out->pod_name[0])) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	return true;
}

bool replay_comment_proc(const char *c, size_t len, struct ecap_proc *out,
			 struct ecap_proc_info *info)
{
	memset(out, 0, sizeof(*out));
	if (info)
		memset(info, 0, sizeof(*info));
	bool pid = false;
	const char *end = c + len;
	while (c < end) {
		const char *nl = memchr(c, '\n', (size_t)(end - c));
		const char *le = nl ? nl : end;
		const char *colon = memchr(c, ':', (size_t)(le - c));
		const char *eq = memchr(c, '=', (size_t)(le - c));
		if (colon && (!eq || colon < eq)) {
			/* ptcpdump: "Key: value" */
			const char *k = c, *v = colon + 1;
			size_t kn = (size_t)(colon - c), vn = (size_t)(le - v);
			trim(&k, &kn);
			trim(&v, &vn);
			pid |= apply_field(out, info, k, kn, v, vn);
		} else if (eq) {
			/* "key=value key=value ..." words */
			const char *w = c;
			while (w < le) {
				while (w < le && (*w == ' ' || *w == '\t' || *w == ','))
					w++;
				const char *we = w;
				while (we < le && *we != ' ' && *we != '\t' && *we != ',')
					we++;
				const char *e = memchr(w, '=', (size_t)(we - w));
				if (e)
					pid |= apply_field(out, NULL, w, (size_t)(e - w),
							   e + 1, (size_t)(we - e - 1));
				w = we;
			}
		}
		c = nl ? nl + 1 : end;
	}
	if (!pid) {
		memset(out, 0, sizeof(*out));
		if (info)
			memset(info, 0, sizeof(*info));
		return false;
	}
	if (!out->tid)
		out->tid = out->pid;
	out->valid = true;
	if (info && info->start_ns) {
		info->pid = out->pid;
		out->start_ns = info->start_ns;
	} else if (info) {
		memset(info, 0, sizeof(*info)); /* no start: not one process for certain */
	}
	return true;
}

/* Whether the process's record was stored already in this run (a small direct-mapped memory;
 * a process forgotten is stored again, which costs a row, not correctness). */
static bool process_known(struct replay *r, const struct ecap_proc_info *pi)
{
	uint64_t h = (pi->pid * 0x9E3779B97F4A7C15ull) ^ pi->start_ns;
	struct seen_proc *e = &r->procs_put[(h ^ h >> 29) % PROCS_PUT_SLOTS];

	if (e->pid == pi->pid && e->start_ns == pi->start_ns)
		return true;
	e->pid = pi->pid;
	e->start_ns = pi->start_ns;
	return false;
}

/* Whether the container's record was stored already in this run (as process_known). */
static bool container_known(struct replay *r, const char *id)
{
	uint64_t h = 0;
	char *e;

	for (size_t i = 0; i < 16; i++)
		h = h * 16 + (uint64_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
	e = r->ctrs_put[h % CTRS_PUT_SLOTS];
	if (!strcmp(e, id))
		return true;
	snprintf(e, ECAP_CONTAINER_ID_MAX, "%s", id);
	return false;
}

/* The comment's process, parsed once per distinct comment. */
static const struct ecap_proc *comment_proc(struct replay *r, const char *c, size_t n)
{
	if (n == r->last_comment_len && n <= COMMENT_CACHE && memcmp(c, r->last_comment, n) == 0)
		return r->last_proc_valid ? &r->last_proc : NULL;
	struct ecap_proc_info info;
	r->last_proc_valid = replay_comment_proc(c, n, &r->last_proc, &info);
	if (r->last_proc_valid && info.pid && !process_known(r, &info)) {
		int err = pipeline_process(r->p, &info);
		if (err < 0)
			r->last_err = err;
	}
	struct ecap_container ct;
	if (r->last_proc_valid && info.container_id[0] &&
	    replay_comment_container(c, n, &ct) && !strcmp(ct.id, info.container_id) &&
	    !container_known(r, ct.id)) {
		/* when it was recorded is not said: the time of the replay stands for it */
		ct.first_ns = ct.last_ns = now_ns(CLOCK_REALTIME);
		int err = pipeline_container(r->p, &ct);
		if (err < 0)
			r->last_err = err;
	}
	if (n <= COMMENT_CACHE) {
		memcpy(r->last_comment, c, n);
		r->last_comment_len = n;
	} else {
		r->last_comment_len = SIZE_MAX; /* matches nothing */
	}
	return r->last_proc_valid ? &r->last_proc : NULL;
}

/* ---- items ------------------------------------------------------------------------ */

static int add_interface(struct replay *r, const struct capfile_iface *ifc)
{
	if (ifc->index != r->n_ifmap)
		return -EINVAL; /* capfile numbers interfaces 0, 1, ... */
	if (r->n_ifmap == r->cap_ifmap) {
		uint32_t cap = r->cap_ifmap ? r->cap_ifmap * 2 : 8;
		uint32_t *m = realloc(r->ifmap, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		r->ifmap = m;
		r->cap_ifmap = cap;
	}
	struct ecap_iface e;
	memset(&e, 0, sizeof(e));
	if (ifc->name[0])
		snprintf(e.name, sizeof(e.name), "%s", ifc->name);
	else
		snprintf(e.name, sizeof(e.name), "%s#%u", r->base, ifc->index);
	e.linktype = ifc->linktype;
	e.snaplen = ifc->snaplen;
	snprintf(e.filter, sizeof(e.filter), "%s", ifc->filter);
	uint32_t id;
	int err = store_add_interface(r->s, &e, &id);
	if (err) {
		fprintf(r->err, "ecap-rec: store: adding interface %s: %s\n", e.name,
			store_errmsg(r->s));
		r->res->store_failed = true;
		return err;
	}
	r->ifmap[r->n_ifmap++] = id;
	r->res->interfaces++;
	return 0;
}

static int secrets_block(struct replay *r, const struct capfile_item *it)
{
	r->res->dsb_blocks++;
	if (it->secrets_type != PCAPNG_SECRETS_TLS) {
		if (!r->other_secrets_noted)
			fprintf(r->err, "ecap-rec: %s: offset %" PRIu64 ": ignoring decryption "
				"secrets of type 0x%08x (only TLS key logs are used)\n",
				r->path, it->offset, it->secrets_type);
		r->other_secrets_noted = true;
		return 0;
	}
	const char *s = (const char *)it->secrets, *end = s + it->secrets_len;
	unsigned line = 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl + 1 : end;
		line++;
		r->res->dsb_lines++;
		struct tls_secret sec;
		int k = keylog_parse_line(s, (size_t)(le - s), &sec);
		if (k < 0) {
			input_error(r, "%s: offset %" PRIu64 ": decryption secrets block, line %u: %s",
				    r->path, it->offset, line, keylog_error());
		} else if (k > 0) {
			r->res->dsb_secrets++;
			int err = pipeline_secret(r->p, &sec);
			if (err < 0) {
				fprintf(r->err, "ecap-rec: store: %s\n", store_errmsg(r->s));
				r->res->store_failed = true;
				return err;
			}
		}
		s = le;
	}
	return 0;
}

static void progress(struct replay *r, bool final)
{
	uint64_t t = now_ns(CLOCK_MONOTONIC);
	if (!final && t - r->last_progress < PROGRESS_NS)
		return;
	r->last_progress = t;
	uint64_t done = capfile_offset(r->cf), total = capfile_size(r->cf);
	double secs = (double)(t - r->t0) / 1e9;
	double rate = secs > 0 ? (double)done / 1e6 / secs : 0;
	char a[32], b[32];
	units_format_size(done, a, sizeof(a));
	if (total) {
		units_format_size(total, b, sizeof(b));
		fprintf(r->err, "\r\033[K%s of %s (%.0f%%), %.0f MB/s, %" PRIu64 " packets", a, b,
			100.0 * (double)done / (double)total, rate, r->res->packets);
	} else {
		fprintf(r->err, "\r\033[K%s, %.0f MB/s, %" PRIu64 " packets", a, rate,
			r->res->packets);
	}
	if (final)
		fputc('\n', r->err);
	fflush(r->err);
}

static int tick(struct replay *r, uint64_t now)
{
	r->last_tick = now;
	int err = pipeline_tick(r->p, now);
	if (err < 0) {
		fprintf(r->err, "ecap-rec: store: %s\n", store_errmsg(r->s));
		r->res->store_failed = true;
		return err;
	}
	return 0;
}

static int run(struct replay *r, volatile sig_atomic_t *stop)
{
	struct capfile_item it;
	struct ecap_packet pkt;
	uint32_t since_tick = 0, checks = 0;
	/* a pipe may trickle: look at the clock after every packet so chunks close in time */
	uint32_t check_every = capfile_size(r->cf) ? TICK_CHECK : 1;
	bool tty = !r->opt->quiet && (r->opt->progress || isatty(fileno(r->err)));
	for (;;) {
		if (stop && *stop) {
			r->res->interrupted = true;
			return 0;
		}
		int k = capfile_next(r->cf, &it);
		if (k == 0)
			return 0;
		if (k == -EBADMSG) {
			input_error(r, "%s", capfile_error(r->cf));
			continue;
		}
		if (k == -EINTR)
			continue; /* the stop flag is checked at the top */
		if (k == -ETIMEDOUT) {
			/* a quiet pipe: let chunks close by age so the packets become visible */
			int err = tick(r, now_ns(CLOCK_MONOTONIC));
			if (err)
				return err;
			continue;
		}
		if (k < 0) {
			input_error(r, "%s", capfile_error(r->cf));
			return 0;
		}
		if (it.kind == CAPFILE_PACKET) {
			if (it.iface >= r->n_ifmap)
				continue; /* cannot happen: capfile announces interfaces first */
			pkt.ts_ns = it.ts_ns;
			pkt.iface = r->ifmap[it.iface];
			pkt.caplen = it.caplen;
			pkt.origlen = it.origlen;
			pkt.flags = it.flags;
			pkt.flow_id = 0;
			pkt.data = it.data;
			const struct ecap_proc *proc = NULL;
			if (it.comment) {
				proc = comment_proc(r, it.comment, it.comment_len);
				r->res->attributed += proc != NULL;
				r->res->comments++;
			}
			r->res->cut += it.caplen > ECAP_CAPLEN_MAX;
			int err = pipeline_packet(r->p, &pkt, proc);
			if (err == 0 && r->last_err < 0)
				err = r->last_err;
			if (err < 0) {
				fprintf(r->err, "ecap-rec: store: %s\n", store_errmsg(r->s));
				r->res->store_failed = true;
				return err;
			}
			r->res->packets++;
			if (++since_tick < check_every)
				continue;
			since_tick = 0;
			uint64_t now = now_ns(CLOCK_MONOTONIC);
			if (now - r->last_tick < TICK_NS && ++checks < TICK_EVERY / check_every)
				continue;
			checks = 0;
			err = tick(r, now);
			if (err)
				return err;
			if (!r->progress && tty) {
				uint64_t total = capfile_size(r->cf);
				r->progress = total ? total > PROGRESS_MIN_BYTES
						    : capfile_offset(r->cf) > PROGRESS_MIN_BYTES;
			}
			if (r->progress)
				progress(r, false);
		} else if (it.kind == CAPFILE_INTERFACE) {
			int err = add_interface(r, it.ifc);
			if (err)
				return err;
		} else if (it.kind == CAPFILE_SECRETS) {
			int err = secrets_block(r, &it);
			if (err)
				return err;
		}
	}
}

/* One line at the end for everything of a valid input that the store does not keep as it
 * was (nothing when everything was kept). */
_Static_assert(ECAP_CAPLEN_MAX == 262080, "the message below names it");

static void note_changes(FILE *err, const char *path, const struct replay_result *res)
{
	const struct capfile_quirks *q = &res->quirks;
	const struct {
		uint64_t n;
		const char *what;
	} items[] = {
		{ q->custom_blocks, "custom blocks (CB, DCB) dropped" },
		{ q->other_blocks, "name resolution or unknown blocks dropped" },
		{ q->ts_normalised, "timestamps out of range normalised" },
		{ q->ts_rounded, "timestamps rounded down to the nanosecond" },
		{ q->spb_timed, "simple packet blocks given the time of the packet before" },
		{ res->cut, "packets longer than 262080 bytes cut to it" },
		{ q->origlen_raised, "original lengths below the captured length raised to it" },
		{ res->comments - res->attributed, "packet comments dropped (not naming a process)" },
	};
	bool any = false;
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		if (!items[i].n)
			continue;
		if (!any)
			fprintf(err, "ecap-rec: %s: not kept as the input has it: ", path);
		fprintf(err, "%s%" PRIu64 " %s", any ? ", " : "", items[i].n, items[i].what);
		any = true;
	}
	if (any)
		fputc('\n', err);
}

int replay_run(const struct replay_options *opt, struct pipeline *p, struct store *s,
	       volatile sig_atomic_t *stop, struct replay_result *res)
{
	struct replay r = {
		.opt = opt, .err = opt->err ? opt->err : stderr, .p = p, .s = s, .res = res,
		.path = strcmp(opt->path, "-") == 0 ? "(stdin)" : opt->path,
	};
	memset(res, 0, sizeof(*res));
	const char *slash = strrchr(opt->path, '/');
	snprintf(r.base, sizeof(r.base), "%s",
		 strcmp(opt->path, "-") == 0 ? "stdin" : slash ? slash + 1 : opt->path);
	r.t0 = now_ns(CLOCK_MONOTONIC);
	int err = capfile_open(opt->path, &r.cf);
	if (err) {
		fprintf(r.err, "ecap-rec: %s: %s\n", r.path, strerror(-err));
		return err;
	}
	capfile_set_stop(r.cf, stop);
	capfile_set_idle(r.cf, IDLE_MS);
	err = run(&r, stop);
	if (r.progress)
		progress(&r, true);
	res->bytes_in = capfile_offset(r.cf);
	res->skipped_bytes = capfile_skipped(r.cf);
	res->quirks = *capfile_quirks(r.cf);
	note_changes(r.err, r.path, res);
	res->seconds = (double)(now_ns(CLOCK_MONOTONIC) - r.t0) / 1e9;
	capfile_close(r.cf);
	free(r.ifmap);
	return err;
}

void replay_not_kept(FILE *out, struct pipeline *p)
{
	struct pipeline_stats ps;
	pipeline_get_stats(p, &ps);
	if (ps.secrets_not_kept)
		fprintf(out, "%" PRIu64 " TLS secret%s of sessions not recorded %s not kept "
			"(--keep-all-secrets keeps them)\n", ps.secrets_not_kept,
			ps.secrets_not_kept == 1 ? "" : "s", ps.secrets_not_kept == 1 ? "was" : "were");
}

void replay_summary(FILE *out, const struct replay_result *res, struct pipeline *p,
		    struct store *s)
{
	struct pipeline_stats ps;
	pipeline_get_stats(p, &ps);
	struct store_stats ss;
	bool have_store = store_get_stats(s, &ss) == 0;
	char in[32];
	units_format_size(res->bytes_in, in, sizeof(in));
	double mbs = res->seconds > 0 ? (double)res->bytes_in / 1e6 / res->seconds : 0;
	fprintf(out, "replayed %" PRIu64 " packets (%s, %.1f s, %.0f MB/s) on %" PRIu64
		" interface%s%s\n", res->packets, in, res->seconds, mbs, res->interfaces,
		res->interfaces == 1 ? "" : "s", res->interrupted ? ", interrupted" : "");
	fprintf(out, "flows: %" PRIu64 " (%" PRIu64 " packets outside any flow), "
		"%" PRIu64 " packets with a process comment\n", ps.flows, ps.non_flow_packets,
		res->attributed);
	if (ps.flow_records_again)
		fprintf(out, "flow records stored again for later segments: %" PRIu64 "\n",
			ps.flow_records_again);
	uint64_t unlinked = ps.secrets > ps.secrets_linked ? ps.secrets - ps.secrets_linked : 0;
	fprintf(out, "TLS sessions: %" PRIu64 "; secrets: %" PRIu64 " new (%" PRIu64
		" linked to a session, %" PRIu64 " unlinked), %" PRIu64 " already known\n",
		ps.tls_sessions, ps.secrets, ps.secrets_linked, unlinked, ps.secrets_dup);
	replay_not_kept(out, p);
	if (res->dsb_blocks)
		fprintf(out, "decryption secrets blocks: %" PRIu64 " with %" PRIu64
			" secrets\n", res->dsb_blocks, res->dsb_secrets);
	if (have_store) {
		char raw[32], stored[32];
		units_format_size(ss.bytes_raw, raw, sizeof(raw));
		units_format_size(ss.bytes_stored, stored, sizeof(stored));
		fprintf(out, "store %s: %" PRIu64 " packets, %" PRIu64 " flows, %" PRIu64
			" TLS sessions, %" PRIu64 " secrets, %s raw in %s\n", store_dir(s),
			ss.packets, ss.flows, ss.tls_sessions, ss.secrets, raw, stored);
	}
	if (res->input_errors)
		fprintf(out, "input errors: %" PRIu64 " (%" PRIu64 " bytes skipped); all valid "
			"data was kept\n", res->input_errors, res->skipped_bytes);
}
