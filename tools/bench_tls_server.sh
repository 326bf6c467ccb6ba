# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# bench_tls_server.sh - what the TLS session benchmarks (bench_tls_sessions.sh,
# bench_rec_rates.sh) share, sourced after they set NAME (the run's name): a work directory
# WORK; a network namespace NS (named NAME) with its lo up; an `openssl s_server -www` on
# 127.0.0.1:PORT in it, with a P-256 certificate made for the run. NX runs a command inside
# the namespace (`ip netns exec`), NR enters only its network (nsenter). The processes the
# script starts go into PIDS; at exit each is ended by pid, then the namespace and WORK are
# removed.

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
PORT=4433
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || exit 1
"${NX[@]}" openssl s_server -accept "127.0.0.1:$PORT" -cert "$WORK/cert.pem" -key "$WORK/key.pem" \
	-www -quiet >/dev/null 2>&1 </dev/null &
PIDS+=($!)
sleep 0.5
