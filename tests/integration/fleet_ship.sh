#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# fleet_ship.sh - ecap-ship against a throwaway PostgreSQL (fleet_lib.sh), on a store replayed
# from gen_traffic (many small chunks, a few thousand flows). Checks: --once ships exactly the
# local index (flows with totals, processes, chunks, TLS sessions, NAT links; no secret and no payload
# centrally); a second --once changes nothing; a shipper killed mid-batch (SIGKILL after N
# rows, ECAP_SHIP_KILL_AFTER_ROWS) leaves the central follow point at a batch boundary and a
# restart completes it without duplicate or gap; the daemon follows a store that grows and
# reports its lag; with the database stopped it keeps running and catches up when it is back;
# the DSN file must be root-only; local retention is reflected centrally; partitions are
# dropped by time; --tls-ca verifies the server (verify-full) and refuses another CA's.
. "$ECAP_SRC/tests/lib.sh"
. "$ECAP_SRC/tests/integration/fleet_lib.sh"
need_cmd sqlite3 psql
pg_start

GEN="$ECAP_BUILD/tools/gen_traffic"
# FLEET_SHIP_PACKETS: the main store's input (tools/test.sh gives the sanitizer run a smaller
# one: hundreds of chunks and over a thousand flows still make every batch, kill and retention
# case below); the shipper's kill comes after a number of rows in proportion
PACKETS=${FLEET_SHIP_PACKETS:-60000}
"$GEN" -o "$T/a.pcap" --packets "$PACKETS" --flows-active 200 --seed 7 --tls-share 30 ||
	fail "gen_traffic failed"
# every packet gets a ptcpdump comment (a process whose comm needs COPY escapes); then a
# TLS connection with its secrets in a DSB
python3 "$ECAP_SRC/tests/integration/mkcap.py" ptcpdump "$T/a.pcap" "$T/a.pcapng" 4321 \
	"$(printf 'gen\\tool\tx')" || fail "mkcap.py ptcpdump failed"
python3 "$ECAP_SRC/tests/integration/mkcap.py" tlsdsb "$T/tls.pcapng" || fail "mkcap.py failed"
"$ECAP_REC" --replay "$T/a.pcapng" --store "$T/s" --chunk-size 64K -q || fail "replay failed"
"$ECAP_REC" --replay "$T/tls.pcapng" --store "$T/s" --chunk-size 64K -q || fail "replay failed"
assert_ge 1 "$(store_figure "$T/s" secrets)" "secrets in the store"
NCH=$(sqlite3 "$T/s/index.db" "SELECT count(*) FROM chunks")
NFL=$(sqlite3 "$T/s/index.db" "SELECT count(*) FROM flows")
info "store: $NCH chunks, $NFL flows"
# NAT links (index table flow_links, chunk metadata section 15) as the recorder's conntrack
# reader stores them (a replay has no conntrack to read): every 97th flow linked to the next,
# carried by the later flow's first chunk, so that batches and the kill below cross them
links() { # STORE: add such links to STORE's index
	sqlite3 "$1/index.db" "INSERT INTO flow_links SELECT a.id, b.id, 1 + a.id % 3, a.id % 2,
		b.first_ns, b.first_chunk FROM flows a JOIN flows b ON b.id = a.id + 1
		WHERE a.id % 97 = 0"
}
links "$T/s"
assert_ge 10 "$(sqlite3 "$T/s/index.db" "SELECT count(*) FROM flow_links")" "links in the store"
assert_ge 40 "$NCH" "chunks in the store"

# the DSN file holds a password: group- or other-readable is refused
chmod 640 "$T/dsn"
expect_status 2 "$ECAP_SHIP" --to-file "$T/dsn" --store "$T/s" --host alpha --once
chmod 600 "$T/dsn"

# a store with no chunk yet (a recorder that has seen no packet): shipped, nothing to send
"$GEN" -o "$T/e.pcap" --packets 0 >/dev/null 2>&1 || fail "gen_traffic failed"
"$ECAP_REC" --replay "$T/e.pcap" --store "$T/e" -q || fail "replay of no packet failed"
"$ECAP_SHIP" --to-file "$T/dsn" --store "$T/e" --host empty --once 2>"$T/e.log" ||
	fail "ecap-ship of an empty store failed: $(cat "$T/e.log")"
assert_eq "0|0" "$(psqlc "SELECT shipped_chunk, local_chunk FROM ecap_hosts WHERE name =
	'empty'")" "central follow point of the empty store"

