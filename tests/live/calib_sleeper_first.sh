# SPDX-License-Identifier: GPL-2.0-only
# calib_sleeper_first.sh - a planted library cannot hold back the probes of a real one found
# after it. A "libssl.so.3" whose constructor sleeps for ever (tests/unit/planted_libssl.c,
# mode 4) is mapped before ecap-rec starts, so that its calibration, one at a time on the
# calibration thread, is under way when a server starts with a real libssl of its own (a copy
# of the system's, a new file: LD_LIBRARY_PATH), which the rescan (every 10 s) finds. Clients
# of that server make a TLS session a second; the secrets one of them writes in its key log
# must be in the store within BOUND_S of the server's start (the rescan, the planted library's
# idle bound of 5 s, the calibration, the store's second). Fails on main 86290f2: a child that
# sleeps was ended only by its wall-clock bound, 600 s, and the real libssl waited behind it.
# In a network namespace of its own.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
BOUND_S=30
need_cmd openssl ldd
planted_calibration calibfirst 4
need_tls_live
map_library "$T/lib/libssl.so.3"
sleep 0.5
PORT=$(free_port)
rec_start rec.log -i lo --store "$T/store" --container-api none "tcp port $PORT"
launchers=$(pgrep -P "$REC_PID" -x ecap-calib | tr '\n' ' ')
[ -n "$launchers" ] || skip "no calibration launcher under ecap-rec (no TLS probes here)"
# shellcheck disable=SC2086
sandbox=$(calib_sandbox $launchers)
[ -n "$sandbox" ] || fail "no calibration of the planted library under way: $(grep libssl rec.log)"
info "the planted library's calibration under way (sandbox pid $sandbox)"

real_libssl_secrets "$PORT" "$BOUND_S"
{ grep "$T/lib/libssl.so.3\|$REAL_LIBSSL" rec.log || true; } | sed 's/^/# /' >&2
[ -n "$SECRETS_MS" ] ||
	fail "no secret of the real libssl's sessions in the store within ${BOUND_S} s of the server's start"
info "the secrets of a session in the store $SECRETS_MS ms after the server started"
grep -q "$T/lib/libssl.so.3: cannot calibrate.*neither running nor waiting" rec.log ||
	fail "the planted library's calibration was not ended by the idle bound"
grep -q "tls: watching $T/lib/libssl.so.3" rec.log && fail "the planted library was probed"
rec_stop rec.log
info "ok: a sleeping planted library held the real libssl's probes back less than ${BOUND_S} s"
