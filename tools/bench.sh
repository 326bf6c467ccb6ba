#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench.sh - ecap measured against tcpdump and tshark, side by side, in one run (issue 7):
#   1. ingest: ecap-rec --replay of a generated >= 1 GB pcap vs tcpdump -r -w copying it;
#   2. retrieval: ecap-export of one connection, one host, one 10 s window vs tcpdump -r -w FILTER
#      (editcap -A/-B for the window) and tshark -r -Y -w, packet counts cross-checked; the
#      one-connection query against stores of 3 sizes (2 with --quick);
#   3. live capture on lo at rising loads (iperf3, a curl/openssl TLS loop) vs tcpdump -i lo -w;
#   4. storage against the pcap, gzip -1 and zstd -1;  5. recorder peak memory;
#   6. the store append benchmark (bench_store) and the store's cost per TLS session
#      (bench_sessions);  7. (full runs only) what the TLS probes cost a process per handshake
#      and per write for each TLS library, and ecap-rec per session (tools/bench_tls_libs.sh);
#      10. (full runs only) a long-lived sparse flow and a dense one from stores of 250 MB, 1 GB
#      and 4 GB (tools/bench_sparse.sh).
# It writes BENCHMARKS.md at the repository root (medians of 3 runs). tools/bench_report.py does
# the timing (wait4) and writes the table.
#
#   tools/bench.sh [--quick | --long] [--build DIR] [--out FILE] [--tmp DIR] [--keep]
#
#   --quick     small inputs (20 MB), one run each, short live loads; writes the table to a
#               temporary file (or --out) and exits 1 when any row was not produced. Timings
#               are never judged. This is the CI smoke test (meson test --suite bench).
#   --long      also measure the store's cost per TLS session after 1,000,000 sessions
#               (bench_sessions --preload 1000000: about 8 GB of segments and several more
#               minutes); never in CI
#   --build DIR the meson build directory (default: $ECAP_BUILD, else ./build)
#   --out FILE  where the table goes (default: BENCHMARKS.md at the repository root, or a
#               temporary file with --quick)
#   --tmp DIR   where the work files go (default: $TMPDIR or /tmp); several GB in a full run
#   --keep      keep the work directory
#
# Live loads run on the loopback of a network namespace made for the run (so the kernel's
# counters count the load alone); nothing leaves loopback. Every process started here is
# ended by its pid; the work directory (the large inputs and stores) and the namespace are
# deleted at the end. Exit status: 0 all rows
# produced, 1 a row missing or a command failed, 2 usage or missing build.
set -u -o pipefail

# meson test sets MALLOC_PERTURB_, which makes glibc write every allocation: preallocated,
# mostly untouched tables would all become resident and the memory figures would be wrong.
unset MALLOC_PERTURB_ MALLOC_CHECK_
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0 LONG='' KEEP=0 BUILD=${ECAP_BUILD:-$SRC/build} OUT='' TMPBASE=${TMPDIR:-/tmp}

usage() {
	sed -n '4,/^# produced, 1/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--long) LONG=1 ;;
	--keep) KEEP=1 ;;
	--build) BUILD=${2:?--build needs a directory}; shift ;;
	--out) OUT=${2:?--out needs a file}; shift ;;
	--tmp) TMPBASE=${2:?--tmp needs a directory}; shift ;;
	-h|--help) usage 0 ;;
	*) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

REC=$BUILD/recorder/ecap-rec EXP=$BUILD/export/ecap-export LS=$BUILD/tools/ecap-ls
GEN=$BUILD/tools/gen_traffic BSTORE=$BUILD/tools/bench_store BSESS=$BUILD/tools/bench_sessions
PY="python3 $SRC/tools/bench_report.py"
for b in "$REC" "$EXP" "$LS" "$GEN" "$BSTORE" "$BSESS"; do
	[ -x "$b" ] || { echo "bench.sh: $b is missing: build first (ninja -C $BUILD)" >&2; exit 2; }
done
for t in python3 tcpdump tshark editcap gzip zstd; do
	command -v "$t" >/dev/null || { echo "bench.sh: $t is not installed" >&2; exit 2; }
