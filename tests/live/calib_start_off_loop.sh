# SPDX-License-Identifier: GPL-2.0-only
# calib_start_off_loop.sh - a calibration at the start never holds the recording back. A
# "libssl.so.3" whose constructor never returns (tests/unit/planted_libssl.c, mode 5: it spins
# 15 s, then sleeps) is mapped by a process before ecap-rec starts; the start finds it and calibrates
# it in the sandbox, on the calibration thread. Recording begins within a few seconds while
# that calibration runs (its sandboxed child is still there, under the calibration launcher,
# once "recording on" is said), a UDP
# datagram sent then is in the index, and SIGTERM ends ecap-rec within 10 s, the calibration
# given up. Fails on main 05bb5fa: the start waited in the calibration for its bound (a child
# that sleeps: the wall-clock bound, 20 times the 30 s of CPU; since i22rel a sleeping child
# ends by the idle bound, 5 s, so this test uses one that works 15 s). In a network namespace
# of its own.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
planted_calibration calibstart 5
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

while_calibrating "$T/store" "$PORT" "$sandbox" "$T/lib/libssl.so.3"
info "ok: recording began and stopped while the start's calibration that never ends ran"
