// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner_rows_drop.c - retention's owner_flows rows (owner_rows_drop.h): which rows may hold a
 * gone owner, found by one walk of the key per name and uid, then each deleted when no flow
 * of its process or group is left in its run.
 *
 * A row holds gone owner X (comm, uid, pid, start, netns) when it is X's own (pid_last NULL:
 * the same pid, start and netns) or a group's of X's comm, uid and netns whose pids
 * pid..pid_last include X's (index schema 11: pid_last - pid <= OWNER_PID_SPAN). Until now
 * one statement per gone owner read the range of pids X - OWNER_PID_SPAN .. X of its name and
 * uid, and with it every row of every process there: a long-lived daemon's of the same name
 * and uid a few pids below (one a chunk, for as long as the store keeps them) and the owner's
 * own rows after the last flow that went, again for each gone owner, at every pass. Here the
 * gone owners of one name and uid are taken in pid order, and the key is walked from the
 * lowest pid that may hold the first of them: a row of a process that is not gone, or of a
 * gone one but after the last flow gone, ends the walk through its (pid, start, netns) by a
 * seek past it; pids that can hold none of them are passed by a seek too. Group rows are read
 * one after another (one a chunk for a curl loop's processes, a few within OWNER_PID_SPAN of
 * each): each is read once for all the owners it may hold, where the range read it for each.
 * The rows deleted are those the range found, the group rows having start 0 as the writer
 * makes them (owner_ranges.c join()): a group row of another start inside a process's run of
 * rows is passed with them.
 */
#include "owner_rows_drop.h"

#include "chunkmeta.h"
#include "owner_ranges.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The key after the one given ((pid, start, netns, first_flow) > ...): a flow id is never
 * INT64_MAX, so (p, s, n, INT64_MAX) passes the rest of (p, s, n), and
 * (p - 1, INT64_MAX, ...) starts at pid p. */
static const char walk_sql[] =
	"SELECT pid, start, netns, first_flow, pid_last FROM owner_flows WHERE comm = ?1 AND "
	"uid = ?2 AND (pid, start, netns, first_flow) > (?3, ?4, ?5, ?6) AND pid <= ?7 "
	"ORDER BY pid, start, netns, first_flow";

static const char delete_sql[] =
	"DELETE FROM owner_flows AS o WHERE comm = ?1 AND uid = ?2 AND pid = ?3 AND start = ?4 "
	"AND netns = ?5 AND first_flow = ?6 AND NOT EXISTS (SELECT 1 FROM flows p WHERE p.id "
	"BETWEEN o.first_flow AND o.last_flow AND ((p.a_comm, p.a_uid, p.a_netns) = (o.comm, "
	"o.uid, o.netns) AND p.a_pid BETWEEN o.pid AND coalesce(o.pid_last, o.pid) AND "
	"(o.pid_last IS NOT NULL OR p.a_start = o.start) OR (p.b_comm, p.b_uid, p.b_netns) = "
	"(o.comm, o.uid, o.netns) AND p.b_pid BETWEEN o.pid AND coalesce(o.pid_last, o.pid) AND "
	"(o.pid_last IS NOT NULL OR p.b_start = o.start)))";

/* A gone owner of the name and uid at hand, or a key of owner_flows after them. */
struct owner_key {
	int64_t pid, start, netns, first_flow;
};

struct drop {
	sqlite3 *db;
	sqlite3_stmt *owners, *walk, *del;
	int64_t last_gone;
	sqlite3_value *comm; /* of the gone owners at hand */
	int64_t uid;
	struct owner_key *gone; /* theirs, by pid, start, netns (first_flow unused) */
	size_t n_gone, cap_gone;
	struct owner_key *rows; /* the rows that may hold one of them */
	size_t n_rows, cap_rows;
};

static int add_key(struct owner_key **v, size_t *n, size_t *cap, struct owner_key k)
{
	struct owner_key *slot = chunkmeta_grow((void **)v, n, cap, sizeof(*slot));
	if (!slot)
		return SQLITE_NOMEM;
	*slot = k;
	return SQLITE_OK;
}

/* Whether the row (its key k; pid_last pl when a group's) holds a gone owner, from gone[j]
 * on (the first whose pid is at least the row's): a group's of the same netns whose pids
 * include it, within OWNER_PID_SPAN; else its process (pid, start, netns). */
static bool holds_gone(const struct drop *d, size_t j, struct owner_key k, bool group,
		       int64_t pl)
{
	int64_t last = group ? pl : k.pid;
	if (group && k.pid <= INT64_MAX - OWNER_PID_SPAN && last > k.pid + OWNER_PID_SPAN)
		last = k.pid + OWNER_PID_SPAN;
	for (size_t i = j; i < d->n_gone && d->gone[i].pid <= last; i++)
		if (d->gone[i].netns == k.netns && (group || d->gone[i].start == k.start))
			return true;
	return false;
}

/* The key just before the first row of the lowest pid that may hold a process of this pid
 * (a pid of the index is any integer: no overflow). */
static struct owner_key reach_of(int64_t pid)
{
	int64_t lowest = pid < INT64_MIN + OWNER_PID_SPAN + 1 ? INT64_MIN : pid - OWNER_PID_SPAN - 1;
	return (struct owner_key){ lowest, INT64_MAX, INT64_MAX, INT64_MAX };
}