done

if [ "$QUICK" = 1 ]; then
	# two store sizes, not three: a smoke run needs the smallest and the largest for the
	# growth and sparse rows (their ratio is the figure); the full run keeps three
	SIZES="5000000 20000000" RUNS=1 TSHARK_RUNS=1 PPS=2000 FLOWS=300
	LIVE_SECS=1 WARM_SECS=1 LIVE_RUNS=1 LONG_SECS=3 LONG_SAMPLE=1 BS_BYTES=20000000
	SESS_N=2000 SESS_PRELOADS=0 SPARSE_S=0.5 QUERY_PROBES=2
	LOADS="tcp-1g tls-1 stime-1"
else
	SIZES="268435456 536870912 1073741824" RUNS=3 TSHARK_RUNS=1 PPS=20000 FLOWS=3000
	LIVE_SECS=3 WARM_SECS=1 LIVE_RUNS=3 LONG_SECS=40 LONG_SAMPLE=5 BS_BYTES=
	SESS_N=20000 SESS_PRELOADS="0 200000${LONG:+ 1000000}" SPARSE_S=0.5 QUERY_PROBES=5
	LOADS="tcp-100m tcp-1g tcp-10g tcp-max udp64-20m udp64-100m tls-1 tls-4 stime-1"
fi
START_EPOCH=1764140400 SEED=7
BIG=${SIZES##* } SMALL=${SIZES%% *}

WORK=$(mktemp -d "$TMPBASE/ecap-bench.XXXXXX") || exit 2
[ -n "$OUT" ] || { [ "$QUICK" = 1 ] && OUT=$WORK.md || OUT=$SRC/BENCHMARKS.md; }
RUNSF=$WORK/runs.jsonl FACTS=$WORK/facts.tsv LOG=$WORK/log
T0=$(date +%s) BENCH=bench
# shellcheck source=tools/bench_lib.sh
. "$SRC/tools/bench_lib.sh"
# m LABEL CMD...: one timed run; the command's output goes to the log.
m() { local l=$1; shift; $PY measure "$RUNSF" "$l" -- "$@" >>"$LOG" 2>&1; }
count() { $PY count "$1"; }

# ---------------------------------------------------------------- the machine
fact date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
fact runs "$RUNS"
fact tmpdir "$TMPBASE"
fact tmpfs "$(df -T "$TMPBASE" | awk 'NR == 2 { print $1 " (" $2 ")" }')"
fact nproc "$(nproc)"
fact os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
fact loadavg.start "$(cut -d' ' -f1-3 /proc/loadavg)"
fact commit "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
	[ -n "$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null)" ] &&
	echo ' with uncommitted changes')"
fact build "$BUILD ($(python3 -c 'import json,sys
for o in json.load(open(sys.argv[1])):
    if o["name"] == "buildtype": print(o["value"])' "$BUILD/meson-info/intro-buildoptions.json" \
	2>/dev/null || echo 'buildtype unknown'))"
fact versions "$(tcpdump --version 2>&1 | head -1); $(tshark -v 2>/dev/null | head -1 |
	cut -d' ' -f1-3); $(iperf3 --version 2>/dev/null | head -1 | cut -d' ' -f1-2); $(
	openssl version 2>/dev/null | cut -d' ' -f1-2); $(gzip --version | head -1); $(
	zstd --version | sed 's/^\*\*\* //; s/, by.*//')"

# ---------------------------------------------------------------- inputs
# Same seed for every size: the smaller inputs are prefixes of the larger ones.
for s in $SIZES; do
	say "generating a $s-byte pcap"
	"$GEN" -o "$WORK/in-$s.pcap" --bytes "$s" --flows-active "$FLOWS" --seed "$SEED" \
		--pps "$PPS" --start "$START_EPOCH" --sparse-every "$SPARSE_S" \
		2>"$WORK/gen-$s.err" ||
		{ cat "$WORK/gen-$s.err" >&2; exit 1; }
