#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# export_select.sh - ecap-export selections through a replayed TLS capture. A real capture of
# four HTTPS requests on loopback (make_tls_capture.sh) gets ptcpdump-style process comments
# per connection (export_annotate.py: three "curl" processes, one "wget", the server
# "openssl") and is replayed into a store with its key log. Then, for selections by pid,
# comm, uid, tuple, host, port, protocol, time and libpcap filter: tshark decrypts exactly
# the selected requests with no warning, the DSBs hold exactly their secrets and precede
# the first packet, the packets carry process comments and direction flags, tcpdump reads
# the file; and an empty answer still gives a valid file with exit status 1.
. "$ECAP_SRC/tests/lib.sh"
need_cmd tshark tcpdump openssl curl python3
need_root

rc=0
bash "$ECAP_SRC/tests/integration/make_tls_capture.sh" "$T/cap" 4 || rc=$?
[ "$rc" -eq 77 ] && skip "cannot make a TLS capture"
[ "$rc" -eq 0 ] || fail "make_tls_capture.sh failed"

# URI CLIENT_PORT SERVER_PORT FIRST_TS LAST_TS CLIENT_RANDOM VERSION
declare -A CPORT FIRST LAST CR
while read -r uri cport sport first last cr ver; do
	n=${uri#/req}
	CPORT[$n]=$cport FIRST[$n]=$first LAST[$n]=$last CR[$n]=$cr SPORT=$sport
done <"$T/cap/requests.txt"
info "client ports ${CPORT[*]}, server port $SPORT"

python3 "$ECAP_SRC/tests/integration/export_annotate.py" "$T/cap/tls.pcap" "$T/ann.pcapng" \
	"${CPORT[1]}=4001:1000:curl" "${CPORT[2]}=4002:1000:curl" "${CPORT[3]}=4003:1001:wget" \
	"${CPORT[4]}=4004:1000:curl" "$SPORT=4100:0:openssl"
"$ECAP_REC" --replay "$T/ann.pcapng" --keylog "$T/cap/keys.log" --store "$T/store" -q \
	|| fail "replay failed"

check() {
	rm -f "$1.uris" "$1.times"
	python3 "$ECAP_SRC/tests/integration/export_check.py" "$1" >"$1.chk"
}
field() { sed -n "s/^$2=//p" "$1.chk"; }

# One tshark pass over a file, decrypting with nothing but the file's DSBs: FILE.times gets
# every packet's time, FILE.uris the requests it decrypts (sorted, space-separated). tshark
# starts slowly, so each export is read once.
tshark_read() {
	tshark -r "$1" -o "tls.keylog_file:" -T fields -e frame.time_epoch -e http.request.uri \
		>"$1.fields" 2>"$1.err"
	if grep -v '^Running as user' "$1.err" | grep -q .; then
		fail "tshark warned on $1: $(cat "$1.err")"
	fi
	cut -f1 "$1.fields" >"$1.times"
	cut -f2 "$1.fields" | grep . | sort | tr '\n' ' ' | sed 's/ $//' >"$1.uris" || true
}
# The requests tshark decrypts from the file alone (no key log but the file's DSBs).
uris() {
	[ -f "$1.uris" ] || tshark_read "$1"
	cat "$1.uris"
}
# the capture's packet times, in its order, once
tshark -r "$T/cap/tls.pcap" -T fields -e frame.time_epoch >"$T/cap.times" 2>/dev/null

# export NAME STATUS ARGS...: run ecap-export into $T/NAME.pcapng, expect STATUS.
export_as() {
	local name=$1 want=$2 got=0
	shift 2
	"$ECAP_EXPORT" --store "$T/store" -q -o "$T/$name.pcapng" "$@" 2>"$T/$name.stderr" || got=$?
	[ "$got" -eq "$want" ] ||
		fail "ecap-export $* exited $got, expected $want: $(cat "$T/$name.stderr")"
	check "$T/$name.pcapng"
}

randoms_of() { # request numbers -> their client randoms, sorted, comma-separated
	local n
	for n in "$@"; do echo "${CR[$n]}"; done | sort | paste -sd, -
}

# expect NAME "N N..." : exactly these requests decrypt, with exactly their secrets first.
expect() {
	local name=$1 f="$T/$1.pcapng" n want=""
	for n in $2; do want="$want /req$n"; done
	want=${want# }
	tshark_read "$f"
	assert_eq "$want" "$(uris "$f")" "$name: decrypted requests"
	# shellcheck disable=SC2086
	assert_eq "$(randoms_of $2)" "$(field "$f" randoms)" "$name: client randoms in the DSBs"
	local lines=0
	for n in $2; do lines=$((lines + $(grep -c " ${CR[$n]} " "$T/cap/keys.log"))); done
	assert_eq "$lines" "$(field "$f" dsb_lines)" "$name: secrets in the DSBs"
	assert_eq 1 "$(field "$f" dsb_first)" "$name: DSBs before the first packet"
	# in the order recorded: the export's packets are a subsequence of the capture's, which
	# is in time order unless tcpdump on lo with two CPUs left a packet a few microseconds
	# early; then the export keeps that order too
	local order
	order=$({ cat "$T/cap.times"; echo -; cat "$f.times"; } | awk '
		$1 == "-" { inexport = 1; next }
		!inexport { cap[++n] = $1; if (n > 1 && cap[n - 1] "" > $1 "") early = 1; next }
		{ while (i < n && cap[++i] != $1) ; if (cap[i] != $1) lost = 1 }
		END { print (lost ? "not-a-subsequence" : "subsequence") (early ? "" : " sorted") }')
	case $order in
	subsequence*) ;;
	*) fail "$name: packets not in the recorded order" ;;
	esac
	[ "$order" != "subsequence sorted" ] ||
		assert_eq 1 "$(field "$f" ts_sorted)" "$name: packets in time order"
	local epbs
	epbs=$(field "$f" epbs)
	assert_eq "$epbs" "$(field "$f" ifrecv)" "$name: isb_ifrecv"
	assert_eq "$epbs" "$(wc -l <"$f.times")" "$name: packets tshark reads"
	assert_eq "$epbs" "$(tcpdump -nr "$f" 2>/dev/null | wc -l)" "$name: packets tcpdump reads"
}

# ---- by process ------------------------------------------------------------------------
export_as pid2 0 --pid 4002
expect pid2 2
comments=$(field "$T/pid2.pcapng" comments)
case "$comments" in
*'PID: 4002\nTID: 4002\nUID: 1000\nCmd: curl\nPeer PID: 4100\nPeer TID: 4100\n'\
'Peer UID: 0\nPeer Cmd: openssl'*) ;;
*) fail "pid2: no client comment with its peer: $comments" ;;
esac
case "$comments" in
*'PID: 4100\nTID: 4100\nUID: 0\nCmd: openssl\nPeer PID: 4002'*) ;;
*) fail "pid2: no server comment: $comments" ;;
esac
epbs=$(field "$T/pid2.pcapng" epbs)
assert_eq "$epbs" "$(field "$T/pid2.pcapng" commented)" "pid2: commented packets"
assert_eq "$epbs" "$(field "$T/pid2.pcapng" flagged)" "pid2: packets with direction"
# tshark shows them as frame.comment and the direction as the packet flags.
assert_ge 1 "$(tshark -r "$T/pid2.pcapng" -Y 'frame.comment contains "PID: 4002"' \
	2>/dev/null | wc -l)" "tshark frame.comment"
