/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pipeline.h - the recorder's pipeline, the seam between a source and the store.
 *
 * A source (replay.c reads capture files; live.c reads the TC eBPF ring buffer and the
 * socket and OpenSSL probes) hands over packets, process facts and TLS secrets. The pipeline
 * decodes each packet (decode.c), finds its flow (flowtable.c: one connection over its
 * lifetime, port reuse starts a new flow), takes the client_random out of ClientHellos
 * (tls_hello.c), and writes packets, flows, sessions and secrets into the store. Sources
 * differ only in where these come from: nothing below this line knows about files or eBPF.
 *
 * pipeline_packet() is the hot path: no allocation in steady state, no syscall, no SQL.
 */
#ifndef ECAP_PIPELINE_H
#define ECAP_PIPELINE_H

#include <stdint.h>

#include "../schema/records.h"
#include "../schema/store.h"
#include "tls_hkdf.h"

struct pipeline;

struct pipeline_options {
	uint64_t tcp_idle_ns;   /* idle gap that ends a TCP flow; default 10 min */
	uint64_t udp_idle_ns;   /* UDP and ICMP; default 2 min (30 s, or this when shorter, for
				 * a flow whose packets all came within 2 s of its first) */
	uint32_t max_flows;     /* flow table capacity; default 1M */
	/* TLS secrets: all of them (keep_all_secrets), or only those of sessions whose
	 * ClientHello is recorded (the default); a secret waits for its ClientHello for
	 * secret_hold_ns (default 30 s; 0: until pipeline_finish), at most secret_hold_max items
	 * at once (default 32768; an item is a secret, or the five of a TLS 1.3 session from the
	 * OpenSSL probes; the oldest goes first), and is then dropped, wiped. */
	bool keep_all_secrets;
	uint64_t secret_hold_ns;
	uint32_t secret_hold_max;
};

void pipeline_options_default(struct pipeline_options *o);
int pipeline_new(struct store *store, const struct pipeline_options *opt, struct pipeline **out);
/* Flushes what it holds into the store (does not close the store). */
int pipeline_finish(struct pipeline *p);
void pipeline_free(struct pipeline *p);

/*
 * One packet. pkt->flow_id is filled in by the pipeline. proc, when not NULL, is the local
 * process that sent (PKT_DIR_OUTBOUND) or received (PKT_DIR_INBOUND) it, as the source knows
 * it (a ptcpdump comment in a pcapng); with an unknown direction it is taken for the sender.
 */
int pipeline_packet(struct pipeline *p, struct ecap_packet *pkt, const struct ecap_proc *proc);
/* The same, giving the caller the headers the pipeline decoded (*d) and the decode result (an
 * enum decode_result), so that it need not decode the packet again. */
struct decoded;
int pipeline_packet_decoded(struct pipeline *p, struct ecap_packet *pkt,
			    const struct ecap_proc *proc, struct decoded *d, int *res);

/*
 * The network namespace (its inode number) that the packets of store interface iface belong
 * to: the namespace of the device. Until set, an interface's namespace is unknown (0), and
 * no socket owner is ever applied to its flows.
 */
int pipeline_iface_netns(struct pipeline *p, uint32_t iface, uint32_t netns);

/*
 * A local socket and its owner, as the live source learns it (connect, accept, first send,
 * /proc at start). Attributes the end of the matching flow whose address and port are the
 * local ones and whose packets were recorded in the socket's network namespace (one tuple in
 * two namespaces is two connections); a socket seen before its first packet is remembered and
 * applied when the flow appears. A socket whose namespace is not known (0) is ignored.
 * Addresses are 16 bytes, IPv4 v4-mapped.
 */
struct socket_owner {
	uint8_t proto;
	uint8_t local_addr[16], remote_addr[16];
	uint16_t local_port, remote_port;
	uint32_t netns;          /* inode of the socket's network namespace; 0: unknown */
	struct ecap_proc proc;
};
int pipeline_socket_owner(struct pipeline *p, const struct socket_owner *so, uint64_t ts_ns);

/*
 * A conntrack entry that NAT changed (live source, read in the kernel from a packet's
 * nf_conn): its tuple in the original direction (orig_src -> orig_dst) and in the reply
 * direction, and the network namespaces whose recorded packets hold the flow of each: the
 * original tuple's in pre_netns, the reply tuple's (reversed) in post_netns (-i NAME: both
 * the entry's own; -i any: where each was recorded, nat_sightings.h). When both flows are in
 * the table, they are linked: the flow of the original tuple is the one before the
 * translation. Each link is stored once (chunk metadata section 15). Returns 1 when the two
 * flows are linked (now or before), 0 when they are not (one is not in the table), or a
 * negative errno from the store.
 */
