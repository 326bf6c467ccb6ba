#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench_rec_rates.sh - ecap-rec's CPU per second at fixed TLS session rates, each thread apart,
# so that what it pays once a second whatever the load (commits, checkpoints, rescans, ticks)
# is told from what it pays per session (issue 17 part 1, the curl loop).
#
# One recorder per build records `tcp port P` on the loopback of a network namespace made for
# the run, where an `openssl s_server -www` answers. For each rate R of --rates, a pacer starts
# a curl every 1/R s for --secs seconds (each in the background, so a slow one does not lower
# the rate; with --netns-exec each through `ip netns exec`, a new mount namespace per curl as
# in bench_tls_sessions.sh's curl4 row), and the recorder's threads' run time
# (/proc/PID/task/TID/schedstat) is read before and after. Rate 0 is the recorder with no
# load of ours (what the host's own execs and TLS cost it). "stime" in --rates is an
# `openssl s_time -new` client at its own pace. A least-squares line over the curl rates gives
# the fixed part (us per second) and the part per session (us), for the whole recorder and
# for each thread. With --tcpdump, `tcpdump -w` of the same filter is measured the same way in
# turns, so that both parts stand beside what a capture that keeps no index and makes nothing
# durable pays (issue 17's goals count CPU per session against tcpdump's).
#
#   tools/bench_rec_rates.sh [--build DIR] [--base DIR] [--rates "0 10 50 stime"] [--secs S]
#                            [--runs N] [--netns-exec] [--tcpdump]
#
#   --build DIR    the meson build to measure (default: $ECAP_BUILD, else ./build)
#   --base DIR     a second build, measured the same way, in turns
#   --rates L      curl sessions per second, and "stime" (default "0 10 25 50 stime")
#   --secs S       seconds per rate (default 20: two of the 10 s rescans)
#   --runs N       times each rate is measured per build (default 1)
#   --netns-exec   each curl through `ip netns exec` (a new mount namespace per curl)
#   --tcpdump      also tcpdump -w of the same filter, in turns with the builds
#
# Needs root (live capture), openssl, curl, python3, and tcpdump with --tcpdump. The namespace
# (named after $BENCH_NAME, default ecap-rates-PID), every process started here (ended by pid)
# and the work directory are removed at the end. It prints a Markdown report.
set -u -o pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ECAP_BUILD:-$SRC/build} BASE='' RATES="0 10 25 50 stime" SECS=20 RUNS=1 NSEXEC=0 TCPDUMP=
usage() { sed -n '4,/^# removed at the end/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=${2:?}; shift ;;
	--base) BASE=${2:?}; shift ;;
	--rates) RATES=${2:?}; shift ;;
	--secs) SECS=${2:?}; shift ;;
	--runs) RUNS=${2:?}; shift ;;
	--netns-exec) NSEXEC=1 ;;
	--tcpdump) TCPDUMP=1 ;;
	-h|--help) usage 0 ;;
	*) echo "bench_rec_rates.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for r in $RATES; do
	[ "$r" = stime ] || [[ "$r" =~ ^[0-9]+$ && "$r" -le 1000 ]] ||
		{ echo "bench_rec_rates.sh: --rates: '$r' is neither a rate (0-1000) nor stime" >&2; exit 2; }
done
[[ "$SECS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_rec_rates.sh: --secs: '$SECS' is not a count of seconds" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench_rec_rates.sh: --runs: '$RUNS' is not a count" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench_rec_rates.sh: needs root (live capture)" >&2; exit 2; }
for t in openssl curl python3 ip nsenter ${TCPDUMP:+tcpdump}; do
	command -v "$t" >/dev/null || { echo "bench_rec_rates.sh: $t is not installed" >&2; exit 2; }
done
for b in "$BUILD" ${BASE:+"$BASE"}; do
	[ -x "$b/recorder/ecap-rec" ] ||
		{ echo "bench_rec_rates.sh: $b: build ecap-rec first" >&2; exit 2; }
done

NAME=${BENCH_NAME:-ecap-rates-$$}
# shellcheck source=tools/bench_tls_server.sh
. "$SRC/tools/bench_tls_server.sh"

# threads PID: "TID:NAME:RUN_NS" per thread: "main", a thread's own name (comm) where it set
# one, else "thread-K", K its place among the others by tid (the store's writer starts first)
threads() {
	local f a c k=0 main
	main=$(cat /proc/"$1"/comm)
	for f in $(ls -d /proc/"$1"/task/* | sort -t/ -k5 -n); do
		read -r a _ <"$f/schedstat" 2>/dev/null || continue
		if [ "${f##*/}" = "$1" ]; then
			c=main
		else
			k=$((k + 1)); c=$(tr ' ' _ <"$f/comm")
			[ "$c" = "$main" ] && c=thread-$k
		fi
		echo "${f##*/}:$c:$a"
	done
}

# wakeups PID: the main thread's voluntary context switches so far (each a return from a wait)
wakeups() { sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' /proc/"$1"/task/"$1"/status; }

# load RATE: SECS seconds of it in the namespace; prints the sessions completed
load() {
	if [ "$1" = stime ]; then
		"${NX[@]}" openssl s_time -connect "127.0.0.1:$PORT" -new -www / -time "$SECS" \
			2>/dev/null | sed -n 's/^\([0-9]*\) connections in [0-9.]* real.*/\1/p'
		return
	fi
	[ "$1" = 0 ] && { sleep "$SECS"; echo 0; return; }
	# the pacer: a curl every 1/RATE s on a fixed schedule, each in the background
	"${NX[@]}" python3 - "$1" "$SECS" "$PORT" "$NSEXEC" "$NS" <<'EOF'
import subprocess, sys, time
rate, secs, port, nsexec, ns = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1", sys.argv[5]
cmd = (["ip", "netns", "exec", ns] if nsexec else []) + \
      ["curl", "-sk", "-o", "/dev/null", "https://127.0.0.1:%s/" % port]
t0, procs = time.monotonic(), []
for i in range(rate * secs):
    d = t0 + i / rate - time.monotonic()
    if d > 0:
        time.sleep(d)
    procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL))
print(sum(1 for p in procs if p.wait() == 0))
EOF
}

