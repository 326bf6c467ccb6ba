/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * store.h - the one API to an ecap store, used by the recorder, export and the tools.
 *
 * A store is a directory (0700, files 0600) holding an SQLite index (index.db, WAL mode) and
 * segment files (seg-NNNNNNNN.ecap) of LZ4 frames; segment.c specifies the bytes. The index is
 * a cache: store_rebuild() recreates it from the segments alone.
 *
 * One writer per store (an flock on the lock file); any number of readers beside it.
 * The writer's per-packet call, store_append_packet(), copies into the open chunk and makes
 * no syscall and no SQL: chunks are compressed and written when they close (at
 * chunk_bytes raw or chunk_age), and made durable together with their index rows by a group
 * commit (fdatasync of the segment, then COMMIT) at least every commit_interval.
 *
 * Functions return 0 or a negative errno; on failure store_errmsg() says what and where.
 */
#ifndef ECAP_STORE_H
#define ECAP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "idset.h"
#include "records.h"

struct store;

enum store_mode {
	STORE_READ,  /* concurrent with a writer; refuses a store with loose modes */
	STORE_WRITE, /* creates the store, takes the lock, repairs modes, recovers */
};

struct store_options {
	uint64_t chunk_bytes;        /* raw pcapng bytes that close a chunk; default 1 MiB */
	uint64_t chunk_age_ns;       /* age that closes a chunk; default 1 s */
	uint64_t commit_interval_ns; /* longest time from chunk close to durable; default 1 s */
	uint64_t segment_bytes;      /* stored bytes that seal a segment; default 64 MiB */
	uint64_t max_size;           /* retention by total bytes; 0: none */
	uint64_t max_age_ns;         /* retention by age of a segment's newest packet; 0: none */
	bool no_sync;                /* skip fdatasync (benchmarks of the CPU side only) */
	bool sync_writer;            /* compress and write chunks on the calling thread (one
				      * core) instead of a writer thread beside it */
	bool quiet;                  /* no notices on stderr (repairs, recovery) */
	bool buffered_writes;        /* never write segments with O_DIRECT (chunk_writer.c);
				      * also set by ECAP_BUFFERED_WRITES=1 in the environment */
	bool drop_when_full;         /* a chunk that finds the disk full (ENOSPC, EDQUOT) is
				      * not stored instead of failing the writer: its packets
				      * count in packets_lost, its flows, TLS sessions, secrets
				      * and drops move to the next chunk, and every later chunk
				      * is tried again (live recording) */
};

void store_options_default(struct store_options *o);

int store_open(const char *dir, enum store_mode mode, const struct store_options *opt,
	       struct store **out);
/* Writer: closes the open chunk, commits, seals nothing (the next open appends). */
int store_close(struct store *s);
/* The last error, naming the file and offset or the SQL statement involved. */
const char *store_errmsg(const struct store *s);
const char *store_dir(const struct store *s);
/* The store's directory, as store_open() checked and opened it (store_path.h): the handle's,
 * valid until store_close(). */
int store_dir_fd(const struct store *s);

/* ---- writer ------------------------------------------------------------------------ */

/* Finds or adds an interface; ids are store-wide and stable. */
int store_add_interface(struct store *s, const struct ecap_iface *iface, uint32_t *id);
/* A fresh flow id (ids are never reused, also across restarts); 0 when none is left. */
uint64_t store_new_flow_id(struct store *s);
/* The hot path: copies the packet into the open chunk. */
int store_append_packet(struct store *s, const struct ecap_packet *pkt);
/* The same for a caller that keeps per flow where the open chunk counts it (*flow_stat, any
 * value at first: chunk_builder_add_flow_packet), saving a lookup by flow id per packet. */
int store_append_flow_packet(struct store *s, const struct ecap_packet *pkt, uint32_t *flow_stat);
/* A new flow, or new facts about one (its owning processes): recorded in the open chunk. */
int store_put_flow(struct store *s, const struct flow_record *flow);
/*
 * The open chunk's epoch. All chunks of one epoch go to one segment, and a segment's first
 * chunk has an epoch of its own (no chunk of an earlier segment has it). A writer stores a
 * flow's record again (store_put_flow) in each epoch in which the flow has packets, before
 * its first packet of the epoch: then every segment holds the record (and owners) of every
 * flow with packets in it, and retention, which deletes whole segments, never leaves packets
 * of a flow that the index (live, or rebuilt from the segments kept) does not know; the
 * records of its owners' processes and containers come along (store_owners.c). Costs the
 * caller a compare per packet, and a record per flow and segment it has packets in. It
 * also moves when a chunk the disk refused (drop_when_full) took records with it. Cheap, no
 * syscall; changes only when a chunk closes or is collected (store_append_packet,
 * store_tick, store_sync).
 */