# killed mid-batch: batches of 4 chunks, SIGKILL after some rows
rc=0
ECAP_SHIP_KILL_AFTER_ROWS=$((PACKETS / 20)) "$ECAP_SHIP" --to-file "$T/dsn" --store "$T/s" --host alpha \
	--once --batch 4 2>"$T/kill.log" || rc=$?
assert_eq 137 "$rc" "exit status of the shipper killed mid-batch"
W=$(psqlc "SELECT shipped_chunk FROM ecap_hosts WHERE name = 'alpha'")
info "killed at follow point $W"
[ "$W" -gt 0 ] && [ "$W" -lt "$(sqlite3 "$T/s/index.db" "SELECT max(id) FROM chunks")" ] ||
	fail "the kill did not land mid-way (follow point $W)"
# nothing past the follow point is central: the killed batch left no row
assert_eq 0 "$(psqlc "SELECT count(*) FROM ecap_chunks WHERE id > $W")" \
	"central chunks past the follow point after the kill"

"$ECAP_SHIP" --to-file "$T/dsn" --store "$T/s" --host alpha --once --batch 4 2>"$T/once.log" ||
	{ cat "$T/once.log" >&2; fail "ecap-ship --once failed"; }
assert_shipped "$T/s" alpha
assert_eq 0 "$(psqlc "SELECT count(*) FROM (SELECT host_id, id FROM ecap_flows
	GROUP BY 1, 2 HAVING count(*) > 1) d")" "duplicate central flows"
grep -q "lag 0 chunks" "$T/once.log" || fail "no status line with lag 0: $(cat "$T/once.log")"
NTLS=$(psqlc "SELECT count(*) FROM ecap_tls_sessions")
assert_ge 1 "$NTLS" "TLS sessions shipped"
# sessions are shipped as SHA-256 of the client_random, never the random itself
sqlite3 "$T/s/index.db" "SELECT hex(client_random) FROM tls_sessions" | tr 'A-F' 'a-f' >"$T/cr.txt"
psqlc "SELECT encode(cr_sha256, 'hex') FROM ecap_tls_sessions" >"$T/dig.txt"
if grep -qFf "$T/cr.txt" "$T/dig.txt"; then fail "a client_random is stored centrally"; fi
python3 - "$T/cr.txt" "$T/dig.txt" <<'PY' || fail "central digests are not SHA-256 of the randoms"
import hashlib, sys
cr = {hashlib.sha256(bytes.fromhex(l.strip())).hexdigest() for l in open(sys.argv[1]) if l.strip()}
dg = {l.strip() for l in open(sys.argv[2]) if l.strip()}
sys.exit(0 if cr == dg else 1)
PY
# neither a secret nor a client_random nor payload bytes anywhere in the central database
"$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PG_PORT" -U ecap -d postgres >"$T/dump.sql" ||
	fail "pg_dump failed"
for s in "$(printf 'ab%.0s' $(seq 48))" 202122232425262728292a2b2c2d2e2f "example.test"; do
	if grep -qi "$s" "$T/dump.sql"; then fail "'$s' is in the central database"; fi
done
grep -qF 'gen\\tool' "$T/dump.sql" || fail "the escaped comm is not central"
# no column of the central schema can hold a payload or a secret
assert_eq "" "$(psqlc "SELECT table_name || '.' || column_name FROM information_schema.columns
	WHERE table_name LIKE 'ecap%' AND data_type = 'bytea' AND column_name <> 'cr_sha256'")" \
	"bytea columns centrally besides the digest"

# what a host recorded of its processes (issue 15) travels too, and selects fleet-wide: host
# gamma has a container's process (501) and a service's (502), each with a start time, exe,
# parent, cgroup and (501) a container id, from ptcpdump-style comments
CID=$(printf 'c0ffee%.0s' $(seq 10))0123
EXTRA501="Start: 2025-03-01T10:00:00.250001Z\\nExe: /usr/bin/app\\nParentPID: 40\\nParentCmd: containerd-shim\\nNsPID: 7\\nCgroup: /system.slice/docker-$CID.scope\\nContainerID: $CID\\nContainerRuntime: docker"
EXTRA502="Start: 2025-03-01T09:00:00.5Z\\nExe: /usr/sbin/nginx\\nParentPID: 1\\nParentCmd: systemd\\nNsPID: 502\\nCgroup: /system.slice/nginx.service"
"$GEN" -o "$T/g1.pcap" --packets 3000 --flows-active 20 --seed 11 || fail "gen_traffic failed"
"$GEN" -o "$T/g2.pcap" --packets 3000 --flows-active 20 --seed 12 || fail "gen_traffic failed"
python3 "$ECAP_SRC/tests/integration/mkcap.py" ptcpdump "$T/g1.pcap" "$T/g1.pcapng" 501 app \
	"$EXTRA501" || fail "mkcap.py ptcpdump failed"