struct nat_entry {
	uint32_t pre_netns, post_netns;
	uint8_t proto;
	uint8_t kind;            /* FLOW_LINK_* bits */
	uint8_t orig_src[16], orig_dst[16], reply_src[16], reply_dst[16];
	uint16_t orig_sport, orig_dport, reply_sport, reply_dport;
};
int pipeline_nat(struct pipeline *p, const struct nat_entry *e, uint64_t ts_ns);

/*
 * A packet recorded in namespace netns was sent by a local socket of namespace sock_netns
 * whose own tuple is exactly the packet's (live source: skb->sk of a packet that came
 * through a veth pair). The owner of that socket, reported by pipeline_socket_owner() with
 * sock_netns, before or after this call, becomes the owner of the sending end of the
 * packet's flow in netns.
 */
struct peer_socket {
	uint32_t netns, sock_netns;
	uint8_t proto;
	uint8_t local_addr[16], remote_addr[16];
	uint16_t local_port, remote_port;
};
int pipeline_peer_socket(struct pipeline *p, const struct peer_socket *ps, uint64_t ts_ns);

/* A secret from a key log file, an input DSB or the OpenSSL probes: stored when its session is
 * recorded (or with keep_all_secrets), else held until its ClientHello comes (see
 * pipeline_options). 1 stored or held, 0 known, <0 error. */
int pipeline_secret(struct pipeline *p, const struct tls_secret *secret);
/* Secrets of this client_random come soon (a probe's event, while it is read): the memory that
 * pipeline_secret() and pipeline_tls13() look at first is loaded meanwhile. Changes nothing. */
void pipeline_secret_soon(struct pipeline *p, const uint8_t client_random[32]);

/* A TLS 1.3 session's secrets as the OpenSSL probe read them (tls_hkdf.h): its handshake
 * traffic secrets derived and all of them stored when its session is recorded (or with
 * keep_all_secrets), now or when its ClientHello comes; else held as pipeline_secret() holds
 * a secret, and dropped wiped. Returns as pipeline_secret(). */
int pipeline_tls13(struct pipeline *p, const struct tls13_material *m);

/* What an owning process was (exe, command line, parent, cgroup, container): kept in the
 * store by (pid, start_ns), beside the flows whose owners name it. */
int pipeline_process(struct pipeline *p, const struct ecap_proc_info *pi);

/* What a container's runtime said of it (name, image, labels, pod): kept in the store by
 * container id, beside the process records that name it. */
int pipeline_container(struct pipeline *p, const struct ecap_container *c);

/* Packets a source lost. */
int pipeline_drops(struct pipeline *p, uint32_t iface, uint64_t ts_ns, uint64_t count);

/* Periodic work: flow expiry, chunk closing and group commit in the store. */
int pipeline_tick(struct pipeline *p, uint64_t now_mono_ns);
/* Whether the next pipeline_tick has something to do soon (store_wants_tick, or flows left to
 * expire past one tick's budget); when false, a tick a second is enough. */
bool pipeline_wants_tick(const struct pipeline *p);
/* When pipeline_wants_tick(), the monotonic time from which the next pipeline_tick has that
 * work to do (store_tick_due; 1: at once); 0 when it has none. */
uint64_t pipeline_tick_due(const struct pipeline *p);
/* Whether the store's open chunk holds anything (store_chunk_ageing). */
bool pipeline_chunk_open(const struct pipeline *p);
/* With no chunk open, when one opened before the next tick would close by its age
 * (store_chunk_due_if_begun). */
uint64_t pipeline_chunk_due_if_opened(const struct pipeline *p);

struct pipeline_stats {
	uint64_t packets, bytes;
	uint64_t flows;             /* flows created */
	uint64_t flow_records_again; /* records of live flows stored again in a new epoch of the
				      * store (store_flow_epoch), so that each segment has them */
	uint64_t active_flows;
	uint64_t non_flow_packets;  /* ARP and the like: stored without a flow */
	uint64_t tls_sessions;      /* client_randoms linked to flows */
	uint64_t secrets, secrets_dup;
	uint64_t secrets_linked;    /* secrets whose client_random has a session in this run */
	uint64_t secrets_not_kept;  /* dropped: no recorded ClientHello carried their client_random */
	uint64_t secrets_held;      /* waiting for their ClientHello now */
	uint64_t tls_derived;       /* TLS 1.3 handshakes whose traffic secrets were derived */
	uint64_t drops;
	uint64_t nat_links;         /* flows linked before and after NAT */
	uint64_t peer_owners;       /* flow ends owned by a socket of another namespace */
	uint64_t decode_errors;     /* packets too short to decode past some header (still stored) */
};
void pipeline_get_stats(const struct pipeline *p, struct pipeline_stats *st);

#endif