assert_ge 1 "$(tshark -r "$T/pid2.pcapng" -Y 'frame.packet_flags_direction == 2' \
	2>/dev/null | wc -l)" "tshark direction"

export_as pids 0 --pid 4001 --pid 4004
expect pids "1 4"
export_as wget 0 --comm wget
expect wget 3
export_as uid 0 --uid 1000 --comm curl
expect uid "1 2 4"
export_as server 0 --pid 4100
expect server "1 2 3 4"
export_as pidcomm 1 --pid 4002 --comm wget   # kinds AND: nothing
assert_eq "" "$(uris "$T/pidcomm.pcapng")" "pid AND comm"

# ---- by connection -----------------------------------------------------------------------
export_as tuple 0 --tuple "127.0.0.1:${CPORT[3]}-127.0.0.1:$SPORT"
expect tuple 3
export_as tuple_rev 0 --tuple "127.0.0.1:$SPORT-127.0.0.1:${CPORT[3]}"
expect tuple_rev 3
export_as tuples 0 --tuple "127.0.0.1:${CPORT[1]}-127.0.0.1:$SPORT" \
	--tuple "127.0.0.1:${CPORT[2]}-127.0.0.1:$SPORT"
expect tuples "1 2"
export_as port 0 --host 127.0.0.1 --port "${CPORT[4]}" --proto tcp
expect port 4
export_as allport 0 --port "$SPORT"
expect allport "1 2 3 4"
export_as udp 1 --port "$SPORT" --proto udp
export_as otherhost 1 --host ::1

# ---- by time: the window of request 3 only (epoch and RFC 3339 forms) ---------------------
export_as time 0 --since "@${FIRST[3]}" --until "@${LAST[3]}"
expect time 3
since=$(date -u -d "@${FIRST[2]}" +%Y-%m-%dT%H:%M:%S.%NZ)
until=$(date -u -d "@${LAST[3]}" +%Y-%m-%dT%H:%M:%S.%N+00:00)
export_as time_iso 0 --since "$since" --until "$until"
expect time_iso "2 3"
export_as time_pid 0 --since "@${FIRST[2]}" --pid 4001 --pid 4002
expect time_pid 2

