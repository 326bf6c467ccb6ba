// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_flow_keys.c - libFuzzer target for the index's per-chunk flow key rows (schema/
 * flow_keys.c, keyfilter.c, idruns.c): the `ids` and `filter` columns of chunk_flow_keys are
 * store bytes a reader takes as they come, so a damaged or hostile index must give ranges
 * within what the ids say (or "any flow"), never a crash or an endless loop.
 *
 * Input: u8 split; the first split bytes (at most the input) are the ids column, the rest
 * the filter column. The selection asks for a host, a port and a tuple made from the input's
 * first bytes, then a host alone. Every range given must lie within the ids' own runs.
 * The filter bytes are also asked directly (keyfilter_may_have).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow_keys.h"
#include "idruns.h"
#include "keyfilter.h"

static void ask(const struct flow_keys_wanted *w, const uint8_t *ids, size_t ids_len,
		const uint8_t *filter, size_t len)
{
	struct flow_id_ranges r = { 0 };
	int rc = flow_keys_chunk_ranges(w, ids, ids_len, filter, len, &r);
	if (rc == 0) {
		/* ranges within the ids' runs (adjacent runs may be given as one range) */
		size_t off = 0;
		uint64_t next = 0, lo, hi, min = UINT64_MAX, max = 0;
		while (idruns_next(ids, ids_len, &off, &next, &lo, &hi) == 1) {
			min = lo < min ? lo : min;
			max = hi > max ? hi : max;
		}
		for (size_t i = 0; i < r.n; i++)
			if (r.v[i].lo < min || r.v[i].hi > max || r.v[i].lo > r.v[i].hi)
				abort();
	}
	free(r.v);
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
	const uint8_t *ids = data, *filter = data + split;
	size_t ids_len = split, len = size - split;

	uint8_t addr[16] = { 0 };
	memcpy(addr, data, size < 16 ? size : 16);
	uint16_t port = size >= 2 ? (uint16_t)(data[0] | data[1] << 8) : 0;
	struct flow_keys_wanted w;
	memset(&w, 0, sizeof(w));
	w.hosts[w.n_hosts++] = keyfilter_addr(addr);
	w.ports[w.n_ports++] = keyfilter_port(port);
	w.tuples[0][0] = keyfilter_addr_port(addr, port);
	w.tuples[0][1] = keyfilter_addr_port(addr, (uint16_t)(port + 1));
	w.n_tuples = 1;
	ask(&w, ids, ids_len, filter, len);
	struct flow_keys_wanted one;
	memset(&one, 0, sizeof(one));
	one.hosts[one.n_hosts++] = w.hosts[0];
	ask(&one, ids, ids_len, filter, len);
	(void)keyfilter_may_have(filter, len, w.hosts[0]);
	(void)keyfilter_may_have(data, size, w.ports[0]);
	return 0;
}
