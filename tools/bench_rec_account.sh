#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench_rec_account.sh - where ecap-rec's CPU goes under one of the TLS session loads, thread
# by thread, in counts that a busy host moves less than CPU time: for each thread its run time
# (/proc/PID/task/TID/schedstat), user and kernel time (stat's utime and stime, in clock
# ticks), page faults (minor and major) and context switches (voluntary: it slept, e.g. in
# epoll_wait or on the writer's condition variable; involuntary: preempted), per second and
# per session. With --strace, a second run of each load under `strace -c -f -p` (which slows
# every system call: read its counts, not its CPU) gives the system calls by kind, their
# counts and time in the kernel. The loads are bench_tls_sessions.sh's (stime, curl4,
# curl4-1ns) and "idle" (nothing of ours).
#
#   tools/bench_rec_account.sh [--build DIR] [--base DIR] [--loads "idle curl4 curl4-1ns"]
#                              [--secs S] [--runs N] [--warm W] [--strace]
#
#   --build DIR   the meson build to measure (default: $ECAP_BUILD, else ./build)
#   --base DIR    a second build, measured the same way, in turns
#   --loads L     of idle stime curl4 curl4-1ns stime4 (default "idle curl4 curl4-1ns")
#   --secs S      seconds per load (default 20: two of the recorder's 10 s rescans)
#   --runs N      times each load is measured per build (default 1)
#   --warm W      run each load W seconds before measuring it (default 0: from the recorder's
#                 first second, as bench_tls_sessions.sh does, tables filled for the first time)
#   --strace      also the system calls of each load (one more run each, under strace)
#
# Threads are named by the order of their start: "main" (the thread group leader: rings,
# pipeline, the group commit), "writer" (the first other thread: the store's chunk writer,
# which seals, writes and indexes each chunk), "other" (the rest: the container metadata
# worker). Needs root (live capture), openssl, curl, strace with --strace. The namespace (named
# after $BENCH_NAME, default ecap-acct-PID), every process started here (ended by pid) and the
# work directory are removed at the end. It prints a Markdown report.
set -u -o pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ECAP_BUILD:-$SRC/build} BASE='' LOADS="idle curl4 curl4-1ns" SECS=20 RUNS=1 WARM=0 STRACE=''
usage() { sed -n '4,/^# work directory are removed/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=${2:?}; shift ;;
	--base) BASE=${2:?}; shift ;;
	--loads) LOADS=${2:?}; shift ;;
	--secs) SECS=${2:?}; shift ;;
	--runs) RUNS=${2:?}; shift ;;
	--warm) WARM=${2:?}; shift ;;
	--strace) STRACE=1 ;;
	-h|--help) usage 0 ;;
	*) echo "bench_rec_account.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for l in $LOADS; do
	case "$l" in idle|stime|curl4|curl4-1ns|stime4) ;;
	*) echo "bench_rec_account.sh: unknown load '$l' (idle stime curl4 curl4-1ns stime4)" >&2; exit 2 ;;
	esac
done
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_rec_account.sh: --secs: '$SECS' is not a count of seconds" >&2; exit 2; }
[[ "$WARM" =~ ^[0-9]+$ ]] || { echo "bench_rec_account.sh: --warm: '$WARM' is not a count of seconds" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_rec_account.sh: --runs: '$RUNS' is not a count" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench_rec_account.sh: needs root (live capture)" >&2; exit 2; }
for t in openssl curl ip nsenter ${STRACE:+strace}; do
	command -v "$t" >/dev/null || { echo "bench_rec_account.sh: $t is not installed" >&2; exit 2; }
done
for b in "$BUILD" ${BASE:+"$BASE"}; do
	[ -x "$b/recorder/ecap-rec" ] || { echo "bench_rec_account.sh: $b: build ecap-rec first" >&2; exit 2; }
done

NAME=${BENCH_NAME:-ecap-acct-$$}
# shellcheck source=tools/bench_tls_server.sh
. "$SRC/tools/bench_tls_server.sh"
HZ=$(getconf CLK_TCK)

# snap PID: one line per thread, "role run_ns utime stime minflt majflt vcsw ivcsw"
snap() {
	local t role n=0 run ut st mi ma v iv f
	for t in $(ls /proc/"$1"/task | sort -n); do
		f=/proc/$1/task/$t
		if [ "$t" = "$1" ]; then role=main; elif [ $n = 0 ]; then role=writer; n=1; else role=other; fi
		read -r run _ <"$f/schedstat" 2>/dev/null || continue
		# stat: the fields after "(comm) ": minflt is the 8th, majflt the 10th, utime 12th
		read -r mi ma ut st <<<"$(sed 's/^.*) //' "$f/stat" | awk '{ print $8, $10, $12, $13 }')"
		v=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "$f/status")
		iv=$(awk '/^nonvoluntary_ctxt_switches/ { print $2 }' "$f/status")
		echo "$role $run $ut $st $mi $ma $v $iv"
	done
}

