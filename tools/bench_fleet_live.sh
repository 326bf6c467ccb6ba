#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench_fleet_live.sh - ecap-ship beside ecap-rec under the live loads of BENCHMARKS.md section
# 3 (BENCHMARKS.md section 8): in a network namespace made here, ecap-rec -i lo records a TLS
# request loop (4 curl clients against openssl s_server: many short flows, each with its
# processes) and then an iperf3 TCP transfer at 1 Gbit/s (few flows, many packets), while
# ecap-ship (default interval, 1 s) ships the store to a throwaway PostgreSQL 15
# (tests/integration/fleet_lib.sh). Per load: the CPU time (user+sys, /proc/PID/stat) of
# ecap-rec and of ecap-ship over the load, the rows shipped, and the shipping lag sampled every
# 0.2 s: the local index's newest chunk (its last packet time) minus the central follow point's
# (ecap_hosts.shipped_ns), in seconds, as ecap-ls --fleet shows it; then how long after the
# recorder stopped the follow point reached its last chunk. The recorder runs with --no-tls
# (host-wide probes would disturb other recorders on a shared machine; secrets never travel).
#
#   ECAP_BUILD=$PWD/build ECAP_SRC=$PWD tools/bench_fleet_live.sh [SECONDS]   (default 20)
#   (ECAP_TMP_PREFIX=/tmp/NAME names the scratch directories, ECAP_NS_PREFIX=NAME the netns)
set -euo pipefail
SECS=${1:-20}
. "$ECAP_SRC/tests/lib.sh"
. "$ECAP_SRC/tests/integration/fleet_lib.sh"
need_cmd ip curl openssl iperf3 psql sqlite3

NS="${ECAP_NS_PREFIX:-ecap}-fleetlive$$"
cleanup_cmd "ip netns del $NS 2>/dev/null"
ip netns add "$NS" || skip "cannot create a network namespace here"
ip -n "$NS" link set lo up
NX=(ip netns exec "$NS")
pg_start

cpu_s() { # PID: user+sys seconds so far (all threads)
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' \
		"/proc/$1/stat"
}
calc() { python3 -c "print($1)"; }
local_last() { # STORE: the newest chunk's id and last packet time (ns), the first packet's
	sqlite3 "$1/index.db" "SELECT coalesce(max(id), 0), coalesce((SELECT last_ns FROM chunks
		ORDER BY id DESC LIMIT 1), 0), coalesce(min(first_ns), 0) FROM chunks" | tr '|' ' '
}
central() { # HOST: shipped_chunk shipped_ns
	psqlc "SELECT shipped_chunk, shipped_ns FROM ecap_hosts WHERE name = '$1'" | tr '|' ' '
}
rows() { # HOST: central rows of the host (flows, their processes, process records, chunks)
	psqlc "SELECT (SELECT count(*) FROM ecap_flows f JOIN ecap_hosts h USING (host_id)
		WHERE h.name = '$1') + (SELECT count(*) FROM ecap_procs p JOIN ecap_hosts h
		USING (host_id) WHERE h.name = '$1') + (SELECT count(*) FROM ecap_processes p JOIN
		ecap_hosts h USING (host_id) WHERE h.name = '$1') + (SELECT count(*) FROM
		ecap_chunks c JOIN ecap_hosts h USING (host_id) WHERE h.name = '$1')"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench \
	-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
"${NX[@]}" openssl s_server -accept 127.0.0.1:4433 -cert "$T/cert.pem" -key "$T/key.pem" \
	-www -quiet </dev/null >/dev/null 2>&1 &
cleanup_pid $!
"${NX[@]}" iperf3 -s -B 127.0.0.1 -p 5201 >/dev/null 2>&1 </dev/null &
cleanup_pid $!
sleep 0.5

run_load() { # NAME: starts the load in the background for SECS seconds; LOAD_PIDS
	LOAD_PIDS=()
	case $1 in
	tls)
		local c
		for c in 1 2 3 4; do
			"${NX[@]}" bash -c "end=\$((SECONDS + $SECS)); while [ \$SECONDS -lt \$end ]; do
				curl -sk -o /dev/null https://127.0.0.1:4433/; done" </dev/null &
			LOAD_PIDS+=($!)
		done
		;;
	tcp1g)
		"${NX[@]}" iperf3 -c 127.0.0.1 -p 5201 -t "$SECS" -b 1g >/dev/null 2>&1 </dev/null &
		LOAD_PIDS+=($!)
		;;
	esac
}

for load in tls tcp1g; do
	host="bench-$load"
	"${NX[@]}" "$ECAP_REC" -i lo --store "$T/$load" --no-tls 2>"$T/$load.rec" &
	REC=$!
	cleanup_pid $REC
	for i in $(seq 100); do
		grep -q "recording on" "$T/$load.rec" 2>/dev/null && break
		sleep 0.1
	done
	"$ECAP_SHIP" --to-file "$T/dsn" --store "$T/$load" --host "$host" 2>"$T/$load.ship" &
	SHIP=$!
	cleanup_pid $SHIP
	sleep 2
	r0=$(rows "$host") rc0=$(cpu_s $REC) sc0=$(cpu_s $SHIP) t0=$(date +%s.%N)
	run_load "$load"
	: >"$T/$load.lag"
	end=$(($(date +%s%N) + SECS * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		read -r lc ln lf < <(local_last "$T/$load")
		read -r sc sn < <(central "$host")
		# ns behind: the newest local chunk's last packet minus the central follow point's
		# (nothing shipped yet: minus the first local packet's time)
		[ "$sn" -gt 0 ] || sn=$lf
		[ "$ln" -gt 0 ] && echo $((ln > sn ? ln - sn : 0)) >>"$T/$load.lag"
		sleep 0.2
	done
	wait "${LOAD_PIDS[@]}" 2>/dev/null || true
	t1=$(date +%s.%N) rc1=$(cpu_s $REC) sc1=$(cpu_s $SHIP)
	kill -INT $REC
	wait $REC || true
	read -r lc ln lf < <(local_last "$T/$load")
	until [ "$(central "$host" | cut -d' ' -f1)" = "$lc" ]; do sleep 0.05; done
	t2=$(date +%s.%N)
	sc2=$(cpu_s $SHIP)
	kill -TERM $SHIP
	wait $SHIP || true
	r1=$(rows "$host")
	el=$(calc "round($t1 - $t0, 1)")
	rec=$(calc "round($rc1 - $rc0, 2)") ship=$(calc "round($sc2 - $sc0, 2)")
	lag=$(sort -n "$T/$load.lag" | python3 -c "import sys
v = [int(x) / 1e9 for x in sys.stdin]
print('median %.2f s, max %.2f s over %d samples' % (v[len(v) // 2], v[-1], len(v)) if v else
      'no samples')")
	case $load in
	tls) what="TLS request loop, 4 curl clients vs openssl s_server" ;;
	tcp1g) what="iperf3 TCP -b 1g" ;;
	esac
	echo "$what, $el s: ecap-rec CPU $rec s ($(calc "round(100 * $rec / $el, 1)")% of a core)," \
		"ecap-ship CPU (until caught up) $ship s ($(calc "round(100 * $ship / $el, 1)")% of a core," \
		"$(calc "round($ship / max($rec, 0.001), 3)")x ecap-rec's); $((r1 - r0)) rows shipped" \
		"($(calc "round(1e6 * $ship / max($r1 - $r0, 1), 1)") us of ecap-ship CPU per row);" \
		"lag $lag; caught up $(calc "round($t2 - $t1, 2)") s after the recorder stopped;" \
		"load average $(uptime | sed 's/.*load average: //')"
done
