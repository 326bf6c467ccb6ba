// SPDX-License-Identifier: GPL-2.0-only
/*
 * pipeline.c - the recorder pipeline (pipeline.h): decode, flow, attribution, ClientHello,
 * store.
 *
 * Per packet: decode (decode.c), build the flow key, find or start the flow (flowtable.c),
 * attribute it, look for the ClientHello in the client's first bytes (tls_hello.c), append
 * the packet to the store. The flow record goes to the store when the flow starts and again
 * only when its attribution changes. Besides the flow table the pipeline keeps three small
 * bounded tables:
 *  - fragments: the flow key of an IP datagram's first fragment, by (addresses, protocol,
 *    IP id), so later fragments (no ports) join its flow; direct-mapped, overwritten freely;
 *  - pending owners: sockets learned before their first packet, by namespace and exact
 *    tuple, and unconnected or listening sockets (remote address and port zero) by namespace,
 *    local port and address (zero address: any); applied to flows as they start, expiring after
 *    PENDING_TTL_NS of the caller's time;
 *  - peer aliases: a socket of another namespace (a container's) that sent a flow's packets
 *    through a veth pair, by that namespace and the exact tuple, naming the namespace where
 *    the flow was recorded (pipeline_peer_socket); direct-mapped, expiring like pending
 *    owners, so an owner reported after the alias still finds the flow;
 *  - client_randoms of the run's TLS sessions and secrets: whether a recorded ClientHello
 *    carried it (so its secrets are kept), and the chain of its secrets waiting in the hold
 *    (secret_hold.h). Two generations of up to CR_SET_MAX slots each (half of them used):
 *    when the newer is full, the older is forgotten, so the last CR_SET_MAX / 2 client_randoms
 *    at least are always known.
 *
 * Secrets: unless keep_all_secrets, a secret is stored only once a recorded ClientHello
 * carried its client_random; until then it waits in the hold, for secret_hold_ns at most (0:
 * until pipeline_finish), and is then dropped and counted (secrets_not_kept): an export only
 * ever writes the secrets of the sessions it exports, so a secret no recorded session links
 * to is exposure and nothing else. A TLS 1.3 session's secrets come from the OpenSSL
 * probes as one item, with the handshake traffic secrets as what they are derived from
 * (pipeline_tls13): HKDF runs when the session is found recorded, once per handshake, and
 * never for the host's other sessions, whose material expires from the hold wiped.
 */
#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "flowtable.h"
#include "secret_hold.h"
#include "table_mem.h"
#include "tls_hello.h"
#include "../schema/buf.h"
#include "../schema/tls_labels.h"

#define FRAG_SLOTS 4096
#define PENDING_SLOTS 8192
#define PENDING_PROBE 8
#define PENDING_TTL_NS (120ull * 1000000000ull)
#define ALIAS_SLOTS 4096
#define CR_SET_MIN 8192 /* 384 KiB, made memory at once: a fresh recorder's first 4096
			* sessions take no page fault here (one in 85 slots, hit at random) */
#define CR_SET_MAX (1u << 18) /* slots, half used at most: 12 MiB a generation; a secret
				* waits 30 s at most, 131072 sessions are 65 s at 2000/s */
#define TLS_BUFS 4096
#define EXPIRE_BUDGET 4096
#define LINKTYPE_UNKNOWN 0xffffffffu

struct frag_slot {
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t proto, used, sender_is_lo;
	struct ft_key key;
};

/* Exact: key is the flow key and local_is_lo says which end is local. Wildcard: key.lo is the
 * local address (zero: any), port_lo the local port, the rest zero. */
struct pending {
	struct ft_key key;
	uint8_t used, local_is_lo, wildcard;
	uint64_t expire_ns;
	struct ecap_proc proc;
};

/* What the pipeline knows of an interface: its link type (LINKTYPE_UNKNOWN until asked) and
 * the network namespace its packets belong to (0: not known). */
struct iface_info {
	uint32_t linktype;
	uint32_t netns;
};

/* A socket of namespace key.netns with the key's tuple sent packets recorded in to_netns. */
struct alias {
	struct ft_key key;
	uint32_t to_netns;
	uint64_t expire_ns;
};

struct cr_ent {     /* 48 bytes */
	uint8_t cr[32];
	uint64_t held;   /* chain head of its secrets in the hold; 0: none */
	uint32_t n_secrets;
	uint16_t labels; /* bit i: a secret labelled tls_labels[i] went to the store since its
			  * session was found */
	uint8_t used, has_session;
};

struct cr_set {
	struct cr_ent *v; /* table_mem_new(cap, ..., true) */
	uint32_t cap, n;
};

static void cr_set_free(struct cr_set *t)
{
	table_mem_free(t->v, t->cap, sizeof(*t->v), true);
	t->v = NULL;
	t->cap = t->n = 0;
}

