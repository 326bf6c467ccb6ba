#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench_nat.sh - what the conntrack reader (bpf/conntrack.bpf.c: NAT links and owners of
# packets sent through a veth by another namespace's socket) costs per packet. A container
# namespace sends iperf3 traffic through a router namespace that MASQUERADEs it to an outside
# namespace; ecap-rec records both of the router's veths, once as it is and once with
# ECAP_NO_CONNTRACK=1 (the reader left out), taking turns. Per run: the TC programs' time per
# packet from the kernel's BPF statistics (kernel.bpf_stats_enabled, switched on for the run
# and set back after; a tail-called program's time is counted in the program that called
# it; left on and as they are when something else has them on), and ecap-rec's CPU
# (user+sys) per packet. Medians of RUNS runs each way.
#
# With --any, ecap-rec -i any records instead (from the host's namespace: every device of
# every namespace) and the reader is -i any's (bpf/conntrack_any.bpf.c, tail-called on
# tp_btf/net_dev_queue of every device that sends a packet with a conntrack entry). Per
# run: the time per run of the egress tracepoint program (which includes the reader) and of
# both tracepoint programs, and ecap-rec's CPU per egress run. These programs run for every
# packet of the machine, other users' included: compare within a row pair.
#
#   tools/bench_nat.sh [--build DIR] [--runs N] [--seconds S] [--load tcp|udp64]
#                      [--prefix NAME] [--any] [--keep]
#
#   --runs N      runs each way (default 3); --seconds S of traffic per run (default 3)
#   --prefix      the namespaces' prefix (default ecap-nat; NAME-c-PID, NAME-h-PID, ...)
#   --load L      only this load (default both)
#
# Two loads: TCP at 500 Mbit/s and UDP of 64-byte datagrams at 20 Mbit/s. Prints a markdown
# table. Everything runs in the namespaces made here (nothing leaves them; ip_forward and the
# MASQUERADE rule are the router namespace's own); every process started here is ended by
# its pid, the namespaces are deleted at the end (tests/live/nat_net.sh makes them). Needs
# root, iperf3, bpftool and iptables or nft. Exit status: 0 every row produced, 1 a row
# missing, 2 usage, missing build or not root.
set -u -o pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ECAP_BUILD:-$SRC/build} RUNS=3 SECS=3 PREFIX=ecap-nat KEEP=0 LOADS="tcp udp64" ANY=0

usage() {
	sed -n '4,/not root\.$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=${2:?--build needs a directory}; shift ;;
	--runs) RUNS=${2:?--runs needs a number}; shift ;;
	--seconds) SECS=${2:?--seconds needs a number}; shift ;;
	--prefix) PREFIX=${2:?--prefix needs a name}; shift ;;
	--load) LOADS=${2:?--load needs tcp or udp64}; shift ;;
	--keep) KEEP=1 ;;
	--any) ANY=1 ;;
	-h|--help) usage 0 ;;
	*) echo "bench_nat.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

REC=$BUILD/recorder/ecap-rec
[ -x "$REC" ] || { echo "bench_nat.sh: $REC is missing: build first" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench_nat.sh: needs root" >&2; exit 2; }
for c in iperf3 bpftool ip python3; do
	command -v "$c" >/dev/null || { echo "bench_nat.sh: $c is not installed" >&2; exit 2; }
done

C="$PREFIX-c-$$" H="$PREFIX-h-$$" O="$PREFIX-o-$$"
W=$(mktemp -d "${TMPDIR:-/tmp}/$PREFIX.XXXXXX")
PIDS=()
STATS_ON=0 # 1 while this script has switched the kernel's BPF statistics on

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ "$STATS_ON" -eq 0 ] || sysctl -qw kernel.bpf_stats_enabled=0
	ip netns del "$C" 2>/dev/null
	ip netns del "$H" 2>/dev/null
	ip netns del "$O" 2>/dev/null
	[ "$KEEP" -eq 1 ] && echo "bench_nat.sh: work directory kept: $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# shellcheck source=tests/live/nat_net.sh
source "$SRC/tests/live/nat_net.sh"
nat_net_make "$C" "$H" "$O" 158 nat-br nat-up ||
	{ echo "bench_nat.sh: cannot make the namespaces or the MASQUERADE rule" >&2; exit 2; }

ip netns exec "$O" iperf3 -s -B 10.158.2.2 >"$W/iperf-server.log" 2>&1 &
PIDS+=($!)
sleep 0.5