uint32_t store_flow_epoch(const struct store *s);
/* A TLS session seen in a flow (its ClientHello's client_random). */
int store_put_tls_session(struct store *s, const uint8_t client_random[32], uint64_t flow_id);
/* 1: stored; 0: this (label, client_random) was stored before; <0 error. */
int store_put_secret(struct store *s, const struct tls_secret *secret);
/* A secret of a TLS session whose ClientHello this writer stored (store_put_tls_session),
 * which the caller has not passed before: stored without asking whether the store holds it.
 * 1 stored, <0 error. */
int store_put_session_secret(struct store *s, const struct tls_secret *secret);
/* What an owning process was (once in a while per process: a record per chunk that needs it
 * is not needed, but retention keeps a record only as long as the chunk that carried it; the
 * store brings the latest one along with a record of a flow it owns in each later epoch,
 * store_owners.c). */
int store_put_process(struct store *s, const struct ecap_proc_info *pi);
/* Two flows that are one connection before and after NAT (records.h struct flow_link);
 * brought along with pre_id's record in each later epoch (store_owners.c). */
int store_put_flow_link(struct store *s, const struct flow_link *link);
/* What a container's runtime said of it (stored with the process records that name it, and
 * again as long as they are: retention keeps a container while a process names it; brought
 * along with its process's record, as that is). */
int store_put_container(struct store *s, const struct ecap_container *c);
/* Packets the source lost on an interface (ring buffer full, ...), counted at ts_ns. */
int store_put_drops(struct store *s, uint32_t iface, uint64_t ts_ns, uint64_t count);
/* Call at least a few times a second: closes an old chunk, commits, applies retention. */
int store_tick(struct store *s, uint64_t now_mono_ns);
/* Whether the next store_tick has something to do soon: a chunk that closes by its age, one
 * with the writer thread, index rows to commit, chunks the index is behind on. When false,
 * ticking once a second is enough (retention runs every 2 s, the index's upkeep every 10 min),
 * and nothing stored so far waits for a tick to be durable. */
bool store_wants_tick(const struct store *s);
/* When store_wants_tick(), the monotonic time from which the next store_tick has its work:
 * the open chunk's closing by age, the group commit; 1 for work it has at once (a chunk with
 * the writer, or the index behind). Before that time a tick does nothing, so a caller may
 * sleep until then. Meaningless when store_wants_tick() is false. */
uint64_t store_tick_due(const struct store *s);
/* Whether the open chunk holds anything: its age runs from the tick before its first record. */
bool store_chunk_ageing(const struct store *s);
/* With no chunk open, when one begun before the next store_tick would close by its age (its
 * age runs from the last tick): a caller that leaves records in its rings until then stores
 * them in a chunk that its tick at that time closes. */
uint64_t store_chunk_due_if_begun(const struct store *s);
/* Close the open chunk and make everything durable now. */
int store_sync(struct store *s);
/* Sets store_options.drop_when_full on an open writer. */
void store_set_drop_when_full(struct store *s, bool on);
/* Writer: the fingerprint of the key that signs the store's seals ("SHA256:<64 hex>", 72
 * bytes with the NUL); true when this open made the key (a new store: say it, so that its
 * public half, STORE/store.pub, is copied off the host). */
bool store_signing_key(const struct store *s, char fp[72]);
/* Writer, cheap (no SQL): whether the last chunk written found the disk full (with
 * drop_when_full), and the packets not stored since the store was opened. */
bool store_full(const struct store *s, uint64_t *packets_lost);

struct store_stats {
	uint64_t packets, bytes_raw, bytes_stored;
	uint64_t chunks, segments, flows, tls_sessions, secrets, drops;
	uint64_t secrets_linked;     /* secrets whose client_random has a TLS session */
	uint64_t first_ns, last_ns;
	uint64_t index_bytes;
	uint64_t segments_deleted;   /* by retention since open */
	uint64_t packets_lost;       /* in chunks that could not be written */
	uint64_t bytes_direct;       /* of bytes_stored and bytes_padding, written with O_DIRECT
				      * (writer only) */
	uint64_t bytes_padding;      /* padding frames after chunks (writer only) */
};
/* The whole store's counts, from the index (a reader's summary: its cost grows with the
 * store). */
