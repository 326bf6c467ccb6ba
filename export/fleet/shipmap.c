// SPDX-License-Identifier: GPL-2.0-only
/*
 * shipmap.c - local index columns (schema/index.sql) to central ones (fleet.sql), per
 * table, and which local rows a batch of chunks (?1, ?2] carries:
 *   interfaces  all of them (a handful; ids are stable)
 *   chunks      id in the batch
 *   flows       last_chunk in the batch: new flows and flows whose totals grew (each group
 *               commit moves a flow's last_chunk to the chunk that holds its new packets)
 *   procs       the owners of those flows (with the start that names their process): since
 *               index schema 10 columns of the flows' rows
 *   processes   what was recorded of a process: records carried by a chunk in the batch (a
 *               record stored again moves its last_chunk, and is shipped again)
 *   containers  what the runtime said of the containers those process records name (the
 *               index table of issue 15, schema 5: skipped where the index has none)
 *   tls         the TLS sessions of those flows (the first in the flow's row, the others in
 *               tls_sessions_extra, since index schema 10), as SHA-256(client_random) (a
 *               session's chunk lies within its flow's chunks since index schema 8, so the
 *               flow whose last_chunk is in a batch brings its sessions, again when it
 *               grows, as procs)
 *   links       NAT links (two flows that are one connection) carried by a chunk in the
 *               batch (the index table of issue 15, schema 5: skipped where the index has
 *               none)
 * Secrets, secret_chunks and packets have no entry, and must never get one.
 */
#include "shipmap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct shipcol iface_cols[] = {
	{ "id", "id", SC_INT },
	{ "name", "name", SC_TEXT },
	{ "linktype", "linktype", SC_INT },
	{ "snaplen", "snaplen", SC_INT },
};

static const struct shipcol chunk_cols[] = {
	{ "id", "id", SC_INT },
	{ "segment", "segment", SC_INT },
	{ "first_ns", "first_ts", SC_TS },
	{ "last_ns", "last_ts", SC_TS },
	{ "packets", "packets", SC_INT },
	{ "raw_len", "raw_len", SC_INT },
};

static const struct shipcol flow_cols[] = {
	{ "id", "id", SC_INT },
	{ "proto", "proto", SC_INT },
	{ "addr_a", "addr_a", SC_ADDR },
	{ "port_a", "port_a", SC_INT },
	{ "addr_b", "addr_b", SC_ADDR },
	{ "port_b", "port_b", SC_INT },
	{ "first_ns", "first_ts", SC_TS },
	{ "last_ns", "last_ts", SC_TS },
	{ "packets", "packets", SC_INT },
	{ "bytes", "bytes", SC_INT },
	{ "first_chunk", "first_chunk", SC_INT },
	{ "last_chunk", "last_chunk", SC_INT },
};

static const struct shipcol proc_cols[] = {
	{ "p.flow_id", "flow_id", SC_INT },
	{ "p.side", "side", SC_INT },
	{ "p.first_ns", "first_ts", SC_TS },
	{ "p.pid", "pid", SC_INT },
	{ "p.tid", "tid", SC_INT },
	{ "p.uid", "uid", SC_INT },
	{ "p.gid", "gid", SC_INT },
	{ "p.comm", "comm", SC_TEXT },
	{ "p.cgroup_id", "cgroup_id", SC_U64 },
	{ "p.netns", "netns", SC_INT },
	{ "p.start", "start", SC_INT },
};

static const struct shipcol process_cols[] = {
	{ "pid", "pid", SC_INT },
	{ "start", "start", SC_INT },
	{ "start_wall", "start_ts", SC_TS },
	{ "ppid", "ppid", SC_INT },
	{ "parent_comm", "parent_comm", SC_TEXT },
	{ "nspid", "nspid", SC_INT },
	{ "exe", "exe", SC_TEXT },
	{ "args", "args", SC_TEXT },
	{ "cgroup", "cgroup", SC_TEXT },
	{ "container_id", "container_id", SC_TEXT },
	{ "runtime", "runtime", SC_TEXT },
	{ "pod_uid", "pod_uid", SC_TEXT },
	{ "last_chunk", "last_chunk", SC_INT },
};

