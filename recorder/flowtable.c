// SPDX-License-Identifier: GPL-2.0-only
/*
 * flowtable.c - the live flow table (rules and layout in flowtable.h).
 *
 * Entries are addressed by 1-based index (0 = none) so links stay 32 bits. A free entry is
 * either beyond `used` (never touched) or on the free list, linked through hnext. Buckets
 * hold chain heads; chains are short (as many buckets as entries, rounded up to a power of
 * two), so unlinking walks the chain instead of keeping a back pointer.
 */
#include "flowtable.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../schema/buf.h"
#include "table_mem.h"

/* Time classes: TCP; other protocols (streams); other protocols not yet streams (their
 * packets all within UDP_STREAM_AFTER_NS of the first); TCP closed both ways or reset. */
/* Entries made memory at start (288 bytes each: 2.25 MiB). */
#define FLOWS_MADE 8192u

enum { CLS_TCP = 0, CLS_OTHER = 1, CLS_CLOSED = 2, CLS_SHORT = 3, N_CLS = 4, CLS_FREE = 0xff };

struct age_list {
	uint32_t head, tail;
};

struct flowtable {
	struct flowtable_options opt;
	struct flow *e;           /* [max_flows] */
	uint32_t *buckets;
	uint32_t mask;
	uint32_t used;            /* entries ever handed out */
	uint32_t free_head;
	uint32_t last;            /* the entry of the last packet's flow (0: none); checked by
				   * its key, so a freed or reused entry is never taken for it */
	struct age_list age[N_CLS];
	uint64_t now;
	struct flowtable_stats st;
};

#define E(ft, i) (&(ft)->e[(i) - 1])

int flowtable_new(const struct flowtable_options *opt, struct flowtable **out)
{
	if (!opt->new_id || opt->max_flows == 0 || opt->max_flows > (1u << 30))
		return -EINVAL;
	struct flowtable *ft = calloc(1, sizeof(*ft));
	if (!ft)
		return -ENOMEM;
	ft->opt = *opt;
	uint32_t nb = 16;
	while (nb < opt->max_flows)
		nb <<= 1;
	ft->mask = nb - 1;
	/*
	 * The buckets (4 bytes a flow) are hit at random: left to fault in, nearly every new
	 * flow of a fresh recorder took two page faults there (the read maps the zero page, the
	 * write copies it and flushes the other CPUs' TLBs). They are made memory at once; the
	 * entries are handed out in order, so they fault in once per page, and the first
	 * FLOWS_MADE are made memory at once too: a page fault costs about 13 us on the
	 * development VM (one in 14 new flows: about 1 us a flow), and flows that close leave
	 * after 10 s, so a host's entries in use stay within these most of the time.
	 */
	ft->buckets = table_mem_new(nb, sizeof(*ft->buckets), true);
	ft->e = table_mem_new(opt->max_flows, sizeof(*ft->e), false);
	if (!ft->buckets || !ft->e) {
		flowtable_free(ft);
		return -ENOMEM;
	}
	mem_populate(ft->e, (size_t)(opt->max_flows < FLOWS_MADE ? opt->max_flows : FLOWS_MADE) *
			    sizeof(*ft->e));
	*out = ft;
	return 0;
}

void flowtable_free(struct flowtable *ft)
{
	if (!ft)
		return;
	table_mem_free(ft->buckets, (size_t)ft->mask + 1, sizeof(*ft->buckets), true);
	table_mem_free(ft->e, ft->opt.max_flows, sizeof(*ft->e), false);
	free(ft);
}

static uint32_t chain_find(const struct flowtable *ft, const struct ft_key *key, uint32_t h)
{
	for (uint32_t i = ft->buckets[h & ft->mask]; i; i = ft->e[i - 1].hnext)
		if (memcmp(&ft->e[i - 1].key, key, sizeof(*key)) == 0)
			return i;
	return 0;
}

