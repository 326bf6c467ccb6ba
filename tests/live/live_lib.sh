# SPDX-License-Identifier: GPL-2.0-only
# live_lib.sh - helpers for the live tests (sourced after tests/lib.sh): skip when live
# capture cannot run here, start and stop ecap-rec and other background tools and wait until
# they are ready, check that nothing of ours stays attached, read a store's packets back with
# stock tools (lz4 -dc of each segment is a pcapng stream).

PEERS="$ECAP_SRC/tests/live/peers.py"

# Skip (77) unless we are root, ecap-rec was built with the live source and the kernel has BTF.
need_live() {
	need_root
	need_cmd tc lz4 tshark sqlite3 python3
	[ -x "$ECAP_REC" ] || skip "ecap-rec is not built"
	[ -e "$ECAP_BUILD/bpf/capture.skel.h" ] ||
		skip "ecap-rec is built without the live eBPF source"
	[ -r /sys/kernel/btf/vmlinux ] || skip "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
}

# wait_for FILE PATTERN PID WHAT: until FILE has a line matching PATTERN (at most ~20 s);
# fails early when PID exits.
wait_for() {
	local file=$1 pat=$2 pid=$3 what=$4 i
	for i in $(seq 200); do
		grep -q -- "$pat" "$file" 2>/dev/null && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$file" >&2 || true
			fail "$what exited early"
		fi
		sleep 0.1
	done
	cat "$file" >&2 || true
	fail "$what not ready after 20 s"
}

# rec_start LOG ARGS...: ecap-rec in the background; REC_PID; returns once it records.
rec_start() {
	local log=$1
	shift
	"$ECAP_REC" "$@" 2>"$log" &
	REC_PID=$!
	cleanup_pid "$REC_PID"
	wait_for "$log" "recording on" "$REC_PID" "ecap-rec"
}

# need_tls_live: a test of the live TLS probes needs root and an ecap-rec built with its live
# source; then, in the test's directory $T, a P-256 certificate for localhost (cert.pem,
# key.pem) for its servers.
need_tls_live() {
	need_root
	[ -x "$ECAP_REC" ] || skip "ecap-rec is not built"
	local help
	help=$("$ECAP_REC" --help 2>&1 || true)
	case "$help" in *--libssl*) ;; *) skip "ecap-rec has no live source" ;; esac
	cd "$T"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
		-out cert.pem -days 1 -subj /CN=localhost 2>/dev/null || fail "cannot make a certificate"
}

# rec_start_tls LOG ARGS...: as rec_start, for a test of the TLS probes: skips when the
# kernel refuses eBPF, and fails unless ecap-rec attached an OpenSSL probe.
rec_start_tls() {
	local log=$1
	shift
	"$ECAP_REC" "$@" >/dev/null 2>"$log" &
	REC_PID=$!
	cleanup_pid "$REC_PID"
	for _ in $(seq 150); do
		grep -q "recording on" "$log" 2>/dev/null && break
		if ! kill -0 "$REC_PID" 2>/dev/null; then
			cat "$log" >&2
			grep -qi "permission\|not permitted\|capabilit" "$log" && skip "no eBPF here"
			fail "ecap-rec exited early"
		fi
		sleep 0.1
	done
	grep -q "recording on" "$log" || fail "ecap-rec did not start recording"
	tls_watching "$log" || { cat "$log" >&2; fail "ecap-rec attached no OpenSSL probe"; }
}

# tls_watching LOG [WHAT]: whether ecap-rec says it watches a TLS library (whose line goes on
# with WHAT) within 20 s (the start waits 2 s at most for its calibrations, on the calibration
# thread: a slower one attaches its probes while recording).
tls_watching() {
	for _ in $(seq 200); do
		grep -q "tls: watching ${2:-}" "$1" && return 0
		sleep 0.1
	done
	return 1
}

# any_start LOG STORE ARGS...: an ecap-rec -i any; its pid in REC_PID. Skips when the kernel
# refuses the tracepoint programs.
any_start() {
	local log=$1 store=$2
	shift 2
	"$ECAP_REC" -i any --store "$store" --no-tls "$@" 2>"$log" &
	REC_PID=$!
	cleanup_pid "$REC_PID"
	for _ in $(seq 200); do
		grep -q "recording on" "$log" && return 0
		if ! kill -0 "$REC_PID" 2>/dev/null; then
			grep -q "refused the -i any program" "$log" &&
				skip "the kernel refuses tp_btf programs: $(tail -1 "$log")"
			cat "$log" >&2
			fail "ecap-rec -i any exited early"
		fi
		sleep 0.1
	done
	fail "ecap-rec -i any not ready after 20 s"
}

