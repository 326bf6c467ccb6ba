#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tls_libs.sh - TLS secrets from libraries other than a shared OpenSSL, client side and server
# side, decrypted by tshark from an ecap-export --pid file alone: Go crypto/tls (a program
# built here, with its symbols and stripped with -s -w, TLS 1.2 and 1.3), node from Debian's
# nodejs (OpenSSL built into the executable), GnuTLS (gnutls-cli, wget, gnutls-serv),
# BoringSSL (bssl-tool client and server), and curl (shared OpenSSL) as the baseline.
#
# The peer of each session is hidden from ecap (tls_libs/hidden.py, on a copy of libssl.so.3
# deleted once loaded), so only the secrets of the process under test count. Every program
# under test starts after ecap-rec, so it is covered from its exec, not by a rescan.
. "$ECAP_SRC/tests/lib.sh"
. "$ECAP_SRC/tests/live/live_lib.sh"

need_live
need_cmd go node gnutls-cli gnutls-serv wget bssl-tool curl openssl bpftool
D="$ECAP_SRC/tests/live/tls_libs"

cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
	-out cert.pem -days 1 -subj /CN=localhost 2>/dev/null || fail "cannot make a certificate"

# The Go peer, twice: with symbols, and stripped (found through .gopclntab).
export GOCACHE="$ECAP_BUILD/go-cache" GOPATH="$T/gopath" GO111MODULE=off GOFLAGS=
go build -o gopeer "$D/peer.go" || fail "cannot build the Go peer"
go build -ldflags "-s -w" -o gopeer_s "$D/peer.go" || fail "cannot build the stripped Go peer"
if readelf -S gopeer_s | grep -q '\.symtab'; then fail "gopeer_s kept its symbol table"; fi

# What ecap-calibrate --inspect finds in each file, from the file alone.
CAL="$ECAP_BUILD/tools/ecap-calibrate"
"$CAL" --inspect gopeer gopeer_s "$(command -v node)" \
	"$(readlink -f "$(ldd "$(command -v gnutls-cli)" | awk '/libgnutls.so/{print $3}')")" \
	"$(readlink -f "$(ldd "$(command -v bssl-tool)" | awk '/libssl.so/{print $3}')")" \
	> inspect.out || { cat inspect.out >&2; fail "ecap-calibrate --inspect failed"; }
sed 's/^/# /' inspect.out >&2
for want in "^gopeer: Go crypto/tls go1.*writeKeyLog" "^gopeer_s: Go crypto/tls.*(.gopclntab)" \
	"OpenSSL (in the executable): ssl_log_secret" "GnuTLS: _gnutls_call_keylog_func" \
	"BoringSSL: ssl_log_secret"; do
	grep -q "$want" inspect.out || fail "ecap-calibrate --inspect: no line matching '$want'"
done

# The hidden peers: their libssl is a deleted copy, which ecap does not probe.
mkdir hidden
cp "$(readlink -f "$(python3 -c 'import _ssl; print(_ssl.__file__)' | xargs ldd |
	awk '/libssl.so/{print $3}')")" hidden/libssl.so.3 || fail "cannot copy libssl.so.3"
PH=$(free_port)
LD_LIBRARY_PATH="$T/hidden" python3 "$D/hidden.py" server "$PH" cert.pem key.pem \
	> hsrv.log 2>&1 &
HSRV=$!
cleanup_pid "$HSRV"
mkfifo hcli.in
LD_LIBRARY_PATH="$T/hidden" python3 "$D/hidden.py" client < hcli.in > hcli.log 2>&1 &
HCLI=$!
cleanup_pid "$HCLI"
exec 3> hcli.in
wait_for hsrv.log "^ready" "$HSRV" "hidden server"
wait_for hcli.log "^ready" "$HCLI" "hidden client"
rm hidden/libssl.so.3
for p in "$HSRV" "$HCLI"; do
	grep -q "$T/hidden/libssl.so.3 (deleted)" "/proc/$p/maps" ||
		fail "hidden peer $p does not run on the deleted libssl copy"
done

rec_start rec.log -i lo --store "$T/store"

declare -A PID URI RAW
# run NAME URI CMD...: a client under test in the background; waited for by finish.
run() {
	local name=$1 uri=$2
	shift 2
	"$@" > "$name.out" 2>&1 &
	PID[$name]=$!
	URI[$name]=$uri
}
# raw NAME URI CMD...: CMD reads an HTTP request for URI on stdin, kept open for a second.
# Its exit status is not looked at: the hidden server closes without close_notify, which
# gnutls-cli calls an error. Whether the request was sent shows in the decryption.
raw() {
	local name=$1 uri=$2
	shift 2
	{ printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$uri"; sleep 1; } |
		"$@" > "$name.out" 2>&1 &
	PID[$name]=$!
	URI[$name]=$uri
	RAW[$name]=1
}
finish() {
	local name
	for name in "${!PID[@]}"; do
		wait "${PID[$name]}" || [ -n "${RAW[$name]:-}" ] ||
			{ cat "$name.out" >&2; fail "client $name failed"; }
	done
}
URL="https://127.0.0.1:$PH"

# New programs are probed at their exec (not at the 10 s rescan): the first run of each Go
# peer is a server that only waits for ecap to look at it (a program that exits at once may be
# gone before ecap opens it, and then had no handshake to miss).
for exe in gopeer gopeer_s; do
	"./$exe" server "$(free_port)" cert.pem key.pem > /dev/null 2>&1 &
	W=$!
	cleanup_pid "$W"
	wait_for rec.log "watching $T/$exe (.*after the exec" "$REC_PID" "ecap-rec attaching $exe"
	kill "$W"
done
info "$(grep -o "watching $T/gopeer_s.*" rec.log)"

# The window of a program's first run: a fresh copy makes its request at once. Said, not
# asserted: whether its first handshake is covered depends on how fast the machine is.
cp gopeer gopeer_w
./gopeer_w client "$URL/first" 1.3 > /dev/null 2>&1 &
FIRST=$!
wait "$FIRST" || fail "the first run of gopeer_w failed"

# ---- client side, against the hidden server ----
run go13 /go13 ./gopeer client "$URL/go13" 1.3
run go12 /go12 ./gopeer client "$URL/go12" 1.2
run gos13 /gos13 ./gopeer_s client "$URL/gos13" 1.3
run gos12 /gos12 ./gopeer_s client "$URL/gos12" 1.2
run node13 /node13 node -e "require('https').get('$URL/node13', {rejectUnauthorized: false,
	maxVersion: 'TLSv1.3', minVersion: 'TLSv1.3'}, r => r.resume())"
