// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_live_any_merge.c - the timestamp order of `-i any` (recorder/live_any_merge.c,
 * recorder/live_any_ring.c). The merge over sources made up here: records of several CPUs
 * whose timestamps interleave come out in one increasing sequence; a CPU with no records
 * holds nothing up; equal timestamps keep a fixed order (lower CPU first, a CPU's own in
 * turn); records younger than the watermark wait for a later round, unless a CPU would keep
 * more than the bound, which hands them on early (still in order); a record that comes after
 * a younger one was handed on is handed on at once and counted late, never lost. Then the
 * ring reader over a perf buffer laid out in memory as the kernel writes it: samples read in
 * place, one wrapping round the ring's end read whole, loss records stepped over, the space
 * given back only behind what was handed on, and a malformed record counted and skipped.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "live_any_merge.h"
#include "live_any_ring.h"

/* ---- made-up sources: per CPU a list of timestamps, each record REC bytes ----------------- */

#define CPUS 4
#define PER_CPU 8
#define REC 100u
#define OUT_MAX 64

struct fake {
	uint64_t ts[CPUS][PER_CPU];
	uint32_t n[CPUS];       /* records visible to the round */
	uint32_t pos[CPUS];     /* handed on */
	uint32_t out_src[OUT_MAX];
	uint64_t out_ts[OUT_MAX];
	uint32_t n_out;
};

static int fake_next(void *ctx, uint32_t src, uint64_t *ts, uint64_t *held)
{
	struct fake *f = ctx;

	if (f->pos[src] >= f->n[src])
		return 0;
	*ts = f->ts[src][f->pos[src]];
	*held = (uint64_t)(f->n[src] - f->pos[src]) * REC;
	return 1;
}

static int fake_emit(void *ctx, uint32_t src)
{
	struct fake *f = ctx;

	assert_true(f->pos[src] < f->n[src]);
	assert_true(f->n_out < OUT_MAX);
	f->out_src[f->n_out] = src;
	f->out_ts[f->n_out++] = f->ts[src][f->pos[src]++];
	return 0;
}

static const struct live_any_merge_ops fake_ops = { .next = fake_next, .emit = fake_emit };

static void add(struct fake *f, uint32_t src, uint64_t ts)
{
	assert_true(f->n[src] < PER_CPU);
	f->ts[src][f->n[src]++] = ts;
}

/* what came out since from: "src:ts src:ts ..." */
static void expect_out(const struct fake *f, uint32_t from, const char *want)
{
	char got[512] = "";
	size_t len = 0;
	uint32_t i;

	for (i = from; i < f->n_out; i++)
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%u:%llu", i > from ? " " : "",
					f->out_src[i], (unsigned long long)f->out_ts[i]);
	assert_string_equal(got, want);
}

static struct live_any_merge *new_merge(uint64_t held_max)
{
	struct live_any_merge *m = NULL;

	assert_int_equal(live_any_merge_new(CPUS, held_max, &m), 0);
	return m;
}

/* Three CPUs whose records interleave and one idle: one increasing sequence. */
static void test_interleaved(void **state)
{
	struct live_any_merge *m = new_merge(1u << 20);
	struct live_any_merge_stats st;
	struct fake f = { 0 };

	(void)state;
	add(&f, 0, 10), add(&f, 0, 40), add(&f, 0, 70);
	add(&f, 1, 20), add(&f, 1, 30), add(&f, 1, 80);
	add(&f, 3, 5);
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, UINT64_MAX), 0);
	expect_out(&f, 0, "3:5 0:10 1:20 1:30 0:40 0:70 1:80");
	live_any_merge_get_stats(m, &st);
	assert_int_equal(st.emitted, 7);
	assert_int_equal(st.forced, 0);
	assert_int_equal(st.late, 0);
	live_any_merge_free(m);
}

/* Records younger than the watermark wait; the idle CPU 2 holds nothing up; the next round
 * takes the rest, with what came in meanwhile, in order. */