static void age_unlink(struct flowtable *ft, uint32_t i)
{
	struct flow *f = E(ft, i);
	struct age_list *l = &ft->age[f->cls];
	if (f->prev)
		E(ft, f->prev)->next = f->next;
	else
		l->head = f->next;
	if (f->next)
		E(ft, f->next)->prev = f->prev;
	else
		l->tail = f->prev;
	f->prev = f->next = 0;
}

static void age_append(struct flowtable *ft, uint32_t i)
{
	struct flow *f = E(ft, i);
	struct age_list *l = &ft->age[f->cls];
	f->prev = l->tail;
	f->next = 0;
	if (l->tail)
		E(ft, l->tail)->next = i;
	else
		l->head = i;
	l->tail = i;
}

static void flow_remove(struct flowtable *ft, uint32_t i)
{
	struct flow *f = E(ft, i);
	assert(f->cls != CLS_FREE);
	uint32_t *pp = &ft->buckets[flowtable_key_hash(&f->key, 0) & ft->mask];
	while (*pp != i) {
		assert(*pp != 0);
		pp = &E(ft, *pp)->hnext;
	}
	*pp = f->hnext;
	age_unlink(ft, i);
	if (ft->opt.on_remove)
		ft->opt.on_remove(ft->opt.ctx, f);
	f->cls = CLS_FREE;
	f->hnext = ft->free_head;
	ft->free_head = i;
	ft->st.active--;
}

static uint64_t idle_of(const struct flowtable *ft, uint8_t cls)
{
	if (cls == CLS_CLOSED && ft->opt.tcp_closed_idle_ns)
		return ft->opt.tcp_closed_idle_ns;
	if (cls == CLS_SHORT)
		return ft->opt.udp_short_idle_ns ? ft->opt.udp_short_idle_ns : ft->opt.udp_idle_ns;
	return cls == CLS_OTHER ? ft->opt.udp_idle_ns : ft->opt.tcp_idle_ns;
}

/* An entry for a new flow, evicting the least recently active flow when full. */
static uint32_t entry_alloc(struct flowtable *ft)
{
	if (ft->free_head) {
		uint32_t i = ft->free_head;
		ft->free_head = E(ft, i)->hnext;
		return i;
	}
	if (ft->used < ft->opt.max_flows)
		return ++ft->used;
	/* closed connections go first, then the least recently active of the others */
	uint32_t victim = ft->age[CLS_CLOSED].head;
	static const uint8_t others[] = { CLS_TCP, CLS_OTHER, CLS_SHORT };
	for (size_t k = 0; !ft->age[CLS_CLOSED].head && k < sizeof(others); k++) {
		uint32_t h = ft->age[others[k]].head;
		if (h && (!victim || E(ft, h)->last_ns < E(ft, victim)->last_ns))
			victim = h;
	}
	assert(victim);
	flow_remove(ft, victim);
	ft->st.evicted++;
	ft->free_head = E(ft, victim)->hnext;
	return victim;
}

/* Which key end is side A for a flow whose first packet is d (see flowtable.h). */
static bool a_is_lo_for(const struct ft_key *key, bool sender_is_lo, const struct decoded *d)
{
	switch (d->proto) {
	case FLOW_PROTO_TCP: {
		uint8_t syn_ack = d->tcp_flags & (TCP_SYN | TCP_ACK);
		if (!(d->flags & DECODE_F_TCP_HDR) || !(d->tcp_flags & TCP_SYN)) {
			if (key->port_lo != key->port_hi)
				return key->port_lo > key->port_hi;
			return sender_is_lo;
		}
		return syn_ack == TCP_SYN ? sender_is_lo : !sender_is_lo;
	}
	case FLOW_PROTO_ICMP:
		return d->icmp_type == 0 ? !sender_is_lo : sender_is_lo;
	case FLOW_PROTO_ICMPV6:
		return d->icmp_type == 129 ? !sender_is_lo : sender_is_lo;
	default:
		return sender_is_lo;
	}
}