# report LOAD BUILD SESSIONS SECONDS BEFORE AFTER: a row per role
report() {
	python3 - "$@" <<'EOF'
import sys
load, build, n, secs, before, after, hz = sys.argv[1:8]
n, secs, hz = int(n), float(secs), int(hz)
def parse(path):
    d = {}
    for line in open(path):
        f = line.split()
        v = [int(x) for x in f[1:]]
        d[f[0]] = [a + b for a, b in zip(d.get(f[0], [0] * 7), v)]
    return d
b, a = parse(before), parse(after)
rows = []
tot = [0] * 7
for role in ("main", "writer", "other"):
    if role not in a:
        continue
    d = [x - y for x, y in zip(a[role], b.get(role, [0] * 7))]
    tot = [x + y for x, y in zip(tot, d)]
    rows.append((role, d))
rows.append(("all", tot))
for role, d in rows:
    run_us = d[0] / 1000
    tick_us = 1e6 / hz
    ut, st = d[1] * tick_us, d[2] * tick_us
    per = lambda x: ("%.1f" % (x / n)) if n else "-"
    share = ("%d%%" % round(100 * st / (ut + st))) if ut + st else "-"
    print("| %s | %s | %s | %.0f | %s | %s | %.1f | %s | %.1f | %s | %.1f | %s | %.1f |" % (
        load, build, role, run_us / secs, per(run_us), share,
        d[3] / secs, per(d[3]), d[4] / secs, per(d[5]), d[5] / secs, per(d[6]), d[6] / secs))
EOF
}

name_of() { [ "$1" = "$BUILD" ] && echo "this" || echo "base"; }

# measure BUILD LOAD: one run, a row per thread
measure() {
	local b=$1 l=$2 n t0 t1
	rec_start "$b" "$WORK/st"
	sleep 1
	[ "$WARM" = 0 ] || tls_load "$l" "$WARM" >/dev/null
	snap "$R" >"$WORK/before"; t0=$(date +%s%N)
	n=$(tls_load "$l" "$SECS"); sleep 0.5
	snap "$R" >"$WORK/after"; t1=$(date +%s%N)
	rec_stop; rm -rf "$WORK/st"
	report "$l ($n, load $(cut -d' ' -f1 /proc/loadavg))" "$(name_of "$b")" "${n:-0}" \
		"$(echo "($t1 - $t0) / 1000000000" | bc -l)" "$WORK/before" "$WORK/after" "$HZ"
}

# traced BUILD LOAD: the system calls of one run under strace -c -f
traced() {
	local b=$1 l=$2 n s
	rec_start "$b" "$WORK/st"
	sleep 1
	[ "$WARM" = 0 ] || tls_load "$l" "$WARM" >/dev/null
	strace -c -f -S calls -o "$WORK/strace" -p "$R" 2>/dev/null &
	s=$!
	sleep 0.5
	n=$(tls_load "$l" "$SECS"); sleep 0.5
	kill -INT "$s"; wait "$s"
	rec_stop; rm -rf "$WORK/st"
	echo
	echo "\`strace -c -f\`, $(name_of "$b"), $l: $n sessions in $SECS s (load $(cut -d' ' -f1 /proc/loadavg)):"
	echo
	echo '```'
	cat "$WORK/strace"
	echo '```'
}

echo "## ecap-rec's CPU by thread (tools/bench_rec_account.sh)"
echo
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) cores; load average at start $(cut -d' ' -f1-3 /proc/loadavg);" \
	"build $BUILD ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null))${BASE:+, base $BASE}; $SECS s per load" \
	"after $WARM s of it, in turns."
echo
echo "| load (sessions, load avg) | build | thread | us/s | us/session | kernel | minor faults/s | faults/session | major faults/s | voluntary cs/session | voluntary cs/s | involuntary cs/session | involuntary cs/s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$RUNS"); do
	for l in $LOADS; do
		measure "$BUILD" "$l"
		[ -n "$BASE" ] && measure "$BASE" "$l"
	done
done
if [ -n "$STRACE" ]; then
	for l in $LOADS; do
		traced "$BUILD" "$l"
		[ -n "$BASE" ] && traced "$BASE" "$l"
	done
fi
exit 0
