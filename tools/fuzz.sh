#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# fuzz.sh - build the libFuzzer targets of tests/fuzz (clang-14, AddressSanitizer and
# UndefinedBehaviorSanitizer, the libraries instrumented for coverage) in build-fuzz/ and run
# each one from its seed corpus in tests/fuzz/corpus/<target>/. Prints the executions per
# target. A crash stops the run with the crashing input saved as build-fuzz/crash-*: fix the
# bug, then copy the input into the target's corpus, where the 'fuzz' test suite replays it.
#
#   tools/fuzz.sh [--long] [--time SECONDS] [TARGET...]
#     (default)      ~10 s per target, two at a time (what CI runs: about 90 s for 17 targets)
#     --long         10 minutes per target, 2 jobs in parallel: millions of executions
#     --time S       S seconds per target
#     --build-only   build the targets, run none (tools/test.sh builds them early)
#   TARGET: capfile keylog tls_hello segment args calib_answer config proof ctr_answer
#           flow_keys store_key proc_maps exec_name chunk_runs socket_scope ring_reader elf
#           (default: all)
#   Environment: FUZZ_BUILD (build dir, default build-fuzz), FUZZ_KEEP_NEW=1 to merge new
#   coverage-increasing inputs back into the seed corpus (long runs by humans).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

secs=10
jobs=1
build_only=
targets=()
while [ $# -gt 0 ]; do
	case "$1" in
	--long) secs=600; jobs=2 ;;
	--time) secs=${2:?--time needs seconds}; shift ;;
	--build-only) build_only=1 ;;
	-h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*) targets+=("$1") ;;
	esac
	shift
done
[ ${#targets[@]} -gt 0 ] ||
	targets=(capfile keylog tls_hello segment args calib_answer config proof ctr_answer
		flow_keys store_key proc_maps exec_name chunk_runs socket_scope ring_reader elf)

# libFuzzer's runtime comes with clang-14 in libclang-rt-14-dev.
rt_status=$(dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null || true)
if [ "$rt_status" != "install ok installed" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "fuzz.sh: needs libclang-rt-14-dev (run as root)" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		clang-14 libclang-rt-14-dev >/dev/null
fi

build=${FUZZ_BUILD:-build-fuzz}
case "$build" in /*) ;; *) build="$src/$build" ;; esac
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Dbpf=disabled -Dbuildtype=debugoptimized \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined' >/dev/null
fi
ninja -C "$build" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") >/dev/null
[ -z "$build_only" ] || exit 0

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# One target: fuzz it, then leave its line of the table in $build/fuzz-$t.result.
run_one() {
	local t=$1
	local exe="$build/tests/fuzz/fuzz_$t" seeds="$src/tests/fuzz/corpus/$t"
	local work="$build/fuzz-corpus/$t"     # grows during the run; the seeds stay as they are
	local log="$build/fuzz-$t.log" res=ok
	mkdir -p "$work"
	local args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536
		    -artifact_prefix="$build/crash-$t-" -print_final_stats=1)
	[ -f "$src/tests/fuzz/$t.dict" ] && args+=(-dict="$src/tests/fuzz/$t.dict")
	if [ "$jobs" -gt 1 ]; then
		# parallel jobs write their logs (fuzz-N.log) into the current directory
		local jd="$build/fuzz-jobs-$t"
		rm -rf "$jd" && mkdir -p "$jd"
		(cd "$jd" && "$exe" "${args[@]}" -jobs="$jobs" -workers="$jobs" "$work" "$seeds") \
			>"$log" 2>&1 || res=CRASH
		cat "$jd"/fuzz-*.log >>"$log" 2>/dev/null || true
	else
		"$exe" "${args[@]}" "$work" "$seeds" >"$log" 2>&1 || res=CRASH
	fi
	local execs eps n
	execs=$(grep 'stat::number_of_executed_units' "$log" | awk '{s+=$2} END{print s+0}')
	eps=$(grep 'stat::average_exec_per_sec' "$log" | awk '{s+=$2} END{print s+0}')
	n=$(find "$work" -type f | wc -l)
	printf '%-10s %12s %10s %8s %s\n' "$t" "$execs" "$eps" "$n" "$res" > "$build/fuzz-$t.result"
	if [ -n "${FUZZ_KEEP_NEW:-}" ] && [ "$res" = ok ]; then
		"$exe" -merge=1 "$seeds" "$work" >/dev/null 2>&1 || true
	fi
}

# Short runs use one core per target, two targets at a time; long runs give each target
# both cores (-jobs 2), one target after the other.
parallel=$(( jobs > 1 ? 1 : 2 ))
rm -f "$build"/fuzz-*.result
running=0
for t in "${targets[@]}"; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$parallel" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true

rc=0
printf '%-10s %12s %10s %8s %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
	if [ ! -f "$build/fuzz-$t.result" ]; then
		echo "fuzz.sh: $t did not run" >&2
		rc=1
		continue
	fi
	cat "$build/fuzz-$t.result"
	if ! grep -q ' ok$' "$build/fuzz-$t.result"; then
		rc=1
		grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$build/fuzz-$t.log" | head -5 >&2
	fi
done
[ "$rc" -eq 0 ] || echo "fuzz.sh: crashes found; inputs in $build/crash-*" >&2
exit "$rc"