/* Follows FIN and RST; a connection closed both ways moves to the closed time class. Only a
 * packet with either changes tcp_state, and a flow moves as soon as it is closed: nothing to
 * do for the others (most packets), inline. */
static void tcp_close(struct flowtable *ft, uint32_t i, const struct decoded *d,
		      enum flow_side sender);

static inline void tcp_track(struct flowtable *ft, uint32_t i, const struct decoded *d,
			     enum flow_side sender)
{
	if ((d->flags & DECODE_F_TCP_HDR) && (d->tcp_flags & (TCP_FIN | TCP_RST)))
		tcp_close(ft, i, d, sender);
}

static void tcp_close(struct flowtable *ft, uint32_t i, const struct decoded *d,
		      enum flow_side sender)
{
	struct flow *f = E(ft, i);
	if (d->tcp_flags & TCP_FIN)
		f->tcp_state |= sender == FLOW_SIDE_A ? FT_FIN_A : FT_FIN_B;
	if (d->tcp_flags & TCP_RST)
		f->tcp_state |= FT_RST;
	if (f->cls == CLS_TCP && ((f->tcp_state & (FT_FIN_A | FT_FIN_B)) == (FT_FIN_A | FT_FIN_B) ||
				  (f->tcp_state & FT_RST))) {
		age_unlink(ft, i);
		f->cls = CLS_CLOSED;
		age_append(ft, i);
	}
}

