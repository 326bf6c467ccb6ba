#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tls_openssl11.sh - the OpenSSL 1.1.1 branch, live on lo: Debian 11's libssl.so.1.1 (which
# tools/setup.sh installs beside the system's 3.x) is found mapped by a server that was
# running before the recorder started, calibrated and probed without --libssl. Clients and
# server both do their TLS through 1.1.1 (tests/live/ossl_peer.py, by ctypes), so every
# secret comes from the 1.1.1 probes: TLS 1.2, TLS 1.3 with a SHA-256 suite and with the
# SHA-384 one. Each client's export by pid, and the server's, are decrypted by tshark with
# no key log, every packet's comment naming that pid.
. "$ECAP_SRC/tests/lib.sh"
. "$ECAP_SRC/tests/live/live_lib.sh"

need_live
need_cmd openssl bpftool
LIB11=
for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
	[ -e "$d/libssl.so.1.1" ] && { LIB11=$d/libssl.so.1.1; break; }
done
[ -n "$LIB11" ] || skip "no libssl.so.1.1 (OpenSSL 1.1.1) on this machine: tools/setup.sh \
installs Debian 11's libssl1.1 when the archive has it"
LIB11=$(readlink -f "$LIB11")
PEER="$ECAP_SRC/tests/live/ossl_peer.py"

cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
	-out cert.pem -days 1 -subj /CN=localhost 2>/dev/null || fail "cannot make a certificate"

# The 1.1.1 server first: the recorder must find its library among the mapped ones.
P11=$(free_port)
python3 "$PEER" "$LIB11" server "$P11" cert.pem key.pem 3 > server11.out &
S11=$!
cleanup_pid "$S11"
wait_for server11.out ready "$S11" "the OpenSSL 1.1.1 server"
grep -q "libssl.so.1.1" "/proc/$S11/maps" || fail "the server has not mapped $LIB11"

rec_start rec.err -i lo --store "$T/store"
watch=$(grep "tls: watching $LIB11 " rec.err) ||
	{ cat rec.err >&2; fail "ecap-rec does not watch the mapped $LIB11"; }
case "$watch" in
*"OpenSSL 1.1.1"*"TLS 1.2 and TLS 1.3"*) info "$watch" ;;
*) fail "not calibrated for TLS 1.2 and 1.3: $watch" ;;
esac

declare -A PID URI
client() { # name uri cmd...
	local name=$1 uri=$2
	shift 2
	"$@" > "$name.out" &
	PID[$name]=$!
	URI[$name]=$uri
	wait "${PID[$name]}" || fail "client $name failed"
}
client c12 /c12 python3 "$PEER" "$LIB11" client "$P11" /c12 1.2
client c13s256 /c13s256 python3 "$PEER" "$LIB11" client "$P11" /c13s256 1.3 \
	TLS_AES_128_GCM_SHA256
client c13s384 /c13s384 python3 "$PEER" "$LIB11" client "$P11" /c13s384 1.3 \
	TLS_AES_256_GCM_SHA384
assert_eq "hello from /c13s384" "$(cat c13s384.out)" "the 1.1.1 server's answer"
wait "$S11" || fail "the OpenSSL 1.1.1 server failed"
sleep 1.5   # rings drain every 100 ms
probe_ids=$(ossl_probe_ids "$REC_PID")
[ -n "$probe_ids" ] || fail "ecap-rec holds no OpenSSL probe program"
rec_stop
info "$(grep 'stopped:' rec.err | tail -1)"
# shellcheck disable=SC2086
assert_eq "" "$(progs_loaded $probe_ids)" "ecap-rec's OpenSSL probe programs loaded after SIGTERM"

for name in "${!PID[@]}"; do
	assert_pid_decrypted "$T/store" "$name" "${PID[$name]}" "${URI[$name]} "
done
assert_pid_decrypted "$T/store" server11 "$S11" "/c12 /c13s256 /c13s384 "
exit 0