static void test_watermark(void **state)
{
	struct live_any_merge *m = new_merge(1u << 20);
	struct live_any_merge_stats st;
	struct fake f = { 0 };

	(void)state;
	add(&f, 0, 10), add(&f, 0, 40), add(&f, 0, 70);
	add(&f, 1, 20), add(&f, 1, 35), add(&f, 1, 80);
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, 35), 0);
	expect_out(&f, 0, "0:10 1:20 1:35");
	assert_int_equal(f.pos[0], 1);
	assert_int_equal(f.pos[1], 2);
	/* nothing new under the watermark: nothing handed on */
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, 39), 0);
	assert_int_equal(f.n_out, 3);
	add(&f, 3, 50);
	add(&f, 1, 90);
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, 85), 0);
	expect_out(&f, 3, "0:40 3:50 0:70 1:80");
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, UINT64_MAX), 0);
	expect_out(&f, 7, "1:90");
	live_any_merge_get_stats(m, &st);
	assert_int_equal(st.emitted, 8);
	assert_int_equal(st.forced + st.late, 0);
	live_any_merge_free(m);
}

/* Equal timestamps: the lower CPU first, a CPU's own records in their order. */
static void test_ties(void **state)
{
	struct live_any_merge *m = new_merge(1u << 20);
	struct fake f = { 0 };

	(void)state;
	add(&f, 2, 10), add(&f, 2, 20);
	add(&f, 0, 10), add(&f, 0, 10), add(&f, 0, 20);
	add(&f, 1, 10);
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, UINT64_MAX), 0);
	expect_out(&f, 0, "0:10 0:10 1:10 2:10 0:20 2:20");
	live_any_merge_free(m);
}

/* A CPU that would keep more than the bound (250 bytes: 2 records of 100) has its records
 * handed on early, with those of other CPUs older than them, in order, until it keeps no
 * more than the bound; a watermark of 0 alone would hand on nothing. */
static void test_bound_forces(void **state)
{
	struct live_any_merge *m = new_merge(250);
	struct live_any_merge_stats st;
	struct fake f = { 0 };

	(void)state;
	add(&f, 0, 10), add(&f, 0, 20), add(&f, 0, 30), add(&f, 0, 40);
	add(&f, 1, 15), add(&f, 1, 35);
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, 0), 0);
	/* CPU 0 held 400 bytes: 10 (300 left), 15 (CPU 1's, older than CPU 0's next), 20 (200) */
	expect_out(&f, 0, "0:10 1:15 0:20");
	live_any_merge_get_stats(m, &st);
	assert_int_equal(st.forced, 3);
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, 0), 0);
	assert_int_equal(f.n_out, 3);
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, UINT64_MAX), 0);
	expect_out(&f, 3, "0:30 1:35 0:40");
	live_any_merge_get_stats(m, &st);
	assert_int_equal(st.emitted, 6);
	assert_int_equal(st.forced, 3);
	assert_int_equal(st.late, 0);
	live_any_merge_free(m);
}

/* A record that reaches its CPU's buffer after a younger one was handed on: handed on at
 * once (not held, not lost) and counted late. */
static void test_late(void **state)
{
	struct live_any_merge *m = new_merge(1u << 20);
	struct live_any_merge_stats st;
	struct fake f = { 0 };

	(void)state;
	add(&f, 0, 10), add(&f, 0, 50);
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, 60), 0);
	add(&f, 1, 30), add(&f, 1, 55);
	add(&f, 0, 58);
	assert_int_equal(live_any_merge_round(m, &fake_ops, &f, 60), 0);
	expect_out(&f, 0, "0:10 0:50 1:30 1:55 0:58");
	live_any_merge_get_stats(m, &st);
	assert_int_equal(st.emitted, 5);
	assert_int_equal(st.late, 1);
	live_any_merge_free(m);
}

static void test_bad_args(void **state)
{
	struct live_any_merge *m = NULL;

	(void)state;
	assert_int_equal(live_any_merge_new(0, 1, &m), -EINVAL);
	assert_null(m);
}

/* ---- the ring reader over a perf buffer in memory ------------------------------------------ */

#define PAGE 4096u
#define DATA 512u

struct fake_ring {
	uint8_t *map;           /* page, then DATA bytes */
	struct perf_event_mmap_page *page;
	uint64_t head;          /* the kernel's writing position */
};

