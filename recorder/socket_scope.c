// SPDX-License-Identifier: GPL-2.0-only
/*
 * socket_scope.c - which socket records can never be needed under the recording's PCAP-FILTER
 * (socket_scope.h). This is the code that decides; the reasoning it rests on:
 *
 * 1. What a socket record is used for. A record names the owner of flows whose recorded
 *    packets carry the socket's own ends, and of nothing else: pipeline_socket_owner() and
 *    the pending owners match the flow key (namespace, protocol, both addresses and ports)
 *    exactly; an unconnected UDP socket (live_udp.c) owns the flows through its local address
 *    and port; a peer alias (pipeline_peer_socket) is the same tuple recorded in another
 *    namespace; a NAT link (pipeline_nat, nat_sightings.c, flow_links) joins two flows that
 *    were both recorded, the owner staying on the one that carries the socket's tuple. So a
 *    record is needed only if some recorded packet, on any interface and in any namespace,
 *    has the socket's protocol, addresses and ports (in either direction). Where NAT, a
 *    container's namespace or `-i any` give the same connection another tuple, that other
 *    tuple's flow never gets this socket's owner anyway (nothing maps one to the other), so
 *    NAT needs no exception: a NATed flow keeps its owner through its untranslated side, whose
 *    packets carry the socket's tuple and are judged by it.
 * 2. What the filter can say about such a packet. Every packet is judged by the one
 *    expression, whatever the interface. For a primitive P of the subset below, P true on a
 *    packet implies P true on the packet's own tuple (its flow key: decode.c reads the same IP
 *    and transport headers libpcap does); the converse does not hold: a VLAN tag in the bytes,
 *    an IPv6 extension header or a fragment make libpcap's `port 443` false on a packet the
 *    recorder still keys to port 443. So a primitive is "no" or "maybe", never "yes", and the
 *    expression is evaluated in three values (not no = yes, not maybe = maybe, and = min,
 *    or = max): `tcp and not port 22` rules out every UDP socket, `not port 22` nothing.
 *    A socket is left out only when the expression is "no" in both directions.
 * 3. What is not known is "maybe": the remote end of an unconnected socket (remote port 0),
 *    an address 0.0.0.0 or :: (bound to any), and the IP version unless an address says
 *    IPv6: the recorder keys an IPv4 packet with ::ffff:a.b.c.d addresses, and an IPv6
 *    packet that carries such addresses (odd, but anyone can send one) with the same key.
 * 4. What is understood. Lower-case tcp, udp, ip, ip6; [tcp|udp] [src|dst] port N;
 *    [tcp|udp] [src|dst] portrange N-M; [ip|ip6] [src|dst] host ADDR; [ip|ip6] [src|dst] net
 *    ADDR/LEN, with numbers in decimal and numeric addresses only; combined with and, or,
 *    not, &&, ||, ! and parentheses, with libpcap's precedence (not binds tightest, and and or
 *    are equal and associate to the left). Anything else (names, "port 80 or 443", vlan,
 *    byte offsets, "src or dst", ...) keeps every socket. To rule out a misreading of the
 *    structure, the expression as understood, rendered with a parenthesis around each part,
 *    must compile with libpcap to exactly the classic BPF of the expression as given.
 */
#include "socket_scope.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 64
#define MAX_TOKENS 256
#define RENDER_MAX 4096
#define PROTO_TCP 6
#define PROTO_UDP 17

enum val { NO = 0, MAYBE = 1, YES = 2 };

enum op { OP_AND, OP_OR, OP_NOT, OP_PRIM };

enum prim { P_TCP, P_UDP, P_IP, P_IP6, P_HOST, P_NET, P_PORT, P_PORTRANGE };

enum dir { DIR_ANY, DIR_SRC, DIR_DST };

struct node {
	enum op op;
	int a, b;               /* children (b: AND and OR only) */
	enum prim prim;
	enum dir dir;
	uint8_t proto;          /* port, portrange: 0 (TCP or UDP), PROTO_TCP, PROTO_UDP */
	uint8_t family;         /* host, net: the address's (4, 6); the qualifier agrees */
	uint8_t qual_family;    /* host, net: 0 none, 4 ip, 6 ip6 (rendered as written) */
	uint8_t addr[16];       /* host, net: IPv4 as ::ffff:a.b.c.d */
	uint8_t prefix;         /* net: bits of addr that count (IPv4: of the last 32) */
	uint16_t lo, hi;        /* port: lo == hi */
};

