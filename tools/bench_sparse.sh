#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench_sparse.sh - exporting a long-lived sparse flow (issue 17): one TCP flow with a packet
# every SPARSE_S seconds of capture time across the whole store (an SSH session, a beacon), so
# that each of its packets lies in another chunk, next to a dense one (one connection), from
# stores of three sizes. Against tcpdump's filter over the same packets as one pcap. Per size:
# ecap-export's wall and CPU time (medians of RUNS), per exported packet, its ratio to
# tcpdump, and the preads and opens of segment files per exported packet (strace, one more
# run); across sizes, what one more exported packet costs (the slope from the smallest to the
# largest store: the process's fixed start-up cost left out).
#
#   tools/bench_sparse.sh [--quick] [--build DIR] [--out FILE] [--tmp DIR] [--runs N]
#                         [--sizes "BYTES..."] [--keep]
#
#   --quick     inputs of 5, 10 and 20 MB, one run each; writes to a temporary file (or --out)
#               and prints it; exits 1 when a row is missing. Timings are not judged.
#   --build DIR the meson build directory (default: $ECAP_BUILD, else ./build); its ecap-rec
#               records the stores, so another build's figures are of its own format
#   --out FILE  the markdown file whose section "## 10. Long-lived sparse flows" is written
#               (replaced if there, else appended; default BENCHMARKS.md at the repository root)
#   --sizes     input pcap sizes in bytes, ascending (default 262144000 1073741824
#               4294967296: 250 MB, 1 GB, 4 GB); the smaller inputs are prefixes of the larger
#   --runs N    timed runs of each command (default 5)
#   --keep      keep the work directory (several GB)
#
# Needs tcpdump and strace. One size at a time: its input and store (about 1.7 times the
# input) are deleted before the next; the work directory at the end. Exit status: 0 every row produced, 1 a row missing
# or a command failed, 2 usage or missing build.
set -u -o pipefail
unset MALLOC_PERTURB_ MALLOC_CHECK_
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0 KEEP=0 BUILD=${ECAP_BUILD:-$SRC/build} OUT='' TMPBASE=${TMPDIR:-/tmp} RUNS=5
SIZES="262144000 1073741824 4294967296"

usage() {
	sed -n '4,/^# or a command failed/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--keep) KEEP=1 ;;
	--build) BUILD=${2:?--build needs a directory}; shift ;;
	--out) OUT=${2:?--out needs a file}; shift ;;
	--tmp) TMPBASE=${2:?--tmp needs a directory}; shift ;;
	--runs) RUNS=${2:?--runs needs a number}; shift ;;
	--sizes) SIZES=${2:?--sizes needs byte counts}; shift ;;
	-h|--help) usage 0 ;;
	*) echo "bench_sparse.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

REC=$BUILD/recorder/ecap-rec EXP=$BUILD/export/ecap-export LS=$BUILD/tools/ecap-ls
GEN=$BUILD/tools/gen_traffic
PY="python3 $SRC/tools/bench_report.py"
for b in "$REC" "$EXP" "$LS" "$GEN"; do
	[ -x "$b" ] || { echo "bench_sparse.sh: $b is missing: build first" >&2; exit 2; }
done
for t in python3 tcpdump strace; do
	command -v "$t" >/dev/null || { echo "bench_sparse.sh: $t is not installed" >&2; exit 2; }
done
if [ "$QUICK" = 1 ]; then
	SIZES="5000000 10000000 20000000" RUNS=1 PPS=2000 FLOWS=300
else
	PPS=20000 FLOWS=3000
fi
# One packet of the sparse flow every SPARSE_S s: chunks close every ~0.07 s of this capture,
# so its packets are 7 chunks apart or more, each in a chunk of its own.
SPARSE_S=0.5 START_EPOCH=1764140400 SEED=7

WORK=$(mktemp -d "$TMPBASE/ecap-bench-sparse.XXXXXX") || exit 2
[ -n "$OUT" ] || { [ "$QUICK" = 1 ] && OUT=$WORK.md || OUT=$SRC/BENCHMARKS.md; }
RUNSF=$WORK/runs.jsonl FACTS=$WORK/facts.tsv LOG=$WORK/log
T0=$(date +%s) BENCH=bench_sparse
# shellcheck source=tools/bench_lib.sh
. "$SRC/tools/bench_lib.sh"
m() { local l=$1; shift; $PY measure "$RUNSF" "$l" -- "$@" >>"$LOG" 2>&1; }
count() { $PY count "$1"; }

