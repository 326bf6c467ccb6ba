#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make_tls_capture.sh - a real TLS capture on loopback for the tests: tcpdump on lo while
# curl fetches N pages from an openssl s_server, one connection per page, with
# SSLKEYLOGFILE. Requests alternate TLS 1.3 and TLS 1.2 (every third is 1.2) and are
# spaced ~1 s apart so that tests can select them by time.
#
#   make_tls_capture.sh OUTDIR [N]        (default N = 4; needs root, tcpdump, openssl, curl)
#
# Writes in OUTDIR:
#   tls.pcap       the capture (Ethernet link type, as tcpdump writes lo)
#   keys.log       the NSS key log of every session
#   requests.txt   one line per request, in order:
#                  URI CLIENT_PORT SERVER_PORT FIRST_TS LAST_TS CLIENT_RANDOM TLS_VERSION
#                  (FIRST_TS/LAST_TS: epoch seconds of the connection's first and last
#                  packet as tshark prints them; CLIENT_RANDOM in lower-case hex)
# Exit status 77 when a tool is missing or not root, 1 on failure.
set -euo pipefail

out=${1:?usage: make_tls_capture.sh OUTDIR [N]}
n=${2:-4}
for c in tcpdump openssl curl tshark python3; do
	command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c is not installed" >&2; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: tcpdump on lo needs root" >&2; exit 77; }

mkdir -p "$out"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$out/key.pem" -out "$out/cert.pem" \
	-subj /CN=localhost -days 1 2>/dev/null

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

openssl s_server -accept "$port" -cert "$out/cert.pem" -key "$out/key.pem" -www -quiet \
	>/dev/null 2>&1 &
pids+=($!)
for i in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
# Capture only after the readiness probe above, so that it is not in the capture.
tcpdump -i lo -Z root -U -s 0 -w "$out/tls.pcap" "tcp port $port" 2>"$out/tcpdump.err" &
tcpdump_pid=$!
pids+=($tcpdump_pid)
# tcpdump is ready once it says it listens.
for i in $(seq 50); do
	grep -qs listening "$out/tcpdump.err" && break
	sleep 0.1
done
sleep 0.5

: >"$out/keys.log"
for i in $(seq "$n"); do
	v=()
	[ $((i % 3)) -eq 0 ] && v=(--tls-max 1.2)
	SSLKEYLOGFILE="$out/keys.log" curl -sk "${v[@]}" "https://127.0.0.1:$port/req$i" \
		-o /dev/null
	sleep 1
done
sleep 0.5
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true

# Which connection carried which request, from the decrypted capture.
tshark -r "$out/tls.pcap" -o "tls.keylog_file:$out/keys.log" -Y http.request \
	-T fields -e http.request.uri -e tcp.srcport -e tcp.stream 2>/dev/null >"$out/streams.txt"
: >"$out/requests.txt"
while read -r uri cport stream; do
	times=$(tshark -r "$out/tls.pcap" -Y "tcp.stream == $stream" -T fields \
		-e frame.time_epoch 2>/dev/null | sed -n '1p;$p' | tr '\n' ' ')
	hello=$(tshark -r "$out/tls.pcap" -Y "tcp.stream == $stream && tls.handshake.type == 1" \
		-T fields -e tls.handshake.random 2>/dev/null | head -1 | tr -d ':')
	ver=$(tshark -r "$out/tls.pcap" -o "tls.keylog_file:$out/keys.log" \
		-Y "tcp.stream == $stream && tls.handshake.type == 2" -T fields \
		-e tls.handshake.extensions.supported_version -e tls.handshake.version \
		2>/dev/null | head -1 | awk '{print $1}')
	echo "$uri $cport $port $times$hello $ver" >>"$out/requests.txt"
done <"$out/streams.txt"
got=$(wc -l <"$out/requests.txt")
[ "$got" -eq "$n" ] || { echo "make_tls_capture: $got of $n requests in the capture" >&2; exit 1; }