struct socket_scope {
	bool active;
	int root;
	struct node n[MAX_NODES];
	int n_nodes;
	char why[160];
};

/* ---- parsing ---------------------------------------------------------------------------- */

struct parser {
	char *tok[MAX_TOKENS];
	int n_tok, pos;
	struct socket_scope *s;
	bool bad;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Length of the operator at c ("(", ")", "!", "&&", "||"), 0 when none starts there. */
static size_t operator_len(const char *c)
{
	if (*c == '(' || *c == ')' || *c == '!')
		return 1;
	return (c[0] == '&' && c[1] == '&') || (c[0] == '|' && c[1] == '|') ? 2 : 0;
}

/* expr's words and operators, each copied into buf (2 * strlen(expr) + 1 bytes: a NUL after
 * each) and listed in p->tok; false when there are more than MAX_TOKENS. */
static bool tokenize(struct parser *p, const char *expr, char *buf)
{
	const char *c = expr;
	size_t n;

	p->n_tok = 0;
	while (*c) {
		if (is_space(*c)) {
			c++;
			continue;
		}
		if (p->n_tok == MAX_TOKENS)
			return false;
		p->tok[p->n_tok++] = buf;
		n = operator_len(c);
		if (!n)
			while (c[n] && !is_space(c[n]) && !operator_len(c + n))
				n++;
		memcpy(buf, c, n);
		buf[n] = '\0';
		buf += n + 1;
		c += n;
	}
	return true;
}

static const char *peek(const struct parser *p)
{
	return p->pos < p->n_tok ? p->tok[p->pos] : NULL;
}

static bool is(const struct parser *p, const char *w)
{
	const char *t = peek(p);

	return t && strcmp(t, w) == 0;
}

static int new_node(struct parser *p)
{
	if (p->s->n_nodes == MAX_NODES) {
		p->bad = true;
		return -1;
	}
	memset(&p->s->n[p->s->n_nodes], 0, sizeof(p->s->n[0]));
	return p->s->n_nodes++;
}

/* A decimal number 0..65535 without leading zeros (libpcap reads 0x.. and 0.. otherwise). */
static bool port_number(const char *t, uint16_t *out)
{
	unsigned long v = 0;

	if (!*t || (t[0] == '0' && t[1]))
		return false;
	for (; *t; t++) {
		if (*t < '0' || *t > '9')
			return false;
		v = v * 10 + (unsigned long)(*t - '0');
		if (v > 65535)
			return false;
	}
	*out = (uint16_t)v;
	return true;
}

/* a.b.c.d, four decimal parts without leading zeros, or an IPv6 address: into n. */
static bool address(const char *t, struct node *n)
{
	struct in6_addr a6;
	uint16_t part;
	char buf[16], *dot;
	int i;

	if (strchr(t, ':')) {
		if (inet_pton(AF_INET6, t, &a6) != 1)
			return false;
		memcpy(n->addr, &a6, 16);
		n->family = 6;
		return true;
	}
	if (strlen(t) >= sizeof(buf))
		return false;
	strcpy(buf, t);
	memset(n->addr, 0, 10);
	n->addr[10] = n->addr[11] = 0xff;
	for (i = 0, t = buf; i < 4; i++) {
		dot = strchr(t, '.');
		if ((i < 3) != (dot != NULL))
			return false;
		if (dot)
			*dot = '\0';
		if (!port_number(t, &part) || part > 255)
			return false;
		n->addr[12 + i] = (uint8_t)part;
		t = dot ? dot + 1 : t;
	}
	n->family = 4;
	return true;
}

static bool net_operand(const char *t, struct node *n)
{
	char buf[64];
	char *slash;
	uint16_t len;

	if (strlen(t) >= sizeof(buf))
		return false;
	strcpy(buf, t);
	slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if (!address(buf, n) || !port_number(slash + 1, &len) || len > (n->family == 4 ? 32 : 128))
		return false;
	n->prefix = (uint8_t)len;
	return true;
}

static int parse_expr(struct parser *p);

/* [tcp|udp|ip|ip6] [src|dst] (host|net|port|portrange) OPERAND, or tcp, udp, ip, ip6 alone. */
static int parse_primitive(struct parser *p)
{
	int i = new_node(p);
	struct node *n;
	const char *t;
	uint8_t qual_proto = 0, qual_family = 0; /* PROTO_TCP, PROTO_UDP; 4, 6 */

	if (i < 0)
		return -1;
	n = &p->s->n[i];
	n->op = OP_PRIM;
	if (is(p, "tcp") || is(p, "udp") || is(p, "ip") || is(p, "ip6")) {
		t = peek(p);
		if (strcmp(t, "tcp") == 0 || strcmp(t, "udp") == 0)
			qual_proto = strcmp(t, "tcp") == 0 ? PROTO_TCP : PROTO_UDP;
		else
			qual_family = strcmp(t, "ip") == 0 ? 4 : 6;
		p->pos++;
		t = peek(p);
		if (!t || strcmp(t, "and") == 0 || strcmp(t, "or") == 0 || strcmp(t, "&&") == 0 ||
		    strcmp(t, "||") == 0 || strcmp(t, ")") == 0) {
			n->prim = qual_proto == PROTO_TCP ? P_TCP : qual_proto == PROTO_UDP ? P_UDP :
				  qual_family == 4 ? P_IP : P_IP6;
			return i;
		}
	}
	n->dir = DIR_ANY;
	if (is(p, "src") || is(p, "dst")) {
		n->dir = is(p, "src") ? DIR_SRC : DIR_DST;
		p->pos++;
	}
	t = peek(p);
	if (!t || p->pos + 1 >= p->n_tok) {
		p->bad = true;
		return -1;
	}
	p->pos++;
	if (strcmp(t, "port") == 0 || strcmp(t, "portrange") == 0) {
		const char *v = p->tok[p->pos++];
		char buf[16], *dash;

		if (qual_family)
			goto bad;
		n->proto = qual_proto;
		if (strcmp(t, "port") == 0) {
			n->prim = P_PORT;
			if (!port_number(v, &n->lo))
				goto bad;
			n->hi = n->lo;
			return i;
		}
		n->prim = P_PORTRANGE;
		if (strlen(v) >= sizeof(buf))
			goto bad;
		strcpy(buf, v);
		dash = strchr(buf, '-');
		if (!dash)
			goto bad;
		*dash = '\0';
		if (!port_number(buf, &n->lo) || !port_number(dash + 1, &n->hi) || n->lo > n->hi)
			goto bad;
		return i;
	}
	if (strcmp(t, "host") == 0 || strcmp(t, "net") == 0) {
		const char *v = p->tok[p->pos++];

		if (qual_proto)
			goto bad;
		n->prim = strcmp(t, "host") == 0 ? P_HOST : P_NET;
		if (n->prim == P_HOST ? !address(v, n) : !net_operand(v, n))
			goto bad;
		if (qual_family && qual_family != n->family)
			goto bad;
		n->qual_family = qual_family;
		return i;
	}
bad:
	p->bad = true;
	return -1;
}

/* not TERM | ! TERM | ( EXPR ) | PRIMITIVE */
static int parse_term(struct parser *p)
{
	int i, c;

	if (p->bad || !peek(p)) {
		p->bad = true;
		return -1;
	}
	if (is(p, "not") || is(p, "!")) {
		p->pos++;
		c = parse_term(p);
		i = new_node(p);
		if (c < 0 || i < 0)
			return -1;
		p->s->n[i].op = OP_NOT;
		p->s->n[i].a = c;
		return i;
	}
	if (is(p, "(")) {
		p->pos++;
		i = parse_expr(p);
		if (i < 0 || !is(p, ")")) {
			p->bad = true;
			return -1;
		}
		p->pos++;
		return i;
	}
	return parse_primitive(p);
}

/* TERM { (and|&&|or|||) TERM }, left to right, and and or of equal precedence. */
static int parse_expr(struct parser *p)
{
	int left = parse_term(p), right, i;
	enum op op;

	while (!p->bad && left >= 0 && peek(p) && !is(p, ")")) {
		if (is(p, "and") || is(p, "&&"))
			op = OP_AND;
		else if (is(p, "or") || is(p, "||"))
			op = OP_OR;
		else {
			p->bad = true;
			return -1;
		}
		p->pos++;
		right = parse_term(p);
		i = new_node(p);
		if (right < 0 || i < 0)
			return -1;
		p->s->n[i].op = op;
		p->s->n[i].a = left;
		p->s->n[i].b = right;
		left = i;
	}
	return p->bad ? -1 : left;
}

/* ---- the cross-check with libpcap ---------------------------------------------------------- */

static void render(const struct socket_scope *s, int i, char *out, size_t sz, size_t *off)
{
	static const char *const prim_word[] = { "tcp", "udp", "ip", "ip6", "host", "net", "port",
						 "portrange" };
	static const char *const dir_word[] = { "", "src ", "dst " };
	const struct node *n = &s->n[i];
	char a[INET6_ADDRSTRLEN];
	int w;

#define PUT(...)                                                                       \
	do {                                                                           \
		if (*off < sz) {                                                       \
			w = snprintf(out + *off, sz - *off, __VA_ARGS__);              \
			*off += w > 0 ? (size_t)w : 0;                                 \
		}                                                                      \
	} while (0)
	switch (n->op) {
	case OP_AND:
	case OP_OR:
		PUT("(");
		render(s, n->a, out, sz, off);
		PUT(n->op == OP_AND ? " and " : " or ");
		render(s, n->b, out, sz, off);
		PUT(")");
		return;
	case OP_NOT:
		PUT("(not ");
		render(s, n->a, out, sz, off);
		PUT(")");
		return;
	case OP_PRIM:
		break;
	}
	if (n->prim <= P_IP6) {
		PUT("(%s)", prim_word[n->prim]);
		return;
	}
	if (n->prim == P_PORT || n->prim == P_PORTRANGE) {
		PUT("(%s%s%s ", n->proto == PROTO_TCP ? "tcp " : n->proto == PROTO_UDP ? "udp " : "",
		    dir_word[n->dir], prim_word[n->prim]);
		if (n->prim == P_PORT)
			PUT("%u)", n->lo);
		else
			PUT("%u-%u)", n->lo, n->hi);
		return;
	}
	if (n->family == 4)
		snprintf(a, sizeof(a), "%u.%u.%u.%u", n->addr[12], n->addr[13], n->addr[14],
			 n->addr[15]);
	else
		inet_ntop(AF_INET6, n->addr, a, sizeof(a));
	PUT("(%s%s%s %s", n->qual_family == 4 ? "ip " : n->qual_family == 6 ? "ip6 " : "",
	    dir_word[n->dir], prim_word[n->prim], a);
	if (n->prim == P_NET)
		PUT("/%u", n->prefix);
	PUT(")");
#undef PUT
}

/* The expression's classic BPF for Ethernet, optimised as ecap-rec compiles it; false when
 * libpcap refuses it. */
static bool compile(const char *expr, struct bpf_program *prog)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
	bool ok;