static void ring_make(struct fake_ring *k, uint64_t start)
{
	k->map = malloc(PAGE + DATA);
	assert_non_null(k->map);
	memset(k->map, 0xee, PAGE + DATA);
	memset(k->map, 0, PAGE);
	k->page = (struct perf_event_mmap_page *)k->map;
	k->page->data_offset = PAGE;
	k->page->data_size = DATA;
	k->page->data_head = k->page->data_tail = k->head = start;
}

static void ring_put_bytes(struct fake_ring *k, const void *src, size_t n)
{
	const uint8_t *s = src;
	size_t i;

	for (i = 0; i < n; i++)
		k->map[PAGE + ((k->head + i) & (DATA - 1))] = s[i];
	k->head += n;
}

/* a record as the kernel writes it: a sample of raw bytes (timestamp ts, then fill bytes
 * of value ts & 0xff, raw_len bytes in all), padded to 8 */
static void ring_sample(struct fake_ring *k, uint64_t ts, uint32_t raw_len)
{
	struct perf_event_header h = { .type = PERF_RECORD_SAMPLE };
	uint8_t raw[256];
	uint32_t total = (uint32_t)(sizeof(h) + 4 + raw_len + 7) & ~7u;
	static const uint8_t pad[8];

	assert_true(raw_len >= 8 && raw_len <= sizeof(raw));
	h.size = (uint16_t)total;
	memset(raw, (int)(ts & 0xff), raw_len);
	memcpy(raw, &ts, 8);
	ring_put_bytes(k, &h, sizeof(h));
	ring_put_bytes(k, &raw_len, 4);
	ring_put_bytes(k, raw, raw_len);
	ring_put_bytes(k, pad, total - sizeof(h) - 4 - raw_len);
	assert_true(k->head - k->page->data_tail <= DATA);
}

static void ring_lost(struct fake_ring *k)
{
	struct {
		struct perf_event_header h;
		uint64_t id, lost;
	} rec = { .h = { .type = PERF_RECORD_LOST, .size = 24 }, .id = 1, .lost = 3 };

	ring_put_bytes(k, &rec, sizeof(rec));
}

static void ring_publish(struct fake_ring *k)
{
	k->page->data_head = k->head;
}

struct rings {
	struct live_any_ring r[2];
	uint8_t scratch[LIVE_ANY_RING_RECORD_MAX];
	uint64_t out_ts[OUT_MAX];
	uint32_t out_src[OUT_MAX], n_out;
	bool bytes_ok;
};

static int rings_next(void *ctx, uint32_t src, uint64_t *ts, uint64_t *held)
{
	struct rings *g = ctx;

	return live_any_ring_next(&g->r[src], ts, held);
}

static int rings_emit(void *ctx, uint32_t src)
{
	struct rings *g = ctx;
	const uint8_t *raw;
	uint32_t size, i;
	uint64_t ts;
	int rc = live_any_ring_sample(&g->r[src], g->scratch, &raw, &size);

	if (rc == 0) {
		memcpy(&ts, raw, 8);
		for (i = 8; i < size; i++)
			if (raw[i] != (uint8_t)(ts & 0xff))
				g->bytes_ok = false;
		g->out_src[g->n_out] = src;
		g->out_ts[g->n_out++] = ts;
	}
	live_any_ring_step(&g->r[src]);
	return rc == -EBADMSG ? 0 : rc;
}

static const struct live_any_merge_ops ring_ops = { .next = rings_next, .emit = rings_emit };

static void round_of(struct rings *g, struct live_any_merge *m, uint64_t watermark)
{
	live_any_ring_snapshot(&g->r[0]);
	live_any_ring_snapshot(&g->r[1]);
	assert_int_equal(live_any_merge_round(m, &ring_ops, g, watermark), 0);
	live_any_ring_release(&g->r[0]);
	live_any_ring_release(&g->r[1]);
}

/* Two CPU buffers; CPU 1's second sample wraps round the ring's end (it starts at 4096*k +
 * 400 of a 512-byte ring). Order across both, bytes whole, loss records stepped over, and
 * data_tail never beyond what was handed on. */
