# SPDX-License-Identifier: GPL-2.0-only
# any_podman.sh - `ecap-rec -i any`, started first, on a host where things come later: a
# network namespace with a veth pair to the host and a client in it, and a podman container
# (podman_lib.sh: runc, cgroupfs, all under the scratch directory) whose curl fetches a page
# from a server outside, through the MASQUERADE that netavark sets up for the container's
# network. "Outside" is a namespace of the test's own behind a veth pair on the host
# (OUT_IF@OUT): no traffic leaves the machine. tcpdump runs in each namespace. Checks:
#  - ecap-export --container NAME holds the container's connection twice, before NAT on the
#    container's end of its veth (eth0@NETNS, the IDB naming the container's namespace
#    inode) and after NAT on the outside end (linked:
#    ecap-ls --flows says SNAT to / from), and nothing else; every packet's comment names the
#    container's id and name: before NAT as the owner of the curl's end (-i any records a
#    container's veth at the container's end, in the socket's own namespace, so the owner
#    needs no socket seen across the veth, as -i NAME on the host's end does), after NAT as
#    the server's peer (through the link);
#  - each packet once: per interface, the export holds exactly the packets tcpdump saw in
#    that namespace, and the whole store holds the connection's packets on those two
#    interfaces only (not again on the host's ends or the bridge);
#  - ecap-export --pid of the namespace's client: its connection, once, on its namespace's
#    end, as many packets as tcpdump saw there, not linked to anything.
# At the end: containers, image, network, namespaces, veths, firewall rules and ip_forward
# as they were (podman_lib.sh).
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl ip nsenter iptables-save tcpdump ss
[ -e "$ECAP_BUILD/bpf/capture_any.skel.h" ] || skip "ecap-rec is built without -i any"
source "$ECAP_SRC/tests/live/podman_lib.sh"
podman_need

SFX=$(($$ % 10000))
TAG=nat-any-$$
NET=$TAG-net
BRIDGE=nat-any-b$SFX
SUBNET=10.166.1
CTR=$TAG-ctr
IMG=localhost/$TAG-img:1
OUT=$TAG-out OUT_IF=nat-any-o$SFX UP_IF=nat-any-u$SFX   # outside: 10.166.2.2, host 10.166.2.1
CL=$TAG-cl CL_IF=nat-any-d$SFX CLH_IF=nat-any-c$SFX     # client: 10.166.3.2, host 10.166.3.1
PORT=$(free_port)
PORT2=$(free_port)

podman_setup "$NET" "$BRIDGE" "$SUBNET"
podman_image "$IMG"
podman_api "$T/api.sock"

# ---- the recorder first ----------------------------------------------------------------------
any_start "$T/rec.log" "$T/s" --container-api "$T/api.sock" \
	"tcp port $PORT or tcp port $PORT2"
grep -q "conntrack reader cannot be loaded" "$T/rec.log" &&
	skip "-i any cannot read conntrack here: $(grep conntrack "$T/rec.log")"

# ---- then the namespaces, the veths and the container ----------------------------------------
for ns in "$OUT" "$CL"; do
	cleanup_cmd "ip netns del $ns 2>/dev/null"
	ip netns add "$ns" || skip "cannot create network namespaces here"
	ip -n "$ns" link set lo up
done
cleanup_cmd "ip link del $UP_IF 2>/dev/null"
cleanup_cmd "ip link del $CLH_IF 2>/dev/null"
ip link add "$UP_IF" type veth peer name "$OUT_IF" netns "$OUT" &&
	ip addr add 10.166.2.1/24 dev "$UP_IF" && ip link set "$UP_IF" up &&
	ip -n "$OUT" addr add 10.166.2.2/24 dev "$OUT_IF" && ip -n "$OUT" link set "$OUT_IF" up &&
	ip link add "$CLH_IF" type veth peer name "$CL_IF" netns "$CL" &&
	ip addr add 10.166.3.1/30 dev "$CLH_IF" && ip link set "$CLH_IF" up &&
	ip -n "$CL" addr add 10.166.3.2/30 dev "$CL_IF" && ip -n "$CL" link set "$CL_IF" up ||
	fail "cannot make the veth pairs"

mkdir "$T/www"
head -c 60000 /dev/urandom | base64 >"$T/www/page.txt"
in_ns "$OUT" "$T/http-out.log" python3 -m http.server "$PORT" --bind 10.166.2.2 \
	--directory "$T/www"
python3 -m http.server "$PORT2" --bind 10.166.3.1 --directory "$T/www" >"$T/http-host.log" 2>&1 &
cleanup_pid $!

