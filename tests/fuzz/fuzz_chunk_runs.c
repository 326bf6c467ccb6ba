// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_chunk_runs.c - libFuzzer target for a flow's chunk list (schema/chunk_runs.c, index
 * schema 9's flows.chunk_runs): the group commit merges the list the index holds, store
 * bytes taken as they come, with a transaction's new runs (chunk_runs_merge), so a damaged or
 * hostile list must be refused or merged into a list that readers can trust: never a crash or
 * an endless loop.
 *
 * Input: u8 split; the first split bytes (at most the input) are the list held, the rest the
 * runs added. When the merge succeeds, its output must be a list this file makes: at most
 * CHUNK_RUNS_MAX runs in ascending order with a chunk between each two, and it must cover
 * every chunk of the list held and every chunk added after its end (a list may name more
 * chunks than the flow has, never fewer).
 */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "chunk_runs.h"
#include "idruns.h"

/* Each chunk above floor in the runs of in (a valid run list) is covered by the runs v[0..n)
 * (ascending, disjoint); returns the highest chunk of in. */
static uint64_t covered(const uint8_t *in, size_t len, const struct chunk_id_run *v, size_t n,
			uint64_t floor, int any_floor)
{
	size_t off = 0;
	uint64_t next = 0, lo, hi, top = 0;
	while (idruns_next(in, len, &off, &next, &lo, &hi) == 1) {
		top = hi > top ? hi : top;
		if (any_floor && hi <= floor)
			continue;
		uint64_t x = any_floor && lo <= floor ? floor + 1 : lo;
		size_t i = 0;
		for (;;) {
			while (i < n && v[i].hi < x)
				i++;
			if (i == n || v[i].lo > x)
				abort(); /* a chunk of the input is not in the merged list */
			if (v[i].hi >= hi)
				break;
			x = v[i].hi + 1;
		}
	}
	return top;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t split = data[0];
	data++;
	size--;
	if (split > size)
		split = size;
	const uint8_t *old = data, *add = data + split;
	size_t old_len = split, add_len = size - split;

	struct buf out = { 0 };
	if (chunk_runs_merge(old, old_len, add, add_len, &out) == 0) {
		struct chunk_id_run v[CHUNK_RUNS_MAX];
		size_t n = 0, off = 0;
		uint64_t next = 0, lo, hi;
		int r;
		while ((r = idruns_next(out.data, out.len, &off, &next, &lo, &hi)) == 1) {
			if (n == CHUNK_RUNS_MAX || lo > hi || (n && lo <= v[n - 1].hi + 1))
				abort(); /* not a list chunk_runs.c makes */
			v[n++] = (struct chunk_id_run){ lo, hi };
		}
		if (r != 0)
			abort(); /* the merge wrote a list it cannot read back */
		/* the list held whole; of the runs added, the chunks after the list's end (one at or
		 * before it was indexed before, and changes nothing) */
		uint64_t end = covered(old, old_len, v, n, 0, 0);
		covered(add, add_len, v, n, end, old_len > 0);
	}
	buf_free(&out);
	return 0;
}
