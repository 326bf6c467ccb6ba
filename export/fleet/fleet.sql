-- SPDX-License-Identifier: GPL-2.0-only
-- fleet.sql - the central PostgreSQL schema of an ecap fleet (version 3), created by the
-- first ecap-ship that connects (every statement is idempotent) under an advisory lock.
-- Version 2 adds what a host recorded of each owning process (ecap_processes, joined to
-- ecap_procs by pid and start) and the containers' runtime metadata (ecap_containers); a
-- version 1 database is brought to version 2 by the same statements (ADD COLUMN IF NOT EXISTS).
-- Version 3 adds the hosts' NAT links (ecap_flow_links), a new table: the same statements
-- bring a version 2 database to version 3.
--
-- Only metadata travels here: hosts, interfaces, chunks (time range and place), flows with
-- totals, their processes, and TLS sessions as the SHA-256 of the client_random. No payload
-- byte and no TLS secret is ever stored centrally: packets and secrets stay on the hosts and
-- are fetched over SSH (ecap-export --fleet). Rows are keyed by (host_id, local id): a host's
-- shipper upserts them, so a batch shipped twice changes nothing. Flows and their processes
-- are partitioned by the flow's first packet time (ecap_settings.partition_seconds: 86400 or
-- 3600, one child table per day or hour made by the shipper before it inserts), so retention
-- is dropping old partitions (ecap-ship --drop-before). Times are timestamptz (microseconds);
-- the exact nanoseconds stay on the host.

CREATE TABLE IF NOT EXISTS ecap_settings (
	key   text PRIMARY KEY,
	value bigint NOT NULL
);

-- host_id: the first 8 bytes of SHA-256(name), positive: the same on every shard, so a
-- shipper picks its shard (host_id mod N) without asking anyone. shipped_chunk: every local
-- chunk up to it is here (the follow point); local_*: the host's newest chunk when it last
-- shipped; retained_chunk: the host's oldest chunk (retention below it is reflected here).
CREATE TABLE IF NOT EXISTS ecap_hosts (
	host_id        bigint PRIMARY KEY,
	name           text NOT NULL UNIQUE,
	store          text NOT NULL,
	shipped_chunk  bigint NOT NULL DEFAULT 0,
	shipped_ns     bigint NOT NULL DEFAULT 0,
	local_chunk    bigint NOT NULL DEFAULT 0,
	local_ns       bigint NOT NULL DEFAULT 0,
	retained_chunk bigint NOT NULL DEFAULT 0,
	shipped_at     timestamptz
);

CREATE TABLE IF NOT EXISTS ecap_interfaces (
	host_id  bigint NOT NULL,
	id       integer NOT NULL,
	name     text NOT NULL,
	linktype integer NOT NULL,
	snaplen  bigint NOT NULL,
	PRIMARY KEY (host_id, id)
);

CREATE TABLE IF NOT EXISTS ecap_chunks (
	host_id  bigint NOT NULL,
	id       bigint NOT NULL,
	segment  bigint NOT NULL,
	first_ts timestamptz NOT NULL,
	last_ts  timestamptz NOT NULL,
	packets  bigint NOT NULL,
	raw_len  bigint NOT NULL,
	PRIMARY KEY (host_id, id)
);
CREATE INDEX IF NOT EXISTS ecap_chunks_by_time ON ecap_chunks (first_ts);

-- side A opened the flow. Addresses as inet: btree for equality, and `addr_a << '10.0.0.0/8'`
-- for subnets.
CREATE TABLE IF NOT EXISTS ecap_flows (
	host_id     bigint NOT NULL,
	id          bigint NOT NULL,
	proto       smallint NOT NULL,
	addr_a      inet NOT NULL,
	port_a      integer NOT NULL,
	addr_b      inet NOT NULL,
	port_b      integer NOT NULL,
	first_ts    timestamptz NOT NULL,
	last_ts     timestamptz NOT NULL,
	packets     bigint NOT NULL,
	bytes       bigint NOT NULL,
	first_chunk bigint NOT NULL,
	last_chunk  bigint NOT NULL,
	PRIMARY KEY (host_id, id, first_ts)
) PARTITION BY RANGE (first_ts);
CREATE INDEX IF NOT EXISTS ecap_flows_by_addr_a ON ecap_flows (addr_a, first_ts);
CREATE INDEX IF NOT EXISTS ecap_flows_by_addr_b ON ecap_flows (addr_b, first_ts);
CREATE INDEX IF NOT EXISTS ecap_flows_by_port_b ON ecap_flows (port_b);
CREATE INDEX IF NOT EXISTS ecap_flows_by_time ON ecap_flows (first_ts);
CREATE INDEX IF NOT EXISTS ecap_flows_by_last_chunk ON ecap_flows (host_id, last_chunk);

