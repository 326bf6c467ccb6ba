# SPDX-License-Identifier: GPL-2.0-only
# calib_off_loop.sh - a calibration never holds the recorder's loop. A "libssl.so.3" whose
# constructor never returns (tests/unit/planted_libssl.c, mode 5: it spins 15 s, then sleeps) is
# mapped by a process after the start; the rescan (every 10 s) finds it and calibrates it in
# the sandbox, on the calibration thread. While that calibration runs (its sandboxed child
# is there, under the calibration launcher), a UDP datagram sent then is in the index (a
# second or two; the calibration still runs when it is), and SIGTERM ends ecap-rec within
# 10 s, the calibration given up (fails on main 0e016c4: the loop waited in the calibration
# for its 30 s bound, and so would the stop). In a network namespace of its own.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
planted_calibration caliboff 5
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

while_calibrating "$T/store" "$PORT" "$sandbox" "$T/lib/libssl.so.3"
info "ok: the loop recorded and stopped while a calibration that never ends ran"
