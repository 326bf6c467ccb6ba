// SPDX-License-Identifier: GPL-2.0-only
/*
 * flow_keys.c - the per-chunk flow key filters of flow_keys.h: one row per chunk instead of
 * four index entries per flow (flows_by_addr_a, flows_by_addr_b, flows_by_ports,
 * flows_by_port_b before schema 7). A flow's keys are its two addresses, its two ports and
 * its two (address, port) pairs; a selection asks for a host's address, a port, or a tuple's
 * two pairs. Every flow row comes from a record in some chunk, and that chunk's row names its
 * id and holds its keys, so the chunks whose filter may hold a selection's keys give ranges of
 * ids that include every flow the selection matches; the query keeps its exact conditions on
 * the flow rows, so a false positive costs a few rows read, never a wrong answer.
 */
#include "flow_keys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "idruns.h"
#include "keyfilter.h"
#include "store.h"

#define KEYS_PER_FLOW FLOW_KEYS_PER_FLOW

const char flow_keys_insert_sql[] =
	"INSERT OR REPLACE INTO chunk_flow_keys(chunk_id, ids_lo, ids_hi, ids, filter) "
	"VALUES (?1, ?2, ?3, ?4, ?5)";

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int flow_keys_add(struct flow_keys *k, uint64_t id, const struct flow_key *key)
{
	if (k->n_flows == k->cap_flows) {
		size_t ncap = k->cap_flows ? k->cap_flows * 2 : 256;
		struct flow_keys_flow *p = realloc(k->flows, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		k->flows = p;
		k->cap_flows = ncap;
	}
	struct flow_keys_flow *f = &k->flows[k->n_flows++];
	f->id = id;
	f->keys[0] = keyfilter_addr(key->addr_a);
	f->keys[1] = keyfilter_addr(key->addr_b);
	f->keys[2] = keyfilter_port(key->port_a);
	f->keys[3] = keyfilter_port(key->port_b);
	f->keys[4] = keyfilter_addr_port(key->addr_a, key->port_a);
	f->keys[5] = keyfilter_addr_port(key->addr_b, key->port_b);
	return 0;
}

static int cmp_flow(const void *a, const void *b)
{
	uint64_t x = ((const struct flow_keys_flow *)a)->id;
	uint64_t y = ((const struct flow_keys_flow *)b)->id;
	return x < y ? -1 : x > y;
}

/* Appends group's filter to b as the `filter` column has it: its length, then itself. */
static int put_group(struct buf *b, struct buf *one, uint64_t *keys, size_t n_keys)
{
	buf_reset(one);
	int err = keyfilter_encode(one, keys, &n_keys);
	if (err)
		return err;
	uint8_t len[4] = { (uint8_t)one->len, (uint8_t)(one->len >> 8),
			   (uint8_t)(one->len >> 16), (uint8_t)(one->len >> 24) };
	return buf_append(b, len, 4) ? -ENOMEM : buf_append(b, one->data, one->len) ? -ENOMEM : 0;
}

int flow_keys_bind(struct flow_keys *k, sqlite3_stmt *st, uint64_t chunk_id)
{
	size_t n = 0;
	int err = 0;
	if (!k->n_flows)
		return 0;
	/* by id, each once (a flow's record repeated in a chunk has the same key); the writer
	 * adds them in id order (index.c add_flows), so most often there is nothing to sort */
	bool sorted = true;
	for (size_t i = 1; i < k->n_flows && sorted; i++)
		sorted = k->flows[i - 1].id <= k->flows[i].id;
	if (!sorted)
		qsort(k->flows, k->n_flows, sizeof(*k->flows), cmp_flow);
	for (size_t i = 0; i < k->n_flows; i++)
		if (!n || k->flows[n - 1].id != k->flows[i].id)
			k->flows[n++] = k->flows[i];
	if (n > k->cap_ids) {
		uint64_t *p = realloc(k->ids, n * sizeof(*p));
		if (!p) {
			err = -ENOMEM;
			goto out;
		}
		k->ids = p;
		k->cap_ids = n;
	}
	for (size_t i = 0; i < n; i++)
		k->ids[i] = k->flows[i].id;
	buf_reset(&k->ids_blob);
	buf_reset(&k->filter);
	if ((err = idruns_encode(&k->ids_blob, k->ids, n)))
		goto out;
	for (size_t g = 0; g < n && !err; g += FLOW_KEYS_GROUP) {
		size_t m = n - g < FLOW_KEYS_GROUP ? n - g : FLOW_KEYS_GROUP;
		uint64_t keys[FLOW_KEYS_GROUP * KEYS_PER_FLOW];
		for (size_t i = 0; i < m; i++)
			memcpy(keys + i * KEYS_PER_FLOW, k->flows[g + i].keys, sizeof(k->flows->keys));
		err = put_group(&k->filter, &k->one, keys, m * KEYS_PER_FLOW);
	}
	if (err)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)chunk_id);
	sqlite3_bind_int64(st, 2, (int64_t)k->ids[0]);
	sqlite3_bind_int64(st, 3, (int64_t)k->ids[n - 1]);
	sqlite3_bind_blob(st, 4, k->ids_blob.data, (int)k->ids_blob.len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, k->filter.data, (int)k->filter.len, SQLITE_STATIC);
