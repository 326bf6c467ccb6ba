# SPDX-License-Identifier: GPL-2.0-only
# filter_taken_off.sh - a recorder whose capture filter another program takes off its device
# (here tc, removing lo's clsact qdisc; in life also the clean-up of a recorder that stopped
# as this one attached, which saw no other filter and removed the qdisc) attaches it again
# within about a second and says so, and what comes after is recorded (fails on main: nothing
# after the removal is recorded, and nothing says so). At SIGTERM no qdisc stays. In a
# network namespace of its own (the script runs itself there): other tests' recorders on the
# host's lo must not lose their filters. The same for the filter alone taken off (the qdisc
# kept). The check asks over a netlink socket it keeps: in 3 s of checks it opens no socket
# (fails on 05bb5fa: a socket for the device's index and one per hook's query, each second).
# The removal is told by the TC group's notices, not found by a question each second: the
# filter alone taken off is attached again within 1.5 s, and a quiet recorder asks the
# kernel nothing in 3 s (fails on 05e2561: a filter query each second, 3-4 in 3 s).
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl ip strace

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

# the egress filter alone (the qdisc stays): told by its notice, it is found missing too
T0=$(date +%s%N)
tc filter del dev lo egress pref $((0xec)) handle "$(printf '0x%x' "$REC_PID")" bpf ||
	fail "cannot remove our egress filter from lo"
for _ in $(seq 400); do
	[ "$(grep -c "attached it again" "$T/rec.log")" -ge 2 ] && break
	sleep 0.01
done
[ "$(grep -c "attached it again" "$T/rec.log")" -ge 2 ] ||
	fail "the filter alone taken off was not attached again: $(tail -2 "$T/rec.log")"
MS=$((($(date +%s%N) - T0) / 1000000))
info "the filter alone taken off: attached again within $MS ms"
[ "$MS" -le 1500 ] || fail "the filter alone taken off was attached again after $MS ms (at most 1500)"
has_filter lo "$REC_PID" || fail "no filter of pid $REC_PID on lo after the second removal"
curl -s -o /dev/null "http://127.0.0.1:$PORT/again" || fail "curl failed"

# three seconds of a quiet recorder: no socket opened, and no question about its filters
# sent (the notices tell; the backstop's question comes 10 s after the last check)
strace -f -qq -e trace=socket,sendto,sendmsg -o "$T/socket.trace" -p "$REC_PID" &
ST=$!
sleep 3.2
kill -INT "$ST"; wait "$ST" 2>/dev/null || true
n=$(grep -c 'socket(' "$T/socket.trace" || true)
assert_eq 0 "$n" "sockets opened in 3 s of a quiet recorder: $(head -3 "$T/socket.trace")"
n=$(grep -c 'send' "$T/socket.trace" || true)
assert_eq 0 "$n" "netlink questions in 3 s of a quiet recorder: $(head -3 "$T/socket.trace")"
sleep 0.5
rec_stop "$T/rec.log"
assert_eq 3 "$(flows)" "HTTP flows recorded, before and after the filter was taken off"
lo_clsact && fail "a clsact qdisc stayed on lo after SIGTERM"
info "ok: the filter taken off was attached again, and what came after was recorded"
