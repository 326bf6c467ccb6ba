// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_secrets_read.c - store_walk_secrets(): the TLS secrets of a set of flows' sessions,
 * the one way every reader of the store's secrets takes (export, tests; ecap-ls and the
 * recorder's status line count them with store_get_stats).
 *
 * Where they are (index.sql): the secrets of a session that are near it (stored in its chunk or
 * one of the INDEX_SECRET_WINDOW - 1 after it) are, since index schema 7, only in that chunk's
 * DSB, and the chunk's near_secrets says it has some; the others, and every secret indexed
 * before version 7, have a `secrets` row (found by the window as well, or by secret_chunks).
 * For each flow: its rows, then for each of its sessions the DSBs with near secrets of the
 * chunks up to INDEX_SECRET_WINDOW - 1 either side of the session row's chunk (the window is
 * anchored at the session's first row, and another flow's row of it, such as the same
 * ClientHello after NAT, can be in a later chunk of that window), from which the session's client_random's are taken, encoded as a row
 * would hold them (secret_blob.h) so that both answer alike; a (chunk, client_random) that
 * has a row is taken from the row. Then all of them in (client_random, chunk) order, as the
 * rows alone came before version 7.
 *
 * The DSBs read last are kept (DSB_CACHE chunks, each sorted by client_random), since the
 * sessions of consecutive flows share their chunks. A DSB that cannot be read (a damaged
 * chunk) is reported once, naming the segment and the chunk; the walk goes on with the rest
 * and returns that error at the end, after giving every secret it could read.
 */
#include "store_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secret_blob.h"
#include "segment.h"

#define DSB_CACHE 16u /* chunks; twice INDEX_SECRET_WINDOW */

struct dsb_entry {
	uint64_t chunk_id;          /* 0: empty (chunk ids start at 1) */
	struct tls_secret *v;       /* its DSBs' secrets, by client_random, then as stored */
	size_t n, cap;
	int err;                    /* reading it failed (reported when it was read) */
};

struct dsb_cache {
	struct dsb_entry e[DSB_CACHE];
};

/* A row, or what a DSB holds of one client_random, for the walk of one flow. */
struct secret_item {
	uint8_t client_random[32];
	uint64_t chunk_id, flow_id;
	size_t off, len;            /* its secrets (secret_blob.h) in walk.blobs */
};

/* What a walk knows of a chunk of the sessions' windows: whether it has near secrets, and
 * where it is. */
struct chunk_info {
	uint64_t id;                /* 0: empty */
	bool near;
	struct chunk_ref ref;
};

#define CHUNK_INFOS 64u /* a power of two */

struct walk {
	struct store *s;
	struct chunk_info info[CHUNK_INFOS];
	sqlite3_stmt *chunk_st;     /* a chunk's row, by id */
	struct secret_item *v;
	size_t n, cap;
	struct buf blobs;
	const struct tls_secret **pick; /* one client_random's secrets of a DSB */
	size_t pick_cap;
	int err;                    /* the first DSB that could not be read */
	char errmsg[640];
};

void store_secrets_read_free(struct store *s)
{
	if (!s->dsb_cache)
		return;
	for (size_t i = 0; i < DSB_CACHE; i++)
		free(s->dsb_cache->e[i].v);
	free(s->dsb_cache);
	s->dsb_cache = NULL;
}