struct pipeline {
	struct store *store;
	struct pipeline_options opt;
	struct flowtable *ft;
	struct tls_hello_pool *tls_pool;
	struct pipeline_stats st;

	struct iface_info *ifs;   /* by interface id */
	uint32_t n_ifs;

	struct frag_slot *frag;
	struct pending *pend;
	uint32_t n_exact, n_wild;   /* pending slots in use (an upper bound: lazy expiry) */
	struct alias *alias;        /* ALIAS_SLOTS, allocated at the first peer socket */

	struct cr_set cr, cr_old;     /* the newer and the older generation */
	struct secret_hold *hold;     /* NULL with keep_all_secrets */
	uint64_t derived_now;         /* handshakes derived on arrival (derive_keep()) */
	uint64_t now_mono;            /* the last tick's time */
	bool expire_more;             /* the last tick's flow expiry stopped at its budget */
};

void pipeline_options_default(struct pipeline_options *o)
{
	o->tcp_idle_ns = 600ull * 1000000000ull;
	o->udp_idle_ns = 120ull * 1000000000ull;
	o->max_flows = 1u << 20;
	o->keep_all_secrets = false;
	o->secret_hold_ns = 30ull * 1000000000ull;
	/* items: a TLS 1.3 session from the OpenSSL probes is one (5 secrets), a key-log probe's
	 * secret one; 32768 slots of 304 bytes, twice that with the ring's gaps: 20 MiB at most */
	o->secret_hold_max = 1u << 15;
}

static uint64_t new_id(void *ctx)
{
	struct pipeline *p = ctx;
	return store_new_flow_id(p->store);
}

static void on_remove(void *ctx, struct flow *f)
{
	struct pipeline *p = ctx;
	tls_hello_release(&f->tls, p->tls_pool);
}

int pipeline_new(struct store *store, const struct pipeline_options *opt, struct pipeline **out)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->store = store;
	if (opt)
		p->opt = *opt;
	else
		pipeline_options_default(&p->opt);
	struct flowtable_options fo = {
		.tcp_idle_ns = p->opt.tcp_idle_ns,
		.udp_idle_ns = p->opt.udp_idle_ns,
		.tcp_closed_idle_ns = 10ull * 1000000000ull,
		/* never longer than a stream's */
		.udp_short_idle_ns = p->opt.udp_idle_ns < 30ull * 1000000000ull ?
				     p->opt.udp_idle_ns : 30ull * 1000000000ull,
		.max_flows = p->opt.max_flows,
		.new_id = new_id,
		.on_remove = on_remove,
		.ctx = p,
	};
	int r = flowtable_new(&fo, &p->ft);
	if (r == 0)
		r = tls_hello_pool_new(TLS_BUFS, &p->tls_pool);
	if (r == 0) {
		p->frag = calloc(FRAG_SLOTS, sizeof(*p->frag));
		/* hit at random: made memory now rather than by a fault per new socket, in 2 MiB
		 * pages where the kernel gives them (table_mem.h) */
		p->pend = table_mem_new(PENDING_SLOTS, sizeof(*p->pend), true);
		if (!p->frag || !p->pend)
			r = -ENOMEM;
		if (!p->opt.keep_all_secrets && !(p->hold = secret_hold_new(p->opt.secret_hold_max)))
			r = -ENOMEM;
	}
	if (r < 0) {
		pipeline_free(p);
		return r;
	}
	*out = p;
	return 0;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	flowtable_free(p->ft);
	tls_hello_pool_free(p->tls_pool);
	free(p->ifs);
	free(p->frag);
	table_mem_free(p->pend, PENDING_SLOTS, sizeof(*p->pend), true);
	free(p->alias);
	cr_set_free(&p->cr);
	cr_set_free(&p->cr_old);
	secret_hold_free(p->hold);
	free(p);
}

/* ---- small hash helpers --------------------------------------------------------------- */

