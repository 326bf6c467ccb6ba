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

sys=$(ldd "$(command -v openssl)" | awk '$1 ~ /^libssl\.so/ { print $3 }')
[ -f "$sys" ] || skip "openssl does not use a shared libssl here"
mkdir real
cp "$sys" real/
name=$(basename "$sys")
T0=$(date +%s%N)
LD_LIBRARY_PATH="$T/real" openssl s_server -www -accept "$PORT" -cert cert.pem -key key.pem \
	-quiet >/dev/null 2>&1 &
SERVER=$!
cleanup_pid "$SERVER"
wait_port "$PORT"
grep -q "$T/real/$name" "/proc/$SERVER/maps" || fail "the server did not load $T/real/$name"

# a session a second; its client random in the store's key log ends the wait
found=
for i in $(seq "$BOUND_S"); do
	LD_LIBRARY_PATH="$T/real" openssl s_client -connect "127.0.0.1:$PORT" \
		-keylogfile "kl.$i" </dev/null >/dev/null 2>&1
	store_keylog "$T/store" store.kl
	for k in kl.*; do
		cr=$(awk '$1 == "CLIENT_HANDSHAKE_TRAFFIC_SECRET" { print $2; exit }' "$k")
		if [ -n "$cr" ] && grep -q "$cr" store.kl 2>/dev/null; then
			found=$k
			break 2
		fi
	done
	[ $((($(date +%s%N) - T0) / 1000000000)) -lt "$BOUND_S" ] || break
	sleep 1
done
ms=$((($(date +%s%N) - T0) / 1000000))
{ grep "$T/lib/libssl.so.3\|$T/real/$name" rec.log || true; } | sed 's/^/# /' >&2
[ -n "$found" ] || fail "no secret of the real libssl's sessions in the store ${ms} ms after the server started (bound ${BOUND_S} s)"
info "the secrets of a session ($found) in the store $ms ms after the server started"
[ "$ms" -le $((BOUND_S * 1000)) ] || fail "the secrets came after ${BOUND_S} s"
grep -q "$T/lib/libssl.so.3: cannot calibrate.*neither running nor waiting" rec.log ||
	fail "the planted library's calibration was not ended by the idle bound"
grep -q "tls: watching $T/lib/libssl.so.3" rec.log && fail "the planted library was probed"
rec_stop rec.log
info "ok: a sleeping planted library held the real libssl's probes back less than ${BOUND_S} s"
