#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench_socket_scope.sh - what the host's sockets outside the filter cost ecap-rec (issue 17
# part 1, recorder/socket_scope.c): a plain TCP connection loop on a port the filter does not
# record (no TLS, no new process per connection: only socket records), with the recorders
# recording `tcp port P` and, with --base, a second build recording the same at the same time
# (each run in both orders of their start). Printed per run and recorder: its CPU (all
# threads, /proc/PID/task/*/schedstat) per second and per connection over the loop, the
# connections made, what it said of sockets outside the filter, and its process records.
#
#   tools/bench_socket_scope.sh [--build DIR] [--base DIR] [--runs N] [--conns N]
#
#   --build DIR   the meson build to measure (default: $ECAP_BUILD, else ./build)
#   --base DIR    a second build recording at the same time (e.g. main's)
#   --runs N      runs (default 3; with --base each run is two, one per order)
#   --conns N     connections per run (default 3000)
#
# Needs root (live capture) and python3. Everything runs on the loopback of a network
# namespace made for the run (named after $BENCH_NAME, default ecap-bss-PID), removed at the
# end with every process started here (ended by pid) and the work directory. Markdown out.
set -u -o pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ECAP_BUILD:-$SRC/build} BASE='' RUNS=3 CONNS=3000
usage() { sed -n '4,/^# end with every/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=${2:?}; shift ;;
	--base) BASE=${2:?}; shift ;;
	--runs) RUNS=${2:?}; shift ;;
	--conns) CONNS=${2:?}; shift ;;
	-h|--help) usage 0 ;;
	*) echo "bench_socket_scope.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "bench_socket_scope.sh: needs root (live capture)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench_socket_scope.sh: python3 is not installed" >&2; exit 2; }
for b in "$BUILD" ${BASE:+"$BASE"}; do
	[ -x "$b/recorder/ecap-rec" ] ||
		{ echo "bench_socket_scope.sh: $b: build ecap-rec first" >&2; exit 2; }
done

NAME=${BENCH_NAME:-ecap-bss-$$}
PORT=4433 OTHER=4435
WORK=$(mktemp -d "/tmp/$NAME.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NAME" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NAME" && ip -n "$NAME" link set lo up ||
	{ echo "bench_socket_scope.sh: cannot make network namespace $NAME" >&2; exit 1; }
NX=(ip netns exec "$NAME")

# A server outside the filter: accepts, answers one byte, closes.
"${NX[@]}" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(512)
while True:
    c, _ = s.accept(); c.recv(1); c.send(b"y"); c.close()' "$OTHER" &
PIDS+=($!)
sleep 0.5

load() { cut -d' ' -f1 /proc/loadavg; }
cpu_ns() { local t=0 a f; for f in /proc/"$1"/task/*/schedstat; do read -r a _ <"$f" && t=$((t + a)); done; echo "$t"; }
name_of() { [ "$1" = "$BUILD" ] && echo "ecap-rec" || echo "ecap-rec (base)"; }

# one BUILD...: the builds recording at once, in this order of their start, under one loop
one() {
	local b i rs=() c0=() c1=() t0 t1 n procs left p q=()
	for b in "$@"; do
		i=${#rs[@]}
		"${NX[@]}" "$b/recorder/ecap-rec" -i lo --store "$WORK/s$i" --no-tls "tcp port $PORT" \
			>/dev/null 2>"$WORK/rec$i.err" </dev/null &
		rs+=($!); PIDS+=($!)
		for p in $(seq 300); do grep -q 'recording on' "$WORK/rec$i.err" && break; sleep 0.05; done
	done
	sleep 1
	for i in "${!rs[@]}"; do c0[i]=$(cpu_ns "${rs[i]}"); done
	t0=$(date +%s%N)
	n=$("${NX[@]}" python3 -c '
import socket, sys
n = 0
for i in range(int(sys.argv[2])):
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    c.send(b"x"); c.recv(1); c.close(); n += 1
print(n)' "$OTHER" "$CONNS")
	sleep 0.5
	t1=$(date +%s%N)
	for i in "${!rs[@]}"; do c1[i]=$(cpu_ns "${rs[i]}"); done
	kill -INT "${rs[@]}"; wait "${rs[@]}"
	for p in "${PIDS[@]}"; do [[ " ${rs[*]} " == *" $p "* ]] || q+=("$p"); done
	PIDS=("${q[@]}")
	[ "${n:-0}" -gt 0 ] || n=1
	i=0
	for b in "$@"; do
		left=$(grep "stopped:" "$WORK/rec$i.err" | sed -n 's/.* \([0-9]*\) sockets outside the filter.*/\1/p')
		procs=$(sqlite3 "$WORK/s$i/index.db" "SELECT count(*) FROM processes" 2>/dev/null || echo "?")
		echo "| $(name_of "$b") | $n | $(((c1[i] - c0[i]) * 1000000 / (t1 - t0))) us/s |" \
			"$(((c1[i] - c0[i]) / n)) ns | ${left:-0} | $procs | $(load) |"
		i=$((i + 1))
	done
	rm -rf "$WORK"/s? "$WORK"/rec?.err
}

echo "## Sockets outside the filter (tools/bench_socket_scope.sh)"
echo
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) cores; load average at start $(cut -d' ' -f1-3 /proc/loadavg);" \
	"build $BUILD${BASE:+, base $BASE}; $CONNS TCP connections per run to port $OTHER while" \
	"recording \`tcp port $PORT\`${BASE:+; both builds at once, in both orders of their start}."
echo
echo "| recorder | connections | CPU per second | CPU per connection | sockets outside the filter | process records | load |"
echo "|---|---|---|---|---|---|---|"
for _ in $(seq "$RUNS"); do
	if [ -n "$BASE" ]; then one "$BUILD" "$BASE"; one "$BASE" "$BUILD"; else one "$BUILD"; fi
done
