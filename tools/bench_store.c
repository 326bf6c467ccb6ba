// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_store - how fast the store takes packets: appends generated packets (Ethernet, IPv4,
 * TCP over a few thousand flows; payloads half random like TLS records, half HTTP-like text)
 * through store_append_packet() with group commits on (fdatasync, then COMMIT, every second)
 * and prints packets/s, MB/s, CPU seconds, compression ratio and the index as a share of the
 * stored bytes: first with everything on the calling thread (one core), then with chunks
 * compressed and written by the store's writer thread.
 *
 *   bench_store [--size BYTES] [--packets N] [--store DIR] [--text-share PERCENT]
 */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "store.h"

#define NFLOWS 4096
#define POOL (4u << 20)

/* Payload pool: random bytes, then HTTP-like text; packets take slices of it. */
static uint8_t *make_pool(unsigned text_share)
{
	static const char *const words[] = { "GET ", "/index.html ", "HTTP/1.1\r\n", "Host: ",
					     "example.internal\r\n", "User-Agent: curl/7.88.1\r\n",
					     "Accept: */*\r\n", "Content-Type: application/json\r\n",
					     "{\"id\": ", "\"name\": \"value\", ", "200 OK\r\n" };
	uint8_t *pool = malloc(POOL);
	size_t text_from = POOL - (size_t)POOL * text_share / 100;
	for (size_t i = 0; i < text_from; i += 8) {
		uint64_t r = next_rand();
		memcpy(pool + i, &r, 8);
	}
	for (size_t i = text_from; i < POOL;) {
		const char *w = words[next_rand() % (sizeof(words) / sizeof(words[0]))];
		size_t l = strlen(w);
		if (i + l > POOL)
			l = POOL - i;
		memcpy(pool + i, w, l);
		i += l;
	}
	return pool;
}

static void frame(uint8_t *p, uint32_t flow, uint32_t seq, uint32_t len)
{
	memset(p, 0, 54);
	p[12] = 0x08;                                 /* IPv4 */
	p[14] = 0x45;
	p[16] = (uint8_t)((len - 14) >> 8);
	p[17] = (uint8_t)(len - 14);
	p[22] = 64;
	p[23] = 6;                                    /* TCP */
	p[26] = 10, p[27] = 0, p[28] = (uint8_t)(flow >> 8), p[29] = (uint8_t)flow;
	p[30] = 10, p[31] = 1, p[32] = 0, p[33] = 1;
	p[34] = (uint8_t)((40000 + flow) >> 8), p[35] = (uint8_t)(40000 + flow);
	p[36] = 0x01, p[37] = 0xbb;                   /* 443 */
	memcpy(p + 38, &seq, 4);
	p[46] = 0x50;
	p[47] = 0x18;                                 /* PSH ACK */
}

static int run(const char *dir, uint32_t size, uint64_t packets, unsigned text_share, bool one)
{
	struct store_options o;
	store_options_default(&o);
	o.quiet = true;
	o.sync_writer = one;
	struct store *s;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return 1;
	if (store_open(dir, STORE_WRITE, &o, &s)) {
		fprintf(stderr, "bench_store: %s\n", store_errmsg(s));
		return 1;
	}
	uint8_t *pool = make_pool(text_share);
	struct ecap_iface ifc = { .name = "bench0", .linktype = 1 };
	uint32_t ifid;
	store_add_interface(s, &ifc, &ifid);
	uint64_t flow_ids[NFLOWS];
	for (uint32_t f = 0; f < NFLOWS; f++) {
		struct flow_record fr = { .id = store_new_flow_id(s) };
		fr.key.proto = 6;
		fr.key.family = 4;
		fr.key.port_a = (uint16_t)(40000 + f);
		fr.key.port_b = 443;
		fr.proc[0].valid = true;
		fr.proc[0].pid = 1000 + f % 50;
		snprintf(fr.proc[0].comm, sizeof(fr.proc[0].comm), "proc%u", f % 50);
		flow_ids[f] = fr.id;
		store_put_flow(s, &fr);
	}

	uint8_t pkt[2048];
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), wall0 = now_ns(CLOCK_REALTIME);
	double c0 = cpu_seconds();
	uint64_t bytes = 0;
	size_t off = 0;
	for (uint64_t i = 0; i < packets; i++) {
		uint32_t flow = (uint32_t)(next_rand() % NFLOWS);
		if (off + size > POOL)
			off = (off + 4099) % (POOL / 2);
		memcpy(pkt + 54, pool + off, size - 54);
		off += size;
		frame(pkt, flow, (uint32_t)i, size);
		struct ecap_packet p = { .ts_ns = wall0 + i * 100, .iface = ifid, .caplen = size,
					 .origlen = size, .flags = 2, .flow_id = flow_ids[flow],
					 .data = pkt };
		if (store_append_packet(s, &p)) {
			fprintf(stderr, "bench_store: %s\n", store_errmsg(s));
			return 1;
		}
		bytes += size;
		if ((i & 4095) == 0 && store_tick(s, now_ns(CLOCK_MONOTONIC))) {
			fprintf(stderr, "bench_store: %s\n", store_errmsg(s));
			return 1;
		}
	}
	if (store_close(s)) {
		fprintf(stderr, "bench_store: close failed\n");
		return 1;
	}
	double secs = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	double cpu = cpu_seconds() - c0;

	struct store_stats st;
	if (store_open(dir, STORE_READ, NULL, &s) || store_get_stats(s, &st)) {
		fprintf(stderr, "bench_store: reopen failed\n");
		return 1;
	}
	store_close(s);
	printf("%-13s %4u-byte packets: %9.0f packets/s  %7.1f MB/s  %5.2f s wall  %5.2f s CPU  "
	       "ratio %.2f  index %.2f%% of stored  (%llu packets, %.0f MB)\n",
	       one ? "one thread" : "writer thread", size, packets / secs, bytes / secs / 1e6, secs, cpu,
	       (double)st.bytes_raw / (double)st.bytes_stored,
	       100.0 * (double)st.index_bytes / (double)st.bytes_stored,
	       (unsigned long long)st.packets, bytes / 1e6);
	free(pool);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = "/tmp/ecap-bench-store";
	uint64_t budget = 1500ull << 20; /* bytes per size */
	unsigned text_share = 50;
	int c;
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "text-share", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	while ((c = getopt_long(argc, argv, "s:b:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			dir = optarg;
			break;
		case 'b':
			budget = strtoull(optarg, NULL, 0);
			break;
		case 't':
			text_share = (unsigned)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_store [--store DIR] [--bytes PER_SIZE] "
				"[--text-share PERCENT]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	printf("store append, group commit every 1 s (fdatasync + COMMIT), "
	       "%u%% text payloads, store in %s\n", text_share, dir);
	int rc = 0;
	for (int one = 1; one >= 0 && !rc; one--) {
		rc = run(dir, 64, budget / 64 / 4, text_share, one);
		if (!rc)
			rc = run(dir, 1500, budget / 1500, text_share, one);
	}
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		rc = 1;
	return rc;
}