# rec_stop [LOG]: SIGTERM, and the exit status must be 0 (else LOG, if given, is shown).
rec_stop() {
	local rc=0
	kill -TERM "$REC_PID"
	wait "$REC_PID" || rc=$?
	[ "$rc" -eq 0 ] || { [ -z "${1:-}" ] || cat "$1" >&2; fail "ecap-rec exited $rc after SIGTERM"; }
}

# in_own_netns TAG: runs the test script again in a network namespace made for it,
# ecap-TAG-PID (lo up, deleted at the end), and exits with its status; returns only there
# (ECAP_OWN_NETNS names it). Its interfaces are seen only by the recorders it starts, not by
# other tests' (which remove stale filters on every interface they see).
in_own_netns() {
	[ -z "${ECAP_OWN_NETNS:-}" ] || return 0
	local ns="ecap-$1-$$" rc=0
	cleanup_cmd "ip netns del $ns 2>/dev/null"
	ip netns add "$ns" || skip "cannot create network namespaces here"
	ip -n "$ns" link set lo up
	ECAP_OWN_NETNS=$ns ip netns exec "$ns" bash "$0" || rc=$?
	exit "$rc"
}

# ns_answers NS URL: waits (5 s at most) until URL answers a curl from network namespace NS.
ns_answers() {
	local i
	for i in $(seq 50); do
		ip netns exec "$1" curl -s -o /dev/null --max-time 2 "$2" && return 0
		sleep 0.1
	done
	fail "$2 does not answer from namespace $1"
}

# tcpdump_start OUT.pcap LOG IFACE FILTER...: TCPDUMP_PID; returns once it listens.
tcpdump_start() {
	local out=$1 log=$2 dev=$3
	shift 3
	tcpdump -i "$dev" -U -n --immediate-mode --time-stamp-precision=nano -w "$out" "$@" \
		2>"$log" &
	TCPDUMP_PID=$!
	cleanup_pid "$TCPDUMP_PID"
	wait_for "$log" "listening on" "$TCPDUMP_PID" "tcpdump"
}

tcpdump_stop() {
	kill -INT "$TCPDUMP_PID"
	wait "$TCPDUMP_PID" || true
}

# peer_start LOG MODE ARGS...: a peers.py process in the background; PEER_PID; waits for it.
peer_start() {
	local log=$1
	shift
	python3 "$PEERS" "$@" >"$log" 2>&1 &
	PEER_PID=$!
	cleanup_pid "$PEER_PID"
	wait_for "$log" "^ready" "$PEER_PID" "peers.py $1"
}

# assert_no_filters DEV [PID]: no filter of the recorder PID (default: the last one started)
# on DEV, ingress or egress. Our filters have the recorder's pid as handle; other recorders
# (other tests) may hold theirs meanwhile.
assert_no_filters() {
	local dev=$1 pid=${2:-$REC_PID} out
	out=$( (tc filter show dev "$dev" ingress; tc filter show dev "$dev" egress) 2>&1 || true)
	if echo "$out" | grep -q "handle $(printf '0x%x' "$pid") ecap_"; then
		echo "$out" >&2
		fail "filters of ecap-rec pid $pid left on $dev"
	fi
}

# has_filter DEV PID: whether the recorder PID has a filter on DEV.
has_filter() {
	local dev=$1 pid=$2 out
	# read it all first: grep -q would close the pipe early, and pipefail count that
	out=$( (tc filter show dev "$dev" ingress; tc filter show dev "$dev" egress) 2>/dev/null)
	grep -q "handle $(printf '0x%x' "$pid") ecap_" <<<"$out"
}

# store_pcapng STORE OUT: every segment decompressed, one pcapng stream of sections.
store_pcapng() {
	local store=$1 out=$2 f
	: >"$out"
	for f in "$store"/seg-*.ecap; do
		[ -e "$f" ] || continue
		lz4 -dc "$f" >>"$out"
	done
}

