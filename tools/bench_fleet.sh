#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench_fleet.sh - the fleet's capacity on this machine, with throwaway PostgreSQL 15 servers
# (tests/integration/fleet_lib.sh): "one" holds every row, "sh0" and "sh1" split the same
# rows by host (host_id mod 2, as ecap-ship picks a shard). The schema is made by ecap-ship
# itself (on a small replayed store, which also gives ecap-ship's own rate and CPU). Then N
# synthetic flows, each with one process, from 1,000 hosts over 7 days are COPY-ed in (the
# two shards at once), and three questions are timed on "one" and fanned out over the
# shards (both asked at once, the slower server's execution time counts; EXPLAIN ANALYZE):
# one address over 24 h, one comm
# over an hour, top hosts talking to a /24 over 7 days. Prints one line per figure.
#
#   ECAP_BUILD=$PWD/build ECAP_SRC=$PWD tools/bench_fleet.sh [FLOWS]   (default 1000000)
set -euo pipefail
N=${1:-1000000}
. "$ECAP_SRC/tests/lib.sh"
. "$ECAP_SRC/tests/integration/fleet_lib.sh"

declare -A PORT PASS
for s in one sh0 sh1; do
	pg_start
	PORT[$s]=$PG_PORT
	PASS[$s]=$PGPASSWORD
	cp "$T/dsn" "$T/dsn.$s"
done
q() { # SERVER SQL
	PGPASSWORD=${PASS[$1]} psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORT[$1]}" \
		-U ecap -d postgres -c "$2"
}

"$ECAP_BUILD/tools/gen_traffic" -o "$T/a.pcap" --packets 60000 --flows-active 200 --seed 7 \
	>/dev/null 2>&1
python3 "$ECAP_SRC/tests/integration/mkcap.py" ptcpdump "$T/a.pcap" "$T/a.pcapng" 4321 curl
"$ECAP_REC" --replay "$T/a.pcapng" --store "$T/s" --chunk-size 64K -q
ROWS=$(sqlite3 "$T/s/index.db" "SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM
	flow_procs) + (SELECT count(*) FROM chunks)")
for s in one sh0 sh1; do
	/usr/bin/time -f "%e %U %S" -o "$T/ship.time" "$ECAP_SHIP" --to-file "$T/dsn.$s" \
		--store "$T/s" --host "bench-$s" --once 2>/dev/null
done
read -r el us sy <"$T/ship.time"
rate() { python3 -c "print(int($1 / max($2, 0.001)))"; } # ROWS SECONDS
echo "ecap-ship --once: $ROWS rows in ${el} s: $(rate "$ROWS" "$el") rows/s;" \
	"CPU ${us} s user + ${sy} s sys"

# lag while ecap-rec writes as fast as it can (replay: far above the live loads of
# BENCHMARKS.md section 3): the shipper looks every 0.2 s; its largest lag in chunks, and how
# long after the recorder's last commit the central follow point reaches the newest chunk
"$ECAP_BUILD/tools/gen_traffic" -o "$T/big.pcap" --packets 400000 --flows-active 2000 \
	--seed 9 >/dev/null 2>&1
"$ECAP_REC" --replay "$T/a.pcapng" --store "$T/s3" -q
"$ECAP_SHIP" --to-file "$T/dsn.one" --store "$T/s3" --host bench-lag --interval 0.2 \
	2>"$T/lag.log" &
SHIP=$!
cleanup_pid "$SHIP"
sleep 1
t=$(date +%s.%N)
"$ECAP_REC" --replay "$T/big.pcap" --store "$T/s3" -q &
REC=$!
: >"$T/lag.txt"
while kill -0 "$REC" 2>/dev/null; do # newest local chunk minus the central follow point
	L=$(sqlite3 "$T/s3/index.db" "SELECT coalesce(max(id), 0) FROM chunks")
	W=$(q one "SELECT coalesce(max(shipped_chunk), 0) FROM ecap_hosts WHERE name = 'bench-lag'")
	echo $((L - W)) >>"$T/lag.txt"
	sleep 0.1
done
wait "$REC"
t1=$(date +%s.%N)
L=$(sqlite3 "$T/s3/index.db" "SELECT max(id) FROM chunks")
until [ "$(q one "SELECT shipped_chunk FROM ecap_hosts WHERE name = 'bench-lag'")" = "$L" ]; do
	sleep 0.05
done
t2=$(date +%s.%N)
kill -TERM "$SHIP"
wait "$SHIP" || true
MAXLAG=$(sort -n "$T/lag.txt" | tail -1)
echo "lag under a replay of 400,000 packets at $(rate 400000 "$(python3 -c "print($t1 - $t)")")" \
	"packets/s ($L chunks): at most ${MAXLAG:-0} chunks behind (sampled every ~0.1 s);" \
	"caught up" \
	"$(python3 -c "print(round($t2 - $t1, 2))") s after the recorder finished"

T0=$(($(date +%s) / 86400 * 86400 - 6 * 86400))
for s in one sh0 sh1; do
	q "$s" "$(day_partitions_sql "$T0" 8)"