static uint32_t mix(const uint8_t *b, size_t n, uint32_t seed)
{
	uint32_t h = 2166136261u ^ seed; /* FNV-1a: fragments are rare, off the fast path */
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static bool addr_is_any(const uint8_t a[16])
{
	static const uint8_t zero[16], v4any[16] = { [10] = 0xff, [11] = 0xff };
	return memcmp(a, zero, 16) == 0 || memcmp(a, v4any, 16) == 0;
}

static bool proc_same(const struct ecap_proc *a, const struct ecap_proc *b)
{
	/* The thread is left out: threads of one process share sockets. */
	return a->valid == b->valid && a->pid == b->pid && a->uid == b->uid &&
	       a->gid == b->gid && a->cgroup_id == b->cgroup_id && a->netns == b->netns &&
	       a->start_ns == b->start_ns && strncmp(a->comm, b->comm, ECAP_COMM_LEN) == 0;
}

/* Sets a side's process; true when that changed the flow's attribution. */
static bool set_proc(struct flow *f, enum flow_side side, const struct ecap_proc *proc)
{
	if (proc_same(&f->rec.proc[side], proc))
		return false;
	f->rec.proc[side] = *proc;
	f->rec.proc[side].comm[ECAP_COMM_LEN - 1] = '\0';
	return true;
}

/* The flow's record into the open chunk, which is of the store's epoch from then on. */
static int put_flow(struct pipeline *p, struct flow *f)
{
	int r = store_put_flow(p->store, &f->rec);
	if (r >= 0)
		f->store_epoch = store_flow_epoch(p->store);
	return r;
}

/* ---- interfaces ------------------------------------------------------------------------- */

/* The entry of interface id iface, made when missing; NULL when out of memory. */
static struct iface_info *iface_info(struct pipeline *p, uint32_t iface)
{
	if (iface >= p->n_ifs) {
		if (iface > UINT32_MAX - 8)
			return NULL;
		uint32_t n = iface + 8;
		struct iface_info *v = realloc(p->ifs, (size_t)n * sizeof(*v));
		if (!v)
			return NULL;
		for (uint32_t i = p->n_ifs; i < n; i++)
			v[i] = (struct iface_info){ .linktype = LINKTYPE_UNKNOWN };
		p->ifs = v;
		p->n_ifs = n;
	}
	return &p->ifs[iface];
}

static uint32_t linktype_of(struct pipeline *p, uint32_t iface)
{
	if (iface < p->n_ifs && p->ifs[iface].linktype != LINKTYPE_UNKNOWN)
		return p->ifs[iface].linktype;
	struct iface_info *ii = iface_info(p, iface);
	struct ecap_iface ifc;
	if (!ii || store_get_interface(p->store, iface, &ifc) < 0)
		return LINKTYPE_UNKNOWN; /* asked again next time; the packet is still stored */
	ii->linktype = ifc.linktype;
	return ifc.linktype;
}

static uint32_t netns_of(const struct pipeline *p, uint32_t iface)
{
	return iface < p->n_ifs ? p->ifs[iface].netns : 0;
}

int pipeline_iface_netns(struct pipeline *p, uint32_t iface, uint32_t netns)
{
	struct iface_info *ii = iface_info(p, iface);
	if (!ii)
		return -ENOMEM;
	ii->netns = netns;
	return 0;
}

/* ---- fragments ---------------------------------------------------------------------------- */

static struct frag_slot *frag_slot(struct pipeline *p, const struct decoded *d)
{
	uint32_t h = mix(d->src, 16, d->frag_id);
	h = mix(d->dst, 16, h ^ d->proto);
	return &p->frag[h & (FRAG_SLOTS - 1)];
}

static void frag_remember(struct pipeline *p, const struct decoded *d, const struct ft_key *key,
			  bool sender_is_lo)
{
	struct frag_slot *s = frag_slot(p, d);
	memcpy(s->src, d->src, 16);
	memcpy(s->dst, d->dst, 16);
	s->id = d->frag_id;
	s->proto = d->proto;
	s->used = 1;
	s->sender_is_lo = sender_is_lo;
	s->key = *key;
}

static bool frag_lookup(struct pipeline *p, const struct decoded *d, uint32_t netns,
			struct ft_key *key, bool *sender_is_lo)
{
	struct frag_slot *s = frag_slot(p, d);
	if (!s->used || s->id != d->frag_id || s->proto != d->proto || s->key.netns != netns ||
	    memcmp(s->src, d->src, 16) != 0 || memcmp(s->dst, d->dst, 16) != 0)
		return false;
	*key = s->key;
	*sender_is_lo = s->sender_is_lo;
	return true;
}

/* ---- pending owners ----------------------------------------------------------------------- */

/* Word-wise, as the flow table hashes the same key (a byte-wise hash of its 48 bytes was a
 * chain of 48 multiplies per lookup); the seeds keep the tables' slots apart. */
static uint32_t pend_hash(const struct ft_key *key, bool wildcard)
{
	return flowtable_key_hash(key, wildcard ? 0x50454e44574c44ull : 0x50454e44ull);
}

static void wild_key(struct ft_key *k, uint32_t netns, uint8_t proto, const uint8_t addr[16],
		     uint16_t port)
{
	memset(k, 0, sizeof(*k));
	if (!addr_is_any(addr))
		memcpy(k->lo, addr, 16);
	k->port_lo = port;
	k->proto = proto;
	k->netns = netns;
}

static void pend_put(struct pipeline *p, const struct ft_key *key, bool local_is_lo,
		     bool wildcard, const struct ecap_proc *proc, uint64_t now)
{
	uint32_t h = pend_hash(key, wildcard);
	struct pending *slot = NULL;
	for (uint32_t k = 0; k < PENDING_PROBE; k++) {
		struct pending *e = &p->pend[(h + k) & (PENDING_SLOTS - 1)];
		if (e->used && e->wildcard == wildcard && e->local_is_lo == local_is_lo &&
		    memcmp(&e->key, key, sizeof(*key)) == 0) {
			slot = e; /* the same socket again: refresh */
			break;
		}
		/* Else a free slot, else the one that expires first (an expired one if any). */
		if (!slot || (slot->used && (!e->used || e->expire_ns < slot->expire_ns)))
			slot = e;
	}
	if (!slot->used) {
		if (wildcard)
			p->n_wild++;
		else
			p->n_exact++;
	} else if (slot->wildcard != wildcard) {
		if (wildcard) {
			p->n_wild++;
			p->n_exact--;
		} else {
			p->n_exact++;
			p->n_wild--;
		}
	}
	slot->key = *key;
	slot->used = 1;
	slot->wildcard = wildcard;
	slot->local_is_lo = local_is_lo;
	slot->expire_ns = now + PENDING_TTL_NS;
	slot->proc = *proc;
}

/* The first n (1 or 2) live entries for key into e[], the rest NULL; how many were found. On
 * loopback both ends of a tuple are local sockets: two exact entries. One pass over the probe
 * sequence for both. */
static int pend_find_n(struct pipeline *p, const struct ft_key *key, bool wildcard, uint64_t now,
		       struct pending **e, int n)
{
	uint32_t h = pend_hash(key, wildcard);
	int found = 0;
	for (int k = 0; k < n; k++)
		e[k] = NULL;
	for (uint32_t i = 0; i < PENDING_PROBE && found < n; i++) {
		struct pending *x = &p->pend[(h + i) & (PENDING_SLOTS - 1)];
		if (x->used && x->wildcard == wildcard && x->expire_ns >= now &&
		    memcmp(&x->key, key, sizeof(*key)) == 0)
			e[found++] = x;
	}
	return found;
}

/* The first live entry for key, or NULL. */
static struct pending *pend_find(struct pipeline *p, const struct ft_key *key, bool wildcard,
				 uint64_t now)
{
	struct pending *e;
	pend_find_n(p, key, wildcard, now, &e, 1);
	return e;
}

/* A new flow: apply what sockets we learned before it. */
static void pend_apply(struct pipeline *p, struct flow *f, uint64_t now)
{
	if (p->n_exact) {
		struct pending *e[2];
		pend_find_n(p, &f->key, false, now, e, 2);
		for (int i = 0; i < 2; i++) {
			if (!e[i])
				continue;
			bool local_is_a = (bool)e[i]->local_is_lo == (bool)f->a_is_lo;
			set_proc(f, local_is_a ? FLOW_SIDE_A : FLOW_SIDE_B, &e[i]->proc);
			e[i]->used = 0;
			p->n_exact--;
		}
	}
	if (p->n_wild) {
		const struct flow_key *fk = &f->rec.key;
		for (int side = 0; side < 2; side++) {
			if (f->rec.proc[side].valid)
				continue;
			const uint8_t *addr = side == FLOW_SIDE_A ? fk->addr_a : fk->addr_b;
			uint16_t port = side == FLOW_SIDE_A ? fk->port_a : fk->port_b;
			struct ft_key k;
			wild_key(&k, f->key.netns, fk->proto, addr, port);
			struct pending *e = pend_find(p, &k, true, now);
			if (!e) {
				wild_key(&k, f->key.netns, fk->proto, (const uint8_t[16]){ 0 },
					 port);
				e = pend_find(p, &k, true, now);
			}
			if (e)
				set_proc(f, (enum flow_side)side, &e->proc);
		}
	}
}

/* ---- client_randoms of sessions and secrets ----------------------------------------------- */

/* A client random's slot: its first 8 bytes, mixed as one word. */
static uint32_t cr_hash(const uint8_t cr[32])
{
	uint64_t h;
	memcpy(&h, cr, 8);
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 32;
	h *= 0xff51afd7ed558ccdull;
	return (uint32_t)(h >> 32);
}

static struct cr_ent *cr_find(struct cr_set *t, const uint8_t cr[32])
{
	if (!t->cap)
		return NULL;
	uint32_t j = cr_hash(cr) & (t->cap - 1);
	while (t->v[j].used) {
		if (memcmp(t->v[j].cr, cr, 32) == 0)
			return &t->v[j];
		j = (j + 1) & (t->cap - 1);
	}
	return NULL;
}

/* A new entry for cr, which t does not hold and has room for. */
static struct cr_ent *cr_insert(struct cr_set *t, const uint8_t cr[32])
{
	uint32_t j = cr_hash(cr) & (t->cap - 1);
	while (t->v[j].used)
		j = (j + 1) & (t->cap - 1);
	memset(&t->v[j], 0, sizeof(t->v[j]));
	memcpy(t->v[j].cr, cr, 32);
	t->v[j].used = 1;
	t->n++;
	return &t->v[j];
}

/*
 * Room for one more in the newer generation: it grows up to CR_SET_MAX, then becomes the older
 * one (the older is forgotten). The entries with secrets in the hold move on into the new
 * generation, so that their ClientHello still finds them; when they are many (a replay's key
 * log loaded before its capture), the new generation is made large enough for them.
 */
static int cr_room(struct pipeline *p)
{
	struct cr_set *t = &p->cr;
	if (t->cap && (t->n + 1) * 2 <= t->cap)
		return 0;
	uint32_t ncap = t->cap ? t->cap * 2 : CR_SET_MIN, held = 0;
	bool rotate = ncap > CR_SET_MAX;
	if (rotate) {
		for (uint32_t i = 0; i < t->cap; i++)
			held += t->v[i].used && t->v[i].held;
		ncap = t->cap;
		while ((uint64_t)(held + 1) * 4 > ncap)
			ncap *= 2;
	}
	/* made memory at once (hot): calloc cleared a generation from the heap page by page,
	 * a fault each on the thread that drains the rings */
	struct cr_set n = { .v = table_mem_new(ncap, sizeof(struct cr_ent), true), .cap = ncap };
	if (!n.v)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->cap; i++) {
		struct cr_ent *e = &t->v[i];
		if (!e->used || (rotate && !e->held))
			continue;
		*cr_insert(&n, e->cr) = *e;
		e->held = 0; /* a chain has one owner */
	}
	if (rotate) {
		cr_set_free(&p->cr_old);
		p->cr_old = *t;
	} else {
		cr_set_free(t);
	}
	*t = n;
	return 0;
}