"${PM[@]}" run -d --name "$CTR" --network "$NET" "$IMG" sleep 120 >"$T/ctr.id" 2>"$T/run.log" ||
	{ cat "$T/run.log" >&2; skip "podman cannot run a container here (runc, cgroupfs)"; }
ID=$(cat "$T/ctr.id")
SANDBOX=$("${PM[@]}" inspect --format '{{.NetworkSettings.SandboxKey}}' "$CTR")
[ -e "$SANDBOX" ] || fail "container $CTR has no network namespace ($SANDBOX)"
CTR_INO=$(stat -L -c %i "$SANDBOX")
for i in $(seq 50); do # the servers listen (asked without a connection: it would be recorded)
	[ -n "$(ss -Hltn "sport = :$PORT2")" ] &&
		[ -n "$(ip netns exec "$OUT" ss -Hltn "sport = :$PORT")" ] && break
	[ "$i" -lt 50 ] || fail "the test's HTTP servers do not listen"
	sleep 0.1
done

# tcpdump_in NAME NSENTER-ARGS DEV PORT: tcpdump in a namespace, into $T/NAME.pcap
tcpdump_in() {
	local name=$1 nsarg=$2 dev=$3 port=$4
	nsenter "$nsarg" tcpdump -i "$dev" -B 16384 -U -n --immediate-mode -w "$T/$name.pcap" \
		tcp port "$port" 2>"$T/$name.tcpdump.log" &
	eval "TD_$name=$!"
	cleanup_pid $!
	wait_for "$T/$name.tcpdump.log" "listening on" "$!" "tcpdump in $name"
}
tcpdump_in ctr "--net=$SANDBOX" eth0 "$PORT"
tcpdump_in out "--net=/run/netns/$OUT" "$OUT_IF" "$PORT"
tcpdump_in cl "--net=/run/netns/$CL" "$CL_IF" "$PORT2"

"${PM[@]}" exec "$CTR" curl -s -o /dev/null "http://10.166.2.2:$PORT/page.txt" ||
	fail "curl in $CTR to the outside (through MASQUERADE) failed"
ip netns exec "$CL" curl -s -o "$T/got" "http://10.166.3.1:$PORT2/page.txt" &
CLIENT=$!
wait "$CLIENT" || fail "curl in $CL failed"
cmp -s "$T/got" "$T/www/page.txt" || fail "curl in $CL got other bytes"
sleep 1.5 # the container's metadata asked, NAT sightings paired (once a second)
for name in ctr out cl; do
	eval "kill -INT \$TD_$name; wait \$TD_$name || true"
done
rec_stop
grep -q "1 flows linked through NAT" "$T/rec.log" ||
	{ cat "$T/rec.log" >&2; fail "the recorder did not link one connection through NAT"; }

# ---- checks --------------------------------------------------------------------------------
tcpdump_count() { # NAME: packets tcpdump took in (it says how many its filter received)
	sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter/\1/p' "$T/$1.tcpdump.log"
}
N_CTR=$(tcpdump_count ctr) N_OUT=$(tcpdump_count out) N_CL=$(tcpdump_count cl)
assert_ge 10 "$N_CTR" "packets tcpdump saw in $CTR"
assert_eq "$N_CTR" "$N_OUT" "packets tcpdump saw outside (one for each in the container)"
comments() {
	tshark -r "$1" -T fields -e frame.interface_name -e frame.comment 2>/dev/null |
		sed 's/\\n/|/g; s/$/|/'
}
"$ECAP_EXPORT" --store "$T/s" --container "$CTR" -o "$T/ctr.pcapng" -q ||
	fail "export --container $CTR failed"
comments "$T/ctr.pcapng" >"$T/ctr.txt"
# the container's end: eth0@ and its namespace's name, or inode when it had none (README)
IF_CTR=$(tshark -r "$T/ctr.pcapng" -T fields -e frame.interface_name \
	-e frame.interface_description 2>/dev/null | grep -m1 "^eth0@.*	netns $CTR_INO " |
	cut -f1 || true)
[ -n "$IF_CTR" ] || fail "no packet of $CTR's export is on an eth0 of netns $CTR_INO"
IF_OUT="$OUT_IF@$OUT"
assert_eq "$IF_CTR $IF_OUT " "$(cut -f1 "$T/ctr.txt" | sort -u | tr '\n' ' ')" \
	"interfaces of $CTR's export (before NAT in the container, after it outside)"
assert_eq "$N_CTR" "$(grep -c "^$IF_CTR	" "$T/ctr.txt" || true)" \
	"packets on $IF_CTR (tcpdump there saw $N_CTR)"
