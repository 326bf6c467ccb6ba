// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_full.c - the writer on a full disk (drop_when_full, live recording): a chunk that
 * does not fit is not stored, its packets are counted and the rest of it (flows, TLS
 * sessions, secrets, drops) moves to the next chunk; when the index itself has no room, its
 * transaction is rolled back, chunks are written without rows, and once there is room the
 * rows are added from the segments, as recovery would at the next open.
 */
#include "store_impl.h"

#include <errno.h>

/* With drop_when_full: err says the index has no room (SQLITE_FULL). */
bool store_index_full(const struct store *s, int err)
{
	return s->opt.drop_when_full && (err == -ENOSPC || err == -EDQUOT);
}

/* The open transaction was rolled back for lack of space: its chunks are on disk without
 * rows. Until store_catch_up() indexes them, chunks are written without rows. */
void store_fall_behind(struct store *s)
{
	if (!s->ix_behind) {
		s->ix_behind = true;
		s->behind_seg = s->txn_seg;
		s->behind_off = s->txn_off;
	}
	s->full = true;
}


/* What a chunk carries forward at most when the disk stays full: beyond, the oldest facts
 * are lost with their chunk. */
#define CARRY_FLOWS_MAX 16384
#define CARRY_OTHER_MAX 4096

/*
 * A chunk the full disk refused (drop_when_full): all but its packets moves to the open
 * chunk, so that its flows, TLS sessions, secrets and drop counts are stored with the next
 * chunk that fits. A flow the open chunk already has keeps its newer record there.
 */
int store_carry_over(struct store *s, const struct chunk_builder *from)
{
	const struct chunk_meta *m = &from->meta;
	struct chunk_builder *to = &s->cb;
	size_t i;
	int err = 0;
	for (i = 0; i < m->n_flows && !err && to->meta.n_flows < CARRY_FLOWS_MAX; i++)
		if (!chunk_builder_has_flow(to, m->flows[i].id))
			err = chunk_builder_add_flow(to, &m->flows[i]);
	for (i = 0; i < m->n_sessions && !err && to->meta.n_sessions < CARRY_OTHER_MAX; i++)
		err = chunk_builder_add_session(to, m->sessions[i].client_random,
						m->sessions[i].flow_id);
	for (i = 0; i < from->n_secrets && !err && to->n_secrets < CARRY_OTHER_MAX; i++)
		if (!chunk_builder_has_secret(to, &from->secrets[i]))
			err = chunk_builder_add_secret(to, &from->secrets[i]);
	for (i = 0; i < m->n_drops && !err && to->meta.n_drops < CARRY_OTHER_MAX; i++)
		err = chunk_builder_add_drops(to, m->drops[i].iface, m->drops[i].ts_ns,
					      m->drops[i].count);
	if (!chunk_builder_empty(to))
		store_chunk_begun(s);
	return err;
}

/*
 * Behind (drop_when_full): index the chunks written since behind_seg/behind_off from the
 * segments, as recovery would, seal the segments before the current one, and commit. When
 * the index has no room yet, it stays behind (and tries again a commit interval later).
 */
int store_catch_up(struct store *s)
{
	int err;
	if (s->last_catchup_mono && s->now_mono - s->last_catchup_mono < s->opt.commit_interval_ns)
		return 0;
	s->last_catchup_mono = s->now_mono ? s->now_mono : 1;
	if ((err = index_begin(s->ix)))
		return store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
	s->txn_open = true;
	for (uint32_t seg = s->behind_seg; seg <= s->seg_id && !err; seg++) {
		err = store_scan_segment(s, seg, seg == s->behind_seg ? s->behind_off : 0, false,
					 NULL, NULL);
		if (!err && (seg < s->seg_id || s->seg_fd < 0) &&
		    (err = index_set_segment(s->ix, seg, 0, true)))
			store_fail(s, err, "%s: %s", s->dir, index_errmsg(s->ix));
	}
	if (err) {
		index_rollback(s->ix);
		s->txn_open = false;
		return store_index_full(s, err) ? 0 : err;
	}
	s->ix_behind = false;
	s->txn_seg = s->behind_seg;
	s->txn_off = s->behind_off;
	if ((err = store_commit_txn(s)) || s->ix_behind)
		return err;
	store_notice(s, "the chunks written while the index had no room are indexed now");
	return 0;
}

void store_set_drop_when_full(struct store *s, bool on)
{
	s->opt.drop_when_full = on;
}

bool store_full(const struct store *s, uint64_t *packets_lost)
{
	if (packets_lost)
		*packets_lost = s->st.packets_lost;
	return s->full;
}
