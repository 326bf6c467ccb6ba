#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tls_secrets.sh - the OpenSSL uprobes capture every TLS secret that real peers write into their
# own key log files, in the client and in the server process.
#
# Servers: openssl s_server -www (its SSL BIO bypasses SSL_read/SSL_write: caught at SSL_free)
# and a python3 https server. Clients: curl with TLS 1.2, TLS 1.3 (TLS_AES_128_GCM_SHA256) and
# TLS 1.3 with TLS_AES_256_GCM_SHA384, python3 urllib with TLS 1.2 and TLS 1.3, openssl
# s_client with TLS 1.2 and 1.3 (its handshake runs inside SSL_read/SSL_write). Every peer
# writes its key log (-keylogfile, SSLKEYLOGFILE, keylog_filename); ecap-calibrate --watch
# --all -v prints what the probes captured, each line preceded by the reporting process.
# Every (process, key log line) pair must be in the capture, and nothing else from those
# processes. A file given as LIBSSL that is not one is reported and skipped. Then: the
# calibration was cached per library content (SHA-256, mode 0600), and after SIGINT no probe program is left
# loaded.
. "$ECAP_SRC/tests/lib.sh"
. "$ECAP_SRC/tests/live/live_lib.sh"

need_root
need_cmd openssl curl python3 bpftool
CAL="$ECAP_BUILD/tools/ecap-calibrate"
[ -x "$CAL" ] || skip "ecap-calibrate is not built"

cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
	-out cert.pem -days 1 -subj /CN=localhost 2>/dev/null || fail "cannot make a certificate"

cat > pyserver.py <<'EOF'
import http.server, ssl, sys
port, cert, key, keylog = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.keylog_filename = keylog
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from python\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOF
cat > pyclient.py <<'EOF'
import ssl, sys, urllib.request
url, keylog, ver = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.keylog_filename = keylog
if ver == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
else:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
urllib.request.urlopen(url, context=ctx).read()
EOF

# The watcher first: processes started later must be covered.
mkdir -p "$T/store"
# A file that is no libssl is reported by path and skipped; the rest goes on.
printf 'not a library\n' > notssl.so
"$CAL" --watch 0 --all -v --store "$T/store" "$T/notssl.so" > watch.out 2> watch.err &
WATCH=$!
cleanup_pid "$WATCH"
for i in $(seq 100); do
	grep -q "watching (" watch.err 2>/dev/null && break
	if ! kill -0 "$WATCH" 2>/dev/null; then
		cat watch.err >&2
		grep -q "built without eBPF\|cannot load\|Operation not permitted" watch.err &&
			skip "uprobes unavailable: $(head -1 watch.err)"
		fail "ecap-calibrate --watch exited early"
	fi
	sleep 0.1
done
grep -q "watching (" watch.err || fail "ecap-calibrate --watch did not start"
info "$(grep 'tls: watching' watch.err | head -1)"
grep -q "notssl.so: cannot calibrate, skipped" watch.err ||
	fail "a file that is no libssl was not reported by path"

P1=$(free_port)
openssl s_server -accept "127.0.0.1:$P1" -cert cert.pem -key key.pem -keylogfile keys.s_server \
	-www -quiet > /dev/null 2>&1 &
S1=$!
cleanup_pid "$S1"
P2=$(free_port)
python3 pyserver.py "$P2" cert.pem key.pem keys.pyserver &
S2=$!
cleanup_pid "$S2"
wait_port "$P1"
wait_port "$P2"

