# SPDX-License-Identifier: GPL-2.0-only
# stale_filters.sh - TC filters after a kill -9: the killed recorder's filter stays on lo, the
# next start removes it (and says so), records into the same store (recovered) and detaches
# on SIGTERM. Two recorders into different stores share an interface: starting or stopping
# one leaves the other's filter alone, and both record the same traffic. The clsact qdisc
# that only the stale filters used does not stay behind: in a network namespace made here
# (its own lo, with no qdisc at first), a restart on lo takes it over and removes it at
# SIGTERM, and a restart on another interface removes it at once. No clsact qdisc stays on lo
# after the two recorders.
# All of it in a network namespace of its own (the script runs itself there, its lo is "lo"):
# a recorder that starts removes the stale filters on every interface it sees, so on the
# host's lo the recorders of other tests removed ours before the restart could, or held a
# qdisc that was about to get a filter (or had just lost its last) when ours were checked.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl

need_cmd ip
in_own_netns stale-lo
lo_clsact() { tc qdisc show dev lo | grep -q clsact; }
lo_clsact && fail "lo of $ECAP_OWN_NETNS has a clsact qdisc from the start"

PORT=$(free_port)
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$T" >"$T/http.log" 2>&1 &
cleanup_pid "$!"
wait_port "$PORT"

# ---- kill -9 leaves a stale filter; the next start removes it ------------------------------
rec_start "$T/rec1.log" -i lo --store "$T/s1" --no-tls
P1=$REC_PID
has_filter lo "$P1" || fail "no filter of pid $P1 on lo while it records"
kill -9 "$P1"
wait "$P1" 2>/dev/null || true
has_filter lo "$P1" || fail "the filter of the killed recorder is gone already (test is void)"

rec_start "$T/rec2.log" -i lo --store "$T/s1" --no-tls
grep -q "removed a stale capture filter from lo egress (left by pid $P1)" "$T/rec2.log" ||
	fail "the restart did not report the stale filter"
has_filter lo "$P1" && fail "the stale filter of pid $P1 is still on lo"
curl -s -o /dev/null "http://127.0.0.1:$PORT/" || fail "curl failed"
sleep 0.5
rec_stop
assert_no_filters lo
[ "$(sql "$T/s1" "SELECT count(*) FROM flows WHERE port_b = $PORT")" -ge 1 ] ||
	fail "the restarted recorder recorded nothing"

# ---- two recorders on one interface ------------------------------------------------------
rec_start "$T/a.log" -i lo --store "$T/sa" --no-tls
PA=$REC_PID
rec_start "$T/b.log" -i lo --store "$T/sb" --no-tls
PB=$REC_PID
has_filter lo "$PA" || fail "starting a second recorder removed the first one's filter"
grep -q "removed a stale" "$T/b.log" && fail "a live recorder's filter was taken for stale"
for i in 1 2; do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/" || fail "curl failed"
done
sleep 0.5
REC_PID=$PB rec_stop
assert_no_filters lo "$PB"
has_filter lo "$PA" || fail "stopping the second recorder removed the first one's filter"
REC_PID=$PA rec_stop
assert_no_filters lo "$PA"
for s in sa sb; do
	assert_eq 2 "$(sql "$T/$s" "SELECT count(*) FROM flows WHERE port_b = $PORT")" \
		"HTTP flows in store $s"
done
lo_clsact && fail "a clsact qdisc stayed on lo after both recorders stopped"

# ---- the qdisc that only stale filters used, in a namespace of our own ---------------------
NS="ecap-stale-$$"
cleanup_cmd "ip netns del $NS 2>/dev/null"
ip netns add "$NS" || skip "cannot create network namespaces here"
ip -n "$NS" link set lo up
ip -n "$NS" link add ecsa type veth peer name ecsb
ns_clsact() { ip netns exec "$NS" tc qdisc show dev "$1" | grep -q clsact; }
ns_rec_start() { # LOG ARGS...: ecap-rec in the namespace
	local log=$1
	shift
	ip netns exec "$NS" "$ECAP_REC" "$@" 2>"$log" &
	REC_PID=$!
	cleanup_pid "$REC_PID"
	wait_for "$log" "recording on" "$REC_PID" "ecap-rec in $NS"
}
ns_kill9() {
	kill -9 "$REC_PID"
	wait "$REC_PID" 2>/dev/null || true
	ns_clsact lo || fail "no clsact qdisc on $NS's lo after the kill (test is void)"
}
ns_clsact lo && fail "$NS's lo has a clsact qdisc from the start"
# restart on the same interface: the qdisc is taken over and removed at the end
ns_rec_start "$T/ns1.log" -i lo --store "$T/ns1" --no-tls
ns_kill9
ns_rec_start "$T/ns2.log" -i lo --store "$T/ns1" --no-tls
grep -q "removed a stale capture filter from lo egress" "$T/ns2.log" ||
	fail "the restart in $NS did not remove the stale filter: $(cat "$T/ns2.log")"
grep -q "removed the clsact qdisc" "$T/ns2.log" &&
	fail "the qdisc of lo was removed although the restart attaches there"
rec_stop
ns_clsact lo && fail "a clsact qdisc stayed on $NS's lo after kill -9, restart and SIGTERM"
# restart on another interface: the qdisc goes with the stale filters, at once
ns_rec_start "$T/ns3.log" -i lo --store "$T/ns3" --no-tls
ns_kill9
ns_rec_start "$T/ns4.log" -i ecsa --store "$T/ns3" --no-tls
grep -q "removed the clsact qdisc that only the stale filters used from lo" "$T/ns4.log" ||
	fail "the restart on ecsa did not report the qdisc of lo: $(cat "$T/ns4.log")"
ns_clsact lo && fail "a clsact qdisc stayed on $NS's lo while recording ecsa"
rec_stop
ns_clsact ecsa && fail "our clsact qdisc stayed on ecsa"
info "ok: stale filter removed after kill -9; two recorders share lo; no empty clsact left"