/* The rows that may hold the gone owners at hand, into d->rows: the walk of the key. */
static int walk_rows(struct drop *d)
{
	struct owner_key from = reach_of(d->gone[0].pid);
	size_t j = 0;
	int rc;
	sqlite3_bind_value(d->walk, 1, d->comm);
	sqlite3_bind_int64(d->walk, 2, d->uid);
	sqlite3_bind_int64(d->walk, 7, d->gone[d->n_gone - 1].pid);
	for (bool seek = true; seek;) {
		seek = false;
		sqlite3_reset(d->walk);
		sqlite3_bind_int64(d->walk, 3, from.pid);
		sqlite3_bind_int64(d->walk, 4, from.start);
		sqlite3_bind_int64(d->walk, 5, from.netns);
		sqlite3_bind_int64(d->walk, 6, from.first_flow);
		while (!seek && (rc = sqlite3_step(d->walk)) == SQLITE_ROW) {
			struct owner_key k = { sqlite3_column_int64(d->walk, 0),
					       sqlite3_column_int64(d->walk, 1),
					       sqlite3_column_int64(d->walk, 2),
					       sqlite3_column_int64(d->walk, 3) };
			bool group = sqlite3_column_type(d->walk, 4) != SQLITE_NULL;
			int64_t pl = sqlite3_column_int64(d->walk, 4);
			while (j < d->n_gone && d->gone[j].pid < k.pid)
				j++;
			if (j == d->n_gone)
				break;
			if (k.pid <= reach_of(d->gone[j].pid).pid) {
				/* no gone owner within reach: on to the pids that may hold the next */
				from = reach_of(d->gone[j].pid);
				seek = true;
			} else if (k.first_flow <= d->last_gone && holds_gone(d, j, k, group, pl)) {
				if ((rc = add_key(&d->rows, &d->n_rows, &d->cap_rows, k)) != SQLITE_OK)
					return rc;
			} else if (k.first_flow > d->last_gone || (!group && k.start != 0)) {
				/* the rest of this process's rows (or of these, after the last flow
				 * gone) cannot be taken: past them (a start 0 may hold groups, whose
				 * rows are read one by one) */
				from = (struct owner_key){ k.pid, k.start, k.netns, INT64_MAX };
				seek = true;
			}
		}
		if (!seek && rc != SQLITE_ROW && rc != SQLITE_DONE)
			return rc;
	}
	sqlite3_reset(d->walk);
	return SQLITE_OK;
}

/* The gone owners at hand: their rows found, then each deleted when it holds no flow. */
static int drop_rows(struct drop *d)
{
	d->n_rows = 0;
	int rc = walk_rows(d);
	for (size_t i = 0; i < d->n_rows && rc == SQLITE_OK; i++) {
		sqlite3_bind_value(d->del, 1, d->comm);
		sqlite3_bind_int64(d->del, 2, d->uid);
		sqlite3_bind_int64(d->del, 3, d->rows[i].pid);
		sqlite3_bind_int64(d->del, 4, d->rows[i].start);
		sqlite3_bind_int64(d->del, 5, d->rows[i].netns);
		sqlite3_bind_int64(d->del, 6, d->rows[i].first_flow);
		rc = sqlite3_step(d->del);
		sqlite3_reset(d->del);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	d->n_gone = 0;
	return rc;
}

/* Whether the owner at hand in d->owners is of the name and uid of those gathered. */
static bool same_name_uid(const struct drop *d)
{
	sqlite3_value *c = sqlite3_column_value(d->owners, 0);
	int n = sqlite3_value_bytes(c);
	return d->comm && sqlite3_value_type(c) == sqlite3_value_type(d->comm) &&
	       n == sqlite3_value_bytes(d->comm) &&
	       (!n || !memcmp(sqlite3_value_blob(c), sqlite3_value_blob(d->comm), (size_t)n)) &&
	       sqlite3_column_int64(d->owners, 1) == d->uid;
}

static int drop_all(struct drop *d)
{
	int rc;
	while ((rc = sqlite3_step(d->owners)) == SQLITE_ROW) {
		if (d->n_gone && !same_name_uid(d) && (rc = drop_rows(d)) != SQLITE_OK)
			return rc;
		if (!d->n_gone) {
			sqlite3_value_free(d->comm);
			if (!(d->comm = sqlite3_value_dup(sqlite3_column_value(d->owners, 0))))
				return SQLITE_NOMEM;
			d->uid = sqlite3_column_int64(d->owners, 1);
		}
		struct owner_key g = { sqlite3_column_int64(d->owners, 2),
				       sqlite3_column_int64(d->owners, 3),
				       sqlite3_column_int64(d->owners, 4), 0 };
		if ((rc = add_key(&d->gone, &d->n_gone, &d->cap_gone, g)) != SQLITE_OK)
			return rc;
	}
	if (rc != SQLITE_DONE)
		return rc;
	return d->n_gone ? drop_rows(d) : SQLITE_OK;
}

int owner_rows_drop(sqlite3 *db, int64_t last_gone)
{
	struct drop d = { .db = db, .last_gone = last_gone };
	int rc = sqlite3_prepare_v2(db, "SELECT comm, uid, pid, start, netns FROM "
				    "temp.gone_owners ORDER BY comm, uid, pid, start, netns", -1,
				    &d.owners, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, walk_sql, -1, &d.walk, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, delete_sql, -1, &d.del, NULL);
	if (rc == SQLITE_OK)
		rc = drop_all(&d);
	sqlite3_finalize(d.owners);
	sqlite3_finalize(d.walk);
	sqlite3_finalize(d.del);
	sqlite3_value_free(d.comm);
	free(d.gone);
	free(d.rows);
	return rc;
}