	if (!dead)
		return false;
	ok = pcap_compile(dead, prog, expr, 1, PCAP_NETMASK_UNKNOWN) == 0;
	pcap_close(dead);
	return ok;
}

/* true when the expression as understood compiles to the same program as expr. */
static bool same_program(const struct socket_scope *s, const char *expr)
{
	struct bpf_program given, understood;
	char text[RENDER_MAX];
	size_t off = 0;
	bool same;

	render(s, s->root, text, sizeof(text), &off);
	if (off >= sizeof(text))
		return false;
	if (!compile(expr, &given))
		return false;
	if (!compile(text, &understood)) {
		pcap_freecode(&given);
		return false;
	}
	same = given.bf_len == understood.bf_len &&
	       memcmp(given.bf_insns, understood.bf_insns,
		      given.bf_len * sizeof(*given.bf_insns)) == 0;
	pcap_freecode(&given);
	pcap_freecode(&understood);
	return same;
}

int socket_scope_new(const char *expr, struct socket_scope **out)
{
	struct socket_scope *s = calloc(1, sizeof(*s));
	struct parser p = { .s = NULL };
	char *buf;

	if (!s)
		return -ENOMEM;
	*out = s;
	if (!expr || !*expr) {
		snprintf(s->why, sizeof(s->why), "no filter");
		return 0;
	}
	buf = calloc(1, 2 * strlen(expr) + 1);
	if (!buf)
		return -ENOMEM;
	p.s = s;
	if (!tokenize(&p, expr, buf)) {
		snprintf(s->why, sizeof(s->why), "the filter is too long to reason about");
	} else {
		s->root = parse_expr(&p);
		if (p.bad || s->root < 0 || p.pos != p.n_tok)
			snprintf(s->why, sizeof(s->why), "the filter is not a combination of tcp, "
				 "udp, ip, ip6, host, net, port and portrange with numeric operands");
		else if (!same_program(s, expr))
			snprintf(s->why, sizeof(s->why), "the filter as understood does not "
				 "compile to the same program");
		else
			s->active = true;
	}
	free(buf);
	return 0;
}

