# SPDX-License-Identifier: GPL-2.0-only
# capture_lo.sh - live recording on lo: every packet once (the same count as a concurrent
# tcpdump -i lo), timestamps within 1 ms of tcpdump's, and process attribution of both ends
# for curl <-> python3 http.server, for a TCP connection that existed before the recorder
# started and carries only kernel keepalives afterwards (so only /proc can name its owners),
# and for unconnected UDP sockets on both ends. After SIGTERM no filter of ours stays on lo.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd tcpdump curl

S=$T/store
HTTP=$(free_port)
KA=$(free_port)
UDP=$(free_port)
mkdir "$T/www"
head -c 20000 /dev/urandom | base64 >"$T/www/page.txt"

python3 -m http.server "$HTTP" --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 &
SRV=$!
cleanup_pid "$SRV"
wait_port "$HTTP"

# A connection that predates the recorder; afterwards only keepalive probes cross it.
peer_start "$T/kas.log" keepalive-server 127.0.0.1 "$KA"
KAS=$PEER_PID
peer_start "$T/kac.log" keepalive-client 127.0.0.1 "$KA"
KAC=$PEER_PID
sleep 0.5

tcpdump_start "$T/td.pcap" "$T/td.log" lo "tcp port $HTTP"
rec_start "$T/rec.log" -i lo --store "$S" --no-tls

CURLS=()
for i in 1 2 3; do
	curl -s -o /dev/null "http://127.0.0.1:$HTTP/page.txt" &
	CURLS+=("$!")
	wait "$!" || fail "curl $i failed"
done

peer_start "$T/ue.log" udp-echo 127.0.0.1 "$UDP" 3
UE=$PEER_PID
python3 "$PEERS" udp-send 127.0.0.1 "$UDP" 3 >"$T/us.log" 2>&1 &
US=$!
wait "$US" || fail "udp-send failed"
wait "$UE" || fail "udp-echo failed"

sleep 3 # keepalive probes, one a second
rec_stop
tcpdump_stop
assert_no_filters lo
assert_accounting "$T/rec.log"
grep -q "process attribution through" "$T/rec.log" || fail "no attribution summary in the log"

# ---- every packet once --------------------------------------------------------------------
store_pcapng "$S" "$T/all.pcapng"
TD=$(tcpdump -r "$T/td.pcap" -n 2>/dev/null | wc -l)
EC=$(tshark -r "$T/all.pcapng" -Y "tcp.port == $HTTP" 2>/dev/null | wc -l)
info "port $HTTP: tcpdump $TD packets, ecap $EC"
assert_ge 30 "$TD" "packets tcpdump saw"
assert_eq "$TD" "$EC" "packets on port $HTTP (ecap vs tcpdump -i lo)"
LINK=$(tshark -r "$T/all.pcapng" -Y "tcp.port == $HTTP" -T fields -e eth.src -e eth.dst \
	2>/dev/null | sort -u)
assert_eq "$(printf '00:00:00:00:00:00\t00:00:00:00:00:00')" "$LINK" "lo Ethernet header"

# ---- timestamps within 1 ms of tcpdump's --------------------------------------------------
FIELDS=(-T fields -e frame.time_epoch -e tcp.srcport -e tcp.seq_raw -e tcp.ack_raw
	-e tcp.flags -e tcp.len)
tshark -r "$T/td.pcap" "${FIELDS[@]}" >"$T/td.txt" 2>/dev/null
tshark -r "$T/all.pcapng" -Y "tcp.port == $HTTP" "${FIELDS[@]}" >"$T/ec.txt" 2>/dev/null
python3 - "$T/td.txt" "$T/ec.txt" <<'EOF' || fail "timestamps differ from tcpdump's"
import sys
from decimal import Decimal
def load(path):
    d = {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        d.setdefault(tuple(f[1:]), []).append(Decimal(f[0]))
    return d
td, ec = load(sys.argv[1]), load(sys.argv[2])
worst = Decimal(0)
for k, ts in td.items():
    if k not in ec or len(ec[k]) != len(ts):
        sys.exit("packet %s: tcpdump %d, ecap %d" % (k, len(ts), len(ec.get(k, []))))
    for a, b in zip(sorted(ts), sorted(ec[k])):
        worst = max(worst, abs(a - b))
print("# largest timestamp difference: %.6f ms" % (worst * 1000), file=sys.stderr)
if worst > Decimal("0.001"):
    sys.exit("largest difference %.6f s" % worst)
EOF

# ---- attribution --------------------------------------------------------------------------
flows_with() { # proto port pid comm -> flows of that port where pid/comm owns an end
	sql "$S" "SELECT count(DISTINCT f.id) FROM flows f JOIN flow_procs p ON p.flow_id = f.id
		WHERE f.proto = $1 AND (f.port_a = $2 OR f.port_b = $2)
		AND p.pid = $3 AND p.comm = '$4'"
}
for pid in "${CURLS[@]}"; do
	assert_eq 1 "$(flows_with 6 "$HTTP" "$pid" curl)" "flows of curl pid $pid"
done
assert_eq 3 "$(flows_with 6 "$HTTP" "$SRV" python3)" "flows of the HTTP server pid $SRV"
assert_eq 3 "$(sql "$S" "SELECT count(*) FROM flows f WHERE f.proto = 6 AND
	(f.port_a = $HTTP OR f.port_b = $HTTP)")" "HTTP flows"
# the server end is the side with the server port
assert_eq 3 "$(sql "$S" "SELECT count(*) FROM flows f JOIN flow_procs p ON p.flow_id = f.id
	WHERE f.proto = 6 AND p.pid = $SRV AND
	((p.side = 0 AND f.port_a = $HTTP) OR (p.side = 1 AND f.port_b = $HTTP))")" \
	"server owns the server-port end"

assert_eq 1 "$(flows_with 6 "$KA" "$KAS" python3)" "pre-existing connection: server end"
assert_eq 1 "$(flows_with 6 "$KA" "$KAC" python3)" "pre-existing connection: client end"

assert_eq 1 "$(flows_with 17 "$UDP" "$UE" python3)" "UDP: receiving end"
assert_eq 1 "$(flows_with 17 "$UDP" "$US" python3)" "UDP: sending end"
UID_GID=$(sql "$S" "SELECT DISTINCT p.uid || ':' || p.gid FROM flow_procs p WHERE p.pid = $SRV")
assert_eq "$(id -u):$(id -g)" "$UID_GID" "uid:gid of the server"
info "ok: $EC packets, attribution of curl, http.server, keepalive pair and UDP peers"
