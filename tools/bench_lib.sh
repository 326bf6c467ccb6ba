# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# bench_lib.sh - what the benchmark scripts (bench.sh, bench_tls_libs.sh) share, sourced after
# they set BENCH (their name), WORK, FACTS, KEEP and T0: the processes they started (PIDS)
# ended by pid at exit, with their network namespace (NETNS) and work directory; progress
# lines; facts for the report.

PIDS=() NETNS=''

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "${NETNS:-}" ] && ip netns del "$NETNS" 2>/dev/null
	if [ "$KEEP" = 1 ]; then echo "$BENCH.sh: work files kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '[%s %3ds] %s\n' "$BENCH" $(($(date +%s) - T0)) "$*" >&2; }
# fact KEY VALUE: one line of the facts file (newlines and tabs in VALUE become spaces).
fact() { local v=${2//$'\n'/ }; printf '%s\t%s\n' "$1" "${v//$'\t'/ }" >>"$FACTS"; }
forget() { local p; for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || echo "$p"; done; }
# stop_pid PID [SIGNAL]: ends a process started here (default SIGINT) and forgets it.
stop_pid() {
	kill -"${2:-INT}" "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	mapfile -t PIDS < <(forget "$1")
}