int store_get_stats(struct store *s, struct store_stats *st);
/* What this writer stored since it opened the store, from counters kept as it goes (no
 * SQL; for a status line): packets, bytes_raw, bytes_stored, bytes_direct, bytes_padding, chunks,
 * segments sealed, tls_sessions, secrets, drops, packets_lost, segments_deleted. */
void store_writer_stats(const struct store *s, struct store_stats *st);
/* First and last packet time in the store (0, 0 when empty); cheap, unlike store_get_stats. */
int store_time_span(struct store *s, uint64_t *first_ns, uint64_t *last_ns);

/* ---- reader ------------------------------------------------------------------------ */

#define STORE_MATCH_MAX 64
#define STORE_MATCH_TEXT_MAX 8
/* A start time as comments print it (10 ms) matches a recorded one this close. */
#define STORE_START_SLACK_NS 20000000ull
/* Which flows a query wants. Kinds combine with AND, values of one kind with OR. A selection
 * by owner (pid, uid, comm, container, exe, cgroup, netns) also takes the flows linked to a
 * matching one through NAT (one hop: flow_links). */
struct flow_filter {
	uint64_t since_ns, until_ns;            /* flows active in [since, until]; 0 / UINT64_MAX */
	uint32_t pids[STORE_MATCH_MAX];         size_t n_pids;
	uint64_t pid_starts[STORE_MATCH_MAX];   /* per pid: its process's start on the wall
						 * clock (within STORE_START_SLACK_NS), 0: any */
	uint32_t uids[STORE_MATCH_MAX];         size_t n_uids;
	char comms[STORE_MATCH_MAX][ECAP_COMM_LEN]; size_t n_comms;
	uint8_t hosts[STORE_MATCH_MAX][16];     size_t n_hosts;   /* v4-mapped for IPv4 */
	uint16_t ports[STORE_MATCH_MAX];        size_t n_ports;
	struct flow_key tuples[STORE_MATCH_MAX]; size_t n_tuples; /* proto 0 = any; both directions */
	uint8_t proto;                          /* 0: any */
	/* by what was recorded of the owning process (records.h struct ecap_proc_info) */
	char containers[STORE_MATCH_TEXT_MAX][ECAP_CTR_NAME_MAX]; size_t n_containers;
						/* a name, an id or its first 12+ digits */
	char pods[STORE_MATCH_TEXT_MAX][ECAP_POD_NAMESPACE_MAX + ECAP_POD_NAME_MAX];
	size_t n_pods;                          /* NAME, NAMESPACE/NAME or a pod uid */
	char exes[STORE_MATCH_TEXT_MAX][ECAP_EXE_MAX]; size_t n_exes;
	char cgroups[STORE_MATCH_TEXT_MAX][ECAP_CGROUP_MAX]; size_t n_cgroups; /* and below */
	uint32_t netns[STORE_MATCH_MAX];        size_t n_netns;   /* the socket's namespace */
};

void flow_filter_init(struct flow_filter *f);
/* True when the filter selects by flow at all (else every packet in the time range counts). */
bool flow_filter_selects(const struct flow_filter *f);

/*
 * The processes with pid that own sockets of the flows f selects (a pid reused over the time
 * the store covers names several): up to max of their start times on the wall clock (0 where
 * not recorded) in starts. Returns how many there are (counting only owners whose start is
 * known), or <0.
 */
int store_pid_processes(struct store *s, const struct flow_filter *f, uint32_t pid,
			uint64_t *starts, size_t max);

/* Whether process (pid, start_ns) is one f's selections by what was recorded of processes
 * (container, pod, exe, cgroup) name, as store_select_flows() reads them: 1 yes, 0 no, <0
 * error. 1 when f has no such selection. */
int store_process_selected(struct store *s, const struct flow_filter *f, uint32_t pid,
			   uint64_t start_ns);

/* Flow ids matching the filter, sealed. */
int store_select_flows(struct store *s, const struct flow_filter *f, struct idset *out);

struct flow_info {
	struct flow_record rec;
	uint64_t last_ns;
	uint64_t packets, bytes;
};
/* Calls fn for each flow matching f (all when f is NULL), in flow id order; fn returning
 * non-zero stops the walk and is returned. */
int store_walk_flows(struct store *s, const struct flow_filter *f,
		     int (*fn)(const struct flow_info *flow, void *ctx), void *ctx);
int store_get_flow(struct store *s, uint64_t flow_id, struct flow_record *out);

/* 1 when the store holds any NAT link, 0 when none, <0 error. */
int store_has_links(struct store *s);
/* The NAT links of a flow (as pre_id or post_id): up to max in out, returns how many there
 * are, or <0. */