static void test_rings_in_place(void **state)
{
	struct fake_ring k0, k1;
	struct live_any_merge *m = NULL;
	struct rings *g = calloc(1, sizeof(*g));
	uint64_t start = 3 * DATA + 400;

	(void)state;
	assert_non_null(g);
	g->bytes_ok = true;
	ring_make(&k0, 0);
	ring_make(&k1, start);
	assert_int_equal(live_any_ring_init(&g->r[0], k0.map, DATA), 0);
	assert_int_equal(live_any_ring_init(&g->r[1], k1.map, DATA), 0);
	assert_int_equal(live_any_merge_new(2, DATA / 4, &m), 0);

	ring_sample(&k0, 100, 40);
	ring_lost(&k0);
	ring_sample(&k0, 300, 64);
	ring_sample(&k0, 500, 16);
	ring_sample(&k1, 200, 48);  /* 400..464 */
	ring_sample(&k1, 400, 120); /* 464..600: wraps at 512 */
	ring_sample(&k1, 600, 8);
	ring_publish(&k0);
	ring_publish(&k1);

	round_of(g, m, 450);
	assert_int_equal(g->n_out, 4);
	assert_int_equal(g->out_ts[0], 100);
	assert_int_equal(g->out_ts[1], 200);
	assert_int_equal(g->out_ts[2], 300);
	assert_int_equal(g->out_ts[3], 400);
	assert_int_equal(g->out_src[3], 1);
	assert_true(g->bytes_ok);
	/* the space of what was handed on (and of the loss record) is back, no more */
	assert_int_equal(k0.page->data_tail, g->r[0].pos);
	assert_int_equal(k1.page->data_tail, start + 64 + 136);
	assert_true(k0.page->data_tail < k0.head);
	assert_true(k1.page->data_tail < k1.head);

	round_of(g, m, UINT64_MAX);
	assert_int_equal(g->n_out, 6);
	assert_int_equal(g->out_ts[4], 500);
	assert_int_equal(g->out_ts[5], 600);
	assert_int_equal(k0.page->data_tail, k0.head);
	assert_int_equal(k1.page->data_tail, k1.head);
	assert_int_equal(g->r[0].bad + g->r[1].bad, 0);
	assert_true(g->bytes_ok);

	live_any_merge_free(m);
	free(k0.map);
	free(k1.map);
	free(g);
}

/* A record whose size is not a multiple of 8 cannot be framed: counted, and the rest of
 * what was published skipped and given back; records published later are read. A sample
 * whose raw size overruns its record is counted and not handed on. */
static void test_ring_malformed(void **state)
{
	struct fake_ring k;
	struct live_any_ring r;
	struct perf_event_header h = { .type = PERF_RECORD_SAMPLE, .size = 20 };
	uint8_t scratch[64];
	const uint8_t *raw;
	uint64_t ts, held;
	uint32_t size, big = 200;

	(void)state;
	ring_make(&k, 0);
	assert_int_equal(live_any_ring_init(&r, k.map, DATA), 0);
	ring_sample(&k, 7, 8);
	ring_put_bytes(&k, &h, sizeof(h));
	k.head += 16;
	ring_publish(&k);
	live_any_ring_snapshot(&r);
	assert_int_equal(live_any_ring_next(&r, &ts, &held), 1);
	assert_int_equal(ts, 7);
	assert_int_equal(held, k.head);
	live_any_ring_step(&r);
	assert_int_equal(live_any_ring_next(&r, &ts, &held), 0);
	assert_int_equal(r.bad, 1);
	live_any_ring_release(&r);
	assert_int_equal(k.page->data_tail, k.head);

	/* raw size 200 in a 24-byte record */
	ring_sample(&k, 9, 8);
	memcpy(&k.map[PAGE + ((k.head - 16) & (DATA - 1))], &big, 4);
	ring_publish(&k);
	live_any_ring_snapshot(&r);
	assert_int_equal(live_any_ring_next(&r, &ts, &held), 1);
	assert_int_equal(live_any_ring_sample(&r, scratch, &raw, &size), -EBADMSG);
	assert_int_equal(r.bad, 2);
	live_any_ring_step(&r);
	assert_int_equal(live_any_ring_next(&r, &ts, &held), 0);

	/* a page that does not describe a ring of that size */
	assert_int_equal(live_any_ring_init(&r, k.map, DATA * 2), -EINVAL);
	free(k.map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_watermark),
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_bound_forces),
		cmocka_unit_test(test_late),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_rings_in_place),
		cmocka_unit_test(test_ring_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