# ticks PID: utime+stime of a process, in clock ticks
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run MODE LOAD: one recorder, one load; prints "ns_per_packet cpu_us_per_packet packets"
run() {
	local mode=$1 load=$2 env=() rpid t0 t1
	[ "$mode" = without ] && env=(ECAP_NO_CONNTRACK=1)
	rm -rf "$W/s"
	if [ "$ANY" -eq 1 ]; then
		env "${env[@]}" "$REC" -i any --store "$W/s" --no-tls 2>"$W/rec.log" &
	else
		ip netns exec "$H" env "${env[@]}" "$REC" -i nat-br -i nat-up --store "$W/s" \
			--no-tls 2>"$W/rec.log" &
	fi
	rpid=$!
	PIDS+=("$rpid")
	for _ in $(seq 100); do
		grep -q "recording on" "$W/rec.log" 2>/dev/null && break
		sleep 0.1
	done
	# on for the run, unless something else has them on already (then left as they are)
	if [ "$(sysctl -n kernel.bpf_stats_enabled)" = 0 ]; then
		sysctl -qw kernel.bpf_stats_enabled=1
		STATS_ON=1
	fi
	t0=$(ticks "$rpid")
	if [ "$load" = tcp ]; then
		ip netns exec "$C" iperf3 -c 10.158.2.2 -t "$SECS" -b 500M >/dev/null 2>&1
	else
		ip netns exec "$C" iperf3 -c 10.158.2.2 -t "$SECS" -u -l 64 -b 20M >/dev/null 2>&1
	fi
	sleep 0.3
	t1=$(ticks "$rpid")
	# the programs attached in the router namespace are this recorder's; -i any's are the
	# ones it holds (the prog_id of its fds)
	ip netns exec "$H" bpftool -j net show >"$W/net.json"
	bpftool -j prog show >"$W/progs.json"
	cat /proc/"$rpid"/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:\s*//p' | sort -u >"$W/held.txt"
	if [ "$STATS_ON" -eq 1 ]; then
		sysctl -qw kernel.bpf_stats_enabled=0
		STATS_ON=0
	fi
	kill -TERM "$rpid"
	wait "$rpid" 2>/dev/null
	python3 - "$W/net.json" "$W/progs.json" "$((t1 - t0))" "$(getconf CLK_TCK)" \
		"$W/held.txt" "$ANY" <<'PY'
import json, sys
net, progs = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ticks, hz = int(sys.argv[3]), int(sys.argv[4])
held, any_ = {int(l) for l in open(sys.argv[5]) if l.strip()}, sys.argv[6] == "1"
if any_:
    run = {p["name"]: p for p in progs if p.get("id") in held}
    eg, ing = run.get("ecap_any_egress", {}), run.get("ecap_any_ingress", {})
    cnt = eg.get("run_cnt", 0)
    both = cnt + ing.get("run_cnt", 0)
    if cnt:
        print("%.0f %.0f %.2f %d" % (eg.get("run_time_ns", 0) / cnt,
              (eg.get("run_time_ns", 0) + ing.get("run_time_ns", 0)) / both,
              ticks * 1e6 / hz / cnt, cnt))
    sys.exit(0)
ours = {t["id"] for n in net for t in n.get("tc", []) if t["name"].startswith("ecap_")}
ns = cnt = 0
for p in progs:
    if p.get("id") in ours:
        ns += p.get("run_time_ns", 0)
        cnt += p.get("run_cnt", 0)
if cnt:
    print("%.0f %.2f %d" % (ns / cnt, ticks * 1e6 / hz / cnt, cnt))
PY
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

if [ "$ANY" -eq 1 ]; then
	echo "| load | -i any reader | egress program time per run (ns) |" \
		"both programs per run (ns) | ecap-rec CPU per egress run (us) | egress runs |"
	echo "|---|---|---|---|---|---|"
else
	echo "| load | reader | TC program time per packet (ns) | ecap-rec CPU per packet (us) |" \
		"packets per run |"
	echo "|---|---|---|---|---|"
fi
missing=0
for load in $LOADS; do
	: >"$W/with.txt"
	: >"$W/without.txt"
	for r in $(seq "$RUNS"); do
		for mode in with without; do
			# every other run the other way first
			[ $((r % 2)) -eq 0 ] && mode=$([ "$mode" = with ] && echo without ||
				echo with)
			run "$mode" "$load" >>"$W/$mode.txt"
		done
	done
	for mode in without with; do
		if [ ! -s "$W/$mode.txt" ]; then
			missing=1
			continue
		fi
		name="UDP 64 B, 20 Mbit/s"
		[ "$load" = tcp ] && name="TCP 500 Mbit/s"
		printf '| %s | %s |' "$name" \
			"$([ "$mode" = with ] && echo on || echo "off (ECAP_NO_CONNTRACK=1)")"
		for col in $(seq "$(awk '{ print NF; exit }' "$W/$mode.txt")"); do
			printf ' %s |' "$(awk -v c="$col" '{ print $c }' "$W/$mode.txt" | median)"
		done
		echo
	done
done
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs each way, medians"
exit "$missing"