# measure BUILD RATE: one row per thread kind and a total (BUILD "tcpdump": tcpdump -w)
measure() {
	local b=$1 r=$2 dir=$WORK/st n t0 t1 w0 w1 tid comm ns k
	declare -A c0=() c1=() name=() sum=()
	if [ "$b" = tcpdump ]; then tcpdump_start "$dir"; else rec_start "$b" "$dir"; fi
	sleep 2
	while IFS=: read -r tid comm ns; do c0[$tid]=$ns; name[$tid]=$comm; done < <(threads "$R")
	w0=$(wakeups "$R")
	t0=$(date +%s%N); n=$(load "$r"); sleep 0.5; t1=$(date +%s%N)
	while IFS=: read -r tid comm ns; do c1[$tid]=$ns; name[$tid]=$comm; done < <(threads "$R")
	w1=$(wakeups "$R")
	rec_stop
	rm -rf "$dir" "$dir.pcap"
	for tid in "${!c1[@]}"; do
		k=${name[$tid]}
		sum[$k]=$(( ${sum[$k]:-0} + c1[$tid] - ${c0[$tid]:-0} ))
		sum[all]=$(( ${sum[all]:-0} + c1[$tid] - ${c0[$tid]:-0} ))
	done
	local secs_ms=$(((t1 - t0) / 1000000)) per='' s
	for k in $(printf '%s\n' "${!sum[@]}" | sort); do
		per+="$k $((sum[$k] * 1000000 / (t1 - t0))) "
	done
	# row: build rate sessions wall_ms wakeups then "thread us_per_s" pairs
	echo "$b $r $n $secs_ms $((w1 - w0)) $per" >>"$WORK/rows"
	s=''
	for k in $(printf '%s\n' "${!sum[@]}" | sort); do s+="$k $((sum[$k] * 1000000 / (t1 - t0))) us/s; "; done
	echo "  $([ "$b" = tcpdump ] && echo tcpdump || basename "$(dirname "$b")") rate $r: $n sessions in $secs_ms ms; $s load $(cut -d' ' -f1 /proc/loadavg)" >&2
}

echo "## ecap-rec's CPU per second at fixed session rates (tools/bench_rec_rates.sh)"
echo
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) cores; load average at start $(cut -d' ' -f1-3 /proc/loadavg);" \
	"build $BUILD ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null))${BASE:+, base $BASE ($(git -C "$BASE/.." rev-parse --short HEAD 2>/dev/null))};" \
	"$SECS s per rate; curls $([ "$NSEXEC" = 1 ] && echo "each through ip netns exec" || echo "from one pacer in the namespace")."
echo
: >"$WORK/rows"
for _ in $(seq "$RUNS"); do
	for r in $RATES; do
		measure "$BUILD" "$r"
		[ -n "$BASE" ] && measure "$BASE" "$r"
		[ -n "$TCPDUMP" ] && measure tcpdump "$r"
	done
done
python3 - "$BUILD" "${BASE:-}" "$WORK/rows" "${TCPDUMP:+tcpdump}" <<'EOF'
import sys
build, base, rows, tcpdump = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def who(b):
    return "this" if b == build else "tcpdump" if b == "tcpdump" else "base"
data = []
for line in open(rows):
    f = line.split()
    b, rate, n, ms, wake = f[0], f[1], int(f[2]), int(f[3]), int(f[4])
    per = dict(zip(f[5::2], map(int, f[6::2])))
    per["wakeups"] = wake * 1000 // ms
    data.append((b, rate, n, ms, per))
kinds = sorted({k for d in data for k in d[4]} - {"all", "wakeups"}, key=lambda k: (k != "main", k)) + ["all"]
print("| build | load | sessions/s | main thread's wake-ups/s | " + " | ".join("%s us/s" % k for k in kinds) + " | all, us per session |")
print("|---|---|---|---|" + "---|" * len(kinds) + "---|")
for b, rate, n, ms, per in data:
    sps = n * 1000.0 / ms
    load = "s_time" if rate == "stime" else "%s curls/s" % rate
    pers = "%.1f" % (per.get("all", 0) / sps) if sps else "-"
    print("| %s | %s | %.1f | %d | %s | %s |" % (who(b), load, sps, per["wakeups"],
          " | ".join(str(per.get(k, 0)) for k in kinds), pers))
print()
print("Least squares over the curl rates (CPU per second = fixed + per session x sessions per second):")
print()
for b in [x for x in (build, base, tcpdump) if x]:
    pts = [(n * 1000.0 / ms, per) for bb, rate, n, ms, per in data if bb == b and rate != "stime"]
    if len({round(x, 3) for x, _ in pts}) < 2:
        print("- %s: fewer than two rates, no fit" % who(b))
        continue
    parts = []
    for k in kinds:
        xs = [x for x, _ in pts]; ys = [p.get(k, 0) for _, p in pts]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        a = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
        if b != "tcpdump" or k == "all":
            parts.append("%s %.0f us/s + %.1f us per session" % (k, my - a * mx, a))
    print("- %s: %s" % (who(b), "; ".join(parts)))
EOF
