# SPDX-License-Identifier: GPL-2.0-only
# calib_off_loop.sh - a calibration never holds the recorder's loop. A "libssl.so.3" whose
# constructor never returns (tests/unit/planted_libssl.c, mode 4: it sleeps for ever) is
# mapped by a process after the start; the rescan (every 10 s) finds it and calibrates it in
# the sandbox, on the calibration thread. While that calibration runs (its sandboxed child
# is there, under the calibration launcher), a UDP datagram sent then is in the index (a
# second or two; the calibration still runs when it is), and SIGTERM ends ecap-rec within
# 10 s, the calibration given up (fails on main 0e016c4: the loop waited in the calibration
# for its 30 s bound, and so would the stop). In a network namespace of its own.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip pgrep
PLANTED="$ECAP_BUILD/tests/unit/planted_m4.so"
[ -f "$PLANTED" ] || skip "the planted libraries are not built"
in_own_netns caliboff

cd "$T"
mkdir lib
cp "$PLANTED" lib/libssl.so.3
PORT=$(free_port)
rec_start rec.log -i lo --store "$T/store" --container-api none "udp port $PORT"
tls_watching rec.log || skip "no TLS probe could be loaded: no calibration here"
launchers=$(pgrep -P "$REC_PID" -x ecap-calib | tr '\n' ' ')
[ -n "$launchers" ] || fail "no calibration launcher under ecap-rec"

# mapped, never run: the file's pages in a process's maps, as a loaded library's
map_library "$T/lib/libssl.so.3"

# the rescan's calibration: a child of a launcher (the sandbox), within 10 s and a little
# shellcheck disable=SC2086
sandbox=$(calib_sandbox $launchers)
[ -n "$sandbox" ] || fail "no calibration started within 15 s: $(tail -3 rec.log)"
info "calibration under way (sandbox pid $sandbox)"
sleep 0.5

MS=$(datagram_indexed_ms "$T/store" "$PORT")
[ -n "$MS" ] || fail "the datagram is not in the index after 10 s (the loop waits for the calibration?)"
info "the datagram during the calibration: in the index after $MS ms"
# recorded while the calibration went on, not after it (its bound is 30 s of CPU, 10 min)
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
info "ok: the loop recorded and stopped while a calibration that never ends ran"