python3 "$ECAP_SRC/tests/integration/mkcap.py" ptcpdump "$T/g2.pcap" "$T/g2.pcapng" 502 nginx \
	"$EXTRA502" || fail "mkcap.py ptcpdump failed"
for g in g1 g2; do
	"$ECAP_REC" --replay "$T/$g.pcapng" --store "$T/g" --chunk-size 64K -q || fail "replay failed"
done
assert_eq 2 "$(sqlite3 "$T/g/index.db" "SELECT count(*) FROM processes")" "gamma's processes"
# what the runtime said of 501's container (index table containers, schema 5), as the
# recorder stores it from a container runtime (a replay has none to ask)
sqlite3 "$T/g/index.db" "INSERT OR REPLACE INTO containers VALUES ('$CID', 'docker', 'web-1', 'nginx:1.25',
	'{\"app\":\"web\"}', 'web', 'prod', NULL, 1740823200000000000, 1740823260000000000);
	INSERT OR REPLACE INTO containers VALUES ('$(printf 'ab%.0s' $(seq 32))', 'docker', 'idle', 'x',
	'{}', NULL, NULL, NULL, 1, 2)"
# a NAT link: one of 501's flows before SNAT, one of 502's after it (so a selection of 501's
# flows takes 502's too, one hop through the link, locally and fleet-wide)
PRE=$(sqlite3 "$T/g/index.db" "SELECT min(flow_id) FROM flow_procs WHERE pid = 501")
POST=$(sqlite3 "$T/g/index.db" "SELECT min(flow_id) FROM flow_procs WHERE pid = 502")
sqlite3 "$T/g/index.db" "INSERT INTO flow_links SELECT $PRE, $POST, 1, 1, first_ns, last_chunk
	FROM flows WHERE id = $POST"
"$ECAP_SHIP" --to-file "$T/dsn" --store "$T/g" --host gamma --once 2>/dev/null ||
	fail "ecap-ship of gamma failed"
assert_shipped "$T/g" gamma
# a container is shipped with the process records that name it (the idle one is named by none)
assert_eq "$CID|docker|web-1|nginx:1.25|{\"app\":\"web\"}|web|prod||2025-03-01 10:00:00+00" \
	"$(psqlc "SELECT c.id, runtime, c.name, image, labels, pod_name, pod_namespace, pod_uid,
	first_ts FROM ecap_containers c JOIN ecap_hosts h USING (host_id) WHERE h.name = 'gamma'"
	2>&1)" \
	"gamma's containers centrally"
assert_eq "/usr/bin/app|40|containerd-shim|7|docker|2025-03-01 10:00:00.250001+00" \
	"$(psqlc "SELECT exe, ppid, parent_comm, nspid, runtime, start_ts FROM ecap_processes
	JOIN ecap_hosts USING (host_id) WHERE name = 'gamma' AND pid = 501")" "gamma's 501 centrally"
assert_eq "$PRE|$POST|1|1" "$(psqlc "SELECT pre_flow, post_flow, kind, a_side FROM
	ecap_flow_links JOIN ecap_hosts USING (host_id) WHERE name = 'gamma'")" \
	"gamma's NAT link centrally"
