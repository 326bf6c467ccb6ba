// SPDX-License-Identifier: GPL-2.0-only
/* chunk_runs.c - a flow's chunks as runs (chunk_runs.h): the list's rule and its SQL
 * function. */
#include "chunk_runs.h"

#include <errno.h>
#include <stdlib.h>

#include "idruns.h"

void chunk_runs_add(struct chunk_id_run *v, size_t *n, uint64_t lo, uint64_t hi)
{
	if (*n) {
		struct chunk_id_run *last = &v[*n - 1];
		if (hi <= last->hi)
			return; /* indexed again */
		if (lo <= last->hi)
			lo = last->hi + 1;
		if (lo - last->hi <= 1 + CHUNK_RUNS_GAP || *n == CHUNK_RUNS_MAX) {
			last->hi = hi;
			return;
		}
	}
	v[(*n)++] = (struct chunk_id_run){ lo, hi };
}

int chunk_runs_merge(const uint8_t *old, size_t old_len, const uint8_t *add, size_t add_len,
		     struct buf *out)
{
	struct chunk_id_run v[CHUNK_RUNS_MAX];
	size_t n = 0, off = 0;
	uint64_t next = 0, lo, hi;
	int r;
	while ((r = idruns_next(old, old_len, &off, &next, &lo, &hi)) == 1) {
		if (n == CHUNK_RUNS_MAX || (n && lo <= v[n - 1].hi + 1))
			return -EBADMSG; /* not a list this file makes */
		v[n++] = (struct chunk_id_run){ lo, hi };
	}
	if (r < 0)
		return r;
	off = 0;
	next = 0;
	while ((r = idruns_next(add, add_len, &off, &next, &lo, &hi)) == 1)
		chunk_runs_add(v, &n, lo, hi);
	if (r < 0)
		return r;
	next = 0;
	for (size_t i = 0; i < n; i++)
		if ((r = idruns_put(out, &next, v[i].lo, v[i].hi)))
			return r;
	return 0;
}

static void add_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return; /* NULL: the flow has no list */
	if (sqlite3_value_type(argv[1]) == SQLITE_NULL) {
		sqlite3_result_value(ctx, argv[0]);
		return;
	}
	struct buf *b = sqlite3_user_data(ctx);
	const uint8_t *old = sqlite3_value_blob(argv[0]), *add = sqlite3_value_blob(argv[1]);
	size_t old_len = (size_t)sqlite3_value_bytes(argv[0]);
	size_t add_len = (size_t)sqlite3_value_bytes(argv[1]);
	buf_reset(b);
	int err = chunk_runs_merge(old, old_len, add, add_len, b);
	if (err == -ENOMEM)
		sqlite3_result_error_nomem(ctx);
	else if (!err) /* a non-NULL pointer: an empty list is an empty blob, not NULL */
		sqlite3_result_blob(ctx, b->len ? (const void *)b->data : "", (int)b->len,
				    SQLITE_TRANSIENT);
	/* damage: NULL, the flow's range is scanned */
}

static void free_buf(void *p)
{
	buf_free(p);
	free(p);
}

int chunk_runs_register(sqlite3 *db)
{
	struct buf *b = calloc(1, sizeof(*b));
	if (!b)
		return SQLITE_NOMEM;
	return sqlite3_create_function_v2(db, "ecap_chunk_runs_add", 2,
					  SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
					  b, add_fn, NULL, NULL, free_buf);
}
