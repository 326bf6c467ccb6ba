# SPDX-License-Identifier: GPL-2.0-only
# filter_sockets.sh - under a PCAP-FILTER, sockets whose traffic the filter cannot record make
# no socket record, no pending owner and no process record (recorder/socket_scope.c), while a
# container's NATed connection inside the filter keeps its owner on both of its flows.
# The network of nat_net.sh (namespaces CTR, HOST, OUT; MASQUERADE in HOST) with one ecap-rec
# in HOST on both veths recording `tcp port IN`. First, outside the filter: a curl in CTR to
# OUT's port OUT_PORT (NATed, another namespace), a curl in HOST to the same, and a UDP sender
# in CTR; then inside it: a curl in CTR to OUT's port IN (NATed). Checks:
# The same with a filter the kernel cannot reduce to ports (`tcp port IN or host X`), which
# ecap-rec judges in user space; and a connected UDP socket open before the start (from /proc).
#  - the curl inside the filter: ecap-export --pid holds both flows of its connection (before
#    and after MASQUERADE, linked), every packet commented with its pid, and its process row;
#  - the processes outside the filter have no process row (but the unconnected UDP sender
#    under the host term: it may send to that host), no flow is recorded for them, and the
#    final status line counts the sockets left out;
#  - the same run with a filter that records the same packets but is not a plain expression
#    (`... and tcp[13] & 0 = 0`) keeps every socket: the processes outside the filter have
#    their rows (what the first run saves, and proof that the check above can fail).
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip curl
source "$ECAP_SRC/tests/live/nat_net.sh"

C="i18sock-ctr-$$" H="i18sock-host-$$" O="i18sock-out-$$"
IN=29280 OUT_PORT=29281
mkdir "$T/www"
head -c 20000 /dev/urandom | base64 >"$T/www/page.txt"

nat_net_test "$C" "$H" "$O" 181 i18sock-br i18sock-up

for p in "$IN" "$OUT_PORT"; do
	in_ns "$O" "$T/http-$p.log" python3 -m http.server "$p" --bind 10.181.2.2 \
		--directory "$T/www"
	ns_answers "$C" "http://10.181.2.2:$p/"
done

# run NAME FILTER: one recording; sets CLIENT (inside the filter), OUTSIDE (the pids of
# connected sockets outside), UDP_SENDER (an unconnected UDP socket's, sending outside)
run() {
	local name=$1 filter=$2 pid
	# a connected UDP socket open before the start (found in /proc), outside the filter
	ip netns exec "$C" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("10.181.2.2", 29283))
s.send(b"x")
time.sleep(30)' &
	EARLY=$!
	cleanup_pid "$EARLY"
	sleep 0.3
	in_ns "$H" "$T/$name.log" "$ECAP_REC" -i i18sock-br -i i18sock-up --store "$T/$name" \
		--no-tls "$filter"
	REC_PID=$BG_PID
	wait_for "$T/$name.log" "recording on" "$REC_PID" "ecap-rec in $H"
	grep -q "conntrack reader cannot be loaded" "$T/$name.log" &&
		skip "the capture programs cannot read conntrack here"
	OUTSIDE=" $EARLY"
	ip netns exec "$C" curl -s -o /dev/null "http://10.181.2.2:$OUT_PORT/page.txt" &
	pid=$!
	wait "$pid" || fail "the container's curl to port $OUT_PORT failed"
	OUTSIDE+=" $pid"
	ip netns exec "$H" curl -s -o /dev/null "http://10.181.2.2:$OUT_PORT/page.txt" &
	pid=$!
	wait "$pid" || fail "the host's curl to port $OUT_PORT failed"
	OUTSIDE+=" $pid"
	ip netns exec "$C" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3):
    s.sendto(b"x" * 100, ("10.181.2.2", 29282))
    time.sleep(0.05)' &
	pid=$!
	wait "$pid" || fail "the UDP sender failed"
	UDP_SENDER=$pid
	sleep 0.3
	ip netns exec "$C" curl -s -o "$T/got-$name" "http://10.181.2.2:$IN/page.txt" &
	CLIENT=$!
	wait "$CLIENT" || fail "the container's curl to port $IN failed"
	cmp -s "$T/got-$name" "$T/www/page.txt" || fail "the curl got other bytes"
	sleep 1.5 # the socket records and a chunk closed by its age
	rec_stop "$T/$name.log"
	kill "$EARLY" 2>/dev/null
	wait "$EARLY" 2>/dev/null || true
}

# has_process STORE PID: 1 when the store has a process row for PID
has_process() {
	sql "$1" "SELECT count(*) > 0 FROM processes WHERE pid = $2"
}

# scoped NAME FILTER UDP_ROW: a recording of FILTER, which records the connection to port IN
# only; UDP_ROW: whether the unconnected UDP sender keeps its process row
scoped() {
	local name=$1 filter=$2 udp_row=$3 left n out=$T/client-$1.pcapng
	run "$name" "$filter"
	grep -q "1 flows linked through NAT" "$T/$name.log" ||
		{ cat "$T/$name.log" >&2; fail "$filter: the recorder did not link the NATed flow"; }
	left=$(grep "ecap-rec: stopped:" "$T/$name.log" |
		sed -n 's/.* \([0-9]*\) sockets outside the filter.*/\1/p')
	assert_ge 3 "${left:-0}" "$filter: sockets left out (two curls, a UDP socket, servers)"
	n=$(nat_pid_export "$T/$name" "$CLIENT" "$out")
	assert_eq 1 "$(has_process "$T/$name" "$CLIENT")" \
		"$filter: process row of the curl inside the filter"
	for pid in $OUTSIDE; do
		assert_eq 0 "$(has_process "$T/$name" "$pid")" \
			"$filter: process row of pid $pid (outside)"
	done
	assert_eq "$udp_row" "$(has_process "$T/$name" "$UDP_SENDER")" \
		"$filter: process row of the unconnected UDP sender $UDP_SENDER"
	assert_eq 0 "$(sql "$T/$name" \
		"SELECT count(*) FROM flows WHERE port_b <> $IN AND port_a <> $IN")" \
		"$filter: flows outside the filter"
	info "$filter: $left sockets left out (pids$OUTSIDE); curl $CLIENT inside it owns" \
		"both NATed flows ($n packets)"
}

# Ruled out in the kernel (protocol and port), then in user space (the host term leaves the
# kernel no port set: every record reaches ecap-rec, which leaves them out). An unconnected
# UDP socket may send to any host: under the second filter it is kept.
scoped kernel "tcp port $IN" 0
scoped user "tcp port $IN or host 10.99.99.99" 1

# The same packets through a filter that is not a plain expression: every socket is kept.
run kept "tcp port $IN and tcp[13] & 0 = 0"
grep -q "sockets outside the filter" "$T/kept.log" &&
	fail "a filter that is not a plain expression left sockets out"
assert_eq 1 "$(has_process "$T/kept" "$CLIENT")" "process row of the curl (every socket kept)"
for pid in $OUTSIDE $UDP_SENDER; do
	assert_eq 1 "$(has_process "$T/kept" "$pid")" "process row of pid $pid (every socket kept)"
done
info "ok: every socket kept under a filter that is not a plain expression"
