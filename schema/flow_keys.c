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

#define KEYS_PER_FLOW 6

const char flow_keys_insert_sql[] =
	"INSERT OR REPLACE INTO chunk_flow_keys(chunk_id, ids_lo, ids_hi, ids, filter) "
	"VALUES (?1, ?2, ?3, ?4, ?5)";

static int grow(uint64_t **v, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 256;
	while (ncap < need)
		ncap *= 2;
	uint64_t *p = realloc(*v, ncap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

int flow_keys_add(struct flow_keys *k, uint64_t id, const struct flow_key *key)
{
	if (grow(&k->ids, &k->cap_ids, k->n_ids + 1) ||
	    grow(&k->keys, &k->cap_keys, k->n_keys + KEYS_PER_FLOW))
		return -ENOMEM;
	k->ids[k->n_ids++] = id;
	uint64_t *h = k->keys + k->n_keys;
	h[0] = keyfilter_addr(key->addr_a);
	h[1] = keyfilter_addr(key->addr_b);
	h[2] = keyfilter_port(key->port_a);
	h[3] = keyfilter_port(key->port_b);
	h[4] = keyfilter_addr_port(key->addr_a, key->port_a);
	h[5] = keyfilter_addr_port(key->addr_b, key->port_b);
	k->n_keys += KEYS_PER_FLOW;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int flow_keys_bind(struct flow_keys *k, sqlite3_stmt *st, uint64_t chunk_id)
{
	size_t n = 0, n_keys = k->n_keys;
	int err = 0;
	if (!k->n_ids)
		return 0;
	qsort(k->ids, k->n_ids, sizeof(*k->ids), cmp_u64);
	for (size_t i = 0; i < k->n_ids; i++)
		if (!n || k->ids[n - 1] != k->ids[i])
			k->ids[n++] = k->ids[i];
	buf_reset(&k->ids_blob);
	buf_reset(&k->filter);
	if ((err = idruns_encode(&k->ids_blob, k->ids, n)) ||
	    (err = keyfilter_encode(&k->filter, k->keys, &n_keys)))
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)chunk_id);
	sqlite3_bind_int64(st, 2, (int64_t)k->ids[0]);
	sqlite3_bind_int64(st, 3, (int64_t)k->ids[n - 1]);
	sqlite3_bind_blob(st, 4, k->ids_blob.data, (int)k->ids_blob.len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, k->filter.data, (int)k->filter.len, SQLITE_STATIC);
out:
	k->n_ids = k->n_keys = 0;
	return err ? err : 1;
}

void flow_keys_free(struct flow_keys *k)
{
	free(k->ids);
	free(k->keys);
	buf_free(&k->ids_blob);
	buf_free(&k->filter);
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
		if (k.n_ids && (rc != SQLITE_ROW || sqlite3_column_int64(sel, 0) != chunk)) {
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

/* ---- asking the filters ------------------------------------------------------------- */

/* A chunk may hold a flow the selection matches when its filter may hold one of the hosts'
 * keys (if any), one of the ports' (if any), and both pairs of one of the tuples (if any), as
 * the query ANDs these conditions. */
static bool any_key(const uint8_t *filter, size_t len, const uint64_t *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keyfilter_may_have(filter, len, keys[i]))
			return true;
	return false;
}

static bool chunk_may_match(const struct flow_keys_wanted *w, const uint8_t *filter, size_t len)
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
		if (!chunk_may_match(&w, filter, len))
			continue;
		const uint8_t *ids = sqlite3_column_blob(st, 1);
		size_t ids_len = (size_t)sqlite3_column_bytes(st, 1), off = 0;
		uint64_t next = 0, lo, hi;
		int n;
		while ((n = idruns_next(ids, ids_len, &off, &next, &lo, &hi)) == 1 && !err)
			err = push_range(r, lo, hi);
		if (n < 0 || (!ids_len && !err))
			r->all = true; /* damaged: its flows could be any */
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
