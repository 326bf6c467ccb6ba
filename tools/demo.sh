#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# demo.sh - README's first command: install and build, then the main job on real traffic.
# Records loopback with ecap-rec -i lo into ./ecap-store while curl makes HTTPS requests
# (TLS 1.3 and TLS 1.2) to a local openssl s_server, stops the recorder, exports the first
# client's connections by its pid, and shows what tshark decrypts in the export, with the
# process comment of each packet. Where live capture cannot run (no root, no eBPF), it says
# why and shows the same through a replay of a capture that tcpdump makes meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

B=build
STORE=./ecap-store
WORK=$(mktemp -d /tmp/ecap-demo.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
	-days 1 -subj /CN=localhost >/dev/null 2>&1
openssl s_server -accept "127.0.0.1:$PORT" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -www \
	-quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

live=yes
if [ "$(id -u)" -ne 0 ]; then
	live="no: not root"
fi

requests() { # make the HTTPS requests; prints the pid of the first curl
	curl -sk --tlsv1.3 -o /dev/null "https://127.0.0.1:$PORT/hello-from-curl-tls13" &
	local first=$!
	wait $first
	curl -sk --tlsv1.2 --tls-max 1.2 -o /dev/null "https://127.0.0.1:$PORT/other-client-tls12"
	python3 - "$PORT" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
urllib.request.urlopen(f"https://127.0.0.1:{sys.argv[1]}/from-python", context=ctx).read()
PY
	echo "$first"
}

if [ "$live" = yes ]; then
	say "recording loopback: $B/recorder/ecap-rec -i lo --store $STORE"
	"$B/recorder/ecap-rec" -i lo --store "$STORE" 2>"$WORK/rec.log" &
	REC=$!
	PIDS+=($REC)
	for _ in $(seq 100); do
		grep -q "recording on" "$WORK/rec.log" && break
		kill -0 $REC 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "recording on" "$WORK/rec.log"; then
		CLIENT=$(requests)
		sleep 2
		kill -INT $REC
		wait $REC || true
		cat "$WORK/rec.log"
	else
		live="no: $(tail -3 "$WORK/rec.log")"
		kill $REC 2>/dev/null || true
	fi
fi
if [ "$live" != yes ]; then
	say "live capture unavailable ($live); replaying a tcpdump capture instead"
	tcpdump -i lo -U -n -w "$WORK/cap.pcap" "tcp port $PORT" 2>"$WORK/tcpdump.log" &
	TD=$!
	PIDS+=($TD)
	sleep 1
	CLIENT=$(SSLKEYLOGFILE="$WORK/keys.txt" requests)
	sleep 0.5
	kill -INT $TD
	wait $TD || true
	"$B/recorder/ecap-rec" --replay "$WORK/cap.pcap" --keylog "$WORK/keys.txt" --store "$STORE"
fi

say "what the store holds: $B/tools/ecap-ls $STORE"
"$B/tools/ecap-ls" "$STORE"

OUT=demo.pcapng
if [ "$live" = yes ]; then
	say "export of the first curl: $B/export/ecap-export --store $STORE --pid $CLIENT -o $OUT"
	"$B/export/ecap-export" --store "$STORE" --pid "$CLIENT" -o "$OUT"
else
	say "export of the connections to the server: ecap-export --store $STORE --port $PORT -o $OUT"
	"$B/export/ecap-export" --store "$STORE" --port "$PORT" -o "$OUT"
fi

say "tshark -r $OUT -Y http: decrypted with the secrets inside the file, no configuration"
tshark -r "$OUT" -Y http -T fields -e frame.number -e ip.src -e tcp.srcport -e http.request.method \
	-e http.request.uri -e http.response.code -e frame.comment -E separator=' ' 2>/dev/null |
	sed 's/\\n/ | /g'
echo
echo "The export is $OUT; open it in Wireshark. The store is $STORE."