done

# CSV of flows and processes: all hosts (one), even and odd host ids (sh0, sh1)
python3 - "$N" "$T0" "$T" <<'PY'
import sys, time
n, t0, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
comms = ['curl', 'nginx', 'python3', 'java', 'postgres', 'sshd', 'node', 'envoy']
files = {k: (open('%s/%s.f.csv' % (d, k), 'w'), open('%s/%s.p.csv' % (d, k), 'w'))
         for k in ('one', 'sh0', 'sh1')}
for i in range(n):
    h = i % 1000
    hid = 1000003 * h + 17
    ts = t0 + (i * 604800.0) / n
    first = (time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(ts)) +
             '.%06d+00' % (int(ts * 1e6) % 1000000))
    a = '10.%d.%d.%d' % (h // 250, h % 250, 1 + i % 200)
    b = '192.0.2.%d' % (i % 250) if i % 10 == 0 else '10.200.%d.%d' % (i % 250, i % 199 + 1)
    f = '%d,%d,6,%s,%d,%s,443,%s,%s,%d,%d,%d,%d\n' % (hid, i + 1, a, 30000 + i % 30000, b, first,
                                                     first, 10 + i % 90, 6000 + i % 60000,
                                                     i // 10 + 1, i // 10 + 2)
    p = '%d,%d,0,%s,%d,%d,1000,1000,%s,0,0\n' % (hid, i + 1, first, 1000 + i % 30000,
                                                1000 + i % 30000, comms[i % 8])
    for k in ('one', 'sh%d' % (hid % 2)):
        files[k][0].write(f)
        files[k][1].write(p)
for a, b in files.values():
    a.close()
    b.close()
PY
copy_in() { # SERVER
	q "$1" "\\copy ecap_flows (host_id, id, proto, addr_a, port_a, addr_b, port_b, first_ts,
		last_ts, packets, bytes, first_chunk, last_chunk) FROM '$T/$1.f.csv' CSV"
	q "$1" "\\copy ecap_procs (host_id, flow_id, side, first_ts, pid, tid, uid, gid, comm,
		cgroup_id, netns) FROM '$T/$1.p.csv' CSV"
	q "$1" "ANALYZE"
}
now() { date +%s.%N; }
t=$(now); copy_in one; t1=$(now)
el=$(python3 -c "print(round($t1 - $t, 1))")
echo "COPY one server: $((2 * N)) rows in $el s: $(rate $((2 * N)) "$el") rows/s (indexes included)"
t=$(now); copy_in sh0 & P0=$!; copy_in sh1; wait $P0; t1=$(now)
el=$(python3 -c "print(round($t1 - $t, 1))")
echo "COPY two shards at once: $((2 * N)) rows in $el s: $(rate "$N" "$el") rows/s per shard"
echo "bytes per flow row (heap + indexes, incl. its process row): $(q one "SELECT
	(sum(pg_total_relation_size(c.oid)) / $N)::int FROM pg_class c JOIN pg_inherits i ON
	i.inhrelid = c.oid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname IN
	('ecap_flows', 'ecap_procs')")"

END=$((T0 + 7 * 86400))
ADDR="10.1.17.$((1 + (N / 2) % 200))"
Q1="SELECT count(*) FROM ecap_flows WHERE (addr_a = '$ADDR' OR addr_b = '$ADDR') AND
	first_ts >= to_timestamp($END - 86400) AND first_ts < to_timestamp($END)"
Q2="SELECT count(*) FROM ecap_procs p JOIN ecap_flows f ON f.host_id = p.host_id AND
	f.id = p.flow_id AND f.first_ts = p.first_ts WHERE p.comm = 'java' AND p.first_ts >=
	to_timestamp($END - 90000) AND p.first_ts < to_timestamp($END - 86400)"
Q3="SELECT host_id, count(*) FROM ecap_flows WHERE addr_b << '192.0.2.0/24' AND first_ts >=
	to_timestamp($T0) GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
exec_ms() { # SERVER SQL: the server's execution time (EXPLAIN ANALYZE), best of 3, ms
	local i
	for i in 1 2 3; do
		q "$1" "EXPLAIN (ANALYZE, TIMING OFF) $2" |
			sed -n 's/^Execution Time: \(.*\) ms$/\1/p'
	done | sort -g | head -1
}
for name in Q1 Q2 Q3; do
	sql=${!name}
	one=$(exec_ms one "$sql")
	exec_ms sh0 "$sql" >"$T/sh0.ms" &
	P0=$!
	exec_ms sh1 "$sql" >"$T/sh1.ms"
	wait $P0
	fan=$(sort -g "$T/sh0.ms" "$T/sh1.ms" | tail -1)
	case $name in
	Q1) what="one address over 24 h" ;;
	Q2) what="one comm over an hour" ;;
	Q3) what="top hosts to a /24 over 7 days" ;;
	esac
	echo "$what: one server ${one} ms; two shards asked at once, the slower ${fan} ms"
done