/* its columns may be NULL locally: '' and 0 centrally */
static const struct shipcol container_cols[] = {
	{ "id", "id", SC_TEXT },
	{ "coalesce(runtime, '')", "runtime", SC_TEXT },
	{ "coalesce(name, '')", "name", SC_TEXT },
	{ "coalesce(image, '')", "image", SC_TEXT },
	{ "coalesce(labels, '')", "labels", SC_TEXT },
	{ "coalesce(pod_name, '')", "pod_name", SC_TEXT },
	{ "coalesce(pod_namespace, '')", "pod_namespace", SC_TEXT },
	{ "coalesce(pod_uid, '')", "pod_uid", SC_TEXT },
	{ "coalesce(first_ns, 0)", "first_ts", SC_TS },
	{ "coalesce(last_ns, 0)", "last_ts", SC_TS },
};

static const struct shipcol tls_cols[] = {
	{ "t.flow_id", "flow_id", SC_INT },
	{ "t.client_random", "cr_sha256", SC_SHA256 },
	{ "t.chunk_id", "chunk_id", SC_INT },
};

static const struct shipcol link_cols[] = {
	{ "pre_flow", "pre_flow", SC_INT },
	{ "post_flow", "post_flow", SC_INT },
	{ "kind", "kind", SC_INT },
	{ "a_side", "a_side", SC_INT },
	{ "ts_ns", "ts", SC_TS },
	{ "chunk_id", "chunk_id", SC_INT },
};

/* The owners of side s (0 A, 1 B: n) of the flows whose last_chunk is in the batch, from
 * their rows' columns (index.sql, schema 10), as rows of flow_procs */
#define PROCS_OF_SIDE(s, n)                                                                 \
	"SELECT id AS flow_id, " n " AS side, first_ns, " s "_pid AS pid, " s "_tid AS tid, " \
	s "_uid AS uid, " s "_gid AS gid, " s "_comm AS comm, " s "_cgroup_id AS cgroup_id, " \
	s "_netns AS netns, " s "_start AS start FROM flows WHERE " s "_pid IS NOT NULL AND " \
	"last_chunk > ?1 AND last_chunk <= ?2"

const struct shiptable shipmap_tables[] = {
	{ "ecap_interfaces", "FROM interfaces WHERE ?1 >= 0 AND ?2 >= 0", "(host_id, id)", NULL,
	  iface_cols, N(iface_cols), -1, NULL },
	{ "ecap_chunks", "FROM chunks WHERE id > ?1 AND id <= ?2", "(host_id, id)", NULL,
	  chunk_cols, N(chunk_cols), -1, NULL },
	{ "ecap_flows", "FROM flows WHERE last_chunk > ?1 AND last_chunk <= ?2",
	  "(host_id, id, first_ts)", "host_id, id", flow_cols, N(flow_cols), 6, NULL },
	{ "ecap_procs",
	  "FROM (" PROCS_OF_SIDE("a", "0") " UNION ALL " PROCS_OF_SIDE("b", "1") ") p",
	  "(host_id, flow_id, side, first_ts)", "host_id, flow_id, side", proc_cols, N(proc_cols),
	  2, NULL },
	{ "ecap_processes", "FROM processes WHERE last_chunk > ?1 AND last_chunk <= ?2",
	  "(host_id, pid, start)", NULL, process_cols, N(process_cols), -1, NULL },
	{ "ecap_containers",
	  "FROM containers WHERE id IN (SELECT container_id FROM processes WHERE last_chunk > ?1 "
	  "AND last_chunk <= ?2)",
	  "(host_id, id)", NULL, container_cols, N(container_cols), -1, "containers" },
	{ "ecap_tls_sessions",
	  "FROM (SELECT id AS flow_id, client_random, session_chunk AS chunk_id FROM flows WHERE "
	  "client_random IS NOT NULL AND last_chunk > ?1 AND last_chunk <= ?2 UNION ALL "
	  "SELECT t.flow_id, t.client_random, t.chunk_id FROM flows f JOIN tls_sessions_extra t "
	  "ON t.flow_id = f.id WHERE f.last_chunk > ?1 AND f.last_chunk <= ?2) t",
	  "(host_id, flow_id, cr_sha256)", NULL, tls_cols, N(tls_cols), -1, NULL },
	{ "ecap_flow_links", "FROM flow_links WHERE chunk_id > ?1 AND chunk_id <= ?2",
	  "(host_id, pre_flow, post_flow)", NULL, link_cols, N(link_cols), -1, "flow_links" },
};

_Static_assert(N(shipmap_tables) <= SHIPMAP_MAX_TABLES, "shipmap: too many tables");
const size_t shipmap_n_tables = N(shipmap_tables);