done
BIGF=$WORK/in-$BIG.pcap
read -r gen_packets gen_conns < <(sed -n \
	's/^gen_traffic: \([0-9]*\) packets, .* bytes, \([0-9]*\) connections.*/\1 \2/p' \
	"$WORK/gen-$BIG.err")
fact ingest.bytes "$(stat -c %s "$BIGF")"
fact ingest.packets "${gen_packets:-$(count "$BIGF")}"
fact ingest.connections "${gen_conns:-?}"

# ---------------------------------------------------------------- 1. ingest
for i in $(seq "$RUNS"); do
	say "ingest run $i/$RUNS"
	rm -rf "$WORK/store" "$WORK/copy.pcap"; sync
	m ingest.ecap "$REC" --replay "$BIGF" --store "$WORK/store" -q
	rm -f "$WORK/copy.pcap"; sync
	m ingest.tcpdump tcpdump -r "$BIGF" -w "$WORK/copy.pcap"
	# For information: the copy made durable, as ecap's store is (fsync of the output).
	rm -f "$WORK/copy.pcap"; sync
	m ingest.tcpdump_sync bash -c 'tcpdump -r "$1" -w "$2" && sync "$2"' _ "$BIGF" \
		"$WORK/copy.pcap"
done
rm -f "$WORK/copy.pcap"
ST=$WORK/store
"$LS" --json "$ST" >"$WORK/ls.json" 2>>"$LOG" &&
	fact ingest.flows "$($PY json "$WORK/ls.json" flows)"

# ---------------------------------------------------------------- 2. retrieval
read -r CA CP SA SP TM < <($PY pick "$BIGF")
W0=$TM W1=$((TM + 10))
declare -A E_ARGS T_CMD S_FLT
E_ARGS[tuple]="--tuple $CA:$CP-$SA:$SP"
T_CMD[tuple]="tcp and host $CA and host $SA and port $CP and port $SP"
S_FLT[tuple]="ip.addr==$CA && ip.addr==$SA && tcp.port==$CP && tcp.port==$SP"
E_ARGS[client]="--host $CA"; T_CMD[client]="host $CA"; S_FLT[client]="ip.addr==$CA"
E_ARGS[server]="--host $SA"; T_CMD[server]="host $SA"; S_FLT[server]="ip.addr==$SA"
E_ARGS[window]="--since @$W0 --until @$((W1 - 1)).999999999"
# the long-lived sparse flow that gen_traffic adds (--sparse-every): a packet every SPARSE_S s
E_ARGS[sparse]="--tuple 10.4.0.1:40022-10.4.0.2:22"
T_CMD[sparse]="tcp and host 10.4.0.1 and host 10.4.0.2 and port 40022 and port 22"
S_FLT[window]="frame.time_epoch >= $W0 && frame.time_epoch < $W1"

retrieve() { # QUERY LABEL-PREFIX STORE PCAP [RUNS] : ecap-export and tcpdump (or editcap)
	local q=$1 p=$2 st=$3 pcap=$4 n=${5:-$RUNS} i
	for i in $(seq "$n"); do
		rm -f "$WORK/q.pcapng" "$WORK/q.pcap"
		# shellcheck disable=SC2086
		m "$p.ecap" "$EXP" -q --store "$st" ${E_ARGS[$q]} -o "$WORK/q.pcapng"
		if [ "$q" = window ]; then
			m "$p.tcpdump" editcap -F pcap -A "$W0" -B "$W1" "$pcap" "$WORK/q.pcap"
		else
			m "$p.tcpdump" tcpdump -r "$pcap" -w "$WORK/q.pcap" "${T_CMD[$q]}"
		fi
	done
	fact "$p.n_ecap" "$(count "$WORK/q.pcapng")"
	fact "$p.n_tcpdump" "$(count "$WORK/q.pcap")"
}

