#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# export_follow.sh - ecap-export --follow: a TLS capture of four requests is split in two;
# the first half is replayed, two followers start (everything to a file; --pid of a process
# that appears only in the second half, to stdout), the second half is replayed while they
# run, and once each has written its round of the new packets (waited for: a busy host may
# leave a follower without the CPU for seconds), after SIGINT each file holds its packets with
# the secrets of the new sessions early enough that tshark decrypts every request it should,
# and nothing else.
. "$ECAP_SRC/tests/lib.sh"
need_cmd tshark tcpdump openssl curl python3
need_root

rc=0
bash "$ECAP_SRC/tests/integration/make_tls_capture.sh" "$T/cap" 4 || rc=$?
[ "$rc" -eq 77 ] && skip "cannot make a TLS capture"
[ "$rc" -eq 0 ] || fail "make_tls_capture.sh failed"
declare -A CPORT
while read -r uri cport sport _; do
	CPORT[${uri#/req}]=$cport SPORT=$sport
done <"$T/cap/requests.txt"

annotate() { # in out
	python3 "$ECAP_SRC/tests/integration/export_annotate.py" "$1" "$2" \
		"${CPORT[1]}=5001:1000:curl" "${CPORT[2]}=5002:1000:curl" \
		"${CPORT[3]}=5003:1000:curl" "${CPORT[4]}=5004:1000:curl" "$SPORT=5100:0:openssl"
}
tcpdump -r "$T/cap/tls.pcap" -w "$T/first.pcap" \
	"tcp port ${CPORT[1]} or tcp port ${CPORT[2]}" 2>/dev/null
tcpdump -r "$T/cap/tls.pcap" -w "$T/second.pcap" \
	"tcp port ${CPORT[3]} or tcp port ${CPORT[4]}" 2>/dev/null
annotate "$T/first.pcap" "$T/first.pcapng"
annotate "$T/second.pcap" "$T/second.pcapng"

"$ECAP_REC" --replay "$T/first.pcapng" --keylog "$T/cap/keys.log" --store "$T/store" -q \
	|| fail "replay of the first half"

"$ECAP_EXPORT" --store "$T/store" --follow -o "$T/all.pcapng" 2>"$T/all.err" &
all_pid=$!
cleanup_pid "$all_pid"
"$ECAP_EXPORT" --store "$T/store" --follow --pid 5003 -o - >"$T/p3.pcapng" 2>"$T/p3.err" &
p3_pid=$!
cleanup_pid "$p3_pid"
# packets FILE: how many packets tcpdump reads from FILE (a follower's file, read as it grows)
packets() { tcpdump -nr "$1" 2>/dev/null | wc -l; }
# wait_packets NAME N PID: until the follower PID's file T/NAME.pcapng holds N packets (it
# writes each round whole); fails when PID exits first, or after 60 s (it polls every 0.5 s)
wait_packets() {
	local i
	for i in $(seq 240); do
		[ "$(packets "$T/$1.pcapng")" -ge "$2" ] && return 0
		kill -0 "$3" 2>/dev/null || fail "the follower to $1 stopped early: $(cat "$T/$1.err")"
		sleep 0.25
	done
	fail "the follower to $1 wrote $(packets "$T/$1.pcapng") of $2 packets in 60 s"
}
wait_packets all "$(packets "$T/first.pcap")" "$all_pid"
# What is written so far is already a readable capture of the first half.
first=$(tshark -r "$T/all.pcapng" -o "tls.keylog_file:" -Y http.request -T fields \
	-e http.request.uri 2>/dev/null | sort | tr '\n' ' ')
assert_eq "/req1 /req2 " "$first" "requests while following, before the second half"

"$ECAP_REC" --replay "$T/second.pcapng" --keylog "$T/cap/keys.log" --store "$T/store" -q \
	|| fail "replay of the second half"
# each follower's round after the replay (then the files are checked as they are at SIGINT)
total=$(packets "$T/cap/tls.pcap")
wait_packets all "$total" "$all_pid"
wait_packets p3 "$(tcpdump -nr "$T/cap/tls.pcap" "tcp port ${CPORT[3]}" 2>/dev/null | wc -l)" \
	"$p3_pid"
kill -INT "$all_pid" "$p3_pid"
rc=0
wait "$all_pid" || rc=$?
assert_eq 0 "$rc" "exit status of the follower (stderr: $(cat "$T/all.err"))"
rc=0
wait "$p3_pid" || rc=$?
assert_eq 0 "$rc" "exit status of the --pid follower (stderr: $(cat "$T/p3.err"))"

uris() {
	tshark -r "$1" -o "tls.keylog_file:" -Y http.request -T fields -e http.request.uri \
		2>"$1.err" | sort | tr '\n' ' '
	if grep -v '^Running as user' "$1.err" | grep -q .; then
		fail "tshark warned on $1: $(cat "$1.err")"
	fi
}
assert_eq "/req1 /req2 /req3 /req4 " "$(uris "$T/all.pcapng")" "requests decrypted after --follow"
assert_eq "/req3 " "$(uris "$T/p3.pcapng")" "requests of --pid 5003 after --follow"

python3 "$ECAP_SRC/tests/integration/export_check.py" "$T/all.pcapng" >"$T/all.chk"
# The second half's secrets come in a DSB after the first half's packets.
grep -q '^blocks=SHB DSB IDB EPB\*[0-9]* DSB EPB\*[0-9]* ISB$' "$T/all.chk" \
	|| fail "blocks of the followed file: $(grep blocks "$T/all.chk")"
assert_eq "$total" "$(packets "$T/all.pcapng")" "packets in the followed file"
python3 "$ECAP_SRC/tests/integration/export_check.py" "$T/p3.pcapng" >"$T/p3.chk"
grep -q '^comments=.*PID: 5003' "$T/p3.chk" || fail "no process comment in the --pid file"
info "ok"
