#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tls_unrecorded.sh - the TLS secrets of sessions ecap-rec does not record are not derived:
# with `tcp port IN` recorded on lo, an openssl s_time load (full TLS 1.3 handshakes, both
# ends on this host and probed) against a server on another port adds no TLS 1.3 handshake to
# those ecap-rec derived (its last line: "N TLS 1.3 handshakes derived"), while every session
# on port IN, curl with TLS_AES_128_GCM_SHA256 and TLS_AES_256_GCM_SHA384 before and after the
# load, is stored with its five secrets, linked, each derived once although its client and
# its server both report it. The probes did see the load: its secrets are counted among those
# not kept.
. "$ECAP_SRC/tests/lib.sh"
. "$ECAP_SRC/tests/live/live_lib.sh"

need_cmd openssl curl python3
need_tls_live
IN=$(free_port)
OUT=$(free_port)
[ "$IN" != "$OUT" ] || OUT=$(free_port)
for p in "$IN" "$OUT"; do
	openssl s_server -accept "127.0.0.1:$p" -cert cert.pem -key key.pem -www -quiet \
		>/dev/null 2>&1 </dev/null &
	cleanup_pid $!
	wait_port "$p"
done

rec_start_tls rec.err -i lo --store "$T/store" "tcp port $IN"

recorded() { # the sessions on port IN: curl, TLS 1.3, each suite
	local c
	for c in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384; do
		curl -sk --tlsv1.3 --tls13-ciphers "$c" -o /dev/null "https://127.0.0.1:$IN/" ||
			fail "curl to the recorded server ($c) failed"
	done
}
recorded
n_out=$(openssl s_time -connect "127.0.0.1:$OUT" -new -www / -time 2 2>/dev/null |
	sed -n 's/^\([0-9]*\) connections in [0-9.]* real.*/\1/p')
[ "${n_out:-0}" -ge 20 ] || fail "the s_time load outside the filter made ${n_out:-no} sessions"
info "$n_out TLS sessions on port $OUT, outside the filter"
recorded
sleep 1 # a drain of the secrets' ring (every 100 ms) and a group commit
rec_stop
last=$(grep "stopped:" rec.err) || { cat rec.err >&2; fail "no last line"; }
info "$last"

derived=$(sed -n 's/.*; \([0-9]*\) TLS 1\.3 handshakes\{0,1\} derived.*/\1/p' <<<"$last")
[ -n "$derived" ] || fail "the last line does not say how many TLS 1.3 handshakes were derived"
assert_eq 4 "$derived" "TLS 1.3 handshakes derived: the 4 recorded, none of the $n_out outside"
not_kept=$(sed -n 's/.*; \([0-9]*\) TLS secrets\{0,1\} of sessions not recorded.*/\1/p' <<<"$last")
assert_ge "$n_out" "${not_kept:-0}" "secrets seen and not kept (the load outside the filter)"

sessions=$(store_figure "$T/store" tls_sessions)
secrets=$(store_figure "$T/store" secrets)
assert_eq 4 "$sessions" "TLS sessions stored"
assert_eq 20 "$secrets" "secrets stored (five per TLS 1.3 session)"
assert_eq 20 "$(store_figure "$T/store" secrets_linked)" "secrets linked to a recorded session"
echo "ok: $n_out sessions outside the filter derived nothing; 4 recorded, 20 secrets stored"