# ---- libpcap filter: whole flows dropped by it leave their secrets out -------------------
export_as bpf 0 "tcp port ${CPORT[1]}"
expect bpf 1
export_as bpf_pid 0 --comm curl tcp port "${CPORT[2]}" or tcp port "${CPORT[3]}"
expect bpf_pid 2

# ---- everything, to stdout, key log, no secrets --------------------------------------------
"$ECAP_EXPORT" --store "$T/store" -o - --keylog "$T/all.keys" \
	>"$T/stdout.pcapng" 2>"$T/stdout.err" \
	|| fail "export to stdout: $(cat "$T/stdout.err")"
check "$T/stdout.pcapng"
expect stdout "1 2 3 4"
assert_eq "$(sort "$T/cap/keys.log" | grep -v '^#')" "$(sort "$T/all.keys")" "--keylog file"
assert_eq "ecap-export" "$(field "$T/stdout.pcapng" shb_userappl | cut -d' ' -f1)" "shb_userappl"
case "$(field "$T/stdout.pcapng" shb_comment)" in
"Query: ecap-export --store $T/store -o - --keylog $T/all.keys\\nStore: $T/store\\nExported: "*) ;;
*) fail "SHB comment: $(field "$T/stdout.pcapng" shb_comment)" ;;
esac
export_as nosecrets 0 --no-secrets --pid 4002
assert_eq "" "$(uris "$T/nosecrets.pcapng")" "--no-secrets decrypts nothing"
assert_eq "" "$(field "$T/nosecrets.pcapng" randoms)" "--no-secrets has no DSB"
assert_ge 1 "$(field "$T/nosecrets.pcapng" epbs)" "--no-secrets still has packets"

# ---- nothing matched: exit 1, a valid capture, a reason -----------------------------------
for args in "--pid 999999" "--since @1 --until @2" "--comm nobody" "tcp port 1"; do
	# shellcheck disable=SC2086
	export_as empty 1 $args
	grep -q "nothing matched" "$T/empty.stderr" || fail "$args: no reason on stderr"
	assert_eq 0 "$(field "$T/empty.pcapng" epbs)" "$args: packets"
	assert_eq "" "$(uris "$T/empty.pcapng")" "$args: requests"
	tcpdump -nr "$T/empty.pcapng" >/dev/null 2>&1 ||
		fail "$args: tcpdump cannot read the empty file"
	blocks=$(field "$T/empty.pcapng" blocks)
	case "$blocks" in SHB\ IDB*) ;; *) fail "$args: blocks $blocks" ;; esac
done

# ---- bad arguments: exit 2 naming them ------------------------------------------------------
for args in "--pid x" "--since yesterday" "--tuple 1.2.3.4:1" "--port 70000" "--proto sctpx" \
	"--host nohost" "--since 1m --until 2m" "--bogus" "tcp porta 5"; do
	rc=0
	# shellcheck disable=SC2086
	"$ECAP_EXPORT" --store "$T/store" -o "$T/bad.pcapng" $args 2>"$T/bad.err" || rc=$?
	assert_eq 2 "$rc" "exit status for '$args'"
	grep -q . "$T/bad.err" || fail "'$args': no message"
done
rc=0
"$ECAP_EXPORT" --store "$T/nostore" -o "$T/bad.pcapng" 2>/dev/null || rc=$?
assert_eq 2 "$rc" "a store that does not exist"

# ---- ecap-ls sees the same selection ----------------------------------------------------------
"$ECAP_LS" --json -p -f --comm wget "$T/store" >"$T/ls.json"
python3 - "$T/ls.json" "${CPORT[3]}" <<'EOF' || fail "ecap-ls --json -p -f --comm wget"
import json, sys
d = json.load(open(sys.argv[1]))
flows, procs = d['flows'], d['processes']
assert len(flows) == 1, flows
f = flows[0]
assert f['a']['port'] == int(sys.argv[2]) and f['a']['process']['comm'] == 'wget', f
assert f['b']['process']['pid'] == 4100, f
assert [p['comm'] for p in procs] == ['wget'], procs
assert procs[0]['flows'] == 1 and procs[0]['packets'] == f['packets'], procs
EOF
"$ECAP_LS" --json "$T/store" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["flows"] == 4 and d["tls_sessions"] == 4, d
top = {p["pid"]: p for p in d["top_processes"]}
assert top[4100]["flows"] == 4, top
assert len(d["top_flows"]) == 4
' || fail "ecap-ls --json summary"
"$ECAP_LS" -p "$T/store" | grep -q ' openssl ' || fail "ecap-ls -p lists no openssl"
"$ECAP_LS" "$T/store" | grep -q '^TLS: *4 sessions' || fail "ecap-ls summary"
rc=0
"$ECAP_LS" --pid 999999 "$T/store" >/dev/null 2>&1 || rc=$?
assert_eq 1 "$rc" "ecap-ls with a selection that matches nothing"
info "ok"