for q in tuple client server window; do
	say "retrieval: $q"
	fact "ret.$q.spec" "ecap-export ${E_ARGS[$q]}"
	retrieve "$q" "ret.$q" "$ST" "$BIGF"
	# tshark dissects every packet (~17 s per pass over 1 GB here): three passes per query
	# in a full run (about 3.5 of its 10 minutes), one in --quick.
	for i in $(seq "$TSHARK_RUNS"); do
		rm -f "$WORK/s.pcapng"
		m "ret.$q.tshark" tshark -r "$BIGF" -Y "${S_FLT[$q]}" -w "$WORK/s.pcapng"
	done
	fact "ret.$q.n_tshark" "$(count "$WORK/s.pcapng")"
done

say "retrieval: one connection, cold page cache"
for i in $(seq "$RUNS"); do
	$PY evict "$ST" "$BIGF"
	m cold.ecap "$EXP" -q --store "$ST" ${E_ARGS[tuple]} -o "$WORK/q.pcapng"
	$PY evict "$ST" "$BIGF"
	m cold.tcpdump tcpdump -r "$BIGF" -w "$WORK/q.pcap" "${T_CMD[tuple]}"
done

# The same connection against stores of each size (the smallest input's middle).
read -r CA CP SA SP TM < <($PY pick "$WORK/in-$SMALL.pcap")
E_ARGS[tuple]="--tuple $CA:$CP-$SA:$SP"
T_CMD[tuple]="tcp and host $CA and host $SA and port $CP and port $SP"
fact grow.spec "${E_ARGS[tuple]}"
fact grow.sizes "$SIZES"
fact sparse.spec "${E_ARGS[sparse]}"
fact sparse.every "$SPARSE_S"
for s in $SIZES; do
	say "growth: store of $s bytes of input"
	gs=$WORK/store-$s
	rm -rf "$gs"; sync
	m "grow.$s.replay" "$REC" --replay "$WORK/in-$s.pcap" --store "$gs" -q
	fact "grow.$s.store_bytes" "$(du -sb "$gs" | cut -f1)"
	retrieve tuple "grow.$s" "$gs" "$WORK/in-$s.pcap"
	say "sparse flow: store of $s bytes of input"
	retrieve sparse "sparse.$s" "$gs" "$WORK/in-$s.pcap"
	"$LS" --json "$gs" >"$WORK/ls-$s.json" 2>>"$LOG" &&
		fact "sparse.$s.chunks" "$($PY json "$WORK/ls-$s.json" chunks)"
	[ "$s" = "$BIG" ] || rm -rf "$gs"
done
rm -rf "$WORK/store-$BIG"

# ---------------------------------------------------------------- 4. storage
say "storage"
fact storage.pcap "$(stat -c %s "$BIGF")"
fact storage.store "$(du -sb "$ST" | cut -f1)"
fact storage.segments "$(cat "$ST"/*.ecap 2>/dev/null | wc -c)"
fact storage.index "$(cat "$ST"/index.db* 2>/dev/null | wc -c)"
m storage.gzip bash -c 'gzip -1 -c "$1" | wc -c >"$2"' _ "$BIGF" "$WORK/gz.size"
fact storage.gzip "$(cat "$WORK/gz.size")"
m storage.zstd bash -c 'zstd -q -1 -c "$1" | wc -c >"$2"' _ "$BIGF" "$WORK/zst.size"
fact storage.zstd "$(cat "$WORK/zst.size")"
rm -rf "$ST" "$WORK"/in-*.pcap "$WORK"/q.* "$WORK"/s.pcapng

# ---------------------------------------------------------------- 6. bench_store
say "store append benchmark"
# shellcheck disable=SC2086
if "$BSTORE" --store "$WORK/bs" ${BS_BYTES:+--bytes $BS_BYTES} >"$WORK/bs.out" 2>>"$LOG"; then
	# The report parses the lines (one per mode and packet size).
	fact bs.raw "$(paste -sd'|' "$WORK/bs.out" | sed 's/|/ || /g')"
fi
rm -rf "$WORK/bs"
say "store cost per TLS session"
for pre in $SESS_PRELOADS; do
	if "$BSESS" --store "$WORK/bss" --sessions "$SESS_N" --preload "$pre" >>"$WORK/bss.out" \
		2>>"$LOG"; then
		fact bss.raw "$(paste -sd'|' "$WORK/bss.out" | sed 's/|/ || /g')"
	fi
