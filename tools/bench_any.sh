#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench_any.sh - `ecap-rec -i any` (issue 15) on this machine, in three parts; prints one line
# per figure (BENCHMARKS.md section 9 quotes them).
#
# 1. CPU per Gbit/s. NV network namespaces, each with a veth pair to the host. iperf3 from
#    the host to a server in the first namespace (3 s at each rate), recorded in turn by
#    `ecap-rec -i any`, by `ecap-rec -i` of the NV host ends (TC, the per-interface way) and
#    by `tcpdump -i any -w FILE`; -i any also with -B 32M (its perf buffers are per CPU, each
#    of -B, and one flow's packets come on one CPU); then the three again with the filter "tcp port
#    5201" (iperf3's), which leaves the machine's other traffic out (in the kernel for ecap,
#    in tcpdump's socket filter). Bytes: the veth's own counters over the run. CPU: the
#    recorder's threads (/proc/PID/task/*/schedstat) over the run; its kernel programs'
#    time from the kernel's BPF statistics (kernel.bpf_stats_enabled, on for the run and put
#    back), which is paid by the senders. -i any also sees every other packet of the machine
#    (other users' tests): its idle CPU over as long a window with no load is given.
# 2. Per-namespace TC, roughly: what attaching in each new namespace costs in control plane
#    (ip netns exec, a clsact qdisc and two filters), for comparison with the tracepoints,
#    which attach once.
# 3. Churn: NC namespaces, each with a veth pair and traffic (2 datagrams over the veth, 1
#    over its lo, sent by one process that enters each namespace), made and deleted while
#    `ecap-rec -i any` records, twice. Figures: time, recorder CPU and RSS (sampled every
#    0.2 s), interfaces found, packets recorded against sent, drops, and the largest number
#    of interfaces (IDBs) one chunk holds.
#
#   ECAP_BUILD=$PWD/build ECAP_SRC=$PWD tools/bench_any.sh [NV [NC]]   (defaults 20, 500)
#   PREFIX=name sets the prefix of the namespaces and devices made (default eany).
#   PARTS="1 3" runs only those parts; TOOLS="any tc tcpdump" and RATES="1g" only those
#   recorders and rates of part 1 (rate "max": iperf3 unlimited), in that order, ROUNDS=N
#   times (for side-by-side runs of two builds).
set -euo pipefail
NV=${1:-20}
NC=${2:-500}
PX=${PREFIX:-eany}
. "$ECAP_SRC/tests/lib.sh"
REC="$ECAP_BUILD/recorder/ecap-rec"
need_root
need_cmd ip iperf3 tcpdump bpftool python3 tc
[ "$NV" -le 32 ] || fail "NV is at most 32 (ecap-rec -i takes 32 interfaces)"