-- The process owning each local end of a flow (side 0: A, 1: B). first_ts is the flow's.
-- start: when that process started (ns since the host's boot, 0: unknown); with pid it names
-- one row of ecap_processes.
CREATE TABLE IF NOT EXISTS ecap_procs (
	host_id   bigint NOT NULL,
	flow_id   bigint NOT NULL,
	side      smallint NOT NULL,
	first_ts  timestamptz NOT NULL,
	pid       bigint NOT NULL,
	tid       bigint NOT NULL,
	uid       bigint NOT NULL,
	gid       bigint NOT NULL,
	comm      text NOT NULL,
	cgroup_id numeric(20) NOT NULL,
	netns     bigint NOT NULL,
	PRIMARY KEY (host_id, flow_id, side, first_ts)
) PARTITION BY RANGE (first_ts);
-- (version 1 -> 2; ALTER only when missing: it would lock the table at every connect)
DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
		       AND table_name = 'ecap_procs'
		       AND column_name = 'start') THEN
		ALTER TABLE ecap_procs ADD COLUMN start bigint NOT NULL DEFAULT 0;
	END IF;
END $$;
CREATE INDEX IF NOT EXISTS ecap_procs_by_comm ON ecap_procs (comm, first_ts);
CREATE INDEX IF NOT EXISTS ecap_procs_by_pid ON ecap_procs (pid);

-- What a host recorded of a process (its index's processes table, records.h struct
-- ecap_proc_info), by (pid, start): start_ts is the same moment on the host's wall clock;
-- exe, args, cgroup (v2 path), container_id (64 hex digits), runtime and pod_uid are '' when
-- unknown. last_chunk: the host's newest chunk that carried the record; the row goes when the
-- host's retention deletes that chunk, as it does locally. Text is as the host stored it
-- (printable ASCII), never trusted to be anything else.
CREATE TABLE IF NOT EXISTS ecap_processes (
	host_id      bigint NOT NULL,
	pid          bigint NOT NULL,
	start        bigint NOT NULL,
	start_ts     timestamptz NOT NULL,
	ppid         bigint NOT NULL,
	parent_comm  text NOT NULL,
	nspid        bigint NOT NULL,
	exe          text NOT NULL,
	args         text NOT NULL,
	cgroup       text NOT NULL,
	container_id text NOT NULL,
	runtime      text NOT NULL,
	pod_uid      text NOT NULL,
	last_chunk   bigint NOT NULL,
	PRIMARY KEY (host_id, pid, start)
);
CREATE INDEX IF NOT EXISTS ecap_processes_by_container ON ecap_processes (container_id)
	WHERE container_id <> '';
CREATE INDEX IF NOT EXISTS ecap_processes_by_exe ON ecap_processes (exe);
CREATE INDEX IF NOT EXISTS ecap_processes_by_last_chunk ON ecap_processes (host_id, last_chunk);

-- What a container's runtime said of it (the host index's containers table, issue 15): by
-- host and container id (64 hex digits, as ecap_processes.container_id names it); labels the
-- host's JSON object of strings, kept as text (a host's bytes must never stop its batch; cast
-- with care); first_ts/last_ts when the host's recorder first and last stored it.
-- A row goes when no ecap_processes row of its host names it any more (as locally).
CREATE TABLE IF NOT EXISTS ecap_containers (
	host_id       bigint NOT NULL,
	id            text NOT NULL,
	runtime       text NOT NULL,
	name          text NOT NULL,
	image         text NOT NULL,
	labels        text NOT NULL,
	pod_name      text NOT NULL,
	pod_namespace text NOT NULL,
	pod_uid       text NOT NULL,
	first_ts      timestamptz NOT NULL,
	last_ts       timestamptz NOT NULL,
	PRIMARY KEY (host_id, id)
);
CREATE INDEX IF NOT EXISTS ecap_containers_by_name ON ecap_containers (name);
CREATE INDEX IF NOT EXISTS ecap_containers_by_pod ON ecap_containers (pod_name, pod_namespace);

-- Two flows of a host that are one connection before and after NAT on it (the host index's
-- flow_links, chunk metadata section 15; version 3): pre_flow in the conntrack entry's
-- original direction, post_flow after the translation; kind: bits 1 SNAT (MASQUERADE too),
-- 2 DNAT; a_side: the side of post_flow (0 A, 1 B) that side A of pre_flow became; ts when
-- the host's recorder learned it; chunk_id the chunk that carried it. A row goes when either
-- of its flows goes (as locally).
CREATE TABLE IF NOT EXISTS ecap_flow_links (
	host_id   bigint NOT NULL,
	pre_flow  bigint NOT NULL,
	post_flow bigint NOT NULL,
	kind      smallint NOT NULL,
	a_side    smallint NOT NULL,
	ts        timestamptz NOT NULL,
	chunk_id  bigint NOT NULL,
	PRIMARY KEY (host_id, pre_flow, post_flow)
);
CREATE INDEX IF NOT EXISTS ecap_flow_links_by_post ON ecap_flow_links (host_id, post_flow);

-- A TLS session: the digest of its client_random (never the random itself, never a secret).
CREATE TABLE IF NOT EXISTS ecap_tls_sessions (
	host_id  bigint NOT NULL,
	flow_id  bigint NOT NULL,
	cr_sha256 bytea NOT NULL,
	chunk_id bigint NOT NULL,
	PRIMARY KEY (host_id, flow_id, cr_sha256)
);
CREATE INDEX IF NOT EXISTS ecap_tls_by_digest ON ecap_tls_sessions (cr_sha256);
CREATE INDEX IF NOT EXISTS ecap_tls_by_chunk ON ecap_tls_sessions (host_id, chunk_id);
