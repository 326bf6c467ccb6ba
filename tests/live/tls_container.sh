#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# tls_container.sh - TLS secrets of clients in "containers" (issue 14): each client runs in a
# chroot on a tmpfs mounted in a mount namespace of its own (the host sees an empty
# directory there, so only /proc/PID/exe, /proc/PID/root and /proc/PID/map_files lead to its
# files), with its own copies of the binary and of what ldd lists; the network is the host's.
#   go      the Go peer (tls_libs/peer.go, crypto/tls in a static executable: CGO_ENABLED=0)
#   gnutls  gnutls-cli, with libgnutls.so.30 copied into the container
#   curl    curl, with libcurl and libssl.so.3 copied into the container (libssl is not a
#           DT_NEEDED of curl itself, only of libcurl)
#   curllink the same files, but the container's /lib/x86_64-linux-gnu is an absolute symlink
#           to a directory whose path, on the host, holds a decoy libssl.so.3 (a GnuTLS
#           library): a path through /proc/PID/root that the host resolves would probe the
#           decoy; ecap must resolve it in the container's root and find its OpenSSL
# Each container starts after ecap-rec. A first run of its client (against a port that accepts
# and never answers) lets ecap find the files at its exec (not at the 10 s rescan: the log must
# name /proc/PID/exe or /proc/PID/root, where the rescan names /proc/PID/map_files); then the
# client fetches one URI from a server whose secrets ecap cannot read (tls_libs/hidden.py).
# ecap-export --pid of each client must decrypt its request in tshark from the file alone.
. "$ECAP_SRC/tests/lib.sh"
. "$ECAP_SRC/tests/live/live_lib.sh"

need_live
need_cmd go gnutls-cli curl openssl unshare chroot ldd
D="$ECAP_SRC/tests/live/tls_libs"

cd "$T"
chmod 755 "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
	-out cert.pem -days 1 -subj /CN=localhost 2>/dev/null || fail "cannot make a certificate"
export GOCACHE="$ECAP_BUILD/go-cache" GOPATH="$T/gopath" GO111MODULE=off GOFLAGS=
CGO_ENABLED=0 go build -o gopeer "$D/peer.go" || fail "cannot build the Go peer"
readelf -l gopeer | grep -q INTERP && fail "the Go peer is not a static executable"

# image NAME FILE...: the files of container NAME's image, in $T/img-NAME: each FILE at its
# path and what ldd lists for it (links resolved: the copies are regular files).
image() {
	local name=$1 f l
	shift
	for f in "$@"; do
		for l in "$f" $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
			mkdir -p "$T/img-$name$(dirname "$l")"
			cp -L "$l" "$T/img-$name$l"
		done
	done
}
# the Go peer at /gopeer of its image
image go "$T/gopeer"
mkdir -p img-go/bin
mv "img-go$T/gopeer" img-go/bin/gopeer
image gnutls "$(command -v gnutls-cli)"
image curl "$(command -v curl)"
for want in "img-gnutls/lib/x86_64-linux-gnu/libgnutls.so.30" \
	"img-curl/lib/x86_64-linux-gnu/libssl.so.3"; do
	[ -f "$want" ] || fail "$want was not copied (ldd names another path)"
done
cp -a img-curl img-curllink
mkdir -p "img-curllink$T"
mv img-curllink/lib/x86_64-linux-gnu "img-curllink$T/decoy"
ln -s "$T/decoy" img-curllink/lib/x86_64-linux-gnu
mkdir decoy
cp img-gnutls/lib/x86_64-linux-gnu/libgnutls.so.30 decoy/libssl.so.3

# The hidden server: its libssl is a deleted copy, which ecap does not probe.
mkdir hidden
cp "$(readlink -f "$(python3 -c 'import _ssl; print(_ssl.__file__)' | xargs ldd |
	awk '/libssl.so/{print $3}')")" hidden/libssl.so.3 || fail "cannot copy libssl.so.3"
PH=$(free_port)
LD_LIBRARY_PATH="$T/hidden" python3 "$D/hidden.py" server "$PH" cert.pem key.pem \
	> hsrv.log 2>&1 &
HSRV=$!
cleanup_pid "$HSRV"
wait_for hsrv.log "^ready" "$HSRV" "hidden server"
rm hidden/libssl.so.3
grep -q "$T/hidden/libssl.so.3 (deleted)" "/proc/$HSRV/maps" ||
	fail "the hidden server does not run on the deleted libssl copy"
# A port that accepts connections and never answers: a client's first run waits there.
PW=$(free_port)
python3 -c "import socket, time
s = socket.socket(); s.bind(('127.0.0.1', $PW)); s.listen(16); print('ready', flush=True)
time.sleep(120)" > tarpit.log 2>&1 &
cleanup_pid $!
wait_for tarpit.log "^ready" $! "the waiting port"