STATS_WAS=$(cat /proc/sys/kernel/bpf_stats_enabled)
cleanup_cmd "echo $STATS_WAS >/proc/sys/kernel/bpf_stats_enabled"
line() { printf '%s\n' "$*"; }
cpu_ns() { # PID: ns its threads ran
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'
}
bpf_ns() { # PID: run time and runs of the BPF programs it holds (its fds' prog_id)
	local ids
	ids=$(cat /proc/"$1"/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:\s*//p' | sort -u | paste -sd,)
	bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
ids = set(int(i) for i in sys.argv[1].split(",") if i)
ps = [p for p in json.load(sys.stdin) if p["id"] in ids and p["name"].startswith("ecap_") and
      p["name"] not in ("ecap_set_state", "ecap_send", "ecap_recv")]
print(sum(p.get("run_time_ns", 0) for p in ps), sum(p.get("run_cnt", 0) for p in ps))' "$ids"
}
dev_bytes() { # DEV: rx + tx bytes
	echo $(($(cat /sys/class/net/"$1"/statistics/rx_bytes) +
		$(cat /sys/class/net/"$1"/statistics/tx_bytes)))
}

# ---- 1. CPU per Gbit/s ------------------------------------------------------------------------
HOSTS=()
for k in $(seq 1 "$NV"); do
	ns="$PX-v$k"
	cleanup_cmd "ip netns del $ns 2>/dev/null"
	ip netns add "$ns"
	ip link add "${PX}v${k}h" type veth peer name "${PX}v${k}n" netns "$ns"
	ip addr add "10.252.$k.1/30" dev "${PX}v${k}h"
	ip link set "${PX}v${k}h" up
	ip -n "$ns" addr add "10.252.$k.2/30" dev "${PX}v${k}n"
	ip -n "$ns" link set "${PX}v${k}n" up
	ip -n "$ns" link set lo up
	HOSTS+=("${PX}v${k}h")
done
ip netns exec "$PX-v1" iperf3 -s -B 10.252.1.2 >/dev/null 2>&1 &
cleanup_pid $!
sleep 0.5
IFLIST=$(printf -- '-i %s ' "${HOSTS[@]}")

# run TOOL RATE: one recorder, one iperf3 run; prints the figures
run() {
	local tool=$1 rate=$2 pid b0 b1 c0 c1 k0 k1 out="$T/$1.out" log="$T/$1.log" pk drops late=
	rm -rf "$T/s" "$out"
	case $tool in
	any) "$REC" -i any --store "$T/s" --no-tls 2>"$log" & ;;
	any-B32M) "$REC" -i any -B 32M --store "$T/s" --no-tls 2>"$log" & ;;
	tc) # shellcheck disable=SC2086
		"$REC" $IFLIST --store "$T/s" --no-tls 2>"$log" & ;;
	tcpdump) tcpdump -i any -n -w "$out" 2>"$log" & ;;
	any-f) "$REC" -i any --store "$T/s" --no-tls "tcp port 5201" 2>"$log" & ;;
	tc-f) # shellcheck disable=SC2086
		"$REC" $IFLIST --store "$T/s" --no-tls "tcp port 5201" 2>"$log" & ;;
	tcpdump-f) tcpdump -i any -n -w "$out" tcp port 5201 2>"$log" & ;;
	esac
	pid=$!
	cleanup_pid "$pid"
	sleep 2
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	b0=$(dev_bytes "${PX}v1h")
	c0=$(cpu_ns "$pid")
	read -r k0 n0 < <(bpf_ns "$pid")
	iperf3 -c 10.252.1.2 -t 3 ${rate:+-b $rate} >/dev/null 2>&1 || fail "iperf3 failed"
	sleep 0.5
	b1=$(dev_bytes "${PX}v1h")
	c1=$(cpu_ns "$pid")
	read -r k1 n1 < <(bpf_ns "$pid")
	echo "$STATS_WAS" >/proc/sys/kernel/bpf_stats_enabled
	if [ "${tool%-f}" = tcpdump ]; then kill -INT "$pid"; else kill -TERM "$pid"; fi
	wait "$pid" 2>/dev/null || true
	if [ "${tool%-f}" = tcpdump ]; then
		pk=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$log")
		drops=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$log")
		recorded="$(stat -c %s "$out") B"
	else
		pk=$(grep 'stopped:' "$log" | sed -n 's/.*stopped: \([0-9]*\) packets.*/\1/p')
		drops=$(grep 'stopped:' "$log" | sed -n 's/.*, \([0-9]*\) drops,.*/\1/p')
		recorded=$(grep 'stopped:' "$log" | sed -n 's/.* packets (\([^)]*\)).*/\1/p')
		# -i any: packets stored after a younger one (README, -i any: time order)
		late=$(grep 'stopped:' "$log" | sed -n 's/.*, \([0-9]*\) stored out of time order.*/\1/p')
	fi
	python3 - "$tool" "${rate:-unlimited}" "$((b1 - b0))" "$((c1 - c0))" "$((k1 - k0))" \
		"$((n1 - n0))" "${pk:-?}" "${drops:-?}" "${recorded:-0 B}" "${late:-0}" <<'PY'
