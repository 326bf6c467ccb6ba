#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tls_decrypt.sh - end to end on lo: ecap-rec records real HTTPS sessions with the secrets its
# OpenSSL uprobes capture, and an export by one client's pid is decrypted by tshark with no
# key log: exactly that client's requests, every packet's comment naming the pid.
#
# Servers: openssl s_server -www, a python3 https server, nginx (when installed). Clients, one
# request each with a path of their own: curl TLS 1.2, curl TLS 1.3 (SHA-256), curl TLS 1.3
# (TLS_AES_256_GCM_SHA384), python3 TLS 1.2 and TLS 1.3. Export --comm of a server finds the
# server side. After SIGTERM no OpenSSL probe program stays loaded.
. "$ECAP_SRC/tests/lib.sh"
. "$ECAP_SRC/tests/live/live_lib.sh"

need_cmd openssl curl python3 tshark bpftool
need_tls_live
cat > pyserver.py <<'EOF'
import http.server, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from python\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOF
cat > pyclient.py <<'EOF'
import ssl, sys, urllib.request
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if sys.argv[2] == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
else:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
urllib.request.urlopen(sys.argv[1], context=ctx).read()
EOF

rec_start_tls rec.err -i lo --store "$T/store"

# s_server under a name of its own: the recorder sees the whole host, other tests included.
SRV="srv$$"
cp "$(command -v openssl)" "$T/$SRV"
P1=$(free_port)
"./$SRV" s_server -accept "127.0.0.1:$P1" -cert cert.pem -key key.pem -www -quiet \
	> /dev/null 2>&1 &
S1=$!
cleanup_pid "$S1"
P2=$(free_port)
python3 pyserver.py "$P2" cert.pem key.pem &
S2=$!
cleanup_pid "$S2"
wait_port "$P1"
wait_port "$P2"
P3=""
if command -v nginx > /dev/null; then
	P3=$(free_port)
	mkdir -p nginx
	cat > nginx/nginx.conf <<EOF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen 127.0.0.1:$P3 ssl;
		ssl_certificate $T/cert.pem;
		ssl_certificate_key $T/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / { return 200 "hello from nginx\n"; }
	}
}
EOF
	nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" &
	S3=$!
	cleanup_pid "$S3"
	wait_port "$P3"
fi

declare -A PID URI
client() { # name uri cmd...
	local name=$1 uri=$2
	shift 2
	"$@" &
	PID[$name]=$!
	URI[$name]=$uri
	wait "${PID[$name]}" || fail "client $name failed"
}
client curl12 /curl12 curl -sk --tls-max 1.2 -o /dev/null "https://127.0.0.1:$P1/curl12"
client curl13 /curl13 curl -sk --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 -o /dev/null \
	"https://127.0.0.1:$P1/curl13"
client curl13s384 /curl13s384 curl -sk --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384 \
	-o /dev/null "https://127.0.0.1:$P2/curl13s384"
client py12 /py12 python3 pyclient.py "https://127.0.0.1:$P2/py12" 1.2
client py13 /py13 python3 pyclient.py "https://127.0.0.1:$P1/py13" 1.3
if [ -n "$P3" ]; then
	client nginx13 /nginx13 curl -sk --tlsv1.3 -o /dev/null "https://127.0.0.1:$P3/nginx13"
	client nginx12 /nginx12 curl -sk --tls-max 1.2 -o /dev/null "https://127.0.0.1:$P3/nginx12"
fi
sleep 1.5   # s_server -www reports its sessions at SSL_free; rings drain every 100 ms
probe_ids=$(ossl_probe_ids "$REC_PID")
[ -n "$probe_ids" ] || fail "ecap-rec holds no OpenSSL probe program"
kill -TERM "$REC_PID"
wait "$REC_PID" || fail "ecap-rec exited with $? after SIGTERM"
info "$(grep 'tls: watching' rec.err | head -1)"
info "$(grep 'stopped:' rec.err | tail -1)"
# shellcheck disable=SC2086
assert_eq "" "$(progs_loaded $probe_ids)" "ecap-rec's OpenSSL probe programs loaded after SIGTERM"

for name in "${!PID[@]}"; do
	assert_pid_decrypted "$T/store" "$name" "${PID[$name]}" "${URI[$name]} "
done

# The server side: every request that reached s_server, found by its comm.
"$ECAP_EXPORT" --store "$T/store" --comm "$SRV" -o "$T/s_server.pcapng" -q ||
	fail "export --comm $SRV failed"
got=$(tls_uris "$T/s_server.pcapng")
assert_eq "/curl12 /curl13 /py13 " "$got" "requests decrypted from export --comm $SRV (s_server)"
if [ -n "$P3" ]; then
	"$ECAP_EXPORT" --store "$T/store" --comm nginx -o "$T/nginx.pcapng" -q ||
		fail "export --comm nginx failed"
	got=$(tls_uris "$T/nginx.pcapng")
	assert_eq "/nginx12 /nginx13 " "$got" "requests decrypted from export --comm nginx"
fi
exit 0
