# SPDX-License-Identifier: GPL-2.0-only
# filter_taken_off.sh - a recorder whose capture filter another program takes off its device
# (here tc, removing lo's clsact qdisc; in life also the clean-up of a recorder that stopped
# as this one attached, which saw no other filter and removed the qdisc) attaches it again
# within about a second and says so, and what comes after is recorded (fails on main: nothing
# after the removal is recorded, and nothing says so). At SIGTERM no qdisc stays. In a
# network namespace of its own (the script runs itself there): other tests' recorders on the
# host's lo must not lose their filters.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl ip

in_own_netns takenoff
lo_clsact() { tc qdisc show dev lo | grep -q clsact; }
flows() { sql "$T/store" "SELECT count(*) FROM flows WHERE port_b = $PORT"; }

PORT=$(free_port)
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$T" >"$T/http.log" 2>&1 &
cleanup_pid "$!"
wait_port "$PORT"
rec_start "$T/rec.log" -i lo --store "$T/store" --no-tls
has_filter lo "$REC_PID" || fail "no filter of pid $REC_PID on lo while it records"
curl -s -o /dev/null "http://127.0.0.1:$PORT/before" || fail "curl failed"

tc qdisc del dev lo clsact || fail "cannot remove lo's clsact qdisc"
wait_for "$T/rec.log" "our capture filter on lo egress was taken off by another program; " \
	"$REC_PID" "the recorder's word on its filter taken off"
grep -q "attached it again" "$T/rec.log" || fail "not attached again: $(tail -2 "$T/rec.log")"
has_filter lo "$REC_PID" || fail "no filter of pid $REC_PID on lo after it was attached again"
curl -s -o /dev/null "http://127.0.0.1:$PORT/after" || fail "curl failed"
sleep 0.5
rec_stop "$T/rec.log"
assert_eq 2 "$(flows)" "HTTP flows recorded, before and after the filter was taken off"
lo_clsact && fail "a clsact qdisc stayed on lo after SIGTERM"
info "ok: the filter taken off was attached again, and what came after was recorded"
