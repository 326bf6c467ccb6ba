#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# test.sh - install, build (warnings are errors) and run every test suite: unit (cmocka),
# integration (replay -> store -> export -> tshark), live (root + eBPF; skipped with a reason
# where they cannot run). Then, when run without arguments: the unit and integration suites
# again in build-asan/ under AddressSanitizer and UndefinedBehaviorSanitizer (any report is
# fatal), the unit suite in build-tsan/ under ThreadSanitizer (less the tests that never
# start a thread: suite unit_one_thread), and a short run of every fuzz
# target (tools/fuzz.sh). Ends with a 'tests: N passed, N failed, N skipped' line and exits
# non-zero when any test fails. The three later builds are made in the background from the
# start of the tests, at the scheduler's idle priority (SCHED_IDLE: they take only the CPU time
# that the tests leave, most of it while the live tests that must run alone, suite live_alone,
# run first and wait), and made again in the foreground at their turn: a build that failed or
# did not finish shows its errors there.
#
#   tools/test.sh [meson test arguments...]    e.g. tools/test.sh --suite unit
#   ECAP_SANITIZE=0 / ECAP_TSAN=0 / ECAP_FUZZ=0 skip those stages.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh -Dwerror=true
status=0
log=$(mktemp /tmp/ecap-test-log.XXXXXX)
bin=$(mktemp -d /tmp/ecap-test-bin.XXXXXX)
trap 'rm -rf "$log" "$bin"' EXIT
# The tests start python3 hundreds of times. A version manager's shim first in PATH (pyenv's
# is a bash script that runs pyenv) costs ~0.4 s of CPU a start here, against 0.04 s for
# Debian's /usr/bin/python3 (installed by setup.sh): the tests get Debian's, under its name.
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
	ln -s /usr/bin/python3 "$bin/python3"
	PATH="$bin:$PATH"
fi
# the closing line: passed, failed and skipped tests summed over every meson test run
summary() {
	awk '/^Ok:/ {ok += $2} /^Fail:/ {f += $2} /^Timeout:/ {f += $2}
	     /^Unexpected Pass:/ {f += $3} /^Skipped:/ {sk += $2}
	     END {printf "tests: %d passed, %d failed, %d skipped\n", ok, f, sk}' "$log"
}
# a sanitizer build, quiet unless it fails: then its errors are shown and the run fails
build_quiet() { # DIR
	local out
	out=$(ninja -C "$1" 2>&1) && return 0
	tail -40 <<<"$out" >&2
	echo "test.sh: the build in $1 failed" >&2
	return 1
}
setup_asan() {
	[ -f build-asan/build.ninja ] && return 0
	# no -Dwerror: gcc warns differently with sanitizer instrumentation (false
	# -Wformat-truncation); the normal build above has warnings as errors
	CC=gcc meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
}
setup_tsan() {
	[ -f build-tsan/build.ninja ] && return 0
	CC=clang meson setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbpf=disabled \
		>/dev/null
}
# The later stages' builds, in the background at idle priority while the tests run. Its output
# goes to a log: each build is made again in the foreground at its stage, where a failure
# shows (a set-up that failed here leaves no build.ninja and is made again there).
early=
start_early_builds() {
	command -v chrt >/dev/null && command -v setsid >/dev/null || return 0
	early_log=$(mktemp /tmp/ecap-test-early.XXXXXX)
	# a process group of its own (setsid), so that an early exit ends all of it
	trap 'rm -rf "$log" "$bin" "$early_log"; [ -z "$early" ] || kill -- "-$early" 2>/dev/null' EXIT
	export -f setup_asan setup_tsan
	# made now, each with a file (git status does not show an empty directory): package.deb
	# checks that the tree, its ignored files too, stays the same while it builds
	local d
	for d in build-asan build-tsan build-fuzz; do
		mkdir -p "$d" && : >"$d/.made-by-test-sh"
	done
	setsid chrt --idle 0 bash -c '
		if [ "${ECAP_SANITIZE:-1}" != 0 ]; then setup_asan && ninja -C build-asan; fi
		if [ "${ECAP_TSAN:-1}" != 0 ]; then setup_tsan && ninja -C build-tsan; fi
		if [ "${ECAP_FUZZ:-1}" != 0 ]; then tools/fuzz.sh --build-only; fi' \
		>"$early_log" 2>&1 </dev/null &
	early=$!
}
if [ $# -gt 0 ]; then
	meson test -C build --print-errorlogs --num-processes 2 "$@" 2>&1 | tee -a "$log" ||
		status=1
	summary
	exit "$status"
fi
start_early_builds
meson test -C build --print-errorlogs --suite live_alone 2>&1 | tee -a "$log" || status=1
meson test -C build --print-errorlogs --num-processes 2 --no-suite live_alone 2>&1 |
	tee -a "$log" || status=1
if [ -n "$early" ]; then
	wait "$early" || echo "test.sh: the early builds did not all finish; made again below" >&2
	early=
fi

if [ "${ECAP_SANITIZE:-1}" != 0 ]; then
	setup_asan
	build_quiet build-asan || { summary; exit 1; }
	# the crash test is the long one; under the sanitizers a few kills suffice, smaller
	# inputs make the same cases in fleet_ship and flow_chunk_runs (the sizes prove nothing
	# more to the sanitizers), and the throughput checks of the unit tests do not apply
	ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	CRASH_KILLS=4 CRASH_BUDGET=20 FLEET_SHIP_PACKETS=24000 FLOW_RUNS_BYTES=3000000 \
	ECAP_NO_PERF_CHECK=1 \
		meson test -C build-asan --print-errorlogs --num-processes 2 \
		--suite unit --suite integration 2>&1 | tee -a "$log" || status=1
fi
if [ "${ECAP_TSAN:-1}" != 0 ]; then
	# ThreadSanitizer over the unit tests: the store's writer thread, export --follow
	setup_tsan
	build_quiet build-tsan || { summary; exit 1; }
	# (not the unit tests that never start a thread: tests/unit/meson.build, unit_one_thread)
	TSAN_OPTIONS=halt_on_error=1 ECAP_NO_PERF_CHECK=1 \
		meson test -C build-tsan --print-errorlogs --num-processes 2 --suite unit \
		--no-suite unit_one_thread 2>&1 |
		tee -a "$log" || status=1
fi
if [ "${ECAP_FUZZ:-1}" != 0 ]; then
	tools/fuzz.sh || status=1
fi
summary
exit "$status"
