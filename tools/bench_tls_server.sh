# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# bench_tls_server.sh - what the TLS session benchmarks (bench_tls_sessions.sh,
# bench_rec_rates.sh) share, sourced after they set NAME (the run's name): a work directory
# WORK; a network namespace NS (named NAME) with its lo up; an `openssl s_server -www` on
# 127.0.0.1:PORT in it (4433 unless the caller set PORT), with a P-256 certificate made for
# the run. NX runs a command inside the namespace (`ip netns exec`), NR enters only its
# network (nsenter). The processes the script starts go into PIDS; at exit each is ended by
# pid, then the namespace and WORK are removed. tls_load runs one of the benchmarks' client
# loads against the server; rec_start (or tcpdump_start) and rec_stop start and end a recorder
# of it.

WORK=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX") || exit 2
NS=$NAME PIDS=()
cleanup() {
	local p
	# TERM: a background job of a script ignores SIGINT (s_server does not take it back)
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS" && ip -n "$NS" link set lo up || { echo "cannot make netns $NS" >&2; exit 2; }
NX=(ip netns exec "$NS")
# The recorders enter only the namespace's network: `ip netns exec` also gives a process a
# mount namespace with a /sys of its own, without the cgroup2 mount through which ecap-rec
# names a cgroup by its id, as it does when it runs as a service.
NR=(nsenter --net=/run/netns/"$NS")
PORT=${PORT:-4433}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || exit 1
"${NX[@]}" openssl s_server -accept "127.0.0.1:$PORT" -cert "$WORK/cert.pem" -key "$WORK/key.pem" \
	-www -quiet >/dev/null 2>&1 </dev/null &
PIDS+=($!)
sleep 0.5

# tls_load LOAD SECS: the load for SECS seconds; prints the sessions completed. stime: one
# `openssl s_time -new` client; stime4: four at once; curl4: four clients, each a loop of
# curls started by `ip netns exec` (a new mount namespace per curl); curl4-1ns: the same
# clients, each one's curls started by one shell in the namespace.
tls_load() {
	local k ps=() n secs=$2 until
	case "$1" in
	stime) "${NX[@]}" openssl s_time -connect "127.0.0.1:$PORT" -new -www / -time "$secs" \
			2>/dev/null | sed -n 's/^\([0-9]*\) connections in [0-9.]* real.*/\1/p' ;;
	stime4)
		for k in 1 2 3 4; do
			"${NX[@]}" openssl s_time -connect "127.0.0.1:$PORT" -new -www / -time "$secs" \
				2>/dev/null | sed -n 's/^\([0-9]*\) connections in [0-9.]* real.*/\1/p' \
				>"$WORK/n$k" &
			ps+=($!)
		done
		wait "${ps[@]}"; cat "$WORK"/n? | awk '{ s += $1 } END { print s + 0 }' ;;
	curl4)
		until=$(($(date +%s) + secs))
		for k in 1 2 3 4; do
			( n=0; while [ "$(date +%s)" -lt "$until" ]; do
				"${NX[@]}" curl -sk -o /dev/null "https://127.0.0.1:$PORT/" && n=$((n + 1))
			done; echo "$n" >"$WORK/n$k" ) &
			ps+=($!)
		done
		wait "${ps[@]}"; cat "$WORK"/n? | awk '{ s += $1 } END { print s + 0 }' ;;
	curl4-1ns)
		# a new process per session as above, but not a new mount namespace per session
		# (each `ip netns exec` makes one, and each first exec of a program in a new mount
		# namespace costs the recorder an exec record)
		until=$(($(date +%s) + secs))
		for k in 1 2 3 4; do
			"${NX[@]}" bash -c 'n=0; printf -v now "%(%s)T" -1
				while [ "$now" -lt "$1" ]; do
					curl -sk -o /dev/null "https://127.0.0.1:$2/" && n=$((n + 1))
					printf -v now "%(%s)T" -1
				done; echo "$n"' _ "$until" "$PORT" >"$WORK/n$k" &
			ps+=($!)
		done
		wait "${ps[@]}"; cat "$WORK"/n? | awk '{ s += $1 } END { print s + 0 }' ;;
	idle) sleep "$secs"; echo 0 ;;
	esac
}

# rec_start BUILD DIR [FPORT]: ecap-rec of tcp port FPORT (default PORT) on the namespace's lo
# into store DIR (a minute to start: a busy host starts it slowly); sets R. tcpdump_start DIR
# [FPORT]: tcpdump -i lo -w DIR.pcap of the same, for a side by side; sets R. rec_stop: ends
# either (SIGINT), waits for it.
rec_start() {
	rm -rf "$2"
	rec_run ecap-rec 'recording on' "${NR[@]}" "$1/recorder/ecap-rec" -i lo --store "$2" \
		"tcp port ${3:-$PORT}"
}
tcpdump_start() {
	rm -f "$1.pcap"
	rec_run tcpdump 'listening on' "${NR[@]}" tcpdump -i lo -w "$1.pcap" "tcp port ${2:-$PORT}"
}
# rec_run NAME READY CMD...: CMD (NAME in a message) in the background (R), until its stderr
# says READY
rec_run() {
	local name=$1 ready=$2 _
	shift 2
	: >"$WORK/rec.err"
	"$@" >/dev/null 2>"$WORK/rec.err" </dev/null &
	R=$!; PIDS+=("$R")
	for _ in $(seq 600); do
		grep -q "$ready" "$WORK/rec.err" && return 0
		sleep 0.1
	done
	echo "${0##*/}: $name did not start: $(tail -1 "$WORK/rec.err")" >&2
	exit 1
}
rec_stop() {
	local p q=()
	kill -INT "$R"; wait "$R"
	for p in "${PIDS[@]}"; do [ "$p" = "$R" ] || q+=("$p"); done
	PIDS=("${q[@]}")
}
