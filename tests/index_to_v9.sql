-- SPDX-License-Identifier: GPL-2.0-only
-- index_to_v9.sql - for tests: turns an index of schema 10 (schema/index.sql) into schema 9's
-- layout, as ecap at that version left it, so that a migration from 9 (and, with more changes
-- made by each test, from older versions) can be checked: flow_procs and tls_sessions tables
-- (WITHOUT ROWID) made from the flows' owner and session columns and tls_sessions_extra, which
-- go, and version 9's trigger on flow_procs. Run by the unit tests (tests/unit/index_sql.h)
-- and integration tests (sqlite3).
DROP TRIGGER flows_owner_moved;
DROP VIEW flow_procs;
DROP VIEW tls_sessions;
CREATE TABLE flow_procs_v9 (flow_id INTEGER NOT NULL, side INTEGER NOT NULL, pid INTEGER NOT NULL, tid INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, comm TEXT NOT NULL, cgroup_id INTEGER NOT NULL DEFAULT 0, netns INTEGER NOT NULL DEFAULT 0, start INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (flow_id, side)) WITHOUT ROWID;
INSERT INTO flow_procs_v9 SELECT id, 0, a_pid, a_tid, a_uid, a_gid, a_comm, a_cgroup_id, a_netns, a_start FROM flows WHERE a_pid IS NOT NULL UNION ALL SELECT id, 1, b_pid, b_tid, b_uid, b_gid, b_comm, b_cgroup_id, b_netns, b_start FROM flows WHERE b_pid IS NOT NULL;
ALTER TABLE flow_procs_v9 RENAME TO flow_procs;
CREATE TABLE tls_sessions_v9 (client_random BLOB NOT NULL, flow_id INTEGER NOT NULL, chunk_id INTEGER NOT NULL, PRIMARY KEY (flow_id, client_random)) WITHOUT ROWID;
INSERT INTO tls_sessions_v9 SELECT client_random, id, session_chunk FROM flows WHERE client_random IS NOT NULL UNION ALL SELECT client_random, flow_id, chunk_id FROM tls_sessions_extra;
ALTER TABLE tls_sessions_v9 RENAME TO tls_sessions;
DROP TABLE tls_sessions_extra;
ALTER TABLE flows DROP COLUMN a_pid;
ALTER TABLE flows DROP COLUMN a_tid;
ALTER TABLE flows DROP COLUMN a_uid;
ALTER TABLE flows DROP COLUMN a_gid;
ALTER TABLE flows DROP COLUMN a_comm;
ALTER TABLE flows DROP COLUMN a_cgroup_id;
ALTER TABLE flows DROP COLUMN a_netns;
ALTER TABLE flows DROP COLUMN a_start;
ALTER TABLE flows DROP COLUMN b_pid;
ALTER TABLE flows DROP COLUMN b_tid;
ALTER TABLE flows DROP COLUMN b_uid;
ALTER TABLE flows DROP COLUMN b_gid;
ALTER TABLE flows DROP COLUMN b_comm;
ALTER TABLE flows DROP COLUMN b_cgroup_id;
ALTER TABLE flows DROP COLUMN b_netns;
ALTER TABLE flows DROP COLUMN b_start;
ALTER TABLE flows DROP COLUMN client_random;
ALTER TABLE flows DROP COLUMN session_chunk;
CREATE TRIGGER flow_procs_owner_moved AFTER UPDATE ON flow_procs WHEN (old.pid, old.start, old.uid, old.comm, old.netns) IS NOT (new.pid, new.start, new.uid, new.comm, new.netns) BEGIN DELETE FROM owner_flows WHERE comm = old.comm AND uid = old.uid AND pid = old.pid AND start = old.start AND netns = old.netns AND first_flow <= old.flow_id AND last_flow >= old.flow_id AND NOT EXISTS (SELECT 1 FROM flow_procs p WHERE p.flow_id BETWEEN owner_flows.first_flow AND owner_flows.last_flow AND p.comm = old.comm AND p.uid = old.uid AND p.pid = old.pid AND p.start = old.start AND p.netns = old.netns);
END;
PRAGMA user_version = 9;