import sys
tool, rate, b, c, k, n, pk, drops, rec, late = sys.argv[1:]
b, c, k, n = int(b), int(c), int(k), int(n)
num, unit = rec.split()
rec = float(num) * {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit]
gbit = b * 8 / 1e9 / 3.5
rgbit = rec * 8 / 1e9 / 3.5
print("cpu %-8s rate %-9s veth %7.1f MB  recorded %7.1f MB  recorder %.3f s = %.3f s per "
      "Gbit/s of the veth, %.3f s per Gbit/s recorded  kernel progs %.3f s in %d runs "
      "(%.2f us each)  packets %s drops %s%s" % (tool, rate, b / 1e6, rec / 1e6, c / 1e9,
      c / 1e9 / gbit if gbit else 0, c / 1e9 / rgbit if rgbit else 0, k / 1e9, n,
      k / 1e3 / n if n else 0, pk, drops,
      "" if tool.startswith("tcpdump") else " out of time order " + late))
PY
}

idle_any() {
	local pid c0 c1
	rm -rf "$T/s"
	"$REC" -i any --store "$T/s" --no-tls -q 2>"$T/idle.log" &
	pid=$!
	cleanup_pid "$pid"
	sleep 2
	c0=$(cpu_ns "$pid")
	sleep 3.5
	c1=$(cpu_ns "$pid")
	kill -TERM "$pid"
	wait "$pid" || true
	line "idle any: $(python3 -c "print('%.3f' % (($c1 - $c0) / 1e9))") s of recorder CPU in 3.5 s" \
		"with no load of ours (the machine's other traffic)"
}

PARTS=${PARTS:-1 2 3}
line "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ " $PARTS " == *" 1 "* ]]; then
	idle_any
	for _ in $(seq "${ROUNDS:-1}"); do
		for rate in ${RATES:-1g max}; do
			[ "$rate" = max ] && rate=
			for tool in ${TOOLS:-any any-B32M tc tcpdump any-f tc-f tcpdump-f}; do
				run "$tool" "$rate"
			done
		done
	done
fi

# ---- 2. per-namespace TC, control plane ---------------------------------------------------
if [[ " $PARTS " == *" 2 "* ]]; then
t0=$(date +%s%N)
for k in $(seq 1 "$NV"); do
	ip netns exec "$PX-v$k" tc qdisc add dev "${PX}v${k}n" clsact
	ip netns exec "$PX-v$k" tc filter add dev "${PX}v${k}n" ingress bpf bytecode "1,6 0 0 0,"
	ip netns exec "$PX-v$k" tc filter add dev "${PX}v${k}n" egress bpf bytecode "1,6 0 0 0,"
done
t1=$(date +%s%N)
for k in $(seq 1 "$NV"); do
	ip netns exec "$PX-v$k" tc qdisc del dev "${PX}v${k}n" clsact
done
line "per-namespace TC: $(python3 -c "print('%.1f' % (($t1 - $t0) / 1e6 / $NV))") ms per" \
	"namespace to enter it and attach a qdisc and two filters (tc commands, $NV namespaces)"
fi
for k in $(seq 1 "$NV"); do ip netns del "$PX-v$k"; done
[[ " $PARTS " == *" 3 "* ]] || exit 0