done
rm -rf "$WORK/bss"

# ---------------------------------------------------------------- 3. live capture
# Every live load runs on the loopback of a network namespace made for the bench, so that the
# kernel's counters (lo tx_packets / tx_bytes) count the load and nothing else on the machine.
# NX runs a command in it ("ip netns exec" execs, so $! is the command's own pid).
NX=()

# start_rec TOOL DIR: starts a recorder on lo; sets RPID, returns non-zero (with the reason in
# $WHY) when it did not come up.
start_rec() {
	local tool=$1 dir=$2 i
	rm -rf "$dir" "$dir.pcap"; : >"$WORK/rec.err"
	if [ "$tool" = ecap ]; then
		"${NX[@]}" "$REC" -i lo --store "$dir" >/dev/null 2>"$WORK/rec.err" </dev/null &
	else
		"${NX[@]}" tcpdump -i lo -w "$dir.pcap" >/dev/null 2>"$WORK/rec.err" </dev/null &
	fi
	RPID=$!; PIDS+=("$RPID")
	for i in $(seq 300); do
		grep -qE 'recording on|listening on' "$WORK/rec.err" && return 0
		if ! kill -0 "$RPID" 2>/dev/null; then
			wait "$RPID"; WHY="$tool -i lo exited $?: $(tail -1 "$WORK/rec.err")"
			mapfile -t PIDS < <(forget "$RPID"); return 1
		fi
		sleep 0.05
	done
	WHY="$tool -i lo not ready after 15 s: $(tail -1 "$WORK/rec.err")"
	stop_pid "$RPID" KILL; return 1
}

now_us() { echo "${EPOCHREALTIME//[.,]/}"; }

# run_load LOAD FROM_US UNTIL_US: generates the named load on loopback until the time UNTIL_US
# (microseconds since the epoch) and waits for it; each client of a TLS loop writes to
# $WORK/tls-K.n the requests it completed after FROM_US, and in all.
run_load() {
	local load=$1 from=$2 until=$3 k pids=() p
	case "$load" in
	tcp-*|udp64-*)
		local r=${load#*-} rate extra=() secs=$(((until - $(now_us) + 999999) / 1000000))
		case "$r" in max) rate=0 ;; *m) rate=${r%m}M ;; *g) rate=${r%g}G ;; esac
		[ "${load%%-*}" = udp64 ] && extra=(-u -l 64)
		"${NX[@]}" iperf3 -c 127.0.0.1 -p "$IPORT" -t "$secs" -b "$rate" "${extra[@]}" \
			>>"$LOG" 2>&1 </dev/null ;;
	tls-*)
		for k in $(seq "${load#tls-}"); do
			"${NX[@]}" bash -c 'n=0 all=0 t=0
				while [ "$t" -lt "$3" ]; do
					curl -sk -o /dev/null "https://127.0.0.1:$1/"; ok=$?
					t=${EPOCHREALTIME//[.,]/}
					[ $ok = 0 ] || continue
					all=$((all + 1)); [ "$t" -ge "$2" ] && n=$((n + 1))
				done; echo $n $all' _ "$TPORT" "$from" "$until" >"$WORK/tls-$k.n" \
				2>/dev/null </dev/null &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p"; done ;;
	stime-*) # openssl s_time -new: full handshakes back to back, as a new user would try
		for k in $(seq "${load#stime-}"); do
			"${NX[@]}" bash -c 'st() { openssl s_time -connect "127.0.0.1:$1" -new \
					-www / -time "$2" 2>/dev/null | sed -n \
					"s/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p"; }
				now() { echo "${EPOCHREALTIME//[.,]/}"; }
				# s_time counts whole runs of whole seconds: the warm-up runs for
				# the whole seconds left before FROM, then the measured run from
				# FROM for the seconds up to UNTIL
				w=$((($2 - $(now)) / 1000000)) a=0 d
				[ "$w" -gt 0 ] && a=$(st "$1" "$w")
				d=$(($2 - $(now)))
				[ "$d" -gt 0 ] && sleep "$(printf "%d.%06d" $((d / 1000000)) \
					$((d % 1000000)))"
				n=$(st "$1" $((($3 - $2) / 1000000)))
				echo "${n:-0} $((${a:-0} + ${n:-0}))"' _ "$TPORT" "$from" "$until" \
				>"$WORK/tls-$k.n" 2>/dev/null </dev/null &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p"; done ;;
	esac
}