run node12 /node12 node -e "require('https').get('$URL/node12', {rejectUnauthorized: false,
	maxVersion: 'TLSv1.2'}, r => r.resume())"
raw gnutls13 /gnutls13 gnutls-cli --insecure --logfile=/dev/null -p "$PH" 127.0.0.1
raw gnutls12 /gnutls12 gnutls-cli --insecure --priority NORMAL:-VERS-TLS1.3 -p "$PH" 127.0.0.1
run wget /wget wget -q --no-check-certificate -O /dev/null "$URL/wget"
raw bssl13 /bssl13 bssl-tool client -connect "127.0.0.1:$PH" -min-version tls1.3
raw bssl12 /bssl12 bssl-tool client -connect "127.0.0.1:$PH" -max-version tls1.2
run curl /curl curl -sk -o /dev/null "$URL/curl"
finish

# ---- server side, the hidden client's requests ----
PGO=$(free_port)
./gopeer_s server "$PGO" cert.pem key.pem > gosrv.log 2>&1 &
GOSRV=$!
cleanup_pid "$GOSRV"
PNODE=$(free_port)
node -e "require('https').createServer({key: require('fs').readFileSync('key.pem'),
	cert: require('fs').readFileSync('cert.pem')}, (q, r) => r.end('hello from node\n'))
	.listen($PNODE, '127.0.0.1', () => console.log('ready'))" > nodesrv.log 2>&1 &
NODESRV=$!
cleanup_pid "$NODESRV"
PGNU=$(free_port)
gnutls-serv --http --x509certfile cert.pem --x509keyfile key.pem -p "$PGNU" \
	> gnusrv.log 2>&1 &
GNUSRV=$!
cleanup_pid "$GNUSRV"
PBSSL=$(free_port)
bssl-tool server -accept "$PBSSL" -cert cert.pem -key key.pem -www -loop > bsslsrv.log 2>&1 &
BSSLSRV=$!
cleanup_pid "$BSSLSRV"
for p in "$PGO" "$PNODE" "$PGNU" "$PBSSL"; do wait_port "$p"; done
n=0
for req in "$PGO /hgo13 1.3" "$PGO /hgo12 1.2" "$PNODE /hnode13 1.3" "$PNODE /hnode12 1.2" \
	"$PGNU /hgnutls13 1.3" "$PGNU /hgnutls12 1.2" "$PBSSL /hbssl13 1.3" \
	"$PBSSL /hbssl12 1.2"; do
	set -- $req
	echo "https://127.0.0.1:$1$2 $3" >&3
	n=$((n + 1))
done
for i in $(seq 200); do
	[ "$(grep -c '^done' hcli.log)" -ge "$n" ] && break
	sleep 0.1
done
[ "$(grep -c '^done' hcli.log)" -ge "$n" ] || { cat hcli.log >&2; fail "hidden client hung"; }
exec 3>&-
sleep 1 # the ring drains every 100 ms
rec_stop
grep "tls: " rec.log | grep -v "^ecap-rec: tls: watching /" >&2 || true
grep "tls: watching" rec.log | sed 's/^/# /' >&2

for name in "${!PID[@]}"; do
	assert_pid_decrypted "$T/store" "$name" "${PID[$name]}" "${URI[$name]} "
done
"$ECAP_EXPORT" --store "$T/store" --pid "$FIRST" -o "$T/first.pcapng" -q ||
	fail "export --pid $FIRST (first run) failed"
info "first run of a new Go program: $(grep -o "gopeer_w (.*" rec.log | grep -o "attached.*")," \
	"request decrypted: '$(tls_uris "$T/first.pcapng")'"

server() { # name pid uris
	"$ECAP_EXPORT" --store "$T/store" --pid "$2" -o "$T/$1.pcapng" -q ||
		fail "export --pid $2 ($1) failed"
	assert_eq "$3" "$(tls_uris "$T/$1.pcapng")" "requests decrypted from export --pid $2 ($1)"
	info "$1 (pid $2): decrypted $3"
}
server gosrv "$GOSRV" "/hgo12 /hgo13 "
server nodesrv "$NODESRV" "/hnode12 /hnode13 "
server gnusrv "$GNUSRV" "/hgnutls12 /hgnutls13 "
server bsslsrv "$BSSLSRV" "/hbssl12 /hbssl13 "
exit 0
