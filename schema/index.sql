-- SPDX-License-Identifier: GPL-2.0-only
-- index.sql - the SQLite index of an ecap store, schema version 12 (PRAGMA user_version).
--
-- The index is a cache of the segment files: every row below can be recreated from the
-- chunks' metadata frames and DSBs (ecap-fsck --rebuild). Times are nanoseconds since the
-- epoch; addresses are 16-byte blobs, IPv4 as v4-mapped IPv6. A migration from version N
-- to N+1 lives in index.c (index_migrate) and runs when a writer opens an older store.
-- (version 12) No table changed: a store's segments may hold padding frames from this
-- version on (segment.h), which the builds before it would call damage; the version tells
-- them that they cannot read this store (INDEX_VERSION_SEGMENT_PADDING, index.h).

CREATE TABLE IF NOT EXISTS settings (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS interfaces (
	id       INTEGER PRIMARY KEY,
	name     TEXT NOT NULL,
	linktype INTEGER NOT NULL,
	snaplen  INTEGER NOT NULL,
	filter   TEXT NOT NULL DEFAULT ''
);

-- (version 5) Where an interface of `ecap-rec -i any` is: its network namespace (inode) and
-- index there, which with its name identify it, and the IDB's if_description.
CREATE TABLE IF NOT EXISTS interface_netns (
	iface       INTEGER PRIMARY KEY,
	netns       INTEGER NOT NULL,
	ifindex     INTEGER NOT NULL,
	description TEXT NOT NULL DEFAULT ''
);

-- bytes: end of the last indexed chunk; recovery scans the file from there.
CREATE TABLE IF NOT EXISTS segments (
	id       INTEGER PRIMARY KEY,
	bytes    INTEGER NOT NULL,
	sealed   INTEGER NOT NULL DEFAULT 0,
	deleting INTEGER NOT NULL DEFAULT 0,
	first_ns INTEGER,
	last_ns  INTEGER
);

-- flows: the ids of its flows, ascending, as LEB128 deltas.
-- near_secrets (version 7): how many secrets of the chunk's DSB are near their session
-- (index.h INDEX_SECRET_WINDOW) and so have no `secrets` row: readers take them from the DSB.
CREATE TABLE IF NOT EXISTS chunks (
	id              INTEGER PRIMARY KEY,
	segment         INTEGER NOT NULL,
	offset          INTEGER NOT NULL,
	length          INTEGER NOT NULL,
	raw_len         INTEGER NOT NULL,
	first_ns        INTEGER NOT NULL,
	last_ns         INTEGER NOT NULL,
	packets         INTEGER NOT NULL,
	nonflow_packets INTEGER NOT NULL,
	flows           BLOB NOT NULL,
	near_secrets    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_by_first ON chunks(first_ns);
CREATE INDEX IF NOT EXISTS chunks_by_segment ON chunks(segment);
-- Version 6: the end of the recording (the latest last_ns, which an export's ISBs give when
-- no --until is asked) from the index's last entry instead of a scan of every chunk row.
CREATE INDEX IF NOT EXISTS chunks_by_last ON chunks(last_ns);

-- side A initiated the flow (sent the SYN or the first packet seen), side B answered.
-- first_chunk..last_chunk: the chunks that can hold its packets (each chunk's flows blob
-- says which do) and, since version 8, the chunks of its TLS sessions (tls_sessions.chunk_id,
-- which may lie after its packets' chunks: a ClientHello's session stored just after its
-- chunk closed, sessions carried over on a full disk), so that a flow's sessions are found
-- and deleted with it. packets, bytes and last_ns grow at each group commit.
-- chunk_runs (version 9): the chunks that hold its packets, as runs of chunk ids
-- (schema/chunk_runs.h: a run may pass over up to 4 chunks without the flow), so that a
-- long-lived flow's chunks are read without the rows of every chunk of its range; it may name
-- more chunks than the flow has (each chunk's flows blob decides), never fewer. NULL: a flow indexed before version 9, whose chunks are looked for
-- over first_chunk..last_chunk.
-- a_* and b_* (version 10): the process owning side A and side B (NULL a_pid, b_pid: none
-- known), which until version 9 were rows of a table flow_procs (now a view, below); pid 0: a
-- kernel socket; start: when that process started (ns since boot, 0: unknown), so that pid
-- and start name one process. client_random, session_chunk (version 10): the flow's first TLS
-- session and the chunk that holds its ClientHello (NULL: none); its other sessions are rows
-- of tls_sessions_extra. In the flow's own row, a new flow's owners and session cost no b-tree
-- entry of their own: until version 9 they were three (two owners, a session) in WITHOUT
-- ROWID tables, each with its statement's work per row and its page splits, about a third of
-- the index's work per TLS session (BENCHMARKS.md, i18rows).
CREATE TABLE IF NOT EXISTS flows (
	id       INTEGER PRIMARY KEY,
	proto    INTEGER NOT NULL,
	family   INTEGER NOT NULL,
	addr_a   BLOB NOT NULL,
	port_a   INTEGER NOT NULL,
	addr_b   BLOB NOT NULL,
	port_b   INTEGER NOT NULL,
	first_ns INTEGER NOT NULL,
	last_ns  INTEGER NOT NULL,
	packets  INTEGER NOT NULL DEFAULT 0,
	bytes    INTEGER NOT NULL DEFAULT 0,
	first_chunk INTEGER NOT NULL,
	last_chunk  INTEGER NOT NULL,
	chunk_runs  BLOB,
	a_pid       INTEGER,
	a_tid       INTEGER,
	a_uid       INTEGER,
	a_gid       INTEGER,
	a_comm      TEXT,
	a_cgroup_id INTEGER,
	a_netns     INTEGER,
	a_start     INTEGER,
	b_pid       INTEGER,
	b_tid       INTEGER,
	b_uid       INTEGER,
	b_gid       INTEGER,
	b_comm      TEXT,
	b_cgroup_id INTEGER,
	b_netns     INTEGER,
	b_start     INTEGER,
	client_random BLOB,
	session_chunk INTEGER
);
CREATE INDEX IF NOT EXISTS flows_by_last_chunk ON flows(last_chunk);
-- Version 7: flows are found by address and port through chunk_flow_keys, not four indexes
-- that cost four b-tree entries per flow.
DROP INDEX IF EXISTS flows_by_addr_a;
DROP INDEX IF EXISTS flows_by_addr_b;
DROP INDEX IF EXISTS flows_by_ports;
DROP INDEX IF EXISTS flows_by_port_b;

-- (version 7) The flows whose records chunk chunk_id carries: ids, their ids as runs
-- (idruns.h), from ids_lo to ids_hi; filter, a Bloom filter of their addresses, ports and
-- (address, port) pairs (keyfilter.c). A selection by --host, --port or tuple reads the flows
-- of the chunks whose filter may hold its keys. One row per chunk with flow records, made with
-- the chunk. Since version 8 it goes with its chunk: a writer stores a live flow's record
-- again in each segment where the flow has packets (store.h store_flow_epoch), so a flow
-- left has rows of chunks kept. A row of a chunk indexed before version 8 (below setting
-- flow_keys_own_from) stays after its chunk while a flow in ids_lo..ids_hi does, so that a
-- flow whose first chunks are gone is still found.
CREATE TABLE IF NOT EXISTS chunk_flow_keys (
	chunk_id INTEGER PRIMARY KEY,
	ids_lo   INTEGER NOT NULL,
	ids_hi   INTEGER NOT NULL,
	ids      BLOB NOT NULL,
	filter   BLOB NOT NULL
);

-- The process owning each local end of a flow, one row per flow and side, as the table of that
-- name was until version 9: a view of the flows' owner columns, for queries by hand and older
-- scripts. ecap itself reads the columns (a flow's range through flows' key, never this view:
-- it reads every flow).
CREATE VIEW IF NOT EXISTS flow_procs(flow_id, side, pid, tid, uid, gid, comm, cgroup_id, netns,
				     start) AS
	SELECT id, 0, a_pid, a_tid, a_uid, a_gid, a_comm, a_cgroup_id, a_netns, a_start FROM flows
	WHERE a_pid IS NOT NULL
	UNION ALL
	SELECT id, 1, b_pid, b_tid, b_uid, b_gid, b_comm, b_cgroup_id, b_netns, b_start FROM flows
	WHERE b_pid IS NOT NULL;
-- Until version 6, flow_procs had indexes by pid, comm and uid: three entries per owner and
-- flow. Version 7 finds an owner's flows through owner_flows instead. (Version 10 drops the
-- table: the statements below do nothing on a view.)
DROP INDEX IF EXISTS flow_procs_by_pid;
DROP INDEX IF EXISTS flow_procs_by_comm;
DROP INDEX IF EXISTS flow_procs_by_uid;

-- (version 7) Where each owner's flows are: rows per distinct (pid, start, uid, comm, netns) of
-- the flows' owners, each for a run of its flow ids first_flow..last_flow. A selection by owner
-- finds the owner's rows here, then reads flows by key over each run (their owner columns,
-- since version 10; flow_procs by key before) and keeps the flows with a side that matches
-- exactly: a run only narrows where to look (other owners' flows inside it are read and
-- left out), so runs may cover more than needed, never less. index_add_chunk writes one row
-- per owner and chunk (more when the owner's flow ids in the chunk lie more than
-- OWNER_RUN_GAP = 64 apart, schema/owner_ranges.h), not one per flow, and reads none: a
-- process making connection after connection costs a row per chunk, and a selection reads
-- about as many flows as it finds, however long the owner lived. Rows go when their
-- owner has no flow left in them (retention; and since version 8 when a flow passes to another
-- owner, flows_owner_moved below); a first_flow below the flows left costs nothing
-- (the read starts at the first flow there is).
-- (version 11) A row may stand for a group of processes: pid_last not NULL, the row's owners
-- are the processes of its comm, uid and netns with a pid in pid..pid_last (at most
-- OWNER_PID_SPAN = 128 apart, schema/owner_ranges.h), whatever their start (start 0), whose
-- flows lie in the run. index_add_chunk makes one such row for the processes of a name that
-- each own a flow or a few, one after another (a curl loop: a new process, so a row and an
-- owner_flows_by_pid entry, per connection until version 10); pid_last NULL, a row of one
-- process as before. A selection reads the flows of every row whose group may hold its owner
-- and keeps those with a side that matches exactly, as it did with rows of one process.
CREATE TABLE IF NOT EXISTS owner_flows (
	pid        INTEGER NOT NULL,
	start      INTEGER NOT NULL,
	uid        INTEGER NOT NULL,
	comm       TEXT NOT NULL,
	netns      INTEGER NOT NULL,
	first_flow INTEGER NOT NULL,
	last_flow  INTEGER NOT NULL,
	pid_last   INTEGER,
	PRIMARY KEY (comm, uid, pid, start, netns, first_flow)
) WITHOUT ROWID;
-- By pid (and start: a process by pid@start, or a container's processes; the lowest pid of a
-- group, found by the range X - OWNER_PID_SPAN .. X), with last_flow so that the entry alone
-- gives the run; by comm and uid through the key, and by uid alone
-- through the key's comms one by one (store_read.c), so that a new process costs two b-tree
-- entries here, not three.
CREATE INDEX IF NOT EXISTS owner_flows_by_pid ON owner_flows(pid, start, last_flow);
-- (version 11) The offsets 0..OWNER_PID_SPAN (128, schema/owner_ranges.h) below a pid X at
-- which the lowest pid of a group that holds X may lie: owner_pid_span CROSS JOIN owner_flows
-- (the offsets the outer loop, whatever sqlite_stat1 says) with pid = X - o and start = 0
-- finds those groups' rows by 129 seeks of the key, where a range of pids would read every
-- row of every process in it (a long-lived server's, one per chunk, for as long as the store
-- keeps them).
CREATE TABLE IF NOT EXISTS owner_pid_span (o INTEGER PRIMARY KEY);
INSERT OR IGNORE INTO owner_pid_span WITH RECURSIVE span(o) AS (SELECT 0 UNION ALL
	SELECT o + 1 FROM span WHERE o < 128) SELECT o FROM span;
-- (version 8) A flow end whose owner changes (its record came again with another process):
-- the former owner's row that covered it goes when no flow of that owner is left in its run,
-- as retention does for the flows it deletes; before, such a row stayed for good. Fires only
-- when an owner changed (index.c writes the owner columns of a flow it holds only then), and a
-- rebuild makes the same changes in the same order. Until version 9 a trigger on flow_procs
-- (flow_procs_owner_moved), since version 10 on the flows' owner columns; since version 11 a
-- group's row (owner_pid_span above) goes too when no flow of any of its processes is left in
-- its run. Each statement finds its rows in a subquery that names no column outside
-- owner_flows_by_pid, so that a row of one process is found through it by pid, start and
-- last_flow, as before groups (a test of pid_last there would make the planner take the key
-- instead, and read every row of the process from its first); a group's by 129 seeks. None
-- reads the rows of other processes whose pids lie within the span.
CREATE TRIGGER IF NOT EXISTS flows_owner_moved AFTER UPDATE OF a_pid, a_start, a_uid, a_comm,
	a_netns, b_pid, b_start, b_uid, b_comm, b_netns ON flows
BEGIN
	DELETE FROM owner_flows WHERE old.a_pid IS NOT NULL AND
		(old.a_pid, old.a_start, old.a_uid, old.a_comm, old.a_netns) IS NOT
		(new.a_pid, new.a_start, new.a_uid, new.a_comm, new.a_netns) AND
		(comm, uid, pid, start, netns, first_flow) IN (SELECT comm, uid, pid, start, netns,
		first_flow FROM owner_flows WHERE comm = old.a_comm AND uid = old.a_uid AND
		pid = old.a_pid AND start = old.a_start AND netns = old.a_netns AND
		first_flow <= old.id AND last_flow >= old.id) AND pid_last IS NULL AND
		NOT EXISTS (SELECT 1 FROM flows p WHERE
		p.id BETWEEN owner_flows.first_flow AND owner_flows.last_flow AND
		((p.a_comm, p.a_uid, p.a_pid, p.a_start, p.a_netns) = (old.a_comm, old.a_uid,
		old.a_pid, old.a_start, old.a_netns) OR (p.b_comm, p.b_uid, p.b_pid, p.b_start,
		p.b_netns) = (old.a_comm, old.a_uid, old.a_pid, old.a_start, old.a_netns)));
	DELETE FROM owner_flows WHERE old.a_pid IS NOT NULL AND
		(old.a_pid, old.a_start, old.a_uid, old.a_comm, old.a_netns) IS NOT
		(new.a_pid, new.a_start, new.a_uid, new.a_comm, new.a_netns) AND
		(comm, uid, pid, start, netns, first_flow) IN (SELECT g.comm, g.uid, g.pid,
		g.start, g.netns, g.first_flow FROM owner_pid_span s CROSS JOIN owner_flows g WHERE
		g.comm = old.a_comm AND g.uid = old.a_uid AND g.pid = old.a_pid - s.o AND
		g.start = 0 AND g.netns = old.a_netns AND g.first_flow <= old.id AND
		g.last_flow >= old.id AND g.pid_last >= old.a_pid) AND NOT EXISTS (SELECT 1
		FROM flows p WHERE p.id BETWEEN owner_flows.first_flow AND owner_flows.last_flow AND
		((p.a_comm, p.a_uid, p.a_netns) = (owner_flows.comm, owner_flows.uid,
		owner_flows.netns) AND p.a_pid BETWEEN owner_flows.pid AND owner_flows.pid_last OR
		(p.b_comm, p.b_uid, p.b_netns) = (owner_flows.comm, owner_flows.uid,
		owner_flows.netns) AND p.b_pid BETWEEN owner_flows.pid AND owner_flows.pid_last));
	DELETE FROM owner_flows WHERE old.b_pid IS NOT NULL AND
		(old.b_pid, old.b_start, old.b_uid, old.b_comm, old.b_netns) IS NOT
		(new.b_pid, new.b_start, new.b_uid, new.b_comm, new.b_netns) AND
		(comm, uid, pid, start, netns, first_flow) IN (SELECT comm, uid, pid, start, netns,
		first_flow FROM owner_flows WHERE comm = old.b_comm AND uid = old.b_uid AND
		pid = old.b_pid AND start = old.b_start AND netns = old.b_netns AND
		first_flow <= old.id AND last_flow >= old.id) AND pid_last IS NULL AND
		NOT EXISTS (SELECT 1 FROM flows p WHERE
		p.id BETWEEN owner_flows.first_flow AND owner_flows.last_flow AND
		((p.a_comm, p.a_uid, p.a_pid, p.a_start, p.a_netns) = (old.b_comm, old.b_uid,
		old.b_pid, old.b_start, old.b_netns) OR (p.b_comm, p.b_uid, p.b_pid, p.b_start,
		p.b_netns) = (old.b_comm, old.b_uid, old.b_pid, old.b_start, old.b_netns)));
	DELETE FROM owner_flows WHERE old.b_pid IS NOT NULL AND
		(old.b_pid, old.b_start, old.b_uid, old.b_comm, old.b_netns) IS NOT
		(new.b_pid, new.b_start, new.b_uid, new.b_comm, new.b_netns) AND
		(comm, uid, pid, start, netns, first_flow) IN (SELECT g.comm, g.uid, g.pid,
		g.start, g.netns, g.first_flow FROM owner_pid_span s CROSS JOIN owner_flows g WHERE
		g.comm = old.b_comm AND g.uid = old.b_uid AND g.pid = old.b_pid - s.o AND
		g.start = 0 AND g.netns = old.b_netns AND g.first_flow <= old.id AND
		g.last_flow >= old.id AND g.pid_last >= old.b_pid) AND NOT EXISTS (SELECT 1
		FROM flows p WHERE p.id BETWEEN owner_flows.first_flow AND owner_flows.last_flow AND
		((p.a_comm, p.a_uid, p.a_netns) = (owner_flows.comm, owner_flows.uid,
		owner_flows.netns) AND p.a_pid BETWEEN owner_flows.pid AND owner_flows.pid_last OR
		(p.b_comm, p.b_uid, p.b_netns) = (owner_flows.comm, owner_flows.uid,
		owner_flows.netns) AND p.b_pid BETWEEN owner_flows.pid AND owner_flows.pid_last));
END;

-- What an owning process was (records.h struct ecap_proc_info), by pid and start time.
-- last_chunk: the newest chunk that carried the record; it goes when that chunk goes.
CREATE TABLE IF NOT EXISTS processes (
	pid          INTEGER NOT NULL,
	start        INTEGER NOT NULL,
	start_wall   INTEGER NOT NULL,
	ppid         INTEGER NOT NULL,
	parent_comm  TEXT NOT NULL,
	nspid        INTEGER NOT NULL,
	exe          TEXT NOT NULL,
	args         TEXT NOT NULL,
	cgroup       TEXT NOT NULL,
	container_id TEXT NOT NULL,
	runtime      TEXT NOT NULL,
	pod_uid      TEXT NOT NULL,
	last_chunk   INTEGER NOT NULL,
	PRIMARY KEY (pid, start)
) WITHOUT ROWID;
-- Since version 9 only the processes in a container have an entry here (a partial index):
-- most processes have none (container_id ''), and an entry each cost a b-tree insert per new
-- process at record time for a lookup nobody makes. A query that is to use it says
-- `container_id <> ''` (store_read.c containers_where, index.c retention's containers).
CREATE INDEX IF NOT EXISTS processes_by_container ON processes(container_id) WHERE container_id <> '';
CREATE INDEX IF NOT EXISTS processes_by_last_chunk ON processes(last_chunk);

-- Two flows that are one connection before and after NAT on this host (chunk metadata section
-- 15): pre_flow in the conntrack entry's original direction, post_flow after the translation.
-- kind: bits 1 SNAT (MASQUERADE too), 2 DNAT. a_side: the side of post_flow (0 A, 1 B) that
-- side A of pre_flow became. A selection by owner follows these links one hop, and an export
-- comments a flow's end that has no owner of its own with the linked end's. Rows go with
-- their flows. (Index schema 5.)
CREATE TABLE IF NOT EXISTS flow_links (
	pre_flow  INTEGER NOT NULL,
	post_flow INTEGER NOT NULL,
	kind      INTEGER NOT NULL,
	a_side    INTEGER NOT NULL,
	ts_ns     INTEGER NOT NULL,
	chunk_id  INTEGER NOT NULL,
	PRIMARY KEY (pre_flow, post_flow)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS flow_links_by_post ON flow_links(post_flow);
-- What a container's runtime said of it at record time (records.h struct ecap_container), by
-- the container id that processes.container_id names. labels: a JSON object of strings. first_ns,
-- last_ns: when the recorder first and last stored it (wall clock). Goes when no process row
-- names it any more.
CREATE TABLE IF NOT EXISTS containers (
	id            TEXT PRIMARY KEY,
	runtime       TEXT,
	name          TEXT,
	image         TEXT,
	labels        TEXT,
	pod_name      TEXT,
	pod_namespace TEXT,
	pod_uid       TEXT,
	first_ns      INTEGER,
	last_ns       INTEGER
);
CREATE INDEX IF NOT EXISTS containers_by_name ON containers(name);
CREATE INDEX IF NOT EXISTS containers_by_pod ON containers(pod_name);

-- A TLS session: the flow whose ClientHello carried client_random, found in chunk_id. Keyed by
-- flow so that new sessions append to the b-tree instead of landing on random pages.
-- Since version 8 a session is found through its flow only: its chunk lies within the flow's
-- first_chunk..last_chunk, retention deletes it with its flow, the fleet shipper sends it
-- with its flow. Until version 7 an index by chunk_id (an entry per session) served both.
-- Since version 10 a flow's first session is in its row (flows.client_random, session_chunk)
-- and only its others are rows of tls_sessions_extra (a renegotiation, a ClientHello seen
-- again with another random; and a session indexed before its flow's row, or whose flow's row
-- held a session already); until version 9 every session was a row of a table tls_sessions,
-- now a view of both. A (flow, client_random) is in one of the two places, once.
CREATE TABLE IF NOT EXISTS tls_sessions_extra (
	client_random BLOB NOT NULL,
	flow_id       INTEGER NOT NULL,
	chunk_id      INTEGER NOT NULL,
	PRIMARY KEY (flow_id, client_random)
) WITHOUT ROWID;
CREATE VIEW IF NOT EXISTS tls_sessions(client_random, flow_id, chunk_id) AS
	SELECT client_random, id, session_chunk FROM flows WHERE client_random IS NOT NULL
	UNION ALL
	SELECT client_random, flow_id, chunk_id FROM tls_sessions_extra;
DROP INDEX IF EXISTS tls_sessions_by_chunk;

-- The secrets of one TLS session that the DSB of chunk chunk_id holds: one row per session
-- and chunk, not one per secret (five in TLS 1.3). n: how many; secrets: label and secret
-- pairs, the format is in secret_blob.h. Keyed by chunk, so that rows append.
-- Since version 7, secrets near their session (in its chunk or one of the 7 after it, see
-- secret_chunks) have no row here: the chunk's DSB holds them, chunks.near_secrets counts
-- them, and readers (store_secrets_read.c) take them from the DSB. Rows written before
-- version 7 stay, and are read as before.
CREATE TABLE IF NOT EXISTS secrets (
	chunk_id      INTEGER NOT NULL,
	client_random BLOB NOT NULL,
	n             INTEGER NOT NULL,
	secrets       BLOB NOT NULL,
	PRIMARY KEY (chunk_id, client_random)
) WITHOUT ROWID;

-- Which chunks hold secrets of a client_random, for the secrets that are not near their session:
-- since version 5, a secret in its session's chunk (tls_sessions.chunk_id) or one of the 7
-- chunks after it (INDEX_SECRET_WINDOW in index.h) has no row here, and readers look for it
-- there by (chunk_id, client_random): in `secrets` up to version 6, in the DSB since 7. Rows
-- here: secrets stored before their session (a key log kept whole with --keep-all-secrets),
-- long after it, or of no session. The one table with random keys, one small row per session
-- (and chunk) rather than one per secret.
CREATE TABLE IF NOT EXISTS secret_chunks (
	client_random BLOB NOT NULL,
	chunk_id      INTEGER NOT NULL,
	PRIMARY KEY (client_random, chunk_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS secret_chunks_by_chunk ON secret_chunks(chunk_id);

CREATE TABLE IF NOT EXISTS drops (
	iface    INTEGER NOT NULL,
	ts_ns    INTEGER NOT NULL,
	count    INTEGER NOT NULL,
	chunk_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS drops_by_chunk ON drops(chunk_id);
