# SPDX-License-Identifier: GPL-2.0-only
# any.sh - `ecap-rec -i any` records every interface of every network namespace, those made
# after it started included, each packet once. Two recorders start first: one with no filter,
# one with a kernel filter (PCAP-FILTER "udp port U"). Then a namespace is made with a veth
# pair to the host; in it, a client sends N UDP datagrams to a server on the host and a TCP
# transfer to another (tcpdump on the namespace's end counts the transfer's packets), and
# sends J datagrams over the namespace's own lo; on the host, K datagrams go over lo.
# Checks on the export of the unfiltered store:
#   - the namespace's end is named NS_IF@NS, its IDB describes the namespace's inode and
#     /run/netns path; the host's lo is plain "lo";
#   - each packet once: the N datagrams are N packets, all on NS_IF@NS (not again on the
#     host's end), the transfer has exactly the packets tcpdump saw in the namespace, the J
#     and K lo datagrams are J and K packets (not once sent and once received);
#   - ecap-export --pid of the UDP client finds its N datagrams;
#   - a veth pair between two namespaces other than the recorders': 11 datagrams, 11 packets,
#     all on one of its ends;
#   - 3 datagrams that leave NS_IF with a VLAN tag outside their bytes (tests/live/
#     vlan_push.bpf.c) are recorded with the tag put back after the MAC addresses;
#   - the status lines add up (seen = stored + filtered + drops);
#   - the export's timestamps never step back, across all interfaces (every CPU's packets
#     merged by time), in both stores;
# and on the filtered store: the N datagrams and nothing else, most skipped in the kernel.
# More kinds of namespaces (containers) are added as further sources in "traffic" below,
# each with its own checks after "checks".
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip tcpdump
[ -e "$ECAP_BUILD/bpf/capture_any.skel.h" ] || skip "ecap-rec is built without -i any"

N=40 # UDP datagrams namespace -> host over the veth pair
J=7  # over the namespace's lo
K=5  # over the host's lo
U=$(free_port)
TP=$(free_port)
LOP=$(free_port)

# any_start LOG STORE ARGS...: an ecap-rec -i any; its pid in REC_PID. Skips when the kernel
# refuses the tracepoint programs.
any_start() {
	local log=$1 store=$2
	shift 2
	"$ECAP_REC" -i any --store "$store" --no-tls "$@" 2>"$log" &
	REC_PID=$!
	cleanup_pid "$REC_PID"
	for _ in $(seq 200); do
		grep -q "recording on" "$log" && return 0
		if ! kill -0 "$REC_PID" 2>/dev/null; then
			grep -q "refused the -i any program" "$log" &&
				skip "the kernel refuses tp_btf programs: $(tail -1 "$log")"
			cat "$log" >&2
			fail "ecap-rec -i any exited early"
		fi
		sleep 0.1
	done
	fail "ecap-rec -i any not ready after 20 s"
}

any_start "$T/rec.log" "$T/s"
REC_ALL=$REC_PID
any_start "$T/recf.log" "$T/sf" "udp port $U"
REC_FILT=$REC_PID

# ---- traffic: namespaces and interfaces made while the recorders run ----------------------
veth_setup any 213
veth_make
vlan_push_attach # datagrams to port 9 leave NS_IF with a VLAN tag kept outside the bytes
NSINO=$(stat -L -c %i "/run/netns/$NS")
# a second namespace, joined to the first by a veth pair of its own: both ends are outside
# the recorders' namespace, so one end is chosen by (namespace inode, ifindex)
NS2="$NS-b"
cleanup_cmd "ip netns del $NS2 2>/dev/null"
ip netns add "$NS2"
ip -n "$NS" link add "ea$$x" type veth peer name "ea$$y" netns "$NS2"
ip -n "$NS" addr add 192.168.213.1/30 dev "ea$$x"
ip -n "$NS" link set "ea$$x" up
ip -n "$NS2" addr add 192.168.213.2/30 dev "ea$$y"
ip -n "$NS2" link set "ea$$y" up

python3 - "$HOST_IP" "$U" "$TP" >"$T/srv.log" 2>&1 <<'PY' &
import socket, sys, threading
ip, u, tp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
us.bind((ip, u))
ts = socket.socket()
ts.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ts.bind((ip, tp))
ts.listen(1)
def udp():
    while True:
        us.recv(2048)
threading.Thread(target=udp, daemon=True).start()
print("ready", flush=True)
c, _ = ts.accept()
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
c.close()
print("got", n, flush=True)
PY
SRV=$!
cleanup_pid "$SRV"
wait_for "$T/srv.log" "^ready" "$SRV" "server"
ip netns exec "$NS" tcpdump -i "$NS_IF" -B 65536 -U -n --immediate-mode -w "$T/ns.pcap" \
	tcp port "$TP" \
	2>"$T/tcpdump.log" &
TCPDUMP_PID=$!
cleanup_pid "$TCPDUMP_PID"
wait_for "$T/tcpdump.log" "listening on" "$TCPDUMP_PID" "tcpdump in $NS"

ip netns exec "$NS" python3 - "$HOST_IP" "$U" "$N" "$LOP" "$J" >"$T/cli.log" 2>&1 <<'PY' &
import socket, sys, time
ip, u, n, lop, j = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(b"d%04d" % i + b"x" * 200, (ip, u))
    time.sleep(0.002)
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", lop))
lo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(j):
    lo.sendto(b"lo%d" % i, ("127.0.0.1", lop))