/* The entry of cr, made when missing (from the older generation's when it has one); NULL when
 * out of memory. */
static struct cr_ent *cr_get(struct pipeline *p, const uint8_t cr[32])
{
	struct cr_ent *e = cr_find(&p->cr, cr);
	if (e)
		return e;
	if (cr_room(p))
		return NULL;
	e = cr_insert(&p->cr, cr);
	struct cr_ent *o = cr_find(&p->cr_old, cr);
	if (o) {
		*e = *o;
		o->held = 0; /* the chain has one owner */
	}
	return e;
}

/* A secret into the store: 1 new, 0 known, <0 error. A secret of a session recorded in this run
 * is known by its labels here, and the store need not look (store_put_session_secret). */
static int keep_secret(struct pipeline *p, const struct tls_secret *secret, struct cr_ent *e)
{
	int bit = e && e->has_session ?
		  tls_label_index(secret->label, strnlen(secret->label, sizeof(secret->label))) : -1;
	int r;
	if (bit >= 0 && (e->labels >> bit) & 1) {
		r = 0;
	} else if (bit >= 0) {
		r = store_put_session_secret(p->store, secret);
		if (r > 0)
			e->labels |= (uint16_t)(1u << bit);
	} else {
		r = store_put_secret(p->store, secret);
	}
	if (r < 0)
		return r;
	if (r == 0) {
		p->st.secrets_dup++;
		return 0;
	}
	p->st.secrets++;
	if (e) {
		e->n_secrets++;
		if (e->has_session)
			p->st.secrets_linked++;
	}
	return 1;
}

