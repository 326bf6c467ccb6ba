// SPDX-License-Identifier: GPL-2.0-only
/*
 * gen_traffic - writes a synthetic but realistic capture (classic pcap, Ethernet, microsecond
 * or nanosecond timestamps) for tests and benchmarks: TCP connections with handshakes,
 * requests and responses (HTTP-like text or TLS-like random records), ACKs and FIN closes,
 * many connections interleaved, plus UDP DNS-like exchanges. Deterministic for a seed.
 *
 *   gen_traffic [-o FILE] [--bytes N | --packets N] [--flows-active K] [--seed S]
 *               [--start EPOCH] [--pps RATE] [--tls-share PERCENT] [--sparse-every SECONDS]
 *
 * --sparse-every adds one long-lived, sparse flow (an SSH session kept open, a beacon): a
 * 100-byte segment every SECONDS of capture time, alternating direction, over the whole
 * capture. Its packets take their bytes from a generator of their own and the time of the
 * packet before them, so the rest of the capture stays as it is without the option, but for
 * the IP ids that count packets.
 *
 * Address plan: clients 10.1.x.y, servers 10.2.0.z (ports 443 and 80), DNS 10.3.0.1:53, the
 * sparse flow 10.4.0.1:40022 - 10.4.0.2:22.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conn {
	uint32_t cli, srv;
	uint16_t cport, sport;
	uint32_t cseq, sseq;
	int state;          /* 0 syn, 1 synack, 2 ack, 3.. data, then fin */
	int exchanges;      /* request/response rounds left */
	int resp_left;      /* response packets left in this round */
	int tls;
};

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static FILE *out;
static uint64_t ts_ns, step_ns, written, packets;
static uint8_t pkt[1600];
static uint8_t text[65536];

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void emit_at(size_t len, int advance)
{
	uint8_t rec[16];
	uint64_t sec = ts_ns / 1000000000ull, frac = ts_ns % 1000000000ull;
	put32(rec, (uint32_t)sec);
	put32(rec + 4, (uint32_t)frac);
	put32(rec + 8, (uint32_t)len);
	put32(rec + 12, (uint32_t)len);
	fwrite(rec, 1, 16, out);
	fwrite(pkt, 1, len, out);
	written += 16 + len;
	packets++;
	if (advance)
		ts_ns += step_ns / 2 + rnd() % (step_ns + 1);
}

static void emit(size_t len)
{
	emit_at(len, 1);
}