int store_get_links(struct store *s, uint64_t flow_id, struct flow_link *out, size_t max);
/* Each end of rec without an owner takes the owner of the end it is linked to through NAT,
 * when that one has one (one hop): the MASQUERADEd side of a container's connection on the
 * uplink is the container's process. Returns 0 or <0. */
int store_fill_linked_owners(struct store *s, struct flow_record *rec);

struct chunk_ref {
	uint64_t id;
	uint32_t segment;
	uint64_t offset;        /* of the chunk's first frame in the segment */
	uint32_t length;        /* bytes of both frames */
	uint32_t raw_len;       /* decompressed pcapng bytes */
	uint64_t first_ns, last_ns;
	uint32_t packets;
};

struct chunk_list {
	struct chunk_ref *v;
	size_t n, cap;
};
void chunk_list_free(struct chunk_list *l);

/* A reader's queries from here to store_read_end() in one read transaction of the index: one
 * snapshot, and its lock taken once (each query alone takes and drops it: three system calls
 * and SQLite's check of the log, 13 times in an export's plan). Not across a wait for new
 * data (ecap-export --follow ends it first): the snapshot would not see it. A failure to
 * begin changes nothing but that. */
void store_read_begin(struct store *s);
void store_read_end(struct store *s);

/* Chunks that may hold packets in [since, until] of the given flows (flows NULL: of any
 * packet, flow or not), ordered by first_ns. */
int store_find_chunks(struct store *s, uint64_t since_ns, uint64_t until_ns,
		      const struct idset *flows, struct chunk_list *out);

/* A decompressed, verified chunk; its packets in export order: by key, the running maximum
 * of their interface's timestamps (from the writer's earlier chunks on), ties in recorded
 * order. Each interface's packets keep their recorded order; interfaces interleave by time. */
struct chunk_view;
int store_chunk_open(struct store *s, const struct chunk_ref *ref, struct chunk_view **out);
/* The same for the packets of flows (NULL: all): of a chunk made of blocks only the blocks
 * that hold them are read and decoded, and the view lists only them (and no DSB); an older
 * chunk is read whole and lists every packet. */
int store_chunk_open_flows(struct store *s, const struct chunk_ref *ref, const struct idset *flows,
			   struct chunk_view **out);
/* 1: *pkt filled (data valid until the view is closed); 0: end. */
int chunk_view_next(struct chunk_view *v, struct ecap_packet *pkt);
/* Peek the order key of the next packet (at or after its timestamp); false at the end. */
bool chunk_view_peek_key(const struct chunk_view *v, uint64_t *key_ns);
void chunk_view_close(struct chunk_view *v);
/* The same for a view opened from s, whose memory s keeps for the next chunk opened (at most
 * STORE_READ_SPARES views): an export over many chunks allocates once. Before store_close. */
void store_chunk_close(struct store *s, struct chunk_view *v);

/* Secrets of the TLS sessions seen in the given flows (NULL: all), each once, from the index
 * and (schema 7) from the DSBs of the sessions' chunks. A chunk whose DSB cannot be read: its
 * error (store_errmsg names the segment and the chunk), returned after every other secret was
 * given to fn. */
int store_walk_secrets(struct store *s, const struct idset *flows,
		       int (*fn)(const struct tls_secret *sec, uint64_t flow_id, void *ctx), void *ctx);

/* What process (pid, start_ns) was, as recorded: 1 found, 0 not recorded, <0 error. */
int store_get_process(struct store *s, uint32_t pid, uint64_t start_ns,
		      struct ecap_proc_info *out);
/* What was recorded of container id (64 hex digits): 1 found, 0 not recorded, <0 error. */
int store_get_container(struct store *s, const char *id, struct ecap_container *out);
int store_get_interface(struct store *s, uint32_t id, struct ecap_iface *out);
uint32_t store_interface_count(struct store *s);
/* Drops recorded on an interface in [since, until]. */
int store_count_drops(struct store *s, uint32_t iface, uint64_t since_ns, uint64_t until_ns,
		      uint64_t *drops);

/* ---- maintenance (tools/) ------------------------------------------------------------ */

/* Recreate the index from the segments alone. Needs the writer lock. */
int store_rebuild(const char *dir, const struct store_options *opt, bool verbose);

/* Verify every frame, every index row against the segments, and the modes. Problems are
 * printed to `report` one per line (file, offset, what); returns the count, or <0 error. */
int store_fsck(const char *dir, FILE *report);

#endif
