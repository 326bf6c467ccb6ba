#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench_tls_sessions.sh - what a TLS session costs the recorder, side by side with tcpdump, in
# one run (issue 17's goals 1 and 3), and the store's share:
#   - recorder CPU per TLS session: openssl s_time -new -www / (one client, full handshakes)
#     and a loop of 4 curl clients (a new process per request), each recorded by ecap-rec,
#     by tcpdump -w and (with --base) by a second ecap build, in turns. "curl4" starts each
#     curl by `ip netns exec` (a new mount namespace per request, each first exec in it an
#     exec record), "curl4-1ns" each client's curls from one shell in the namespace;
#   - sustained sessions: 4 s_time clients at once (the most this s_server gives here), with
#     the TLS sessions and secrets the store holds counted against the sessions completed;
#   - ecap-rec's CPU with no load of ours (the host's execs and TLS), per second, with the
#     s_time load outside its filter (per second and per unrecorded session: the TLS its
#     probes see and nothing records; with --base both builds at once, RUNS times in each
#     order), and per exec record (1000 `unshare -m /bin/true`: each
#     exec in a new mount namespace);
#   - record -> queryable: from the end of a curl process until `ecap-export --pid` finds its
#     packets, under an s_time load;
#   - the store's CPU per session (bench_sessions) fresh and after each --preload;
#   - with --paired: both builds recording the same load at once, each one's main thread
#     and other threads apart (a comparison that a shared, busy host moves less: both see
#     the same sessions, the same neighbours and the same caches).
# CPU is the recorder's threads' run time (/proc/PID/task/*/schedstat) from the start of the
# load to half a second after its end, over the sessions completed; "vs tcpdump" divides a
# recorder's CPU a session by that of the tcpdump row just before it (the same load and run).
# It prints a Markdown report.
#
#   tools/bench_tls_sessions.sh [--build DIR] [--base DIR] [--runs N] [--secs S]
#                               [--preload "N ..."] [--probes N] [--paired] [--loads "L ..."]
#                               [--warm W]
#
#   --build DIR   the meson build to measure (default: $ECAP_BUILD, else ./build)
#   --base DIR    a second build measured the same way, in turns (e.g. main's), for before/after
#   --runs N      runs of each load and tool (default 3); the report gives each run
#   --secs S      seconds per load (default 4)
#   --preload L   bench_sessions preloads after the fresh run (default "1000000 2000000";
#                 "" for none: each 1M is about 8 GB of segments and minutes)
#   --probes N    record -> queryable probes (default 5)
#   --loads L     the loads measured, of stime curl4 curl4-1ns stime4 (default all; the
#                 paired runs take them but stime4)
#   --warm W      run each load W seconds (not counted) before the measured SECS, for both
#                 recorders alike (default 0: from the recorder's first second, so that first
#                 uses, a first chunk and the first rescans weigh in a short run; W >= 10 gives
#                 the steady state of an always-on recorder)
#   --paired      with --base: after the table, RUNS runs of each load recorded by both builds
#                 at once, each run in both orders of their start, CPU per session by thread
#
# Needs root (live capture), openssl, curl, tcpdump. Everything runs on the loopback of a
# network namespace made for the run (named after $BENCH_NAME, default ecap-bts-PID), which is
# removed at the end with every process started here (ended by pid) and the work directory.
set -u -o pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ECAP_BUILD:-$SRC/build} BASE='' RUNS=3 SECS=4 PRELOAD="1000000 2000000" PROBES=5 PAIRED='' WARM=0
LOADS="stime curl4 curl4-1ns stime4"
usage() { sed -n '4,/^# removed at the end/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=${2:?}; shift ;;
	--base) BASE=${2:?}; shift ;;
	--runs) RUNS=${2:?}; shift ;;
	--secs) SECS=${2:?}; shift ;;
	--preload) PRELOAD=${2?}; shift ;;
	--probes) PROBES=${2:?}; shift ;;
	--paired) PAIRED=1 ;;
	--warm) WARM=${2:?}; shift ;;
	--loads) LOADS=${2:?}; shift ;;
	-h|--help) usage 0 ;;
	*) echo "bench_tls_sessions.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for l in $LOADS; do
	case "$l" in stime|curl4|curl4-1ns|stime4) ;;
	*) echo "bench_tls_sessions.sh: unknown load '$l' (stime curl4 curl4-1ns stime4)" >&2; exit 2 ;;
	esac
