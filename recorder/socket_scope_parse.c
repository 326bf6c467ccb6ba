// SPDX-License-Identifier: GPL-2.0-only
/*
 * socket_scope_parse.c - a PCAP-FILTER expression read as socket_scope.c reasons about it
 * (socket_scope_impl.h): lower-case tcp, udp, ip, ip6; [tcp|udp] [src|dst] port N;
 * [tcp|udp] [src|dst] portrange N-M; [ip|ip6] [src|dst] host ADDR; [ip|ip6] [src|dst] net
 * ADDR/LEN, with numbers in decimal and numeric addresses only; combined with and, or, not,
 * &&, ||, ! and parentheses, with libpcap's precedence (not binds tightest; and and or are
 * equal and associate to the left). Anything else is not understood. What was understood is
 * rendered with a parenthesis around each part and compiled with libpcap: it must give
 * exactly the classic BPF of the expression as written, or it is not understood either.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socket_scope_impl.h"

#define MAX_TOKENS 256
#define RENDER_MAX 4096

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

/* A node of op over a and b (NOT: a only); -1 when a child failed or no node is left. */
static int op_node(struct parser *p, enum op op, int a, int b)
{
	int i = a < 0 || b < 0 ? -1 : new_node(p);

	if (i < 0)
		return -1;
	p->s->n[i].op = op;
	p->s->n[i].a = a;
	p->s->n[i].b = b;
	return i;
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
		return op_node(p, OP_NOT, c, 0);
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
	int left = parse_term(p), right;
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
		left = op_node(p, op, left, right);
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

int socket_scope_parse(struct socket_scope *s, const char *expr)
{
	struct parser p = { .s = s };
	char *buf;

	buf = calloc(1, 2 * strlen(expr) + 1);
	if (!buf)
		return -ENOMEM;
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