# query_latency: how long after a connection's last packet `ecap-export --pid` finds it,
# while an s_time load runs (the figure of issue 17's third goal). One probe: a curl whose pid
# is known, then ecap-export --pid every 20 ms until it exports packets. The figure includes
# the last run of ecap-export itself (start, store open, query: tens of ms on an idle VM).
query_latency() {
	local dir=$WORK/live-q i t0 t1 cp lp lat=()
	if ! start_rec ecap "$dir"; then fact query.status "$WHY"; return; fi
	local until=$(($(now_us) + (QUERY_PROBES * 3 + 2) * 1000000))
	run_load stime-1 "$(now_us)" "$until" &
	lp=$!; PIDS+=("$lp")
	sleep 1
	for i in $(seq "$QUERY_PROBES"); do
		"${NX[@]}" curl -sk -o /dev/null "https://127.0.0.1:$TPORT/" </dev/null &
		cp=$!
		wait "$cp"
		t0=$(now_us)
		# ecap-export exits 0 once it exported packets, 1 while nothing matches
		until "$EXP" -q --store "$dir" --pid "$cp" -o "$WORK/lq.pcapng" 2>/dev/null; do
			[ $(($(now_us) - t0)) -gt 10000000 ] && break
			sleep 0.02
		done
		t1=$(now_us)
		lat+=("$(((t1 - t0) / 1000))")
		sleep 1
	done
	wait "$lp"; mapfile -t PIDS < <(forget "$lp")
	stop_pid "$RPID" INT
	rm -rf "$dir" "$WORK/lq.pcapng"
	fact query.ms "${lat[*]}"
}

# sleep_until US: sleeps until the time US (microseconds since the epoch).
sleep_until() {
	local d=$(($1 - $(now_us)))
	[ "$d" -gt 0 ] && sleep "$(printf '%d.%06d' $((d / 1000000)) $((d % 1000000)))"
}