struct take_ctx {
	struct pipeline *p;
	struct cr_ent *e;
};

static int take_one(void *ctx, const struct tls_secret *sec)
{
	struct take_ctx *t = ctx;
	int r = keep_secret(t->p, sec, t->e);
	return r < 0 ? r : 0;
}

static int session_found(struct pipeline *p, struct flow *f, const uint8_t random[32])
{
	int r = store_put_tls_session(p->store, random, f->rec.id);
	if (r < 0)
		return r;
	p->st.tls_sessions++;
	struct cr_ent *e = cr_get(p, random);
	if (e && !e->has_session) {
		e->has_session = 1;
		p->st.secrets_linked += e->n_secrets;
	}
	if (e && e->held && p->hold) {
		struct take_ctx t = { p, e };
		r = secret_hold_take(p->hold, &e->held, take_one, &t);
		p->st.secrets_held = secret_hold_count(p->hold);
		if (r < 0)
			return r;
	}
	return 0;
}

void pipeline_secret_soon(struct pipeline *p, const uint8_t client_random[32])
{
	if (p->cr.cap)
		__builtin_prefetch(&p->cr.v[cr_hash(client_random) & (p->cr.cap - 1)], 1);
}

/* A TLS 1.3 session's secrets, made now (it is recorded, or every secret is kept). */
static int derive_keep(struct pipeline *p, const struct tls13_material *m, struct cr_ent *e)
{
	struct tls_secret out[TLS13_SECRETS];
	bool derived;
	int n = tls13_material_secrets(m, out, &derived), r = 0;
	if (derived)
		p->derived_now++;
	for (int i = 0; i < n && r >= 0; i++)
		r = keep_secret(p, &out[i], e);
	explicit_bzero(out, sizeof(out));
	return r < 0 ? r : n > 0;
}

