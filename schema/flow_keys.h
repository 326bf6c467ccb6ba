/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flow_keys.h - the rows of chunk_flow_keys (index schema 7, index.sql): for each chunk, the
 * ids of the flows whose records it carries (idruns.h) and a filter of their keys
 * (keyfilter.h). Made by index_add_chunk() through flow_keys_add() and flow_keys_bind(),
 * filled for the chunks of an older index by flow_keys_migrate(), and asked by a selection by
 * address, port or tuple through flow_keys_candidates(): which ranges of flow ids can hold
 * its flows, so that its query reads those and not every flow.
 */
#ifndef ECAP_FLOW_KEYS_H
#define ECAP_FLOW_KEYS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "records.h"
#include "store.h"

/* A chunk's flows are cut, in id order, into groups of FLOW_KEYS_GROUP, each with a filter of
 * its own: a selection that matches one flow of a chunk that records thousands (the first
 * chunk of a store, which records every flow already running) reads that flow's group, not
 * all of them. The `filter` column is the groups' filters one after the other, each as
 *   u32 len (little-endian); u8 filter[len] (keyfilter.c's format)
 * group i holding the keys of the ids i * FLOW_KEYS_GROUP.. of the `ids` column. */
#define FLOW_KEYS_GROUP 64
#define FLOW_KEYS_PER_FLOW 6

struct flow_keys_flow {
	uint64_t id;
	uint64_t keys[FLOW_KEYS_PER_FLOW];
};

/* What one chunk's row is made of, gathered flow by flow. */
struct flow_keys {
	struct flow_keys_flow *flows;
	size_t n_flows, cap_flows;
	uint64_t *ids;
	size_t cap_ids;
	struct buf ids_blob, filter, one;
};

/* The statement flow_keys_bind() binds (prepared by the index with its others). */
extern const char flow_keys_insert_sql[];

/* Adds flow id with key to the chunk's row being gathered. 0 or -ENOMEM. */
int flow_keys_add(struct flow_keys *k, uint64_t id, const struct flow_key *key);
/* Binds the gathered row as chunk chunk_id's to st (flow_keys_insert_sql) and starts again
 * from nothing: 1 bound (the caller steps st), 0 no flow was added, -ENOMEM. */
int flow_keys_bind(struct flow_keys *k, sqlite3_stmt *st, uint64_t chunk_id);
void flow_keys_free(struct flow_keys *k);

/* Index schema 6 to 7: a row per chunk from the flows whose first_chunk it is (the chunk of
 * their first record, or of a packet before it); a flow whose first chunk is gone gets a
 * row of that chunk's id too, as retention leaves them. 0 or a negative errno. */
int flow_keys_migrate(sqlite3 *db);

/* Retention, before the rows of the chunks in temp.gone_chunks go: the keys of their flows
 * that are left move into the row of the oldest chunk kept (flow_keys.c). 0 or -errno. */
int flow_keys_carry(sqlite3 *db);

struct flow_id_range {
	uint64_t lo, hi;
};

/* The flow ids a selection by f's hosts, ports and tuples can match. all: any (f selects by
 * none of them, or a row could not be read); else v[0..n) ascending, apart, and none (n 0)
 * when no chunk's filter may hold the keys. */
struct flow_id_ranges {
	bool all;
	struct flow_id_range *v;
	size_t n, cap;
};

/* At most this many ranges: beyond, the closest are joined (what lies between is read and
 * left out by the query's own conditions). */
#define FLOW_ID_RANGES_MAX 1024

/* The keys a selection asks for (hashes, as keyfilter.h makes them). */
struct flow_keys_wanted {
	uint64_t hosts[STORE_MATCH_MAX], ports[STORE_MATCH_MAX], tuples[STORE_MATCH_MAX][2];
	size_t n_hosts, n_ports, n_tuples;
};

/* The answer for the last selection a store handle asked about, up to chunk scanned_to: an
 * export selects and then walks the same flows, and --follow asks again every 500 ms; only
 * the rows of chunks indexed since are read again. Zeroed: empty. */
struct flow_keys_cache {
	bool valid;
	struct flow_keys_wanted w;
	int64_t scanned_to;
	struct flow_id_ranges r;
};

/* Adds to r the ranges of chunk's flow ids (its `ids` and `filter` columns, as stored: hostile
 * bytes) whose group's filter may hold what w asks. 0; 1 when ids is damaged or empty (its
 * flows could be any); -ENOMEM. A damaged filter makes its groups from there on match. */
int flow_keys_chunk_ranges(const struct flow_keys_wanted *w, const uint8_t *ids,
			   size_t ids_len, const uint8_t *filter, size_t len,
			   struct flow_id_ranges *r);

/* The ranges of flow ids a selection by f's hosts, ports and tuples can match, kept in c (valid
 * until the next call with c); *out points at them. 0 or a negative errno. */
int flow_keys_candidates(sqlite3 *db, const struct flow_filter *f, struct flow_keys_cache *c,
			 const struct flow_id_ranges **out);
void flow_keys_cache_free(struct flow_keys_cache *c);

#endif