declare -A WHO=([s_server]=$S1 [pyserver]=$S2)
client() { # name cmd...
	local name=$1
	shift
	"$@" &
	WHO[$name]=$!
	wait "${WHO[$name]}" || fail "client $name failed"
}
for port in "$P1" "$P2"; do
	SSLKEYLOGFILE="$T/keys.curl12_$port" client "curl12_$port" \
		curl -sk --tls-max 1.2 -o /dev/null "https://127.0.0.1:$port/"
	SSLKEYLOGFILE="$T/keys.curl13_$port" client "curl13_$port" \
		curl -sk --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 -o /dev/null \
		"https://127.0.0.1:$port/"
	SSLKEYLOGFILE="$T/keys.curl13s384_$port" client "curl13s384_$port" \
		curl -sk --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384 -o /dev/null \
		"https://127.0.0.1:$port/"
	client "py12_$port" python3 pyclient.py "https://127.0.0.1:$port/" "$T/keys.py12_$port" 1.2
	client "py13_$port" python3 pyclient.py "https://127.0.0.1:$port/" "$T/keys.py13_$port" 1.3
	# s_client handshakes inside SSL_write/SSL_read (no SSL_connect call)
	for v in 1_2 1_3; do
		printf 'GET / HTTP/1.0\r\n\r\n' > req
		client "sclient${v}_$port" openssl s_client -connect "127.0.0.1:$port" "-tls$v" \
			-keylogfile "$T/keys.sclient${v}_$port" -quiet -no_ign_eof < req > /dev/null 2>&1
	done
done
# The servers report sessions when they end; give s_server's SSL_free and the ring a moment.
sleep 1
kill "$S1" "$S2"
wait "$S1" "$S2" 2>/dev/null || true
sleep 0.5
probe_ids=$(ossl_probe_ids "$WATCH")
[ -n "$probe_ids" ] || fail "ecap-calibrate --watch holds no OpenSSL probe program"
kill -INT "$WATCH"
wait "$WATCH" || fail "ecap-calibrate --watch exited with $?"
info "$(tail -1 watch.err)"

# "PID LABEL RANDOM SECRET" for everything captured from our peers (the probes see the whole
# host: other processes' sessions are left out) ...
awk -v pids=" ${WHO[*]} " '/^# pid=/ { split($2, a, "="); pid = a[2]; next }
     /^[A-Z]/ && index(pids, " " pid " ") { print pid, $1, tolower($2), tolower($3) }' \
	watch.out | sort -u > captured
# ... and for everything the peers logged.
: > expected
for name in "${!WHO[@]}"; do
	f="keys.$name"
	[ -s "$f" ] || fail "peer $name wrote no key log"
	awk -v pid="${WHO[$name]}" '/^[A-Z]/ { print pid, $1, tolower($2), tolower($3) }' "$f"
done | sort -u > expected

n_exp=$(wc -l < expected)
n_got=$(comm -12 expected captured | wc -l)
info "secrets: $n_got of $n_exp key log lines captured from the process that logged them"
for label in CLIENT_RANDOM CLIENT_HANDSHAKE_TRAFFIC_SECRET SERVER_HANDSHAKE_TRAFFIC_SECRET \
	CLIENT_TRAFFIC_SECRET_0 SERVER_TRAFFIC_SECRET_0 EXPORTER_SECRET; do
	info "  $label: $(grep -c " $label " captured || true) captured," \
		"$(grep -c " $label " expected || true) expected"
done
if [ "$n_got" -ne "$n_exp" ]; then
	comm -23 expected captured | head -20 >&2
	fail "$((n_exp - n_got)) key log lines were not captured"
fi
assert_ge 60 "$n_exp" "key log lines written by the peers"
# Nothing captured that no peer logged (wrong or mid-handshake secrets).
extra=$(comm -13 expected captured | wc -l)
assert_eq 0 "$extra" "captured secrets that no peer logged"

# The calibration is cached per library content (SHA-256), private, and used on the next start.
cache=$(find "$T/store/calibration" -name '*.txt' 2>/dev/null | head -1)
[ -n "$cache" ] || fail "no calibration cached under the store"
assert_eq 600 "$(stat -c %a "$cache")" "mode of $cache"
sum=$(sha256sum "$(readlink -f /usr/lib/x86_64-linux-gnu/libssl.so.3)" | cut -d' ' -f1)
[ -f "$T/store/calibration/$sum.txt" ] || fail "the cache is not named by the library's SHA-256"
"$CAL" --store "$T/store" > again.out || fail "ecap-calibrate with a cache failed"
grep -q "^# from cache" again.out || fail "the cached calibration was not used"

# Nothing the watcher loaded is left loaded.
# shellcheck disable=SC2086
assert_eq "" "$(progs_loaded $probe_ids)" "ecap-calibrate --watch's OpenSSL probe programs loaded after SIGINT"
exit 0