int pipeline_tls13(struct pipeline *p, const struct tls13_material *m)
{
	struct cr_ent *e = cr_get(p, m->client_random);
	if (!p->hold || (e && e->has_session))
		return derive_keep(p, m, e);
	if (!e)
		return -ENOMEM;
	if (secret_hold_has_tls13(p->hold, e->held, m)) {
		p->st.secrets_dup += tls13_material_count(m);
		return 0;
	}
	int r = secret_hold_put_tls13(p->hold, m, p->now_mono, &e->held);
	if (r < 0)
		return r;
	p->st.secrets_not_kept += (uint64_t)r;
	p->st.secrets_held = secret_hold_count(p->hold);
	return 1;
}

int pipeline_secret(struct pipeline *p, const struct tls_secret *secret)
{
	struct cr_ent *e = cr_get(p, secret->client_random);
	if (!p->hold || (e && e->has_session))
		return keep_secret(p, secret, e);
	if (!e)
		return -ENOMEM;
	if (secret_hold_has(p->hold, e->held, secret)) {
		p->st.secrets_dup++;
		return 0;
	}
	int r = secret_hold_put(p->hold, secret, p->now_mono, &e->held);
	if (r < 0)
		return r;
	p->st.secrets_not_kept += (uint64_t)r;
	p->st.secrets_held = secret_hold_count(p->hold);
	return 1;
}

/* ---- packets ------------------------------------------------------------------------------ */

static int tls_step(struct pipeline *p, struct flow *f, const struct decoded *d,
		    enum flow_side sender)
{
	if (sender == FLOW_SIDE_B) {
		/* The server spoke first: not TLS from the start (or STARTTLS). */
		if (d->payload_wire > 0 && f->tls.phase == TLS_HELLO_START)
			f->tls.phase = TLS_HELLO_DONE;
		return 0;
	}
	uint32_t seq = d->seq;
	if (d->tcp_flags & TCP_SYN) {
		if (d->tcp_flags & TCP_ACK)
			return 0;
		tls_hello_syn(&f->tls, d->seq);
		seq++; /* data on a SYN (TCP Fast Open) starts after it */
	}
	if (d->payload_wire == 0)
		return 0;
	uint8_t random[32];
	if (tls_hello_feed(&f->tls, p->tls_pool, seq, d->payload, d->payload_len, d->payload_wire,
			   random) == 1)
		return session_found(p, f, random);
	return 0;
}

int pipeline_packet(struct pipeline *p, struct ecap_packet *pkt, const struct ecap_proc *proc)
{
	struct decoded d;
	int res;

	return pipeline_packet_decoded(p, pkt, proc, &d, &res);
}