# ---- 3. churn ---------------------------------------------------------------------------------
cat >"$T/send.py" <<'PY'
# enter each namespace (setns) and send 2 datagrams over its veth, 1 over its lo
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
prefix, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for k in range(first, last + 1):
    fd = os.open("/run/netns/%s-c%d" % (prefix, k), os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:
        sys.exit("setns failed")
    os.close(fd)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(2):
        s.sendto(b"churn%d" % k, ("10.251.%d.%d" % (k // 64, (k % 64) * 4 + 1), 9))
    s.sendto(b"lo%d" % k, ("127.0.0.1", 9))
    s.close()
PY
mk_ns() { # K
	local k=$1 ns="$PX-c$1" a="10.251.$(($1 / 64))" o=$((($1 % 64) * 4))
	ip netns add "$ns"
	ip link add "${PX}c${k}h" type veth peer name "${PX}c${k}n" netns "$ns"
	ip addr add "$a.$((o + 1))/30" dev "${PX}c${k}h"
	ip link set "${PX}c${k}h" up
	ip -n "$ns" addr add "$a.$((o + 2))/30" dev "${PX}c${k}n"
	ip -n "$ns" link set "${PX}c${k}n" up
	ip -n "$ns" link set lo up
	ip -n "$ns" neigh add "$a.$((o + 1))" lladdr 02:00:00:00:00:01 dev "${PX}c${k}n"
}
rm -rf "$T/s"
"$REC" -i any --store "$T/s" --no-tls 2>"$T/churn.log" &
RP=$!
cleanup_pid "$RP"
grep -q "recording on" "$T/churn.log" 2>/dev/null || sleep 2
( while kill -0 "$RP" 2>/dev/null; do
	awk '/VmRSS/ {print $2}' /proc/"$RP"/status 2>/dev/null; sleep 0.2
done ) >"$T/rss" &
SAMPLER=$!
cleanup_pid "$SAMPLER"
c0=$(cpu_ns "$RP")
for round in 1 2; do
	first=$(((round - 1) * NC + 1))
	last=$((round * NC))
	t0=$(date +%s%N)
	for k in $(seq "$first" "$last"); do
		cleanup_cmd "ip netns del $PX-c$k 2>/dev/null"
		mk_ns "$k"
	done
	t1=$(date +%s%N)
	python3 "$T/send.py" "$PX" "$first" "$last"
	t2=$(date +%s%N)
	for k in $(seq "$first" "$last"); do ip netns del "$PX-c$k"; done
	t3=$(date +%s%N)
	line "churn round $round: made $NC namespaces with veth pairs in" \
		"$(((t1 - t0) / 1000000)) ms, sent in $(((t2 - t1) / 1000000)) ms, deleted in" \
		"$(((t3 - t2) / 1000000)) ms; recorder RSS now $(tail -1 "$T/rss") kB"
done
sleep 1.5
c1=$(cpu_ns "$RP")
kill -TERM "$RP"
wait "$RP" || true
kill "$SAMPLER" 2>/dev/null || true
line "churn recorder: $(python3 -c "print('%.2f' % (($c1 - $c0) / 1e9))") s CPU; RSS kB min/max/last" \
	"$(sort -n "$T/rss" | head -1)/$(sort -n "$T/rss" | tail -1)/$(tail -1 "$T/rss")"
line "churn recorder: $(grep 'stopped:' "$T/churn.log")"
"$ECAP_BUILD/export/ecap-export" --store "$T/s" -o "$T/churn.pcapng" -q
python3 - "$T/churn.pcapng" "$T/s" "$PX" "$NC" <<'PY'
import glob, re, struct, subprocess, sys
out, store, px, nc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
res = subprocess.run(["tshark", "-r", out, "-Y", "udp.dstport == 9 && !icmp", "-T", "fields",
                      "-e", "frame.interface_name", "-e", "udp.dstport"],
                     capture_output=True, text=True).stdout.split("\n")
veth = sum(1 for l in res if re.match(r"%sc\d+n@%s-c\d+\t9$" % (px, px), l))
lo = sum(1 for l in res if re.match(r"lo@%s-c\d+\t9$" % px, l))
names = set(l.split("\t")[0] for l in res if l)
print("churn packets: %d of %d veth datagrams, %d of %d lo datagrams recorded; %d interfaces "
      "in the export" % (veth, 4 * nc, lo, 2 * nc, len(names)))
# IDBs per pcapng section (chunk) in the segments
most = chunks = 0
for seg in sorted(glob.glob(store + "/seg-*.ecap")):
    raw = subprocess.run(["lz4", "-dc", seg], capture_output=True).stdout
    off, n = 0, 0
    while off + 8 <= len(raw):
        t, ln = struct.unpack_from("<II", raw, off)
        if ln < 12:
            break
        if t == 0x0A0D0D0A:
            most, n, chunks = max(most, n), 0, chunks + 1
        elif t == 1:
            n += 1
        off += ln
    most = max(most, n)
print("churn chunks: %d; the largest holds %d interfaces (IDBs)" % (chunks, most))
PY
line "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