static int collect_dsb_secret(const struct tls_secret *sec, void *ctx)
{
	struct dsb_entry *e = ctx;
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 64;
		struct tls_secret *v = realloc(e->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = *sec;
	return 0;
}

/* By client_random, then in the order stored: the pointers' order is the DSB's. */
static int cmp_random_then_place(const void *a, const void *b)
{
	const struct tls_secret *x = *(const struct tls_secret *const *)a;
	const struct tls_secret *y = *(const struct tls_secret *const *)b;
	int c = memcmp(x->client_random, y->client_random, 32);
	return c ? c : (x > y) - (x < y);
}

/* e's secrets by client_random, each client_random's in the order the DSB has them (so that
 * the first of a label stays the first, which secret_blob_encode keeps, as the index did). */
static int sort_by_random(struct dsb_entry *e)
{
	size_t n = e->n ? e->n : 1;
	struct tls_secret *sorted = malloc(n * sizeof(*sorted));
	const struct tls_secret **idx = malloc(n * sizeof(*idx));
	if (!sorted || !idx) {
		free(sorted);
		free(idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < e->n; i++)
		idx[i] = &e->v[i];
	qsort(idx, e->n, sizeof(*idx), cmp_random_then_place);
	for (size_t i = 0; i < e->n; i++)
		sorted[i] = *idx[i];
	free(idx);
	free(e->v);
	e->v = sorted;
	e->cap = e->n;
	return 0;
}

/* The secrets of chunk ref's DSBs, read unless the cache has them. NULL: no memory. A chunk
 * that cannot be read gives an entry with err set, reported (w->err, w->errmsg) the first
 * time; what its DSB gave before a broken line is kept. */
static struct dsb_entry *dsb_get(struct walk *w, const struct chunk_ref *ref)
{
	struct store *s = w->s;
	if (!s->dsb_cache && !(s->dsb_cache = calloc(1, sizeof(*s->dsb_cache))))
		return NULL;
	struct dsb_entry *e = &s->dsb_cache->e[ref->id % DSB_CACHE];
	if (e->chunk_id == ref->id && ref->id)
		return e;
	e->chunk_id = ref->id;
	e->n = 0;
	e->err = 0;
	struct chunk_view *v = NULL;
	int err = store_chunk_open_dsb(s, ref, &v);
	if (!err) {
		err = chunk_view_walk_secrets(v, collect_dsb_secret, e);
		char name[SEGMENT_NAME_MAX];
		segment_name(ref->segment, name);
		if (err == -EBADMSG)
			store_fail(s, err, "%s/%s: offset %llu: chunk %llu: a line of its DSB is "
				   "not a key log line", s->dir, name,
				   (unsigned long long)ref->offset, (unsigned long long)ref->id);
		else if (err)
			store_fail(s, err, "%s: chunk %llu: %s", s->dir,
				   (unsigned long long)ref->id, strerror(-err));
		store_chunk_close(s, v);
	}
	if (err == -ENOMEM) {
		e->chunk_id = 0;
		return NULL;
	}
	if (sort_by_random(e)) {
		e->chunk_id = 0;
		return NULL;
	}
	if (err) {
		e->err = err;
		if (!w->err) {
			w->err = err;
			snprintf(w->errmsg, sizeof(w->errmsg), "%s (its TLS secrets are missing "
				 "from the answer)", store_errmsg(s));
		}
	}
	return e;
}

static struct secret_item *item_new(struct walk *w)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		struct secret_item *v = realloc(w->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		w->v = v;
		w->cap = cap;
	}
	return &w->v[w->n++];
}

static bool has_item(const struct walk *w, const uint8_t cr[32], uint64_t chunk_id);

/* A row, unless found already (the query's two ways may both find it) */
static int add_row(struct walk *w, sqlite3_stmt *st)
{
	if (sqlite3_column_bytes(st, 1) != 32 ||
	    has_item(w, sqlite3_column_blob(st, 1), (uint64_t)sqlite3_column_int64(st, 3)))
		return 0;
	size_t len = (size_t)sqlite3_column_bytes(st, 0), off = w->blobs.len;
	if (!len)
		return 0;
	struct secret_item *it = item_new(w);
	if (!it || buf_append(&w->blobs, sqlite3_column_blob(st, 0), len))
		return -ENOMEM;
	memcpy(it->client_random, sqlite3_column_blob(st, 1), 32);
	it->flow_id = (uint64_t)sqlite3_column_int64(st, 2);
	it->chunk_id = (uint64_t)sqlite3_column_int64(st, 3);
	it->off = off;
	it->len = len;
	return 0;
}

static bool has_item(const struct walk *w, const uint8_t cr[32], uint64_t chunk_id)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].chunk_id == chunk_id && !memcmp(w->v[i].client_random, cr, 32))
			return true;
	return false;
}