done
[[ "$WARM" =~ ^[0-9]+$ ]] || { echo "bench_tls_sessions.sh: --warm: '$WARM' is not a count of seconds" >&2; exit 2; }
[ -z "$PAIRED" ] || [ -n "$BASE" ] ||
	{ echo "bench_tls_sessions.sh: --paired needs --base" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench_tls_sessions.sh: needs root (live capture)" >&2; exit 2; }
for t in openssl curl tcpdump ip nsenter unshare; do
	command -v "$t" >/dev/null || { echo "bench_tls_sessions.sh: $t is not installed" >&2; exit 2; }
done
for b in "$BUILD" ${BASE:+"$BASE"}; do
	[ -x "$b/recorder/ecap-rec" ] && [ -x "$b/tools/bench_sessions" ] ||
		{ echo "bench_tls_sessions.sh: $b: build ecap-rec and bench_sessions first" >&2; exit 2; }
done

NAME=${BENCH_NAME:-ecap-bts-$$}
# shellcheck source=tools/bench_tls_server.sh
. "$SRC/tools/bench_tls_server.sh"
load() { cut -d' ' -f1 /proc/loadavg; }
cpu_ns() { # PID: run time of all its threads
	local t=0 a f
	for f in /proc/"$1"/task/*/schedstat; do read -r a _ <"$f" && t=$((t + a)); done
	echo "$t"
}

one() {
	local tool=$1 b=$2 l=$3 c0 c1 n dir=$WORK/st extra=''
	if [ "$tool" = tcpdump ]; then tcpdump_start "$dir"; else rec_start "$b" "$dir"; fi
	sleep 1
	[ "$WARM" = 0 ] || tls_load "$l" "$WARM" >/dev/null
	c0=$(cpu_ns "$R"); n=$(tls_load "$l" "$SECS"); sleep 0.5; c1=$(cpu_ns "$R")
	rec_stop
	if [ "$tool" != tcpdump ]; then
		extra=$("$b/tools/ecap-ls" --json "$dir" 2>/dev/null | python3 -c 'import json, sys
j = json.load(sys.stdin); print("%s TLS sessions, %s secrets stored" % (j.get("tls_sessions"), j.get("secrets")))')
	fi
	rm -rf "$dir" "$dir.pcap"
	[ "${n:-0}" -gt 0 ] || n=1
	local ps ratio=''
	ps=$(((c1 - c0) / n))
	if [ "$tool" = tcpdump ]; then TD_PS=$ps; elif [ "${TD_PS:-0}" -gt 0 ]; then
		ratio=$(printf '%.2fx' "$(echo "$ps / $TD_PS" | bc -l)")
	fi
	printf '| %s | %s | %s | %.1f ms | %.1f us | %s | %s | %s |\n' "$l" "$tool" "$n" \
		"$(echo "($c1 - $c0) / 1000000" | bc -l)" "$(echo "$ps / 1000" | bc -l)" "$ratio" \
		"$(load)" "$extra"
}

# threads PID: "main MAIN_NS other OTHER_NS", the run time of the main thread and of the rest
threads() {
	local m=0 o=0 a f
	for f in /proc/"$1"/task/*; do
		read -r a _ <"$f/schedstat" || continue
		if [ "${f##*/}" = "$1" ]; then m=$a; else o=$((o + a)); fi
	done
	echo "$m $o"
}