static size_t ip_header(uint32_t src, uint32_t dst, uint8_t proto, size_t l4len)
{
	memset(pkt, 0, 34);
	pkt[0] = 0x02, pkt[5] = (uint8_t)dst;
	pkt[6] = 0x02, pkt[11] = (uint8_t)src;
	pkt[12] = 0x08;
	uint8_t *ip = pkt + 14;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + l4len) >> 8);
	ip[3] = (uint8_t)(20 + l4len);
	ip[4] = (uint8_t)packets, ip[5] = (uint8_t)(packets >> 8);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = proto;
	for (int i = 0; i < 4; i++) {
		ip[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		ip[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	uint16_t c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	return 34;
}

static void payload(uint8_t *p, size_t n, int tls)
{
	if (tls) {
		for (size_t i = 0; i < n; i += 8) {
			uint64_t r = rnd();
			memcpy(p + i, &r, n - i < 8 ? n - i : 8);
		}
		if (n >= 5)
			p[0] = 0x17, p[1] = 3, p[2] = 3, p[3] = (uint8_t)((n - 5) >> 8), p[4] = (uint8_t)(n - 5);
	} else {
		size_t off = rnd() % (sizeof(text) - 1600);
		memcpy(p, text + off, n);
	}
}

static void tcp(const struct conn *c, int from_client, uint8_t flags, size_t dlen)
{
	uint32_t src = from_client ? c->cli : c->srv, dst = from_client ? c->srv : c->cli;
	size_t off = ip_header(src, dst, 6, 20 + dlen);
	uint8_t *t = pkt + off;
	memset(t, 0, 20);
	uint16_t sp = from_client ? c->cport : c->sport, dp = from_client ? c->sport : c->cport;
	t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp, t[2] = (uint8_t)(dp >> 8), t[3] = (uint8_t)dp;
	uint32_t seq = from_client ? c->cseq : c->sseq, ack = from_client ? c->sseq : c->cseq;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	t[12] = 0x50;
	t[13] = flags;
	t[14] = 0xfa, t[15] = 0xf0;
	if (dlen)
		payload(t + 20, dlen, c->tls);
	emit(off + 20 + dlen);
}

static void new_conn(struct conn *c, uint32_t n, int tls_share)
{
	memset(c, 0, sizeof(*c));
	c->cli = 0x0a010000u | (uint32_t)(rnd() % 60000 + 1);
	c->srv = 0x0a020000u | (uint32_t)(rnd() % 200 + 1);
	c->cport = (uint16_t)(1024 + (n * 7919u + (uint32_t)rnd() % 97) % 60000);
	c->tls = (int)(rnd() % 100) < tls_share;
	c->sport = c->tls ? 443 : 80;
	c->cseq = (uint32_t)rnd();
	c->sseq = (uint32_t)rnd();
	c->exchanges = 1 + (int)(rnd() % 4);
}

/* One packet of this connection; returns 1 when the connection has ended. */
static int step(struct conn *c)
{
	switch (c->state) {
	case 0:
		tcp(c, 1, 0x02, 0);
		c->cseq++;
		c->state = 1;
		return 0;
	case 1:
		tcp(c, 0, 0x12, 0);
		c->sseq++;
		c->state = 2;
		return 0;
	case 2:
		tcp(c, 1, 0x10, 0);
		c->state = 3;
		return 0;
	case 3: { /* request */
		size_t n = 80 + rnd() % 500;
		tcp(c, 1, 0x18, n);
		c->cseq += (uint32_t)n;
		c->resp_left = 1 + (int)(rnd() % 12);
		c->state = 4;
		return 0;
	}
	case 4: { /* response packets, ACKed every second one */
		size_t n = c->resp_left > 1 ? 1460 : 100 + rnd() % 1200;
		tcp(c, 0, c->resp_left > 1 ? 0x10 : 0x18, n);
		c->sseq += (uint32_t)n;
		if (--c->resp_left == 0 || rnd() % 2)
			c->state = c->resp_left ? 5 : 6;
		return 0;
	}
	case 5:
		tcp(c, 1, 0x10, 0);
		c->state = 4;
		return 0;
	case 6:
		tcp(c, 1, 0x10, 0);
		c->state = --c->exchanges > 0 ? 3 : 7;
		return 0;
	case 7:
		tcp(c, 1, 0x11, 0);
		c->cseq++;
		c->state = 8;
		return 0;
	case 8:
		tcp(c, 0, 0x11, 0);
		c->sseq++;
		c->state = 9;
		return 0;
	default:
		tcp(c, 1, 0x10, 0);
		return 1;
	}
}

/* One segment of the sparse flow, in direction dir, with its own generator for the bytes. */
static void sparse(int dir, uint64_t *gen, uint32_t seq[2])
{
	uint32_t a = 0x0a040001u, b = 0x0a040002u;
	size_t off = ip_header(dir ? b : a, dir ? a : b, 6, 20 + 100);
	uint8_t *t = pkt + off;
	memset(t, 0, 20);
	uint16_t sp = dir ? 22 : 40022, dp = dir ? 40022 : 22;
	t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp, t[2] = (uint8_t)(dp >> 8), t[3] = (uint8_t)dp;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq[dir] >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(seq[!dir] >> (24 - 8 * i));
	}
	t[12] = 0x50, t[13] = 0x18, t[14] = 0xfa, t[15] = 0xf0;
	for (size_t i = 0; i < 100; i += 4) {
		*gen ^= *gen << 13, *gen ^= *gen >> 7, *gen ^= *gen << 17;
		memcpy(t + 20 + i, gen, 4);
	}
	seq[dir] += 100;
	emit_at(off + 120, 0);
}

static void dns(void)
{
	uint32_t cli = 0x0a010000u | (uint32_t)(rnd() % 60000 + 1), srv = 0x0a030001u;
	uint16_t port = (uint16_t)(1024 + rnd() % 60000);
	for (int dir = 0; dir < 2; dir++) {
		size_t n = dir ? 120 : 40;
		size_t off = ip_header(dir ? srv : cli, dir ? cli : srv, 17, 8 + n);
		uint8_t *u = pkt + off;
		uint16_t sp = dir ? 53 : port, dp = dir ? port : 53;
		u[0] = (uint8_t)(sp >> 8), u[1] = (uint8_t)sp, u[2] = (uint8_t)(dp >> 8), u[3] = (uint8_t)dp;
		u[4] = (uint8_t)((8 + n) >> 8), u[5] = (uint8_t)(8 + n), u[6] = u[7] = 0;
		payload(u + 8, n, 0);
		emit(off + 8 + n);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bytes", required_argument, NULL, 'b' },   { "packets", required_argument, NULL, 'n' },
		{ "flows-active", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 's' },    { "start", required_argument, NULL, 't' },
		{ "pps", required_argument, NULL, 'r' },     { "tls-share", required_argument, NULL, 'T' },
		{ "sparse-every", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	double sparse_s = 0;
	const char *path = "-";
	uint64_t max_bytes = 100ull << 20, max_packets = UINT64_MAX, start = 1764140400, pps = 100000;
	unsigned active = 256;
	int tls_share = 60, c;
	rng = 0x9E3779B97F4A7C15ull;
	while ((c = getopt_long(argc, argv, "o:b:n:k:s:t:r:T:S:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': path = optarg; break;
		case 'b': max_bytes = strtoull(optarg, NULL, 0); break;
		case 'n': max_packets = strtoull(optarg, NULL, 0); max_bytes = UINT64_MAX; break;
		case 'k': active = (unsigned)atoi(optarg); break;
		case 's': rng ^= strtoull(optarg, NULL, 0) * 0x2545F4914F6CDD1Dull; break;
		case 't': start = strtoull(optarg, NULL, 0); break;
		case 'r': pps = strtoull(optarg, NULL, 0); break;
		case 'T': tls_share = atoi(optarg); break;
		case 'S': sparse_s = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: gen_traffic [-o FILE] [--bytes N | --packets N] "
				"[--flows-active K] [--seed S] [--start EPOCH] [--pps RATE] "
				"[--tls-share PERCENT] [--sparse-every SECONDS]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!active || !pps || sparse_s < 0)
		return 2;
	out = strcmp(path, "-") ? fopen(path, "wb") : stdout;
	if (!out) {
		perror(path);
		return 1;
	}
	static const char *const words[] = {
		"GET /api/v1/items?id=", "HTTP/1.1 200 OK\r\n", "Host: shop.internal\r\n",
		"User-Agent: curl/7.88.1\r\n", "Accept: application/json\r\n", "Content-Length: ",
		"{\"id\": 1234, \"name\": \"widget\", \"price\": 9.99}, ", "<html><body><p>",
		"Set-Cookie: session=", "Connection: keep-alive\r\n", "\r\n",
	};
	for (size_t i = 0; i < sizeof(text);) {
		const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
		size_t l = strlen(w) < sizeof(text) - i ? strlen(w) : sizeof(text) - i;
		memcpy(text + i, w, l);
		i += l;
	}
	uint8_t hdr[24] = { 0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0 }; /* nanosecond pcap */
	put32(hdr + 16, 65535);
	put32(hdr + 20, 1);
	fwrite(hdr, 1, 24, out);
	ts_ns = start * 1000000000ull;
	step_ns = 1000000000ull / pps;
	struct conn *conns = calloc(active, sizeof(*conns));
	uint32_t made = 0;
	for (unsigned i = 0; i < active; i++)
		new_conn(&conns[i], made++, tls_share);
	uint64_t sparse_step = (uint64_t)(sparse_s * 1e9), sparse_next = ts_ns, sparse_gen = 0x5eed;
	uint32_t sparse_seq[2] = { 1000, 5000 }, sparse_n = 0;
	while (written < max_bytes && packets < max_packets) {
		if (sparse_step && ts_ns >= sparse_next) {
			sparse((int)(sparse_n++ & 1), &sparse_gen, sparse_seq);
			sparse_next += sparse_step;
			continue;
		}
		if (rnd() % 50 == 0) {
			dns();
			continue;
		}
		struct conn *k = &conns[rnd() % active];
		if (step(k))
			new_conn(k, made++, tls_share);
	}
	fprintf(stderr, "gen_traffic: %llu packets, %llu bytes, %u connections, %u sparse\n",
		(unsigned long long)packets, (unsigned long long)written, made, sparse_n);
	free(conns);
	return fclose(out) ? 1 : 0;
}
