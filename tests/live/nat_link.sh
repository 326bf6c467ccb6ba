# SPDX-License-Identifier: GPL-2.0-only
# nat_link.sh - a container's connection seen before and after MASQUERADE is one connection.
# Three network namespaces made here stand for a host with a container: CTR (the container,
# 10.157.1.2, its default route through the host), HOST (forwards between a veth to the
# container, the "bridge side", and a veth to the outside, the uplink, with ip_forward=1 and
# a MASQUERADE rule for the container's subnet out of the uplink: all of it inside HOST, so
# the machine's own forwarding and rules are never touched) and OUT (a server at 10.157.2.2).
# One ecap-rec runs in HOST on both veths. A curl in CTR fetches a page from OUT's server
# (NATed), and another one from a server on HOST itself (not NATed). Checks:
#  - ecap-export --pid of the first curl holds both flows of its connection: the one with
#    the container's address on the bridge side and the one with HOST's uplink address, and
#    every packet's comment names that curl (the socket lives in CTR, whose interface is not
#    recorded: the owner comes from the socket that sent the packets through the veth);
#  - ecap-ls --flows links the two (NAT: SNAT to / from), and nothing else is linked: the
#    second curl's flow has no link, and its --pid export is that flow alone;
#  - ecap-fsck --rebuild keeps the link: the same rows, the same export;
#  - with postgresql-15: ecap-ship takes the link to the fleet, and ecap-ls --fleet --pid of the
#    NATed curl is what ecap-ls says on the store (both flows, linked).
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip curl
source "$ECAP_SRC/tests/live/nat_net.sh"

C="i15nat-ctr-$$" H="i15nat-host-$$" O="i15nat-out-$$"
PORT=29180 LOCAL_PORT=29181 CPORT=29443 CPORT2=29444
mkdir "$T/www"
head -c 20000 /dev/urandom | base64 >"$T/www/page.txt"

nat_net_test "$C" "$H" "$O" 157 i15nat-br i15nat-up

in_ns "$O" "$T/http-out.log" python3 -m http.server "$PORT" --bind 10.157.2.2 \
	--directory "$T/www"
in_ns "$H" "$T/http-host.log" python3 -m http.server "$LOCAL_PORT" --bind 10.157.1.1 \
	--directory "$T/www"
for url in "http://10.157.2.2:$PORT/" "http://10.157.1.1:$LOCAL_PORT/"; do
	ns_answers "$C" "$url"
done

in_ns "$H" "$T/rec.log" "$ECAP_REC" -i i15nat-br -i i15nat-up --store "$T/s" --no-tls
REC_PID=$BG_PID
wait_for "$T/rec.log" "recording on" "$REC_PID" "ecap-rec in $H"
grep -q "conntrack reader cannot be loaded" "$T/rec.log" &&
	skip "the capture programs cannot read conntrack here: $(grep conntrack "$T/rec.log")"

ip netns exec "$C" curl -s -o "$T/got1" --local-port "$CPORT" "http://10.157.2.2:$PORT/page.txt" &
CLIENT=$!
wait "$CLIENT" || fail "the container's curl to the outside failed"
ip netns exec "$C" curl -s -o "$T/got2" --local-port "$CPORT2" \
	"http://10.157.1.1:$LOCAL_PORT/page.txt" &
CLIENT2=$!
wait "$CLIENT2" || fail "the container's curl to the host failed"
cmp -s "$T/got1" "$T/www/page.txt" || fail "the NATed curl got other bytes"
cmp -s "$T/got2" "$T/www/page.txt" || fail "the other curl got other bytes"
sleep 1.5 # the socket records and a chunk closed by its age

rec_stop "$T/rec.log"
grep -q "1 flows linked through NAT" "$T/rec.log" ||
	{ cat "$T/rec.log" >&2; fail "the recorder did not link one flow through NAT"; }

# check_client STORE: the NATed curl's export holds both flows of its connection, each
# packet commented with the curl's pid; prints the packet count.
check_client() {
	local store=$1 out="$T/client-$(basename "$1").pcapng" n
	n=$(nat_pid_export "$store" "$CLIENT" "$out")
	assert_eq "10.157.1.2 10.157.2.1 10.157.2.2 " \
		"$(tshark -r "$out" -T fields -e ip.src -e ip.dst 2>/dev/null | tr '\t' '\n' |
			sort -u | tr '\n' ' ')" "addresses of the NATed curl's export"
	assert_eq "i15nat-br i15nat-up " \
		"$(tshark -r "$out" -T fields -e frame.interface_name 2>/dev/null | sort -u |
			tr '\n' ' ')" "interfaces of the NATed curl's export"
	echo "$n"
}
N=$(check_client "$T/s")