# syscalls LABEL CMD...: one more run under strace; the preads and opens of segment files
# (their paths end in .ecap) it made.
syscalls() {
	local l=$1; shift
	strace -f -y -qq -e trace=pread64,openat -o "$WORK/strace.txt" "$@" >>"$LOG" 2>&1
	fact "$l.preads" "$(grep -c 'pread64([0-9]*</[^>]*/seg-[0-9]*\.ecap>' "$WORK/strace.txt")"
	fact "$l.opens" "$(grep -c 'openat(.*seg-[0-9]*\.ecap"' "$WORK/strace.txt")"
}

fact date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
fact mode "$([ "$QUICK" = 1 ] && echo quick || echo full)"
fact runs "$RUNS"
fact sizes "$SIZES"
fact every "$SPARSE_S"
fact loadavg.start "$(cut -d' ' -f1-3 /proc/loadavg)"
fact commit "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
	[ -n "$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null)" ] &&
	echo ' with uncommitted changes')"
fact build "$BUILD"
fact versions "$(tcpdump --version 2>&1 | head -1)"

SPARSE_E="--tuple 10.4.0.1:40022-10.4.0.2:22"
SPARSE_T="tcp and host 10.4.0.1 and host 10.4.0.2 and port 40022 and port 22"
fact sparse.spec "$SPARSE_E"
DENSE_E='' DENSE_T=''
for s in $SIZES; do
	pcap=$WORK/in-$s.pcap st=$WORK/store-$s
	# The same seed for every size: the smaller inputs are prefixes of the larger ones.
	say "store of $s bytes of input: generating, replay"
	"$GEN" -o "$pcap" --bytes "$s" --flows-active "$FLOWS" --seed "$SEED" --pps "$PPS" \
		--start "$START_EPOCH" --sparse-every "$SPARSE_S" 2>>"$LOG" || exit 1
	if [ -z "$DENSE_E" ]; then
		# The dense flow: one connection from the middle of the smallest input.
		read -r CA CP SA SP _ < <($PY pick "$pcap")
		DENSE_E="--tuple $CA:$CP-$SA:$SP"
		DENSE_T="tcp and host $CA and host $SA and port $CP and port $SP"
		fact dense.spec "$DENSE_E"
	fi
	rm -rf "$st"
	"$REC" --replay "$pcap" --store "$st" -q >>"$LOG" 2>&1 || { say "replay failed"; exit 1; }
	"$LS" --json "$st" >"$WORK/ls.json" 2>>"$LOG" &&
		fact "$s.chunks" "$($PY json "$WORK/ls.json" chunks)"
	fact "$s.store_bytes" "$(du -sb "$st" | cut -f1)"
	for q in sparse dense; do
		if [ "$q" = sparse ]; then e=$SPARSE_E t=$SPARSE_T; else e=$DENSE_E t=$DENSE_T; fi
		say "store of $s bytes of input: $q flow"
		for _ in $(seq "$RUNS"); do
			rm -f "$WORK/q.pcapng" "$WORK/q.pcapng.ecap-proof" "$WORK/q.pcap"
			# shellcheck disable=SC2086
			m "$s.$q.ecap" "$EXP" -q --store "$st" $e -o "$WORK/q.pcapng"
			m "$s.$q.tcpdump" tcpdump -r "$pcap" -w "$WORK/q.pcap" "$t"
		done
		fact "$s.$q.n_ecap" "$(count "$WORK/q.pcapng")"
		fact "$s.$q.n_tcpdump" "$(count "$WORK/q.pcap")"
		rm -f "$WORK/q.pcapng" "$WORK/q.pcapng.ecap-proof"
		# shellcheck disable=SC2086
		syscalls "$s.$q" "$EXP" -q --store "$st" $e -o "$WORK/q.pcapng"
	done
	rm -rf "$st" "$pcap"
done

fact loadavg.end "$(cut -d' ' -f1-3 /proc/loadavg)"
fact elapsed $(($(date +%s) - T0))
rc=0
python3 "$SRC/tools/bench_sparse_report.py" "$RUNSF" "$FACTS" "$OUT" || rc=1
grep -q '"rc": [1-9]' "$RUNSF" && { echo "bench_sparse.sh: some commands failed" >&2; rc=1; }
say "written to $OUT"
[ "$QUICK" = 1 ] && [ "$KEEP" = 0 ] && { cat "$OUT"; rm -f "$OUT"; }
exit $rc
