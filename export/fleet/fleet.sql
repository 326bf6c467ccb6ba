-- SPDX-License-Identifier: GPL-2.0-only
-- fleet.sql - the central PostgreSQL schema of an ecap fleet (version 1), created by the
-- first ecap-ship that connects (every statement is idempotent) under an advisory lock.
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
CREATE INDEX IF NOT EXISTS ecap_procs_by_comm ON ecap_procs (comm, first_ts);
CREATE INDEX IF NOT EXISTS ecap_procs_by_pid ON ecap_procs (pid);

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