out:
	k->n_flows = 0;
	return err ? err : 1;
}

void flow_keys_free(struct flow_keys *k)
{
	free(k->ids);
	free(k->flows);
	buf_free(&k->ids_blob);
	buf_free(&k->filter);
	buf_free(&k->one);
	memset(k, 0, sizeof(*k));
}

static int sqlite_errno(int rc)
{
	return rc == SQLITE_NOMEM ? -ENOMEM : rc == SQLITE_BUSY ? -EBUSY : -EIO;
}

/* A flow row of the migration's query, columns from 1 on, as a key. */
static void row_key(sqlite3_stmt *st, struct flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->proto = (uint8_t)sqlite3_column_int(st, 2);
	key->port_a = (uint16_t)sqlite3_column_int(st, 4);
	key->port_b = (uint16_t)sqlite3_column_int(st, 6);
	if (sqlite3_column_bytes(st, 3) == 16)
		memcpy(key->addr_a, sqlite3_column_blob(st, 3), 16);
	if (sqlite3_column_bytes(st, 5) == 16)
		memcpy(key->addr_b, sqlite3_column_blob(st, 5), 16);
}

int flow_keys_migrate(sqlite3 *db)
{
	sqlite3_stmt *sel = NULL, *ins = NULL;
	struct flow_keys k = { 0 };
	int64_t chunk = 0;
	int rc, err = 0;

	if ((rc = sqlite3_prepare_v2(db, "SELECT first_chunk, id, proto, addr_a, port_a, addr_b, "
				     "port_b FROM flows ORDER BY first_chunk, id", -1, &sel,
				     NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(db, flow_keys_insert_sql, -1, &ins, NULL)) != SQLITE_OK) {
		err = sqlite_errno(rc);
		goto out;
	}
	do {
		rc = sqlite3_step(sel);
		if (k.n_flows && (rc != SQLITE_ROW || sqlite3_column_int64(sel, 0) != chunk)) {
			err = flow_keys_bind(&k, ins, (uint64_t)chunk);
			if (err == 1) {
				err = sqlite3_step(ins) == SQLITE_DONE ? 0 : sqlite_errno(
					sqlite3_errcode(db));
				sqlite3_reset(ins);
			}
		}
		if (rc != SQLITE_ROW || err)
			continue;
		struct flow_key key;
		chunk = sqlite3_column_int64(sel, 0);
		row_key(sel, &key);
		err = flow_keys_add(&k, (uint64_t)sqlite3_column_int64(sel, 1), &key);
	} while (!err && rc == SQLITE_ROW);
	if (!err && rc != SQLITE_DONE)
		err = sqlite_errno(rc);
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	flow_keys_free(&k);
	return err;
}

/*
 * Retention: the rows of the chunks that go (temp.gone_chunks; those written since version 8,
 * from setting flow_keys_own_from on: older ones stay while a flow of their range does) name
 * flows that may outlive them: a flow whose record comes again in a later segment
 * (store_flow_epoch) gets no keys there (index_add_chunk adds keys only with a flow's first
 * row), so its keys move here into the row of the oldest chunk kept, made again from the
 * flows table with that row's own flows. Ids are read as runs of the stored blob (hostile
 * bytes: a run is a range query of the flows that are, never a walk of its ids); a damaged
 * blob gives what it gave up to the damage, and `ecap-fsck --rebuild` makes the rows again
 * from the segments. 0 or a negative errno.
 */
int flow_keys_carry(sqlite3 *db)
{
	static const char rows_sql[] =
		"SELECT chunk_id, ids FROM chunk_flow_keys WHERE (chunk_id IN "
		"(SELECT id FROM temp.gone_chunks) AND chunk_id >= coalesce((SELECT value FROM "
		"settings WHERE key = 'flow_keys_own_from'), 0)) OR chunk_id = ?1";
	static const char flows_sql[] =
		"SELECT first_chunk, id, proto, addr_a, port_a, addr_b, port_b FROM flows "
		"WHERE id BETWEEN ?1 AND ?2";
	sqlite3_stmt *keep_st = NULL, *rows = NULL, *sel = NULL, *ins = NULL;
	struct flow_keys k = { 0 };
	bool carried = false;
	int64_t keep = 0;
	int rc, err = 0;

	if ((rc = sqlite3_prepare_v2(db, "SELECT min(id) FROM chunks", -1, &keep_st, NULL)) !=
	    SQLITE_OK)
		return sqlite_errno(rc);
	rc = sqlite3_step(keep_st);
	if (rc != SQLITE_ROW || sqlite3_column_type(keep_st, 0) == SQLITE_NULL) {
		sqlite3_finalize(keep_st); /* no chunk left: no flow is left either */
		return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sqlite_errno(rc);
	}
	keep = sqlite3_column_int64(keep_st, 0);
	sqlite3_finalize(keep_st);
	if ((rc = sqlite3_prepare_v2(db, rows_sql, -1, &rows, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(db, flows_sql, -1, &sel, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(db, flow_keys_insert_sql, -1, &ins, NULL)) != SQLITE_OK) {
		err = sqlite_errno(rc);
		goto out;
	}
	sqlite3_bind_int64(rows, 1, keep);
	while (!err && (rc = sqlite3_step(rows)) == SQLITE_ROW) {
		bool own = sqlite3_column_int64(rows, 0) == keep;
		const uint8_t *ids = sqlite3_column_blob(rows, 1);
		size_t len = (size_t)sqlite3_column_bytes(rows, 1), off = 0;
		uint64_t next = 0, lo, hi;
		while (!err && idruns_next(ids, len, &off, &next, &lo, &hi) == 1) {
			sqlite3_bind_int64(sel, 1, (int64_t)lo);
			sqlite3_bind_int64(sel, 2, hi > INT64_MAX ? INT64_MAX : (int64_t)hi);
			while (!err && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
				struct flow_key key;
				row_key(sel, &key);
				err = flow_keys_add(&k, (uint64_t)sqlite3_column_int64(sel, 1), &key);
				carried |= !own;
			}
			if (!err && rc != SQLITE_DONE)
				err = sqlite_errno(rc);
			sqlite3_reset(sel);
		}
	}
	if (!err && rc != SQLITE_DONE)
		err = sqlite_errno(rc);
	if (!err && carried) { /* else the kept chunk's row stays as it is */
		err = flow_keys_bind(&k, ins, (uint64_t)keep);
		if (err == 1)
			err = sqlite3_step(ins) == SQLITE_DONE ? 0 : sqlite_errno(sqlite3_errcode(db));
	}
out:
	sqlite3_finalize(rows);
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	flow_keys_free(&k);
	return err;
}

/* ---- asking the filters ------------------------------------------------------------- */

/* A group of a chunk's flows may hold a flow the selection matches when its filter may hold
 * one of the hosts' keys (if any), one of the ports' (if any), and both pairs of one of the
 * tuples (if any), as the query ANDs these conditions. */
static bool any_key(const uint8_t *filter, size_t len, const uint64_t *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keyfilter_may_have(filter, len, keys[i]))
			return true;
	return false;
}

static bool group_may_match(const struct flow_keys_wanted *w, const uint8_t *filter, size_t len)
{
	if (w->n_hosts && !any_key(filter, len, w->hosts, w->n_hosts))
		return false;
	if (w->n_ports && !any_key(filter, len, w->ports, w->n_ports))
		return false;
	if (!w->n_tuples)
		return true;
	for (size_t i = 0; i < w->n_tuples; i++)
		if (keyfilter_may_have(filter, len, w->tuples[i][0]) &&
		    keyfilter_may_have(filter, len, w->tuples[i][1]))
			return true;
	return false;
}

/* The next group's filter of a `filter` column at *off: 1 and *f, *len; 0 at the end; -1 when
 * what is left is not a group (a damaged index: every group from there may match). */
static int next_group(const uint8_t *col, size_t col_len, size_t *off, const uint8_t **f,
		      size_t *len)
{
	if (*off == col_len)
		return 0;
	if (col_len - *off < 4)
		return -1;
	const uint8_t *p = col + *off;
	size_t n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
	if (n > col_len - *off - 4)
		return -1;
	*f = p + 4;
	*len = n;
	*off += 4 + n;
	return 1;
}

static int push_range(struct flow_id_ranges *r, uint64_t lo, uint64_t hi)
{
	if (r->n && r->v[r->n - 1].hi + 1 >= lo && r->v[r->n - 1].lo <= lo) {
		if (hi > r->v[r->n - 1].hi)
			r->v[r->n - 1].hi = hi;
		return 0;
	}
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		struct flow_id_range *p = realloc(r->v, ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		r->v = p;
		r->cap = ncap;
	}
	r->v[r->n++] = (struct flow_id_range){ lo, hi };
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct flow_id_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorted, overlapping and adjacent ranges joined, then the closest joined until at most
 * FLOW_ID_RANGES_MAX are left. */
static int settle(struct flow_id_ranges *r)
{
	if (r->n < 2)
		return 0;
	qsort(r->v, r->n, sizeof(*r->v), cmp_range);
	size_t m = 1;
	for (size_t i = 1; i < r->n; i++) {
		struct flow_id_range *last = &r->v[m - 1];
		if (r->v[i].lo <= last->hi + 1) {
			if (r->v[i].hi > last->hi)
				last->hi = r->v[i].hi;
		} else {
			r->v[m++] = r->v[i];
		}
	}
	r->n = m;
	if (m <= FLOW_ID_RANGES_MAX)
		return 0;
	uint64_t *gaps = malloc((m - 1) * sizeof(*gaps));
	if (!gaps)
		return -ENOMEM;
	for (size_t i = 1; i < m; i++)
		gaps[i - 1] = r->v[i].lo - r->v[i - 1].hi;
	qsort(gaps, m - 1, sizeof(*gaps), cmp_u64);
	/* join every gap below the largest FLOW_ID_RANGES_MAX - 1, and equal ones as needed */
	uint64_t cut = gaps[m - FLOW_ID_RANGES_MAX];
	free(gaps);
	size_t keep = m, n = 1;
	for (size_t i = 1; i < m; i++) {
		uint64_t gap = r->v[i].lo - r->v[n - 1].hi;
		if (gap < cut || (gap == cut && keep > FLOW_ID_RANGES_MAX)) {
			r->v[n - 1].hi = r->v[i].hi;
			keep--;
		} else {
			r->v[n++] = r->v[i];
		}
	}
	r->n = n;
	return 0;
}

int flow_keys_chunk_ranges(const struct flow_keys_wanted *w, const uint8_t *ids,
			   size_t ids_len, const uint8_t *filter, size_t len,
			   struct flow_id_ranges *r)
{
	size_t off = 0, foff = 0, glen = 0;
	const uint8_t *group = NULL;
	uint64_t next = 0, lo, hi;
	size_t left = 0; /* ids of the current group still to come */
	bool take = false, damaged = false;
	int n, err = 0;
	/* the ids in order, FLOW_KEYS_GROUP to a group; a run may span groups */
	while (!err && (n = idruns_next(ids, ids_len, &off, &next, &lo, &hi)) == 1) {
		while (!err && lo <= hi) {
			if (!left) {
				int g = damaged ? -1 : next_group(filter, len, &foff, &group, &glen);
				damaged = g != 1;
				take = damaged || group_may_match(w, group, glen);
				left = FLOW_KEYS_GROUP;
			}
			if (damaged) { /* no group left to ask: the rest at once (ids may lie) */
				err = push_range(r, lo, hi);
				break;
			}
			uint64_t room = left - 1, end = hi - lo > room ? lo + room : hi;
			if (take)
				err = push_range(r, lo, end);
			left -= (size_t)(end - lo + 1);
			if (end == hi)
				break;
			lo = end + 1;
		}
	}
	if (err)
		return err;
	return n < 0 || !ids_len ? 1 : 0;
}

static void wanted_from(struct flow_keys_wanted *w, const struct flow_filter *f)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < f->n_hosts; i++)
		w->hosts[w->n_hosts++] = keyfilter_addr(f->hosts[i]);
	for (size_t i = 0; i < f->n_ports; i++)
		w->ports[w->n_ports++] = keyfilter_port(f->ports[i]);
	for (size_t i = 0; i < f->n_tuples; i++) {
		const struct flow_key *t = &f->tuples[i];
		w->tuples[i][0] = keyfilter_addr_port(t->addr_a, t->port_a);
		w->tuples[i][1] = keyfilter_addr_port(t->addr_b, t->port_b);
		w->n_tuples++;
	}
}

int flow_keys_candidates(sqlite3 *db, const struct flow_filter *f, struct flow_keys_cache *c,
			 const struct flow_id_ranges **out)
{
	static const struct flow_id_ranges all = { .all = true };
	struct flow_keys_wanted w;
	struct flow_id_ranges *r = &c->r;
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	*out = &all;
	if (!f->n_hosts && !f->n_ports && !f->n_tuples)
		return 0;
	wanted_from(&w, f);
	if (!c->valid || memcmp(&w, &c->w, sizeof(w))) {
		c->valid = false;
		c->w = w;
		c->scanned_to = 0;
		r->n = 0;
		r->all = false;
	}
	rc = sqlite3_prepare_v2(db, "SELECT chunk_id, ids, filter FROM chunk_flow_keys "
				"WHERE chunk_id > ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite_errno(rc);
	sqlite3_bind_int64(st, 1, c->scanned_to);
	while (!err && !r->all && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *filter = sqlite3_column_blob(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2);
		c->scanned_to = sqlite3_column_int64(st, 0);
		err = flow_keys_chunk_ranges(&w, sqlite3_column_blob(st, 1),
					     (size_t)sqlite3_column_bytes(st, 1), filter, len, r);
		if (err == 1) {
			r->all = true; /* damaged: its flows could be any */
			err = 0;
		}
	}
	if (!err && !r->all && rc != SQLITE_DONE)
		err = sqlite_errno(rc);
	sqlite3_finalize(st);
	if (!err && !r->all)
		err = settle(r);
	if (r->all)
		r->n = 0;
	c->valid = !err;
	*out = r;
	return err;
}

void flow_keys_cache_free(struct flow_keys_cache *c)
{
	free(c->r.v);
	memset(c, 0, sizeof(*c));
}