# assert_accounting LOG: the final status line adds up: every packet the kernel programs saw
# was stored, filtered out or counted as a drop.
assert_accounting() {
	local line
	line=$(grep "ecap-rec: stopped:" "$1" | tail -1)
	[ -n "$line" ] || fail "no final status line in $1"
	python3 - "$line" <<'PY' || fail "packet accounting does not add up: $line"
import re
import sys
line = sys.argv[1]


def num(pat):
    m = re.search(pat, line)
    return int(m.group(1)) if m else 0


stored, drops = num(r"stopped: (\d+) packets"), num(r"(\d+) drops")
filtered, seen = num(r"(\d+) filtered out"), num(r"the kernel saw (\d+) packets")
print("# stored %d + filtered %d + drops %d, kernel saw %d" % (stored, filtered, drops, seen),
      file=sys.stderr)
sys.exit(0 if seen > 0 and stored + filtered + drops == seen else 1)
PY
}

# assert_time_order PCAPNG WHAT: the packets of PCAPNG are in non-decreasing timestamp order
# (what -i any guarantees: README, -i any), whatever their interface; says how many.
assert_time_order() {
	tshark -r "$1" -T fields -e frame.time_epoch 2>/dev/null | python3 -c '
import sys
from decimal import Decimal
ts = [Decimal(l) for l in sys.stdin.read().split()]
back = [(i + 1, ts[i - 1], t) for i, t in enumerate(ts) if i and t < ts[i - 1]]
for n, prev, t in back[:5]:
    print("# packet %d at %s comes after one at %s" % (n, t, prev), file=sys.stderr)
print("# %d packets, %d step(s) back in time" % (len(ts), len(back)), file=sys.stderr)
sys.exit(1 if back or not ts else 0)' || fail "$2: timestamps step back (or no packets) in $1"
}