live_one() { # LOAD TOOL
	local load=$1 tool=$2 p="live.$1.$2" dir=$WORK/live-$2 a b a2 b2 c0 c1 hwm n by
	if ! start_rec "$tool" "$dir"; then fact "$p.status" "$WHY"; return; fi
	read -r a b < <("${NX[@]}" $PY lostat)
	# CPU is measured after WARM_SECS of the same load: the recorder's first touches of its
	# tables and buffers are start-up costs, not costs per byte.
	rm -f "$WORK"/tls-*.n
	local from=$(($(now_us) + WARM_SECS * 1000000)) lp wb
	run_load "$load" "$from" $((from + LIVE_SECS * 1000000)) &
	lp=$!
	PIDS+=("$lp")
	sleep_until "$from"
	read -r _ wb < <("${NX[@]}" $PY lostat)
	read -r c0 _ < <($PY procstat "$RPID")
	wait "$lp"
	mapfile -t PIDS < <(forget "$lp")
	TLS_REQS= TLS_ALL=
	case "$load" in
	tls-*|stime-*) read -r TLS_REQS TLS_ALL < <(cat "$WORK"/tls-*.n |
			awk '{ n += $1; a += $2 } END { print n + 0, a + 0 }') ;;
	esac
	sleep 0.5
	if ! kill -0 "$RPID" 2>/dev/null; then
		wait "$RPID"; local st=$?
		mapfile -t PIDS < <(forget "$RPID")
		cp "$WORK/rec.err" "$WORK/died-$load-$tool.err"
		fact "$p.status" "$tool exited during the load (status $st): $(tail -1 "$WORK/rec.err")"
		say "live: $tool exited during $load (status $st); its stderr is in the log"
		cat "$WORK/rec.err" >>"$LOG"
		rm -rf "$dir" "$dir.pcap"
		return
	fi
	read -r c1 hwm _ < <($PY procstat "$RPID")
	read -r a2 b2 < <("${NX[@]}" $PY lostat)
	stop_pid "$RPID" INT
	fact "$p.sent" $((a2 - a)); fact "$p.bytes" $((b2 - b)); fact "$p.window_bytes" $((b2 - wb))
	fact "$p.cpu" "$(awk -v a="$c1" -v b="$c0" 'BEGIN { printf "%.4f", a - b }')"
	fact "$p.hwm" "$hwm"
	[ -n "$TLS_REQS" ] && fact "$p.requests" "$TLS_REQS"
	if [ "$tool" = ecap ]; then
		if "$LS" --json "$dir" >"$WORK/live.json" 2>>"$LOG"; then
			fact "$p.captured" "$($PY json "$WORK/live.json" packets)"
			fact "$p.captured_bytes" "$($PY json "$WORK/live.json" matching.bytes)"
			fact "$p.drops" "$($PY json "$WORK/live.json" drops)"
			[ -n "$TLS_REQS" ] && fact "live.$load.extra" "$TLS_ALL requests under ecap \
($TLS_REQS after the warm-up), \
which recorded $($PY json "$WORK/live.json" tls_sessions) TLS sessions and \
$($PY json "$WORK/live.json" secrets) secrets"
		else
			fact "$p.status" "ecap-ls could not read the live store: $(tail -1 "$LOG")"
		fi
	else
		read -r n by < <($PY count "$dir.pcap" bytes)
		fact "$p.captured" "$n"; fact "$p.captured_bytes" "$by"
		fact "$p.drops" "$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' \
			"$WORK/rec.err")"
	fi
	rm -rf "$dir" "$dir.pcap"
}

describe_load() {
	case "$1" in
	tcp-max) echo "iperf3 TCP, unlimited rate, ${LIVE_SECS} s (after ${WARM_SECS} s of warm-up)" ;;
	tcp-*) echo "iperf3 TCP -b ${1#tcp-}, ${LIVE_SECS} s (after ${WARM_SECS} s of warm-up)" ;;
	udp64-*) echo "iperf3 UDP 64-byte datagrams -b ${1#udp64-}, ${LIVE_SECS} s (after ${WARM_SECS} s of warm-up)" ;;
	tls-*) echo "TLS request loop: ${1#tls-} curl client(s) vs openssl s_server, ${LIVE_SECS} s (after ${WARM_SECS} s of warm-up)" ;;
	stime-*) echo "openssl s_time -new -www / (${1#stime-} client, full handshakes) vs" \
		"openssl s_server, ${LIVE_SECS} s (after ${WARM_SECS} s of warm-up)" ;;
	esac
}

fact live.loads "$LOADS"
for l in $LOADS; do fact "live.$l.desc" "$(describe_load "$l")"; done
fact mem.live.desc "iperf3 TCP -b 200M for $LONG_SECS s"
FIRST_AT=$((LONG_SECS / 4 > LONG_SAMPLE ? LONG_SECS / 4 : LONG_SAMPLE))
fact mem.live.first_at "$FIRST_AT"
live_why=
[ "$(id -u)" = 0 ] || live_why="needs root (CAP_BPF, CAP_NET_ADMIN); not run"
for t in ip iperf3 openssl curl; do
	[ -n "$live_why" ] || command -v "$t" >/dev/null || live_why="$t is not installed; not run"
done
if [ -z "$live_why" ]; then
	NETNS=ecap-bench-$$
	if ip netns add "$NETNS" 2>>"$LOG" && ip -n "$NETNS" link set lo up 2>>"$LOG"; then
		NX=(ip netns exec "$NETNS")
	else
		live_why="cannot create a network namespace (ip netns add); not run"
		NETNS=
	fi