int flowtable_packet(struct flowtable *ft, const struct ft_key *key, bool sender_is_lo,
		     const struct decoded *d, uint64_t ts_ns, struct flow_hit *hit)
{
	/* a run of packets of one flow skips the hash */
	uint32_t i = ft->last;
	if (!i || E(ft, i)->cls == CLS_FREE || memcmp(&E(ft, i)->key, key, sizeof(*key)) != 0)
		i = chain_find(ft, key, flowtable_key_hash(key, 0));
	if (ts_ns > ft->now)
		ft->now = ts_ns;

	if (i) {
		struct flow *f = E(ft, i);
		bool restart = ts_ns > f->last_ns && ts_ns - f->last_ns > idle_of(ft, f->cls);
		/*
		 * A SYN on a closed tuple is the next connection, unless it is older than the
		 * flow's first packet: then it is this connection's own SYN, delivered late
		 * (-i any reads each CPU's buffer in turn, so a connection's packets can reach
		 * the pipeline out of order).
		 */
		if (!restart && key->proto == FLOW_PROTO_TCP && (d->flags & DECODE_F_TCP_HDR) &&
		    (d->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN &&
		    (f->tcp_state & (FT_FIN_A | FT_FIN_B | FT_RST)) && ts_ns >= f->rec.first_ns)
			restart = true;
		if (!restart) {
			ft->last = i;
			hit->flow = f;
			hit->sender = sender_is_lo == (bool)f->a_is_lo ? FLOW_SIDE_A : FLOW_SIDE_B;
			hit->created = false;
			if (ts_ns < f->rec.first_ns)
				f->rec.first_ns = ts_ns;
			if (ts_ns > f->last_ns) {
				f->last_ns = ts_ns;
				bool stream = f->cls == CLS_SHORT &&
					      ts_ns - f->rec.first_ns >= UDP_STREAM_AFTER_NS;
				if (ft->age[f->cls].tail != i || stream) {
					age_unlink(ft, i);
					if (stream)
						f->cls = CLS_OTHER;
					age_append(ft, i);
				}
			}
			if (key->proto == FLOW_PROTO_TCP)
				tcp_track(ft, i, d, hit->sender);
			return 0;
		}
		flow_remove(ft, i);
		ft->st.replaced++;
	}

	uint64_t id = ft->opt.new_id(ft->opt.ctx);
	if (id == 0)
		return -ERANGE;
	uint32_t h = flowtable_key_hash(key, 0);
	i = entry_alloc(ft);
	ft->last = i;
	struct flow *f = E(ft, i);
	memset(f, 0, sizeof(*f));
	f->key = *key;
	f->cls = key->proto == FLOW_PROTO_TCP ? CLS_TCP : CLS_SHORT;
	f->last_ns = ts_ns;
	f->a_is_lo = a_is_lo_for(key, sender_is_lo, d);
	tls_hello_init(&f->tls);
	f->hnext = ft->buckets[h & ft->mask];
	ft->buckets[h & ft->mask] = i;
	age_append(ft, i);

	struct flow_record *r = &f->rec;
	r->id = id;
	r->first_ns = ts_ns;
	r->key.proto = key->proto;
	r->key.family = d->family;
	memcpy(r->key.addr_a, f->a_is_lo ? key->lo : key->hi, 16);
	memcpy(r->key.addr_b, f->a_is_lo ? key->hi : key->lo, 16);
	if (key->proto == FLOW_PROTO_ICMP || key->proto == FLOW_PROTO_ICMPV6) {
		r->key.port_a = (uint16_t)(d->icmp_type << 8 | d->icmp_code);
		r->key.port_b = d->flags & DECODE_F_ECHO ? d->icmp_id : 0;
	} else {
		r->key.port_a = f->a_is_lo ? key->port_lo : key->port_hi;
		r->key.port_b = f->a_is_lo ? key->port_hi : key->port_lo;
	}

	hit->flow = f;
	hit->sender = sender_is_lo == (bool)f->a_is_lo ? FLOW_SIDE_A : FLOW_SIDE_B;
	hit->created = true;
	if (key->proto == FLOW_PROTO_TCP)
		tcp_track(ft, i, d, hit->sender);
	ft->st.created++;
	ft->st.active++;
	return 0;
}

struct flow *flowtable_find(struct flowtable *ft, uint32_t netns, uint8_t proto,
			    const uint8_t addr1[16], uint16_t port1, const uint8_t addr2[16],
			    uint16_t port2, enum flow_side *side1)
{
	struct ft_key key;
	bool one_is_lo;
	flowtable_tuple_key(&key, netns, proto, addr1, port1, addr2, port2, &one_is_lo);
	return flowtable_find_key(ft, &key, one_is_lo, side1);
}

struct flow *flowtable_find_key(struct flowtable *ft, const struct ft_key *key, bool one_is_lo,
				enum flow_side *side1)
{
	uint32_t i = chain_find(ft, key, flowtable_key_hash(key, 0));
	if (!i)
		return NULL;
	struct flow *f = E(ft, i);
	*side1 = one_is_lo == (bool)f->a_is_lo ? FLOW_SIDE_A : FLOW_SIDE_B;
	return f;
}

uint32_t flowtable_expire(struct flowtable *ft, uint32_t budget)
{
	uint32_t n = 0;
	for (uint8_t c = 0; c < N_CLS; c++) {
		uint64_t idle = idle_of(ft, c);
		while (n < budget && ft->age[c].head) {
			uint32_t i = ft->age[c].head;
			if (ft->now - E(ft, i)->last_ns <= idle)
				break;
			flow_remove(ft, i);
			ft->st.expired++;
			n++;
		}
	}
	return n;
}

uint64_t flowtable_now(const struct flowtable *ft)
{
	return ft->now;
}

void flowtable_walk(struct flowtable *ft, void (*fn)(void *ctx, struct flow *f), void *ctx)
{
	for (uint8_t c = 0; c < N_CLS; c++)
		for (uint32_t i = ft->age[c].head; i;) {
			uint32_t next = E(ft, i)->next;
			fn(ctx, E(ft, i));
			i = next;
		}
}

void flowtable_get_stats(const struct flowtable *ft, struct flowtable_stats *st)
{
	*st = ft->st;
}