assert_eq "$N_OUT" "$(grep -c "^$IF_OUT	" "$T/ctr.txt" || true)" \
	"packets on $IF_OUT (tcpdump there saw $N_OUT)"
N=$((N_CTR + N_OUT))
for want in "ContainerId: $ID|" "ContainerName: $CTR|"; do
	assert_eq "$N" "$(grep -cF -- "$want" "$T/ctr.txt" || true)" \
		"packets of $CTR's export whose comment has '$want'"
done
# before NAT: the container's curl owns its end itself (not as a "Peer": that is the server,
# from the flow after NAT); after NAT: the server owns its end, the container's curl is the
# peer, through the link
own() { sed -E 's/\|Peer [^|]*//g'; }
assert_eq "$N_CTR" "$(grep "^$IF_CTR	" "$T/ctr.txt" | own |
	grep -c "	PID: [0-9]*|.*|Cmd: curl|.*|ContainerName: $CTR|" || true)" \
	"packets before NAT owned by the container's curl in its own namespace"
assert_eq "$N_OUT" "$(grep "^$IF_OUT	" "$T/ctr.txt" |
	grep -c "|Cmd: python3|.*|Peer Cmd: curl|.*|Peer ContainerName: $CTR|" || true)" \
	"packets after NAT owned by the server, with the container's curl as the peer"
assert_eq "10.166.1 10.166.2.1 10.166.2.2 " \
	"$(tshark -r "$T/ctr.pcapng" -T fields -e ip.src -e ip.dst 2>/dev/null | tr '\t' '\n' |
		sed 's/^10\.166\.1\.[0-9]*$/10.166.1/' | sort -u | tr '\n' ' ')" \
	"addresses of $CTR's export"

# the link, and nothing else linked
"$ECAP_LS" --flows --json "$T/s" >"$T/flows.json" || fail "ecap-ls --flows --json failed"
links_ok=0
python3 - "$T/flows.json" "$PORT" <<'PY' || links_ok=$?
import json, sys
flows = json.load(open(sys.argv[1]))["flows"]
port = int(sys.argv[2])
# either end may be a: the end that sent the flow's first recorded packet
def ends(f):
    return [(f[e]["addr"], f[e]["port"]) for e in ("a", "b")]
ours = [f for f in flows if ("10.166.2.2", port) in ends(f)]
assert len(ours) == 2, flows
pre = [f for f in ours if any(a.startswith("10.166.1.") for a, _ in ends(f))]
post = [f for f in ours if ("10.166.2.1" in (a for a, _ in ends(f)))]
assert len(pre) == 1 and len(post) == 1, ours
assert pre[0]["nat"] == [{"kind": "SNAT", "after": post[0]["id"]}], pre
assert post[0]["nat"] == [{"kind": "SNAT", "before": pre[0]["id"]}], post
assert sum(len(f["nat"]) for f in flows) == 2, flows
PY
[ "$links_ok" -eq 0 ] || fail "ecap-ls --flows: not one link between the container's two flows"

# each packet once in the whole store: the container's connection on its two points only
"$ECAP_EXPORT" --store "$T/s" -o "$T/all.pcapng" -q || fail "export of the store failed"
assert_eq "$N $IF_CTR $IF_OUT " \
	"$(tshark -r "$T/all.pcapng" -Y "tcp.port == $PORT" -T fields -e frame.interface_name \
		2>/dev/null | sort | uniq -c | awk '{ n += $1; s = s $2 " " } END { print n, s }')" \
	"packets of the container's connection in the store, and where"

# the namespace's client: its own connection, once, on its end
"$ECAP_EXPORT" --store "$T/s" --pid "$CLIENT" -o "$T/cl.pcapng" -q ||
	fail "export --pid $CLIENT failed"
comments "$T/cl.pcapng" >"$T/cl.txt"
assert_ge 10 "$N_CL" "packets tcpdump saw in $CL"
assert_eq "$N_CL $CL_IF@$CL " "$(cut -f1 "$T/cl.txt" | sort | uniq -c |
	awk '{ n += $1; s = s $2 " " } END { print n, s }')" \
	"packets of the client in $CL and where (tcpdump there saw $N_CL)"
assert_eq "$N_CL" "$(grep -c "	PID: $CLIENT|" "$T/cl.txt" || true)" \
	"packets of the client whose comment names pid $CLIENT"
info "$CTR ($ID): $N_CTR packets on $IF_CTR and $N_OUT on $IF_OUT (after MASQUERADE)," \
	"linked, once each; client in $CL: $N_CL packets"