fi
if [ -z "$live_why" ]; then
	IPORT=5201 TPORT=4433
	"${NX[@]}" iperf3 -s -B 127.0.0.1 -p "$IPORT" >>"$LOG" 2>&1 </dev/null &
	PIDS+=($!)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >>"$LOG" 2>&1
	"${NX[@]}" openssl s_server -accept "127.0.0.1:$TPORT" -cert "$WORK/cert.pem" \
		-key "$WORK/key.pem" -www -quiet >>"$LOG" 2>&1 </dev/null &
	PIDS+=($!)
	sleep 0.5
	for r in $(seq "$LIVE_RUNS"); do
		for l in $LOADS; do
			for t in ecap tcpdump; do
				say "live: $l under $t (run $r/$LIVE_RUNS)"
				live_one "$l" "$t"
			done
		done
	done

	say "live: record to queryable ($QUERY_PROBES probes under s_time)"
	query_latency

	say "live: long run ($LONG_SECS s)"
	if start_rec ecap "$WORK/live-long"; then
		"${NX[@]}" iperf3 -c 127.0.0.1 -p "$IPORT" -t "$LONG_SECS" -b 200M >>"$LOG" 2>&1 \
			</dev/null &
		lp=$!; PIDS+=("$lp")
		rss_first=
		for ((el = LONG_SAMPLE; el <= LONG_SECS; el += LONG_SAMPLE)); do
			sleep "$LONG_SAMPLE"
			kill -0 "$RPID" 2>/dev/null || break
			read -r _ _ rss _ < <($PY procstat "$RPID")
			[ "$el" -ge "$FIRST_AT" ] && [ -z "$rss_first" ] && rss_first=$rss
		done
		stop_pid "$lp" TERM
		if kill -0 "$RPID" 2>/dev/null; then
			read -r _ hwm rss anon bpf < <($PY procstat "$RPID")
			stop_pid "$RPID" INT
			fact mem.live.rss_first "${rss_first:-$rss}"; fact mem.live.rss_last "$rss"
			fact mem.live.hwm "$hwm"; fact mem.live.anon "$anon"; fact mem.live.bpfmaps "$bpf"
			fact mem.live.store_bytes "$(du -sb "$WORK/live-long" | cut -f1)"
		else
			wait "$RPID"; st=$?; mapfile -t PIDS < <(forget "$RPID")
			fact mem.live.status "ecap-rec exited during the run (status $st): $(tail -1 \
				"$WORK/rec.err")"
			cat "$WORK/rec.err" >>"$LOG"
		fi
		rm -rf "$WORK/live-long"
	else
		fact mem.live.status "$WHY"
	fi
else
	fact live.status "$live_why"
	fact mem.live.status "$live_why"
	for l in $LOADS; do
		fact "live.$l.ecap.status" "$live_why"; fact "live.$l.tcpdump.status" "$live_why"
	done
fi

# ---------------------------------------------------------------- the table
fact loadavg.end "$(cut -d' ' -f1-3 /proc/loadavg)"
fact elapsed $(($(date +%s) - T0))
rc=0
$PY report "$RUNSF" "$FACTS" "$OUT" "$([ "$QUICK" = 1 ] && echo quick || echo full)" || rc=1
# Sections 7 and 10 are their own scripts (about 3 and 6 minutes): full runs only.
if [ "$QUICK" = 0 ]; then
	say "TLS libraries (tools/bench_tls_libs.sh)"
	"$SRC/tools/bench_tls_libs.sh" --build "$BUILD" --out "$OUT" --tmp "$TMPBASE" || rc=1
	say "long-lived sparse flows (tools/bench_sparse.sh)"
	"$SRC/tools/bench_sparse.sh" --build "$BUILD" --out "$OUT" --tmp "$TMPBASE" || rc=1
fi
if grep -q '"rc": [1-9]' "$RUNSF"; then
	echo "bench.sh: some commands failed; see the table's last line" >&2
	[ "$QUICK" = 1 ] && rc=1
fi
say "table written to $OUT"
[ "$QUICK" = 1 ] && [ "$KEEP" = 0 ] && { cat "$OUT"; rm -f "$OUT"; }
exit $rc
