// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_chunk_flow_hint.c - the caller's note of where the open chunk counts a flow
 * (chunk_builder_add_flow_packet, schema/chunk.c): whatever the note says (right, another
 * flow's place, out of range, left from an earlier chunk whose places other flows hold now), each
 * packet is counted in its own flow's flowstat and its pktflow entry names that flowstat, and
 * the note comes back as that place; a packet of no flow leaves the note alone. The counts are
 * those of chunk_builder_add_packet, which takes no note.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "chunk.h"

#define NS 1000000000ull
#define T0 (1764140400ull * NS)
#define FLOWS 5
#define PACKETS 400

static const struct ecap_iface ifc = { .name = "lo", .linktype = 1 };

/* The flowstat of flow id in cb's metadata, or -1. */
static long stat_of(const struct chunk_builder *cb, uint64_t id)
{
	for (size_t i = 0; i < cb->meta.n_flowstats; i++)
		if (cb->meta.flowstats[i].flow_id == id)
			return (long)i;
	return -1;
}

/* Packet i of a mix of FLOWS flows (ids 11..) and packets of no flow (every 7th). */
static struct ecap_packet packet(uint32_t i, const uint8_t *data)
{
	uint32_t len = 60 + i % 90;
	return (struct ecap_packet){ .ts_ns = T0 + (i * 7919u) % 1000u, .caplen = len,
				     .origlen = len + i % 3, .data = data,
				     .flow_id = i % 7 == 6 ? 0 : 11 + (i * 3 + i / 5) % FLOWS };
}

/* The same packets into a builder without notes and one with the note of kind `kind`: 0 the
 * note kept per flow, 1 another flow's, 2 out of range, 3 always 0. Same metadata and EPBs. */
static void run(struct chunk_builder *with, int kind)
{
	struct chunk_builder plain;
	uint32_t note[FLOWS], other = 0;
	uint8_t data[160];

	memset(data, 0xa5, sizeof(data));
	for (size_t k = 0; k < FLOWS; k++)
		note[k] = UINT32_MAX;
	assert_int_equal(chunk_builder_init(&plain), 0);
	for (uint32_t i = 0; i < PACKETS; i++) {
		struct ecap_packet p = packet(i, data);
		uint32_t *n = p.flow_id ? &note[p.flow_id - 11] : &other;
		uint32_t given = kind == 1 && p.flow_id ? note[(p.flow_id - 11 + 1) % FLOWS] :
				 kind == 2 ? 1000000 + i : kind == 3 ? 0 : *n;
		uint32_t was = given;

		assert_int_equal(chunk_builder_add_packet(&plain, &p, &ifc), 0);
		assert_int_equal(chunk_builder_add_flow_packet(with, &p, &ifc, &given), 0);
		if (!p.flow_id) {
			assert_int_equal(given, was); /* no flow: the note is left alone */
			assert_int_equal(with->meta.pktflow[with->meta.n_pktflow - 1],
					 CHUNKMETA_NO_FLOW);
			continue;
		}
		long at = stat_of(with, p.flow_id);
		assert_true(at >= 0);
		assert_int_equal(given, (uint32_t)at);
		assert_int_equal(with->meta.pktflow[with->meta.n_pktflow - 1], (uint32_t)at);
		*n = given;
	}
	assert_int_equal(with->meta.n_flowstats, plain.meta.n_flowstats);
	for (size_t k = 0; k < plain.meta.n_flowstats; k++) {
		const struct chunkmeta_flowstat *a = &with->meta.flowstats[k],
						*b = &plain.meta.flowstats[k];
		assert_int_equal(a->flow_id, b->flow_id);
		assert_int_equal(a->packets, b->packets);
		assert_int_equal(a->bytes, b->bytes);
		assert_int_equal(a->first_ns, b->first_ns);
		assert_int_equal(a->last_ns, b->last_ns);
	}
	assert_int_equal(with->meta.n_pktflow, plain.meta.n_pktflow);
	assert_memory_equal(with->meta.pktflow, plain.meta.pktflow,
			    plain.meta.n_pktflow * sizeof(*plain.meta.pktflow));
	assert_int_equal(with->meta.packets, PACKETS);
	assert_int_equal(with->meta.nonflow_packets, plain.meta.nonflow_packets);
	assert_int_equal(with->epbs.len, plain.epbs.len);
	assert_memory_equal(with->epbs.data, plain.epbs.data, plain.epbs.len);
	chunk_builder_free(&plain);
}

static void test_any_note(void **state)
{
	(void)state;
	for (int kind = 0; kind < 4; kind++) {
		struct chunk_builder cb;
		assert_int_equal(chunk_builder_init(&cb), 0);
		run(&cb, kind);
		chunk_builder_free(&cb);
	}
}

/* Notes left from the previous chunk: there the flows came in another order, so each note
 * names another flow's flowstat, or one the new chunk has not made yet. */
static void test_notes_of_an_earlier_chunk(void **state)
{
	(void)state;
	struct chunk_builder cb;
	uint32_t note[2] = { UINT32_MAX, UINT32_MAX };
	uint8_t data[80] = { 0 };

	assert_int_equal(chunk_builder_init(&cb), 0);
	for (uint32_t i = 0; i < 4; i++) { /* flow 21 at 0, flow 22 at 1 */
		struct ecap_packet p = { .ts_ns = T0 + i, .caplen = 80, .origlen = 80,
					 .data = data, .flow_id = 21 + i % 2 };
		assert_int_equal(chunk_builder_add_flow_packet(&cb, &p, &ifc, &note[i % 2]), 0);
	}
	assert_int_equal(note[0], 0);
	assert_int_equal(note[1], 1);
	chunk_builder_reset(&cb);
	struct ecap_packet p = { .ts_ns = T0 + 10, .caplen = 80, .origlen = 90, .data = data,
				 .flow_id = 22 };
	assert_int_equal(chunk_builder_add_flow_packet(&cb, &p, &ifc, &note[1]), 0);
	assert_int_equal(note[1], 0); /* 22 is first now */
	p.flow_id = 21;
	p.ts_ns = T0 + 11;
	assert_int_equal(chunk_builder_add_flow_packet(&cb, &p, &ifc, &note[0]), 0);
	assert_int_equal(note[0], 1);
	assert_int_equal(cb.meta.n_flowstats, 2);
	assert_int_equal(cb.meta.flowstats[0].flow_id, 22);
	assert_int_equal(cb.meta.flowstats[0].packets, 1);
	assert_int_equal(cb.meta.flowstats[0].bytes, 90);
	assert_int_equal(cb.meta.flowstats[1].flow_id, 21);
	assert_int_equal(cb.meta.flowstats[1].packets, 1);
	assert_int_equal(cb.meta.flowstats[1].first_ns, T0 + 11);
	assert_int_equal(cb.meta.pktflow[0], 0);
	assert_int_equal(cb.meta.pktflow[1], 1);
	chunk_builder_free(&cb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any_note),
		cmocka_unit_test(test_notes_of_an_earlier_chunk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
