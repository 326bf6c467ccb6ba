# SPDX-License-Identifier: GPL-2.0-only
# two_netns.sh - the network namespace is part of a connection's identity. Two namespaces
# made here each run an HTTP server on 127.0.0.1:PORT; five times, a curl in each namespace
# fetches from it at the same moment from the same local port, so the two connections have
# the very same 4-tuple. Each namespace also holds a TCP connection (again the same tuple in
# both) made before the recorders start, that afterwards carries only kernel keepalives, so
# only the /proc scan can name its owners. One ecap-rec runs inside each namespace
# (ip netns exec) on its lo, into a store of its own. Checks, for each store: ecap-export
# --pid of each of its own curls finds exactly that curl's connection, and every packet's
# comment names that curl and its own namespace's server; the keepalive connection is
# credited to its own namespace's peers; no process of the other namespace appears anywhere
# in the store's attribution, and --pid of the other namespace's curls finds nothing.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip curl

ROUNDS=5
PORT=29080
CPORT=29443 # rounds use CPORT, CPORT+1, ...
KA=29500
KAC=29501
NSS=("ecap-i15a-$$" "ecap-i15b-$$")
mkdir "$T/www"
head -c 30000 /dev/urandom | base64 >"$T/www/page.txt"

declare -A SRV KAS KACL REC
for k in 0 1; do
	cleanup_cmd "ip netns del ${NSS[$k]} 2>/dev/null"
	ip netns add "${NSS[$k]}" || skip "cannot create network namespaces here"
	ip -n "${NSS[$k]}" link set lo up
	in_ns "${NSS[$k]}" "$T/http$k.log" python3 -m http.server "$PORT" --bind 127.0.0.1 \
		--directory "$T/www"
	SRV[$k]=$BG_PID
	in_ns "${NSS[$k]}" "$T/kas$k.log" python3 "$PEERS" keepalive-server 127.0.0.1 "$KA"
	KAS[$k]=$BG_PID
	wait_for "$T/kas$k.log" "^ready" "$BG_PID" "keepalive server $k"
	in_ns "${NSS[$k]}" "$T/kac$k.log" python3 "$PEERS" keepalive-client 127.0.0.1 "$KA" "$KAC"
	KACL[$k]=$BG_PID
	wait_for "$T/kac$k.log" "^ready" "$BG_PID" "keepalive client $k"
	for i in $(seq 50); do
		ip netns exec "${NSS[$k]}" curl -s -o /dev/null --max-time 1 \
			"http://127.0.0.1:$PORT/" && break
		sleep 0.1
	done
done
sleep 1.5 # the keepalive connections are idle: nothing but the /proc scan can name them

for k in 0 1; do
	in_ns "${NSS[$k]}" "$T/rec$k.log" "$ECAP_REC" -i lo --store "$T/s$k" --no-tls
	REC[$k]=$BG_PID
	wait_for "$T/rec$k.log" "recording on" "$BG_PID" "ecap-rec in ${NSS[$k]}"
done

declare -a CURL0 CURL1
for r in $(seq 0 $((ROUNDS - 1))); do
	for k in 0 1; do
		ip netns exec "${NSS[$k]}" curl -s -o "$T/got$k-$r" --local-port $((CPORT + r)) \
			"http://127.0.0.1:$PORT/page.txt" &
		eval "CURL$k[$r]=\$!"
	done
	for k in 0 1; do
		eval "pid=\${CURL$k[$r]}"
		wait "$pid" || fail "curl in ${NSS[$k]} round $r failed"
		cmp -s "$T/got$k-$r" "$T/www/page.txt" || fail "curl $k round $r got other bytes"
	done
done
sleep 2.5 # keepalive probes, one a second

for k in 0 1; do
	kill -TERM "${REC[$k]}"
	rc=0
	wait "${REC[$k]}" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/rec$k.log" >&2; fail "ecap-rec in ${NSS[$k]} exited $rc"; }
done

# pids_in_comments PCAPNG: per packet, the sorted pids its comment names ("a,b").
pids_in_comments() {
	tshark -r "$1" -T fields -e frame.comment 2>/dev/null | python3 -c '
import re, sys
for line in sys.stdin:
    print(",".join(sorted(set(re.findall(r"(?:^|\\n)(?:Peer )?PID: (\d+)", line)))))'
}

# check_export K PID PEER PORT_A PORT_B WHAT: export --pid PID from store K: one TCP
# connection between PORT_A and PORT_B, every packet's comment names exactly PID and PEER.
check_export() {
	local k=$1 pid=$2 peer=$3 pa=$4 pb=$5 what=$6 out="$T/x$1-$2.pcapng" n want
	"$ECAP_EXPORT" --store "$T/s$k" --pid "$pid" -o "$out" -q ||
		fail "export --pid $pid ($what) from the store of ${NSS[$k]} failed"
	n=$(tshark -r "$out" 2>/dev/null | wc -l)
	assert_ge 3 "$n" "packets of $what"
	assert_eq 1 "$(tshark -r "$out" -T fields -e tcp.stream 2>/dev/null | sort -u | wc -l)" \
		"connections exported for $what"
	assert_eq "$(printf '%s\n' "$pa" "$pb" | sort | tr '\n' ' ')" \
		"$(tshark -r "$out" -T fields -e tcp.srcport -e tcp.dstport 2>/dev/null |
			tr '\t' '\n' | sort -u | tr '\n' ' ')" "ports of $what"
	want=$(printf '%s\n' "$pid" "$peer" | sort | paste -sd,)
	assert_eq "$n" "$(pids_in_comments "$out" | grep -cx "$want" || true)" \
		"packets of $what whose comment names exactly pids $want"
}

for k in 0 1; do
	o=$((1 - k))
	for r in $(seq 0 $((ROUNDS - 1))); do
		eval "mine=\${CURL$k[$r]} theirs=\${CURL$o[$r]}"
		check_export "$k" "$mine" "${SRV[$k]}" $((CPORT + r)) "$PORT" \
			"curl $mine (${NSS[$k]}, round $r)"
		expect_status 1 "$ECAP_EXPORT" --store "$T/s$k" --pid "$theirs" -o "$T/none.pcapng" -q
	done
	check_export "$k" "${KACL[$k]}" "${KAS[$k]}" "$KAC" "$KA" \
		"keepalive client ${KACL[$k]} (${NSS[$k]}, from /proc)"
	eval "foreign=\"\${CURL$o[*]} ${SRV[$o]} ${KAS[$o]} ${KACL[$o]}\""
	assert_eq 0 "$(sql "$T/s$k" "SELECT count(*) FROM flow_procs WHERE pid IN
		($(echo $foreign | tr ' ' ','))")" \
		"attributions in ${NSS[$k]}'s store to processes of ${NSS[$o]}"
	NETNS=$(stat -L -c %i "/run/netns/${NSS[$k]}")
	assert_eq "$NETNS" "$(sql "$T/s$k" "SELECT group_concat(DISTINCT netns) FROM flow_procs")" \
		"namespaces of the attributed sockets in ${NSS[$k]}'s store"
	info "${NSS[$k]}: $ROUNDS curls and the keepalive pair each found alone, with their own pids"
done
