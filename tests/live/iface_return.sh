# SPDX-License-Identifier: GPL-2.0-only
# iface_return.sh - an interface that goes away while recording and comes back: ecap-rec
# records a veth (to a network namespace made here) and lo. The veth is deleted: the
# recorder says so once, keeps running and keeps recording lo (an export taken meanwhile
# shows the new lo traffic). A veth of the same name is made again (a new ifindex): the
# recorder attaches to it by itself, and its traffic is recorded again. At the end: the
# veth's packets from before and after are in one store interface and export by port, the
# lo packets are there, no filter of ours is left, and ecap-fsck is clean. A recorder stopped
# while the interface is gone exits 0 without errors and leaves nothing attached.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip curl

PORT=8080
S="$T/s"
veth_setup ret 201

# server in the namespace (restarted with the veth: its address went away with it)
SRV=
start_server() {
	ip netns exec "$NS" python3 -m http.server "$PORT" --bind "$NS_IP" --directory "$T/www" \
		>>"$T/http.log" 2>&1 &
	SRV=$!
	cleanup_pid "$SRV"
	for i in $(seq 50); do
		curl -s -o /dev/null --max-time 1 "http://$NS_IP:$PORT/" && return 0
		sleep 0.1
	done
	fail "the server in the namespace does not answer"
}

# an interface that does not exist at the start stays a usage error
expect_status 2 "$ECAP_REC" -i "$HOST_IF" --store "$T/s0" --no-tls -q

mkdir "$T/www"
head -c 20000 /dev/urandom | base64 >"$T/www/data.txt"
LPORT=$(free_port)
python3 -m http.server "$LPORT" --bind 127.0.0.1 --directory "$T/www" >"$T/lo-http.log" 2>&1 &
cleanup_pid "$!"
wait_port "$LPORT"
veth_make
start_server
IDX1=$(cat "/sys/class/net/$HOST_IF/ifindex")

rec_start "$T/rec.log" -i "$HOST_IF" -i lo --store "$S" --no-tls
curl -s -o /dev/null "http://$NS_IP:$PORT/data.txt" || fail "curl on the veth failed"
curl -s -o /dev/null "http://127.0.0.1:$LPORT/data.txt" || fail "curl on lo failed"
sleep 0.3

# ---- the veth goes away ----------------------------------------------------------------
T_GONE=$(date +%s.%N)
kill "$SRV"
wait "$SRV" 2>/dev/null || true
ip link del "$HOST_IF"
wait_for "$T/rec.log" "$HOST_IF went away; still recording the others" "$REC_PID" "ecap-rec"
for i in 1 2 3; do
	curl -s -o /dev/null "http://127.0.0.1:$LPORT/data.txt?gone=$i" ||
		fail "curl on lo failed"
done
sleep 2.5 # chunk age and commit interval: 1 s each
kill -0 "$REC_PID" 2>/dev/null || fail "ecap-rec stopped when $HOST_IF went away"
"$ECAP_EXPORT" --store "$S" -q --port "$LPORT" --since "@$T_GONE" -o "$T/lo-gone.pcapng" ||
	fail "export of lo while $HOST_IF is gone"
NGONE=$(tshark -r "$T/lo-gone.pcapng" -Y "http.request.uri contains \"gone=\"" 2>/dev/null |
	wc -l)
assert_eq 3 "$NGONE" "lo requests recorded while $HOST_IF was gone (export while recording)"

# ---- it comes back under a new index ------------------------------------------------------
T_BACK=$(date +%s.%N)
veth_make
IDX2=$(cat "/sys/class/net/$HOST_IF/ifindex")
wait_for "$T/rec.log" "$HOST_IF is back (index $IDX2); attached again" "$REC_PID" "ecap-rec"
T_ATT=$(date +%s.%N)
# (not has_filter: its grep -q ends the pipe early, and pipefail then reports the tc's SIGPIPE)
OURS=$(tc filter show dev "$HOST_IF" ingress; tc filter show dev "$HOST_IF" egress)
assert_eq 2 "$(echo "$OURS" | grep -c "handle $(printf '0x%x' "$REC_PID") ecap_")" \
	"filters of ours (ingress and egress) on the new $HOST_IF"