# each selection: the fleet's flows and processes (--json, minus "host") are exactly what
# ecap-ls --json says on gamma's own store
fleet_same() { # PIDS SELECTION...: the same answer fleet-wide as locally on gamma, and the
	# processes listed are PIDS
	local pids=$1 rc=0
	shift
	"$ECAP_LS" --json -p -f "$@" "$T/g" >"$T/loc.json" || rc=$?
	"$ECAP_LS" --fleet-file "$T/dsn" --json -p -f "$@" >"$T/fl.json" || rc=$((rc + $?))
	[ "$rc" = 0 ] || fail "ecap-ls $* (local or --fleet) exited $rc"
	python3 "$ECAP_SRC/tests/integration/fleet_json.py" same "$T/fl.json" "gamma=$T/loc.json" ||
		fail "ecap-ls --fleet --json $* differs from gamma's own answer"
	assert_eq "$pids" "$(python3 -c "import json
print(','.join(str(p['pid']) for p in sorted(json.load(open('$T/fl.json'))['processes'],
	key=lambda p: p['pid'])))")" "processes of --fleet $*"
}
fleet_same 501 --container "${CID:0:12}"
fleet_same 501 --container "$CID" --since 2025-01-01
fleet_same 501 --container web-1
# the linked flow of 502 is among them, with its link, and the text shows it under the flow
python3 -c "
import json
f = [f for f in json.load(open('$T/fl.json'))['flows'] if f['id'] == $POST]
assert len(f) == 1 and f[0]['nat'] == [{'kind': 'SNAT', 'before': $PRE}], f" ||
	fail "ecap-ls --fleet --container web-1 lacks 502's flow linked through NAT"
"$ECAP_LS" --fleet-file "$T/dsn" -f --container web-1 >"$T/fl.txt" || fail "ecap-ls --fleet -f"
grep -qE "^ +NAT: SNAT to flow $POST$" "$T/fl.txt" ||
	{ cat "$T/fl.txt" >&2; fail "ecap-ls --fleet -f does not show the NAT link"; }
fleet_same 501 --pod prod/web
fleet_same 501 --pod web --exe /usr/bin/app
fleet_same 502 --exe /usr/sbin/nginx
fleet_same 501,502 --cgroup /system.slice/
fleet_same 502 --cgroup /system.slice/nginx.service
fleet_same 501 --pid 501@2025-03-01T10:00:00.25Z
fleet_same 501,502 --pid 501 --pid 502@2025-03-01T09:00:00.5Z
fleet_same 502 --comm nginx --exe /usr/sbin/nginx
python3 -c "
import json, sys
p = json.load(open('$T/fl.json'))['processes'][0]
assert (p['exe'], p['cgroup'], p['ppid'], p['parent_comm'], p['nspid'], p['start']) == (
    '/usr/sbin/nginx', '/system.slice/nginx.service', 1, 'systemd', 502,
    '2025-03-01T09:00:00.500000000Z'), p" || fail "fleet JSON of nginx's process details"
# nothing matches: exit 1 and empty lists, as locally
for sel in "--cgroup /system.sl" "--exe /usr/sbin/nginx --container ${CID:0:12}" \
	"--container idle" "--pod prod/other" \
	"--pid 501@2025-03-01T10:00:01Z"; do
	rc=0
	"$ECAP_LS" --fleet-file "$T/dsn" --json -p $sel >"$T/none.json" 2>/dev/null || rc=$?
	assert_eq 1 "$rc" "ecap-ls --fleet $sel (nothing matches)"
	python3 -c "import json; d = json.load(open('$T/none.json'))
assert d['hosts'] == [] and d['processes'] == [], d" || fail "--fleet --json $sel: not empty"
done
# text: the process details under each process
"$ECAP_LS" --fleet-file "$T/dsn" -p --container "${CID:0:12}" >"$T/lsp.txt" ||
	fail "ecap-ls --fleet -p --container failed"
grep -Eq "^  gamma +501 app " "$T/lsp.txt" || fail "no process 501 on gamma: $(cat "$T/lsp.txt")"
grep -q "parent 40 containerd-shim, exe /usr/bin/app" "$T/lsp.txt" || fail "no exe line"
grep -q "container: docker $CID name web-1 image nginx:1.25" "$T/lsp.txt" ||
	fail "no container line: $(cat "$T/lsp.txt")"
grep -q "pod: prod/web" "$T/lsp.txt" || fail "no pod line"
grep -q "cgroup: /system.slice/docker-$CID.scope" "$T/lsp.txt" || fail "no cgroup line"

# idempotent: shipping again changes nothing
psqlc "SELECT xmin FROM ecap_flows ORDER BY host_id, id" | md5sum >"$T/x1"
"$ECAP_SHIP" --to-file "$T/dsn" --store "$T/s" --host alpha --once 2>/dev/null
psqlc "SELECT xmin FROM ecap_flows ORDER BY host_id, id" | md5sum >"$T/x2"
cmp -s "$T/x1" "$T/x2" || fail "a second --once rewrote flows"