print("sent", flush=True)
time.sleep(0.5)
PY
CLI=$!
wait "$CLI" || { cat "$T/cli.log" >&2; fail "the UDP client in $NS failed"; }
ip netns exec "$NS" python3 - "$HOST_IP" <<'PY' || fail "the tagged datagrams failed"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3):
    s.sendto(b"tagged %d" % i, (sys.argv[1], 9))
PY
ip netns exec "$NS2" python3 - "$U" <<'PY' || fail "the UDP client in $NS2 failed"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(11):
    s.sendto(b"b%d" % i, ("192.168.213.1", int(sys.argv[1]) + 1))
PY
head -c 3000000 /dev/urandom >"$T/blob"
ip netns exec "$NS" python3 - "$HOST_IP" "$TP" "$T/blob" <<'PY' || fail "TCP transfer failed"
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.sendall(open(sys.argv[3], "rb").read())
c.close()
PY
wait "$SRV" || true
grep -q "^got 3000000" "$T/srv.log" || fail "the TCP server did not get the transfer"
python3 - "$LOP" "$K" <<'PY'
import socket, sys
p, k = int(sys.argv[1]), int(sys.argv[2])
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", p))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(k):
    s.sendto(b"host%d" % i, ("127.0.0.1", p))
PY
sleep 0.5
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || true
for REC_PID in $REC_ALL $REC_FILT; do
	rec_stop
done

# ---- checks ---------------------------------------------------------------------------------
"$ECAP_EXPORT" --store "$T/s" -o "$T/all.pcapng" -q || fail "export of the -i any store failed"
# fields FILTER FIELDS...: one line per packet matching the display filter
fields() {
	local f=$1
	shift
	tshark -r "$T/all.pcapng" -Y "$f" -T fields -E separator=/ "${@/#/-e}" 2>/dev/null
}
count() { fields "$1" frame.number | wc -l; }

IFNAME="$NS_IF@$NS"
assert_eq "$IFNAME" "$(fields "udp.dstport == $U" frame.interface_name | sort -u)" \
	"interfaces holding the $N datagrams"
DESC=$(fields "udp.dstport == $U" frame.interface_description | sort -u)
[[ "$DESC" == "netns $NSINO /run/netns/$NS ifindex "* ]] ||
	fail "description of $IFNAME: '$DESC' (want its namespace inode $NSINO and path)"
assert_eq "$N" "$(count "udp.dstport == $U")" "packets of the $N datagrams (each once)"
assert_eq "$J" "$(count "udp.dstport == $LOP && frame.interface_name == \"lo@$NS\"")" \
	"packets of the $J datagrams over lo@$NS (sent and received once)"
assert_eq "$K" "$(count "udp.dstport == $LOP && frame.interface_name == \"lo\"")" \
	"packets of the $K datagrams over the host's lo"
assert_eq "$((J + K))" "$(count "udp.dstport == $LOP")" "lo datagrams on any interface"
# tcpdump's kernel count (it may drop some of what it counts when its buffer is full)
WANT=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter/\1/p' "$T/tcpdump.log")
assert_ge 10 "$WANT" "transfer packets tcpdump saw in $NS"
assert_eq "$WANT" "$(count "tcp.port == $TP")" "transfer packets (tcpdump in $NS saw $WANT)"
assert_eq "$IFNAME" "$(fields "tcp.port == $TP" frame.interface_name | sort -u)" \
	"interfaces holding the transfer"

assert_eq "3" "$(count "udp.dstport == 9 && vlan.id == 100 && !icmp && frame.interface_name == \"$IFNAME\"")" \
	"datagrams to port 9 with their VLAN tag 100 (kept outside the bytes) put back"
B2=$(fields "udp.dstport == $((U + 1)) && !icmp" frame.interface_name | sort | uniq -c |
	awk '{print $1, $2}')
case $B2 in
"11 ea$$x@$NS" | "11 ea$$y@$NS2") ;;
*) fail "11 datagrams $NS2 -> $NS over their veth pair: '$B2' (want 11 on one end)" ;;
esac

"$ECAP_EXPORT" --store "$T/s" --pid "$CLI" -o "$T/cli.pcapng" -q ||
	fail "export --pid $CLI (the UDP client in $NS) failed"
assert_eq "$N" "$(tshark -r "$T/cli.pcapng" -Y "udp.dstport == $U" 2>/dev/null | wc -l)" \
	"datagrams exported for --pid $CLI"

assert_accounting "$T/rec.log"
assert_accounting "$T/recf.log"
assert_time_order "$T/all.pcapng" "the -i any store (the whole machine's packets)"

"$ECAP_EXPORT" --store "$T/sf" -o "$T/f.pcapng" -q || fail "export of the filtered store failed"
assert_eq "$N" "$(tshark -r "$T/f.pcapng" 2>/dev/null | wc -l)" "packets in the filtered store"
assert_time_order "$T/f.pcapng" "the filtered -i any store"
assert_eq "$N" "$(tshark -r "$T/f.pcapng" -Y "udp.dstport == $U" 2>/dev/null | wc -l)" \
	"datagrams in the filtered store"
KF=$(grep "stopped:" "$T/recf.log" | sed -n 's/.*(\([0-9]*\) in the kernel).*/\1/p')
assert_ge "$WANT" "${KF:-0}" "packets the kernel filter skipped (at least the transfer)"
info "-i any: $IFNAME (netns $NSINO) and lo once each; transfer $WANT packets as tcpdump;" \
	"kernel filter skipped $KF"