# paired LOAD FIRST SECOND: both recorders at once on one load; a row per build
paired() {
	local l=$1 b bd m1 m0 o1 o0 st ra rb a0 b0 a1 b1 n
	rec_start "$2" "$WORK/pa"; ra=$R
	rec_start "$3" "$WORK/pb"; rb=$R
	sleep 1
	[ "$WARM" = 0 ] || tls_load "$l" "$WARM" >/dev/null
	a0=($(threads "$ra")); b0=($(threads "$rb"))
	n=$(tls_load "$l" "$SECS"); sleep 0.5
	a1=($(threads "$ra")); b1=($(threads "$rb"))
	kill -INT "$ra" "$rb"; wait "$ra" "$rb"
	local p q=()
	for p in "${PIDS[@]}"; do [ "$p" = "$ra" ] || [ "$p" = "$rb" ] || q+=("$p"); done
	PIDS=("${q[@]}")
	[ "${n:-0}" -gt 0 ] || n=1
	for b in "$2:${a1[0]}:${a0[0]}:${a1[1]}:${a0[1]}:pa" "$3:${b1[0]}:${b0[0]}:${b1[1]}:${b0[1]}:pb"; do
		IFS=: read -r bd m1 m0 o1 o0 st <<<"$b"
		printf '| %s | %s | %s | %.1f us | %.1f us | %s | %s |\n' "$l" "$(name_of "$bd")" "$n" \
			"$(echo "($m1 - $m0) / 1000 / $n" | bc -l)" \
			"$(echo "($o1 - $o0) / 1000 / $n" | bc -l)" "$(load)" \
			"$("$bd/tools/ecap-ls" --json "$WORK/$st" 2>/dev/null | python3 -c 'import json, sys
j = json.load(sys.stdin); print("%s TLS sessions, %s secrets stored" % (j.get("tls_sessions"), j.get("secrets")))')"
	done
	rm -rf "$WORK/pa" "$WORK/pb"
}

name_of() { [ "$1" = "$BUILD" ] && echo "ecap-rec" || echo "ecap-rec (base)"; }

echo "## TLS sessions: recorder CPU side by side (tools/bench_tls_sessions.sh)"
echo
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) cores; load average at start $(cut -d' ' -f1-3 /proc/loadavg);" \
	"build $BUILD ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null))${BASE:+, base $BASE ($(git -C "$BASE/.." rev-parse --short HEAD 2>/dev/null))}; $SECS s per load$([ "$WARM" = 0 ] || echo " after $WARM s of it"), in turns."
echo
echo "| load | recorder | sessions | recorder CPU | per session | vs tcpdump | load avg | store |"
echo "|---|---|---|---|---|---|---|---|"
for r in $(seq "$RUNS"); do
	for l in $LOADS; do
		one tcpdump "" "$l"
		one "$(name_of "$BUILD")" "$BUILD" "$l"
		[ -n "$BASE" ] && one "$(name_of "$BASE")" "$BASE" "$l"
	done
done
if [ -n "$PAIRED" ]; then
	echo
	echo "Both builds recording the same load at once, each run in both orders (the first row of"
	echo "a pair was started first: the recorder started first has been seen to pay more), CPU per"
	echo "session of the main thread and of the other threads (the store's writer):"
	echo
	echo "| load | recorder | sessions | main thread | other threads | load avg | store |"
	echo "|---|---|---|---|---|---|---|"
	for r in $(seq "$RUNS"); do
		for l in $LOADS; do
			[ "$l" = stime4 ] && continue
			paired "$l" "$BUILD" "$BASE"
			paired "$l" "$BASE" "$BUILD"
		done
	done
fi
echo
echo "ecap-rec with no load of ours (the host's execs and TLS), CPU per second over 5 s:"
declare -A IDLE
for b in "$BUILD" ${BASE:+"$BASE"}; do
	rec_start "$b" "$WORK/idle"; sleep 1
	c0=$(cpu_ns "$R"); sleep 5; c1=$(cpu_ns "$R"); rec_stop; rm -rf "$WORK/idle"
	IDLE[$b]=$(((c1 - c0) / 5000))
	echo "- $(name_of "$b"): ${IDLE[$b]} us/s (load $(load))"
