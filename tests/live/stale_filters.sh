# SPDX-License-Identifier: GPL-2.0-only
# stale_filters.sh - TC filters after a kill -9: the killed recorder's filter stays on lo, the
# next start removes it (and says so), records into the same store (recovered) and detaches
# on SIGTERM. Two recorders into different stores share an interface: starting or stopping
# one leaves the other's filter alone, and both record the same traffic.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl

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
info "ok: stale filter removed after kill -9; two recorders share lo"
