/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * conntrack_read.h - reading a packet's conntrack entry (struct nf_conn) in a BPF program,
 * shared by the readers of -i NAME (conntrack.bpf.c, tail-called by the TC programs) and of
 * -i any (conntrack_any.bpf.c, tail-called on tp_btf/net_dev_queue): whether NAT changed the
 * entry, its two tuples as a struct ecap_nat_info (ecap.h), and the per-CPU table that
 * reports each entry at most once a second.
 *
 * The entry is the integer skb->_nfct with its low 3 bits (ctinfo) masked off, cast with
 * bpf_rdonly_cast to the kernel's struct nf_conn, whose BTF id user space finds (this
 * kernel's BTF has two structs of that name, so CO-RE cannot pick one) and puts in the
 * object's nf_conn_btf_id before load: the verifier turns the loads through that pointer
 * into plain loads that read zero where they fault. The table is direct-mapped, keyed by
 * what the caller says identifies a report (the entry's address and ports at least: freed
 * entries are soon the next connection's). Included by BPF programs only, after vmlinux.h,
 * bpf_helpers.h, bpf_endian.h and ecap.h.
 */
#ifndef ECAP_BPF_CONNTRACK_READ_H
#define ECAP_BPF_CONNTRACK_READ_H

#define REPORT_EVERY_NS 1000000000ull
#define REPORTED_SLOTS 256u
#define AF_INET_NR 2
#define AF_INET6_NR 10
#define IPPROTO_TCP_NR 6
#define IPPROTO_UDP_NR 17

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* The kernel's BTF id of struct nf_conn, found by user space; 0: NAT is not read. */
const volatile __u32 nf_conn_btf_id = 0;

struct reported {
	__u64 key;
	__u64 at_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REPORTED_SLOTS);
	__type(key, __u32);
	__type(value, struct reported);
} reported SEC(".maps");

/* The slot of the table for key, claimed when key was not reported within the last second;
 * NULL when it was. A caller that then reports nothing gives it back (key = 0). */
static __always_inline struct reported *claim(__u64 key, __u64 now)
{
	__u32 i = (__u32)((key >> 6) ^ (key >> 14)) % REPORTED_SLOTS;
	struct reported *r = bpf_map_lookup_elem(&reported, &i);

	if (!r || (r->key == key && now - r->at_ns < REPORT_EVERY_NS))
		return NULL;
	r->key = key;
	r->at_ns = now;
	return r;
}

/* An address as 16 bytes, IPv4 v4-mapped. */
static __always_inline void v4_mapped(__u8 out[16], __u32 be_addr)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &be_addr, 4);
}

/* The conntrack entry of a skb->_nfct value when NAT changed it (IPS_SRC_NAT or
 * IPS_DST_NAT), with those bits in *status; NULL for none, or one NAT did not touch. */
static __always_inline struct nf_conn *ct_natted(__u64 nfct, __u32 *status)
{
	struct nf_conn *ct;

	nfct &= ~7ull;
	if (!nfct || !nf_conn_btf_id)
		return NULL;
	ct = bpf_rdonly_cast((void *)nfct, nf_conn_btf_id);
	*status = (__u32)ct->status & (ECAP_NAT_SRC | ECAP_NAT_DST);
	return *status ? ct : NULL;
}

/* The part of a claim key that tells the entry's connections apart: its ports. */
static __always_inline __u64 ct_ports_key(struct nf_conn *ct)
{
	struct nf_conntrack_tuple *o = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;

	return ((__u64)o->src.u.all << 32) ^ ((__u64)o->dst.u.all << 48);
}

static __always_inline void ct_end(struct ecap_ct_end *e, const union nf_inet_addr *a,
				   __be16 port, bool v4)
{
	if (v4)
		v4_mapped(e->addr, a->ip);
	else
		__builtin_memcpy(e->addr, a->all, 16);
	e->port = bpf_ntohs(port);
	e->pad = 0;
}

/* n from the entry (status: its NAT bits); false when it is not TCP or UDP over IPv4 or IPv6
 * (no ports: ICMP and others are not linked). n->reply is left 0. */
static __always_inline bool ct_nat_info(struct ecap_nat_info *n, struct nf_conn *ct,
					__u32 status)
{
	struct nf_conntrack_tuple *o = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	struct nf_conntrack_tuple *r = &ct->tuplehash[IP_CT_DIR_REPLY].tuple;
	__u8 proto = o->dst.protonum;
	__u16 l3num = o->src.l3num;
	bool v4 = l3num == AF_INET_NR;

	if ((proto != IPPROTO_TCP_NR && proto != IPPROTO_UDP_NR) ||
	    (l3num != AF_INET_NR && l3num != AF_INET6_NR))
		return false;
	n->netns = ct->ct_net.net->ns.inum;
	n->status = status;
	n->proto = proto;
	n->family = v4 ? 4 : 6;
	n->reply = 0;
	n->pad = 0;
	ct_end(&n->orig_src, &o->src.u3, o->src.u.all, v4);
	ct_end(&n->orig_dst, &o->dst.u3, o->dst.u.all, v4);
	ct_end(&n->reply_src, &r->src.u3, r->src.u.all, v4);
	ct_end(&n->reply_dst, &r->dst.u3, r->dst.u.all, v4);
	return true;
}

#endif
