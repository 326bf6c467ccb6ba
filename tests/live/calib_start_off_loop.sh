# SPDX-License-Identifier: GPL-2.0-only
# calib_start_off_loop.sh - a calibration at the start never holds the recording back. A
# "libssl.so.3" whose constructor never returns (tests/unit/planted_libssl.c, mode 4: it sleeps
# for ever) is mapped by a process before ecap-rec starts; the start finds it and calibrates
# it in the sandbox, on the calibration thread. Recording begins within a few seconds while
# that calibration runs (its sandboxed child is still there, under the calibration launcher,
# once "recording on" is said), a UDP
# datagram sent then is in the index, and SIGTERM ends ecap-rec within 10 s, the calibration
# given up. Fails on main 05bb5fa: the start waited in the calibration for its bound (a child
# that sleeps: the wall-clock bound, 20 times the 30 s of CPU). In a network namespace of its
# own.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip pgrep
PLANTED="$ECAP_BUILD/tests/unit/planted_m4.so"
[ -f "$PLANTED" ] || skip "the planted libraries are not built"
in_own_netns calibstart

cd "$T"
mkdir lib
cp "$PLANTED" lib/libssl.so.3
# mapped, never run, before the start: the start's scan of the processes' maps finds it
map_library "$T/lib/libssl.so.3"
sleep 0.5
PORT=$(free_port)
T0=$(date +%s%N)
rec_start rec.log -i lo --store "$T/store" --container-api none "udp port $PORT"
READY=$((($(date +%s%N) - T0) / 1000000))
info "recording after $READY ms (rec_start waits 20 s at most)"
launchers=$(pgrep -P "$REC_PID" -x ecap-calib | tr '\n' ' ')
[ -n "$launchers" ] || fail "no calibration launcher under ecap-rec"
# shellcheck disable=SC2086
sandbox=$(calib_sandbox $launchers)
[ -n "$sandbox" ] || fail "no calibration of the planted library under way: $(grep libssl rec.log)"
info "calibration under way (sandbox pid $sandbox): recording began while it ran"

MS=$(datagram_indexed_ms "$T/store" "$PORT")
[ -n "$MS" ] || fail "the datagram is not in the index after 10 s (the loop waits for the calibration?)"
info "the datagram during the start's calibration: in the index after $MS ms"
kill -0 "$sandbox" 2>/dev/null ||
	fail "the datagram was in the index only once the calibration had ended: $(grep libssl.so.3 rec.log)"

T0=$(date +%s%N)
rec_stop rec.log
STOP=$((($(date +%s%N) - T0) / 1000000))
info "SIGTERM to exit: $STOP ms"
[ "$STOP" -le 10000 ] || fail "ecap-rec took $STOP ms to stop during a calibration"
for _ in $(seq 20); do kill -0 "$sandbox" 2>/dev/null || break; sleep 0.1; done
kill -0 "$sandbox" 2>/dev/null && fail "the sandboxed calibration outlived ecap-rec"
grep -q "tls: watching $T/lib/libssl.so.3" rec.log && fail "the planted library was probed"
info "ok: recording began and stopped while the start's calibration that never ends ran"
