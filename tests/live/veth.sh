# SPDX-License-Identifier: GPL-2.0-only
# veth.sh - live recording on a real Ethernet interface: a veth pair between the host and a
# network namespace made here (10.200.N.0/30, nothing leaves the machine). curl on the host
# talks to a python3 http.server inside the namespace. Checks: ingress and egress both
# recorded, each packet once (same count as tcpdump on the interface), real MAC addresses,
# direction flags (the client's SYN outbound, the SYN-ACK inbound), curl attributed with the
# host's netns, and the server in the namespace with the namespace's (the kernel shows that
# its socket sent the packets that came through the veth: skb->sk), and no one else; after
# SIGTERM no filter and no clsact qdisc of ours stays on the interface. UDP datagrams to
# port 9 from the namespace get a VLAN tag that the skb keeps outside the packet bytes, as
# with a NIC's VLAN acceleration (tests/live/vlan_push.bpf.c on the namespace end): they
# must be recorded with the tag in place, as tcpdump shows them.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip tcpdump curl

PORT=8080
veth_setup veth 200
veth_make
vlan_push_attach

mkdir "$T/www"
head -c 50000 /dev/urandom | base64 >"$T/www/data.txt"
ip netns exec "$NS" python3 -m http.server "$PORT" --bind "$NS_IP" --directory "$T/www" \
	>"$T/http.log" 2>&1 &
SRV=$!
cleanup_pid "$SRV"
for i in $(seq 50); do
	curl -s -o /dev/null --max-time 1 "http://$NS_IP:$PORT/" && break
	sleep 0.1
done

tcpdump_start "$T/td.pcap" "$T/td.log" "$HOST_IF" "tcp port $PORT or (vlan and udp port 9)"
rec_start "$T/rec.log" -i "$HOST_IF" --store "$T/s" --no-tls
tc qdisc show dev "$HOST_IF" | grep -q clsact || fail "no clsact qdisc while recording"
curl -s -o "$T/got.txt" "http://$NS_IP:$PORT/data.txt" &
CURL=$!
wait "$CURL" || fail "curl failed"
cmp -s "$T/got.txt" "$T/www/data.txt" || fail "curl got other bytes"
# tagged datagrams: the host has no VLAN 100, so it drops them after the capture points
ip netns exec "$NS" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b'tagged %d' % i + b'.' * 100 * i, ('$HOST_IP', 9))
"
sleep 0.5
rec_stop
tcpdump_stop
assert_no_filters "$HOST_IF"
assert_accounting "$T/rec.log"
tc qdisc show dev "$HOST_IF" | grep -q clsact && fail "our clsact qdisc stayed on $HOST_IF"

store_pcapng "$T/s" "$T/all.pcapng"
TD=$(tshark -r "$T/td.pcap" -Y "tcp.port == $PORT" 2>/dev/null | wc -l)
EC=$(tshark -r "$T/all.pcapng" -Y "tcp.port == $PORT" 2>/dev/null | wc -l)
info "$HOST_IF port $PORT: tcpdump $TD packets, ecap $EC"
assert_ge 10 "$TD" "packets tcpdump saw"
assert_eq "$TD" "$EC" "packets on $HOST_IF (ecap vs tcpdump)"
VF=(-Y "vlan.id == 100 && udp.dstport == 9" -T fields -e frame.len -e vlan.etype -e data.len)
tshark -r "$T/td.pcap" "${VF[@]}" >"$T/tdv.txt" 2>/dev/null
tshark -r "$T/all.pcapng" "${VF[@]}" >"$T/ecv.txt" 2>/dev/null
assert_eq 5 "$(wc -l <"$T/tdv.txt")" "VLAN-tagged datagrams tcpdump saw"
cmp -s "$T/tdv.txt" "$T/ecv.txt" || {
	paste "$T/tdv.txt" "$T/ecv.txt" >&2
	fail "VLAN-tagged frames differ from tcpdump's (length, inner type, payload)"
}

HOST_MAC=$(cat "/sys/class/net/$HOST_IF/address")
count() { tshark -r "$T/all.pcapng" -Y "$1" 2>/dev/null | wc -l; }
assert_eq 1 "$(count "tcp.flags.syn == 1 && tcp.flags.ack == 0 && eth.src == $HOST_MAC &&
	frame.packet_flags_direction == 2")" "client SYN: host MAC as source, outbound"
assert_eq 1 "$(count "tcp.flags.syn == 1 && tcp.flags.ack == 1 && eth.dst == $HOST_MAC &&
	frame.packet_flags_direction == 1")" "SYN-ACK: host MAC as destination, inbound"
assert_eq 0 "$(count "tcp.port == $PORT && !(frame.packet_flags_direction == 1) &&
	!(frame.packet_flags_direction == 2)")" "packets without a direction"

HOST_NETNS=$(stat -L -c %i /proc/self/ns/net)
assert_eq "curl $HOST_NETNS" "$(sql "$T/s" "SELECT p.comm || ' ' || p.netns FROM flows f
	JOIN flow_procs p ON p.flow_id = f.id WHERE f.port_b = $PORT AND p.pid = $CURL")" \
	"curl's end"
NS_NETNS=$(stat -L -c %i "/run/netns/$NS")
assert_eq "python3 $NS_NETNS" "$(sql "$T/s" "SELECT DISTINCT p.comm || ' ' || p.netns FROM flows f
	JOIN flow_procs p ON p.flow_id = f.id WHERE f.port_b = $PORT AND p.side = 1")" \
	"the server's end (its socket in $NS)"
assert_eq 0 "$(sql "$T/s" "SELECT count(*) FROM flow_procs p JOIN flows f ON p.flow_id = f.id
	WHERE f.port_b = $PORT AND p.pid NOT IN ($CURL, $SRV)")" \
	"owners of flows recorded on $HOST_IF other than curl and the server"
info "ok: $EC packets on $HOST_IF, curl attributed, the server in $NS too (its own namespace)"