bool socket_scope_active(const struct socket_scope *s)
{
	return s && s->active;
}

const char *socket_scope_why(const struct socket_scope *s)
{
	return !s ? "no filter" : s->active ? "" : s->why;
}

void socket_scope_free(struct socket_scope *s)
{
	free(s);
}

/* ---- evaluation -------------------------------------------------------------------------- */

/* One end of a packet: its address when known. */
struct end {
	bool known;
	const uint8_t *addr;
	uint16_t port;
	bool port_known;
};

/* A packet of the socket, in one direction; family 0: IPv4 or IPv6. */
struct packet {
	uint8_t proto, family;
	struct end src, dst;
};

static bool addr_is_any(const uint8_t a[16])
{
	static const uint8_t zero[16], v4any[16] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, zero, 16) == 0 || memcmp(a, v4any, 16) == 0;
}

static bool is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, prefix, 12) == 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	return !rest || ((a[whole] ^ b[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

/* host or net against one end */
static enum val addr_match(const struct node *n, uint8_t family, const struct end *e)
{
	unsigned bits = n->prim == P_HOST ? 128 : n->family == 4 ? 96u + n->prefix : n->prefix;

	if (family && family != n->family)
		return NO;
	if (!e->known)
		return MAYBE;
	return prefix_equal(e->addr, n->addr, bits) ? MAYBE : NO;
}

static enum val port_match(const struct node *n, const struct end *e)
{
	if (!e->port_known)
		return MAYBE;
	return e->port >= n->lo && e->port <= n->hi ? MAYBE : NO;
}

static enum val either(enum val a, enum val b)
{
	return a > b ? a : b;
}

static enum val prim(const struct node *n, const struct packet *k)
{
	switch (n->prim) {
	case P_TCP:
		return k->proto == PROTO_TCP ? MAYBE : NO;
	case P_UDP:
		return k->proto == PROTO_UDP ? MAYBE : NO;
	case P_IP:
		return k->family == 6 ? NO : MAYBE;
	case P_IP6:
		return k->family == 4 ? NO : MAYBE;
	case P_HOST:
	case P_NET:
		return n->dir == DIR_SRC ? addr_match(n, k->family, &k->src) :
		       n->dir == DIR_DST ? addr_match(n, k->family, &k->dst) :
		       either(addr_match(n, k->family, &k->src),
			      addr_match(n, k->family, &k->dst));
	case P_PORT:
	case P_PORTRANGE:
		if (n->proto && n->proto != k->proto)
			return NO;
		if (k->proto != PROTO_TCP && k->proto != PROTO_UDP)
			return NO;
		return n->dir == DIR_SRC ? port_match(n, &k->src) :
		       n->dir == DIR_DST ? port_match(n, &k->dst) :
		       either(port_match(n, &k->src), port_match(n, &k->dst));
	}
	return MAYBE;
}

static enum val eval(const struct socket_scope *s, int i, const struct packet *k)
{
	const struct node *n = &s->n[i];
	enum val a, b;

	switch (n->op) {
	case OP_PRIM:
		return prim(n, k);
	case OP_NOT:
		a = eval(s, n->a, k);
		return a == MAYBE ? MAYBE : a == NO ? YES : NO;
	case OP_AND:
		a = eval(s, n->a, k);
		if (a == NO)
			return NO;
		b = eval(s, n->b, k);
		return a < b ? a : b;
	case OP_OR:
		a = eval(s, n->a, k);
		if (a == YES)
			return YES;
		b = eval(s, n->b, k);
		return a > b ? a : b;
	}
	return MAYBE;
}

bool socket_scope_needed(const struct socket_scope *s, const struct socket_owner *so)
{
	bool remote_known = so->remote_port != 0; /* unconnected: any remote end */
	struct end local = { .known = !addr_is_any(so->local_addr), .addr = so->local_addr,
			     .port = so->local_port, .port_known = true };
	struct end remote = { .known = remote_known && !addr_is_any(so->remote_addr),
			      .addr = so->remote_addr, .port = so->remote_port,
			      .port_known = remote_known };
	struct packet out = { .proto = so->proto }, in;

	if (!s || !s->active)
		return true;
	/* An IPv4 packet is keyed with ::ffff:a.b.c.d addresses, and so is an IPv6 packet that
	 * carries such addresses: only another IPv6 address says IPv6 for sure. */
	if ((local.known && !is_v4_mapped(so->local_addr)) ||
	    (remote.known && !is_v4_mapped(so->remote_addr)))
		out.family = 6;
	out.src = local;
	out.dst = remote;
	in = out;
	in.src = remote;
	in.dst = local;
	return eval(s, s->root, &out) != NO || eval(s, s->root, &in) != NO;
}

/* ---- the kernel's over-approximation ----------------------------------------------------- */

/* Sockets for which a node may be other than "no": protocol in protos and (all, or the local
 * or remote port in bits). */
struct approx {
	uint8_t protos;         /* bit 0 TCP, bit 1 UDP */
	bool all;
	uint64_t bits[65536 / 64];
};

static size_t approx_count(const struct approx *x)
{
	size_t n = 0;

	for (size_t w = 0; w < sizeof(x->bits) / sizeof(x->bits[0]); w++)
		n += (size_t)__builtin_popcountll(x->bits[w]);
	return n;
}

static int approx_of(const struct socket_scope *s, int i, struct approx *out)
{
	const struct node *n = &s->n[i];
	struct approx *b;
	int rc;

	memset(out, 0, sizeof(*out));
	out->protos = 3;
	out->all = true;
	if (n->op == OP_NOT)
		return 0; /* not x may be "yes" wherever x is "maybe": anything */
	if (n->op == OP_PRIM) {
		if (n->prim == P_TCP)
			out->protos = 1;
		else if (n->prim == P_UDP)
			out->protos = 2;
		if (n->prim != P_PORT && n->prim != P_PORTRANGE)
			return 0;
		out->protos = n->proto == PROTO_TCP ? 1 : n->proto == PROTO_UDP ? 2 : 3;
		out->all = false;
		for (uint32_t port = n->lo; port <= n->hi; port++)
			out->bits[port / 64] |= 1ull << (port % 64);
		return 0;
	}
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	rc = approx_of(s, n->a, out);
	if (rc == 0)
		rc = approx_of(s, n->b, b);
	if (rc == 0 && n->op == OP_AND) {
		/* both may pass: the protocols of both, the ports of either (the smaller set;
		 * "src port 80 and dst port 443" is a socket with one of each) */
		out->protos &= b->protos;
		if (out->all || (!b->all && approx_count(b) < approx_count(out))) {
			memcpy(out->bits, b->bits, sizeof(out->bits));
			out->all = b->all;
		}
	} else if (rc == 0) {
		out->protos |= b->protos;
		out->all = out->all || b->all;
		for (size_t w = 0; w < sizeof(out->bits) / sizeof(out->bits[0]); w++)
			out->bits[w] |= b->bits[w];
	}
	free(b);
	return rc;
}

int socket_scope_ports(const struct socket_scope *s, uint8_t *protos, bool *all_ports,
		       uint16_t *ports, size_t max, size_t *n)
{
	struct approx *x;
	int rc;

	*protos = 3;
	*all_ports = true;
	*n = 0;
	if (!s || !s->active)
		return 0;
	x = malloc(sizeof(*x));
	if (!x)
		return -ENOMEM;
	rc = approx_of(s, s->root, x);
	if (rc == 0) {
		*protos = x->protos;
		if (!x->all && approx_count(x) > max) {
			rc = -ENOSPC;
		} else if (!x->all) {
			*all_ports = false;
			for (uint32_t port = 0; port < 65536; port++)
				if (x->bits[port / 64] >> (port % 64) & 1)
					ports[(*n)++] = (uint16_t)port;
		}
	}
	free(x);
	return rc;
}