# ecap-ls --flows: the two flows of the NATed connection name each other, nothing else links.
"$ECAP_LS" --flows --json "$T/s" >"$T/flows.json" || fail "ecap-ls --flows --json failed"
"$ECAP_LS" --flows "$T/s" >"$T/flows.txt" || fail "ecap-ls --flows failed"
links_ok=0
python3 - "$T/flows.json" "$CPORT" "$CPORT2" <<'PY' || links_ok=$?
import json, sys
flows = json.load(open(sys.argv[1]))["flows"]
cport, cport2 = int(sys.argv[2]), int(sys.argv[3])
def one(addr, port):
    found = [f for f in flows if f["a"]["addr"] == addr and f["a"]["port"] == port]
    assert len(found) == 1, (addr, port, found)
    return found[0]
pre, post = one("10.157.1.2", cport), one("10.157.2.1", cport)
local = one("10.157.1.2", cport2)
assert pre["nat"] == [{"kind": "SNAT", "after": post["id"]}], pre
assert post["nat"] == [{"kind": "SNAT", "before": pre["id"]}], post
assert local["nat"] == [], local
assert sum(len(f["nat"]) for f in flows) == 2, flows
PY
[ "$links_ok" -eq 0 ] ||
	{ cat "$T/flows.txt" >&2; fail "ecap-ls --flows does not link the NATed flows so"; }
grep -q "NAT: SNAT to flow" "$T/flows.txt" || fail "ecap-ls --flows (text) does not show the link"

# The flow that was not NATed: its curl's export is that flow alone.
"$ECAP_EXPORT" --store "$T/s" --pid "$CLIENT2" -o "$T/client2.pcapng" -q ||
	fail "export --pid $CLIENT2 failed"
assert_eq "10.157.1.1 10.157.1.2 " \
	"$(tshark -r "$T/client2.pcapng" -T fields -e ip.src -e ip.dst 2>/dev/null |
		tr '\t' '\n' | sort -u | tr '\n' ' ')" "addresses of the curl to the host"

# The link lives in the segments: a rebuilt index has it, and exports the same.
cp -a "$T/s" "$T/r"
"$ECAP_FSCK" --rebuild "$T/r" >/dev/null 2>&1 || fail "ecap-fsck --rebuild failed"
q="SELECT pre_flow, post_flow, kind, a_side FROM flow_links ORDER BY 1, 2"
assert_eq "$(sql "$T/s" "$q")" "$(sql "$T/r" "$q")" "flow links after ecap-fsck --rebuild"
assert_eq "$N" "$(check_client "$T/r")" "packets of the NATed curl after the rebuild"

# The link travels to a fleet's PostgreSQL (when postgresql-15 is installed): the central rows
# are the index's, and ecap-ls --fleet -f --pid of the NATed curl is what ecap-ls says on the
# store itself: both flows (the one after NAT through the link), each naming the other.
fleet=skipped
if [ -x /usr/lib/postgresql/15/bin/postgres ] && id postgres >/dev/null 2>&1 &&
	command -v psql >/dev/null; then
	source "$ECAP_SRC/tests/integration/fleet_lib.sh"
	pg_start
	"$ECAP_SHIP" --to-file "$T/dsn" --store "$T/s" --host nathost --once 2>"$T/ship.log" ||
		{ cat "$T/ship.log" >&2; fail "ecap-ship of the NAT store failed"; }
	assert_shipped "$T/s" nathost
	"$ECAP_LS" --json -f --pid "$CLIENT" "$T/s" >"$T/loc.json" || fail "ecap-ls --pid failed"
	"$ECAP_LS" --fleet-file "$T/dsn" --json -f --pid "$CLIENT" >"$T/fl.json" ||
		fail "ecap-ls --fleet --pid failed"
	python3 "$ECAP_SRC/tests/integration/fleet_json.py" same "$T/fl.json" \
		"nathost=$T/loc.json" || fail "ecap-ls --fleet --pid $CLIENT differs from the store's"
	assert_eq 2 "$(python3 -c "import json
print(sum(1 for f in json.load(open('$T/fl.json'))['flows'] if len(f['nat']) == 1))")" \
		"flows of the NATed curl fleet-wide, each with its link"
	fleet=shipped
fi
info "curl $CLIENT: $N packets before and after MASQUERADE, linked; kept by a rebuild; fleet: $fleet"