# the daemon follows a growing store; the database stopped meanwhile
"$GEN" -o "$T/b.pcap" --packets 20000 --flows-active 50 --seed 8 --start 1800000000 ||
	fail "gen_traffic failed"
"$ECAP_REC" --replay "$T/a.pcap" --store "$T/s2" --chunk-size 64K -q || fail "replay failed"
links "$T/s2" # (retention below deletes some of them with their flows)
NL=$(sqlite3 "$T/s2/index.db" "SELECT count(*) FROM flow_links")
"$ECAP_SHIP" --to-file "$T/dsn" --store "$T/s2" --host beta --interval 0.2 2>"$T/d.log" &
SHIP=$!
cleanup_pid "$SHIP"
sleep 1
pg_stop
"$ECAP_REC" --replay "$T/b.pcap" --store "$T/s2" --chunk-size 64K -q ||
	fail "recording failed while the database was down"
# a batch cut by the stop is followed by a backoff (1 s, doubling) before the next connect,
# which is what says the database is down: wait up to 10 s for it
for _ in $(seq 100); do
	grep -q "not reachable" "$T/d.log" && break
	sleep 0.1
done
kill -0 "$SHIP" || fail "ecap-ship exited while the database was down"
grep -q "not reachable" "$T/d.log" || fail "ecap-ship did not say the database is down"
pg_run
for i in $(seq 100); do
	L=$(sqlite3 "$T/s2/index.db" "SELECT max(id) FROM chunks")
	[ "$(psqlc "SELECT shipped_chunk FROM ecap_hosts WHERE name = 'beta'")" = "$L" ] && break
	sleep 0.2
done
assert_shipped "$T/s2" beta
grep -q "connected again" "$T/d.log" || fail "no reconnection in the log"

# local retention (the oldest chunks gone) is reflected centrally
kill -TERM "$SHIP"
wait "$SHIP" || fail "ecap-ship did not exit 0 on SIGTERM"
"$ECAP_REC" --replay "$T/b.pcap" --store "$T/s2" --chunk-size 64K --segment-size 1M \
	--max-size 3M -q || fail "replay with retention failed"
"$ECAP_SHIP" --to-file "$T/dsn" --store "$T/s2" --host beta --once 2>/dev/null ||
	fail "ecap-ship after retention failed"
MIN=$(sqlite3 "$T/s2/index.db" "SELECT min(id) FROM chunks")
[ "$MIN" -gt 1 ] || fail "retention deleted nothing (min chunk $MIN)"
[ "$(sqlite3 "$T/s2/index.db" "SELECT count(*) FROM flow_links")" -lt "$NL" ] ||
	fail "retention deleted no NAT link"