int pipeline_packet_decoded(struct pipeline *p, struct ecap_packet *pkt,
			    const struct ecap_proc *proc, struct decoded *d, int *res_out)
{
	struct ft_key key;
	bool sender_is_lo;
	int r;

	p->st.packets++;
	p->st.bytes += pkt->origlen;
	pkt->flow_id = 0;

	int res = decode_packet(linktype_of(p, pkt->iface), pkt->data, pkt->caplen, d);
	*res_out = res;
	if (d->flags & (DECODE_F_TRUNCATED | DECODE_F_BAD))
		p->st.decode_errors++;
	uint32_t netns = netns_of(p, pkt->iface);
	bool keyed = res != DECODE_NONE && flowtable_key(d, netns, &key, &sender_is_lo);
	if (!keyed && res != DECODE_NONE && (d->flags & DECODE_F_FRAGMENT) &&
	    !(d->flags & DECODE_F_FRAG_FIRST))
		keyed = frag_lookup(p, d, netns, &key, &sender_is_lo);
	else if (keyed && (d->flags & DECODE_F_FRAG_FIRST))
		frag_remember(p, d, &key, sender_is_lo);

	if (keyed) {
		struct flow_hit hit;
		/* A connection's first packet: the pending owners of its tuple are looked at right
		 * after the flow table; their line travels while the table is searched. */
		if (p->n_exact && (d->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			__builtin_prefetch(&p->pend[pend_hash(&key, false) & (PENDING_SLOTS - 1)]);
		r = flowtable_packet(p->ft, &key, sender_is_lo, d, pkt->ts_ns, &hit);
		if (r < 0)
			return r;
		struct flow *f = hit.flow;
		bool dirty = hit.created;
		if (hit.created) {
			p->st.flows++;
			if (p->n_exact || p->n_wild)
				pend_apply(p, f, pkt->ts_ns);
		}
		if (proc && proc->valid) {
			enum flow_side side = hit.sender;
			if ((pkt->flags & 3) == PKT_DIR_INBOUND)
				side = side == FLOW_SIDE_A ? FLOW_SIDE_B : FLOW_SIDE_A;
			dirty |= set_proc(f, side, proc);
		}
		/* and again in each epoch of the store in which it has packets (store.h) */
		if (dirty || f->store_epoch != store_flow_epoch(p->store)) {
			if (!dirty)
				p->st.flow_records_again++;
			r = put_flow(p, f);
			if (r < 0)
				return r;
		}
		pkt->flow_id = f->rec.id;
		if (d->proto == FLOW_PROTO_TCP && (d->flags & DECODE_F_TCP_HDR) &&
		    !tls_hello_done(&f->tls)) {
			r = tls_step(p, f, d, hit.sender);
			if (r < 0)
				return r;
		}
		return store_append_flow_packet(p->store, pkt, &f->chunk_stat);
	}
	p->st.non_flow_packets++;
	return store_append_packet(p->store, pkt);
}

/* ---- peer sockets and NAT ------------------------------------------------------------------- */

static struct alias *alias_slot(struct pipeline *p, const struct ft_key *key)
{
	return &p->alias[flowtable_key_hash(key, 0x414c494153ull) & (ALIAS_SLOTS - 1)];
}

/* The flow recorded in another namespace that a socket of so->netns sent, through an alias. */
static struct flow *alias_flow(struct pipeline *p, const struct socket_owner *so, uint64_t now,
			       enum flow_side *local)
{
	struct ft_key key;
	bool local_is_lo;

	flowtable_tuple_key(&key, so->netns, so->proto, so->local_addr, so->local_port,
			    so->remote_addr, so->remote_port, &local_is_lo);
	struct alias *a = alias_slot(p, &key);
	if (!a->to_netns || a->expire_ns < now || memcmp(&a->key, &key, sizeof(key)) != 0)
		return NULL;
	struct flow *f = flowtable_find(p->ft, a->to_netns, so->proto, so->local_addr,
					so->local_port, so->remote_addr, so->remote_port, local);
	if (f)
		p->st.peer_owners++;
	return f;
}

int pipeline_peer_socket(struct pipeline *p, const struct peer_socket *ps, uint64_t ts_ns)
{
	enum flow_side local;
	struct ft_key key;
	bool local_is_lo;

	if (!ps->netns || !ps->sock_netns || ps->netns == ps->sock_netns)
		return 0;
	struct flow *f = flowtable_find(p->ft, ps->netns, ps->proto, ps->local_addr,
					ps->local_port, ps->remote_addr, ps->remote_port, &local);
	if (!f)
		return 0;
	if (!p->alias && !(p->alias = calloc(ALIAS_SLOTS, sizeof(*p->alias))))
		return -ENOMEM;
	flowtable_tuple_key(&key, ps->sock_netns, ps->proto, ps->local_addr, ps->local_port,
			    ps->remote_addr, ps->remote_port, &local_is_lo);
	struct alias *a = alias_slot(p, &key);
	a->key = key;
	a->to_netns = ps->netns;
	a->expire_ns = ts_ns + PENDING_TTL_NS;
	if (f->rec.proc[local].valid || !p->n_exact)
		return 0;
	/* The socket's owner may have come first, and waits for a flow of its namespace. */
	struct pending *two[2];
	pend_find_n(p, &key, false, ts_ns, two, 2);
	for (int k = 0; k < 2; k++) {
		struct pending *e = two[k];
		if (!e || (bool)e->local_is_lo != local_is_lo)
			continue;
		p->st.peer_owners++;
		if (set_proc(f, local, &e->proc))
			return put_flow(p, f);
		return 0;
	}
	return 0;
}

int pipeline_nat(struct pipeline *p, const struct nat_entry *e, uint64_t ts_ns)
{
	enum flow_side pre_side, post_side;

	if (!e->pre_netns || !e->post_netns || !e->kind)
		return 0;
	/* End 1 of each lookup is the original source: as it is, and as the translation made
	 * it (the reply's destination). */
	struct flow *pre = flowtable_find(p->ft, e->pre_netns, e->proto, e->orig_src,
					  e->orig_sport, e->orig_dst, e->orig_dport, &pre_side);
	struct flow *post = flowtable_find(p->ft, e->post_netns, e->proto, e->reply_dst,
					   e->reply_dport, e->reply_src, e->reply_sport,
					   &post_side);
	if (!pre || !post || pre == post)
		return 0;
	if (pre->nat_peer == post->rec.id)
		return 1;
	pre->nat_peer = post->rec.id;
	post->nat_peer = pre->rec.id;
	struct flow_link link = {
		.pre_id = pre->rec.id,
		.post_id = post->rec.id,
		.kind = e->kind,
		.pre_a_side = (uint8_t)(pre_side == FLOW_SIDE_A ? post_side : !post_side),
		.ts_ns = ts_ns,
	};
	p->st.nat_links++;
	int rc = store_put_flow_link(p->store, &link);
	return rc < 0 ? rc : 1;
}

/* ---- sockets, drops, time ----------------------------------------------------------------- */

int pipeline_socket_owner(struct pipeline *p, const struct socket_owner *so, uint64_t ts_ns)
{
	/* A socket of no known namespace could be any namespace's: it names no owner. */
	if (!so->proc.valid || so->netns == 0)
		return 0;
	bool wildcard = so->remote_port == 0 && addr_is_any(so->remote_addr);
	struct ft_key key;
	if (wildcard) {
		wild_key(&key, so->netns, so->proto, so->local_addr, so->local_port);
		pend_put(p, &key, true, true, &so->proc, ts_ns);
		return 0;
	}
	bool local_is_lo;
	flowtable_tuple_key(&key, so->netns, so->proto, so->local_addr, so->local_port,
			    so->remote_addr, so->remote_port, &local_is_lo);
	/* A socket reported before its flow's first packet waits in this slot: its line is
	 * loaded while the flow table is searched (two misses at once instead of one after the
	 * other; the socket records of a batch come before its packets). */
	__builtin_prefetch(&p->pend[pend_hash(&key, false) & (PENDING_SLOTS - 1)], 1);
	enum flow_side local;
	struct flow *f = flowtable_find_key(p->ft, &key, local_is_lo, &local);
	if (!f && p->alias)
		f = alias_flow(p, so, ts_ns, &local);
	bool closed = f && (f->tcp_state & (FT_FIN_A | FT_FIN_B | FT_RST));
	/*
	 * A flow that is open, or closed with no owner on this end yet (a short connection
	 * whose accept() was reported after it ended), is this socket's. A closed flow owned
	 * by another process means the socket is the next connection on the tuple: keep it
	 * pending, like a socket seen before any packet.
	 */
	if (f && (!closed || !f->rec.proc[local].valid)) {
		if (set_proc(f, local, &so->proc)) {
			int r = put_flow(p, f);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (f && proc_same(&f->rec.proc[local], &so->proc))
		return 0;
	pend_put(p, &key, local_is_lo, false, &so->proc, ts_ns);
	return 0;
}

int pipeline_process(struct pipeline *p, const struct ecap_proc_info *pi)
{
	return store_put_process(p->store, pi);
}

int pipeline_container(struct pipeline *p, const struct ecap_container *c)
{
	return store_put_container(p->store, c);
}

int pipeline_drops(struct pipeline *p, uint32_t iface, uint64_t ts_ns, uint64_t count)
{
	p->st.drops += count;
	return store_put_drops(p->store, iface, ts_ns, count);
}

int pipeline_tick(struct pipeline *p, uint64_t now_mono_ns)
{
	p->now_mono = now_mono_ns;
	if (p->hold && p->opt.secret_hold_ns) {
		p->st.secrets_not_kept += secret_hold_expire(p->hold, now_mono_ns,
							     p->opt.secret_hold_ns);
		p->st.secrets_held = secret_hold_count(p->hold);
	}
	p->expire_more = flowtable_expire(p->ft, EXPIRE_BUDGET) >= EXPIRE_BUDGET;
	return store_tick(p->store, now_mono_ns);
}

bool pipeline_wants_tick(const struct pipeline *p)
{
	return p->expire_more || store_wants_tick(p->store);
}

bool pipeline_chunk_open(const struct pipeline *p)
{
	return store_chunk_ageing(p->store);
}

uint64_t pipeline_chunk_due_if_opened(const struct pipeline *p)
{
	return store_chunk_due_if_begun(p->store);
}

uint64_t pipeline_tick_due(const struct pipeline *p)
{
	if (p->expire_more)
		return 1;
	return store_wants_tick(p->store) ? store_tick_due(p->store) : 0;
}

static void release_tls(void *ctx, struct flow *f)
{
	struct pipeline *p = ctx;
	tls_hello_release(&f->tls, p->tls_pool);
}

int pipeline_finish(struct pipeline *p)
{
	/* Flows and sessions went to the store as they were seen; what is left is memory. */
	flowtable_walk(p->ft, release_tls, p);
	if (p->hold) { /* what still waits for its ClientHello will not see it now */
		p->st.secrets_not_kept += secret_hold_expire(p->hold, p->now_mono, 0);
		p->st.secrets_held = 0;
	}
	return store_sync(p->store);
}

void pipeline_get_stats(const struct pipeline *p, struct pipeline_stats *st)
{
	struct flowtable_stats fs;
	*st = p->st;
	st->tls_derived = p->derived_now + (p->hold ? secret_hold_derived(p->hold) : 0);
	flowtable_get_stats(p->ft, &fs);
	st->active_flows = fs.active;
}