# ossl_probes: how many OpenSSL probe programs (ours are named ossl_*) the kernel holds.
# ossl_probe_ids PID: the ids of the OpenSSL probe programs (ossl_*) that process holds, by
# program or link file descriptor. Counting the host's ossl_ programs would also count other
# recorders' (tests run two at a time).
ossl_probe_ids() {
	local id
	for id in $(sed -n 's/^prog_id:[[:space:]]*//p' /proc/"$1"/fdinfo/* 2>/dev/null | sort -un); do
		bpftool prog show id "$id" 2>/dev/null | grep -q "name ossl_" && echo "$id"
	done
	return 0
}
# progs_loaded ID...: those of the program ids still loaded in the kernel, 2 s after the call
# at most (the kernel frees a program after its last holder's exit, not always at once)
progs_loaded() {
	local id left
	for _ in $(seq 20); do
		left=
		for id in "$@"; do
			bpftool prog show id "$id" >/dev/null 2>&1 && left="$left $id"
		done
		[ -n "$left" ] || return 0
		sleep 0.1
	done
	echo "${left# }"
}

# tls_uris PCAPNG: the request URIs tshark decrypts from it (no key log), sorted, each
# followed by a space.
tls_uris() {
	tshark -r "$1" -Y http.request -T fields -e http.request.uri 2>/dev/null | sort |
		tr '\n' ' '
}

# assert_pid_decrypted STORE NAME PID URIS: ecap-export --pid PID from STORE into
# $T/NAME.pcapng; tshark decrypts exactly URIS ("/a /b ", as tls_uris prints them) and every
# packet's comment names PID.
assert_pid_decrypted() {
	local store=$1 name=$2 pid=$3 want=$4 out="$T/$2.pcapng" n k
	"$ECAP_EXPORT" --store "$store" --pid "$pid" -o "$out" -q ||
		fail "export --pid $pid ($name) failed"
	assert_eq "$want" "$(tls_uris "$out")" "requests decrypted from export --pid $pid ($name)"
	n=$(tshark -r "$out" -T fields -e frame.comment 2>/dev/null | wc -l)
	k=$(tshark -r "$out" -T fields -e frame.comment 2>/dev/null |
		grep -cE "(^|\\\\n)(Peer )?PID: $pid\\\\n" || true)
	assert_ge 1 "$n" "packets exported for $name"
	assert_eq "$n" "$k" "packets of $name whose comment names pid $pid"
	info "$name (pid $pid): $n packets, decrypted $want"
}

# in_ns NS LOG ARGS...: ARGS in network namespace NS in the background, output to LOG;
# BG_PID is its pid (ip netns exec execs the command, so the pid is the command's own).
in_ns() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	BG_PID=$!
	cleanup_pid "$BG_PID"
}

# sql STORE QUERY: one query on the store's index.
sql() {
	sqlite3 -batch -noheader "$1/index.db" "$2"
}

# veth_setup TAG NET: a network namespace ecap-TAG-$$ (lo up, deleted at the end) and the
# names of a veth pair between it and the host on 10.NET.N.0/30: sets NS, HOST_IF, NS_IF,
# HOST_IP, NS_IP. veth_make then makes the pair (again, after a test deleted it).
veth_setup() {
	local n=$(($$ % 200 + 20))
	NS="ecap-$1-$$"
	HOST_IF="ec${1:0:1}$$h"
	NS_IF="ec${1:0:1}$$n"
	HOST_IP="10.$2.$n.1"
	NS_IP="10.$2.$n.2"
	cleanup_cmd "ip netns del $NS 2>/dev/null"
	cleanup_cmd "ip link del $HOST_IF 2>/dev/null"
	ip netns add "$NS" || skip "cannot create network namespaces here"
	ip -n "$NS" link set lo up
}

veth_make() {
	ip link add "$HOST_IF" type veth peer name "$NS_IF" netns "$NS" &&
		ip addr add "$HOST_IP/30" dev "$HOST_IF" &&
		ip link set "$HOST_IF" up &&
		ip -n "$NS" addr add "$NS_IP/30" dev "$NS_IF" &&
		ip -n "$NS" link set "$NS_IF" up ||
		fail "cannot make the veth pair $HOST_IF/$NS_IF"
}

# vlan_push_attach: the namespace end tags UDP datagrams to port 9 with VLAN 100 outside the
# packet bytes (tests/live/vlan_push.bpf.c), as hardware VLAN offload does.
vlan_push_attach() {
	local obj="$ECAP_BUILD/tests/live/vlan_push.bpf.o"
	[ -e "$obj" ] || fail "$obj is not built"
	ip netns exec "$NS" tc qdisc add dev "$NS_IF" clsact &&
		ip netns exec "$NS" tc filter add dev "$NS_IF" egress bpf direct-action obj "$obj" \
			sec tc || fail "cannot attach $obj to $NS_IF"
}

# slow_server PORT LOG: an HTTP server on 127.0.0.1:PORT (in the background, ended at exit)
# that answers every request with "ok", 0.3 s late when its path has /slow in it, so that a
# client lives long enough to be looked at in /proc; returns once it listens.
slow_server() {
	python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    if b"/slow" in c.recv(4096):
        time.sleep(0.3)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    c.close()
' "$1" >"$2" 2>&1 &
	cleanup_pid $!
	wait_port "$1"
}

# map_library FILE: a background process that maps FILE as a loaded library's pages (read
# and execute) and never runs it, for 60 s; cleaned up with the test.
map_library() {
	python3 -c "import mmap, time
f = open('$1', 'rb')
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ | mmap.PROT_EXEC)
time.sleep(60)" &
	cleanup_pid $!
}

# calib_sandbox LAUNCHERS...: the pid of a child of one of the calibration launchers (a
# sandboxed calibration), waiting 15 s at most; empty when there is none.
calib_sandbox() {
	local l s
	for _ in $(seq 150); do
		for l in "$@"; do
			s=$(pgrep -P "$l" | head -1) && { echo "$s"; return 0; }
		done
		sleep 0.1
	done
	return 0
}

# datagram_indexed_ms STORE PORT: sends a UDP datagram to 127.0.0.1:PORT and prints after how
# many ms its flow is in STORE's index (10 s at most; nothing printed when it is not).
datagram_indexed_ms() {
	local t0 n
	t0=$(date +%s%N)
	python3 -c "import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'while calibrating', ('127.0.0.1', $2))"
	for _ in $(seq 200); do
		n=$(sql "$1" "SELECT count(*) FROM flows WHERE proto = 17 AND
			(port_a = $2 OR port_b = $2)" 2>/dev/null || echo 0)
		if [ "${n:-0}" -ge 1 ]; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		sleep 0.05
	done
}

# while_calibrating STORE PORT SANDBOX LIBRARY: while the sandboxed calibration SANDBOX of the
# planted LIBRARY runs, a datagram to PORT is in STORE's index within 10 s (recorded while it
# went on, not after it: mode 5 spins 15 s, then the idle bound ends it); then SIGTERM ends ecap-rec
# ($REC_PID, log rec.log) within 10 s, the sandbox with it, and LIBRARY was never probed.
while_calibrating() {
	local ms stop t0
	ms=$(datagram_indexed_ms "$1" "$2")
	[ -n "$ms" ] || fail "the datagram is not in the index after 10 s (the loop waits for the calibration?)"
	info "the datagram during the calibration: in the index after $ms ms"
	kill -0 "$3" 2>/dev/null ||
		fail "the datagram was in the index only once the calibration had ended: $(grep "$4" rec.log)"
	t0=$(date +%s%N)
	rec_stop rec.log
	stop=$((($(date +%s%N) - t0) / 1000000))
	info "SIGTERM to exit: $stop ms"
	[ "$stop" -le 10000 ] || fail "ecap-rec took $stop ms to stop during a calibration"
	for _ in $(seq 20); do kill -0 "$3" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$3" 2>/dev/null && fail "the sandboxed calibration outlived ecap-rec"
	grep -q "tls: watching $4" rec.log && fail "the planted library was probed"
	return 0
}

# planted_calibration NAME MODE: the set-up of a test of a calibration that does not end by
# itself, in a network namespace of its own (in_own_netns NAME): $T/lib/libssl.so.3, a copy of
# planted_libssl.c's MODE (4: its constructor sleeps for ever; 5: it spins 15 s first), and
# $T the current directory.
planted_calibration() {
	local planted="$ECAP_BUILD/tests/unit/planted_m$2.so"
	need_live
	need_cmd ip pgrep
	[ -f "$planted" ] || skip "the planted libraries are not built"
	in_own_netns "$1"
	cd "$T"
	mkdir lib
	cp "$planted" lib/libssl.so.3
}

# real_libssl_secrets PORT BOUND_S: an openssl s_server -www on 127.0.0.1:PORT with a libssl
# of its own, $T/real/NAME (a copy of the system's libssl that openssl uses, mode 0644, root's:
# a new file for ecap-rec to find by its rescan), and clients of it with that libssl, a TLS
# session a second, until the secrets one of them wrote in its key log are in $T/store (BOUND_S
# at most). REAL_LIBSSL: the copy's path; SECRETS_MS: ms from the server's start until then,
# empty when they never came (after BOUND_S). Skips when openssl uses no shared libssl.
real_libssl_secrets() {
	local port=$1 bound=$2 sys server t0 i k cr
	sys=$(ldd "$(command -v openssl)" | awk '$1 ~ /^libssl\.so/ { print $3 }')
	[ -f "$sys" ] || skip "openssl does not use a shared libssl here"
	mkdir -p "$T/real"
	cp "$sys" "$T/real/"
	chmod 0644 "$T/real/$(basename "$sys")"
	REAL_LIBSSL="$T/real/$(basename "$sys")"
	t0=$(date +%s%N)
	LD_LIBRARY_PATH="$T/real" openssl s_server -www -accept "$port" -cert "$T/cert.pem" \
		-key "$T/key.pem" -quiet >/dev/null 2>&1 &
	server=$!
	cleanup_pid "$server"
	wait_port "$port"
	grep -q "$REAL_LIBSSL" "/proc/$server/maps" || fail "the server did not load $REAL_LIBSSL"
	SECRETS_MS=
	for i in $(seq "$bound"); do
		LD_LIBRARY_PATH="$T/real" openssl s_client -connect "127.0.0.1:$port" \
			-keylogfile "$T/kl.$i" </dev/null >/dev/null 2>&1
		store_keylog "$T/store" "$T/store.kl"
		for k in "$T"/kl.*; do
			cr=$(awk '$1 == "CLIENT_HANDSHAKE_TRAFFIC_SECRET" { print $2; exit }' "$k")
			if [ -n "$cr" ] && grep -q "$cr" "$T/store.kl" 2>/dev/null; then
				SECRETS_MS=$((($(date +%s%N) - t0) / 1000000))
				return 0
			fi
		done
		[ $((($(date +%s%N) - t0) / 1000000000)) -lt "$bound" ] || return 0
		sleep 1
	done
}