done
echo
echo "ecap-rec recording another port (tcp port $((PORT + 1))) while the s_time load runs outside its"
echo "filter (TLS the probes see and nothing records): CPU per second, per unrecorded session, and"
echo "the same less the idle rate above${BASE:+; both builds at once, in both orders of their start}:"
# outside BUILD...: the builds recording the other port at once under one s_time load
outside() {
	local b i rs=() c0=() c1=() n t0 t1 p q=()
	for b in "$@"; do rec_start "$b" "$WORK/out${#rs[@]}" $((PORT + 1)); rs+=("$R"); done
	sleep 1
	for i in "${!rs[@]}"; do c0[i]=$(cpu_ns "${rs[i]}"); done
	t0=$(date +%s%N); n=$(tls_load stime "$SECS"); sleep 0.5; t1=$(date +%s%N)
	for i in "${!rs[@]}"; do c1[i]=$(cpu_ns "${rs[i]}"); done
	kill -INT "${rs[@]}"; wait "${rs[@]}"
	for p in "${PIDS[@]}"; do [[ " ${rs[*]} " == *" $p "* ]] || q+=("$p"); done
	PIDS=("${q[@]}"); rm -rf "$WORK"/out?
	[ "${n:-0}" -gt 0 ] || n=1
	i=0
	for b in "$@"; do
		echo "- $(name_of "$b"): $(((c1[i] - c0[i]) * 1000000 / (t1 - t0))) us/s," \
			"$(((c1[i] - c0[i]) / n)) ns per unrecorded session," \
			"$((((c1[i] - c0[i]) - IDLE[$b] * (t1 - t0) / 1000000) / n)) ns less the idle rate" \
			"($n sessions in $(((t1 - t0) / 1000000)) ms; load $(load))"
		i=$((i + 1))
	done
}
if [ -n "$BASE" ]; then
	for r in $(seq "$RUNS"); do outside "$BUILD" "$BASE"; outside "$BASE" "$BUILD"; done
else
	outside "$BUILD"
fi
echo
echo "ecap-rec's CPU per exec record: 1000 \`unshare -m /bin/true\` in a row (each a new mount"
echo "namespace, so each exec of /bin/true there is recorded), and the same less the idle rate above:"
for b in "$BUILD" ${BASE:+"$BASE"}; do
	rec_start "$b" "$WORK/ex"; sleep 1
	c0=$(cpu_ns "$R"); t0=$(date +%s%N)
	for i in $(seq 1000); do unshare -m /bin/true; done
	sleep 0.5
	c1=$(cpu_ns "$R"); t1=$(date +%s%N); rec_stop; rm -rf "$WORK/ex"
	echo "- $(name_of "$b"): $(((c1 - c0) / 1000)) ns per exec," \
		"$((((c1 - c0) - IDLE[$b] * (t1 - t0) / 1000000) / 1000)) ns less the idle rate" \
		"($(((t1 - t0) / 1000000)) ms; load $(load))"
done
echo

# record -> queryable, as bench.sh's query_latency
rec_start "$BUILD" "$WORK/q"
"${NX[@]}" openssl s_time -connect "127.0.0.1:$PORT" -new -www / -time $((PROBES * 2 + 3)) \
	>/dev/null 2>&1 &
L=$!; PIDS+=("$L")
sleep 1
lat=()
for i in $(seq "$PROBES"); do
	"${NX[@]}" curl -sk -o /dev/null "https://127.0.0.1:$PORT/" </dev/null &
	cp=$!; wait "$cp"
	t0=${EPOCHREALTIME//[.,]/}
	until "$BUILD/export/ecap-export" -q --store "$WORK/q" --pid "$cp" -o "$WORK/q.pcapng" 2>/dev/null; do
		[ $((${EPOCHREALTIME//[.,]/} - t0)) -gt 10000000 ] && break
		sleep 0.02
	done
	lat+=($(((${EPOCHREALTIME//[.,]/} - t0) / 1000)))
	sleep 1
done
wait "$L"
rec_stop
echo "Record -> queryable under s_time (ms, from a curl's exit until ecap-export --pid finds it," \
	"polling every 20 ms): ${lat[*]} (load $(load); goal <= 1500)"
echo
echo "Store CPU per TLS session (bench_sessions, 20000 sessions at 200/s):"
echo
echo '```'
for p in 0 $PRELOAD; do
	for b in "$BUILD" ${BASE:+"$BASE"}; do
		[ "$p" != 0 ] && [ "$b" != "$BUILD" ] && continue
		echo "$(name_of "$b"), load $(load): $(nice -n 10 "$b/tools/bench_sessions" \
			--store "$WORK/bs" --sessions 20000 --preload "$p")"
	done
done
echo '```'
