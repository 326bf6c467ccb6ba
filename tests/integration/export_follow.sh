#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# export_follow.sh - ecap-export --follow: a TLS capture of four requests is split in two;
# the first half is replayed, two followers start (everything to a file; --pid of a process
# that appears only in the second half, to stdout), the second half is replayed while they
# run, and after SIGINT each file holds its packets with the secrets of the new sessions
# early enough that tshark decrypts every request it should, and nothing else.
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
sleep 1.5
kill -0 "$all_pid" 2>/dev/null || fail "the follower stopped early: $(cat "$T/all.err")"
# What is written so far is already a readable capture of the first half.
first=$(tshark -r "$T/all.pcapng" -o "tls.keylog_file:" -Y http.request -T fields \
	-e http.request.uri 2>/dev/null | sort | tr '\n' ' ')
assert_eq "/req1 /req2 " "$first" "requests while following, before the second half"

"$ECAP_REC" --replay "$T/second.pcapng" --keylog "$T/cap/keys.log" --store "$T/store" -q \
	|| fail "replay of the second half"
sleep 2
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
total=$(tcpdump -nr "$T/cap/tls.pcap" 2>/dev/null | wc -l)
assert_eq "$total" "$(tcpdump -nr "$T/all.pcapng" 2>/dev/null | wc -l)" \
	"packets in the followed file"
python3 "$ECAP_SRC/tests/integration/export_check.py" "$T/p3.pcapng" >"$T/p3.chk"
grep -q '^comments=.*PID: 5003' "$T/p3.chk" || fail "no process comment in the --pid file"
info "ok"
