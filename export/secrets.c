// SPDX-License-Identifier: GPL-2.0-only
/*
 * secrets.c - which TLS secrets an export writes: exactly those of the sessions whose
 * packets it exports, each once, all before the packets of the batch (export_impl.h).
 *
 * For a batch of chunks:
 *   1. candidate flows C, from the index: the selected flows when there is a flow filter,
 *      else the flows active in the batch's window;
 *   2. the secrets of C's sessions (store_walk_secrets), minus those already written (an
 *      earlier --follow batch); nothing left: done. A chunk whose DSB cannot be read is
 *      reported and counted (the export then exits 1), and the others' secrets written;
 *   3. with a libpcap filter, which can drop whole flows, keep only the secrets of flows
 *      with at least one packet that passes it: a first read of just the batch's chunks
 *      that hold flows with secrets (store_find_chunks on that flow set);
 *   4. one DSB (NSS key log text) with them, and the same lines to --keylog.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export_impl.h"

struct secret_item {
	uint64_t hash;     /* of (label, client_random) */
	uint64_t flow_id;
	struct tls_secret sec;
};

struct secret_vec {
	struct exporter *ex;
	struct secret_item *v;
	size_t n, cap;
};

static uint64_t secret_hash(const struct tls_secret *sec)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t n = strnlen(sec->label, ECAP_LABEL_MAX);

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)sec->label[i]) * 0x100000001b3ull;
	h = (h ^ 0xff) * 0x100000001b3ull;
	for (size_t i = 0; i < 32; i++)
		h = (h ^ sec->client_random[i]) * 0x100000001b3ull;
	return h;
}

static int collect_secret(const struct tls_secret *sec, uint64_t flow_id, void *ctx)
{
	struct secret_vec *sv = ctx;
	uint64_t h = secret_hash(sec);

	if (idset_has(&sv->ex->secrets_done, h))
		return 0;
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 64;
		struct secret_item *v = realloc(sv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = (struct secret_item){ .hash = h, .flow_id = flow_id, .sec = *sec };
	return 0;
}

static int cmp_item(const void *a, const void *b)
{
	const struct secret_item *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return memcmp(x->sec.client_random, y->sec.client_random, 32);
}

static int write_keylog(struct exporter *ex, const struct tls_secret *v, size_t n)
{
	char line[WRITER_KEYLOG_LINE_MAX];

	for (size_t i = 0; i < n; i++) {
		int len = writer_keylog_line(&v[i], line, sizeof(line));
		if (len < 0)
			return len;
		for (int off = 0; off < len;) {
			ssize_t w = write(ex->keylog_fd, line + off, (size_t)(len - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			off += (int)w;
		}
	}
	return 0;
}

/* Writes the items (those whose flow is in `keep`, when given), each secret once. */
static int write_items(struct exporter *ex, struct secret_vec *sv, const struct idset *keep)
{
	struct tls_secret *secs = malloc(sv->n * sizeof(*secs));
	size_t n = 0;
	int err;

	if (!secs)
		return -ENOMEM;
	/* A session seen in two exported flows walks its secrets twice: keep each once. */
	qsort(sv->v, sv->n, sizeof(*sv->v), cmp_item);
	for (size_t i = 0; i < sv->n; i++) {
		if (keep && !idset_has(keep, sv->v[i].flow_id))
			continue;
		if (n && secret_hash(&secs[n - 1]) == sv->v[i].hash)
			continue;
		secs[n++] = sv->v[i].sec;
	}
	err = n ? writer_secrets(&ex->w, secs, n) : 0;
	if (err == 0 && n && ex->keylog_fd >= 0 && (err = write_keylog(ex, secs, n)) < 0)
		exporter_warn(ex, "%s: %s", ex->o->keylog_path, strerror(-err));
	for (size_t i = 0; err == 0 && i < n; i++)
		err = idset_add(&ex->secrets_done, secret_hash(&secs[i]));
	idset_seal(&ex->secrets_done);
	free(secs);
	return err;
}

/* Flows of `with` that have a packet in the batch's chunks passing every filter. */
static int flows_with_packets(struct exporter *ex, const struct chunk_list *batch,
			      const struct idset *with, struct idset *out)
{
	struct chunk_list cl = { 0 };
	struct idset in_batch = { 0 };
	int err;

	err = store_find_chunks(ex->s, ex->since, ex->until, with, &cl);
	if (err < 0) {
		exporter_warn(ex, "finding chunks: %s", store_errmsg(ex->s));
		return err;
	}
	for (size_t i = 0; i < batch->n && !err; i++)
		err = idset_add(&in_batch, batch->v[i].id);
	idset_seal(&in_batch);
	for (size_t i = 0; i < cl.n && !err; i++) {
		struct chunk_view *v;
		struct ecap_packet pkt;
		int r;
		if (!idset_has(&in_batch, cl.v[i].id))
			continue;
		if (store_chunk_open_flows(ex->s, &cl.v[i], with, &v) < 0)
			continue; /* reported by the merge, which meets it again */
		while ((r = chunk_view_next(v, &pkt)) == 1)
			if (pkt.flow_id && idset_has(with, pkt.flow_id) &&
			    exporter_accept(ex, &pkt) && idset_add(out, pkt.flow_id) < 0)
				r = -ENOMEM;
		store_chunk_close(ex->s, v);
		if (r < 0)
			err = r;
	}
	idset_seal(out);
	idset_free(&in_batch);
	chunk_list_free(&cl);
	return err;
}

int secrets_for_batch(struct exporter *ex, const struct chunk_list *cl)
{
	struct secret_vec sv = { .ex = ex };
	struct idset window = { 0 }, with = { 0 }, passing = { 0 };
	const struct idset *cand = &ex->sel;
	int err = 0;

	if (ex->o->no_secrets || !cl->n)
		return 0;
	if (!ex->selects) {
		/* The window of this batch: flows that ended before it have no packets in it. */
		struct flow_filter f;
		flow_filter_init(&f);
		f.since_ns = cl->v[0].first_ns;
		for (size_t i = 1; i < cl->n; i++)
			if (cl->v[i].first_ns < f.since_ns)
				f.since_ns = cl->v[i].first_ns;
		if (f.since_ns < ex->since)
			f.since_ns = ex->since;
		f.until_ns = ex->until;
		if ((err = store_select_flows(ex->s, &f, &window)) < 0) {
			exporter_warn(ex, "selecting flows: %s", store_errmsg(ex->s));
			goto out;
		}
		cand = &window;
	}
	if (cand->n && (err = store_walk_secrets(ex->s, cand, collect_secret, &sv)) < 0) {
		exporter_warn(ex, "reading secrets: %s", store_errmsg(ex->s));
		if (err == -ENOMEM)
			goto out;
		/* a damaged chunk's DSB: the secrets read from the others are written */
		ex->secret_errors++;
		err = 0;
	}
	if (!sv.n)
		goto out;
	if (!ex->q->pcap_filter) {
		err = write_items(ex, &sv, NULL);
		goto out;
	}
	for (size_t i = 0; i < sv.n && !err; i++)
		err = idset_add(&with, sv.v[i].flow_id);
	idset_seal(&with);
	if (!err)
		err = flows_with_packets(ex, cl, &with, &passing);
	if (!err)
		err = write_items(ex, &sv, &passing);
out:
	free(sv.v);
	idset_free(&window);
	idset_free(&with);
	idset_free(&passing);
	return err;
}
