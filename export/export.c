// SPDX-License-Identifier: GPL-2.0-only
/*
 * export.c - one export (export.h): the plan, the merge, the file, the follow loop.
 *
 * The plan, all from the index:
 *   1. flows: with a flow filter, store_select_flows() gives the selected flow set S (and
 *      store_walk_flows() their process records, loaded once into the attribution map);
 *   2. chunks: store_find_chunks() over the time window, restricted to S when there is one;
 *   3. secrets, which must all be written before the first packet: those of the sessions
 *      whose packets are exported (secrets.c says how they are found);
 *   4. the packets: a k-way merge of the chunks (merge.c) in timestamp order, each packet
 *      kept when it is in the window, in S (when selecting) and passes the libpcap filter.
 * With --follow the same runs again every 500 ms over the chunks indexed since (ids above the
 * last one written), so each new session's secrets precede its packets. A flow that the
 * selection takes in only later (its owner was learned after its first packets) first gets
 * its packets from the chunks already passed, for that flow alone.
 */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "attrib.h"
#include "chunk.h"
#include "ecap_config.h"
#include "endpoints.h"
#include "merge.h"
#include "pktfilter.h"
#include "units.h"
#include "writer.h"
#include "export_impl.h"

volatile sig_atomic_t export_stop;

/* The flag is set by a signal handler, or by another thread in the tests: read it atomically. */
static bool stopping(void)
{
	return __atomic_load_n(&export_stop, __ATOMIC_RELAXED) != 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void clear_progress(struct exporter *ex)
{
	if (ex->progress_line) {
		fputs("\r\033[K", stderr);
		ex->progress_line = false;
	}
}

static void progress(struct exporter *ex)
{
	uint64_t now = mono_ns();
	char sz[32];

	if (!ex->o->progress || now - ex->t0 < 1000000000ull ||
	    now - ex->last_report < 250000000ull)
		return;
	ex->last_report = now;
	units_format_size(ex->w.bytes_out + ex->w.b.len, sz, sizeof(sz));
	fprintf(stderr, "\r\033[Kecap-export: %" PRIu64 " packets written (%s), %" PRIu64
		" examined, chunk %" PRIu64 " of %zu", ex->w.packets, sz, ex->examined,
		ex->cur ? ex->cur->chunks_opened + ex->cur->chunks_failed : 0, ex->batch_chunks);
	ex->progress_line = true;
}

void exporter_warn(struct exporter *ex, const char *fmt, ...)
{
	va_list ap;
	clear_progress(ex);
	fputs("ecap-export: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Loads a store interface and compiles the libpcap filter for it; false: skip its packets. */
static bool iface_usable(struct exporter *ex, uint32_t id)
{
	char err[PCAP_ERRBUF_SIZE + 64];

	if (id >= ex->n_if) {
		size_t n = (size_t)id + 16;
		uint8_t *st = realloc(ex->ifstate, n);
		struct ecap_iface *info = realloc(ex->ifinfo, n * sizeof(*info));
		if (st)
			ex->ifstate = st;
		if (info)
			ex->ifinfo = info;
		if (!st || !info)
			return false;
		memset(ex->ifstate + ex->n_if, IFACE_UNSEEN, n - ex->n_if);
		ex->n_if = n;
	}
	if (ex->ifstate[id] != IFACE_UNSEEN)
		return ex->ifstate[id] == IFACE_OK;
	ex->ifstate[id] = IFACE_SKIP;
	if (store_get_interface(ex->s, id, &ex->ifinfo[id]) < 0) {
		exporter_warn(ex, "%s: packets on interface %u, which the index does not "
			      "describe: left out", ex->o->store_dir, id);
		return false;
	}
	if (pktfilter_prepare(&ex->pf, id, &ex->ifinfo[id], err, sizeof(err)) < 0) {
		exporter_warn(ex, "filter '%s' does not apply to interface %s (link type %u): "
			      "%s; its packets are left out", ex->q->pcap_filter,
			      ex->ifinfo[id].name, ex->ifinfo[id].linktype, err);
		return false;
	}
	ex->ifstate[id] = IFACE_OK;
	return true;
}

bool exporter_accept(struct exporter *ex, const struct ecap_packet *pkt)
{
	if (pkt->ts_ns < ex->since || pkt->ts_ns > ex->until)
		return false;
	if (ex->selects && (!pkt->flow_id || !idset_has(&ex->sel, pkt->flow_id)))
		return false;
	if (!iface_usable(ex, pkt->iface))
		return false;
	return pktfilter_match(&ex->pf, pkt);
}

/* ---- packets ------------------------------------------------------------------------ */

/* Unreadable chunks named one by one before the rest are only counted (in the summary). */
#define CHUNK_ERRORS_LISTED 20

static void on_chunk_error(void *ctx, const struct chunk_ref *ref, const char *msg)
{
	struct exporter *ex = ctx;

	if (++ex->chunk_errors > CHUNK_ERRORS_LISTED)
		return;
	exporter_warn(ex, "chunk %" PRIu64 " (segment %u, offset %" PRIu64 ") unreadable, its %u "
		      "packets are missing: %s%s", ref->id, ref->segment, ref->offset, ref->packets,
		      msg, ex->chunk_errors == CHUNK_ERRORS_LISTED ?
		      " (further unreadable chunks are counted, not listed; ecap-fsck lists "
		      "them all)" : "");
}

/* The proof took each chunk's digest from its metadata's first bytes: the chunk's checked
 * read confirms it. */
static void on_chunk_open(void *ctx, const struct chunk_view *v)
{
	struct exporter *ex = ctx;

	if (ex->proof_on && proof_confirm(&ex->proof, &v->meta) < 0) {
		exporter_warn(ex, "the export is not signed: chunk %" PRIu64 "'s metadata changed "
			      "while it was exported", v->meta.id);
		ex->proof_on = false;
	}
}

static const char *packet_comment(struct exporter *ex, const struct ecap_packet *pkt)
{
	const struct attrib_entry *e = attrib_get(&ex->at, pkt->flow_id);
	struct endpoints ep;
	int sender = -1;

	if (!e || (!e->known[0] && !e->known[1]))
		return NULL;
	if (endpoints_parse(ex->ifinfo[pkt->iface].linktype, pkt->data, pkt->caplen, &ep) == 0)
		sender = endpoints_sender(&ep, &e->key);
	return attrib_comment(e, sender, pkt->flags);
}

static int batch_packets(struct exporter *ex, const struct chunk_list *cl, uint64_t *failed)
{
	struct merge m;
	struct ecap_packet pkt;
	int r, err = 0;

	if ((err = merge_init(&m, ex->s, cl->v, cl->n)) < 0)
		return err;
	m.on_error = on_chunk_error;
	m.on_open = on_chunk_open;
	m.ctx = ex;
	m.flows = ex->selects ? &ex->sel : NULL; /* then only the blocks of those flows are read */
	ex->cur = &m;
	ex->batch_chunks = cl->n;
	while ((r = merge_next(&m, &pkt)) == 1) {
		if (pkt.ts_ns > ex->until)
			break; /* the merge is in time order: nothing later can match */
		if ((++ex->examined & 1023) == 0) {
			progress(ex);
			if (stopping() && !ex->o->follow)
				break;
		}
		if (!exporter_accept(ex, &pkt))
			continue;
		if (writer_iface_index(&ex->w, pkt.iface) < 0 &&
		    (err = writer_add_iface(&ex->w, pkt.iface, &ex->ifinfo[pkt.iface])) < 0)
			break;
		if ((err = writer_packet(&ex->w, &pkt, packet_comment(ex, &pkt))) < 0)
			break;
		if (pkt.ts_ns > ex->hi_ts)
			ex->hi_ts = pkt.ts_ns;
		if ((err = writer_maybe_flush(&ex->w, FLUSH_BYTES)) < 0)
			break;
	}
	if (r < 0 && !err) {
		exporter_warn(ex, "reading chunks: %s", store_errmsg(ex->s));
		err = r;
	}
	for (size_t i = 0; i < cl->n; i++) {
		if (cl->v[i].id > ex->last_chunk_id)
			ex->last_chunk_id = cl->v[i].id;
		if (cl->v[i].last_ns > ex->hi_ts && cl->v[i].last_ns <= ex->until)
			ex->hi_ts = cl->v[i].last_ns;
	}
	*failed += m.chunks_failed;
	ex->cur = NULL;
	merge_free(&m);
	return err;
}

/* ---- the file ------------------------------------------------------------------------ */

static int open_output(struct exporter *ex)
{
	const char *p = ex->o->out_path;

	ex->keylog_fd = -1;
	if (!p || strcmp(p, "-") == 0) {
		ex->out_fd = STDOUT_FILENO;
	} else {
		/* The file holds TLS secrets unless --no-secrets: readable by its owner only. */
		mode_t mode = ex->o->no_secrets ? 0644 : 0600;
		ex->out_fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
		if (ex->out_fd < 0) {
			exporter_warn(ex, "%s: %s", p, strerror(errno));
			return -errno;
		}
	}
	if (ex->o->keylog_path && !ex->o->no_secrets) {
		ex->keylog_fd = open(ex->o->keylog_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				     0600);
		if (ex->keylog_fd < 0) {
			exporter_warn(ex, "%s: %s", ex->o->keylog_path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* The SHB (writer_init_deferred): made at the first flush, when the proof knows the recorder
 * versions of the chunks read until then and peeks at those of the others. */
static int make_shb(void *ctx, struct buf *out)
{
	struct exporter *ex = ctx;
	struct utsname u;
	char os[300] = "", hw[80] = "", appl[64], a[40], b[40], now[40], dir[PATH_MAX];
	char *comment = NULL;
	int err;

	if (uname(&u) == 0) {
		snprintf(os, sizeof(os), "%s %s", u.sysname, u.release);
		snprintf(hw, sizeof(hw), "%s", u.machine);
	}
	snprintf(appl, sizeof(appl), "ecap-export %s", ECAP_VERSION);
	if (!realpath(ex->o->store_dir, dir))
		snprintf(dir, sizeof(dir), "%s", ex->o->store_dir);
	units_format_time(wall_ns(), now, sizeof(now));
	if (ex->q->has_since)
		units_format_time(ex->since, a, sizeof(a));
	else
		snprintf(a, sizeof(a), "start of recording");
	if (ex->q->has_until)
		units_format_time(ex->until, b, sizeof(b));
	else
		snprintf(b, sizeof(b), ex->o->follow ? "interrupted" : "end of recording");
	char prov[1024] = "";
	if (ex->proof_on) {
		prov[0] = '\n';
		if (proof_shb_lines(&ex->proof, prov + 1, sizeof(prov) - 1) < 0) {
			exporter_warn(ex, "the export is not signed: reading its chunks' digests "
				      "failed");
			ex->proof_on = false;
			prov[0] = 0;
		}
	}
	if (asprintf(&comment, "Query: %s\nStore: %s\nExported: %s\nWindow: %s .. %s%s%s",
		     ex->o->cmdline ? ex->o->cmdline : "", dir, now, a, b,
		     ex->o->no_secrets ? "\nSecrets: left out (--no-secrets)" : "", prov) < 0)
		return -ENOMEM;
	struct pcapng_shb_info shb = { .comment = comment, .hardware = hw, .os = os,
				       .userappl = appl };
	err = pcapng_write_shb(out, &shb);
	free(comment);
	return err;
}

/* The file's section: its SHB comes at the first flush (make_shb). With a proof, what is
 * written is hashed as it goes (the proof signs that, writer_written). */
static int start_file(struct exporter *ex)
{
	int err = writer_init_deferred(&ex->w, ex->out_fd, make_shb, ex);
	if (!err && ex->proof_on && writer_hash(&ex->w) < 0) {
		exporter_warn(ex, "the export is not signed: %s", strerror(ENOMEM));
		ex->proof_on = false;
	}
	return err;
}

/* ISBs for every IDB; with nothing exported, IDBs of every store interface first. */
static int finish_file(struct exporter *ex)
{
	uint64_t start, end;
	int err = 0;

	if (ex->w.packets == 0) {
		/* An empty answer is still a capture libpcap opens: it needs an IDB. */
		uint32_t n = store_interface_count(ex->s);
		for (uint32_t i = 0; i < n && err == 0; i++) {
			struct ecap_iface info;
			if (store_get_interface(ex->s, i, &info) == 0)
				err = writer_add_iface(&ex->w, i, &info);
		}
	}
	uint64_t span_first = 0, span_last = 0;
	store_time_span(ex->s, &span_first, &span_last);
	start = ex->q->has_since ? ex->since : span_first;
	end = ex->q->has_until ? ex->until : span_last;
	if (end < ex->hi_ts)
		end = ex->hi_ts;
	if (ex->q->has_until && end > wall_ns())
		end = ex->hi_ts > start ? ex->hi_ts : start;
	for (uint32_t i = 0; i < ex->w.n_ifs && err == 0; i++) {
		uint64_t drops = UINT64_MAX;
		if (store_count_drops(ex->s, ex->w.ifs[i].store_id, start, end, &drops) < 0)
			drops = UINT64_MAX;
		err = writer_isb(&ex->w, i, start, end, drops);
	}
	if (err == 0)
		err = writer_flush(&ex->w);
	return err;
}

/* ---- the run ------------------------------------------------------------------------ */

/* The chunks of the first batch (the whole window), for the proof and then the batch. */
static int find_first_chunks(struct exporter *ex)
{
	int err = store_find_chunks(ex->s, ex->since, ex->until, ex->selects ? &ex->sel : NULL,
				    &ex->first);
	if (err < 0) {
		chunk_list_free(&ex->first);
		return err;
	}
	ex->have_first = true;
	return 0;
}

/*
 * The proof (proof.h) when the export goes to a file: the store's key, and the chunks the
 * query will read (the run adds what it reads later): their digests and versions come from
 * the run's reads, the SHB's provenance lines at the first flush (make_shb). Without the key
 * (an older store, or no permission) the export goes on unsigned.
 */
static void begin_proof(struct exporter *ex, bool nothing)
{
	char why[512];
	const char *p = ex->o->out_path;
	struct stat st;
	/* a proof signs a file: not a pipe, a terminal or /dev/null */
	if (!p || !strcmp(p, "-") || fstat(ex->out_fd, &st) || !S_ISREG(st.st_mode))
		return;
	if (proof_begin(&ex->proof, store_dir_fd(ex->s), why, sizeof(why)) < 0) {
		exporter_warn(ex, "the export is not signed (no %s%s): %s", p, PROOF_SUFFIX, why);
		return;
	}
	ex->proof_on = true;
	if (!nothing && find_first_chunks(ex) == 0 &&
	    proof_add_chunks(&ex->proof, ex->first.v, ex->first.n) < 0) {
		exporter_warn(ex, "the export is not signed: %s", strerror(ENOMEM));
		ex->proof_on = false;
	}
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };
	nanosleep(&ts, NULL); /* a signal cuts it short: the loop checks export_stop */
}

/* --flow-ids: keep only those of the selected flows. */
static int keep_flow_ids(struct idset *sel, const struct idset *ids)
{
	size_t k = 0;
	for (size_t i = 0; i < sel->n; i++)
		if (idset_has(ids, sel->ids[i]))
			sel->ids[k++] = sel->ids[i];
	sel->n = k;
	return 0;
}

static int select_flows(struct exporter *ex)
{
	idset_free(&ex->sel);
	if (store_select_flows(ex->s, &ex->q->flows, &ex->sel) < 0) {
		exporter_warn(ex, "selecting flows: %s", store_errmsg(ex->s));
		return -EIO;
	}
	return ex->o->flow_ids ? keep_flow_ids(&ex->sel, ex->o->flow_ids) : 0;
}

/* The first selection: each selected flow's row, with its owners, is read once, for both the
 * selected set and the attribution map (one query where select_flows() and a walk of the same
 * flows made two). An owner that cannot be loaded is warned about (the packets go without its
 * comment), not fatal. */
struct first_selection {
	struct exporter *ex;
	int attrib_err;
};

static int first_selection_cb(const struct flow_info *fi, void *ctx)
{
	struct first_selection *fs = ctx;
	int err = idset_add(&fs->ex->sel, fi->rec.id);
	if (!err && !fs->attrib_err)
		fs->attrib_err = attrib_put(&fs->ex->at, &fi->rec);
	return err;
}

static int select_flows_first(struct exporter *ex)
{
	struct first_selection fs = { .ex = ex };
	idset_free(&ex->sel);
	int err = store_walk_flows(ex->s, &ex->q->flows, first_selection_cb, &fs);
	idset_seal(&ex->sel);
	if (err < 0) {
		exporter_warn(ex, "selecting flows: %s",
			      err == -ENOMEM ? strerror(ENOMEM) : store_errmsg(ex->s));
		return err == -ENOMEM ? err : -EIO;
	}
	if (fs.attrib_err < 0)
		exporter_warn(ex, "loading flows: %s", strerror(-fs.attrib_err));
	return ex->o->flow_ids ? keep_flow_ids(&ex->sel, ex->o->flow_ids) : 0;
}

/*
 * One pass over the chunks in [lo, until] newer than the last written (older: those up to
 * it, for flows selected only now).
 */
static int run_batch(struct exporter *ex, uint64_t lo, bool older, uint64_t *failed,
		     size_t *nchunks)
{
	struct chunk_list cl = { 0 }, fresh = { 0 };
	int err = 0;

	if (ex->have_first && lo == ex->since && !older && !ex->last_chunk_id) {
		cl = ex->first; /* found already, for the proof */
		ex->first = (struct chunk_list){ 0 };
		ex->have_first = false;
	} else {
		err = store_find_chunks(ex->s, lo, ex->until, ex->selects ? &ex->sel : NULL, &cl);
	}
	if (err < 0) {
		exporter_warn(ex, "finding chunks: %s", store_errmsg(ex->s));
		return err;
	}
	fresh = cl;
	if (ex->last_chunk_id || older) {
		size_t w = 0;
		for (size_t i = 0; i < cl.n; i++)
			if ((cl.v[i].id > ex->last_chunk_id) != older)
				cl.v[w++] = cl.v[i];
		fresh.n = w;
	}
	*nchunks = fresh.n;
	if (fresh.n && ex->proof_on && (err = proof_add_chunks(&ex->proof, fresh.v, fresh.n))) {
		exporter_warn(ex, "the export is not signed: %s", strerror(-err));
		ex->proof_on = false;
		err = 0;
	}
	if (fresh.n) {
		err = secrets_for_batch(ex, &fresh);
		if (err == 0)
			err = batch_packets(ex, &fresh, failed);
	}
	chunk_list_free(&cl);
	return err;
}

/*
 * Selects the flows again. A flow selected only now (its owner was learned late) may have
 * packets in chunks already passed: those are exported first, for the new flows alone.
 */
static int follow_select(struct exporter *ex, uint64_t *failed)
{
	struct idset prev = ex->sel, newly = { 0 };
	size_t n = 0;
	int err;

	ex->sel = (struct idset){ 0 };
	err = select_flows(ex);
	for (size_t i = 0; err == 0 && i < ex->sel.n; i++)
		if (!idset_has(&prev, ex->sel.ids[i]))
			err = idset_add(&newly, ex->sel.ids[i]);
	idset_seal(&newly);
	if (err == 0 && newly.n && ex->last_chunk_id) {
		struct idset all = ex->sel;
		ex->sel = newly;
		err = run_batch(ex, ex->since, true, failed, &n);
		ex->sel = all;
	}
	idset_free(&prev);
	idset_free(&newly);
	return err;
}

static int follow(struct exporter *ex, uint64_t *failed)
{
	int err = 0;

	while (!stopping() && err == 0) {
		sleep_ns(FOLLOW_POLL_NS);
		if (stopping())
			break;
		if (ex->q->has_until && wall_ns() > ex->until + FOLLOW_SLACK_NS)
			break;
		attrib_free(&ex->at);
		if ((err = attrib_init(&ex->at, ex->s)) < 0)
			break;
		/* Flows appear and learn their owners while we follow: ask again. */
		if (ex->selects && (err = follow_select(ex, failed)) < 0)
			break;
		uint64_t lo = ex->hi_ts > FOLLOW_SLACK_NS ? ex->hi_ts - FOLLOW_SLACK_NS : 0;
		size_t n = 0;
		err = run_batch(ex, lo > ex->since ? lo : ex->since, false, failed, &n);
		if (err == 0 && n)
			err = writer_flush(&ex->w);
	}
	return err;
}

/* A --pid without @START that names several processes (the pid was reused): say which. */
static void warn_pid_reuse(struct exporter *ex, const struct flow_filter *f)
{
	uint64_t starts[8];
	char line[512], t[40];
	size_t at;
	int n;

	for (size_t i = 0; i < f->n_pids; i++) {
		if (f->pid_starts[i])
			continue;
		n = store_pid_processes(ex->s, f, f->pids[i], starts, 8);
		if (n < 2)
			continue;
		at = (size_t)snprintf(line, sizeof(line), "--pid %u names %d processes (the pid was "
				      "reused); one of them is picked with --pid %u@START:", f->pids[i],
				      n, f->pids[i]);
		for (int k = 0; k < n && k < 8 && at < sizeof(line); k++) {
			if (starts[k])
				units_format_time(starts[k], t, sizeof(t));
			else
				snprintf(t, sizeof(t), "(start not recorded)");
			at += (size_t)snprintf(line + at, sizeof(line) - at, " %u@%s", f->pids[i], t);
		}
		exporter_warn(ex, "%s%s", line, n > 8 ? " ..." : "");
	}
}

int export_run(const struct export_options *o)
{
	struct exporter ex = { .o = o, .q = o->q, .out_fd = -1, .keylog_fd = -1 };
	struct store_options sopt;
	char err_text[PCAP_ERRBUF_SIZE + 64];
	uint64_t failed = 0;
	size_t nchunks = 0;
	const char *why = NULL;
	int rc = 1, err;

	ex.t0 = ex.last_report = mono_ns();
	ex.since = o->q->flows.since_ns;
	ex.until = o->q->flows.until_ns;
	ex.selects = flow_filter_selects(&o->q->flows) || o->flow_ids;

	if (pktfilter_init(&ex.pf, o->q->pcap_filter, err_text, sizeof(err_text)) < 0) {
		exporter_warn(&ex, "filter '%s': %s", o->q->pcap_filter, err_text);
		return 2;
	}
	store_options_default(&sopt);
	sopt.quiet = true;
	err = store_open(o->store_dir, STORE_READ, &sopt, &ex.s);
	if (err < 0) {
		exporter_warn(&ex, "%s", ex.s ? store_errmsg(ex.s) : strerror(-err));
		rc = err == -ENOENT || err == -EPERM || err == -EACCES ? 2 : 1;
		goto out_store;
	}
	store_read_begin(ex.s); /* the plan's queries in one read transaction */
	if ((err = attrib_init(&ex.at, ex.s)) < 0)
		goto out_store;
	if (ex.selects) {
		if ((err = select_flows_first(&ex)) < 0)
			goto out;
		warn_pid_reuse(&ex, &o->q->flows);
		if (!ex.sel.n)
			why = "no recorded connection matches the filters";
	}
	if ((err = open_output(&ex)) < 0)
		goto out;
	begin_proof(&ex, why != NULL);
	if ((err = start_file(&ex)) < 0)
		goto out;
	if (!why || o->follow)
		err = run_batch(&ex, ex.since, false, &failed, &nchunks);
	if (err == 0 && o->follow) {
		store_read_end(ex.s); /* each round sees what was indexed since */
		if ((err = writer_flush(&ex.w)) == 0)
			err = follow(&ex, &failed);
	}
	if (err == -EPIPE) {
		ex.stopped = true;
		err = 0;
	} else if (err == 0) {
		err = finish_file(&ex);
		if (err == -EPIPE) {
			ex.stopped = true;
			err = 0;
		}
	}
	clear_progress(&ex);
	if (err < 0) {
		exporter_warn(&ex, "export failed: %s", strerror(-err));
		goto out;
	}
	if (ex.w.packets == 0) {
		if (!why)
			why = nchunks == 0 ? "no packets were recorded in the time window"
					   : "no packet matched the filters";
		exporter_warn(&ex, "nothing matched: %s (%" PRIu64 " packets examined); the "
			      "output is an empty capture", why, ex.examined);
		rc = 1;
	} else {
		rc = failed || ex.secret_errors ? 1 : 0;
	}
	if (stopping() && !o->follow && ex.w.packets) {
		exporter_warn(&ex, "interrupted: the file is complete but ends with the "
			      "packets up to that moment");
		rc = 1;
	}
	if (failed)
		exporter_warn(&ex, "%" PRIu64 " chunks could not be read; their packets are "
			      "missing", failed);
	if (ex.secret_errors)
		exporter_warn(&ex, "the TLS secrets of some sessions could not be read (above); "
			      "the file lacks them");
	if (ex.at.lookups_failed)
		exporter_warn(&ex, "%" PRIu64 " flows are not in the index; their packets have "
			      "no process comment", ex.at.lookups_failed);
out:
	attrib_free(&ex.at);
	idset_free(&ex.sel);
	idset_free(&ex.secrets_done);
	chunk_list_free(&ex.first);
	/* the file as written, for the proof: what its descriptor says before it is closed */
	struct stat written_st;
	bool sign = ex.proof_on && err == 0 && !ex.stopped;
	if (sign && fstat(ex.out_fd, &written_st))
		sign = false, exporter_warn(&ex, "no proof written: %s: %s", o->out_path,
					    strerror(errno)), rc = 1;
	if (ex.out_fd > STDOUT_FILENO && close(ex.out_fd) < 0) {
		exporter_warn(&ex, "%s: %s%s", o->out_path, strerror(errno),
			      sign ? " (no proof written)" : "");
		sign = false;
		rc = rc ? rc : 1;
	}
	if (ex.keylog_fd >= 0)
		close(ex.keylog_fd);
	if (sign) {
		char why_not[512];
		struct proof_file written;
		writer_written(&ex.w, &written);
		if (proof_write(&ex.proof, o->out_path, &written_st, &written, why_not,
				sizeof(why_not)) < 0) {
			exporter_warn(&ex, "no proof written: %s", why_not);
			rc = 1;
		}
	}
	writer_free(&ex.w);
	proof_free(&ex.proof);
out_store:
	if (err < 0 && rc == 0)
		rc = 1;
	if (ex.s) {
		store_read_end(ex.s);
		store_close(ex.s);
	}
	pktfilter_free(&ex.pf);
	free(ex.ifstate);
	free(ex.ifinfo);
	return rc;
}
