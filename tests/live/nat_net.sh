# SPDX-License-Identifier: GPL-2.0-only
# nat_net.sh - the network of a host with a container behind MASQUERADE, made of network
# namespaces, for live.nat_link, live.filter_sockets and tools/bench_nat.sh (sourced; defines
# nat_net_make, and for the live tests nat_net_test).
#
# nat_net_make C H O NET BR UP: namespaces C, H and O (the caller deletes them at the end):
#   C  the container, 10.NET.1.2/24 on veth C0, its default route through H;
#   H  the host: forwards between BR (10.NET.1.1/24, the container's side) and UP
#      (10.NET.2.1/24, the uplink) with ip_forward=1 and a MASQUERADE rule for 10.NET.1.0/24
#      out of UP (nftables, else iptables), all of it H's own: the machine's forwarding and
#      rules are not touched;
#   O  the outside, 10.NET.2.2/24.
# Returns 1 when the namespaces or links cannot be made, 2 when no MASQUERADE rule can be
# added (neither nft nor iptables works), 0 when all is up.
nat_net_make() {
	local c=$1 h=$2 o=$3 net=$4 br=$5 up=$6 ns
	for ns in "$c" "$h" "$o"; do
		ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
	done
	ip link add "${br}c" netns "$c" type veth peer name "$br" netns "$h" &&
		ip link add "${up}o" netns "$o" type veth peer name "$up" netns "$h" &&
		ip -n "$c" addr add "10.$net.1.2/24" dev "${br}c" &&
		ip -n "$c" link set "${br}c" up &&
		ip -n "$c" route add default via "10.$net.1.1" &&
		ip -n "$h" addr add "10.$net.1.1/24" dev "$br" &&
		ip -n "$h" addr add "10.$net.2.1/24" dev "$up" &&
		ip -n "$h" link set "$br" up &&
		ip -n "$h" link set "$up" up &&
		ip -n "$o" addr add "10.$net.2.2/24" dev "${up}o" &&
		ip -n "$o" link set "${up}o" up &&
		ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1 || return 1
	if command -v nft >/dev/null 2>&1; then
		printf '%s\n' "table ip ecapnat { chain post {" \
			"type nat hook postrouting priority srcnat;" \
			"ip saddr 10.$net.1.0/24 oifname \"$up\" masquerade; }; }" |
			ip netns exec "$h" nft -f - && return 0
	fi
	command -v iptables >/dev/null 2>&1 &&
		ip netns exec "$h" iptables -t nat -A POSTROUTING -s "10.$net.1.0/24" -o "$up" \
			-j MASQUERADE && return 0
	return 2
}

# nat_net_test C H O NET BR UP: nat_net_make for a live test (tests/lib.sh): the namespaces
# are deleted at the end, and the test is skipped when they or the rule cannot be made.
nat_net_test() {
	local ns rc=0
	command -v nft >/dev/null 2>&1 || command -v iptables >/dev/null 2>&1 ||
		skip "neither nft nor iptables is installed (a MASQUERADE rule is needed)"
	for ns in "$1" "$2" "$3"; do
		cleanup_cmd "ip netns del $ns 2>/dev/null"
	done
	nat_net_make "$@" || rc=$?
	[ "$rc" -ne 2 ] || skip "neither nft nor iptables can add a MASQUERADE rule here"
	[ "$rc" -eq 0 ] || skip "cannot make the network namespaces and veths here"
}

# nat_pid_export STORE PID OUT: ecap-export --pid PID of STORE into OUT must hold the two flows
# of one NATed connection (before and after), every packet commented with PID; prints the
# packet count.
nat_pid_export() {
	local store=$1 pid=$2 out=$3 n
	"$ECAP_EXPORT" --store "$store" --pid "$pid" -o "$out" -q ||
		fail "export --pid $pid from $store failed"
	n=$(tshark -r "$out" 2>/dev/null | wc -l)
	assert_ge 10 "$n" "packets of pid $pid"
	assert_eq 2 "$(tshark -r "$out" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)" \
		"flows of pid $pid (before and after NAT)"
	assert_eq "$n" "$(tshark -r "$out" -T fields -e frame.comment 2>/dev/null |
		grep -cE "(^|\\\\n)(Peer )?PID: $pid(\\\\n|$)" || true)" \
		"packets of pid $pid whose comment names it"
	echo "$n"
}