[ "$IDX1" != "$IDX2" ] || fail "the new $HOST_IF has the old index $IDX1 (test is void)"
start_server
curl -s -o "$T/got.txt" "http://$NS_IP:$PORT/data.txt" || fail "curl on the new veth failed"
cmp -s "$T/got.txt" "$T/www/data.txt" || fail "curl got other bytes"
sleep 0.5
rec_stop
assert_no_filters "$HOST_IF"
assert_no_filters lo
tc qdisc show dev "$HOST_IF" | grep -q clsact && fail "our clsact qdisc stayed on $HOST_IF"
assert_eq 1 "$(grep -c "went away" "$T/rec.log")" "'went away' lines"
grep -q "cannot detach" "$T/rec.log" && fail "detach errors: $(cat "$T/rec.log")"

# ---- what the store holds ----------------------------------------------------------------
"$ECAP_FSCK" "$S" >"$T/fsck.log" || fail "ecap-fsck: $(head -5 "$T/fsck.log")"
assert_eq 1 "$(sql "$S" "SELECT count(*) FROM interfaces WHERE name = '$HOST_IF'")" \
	"store interfaces named $HOST_IF"
"$ECAP_EXPORT" --store "$S" -q --port "$PORT" -o "$T/veth.pcapng" || fail "export by port"
"$ECAP_EXPORT" --store "$S" -q --host "$NS_IP" -o "$T/veth-host.pcapng" || fail "export by host"
count() { # file filter
	tshark -r "$1" -Y "$2" 2>/dev/null | wc -l
}
BEFORE=$(count "$T/veth.pcapng" "frame.time_epoch < $T_GONE")
AFTER=$(count "$T/veth.pcapng" "frame.time_epoch > $T_BACK")
ALL=$(count "$T/veth.pcapng" "tcp.port == $PORT")
info "$HOST_IF: $BEFORE packets before it went away, $AFTER after it came back, $ALL in all"
assert_ge 10 "$BEFORE" "packets on $HOST_IF before it went away"
assert_ge 10 "$AFTER" "packets on $HOST_IF after it came back"
assert_eq "$ALL" "$((BEFORE + AFTER))" "packets on $HOST_IF outside the two periods"
assert_eq "$ALL" "$(count "$T/veth-host.pcapng" "tcp.port == $PORT")" \
	"packets exported by host vs by port"
assert_eq "$HOST_IF" "$(tshark -r "$T/veth.pcapng" -T fields -e frame.interface_name \
	2>/dev/null | sort -u | tr -d '\n')" "interface of the exported veth packets"
GONE_NS=$(python3 -c "print(int($T_GONE * 1e9))")
BACK_NS=$(python3 -c "print(int($T_BACK * 1e9))")
assert_ge 1 "$(sql "$S" "SELECT count(*) FROM flows WHERE port_b = $PORT AND
	first_ns < $GONE_NS")" "HTTP flows on $HOST_IF before it went away"
assert_ge 1 "$(sql "$S" "SELECT count(*) FROM flows WHERE port_b = $PORT AND
	first_ns > $BACK_NS")" "HTTP flows on $HOST_IF after it came back"
"$ECAP_EXPORT" --store "$S" -q --port "$LPORT" -o "$T/lo.pcapng" || fail "export of lo"
assert_eq 4 "$(count "$T/lo.pcapng" "http.request")" "HTTP requests recorded on lo"
# ---- stopped while the interface is gone: no error, nothing left ---------------------------
rec_start "$T/rec2.log" -i "$HOST_IF" -i lo --store "$S" --no-tls
ip link del "$HOST_IF"
wait_for "$T/rec2.log" "$HOST_IF went away" "$REC_PID" "ecap-rec"
rec_stop
assert_no_filters lo
grep -q "cannot" "$T/rec2.log" &&
	fail "errors at a stop while $HOST_IF is gone: $(cat "$T/rec2.log")"
"$ECAP_FSCK" "$S" >"$T/fsck2.log" ||
	fail "ecap-fsck after the second run: $(head -5 "$T/fsck2.log")"

REATTACH_MS=$(python3 -c "print(round(($T_ATT - $T_BACK) * 1000))")
info "ok: $HOST_IF went away and came back (index $IDX1 -> $IDX2), attached again within" \
	"$REATTACH_MS ms of 'ip link add' (includes the link setup); lo recorded throughout"