/* cr's secrets in the DSB of chunk ref, as an item of flow_id, unless a row gave them. */
static int add_from_dsb(struct walk *w, const uint8_t cr[32], uint64_t flow_id,
			const struct chunk_ref *ref)
{
	if (has_item(w, cr, ref->id))
		return 0;
	struct dsb_entry *e = dsb_get(w, ref);
	if (!e)
		return -ENOMEM;
	size_t lo = 0, hi = e->n;
	while (lo < hi) { /* the first of cr */
		size_t mid = (lo + hi) / 2;
		if (memcmp(e->v[mid].client_random, cr, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t k = 0;
	for (size_t i = lo; i < e->n && !memcmp(e->v[i].client_random, cr, 32); i++) {
		if (k == w->pick_cap) {
			size_t cap = w->pick_cap ? 2 * w->pick_cap : 16;
			const struct tls_secret **p = realloc(w->pick, cap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			w->pick = p;
			w->pick_cap = cap;
		}
		w->pick[k++] = &e->v[i];
	}
	if (!k)
		return 0;
	size_t off = w->blobs.len;
	unsigned count;
	int err = secret_blob_encode(&w->blobs, w->pick, k, &count);
	if (err)
		return err;
	struct secret_item *it = item_new(w);
	if (!it)
		return -ENOMEM;
	memcpy(it->client_random, cr, 32);
	it->chunk_id = ref->id;
	it->flow_id = flow_id;
	it->off = off;
	it->len = w->blobs.len - off;
	return 0;
}

static int cmp_item(const void *a, const void *b)
{
	const struct secret_item *x = a, *y = b;
	int c = memcmp(x->client_random, y->client_random, 32);
	if (c)
		return c;
	return x->chunk_id < y->chunk_id ? -1 : x->chunk_id > y->chunk_id;
}

/* The walk's items, sorted, to fn; then none. */
static int give_items(struct walk *w, int (*fn)(const struct tls_secret *, uint64_t, void *),
		      void *ctx)
{
	int err = 0;
	if (w->n > 1)
		qsort(w->v, w->n, sizeof(*w->v), cmp_item);
	for (size_t i = 0; i < w->n && !err; i++) {
		const struct secret_item *it = &w->v[i];
		struct tls_secret sec = { 0 };
		size_t off = 0;
		memcpy(sec.client_random, it->client_random, 32);
		while (!err && secret_blob_next(w->blobs.data + it->off, it->len, &off, &sec) == 1)
			err = fn(&sec, it->flow_id, ctx);
	}
	w->n = 0;
	buf_reset(&w->blobs);
	return err;
}


#define NEAR(i) "t.chunk_id + " #i
_Static_assert(INDEX_SECRET_WINDOW == 8, "the list below has INDEX_SECRET_WINDOW terms");
/* A flow's rows: near its sessions (in its chunk or the next INDEX_SECRET_WINDOW - 1, by
 * key), and those secret_chunks lists; a row found both ways (stores of version 4 list every
 * row) is taken once (add_row). */
static const char flow_rows_sql[] =
	"SELECT x.secrets, x.client_random, t.flow_id, x.chunk_id FROM tls_sessions t "
	"JOIN secrets x ON x.client_random = t.client_random AND x.chunk_id IN ("
	NEAR(0) ", " NEAR(1) ", " NEAR(2) ", " NEAR(3) ", " NEAR(4) ", " NEAR(5) ", "
	NEAR(6) ", " NEAR(7) ") WHERE t.flow_id = ?1 "
	"UNION ALL SELECT x.secrets, x.client_random, t.flow_id, x.chunk_id FROM tls_sessions t "
	"JOIN secret_chunks c ON c.client_random = t.client_random "
	"JOIN secrets x ON x.chunk_id = c.chunk_id AND x.client_random = c.client_random "
	"WHERE t.flow_id = ?1";
#undef NEAR
static void chunk_ref_of(sqlite3_stmt *st, int col, struct chunk_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	ref->id = (uint64_t)sqlite3_column_int64(st, col);
	ref->segment = (uint32_t)sqlite3_column_int64(st, col + 1);
	ref->offset = (uint64_t)sqlite3_column_int64(st, col + 2);
	ref->length = (uint32_t)sqlite3_column_int64(st, col + 3);
	ref->raw_len = (uint32_t)sqlite3_column_int64(st, col + 4);
}

/* A flow's sessions. */
static const char flow_sessions_sql[] =
	"SELECT client_random, chunk_id FROM tls_sessions WHERE flow_id = ?1";

/* What the walk knows of chunk id, asked of the index the first time. NULL: an error. */
static const struct chunk_info *chunk_info(struct walk *w, uint64_t id)
{
	struct chunk_info *ci = &w->info[id & (CHUNK_INFOS - 1)];
	if (ci->id == id && id)
		return ci;
	static const char sql[] = "SELECT id, segment, offset, length, raw_len, near_secrets "
				  "FROM chunks WHERE id = ?1";
	if (!w->chunk_st &&
	    sqlite3_prepare_v2(index_db(w->s->ix), sql, -1, &w->chunk_st, NULL) != SQLITE_OK) {
		store_fail(w->s, -EIO, "%s: %s", w->s->dir, index_errmsg(w->s->ix));
		return NULL;
	}
	sqlite3_stmt *st = w->chunk_st;
	sqlite3_bind_int64(st, 1, (int64_t)id);
	int rc = sqlite3_step(st);
	ci->id = id;
	ci->near = rc == SQLITE_ROW && sqlite3_column_int64(st, 5) > 0;
	if (ci->near)
		chunk_ref_of(st, 0, &ci->ref);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ci->id = 0;
		store_fail(w->s, -EIO, "%s: %s", w->s->dir, index_errmsg(w->s->ix));
		return NULL;
	}
	return ci;
}

static int walk_flows(struct walk *w, const struct idset *flows,
		      int (*fn)(const struct tls_secret *, uint64_t, void *), void *ctx)
{
	sqlite3 *db = index_db(w->s->ix);
	sqlite3_stmt *rows = NULL, *near = NULL;
	if (sqlite3_prepare_v2(db, flow_sessions_sql, -1, &near, NULL) != SQLITE_OK)
		return store_fail(w->s, -EIO, "%s: %s", w->s->dir, index_errmsg(w->s->ix));
	int err = 0;
	for (size_t i = 0; i < flows->n && !err; i++) {
		/* Both ways to a flow's secrets start from its sessions: a flow without any
		 * (most are not TLS) has none, and the rows' statement (a union of two
		 * joins) is prepared only once a flow has a session. */
		sqlite3_bind_int64(near, 1, (int64_t)flows->ids[i]);
		int rc = sqlite3_step(near);
		sqlite3_reset(near);
		if (rc == SQLITE_DONE)
			continue;
		if (rc != SQLITE_ROW) {
			err = store_fail(w->s, -EIO, "%s: %s", w->s->dir, index_errmsg(w->s->ix));
			break;
		}
		if (!rows && sqlite3_prepare_v2(db, flow_rows_sql, -1, &rows, NULL) != SQLITE_OK) {
			err = store_fail(w->s, -EIO, "%s: %s", w->s->dir, index_errmsg(w->s->ix));
			break;
		}
		sqlite3_bind_int64(rows, 1, (int64_t)flows->ids[i]);
		while (!err && sqlite3_step(rows) == SQLITE_ROW)
			err = add_row(w, rows);
		sqlite3_reset(rows);
		sqlite3_bind_int64(near, 1, (int64_t)flows->ids[i]);
		while (!err && sqlite3_step(near) == SQLITE_ROW) {
			if (sqlite3_column_bytes(near, 0) != 32)
				continue;
			/* either side of the row's chunk: another flow's row of the session,
			 * INDEX_SECRET_WINDOW - 1 at most before this one, may anchor them */
			uint64_t at = (uint64_t)sqlite3_column_int64(near, 1);
			uint64_t first = at >= INDEX_SECRET_WINDOW ? at - (INDEX_SECRET_WINDOW - 1) : 0;
			for (uint64_t c = first; c < at + INDEX_SECRET_WINDOW && !err; c++) {
				const struct chunk_info *ci = chunk_info(w, c);
				if (!ci)
					err = -EIO;
				else if (ci->near)
					err = add_from_dsb(w, sqlite3_column_blob(near, 0),
							   flows->ids[i], &ci->ref);
			}
		}
		sqlite3_reset(near);
		if (!err)
			err = give_items(w, fn, ctx);
	}
	sqlite3_finalize(rows);
	sqlite3_finalize(near);
	return err;
}

/* Every row (with the first flow of its client_random's sessions, 0: none), in key order;
 * then, chunk by chunk, the secrets of the DSBs with near secrets that no row holds. */
static int walk_all(struct walk *w, int (*fn)(const struct tls_secret *, uint64_t, void *),
		    void *ctx)
{
	static const char *const sql[] = {
		"SELECT x.secrets, x.client_random, t.flow_id, x.chunk_id FROM secrets x "
		"LEFT JOIN (SELECT client_random, min(flow_id) AS flow_id FROM tls_sessions "
		"GROUP BY client_random) t ON t.client_random = x.client_random "
		"ORDER BY x.client_random, x.chunk_id",
		"SELECT id, segment, offset, length, raw_len FROM chunks WHERE near_secrets > 0 "
		"ORDER BY id",
		"SELECT coalesce(min(flow_id), 0), (SELECT count(*) FROM secrets WHERE "
		"chunk_id = ?2 AND client_random = ?1) FROM tls_sessions WHERE client_random = ?1",
	};
	sqlite3 *db = index_db(w->s->ix);
	sqlite3_stmt *st[3] = { NULL };
	int err = 0;
	for (size_t i = 0; i < 3 && !err; i++)
		if (sqlite3_prepare_v2(db, sql[i], -1, &st[i], NULL) != SQLITE_OK)
			err = store_fail(w->s, -EIO, "%s: %s", w->s->dir, index_errmsg(w->s->ix));
	while (!err && sqlite3_step(st[0]) == SQLITE_ROW) {
		err = add_row(w, st[0]);
		if (!err) /* one at a time: the rows come sorted */
			err = give_items(w, fn, ctx);
	}
	while (!err && sqlite3_step(st[1]) == SQLITE_ROW) {
		struct chunk_ref ref;
		chunk_ref_of(st[1], 0, &ref);
		struct dsb_entry *e = dsb_get(w, &ref);
		if (!e) {
			err = -ENOMEM;
			break;
		}
		for (size_t i = 0, j; i < e->n && !err; i = j) {
			const uint8_t *cr = e->v[i].client_random;
			for (j = i; j < e->n && !memcmp(e->v[j].client_random, cr, 32); j++)
				;
			sqlite3_bind_blob(st[2], 1, cr, 32, SQLITE_STATIC);
			sqlite3_bind_int64(st[2], 2, (int64_t)ref.id);
			if (sqlite3_step(st[2]) == SQLITE_ROW && !sqlite3_column_int64(st[2], 1))
				err = add_from_dsb(w, cr, (uint64_t)sqlite3_column_int64(st[2], 0),
						   &ref);
			sqlite3_reset(st[2]);
			/* e stays valid: add_from_dsb finds ref in the cache */
		}
		if (!err)
			err = give_items(w, fn, ctx);
	}
	for (size_t i = 0; i < 3; i++)
		sqlite3_finalize(st[i]);
	return err;
}

int store_walk_secrets(struct store *s, const struct idset *flows,
		       int (*fn)(const struct tls_secret *sec, uint64_t flow_id, void *ctx),
		       void *ctx)
{
	struct walk *w = calloc(1, sizeof(*w));
	if (!w)
		return store_fail(s, -ENOMEM, "%s: out of memory", s->dir);
	w->s = s;
	int err = flows ? walk_flows(w, flows, fn, ctx) : walk_all(w, fn, ctx);
	sqlite3_finalize(w->chunk_st);
	free(w->v);
	free(w->pick);
	buf_free(&w->blobs);
	if (!err && w->err)
		err = store_fail(s, w->err, "%s", w->errmsg);
	free(w);
	return err;
}