rec_start rec.log -i lo --store "$T/store"
# the first runs, should the test end before their containers do
cleanup_cmd 'for f in "$T"/*.ctl; do [ -e "$f" ] && kill $(awk "{print \$2}" "$f"); done'

# container NAME 'WARM' 'REAL': in a new mount namespace, a tmpfs on $T/ct-NAME filled from
# the image; chroot'ed, WARM runs first (its pid on "warm PID" in NAME.ctl) until $T/go-NAME
# exists, then REAL replaces the shell: the container's pid is the client's (run it with &: the
# function execs unshare). The tmpfs goes with the namespace when its last process ends.
container() {
	local name=$1 warm=$2 real=$3 r="$T/ct-$1"
	mkdir -p "$r"
	exec unshare --mount --propagation private sh -c "mount -t tmpfs tmpfs '$r' &&
		cp -a '$T/img-$name/.' '$r/' || exit 1
		chroot '$r' $warm < /dev/null > '$T/$name.warm' 2>&1 &
		echo warm \$! > '$T/$name.ctl'
		i=0
		while [ ! -e '$T/go-$name' ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
		kill \$! 2>/dev/null
		exec chroot '$r' $real"
}
URL="https://127.0.0.1:$PH"
container go "/bin/gopeer client https://127.0.0.1:$PW/warm 1.3" \
	"/bin/gopeer client $URL/ctgo 1.3" > go.out 2>&1 &
CPID[0]=$!
cleanup_pid $!
container gnutls "/usr/bin/gnutls-cli --insecure -p $PW 127.0.0.1" \
	"/usr/bin/gnutls-cli --insecure -p $PH 127.0.0.1" < <(
	for i in $(seq 300); do [ -e go-gnutls ] && break; sleep 0.1; done
	sleep 1
	printf 'GET /ctgnutls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
	sleep 1) > gnutls.out 2>&1 &
CPID[1]=$!
cleanup_pid $!
container curl "/usr/bin/curl -sk -m 30 https://127.0.0.1:$PW/warm" \
	"/usr/bin/curl -sk -o /resp $URL/ctcurl" > curl.out 2>&1 &
CPID[2]=$!
cleanup_pid $!
container curllink "/usr/bin/curl -sk -m 30 https://127.0.0.1:$PW/warm" \
	"/usr/bin/curl -sk -o /resp $URL/ctcurllink" > curllink.out 2>&1 &
CPID[3]=$!
cleanup_pid $!
NAMES=(go gnutls curl curllink)
# what ecap-rec must say of each container's files, found through its first client
declare -A WANT=(
	[go]="watching /proc/WARM/exe ($T/ct-go/bin/gopeer as the process sees it) (Go crypto/tls"
	[gnutls]="watching /proc/WARM/root/lib/x86_64-linux-gnu/libgnutls.so.30 (GnuTLS"
	[curl]="watching /proc/WARM/root/lib/x86_64-linux-gnu/libssl.so.3 (OpenSSL"
	[curllink]="watching /proc/WARM/root/lib/x86_64-linux-gnu/libssl.so.3 (OpenSSL"
)
for i in 0 1 2 3; do
	name=${NAMES[$i]}
	wait_for "$name.ctl" "^warm [0-9]" "${CPID[$i]}" "container $name"
	warm=$(awk '{print $2}' "$name.ctl")
	want=${WANT[$name]//WARM/$warm}
	wait_for rec.log "$want" "$REC_PID" "ecap-rec finding the $name container's library"
	info "$name: $(grep -o "$want.*" rec.log | head -1)"
	# the host sees none of it: the file was reached through the process alone
	[ ! -e "$T/ct-$name/bin" ] && [ ! -e "$T/ct-$name/usr" ] ||
		fail "the $name container's files are visible on the host"
	touch "go-$name"
done
grep "watching /proc/[0-9]*/root/lib/x86_64-linux-gnu/libssl.so.3 (GnuTLS" rec.log &&
	fail "ecap-rec followed the curllink container's symlink on the host, to the decoy"
for i in 0 1 2 3; do
	wait "${CPID[$i]}" || [ "${NAMES[$i]}" = gnutls ] ||
		{ cat "${NAMES[$i]}.out" >&2; fail "the ${NAMES[$i]} client failed"; }
done
sleep 1 # the ring drains every 100 ms
rec_stop
grep "tls: " rec.log | grep -v "tls: watching /usr\|tls: watching /lib" | sed 's/^/# /' >&2 ||
	true

for i in 0 1 2 3; do
	assert_pid_decrypted "$T/store" "${NAMES[$i]}" "${CPID[$i]}" "/ct${NAMES[$i]} "
done
exit 0