assert_shipped "$T/s2" beta
assert_shipped "$T/s" alpha
# central retention: dropping partitions ending before a time
NP=$(psqlc "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
	WHERE p.relname IN ('ecap_flows', 'ecap_procs')")
assert_ge 4 "$NP" "partitions (days of two stores, flows and processes)"
"$ECAP_SHIP" --to-file "$T/dsn" --drop-before @1000000000 2>"$T/drop.log" || fail "drop failed"
assert_eq "$NP" "$(psqlc "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON
	p.oid = i.inhparent WHERE p.relname IN ('ecap_flows', 'ecap_procs')")" "partitions kept"
alpha_rows() { # what alpha (all of 2025) has in the tables that are not partitioned
	local t out=""
	for t in ecap_chunks ecap_tls_sessions ecap_processes ecap_flow_links; do
		out+="$t $(psqlc "SELECT count(*) FROM $t x JOIN ecap_hosts h USING (host_id)
			WHERE h.name = 'alpha'") "
	done
	echo "$out"
}
before=$(alpha_rows)
for n in $(echo "$before" | awk '{ print $2, $4, $8 }'); do # a replay has no processes
	assert_ge 1 "$n" "alpha's rows before central retention: $before"
done
# a long-lived flow: a TLS session of a flow of 2025 in a chunk of 2027 (alpha's chunk of its
# last session made to end then, as a chunk of such a flow's later session would); the flow
# goes with its partition, and its sessions with it, though that chunk stays
LATE=$(psqlc "SELECT max(t.chunk_id) FROM ecap_tls_sessions t JOIN ecap_hosts h USING
	(host_id) WHERE h.name = 'alpha'")
psqlc "UPDATE ecap_chunks c SET first_ts = to_timestamp(1850000000), last_ts =
	to_timestamp(1850000000) FROM ecap_hosts h WHERE c.host_id = h.host_id AND
	h.name = 'alpha' AND c.id = $LATE" >/dev/null
orphans() { # central TLS sessions whose flow is not there
	psqlc "SELECT count(*) FROM ecap_tls_sessions t WHERE NOT EXISTS (SELECT 1 FROM
		ecap_flows f WHERE f.host_id = t.host_id AND f.id = t.flow_id)"
}
kept_sessions() { # central TLS sessions of flows of 2027 and later
	psqlc "SELECT count(*) FROM ecap_tls_sessions t JOIN ecap_flows f ON f.host_id =
		t.host_id AND f.id = t.flow_id WHERE f.first_ts >= to_timestamp(1800000000)"
}
assert_eq 0 "$(orphans)" "central TLS sessions without their flow before the drop"
KEPT=$(kept_sessions)
"$ECAP_SHIP" --to-file "$T/dsn" --drop-before @1800000000 2>"$T/drop.log" || fail "drop failed"
assert_eq "ecap_chunks 1 ecap_tls_sessions 0 ecap_processes 0 ecap_flow_links 0 " \
	"$(alpha_rows)" "alpha's chunks (but the one of 2027), sessions, processes and links went with its partitions"
assert_eq 0 "$(orphans)" "central TLS sessions without their flow after the drop"
assert_eq "$KEPT" "$(kept_sessions)" "TLS sessions of the flows of 2027 after the drop"
grep -q "dropped ecap_flows.* and its flows' [1-9][0-9]* TLS sessions" "$T/drop.log" ||
	fail "no count of the dropped flows' sessions: $(cat "$T/drop.log")"
grep -q "deleted [1-9][0-9]* chunks" "$T/drop.log" || fail "no count of deleted chunks: $(cat "$T/drop.log")"
assert_ge 1 "$(psqlc "SELECT count(*) FROM ecap_chunks WHERE last_ts >= to_timestamp(1800000000)")" \
	"chunks of 2027 kept"
assert_eq 0 "$(psqlc "SELECT count(*) FROM ecap_flows f JOIN ecap_hosts h USING (host_id)
	WHERE h.name = 'alpha'")" "alpha's flows (2025) after dropping partitions before 2027"
assert_ge 1 "$(psqlc "SELECT count(*) FROM ecap_flows
	WHERE first_ts >= to_timestamp(1800000000)")" \
	"flows of 2027 kept"
# a central schema before version 3 (no ecap_flow_links: no shipper of this version has
# connected yet) is still asked, its flows listed without links; a shipper adds the table
psqlc "DROP TABLE ecap_flow_links"
"$ECAP_LS" --fleet-file "$T/dsn" --json -f >"$T/v2.json" ||
	fail "ecap-ls --fleet on a schema without ecap_flow_links failed"
python3 -c "
import json
f = json.load(open('$T/v2.json'))['flows']
assert len(f) == $(psqlc "SELECT count(*) FROM ecap_flows") and all(x['nat'] == [] for x in f)
" || fail "ecap-ls --fleet on a schema without ecap_flow_links: not every flow, unlinked"
"$ECAP_SHIP" --to-file "$T/dsn" --store "$T/g" --host gamma --once 2>/dev/null ||
	fail "ecap-ship on a schema without ecap_flow_links failed"
assert_eq ecap_flow_links "$(psqlc "SELECT to_regclass('ecap_flow_links')")" \
	"ecap_flow_links made again by the shipper"
# --tls-ca: sslmode=verify-full against that CA, whatever the DSN says
pg_tls
"$ECAP_SHIP" --to-file "$T/dsn" --tls-ca "$T/ca.pem" --store "$T/s" --host alpha --once \
	2>"$T/tls.log" || { cat "$T/tls.log" >&2; fail "ecap-ship over verified TLS failed"; }
rc=0
"$ECAP_SHIP" --to-file "$T/dsn" --tls-ca "$T/other.pem" --store "$T/s" --host alpha --once \
	2>"$T/tls.log" || rc=$?
assert_eq 1 "$rc" "ecap-ship with a CA that did not sign the server"
grep -q "certificate verify failed" "$T/tls.log" || fail "no verification error in tls.log"
info "ok: $NCH chunks and $NFL flows shipped (NAT links too); kill at $W, restart, outage and retention"
