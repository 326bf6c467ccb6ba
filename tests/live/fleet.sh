# SPDX-License-Identifier: GPL-2.0-only
# fleet.sh - a fleet of three recording hosts, each a network namespace made here on one
# bridge (10.204.N.0/24: the test's own end .1, hosts A .2, B .3, C .4; nothing leaves the
# machine), each with its own sshd (host keys made here, listening only on its namespace
# address, the fleet key forced to tools/ecap-fleet-shell), ecap-rec and ecap-ship; one
# PostgreSQL (tests/integration/fleet_lib.sh). curl in A fetches from servers in B and C, and
# curl in B from a server on B's loopback. Then:
#  - the central rows equal each host's local index;
#  - ecap-ls --fleet --host B finds exactly hosts A and B;
#  - --fleet --netns A finds A's flows only; --fleet --exe curl is the union of the hosts' own
#    answers (--json, with what was recorded of each process); --pid N@START of a curl in A
#    exactly that process's flows;
#  - ecap-export --fleet --comm curl holds exactly the union of the per-host exports of the
#    same selection (packets, timestamps, interfaces IFACE@HOST, "Host:" comments), its
#    DSB-free header names the hosts that answered;
#  - ecap-export --fleet --host B has the connection A->B twice, once per observation point;
#  - the fleet key runs nothing but ecap-export;
#  - with C's sshd stopped, an export naming C's flows says C did not answer (exit 1) and
#    still holds A's packets.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
source "$ECAP_SRC/tests/integration/fleet_lib.sh"
need_live
need_cmd ip curl ssh ssh-keygen psql sqlite3
[ -x /usr/sbin/sshd ] || skip "openssh-server is not installed"
pg_start

NET="10.204.$(($$ % 200 + 20))"
BR="ecbr$$"
HOSTS=(A B C)
declare -A IP NS
cleanup_cmd "ip link del $BR 2>/dev/null"
ip link add "$BR" type bridge || skip "cannot make a bridge here"
ip addr add "$NET.1/24" dev "$BR"
ip link set "$BR" up
i=2
for h in "${HOSTS[@]}"; do
	NS[$h]="ecap-fleet$h-$$"
	IP[$h]="$NET.$i"
	cleanup_cmd "ip netns del ${NS[$h]} 2>/dev/null"
	cleanup_cmd "ip link del ecf$h$$ 2>/dev/null"
	ip netns add "${NS[$h]}" || skip "cannot create network namespaces here"
	ip -n "${NS[$h]}" link set lo up
	ip link add "ecf$h$$" type veth peer name eth0 netns "${NS[$h]}"
	ip link set "ecf$h$$" master "$BR" up
	ip -n "${NS[$h]}" addr add "${IP[$h]}/24" dev eth0
	ip -n "${NS[$h]}" link set eth0 up
	i=$((i + 1))
done

# SSH: a fleet key, a host key per host, sshd per namespace on its address only
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/fleet_key" -C fleet
printf 'restrict,command="%s %s" %s\n' "$ECAP_SRC/tools/ecap-fleet-shell" "$ECAP_EXPORT" \
	"$(cat "$T/fleet_key.pub")" >"$T/authorized_keys"
chmod 600 "$T/authorized_keys"
: >"$T/known_hosts"
: >"$T/ssh_config"
for h in "${HOSTS[@]}"; do
	mkdir "$T/$h"
	ssh-keygen -q -t ed25519 -N '' -f "$T/$h/host_key" -C "host$h"
	echo "host$h $(cut -d' ' -f1-2 "$T/$h/host_key.pub")" >>"$T/known_hosts"
	cat >"$T/$h/sshd_config" <<CONF
ListenAddress ${IP[$h]}:22
HostKey $T/$h/host_key
PidFile $T/$h/sshd.pid
AuthorizedKeysFile $T/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
CONF
	cat >>"$T/ssh_config" <<CONF
Host host$h
	HostName ${IP[$h]}
	HostKeyAlias host$h
	User root
	IdentityFile $T/fleet_key
	IdentitiesOnly yes
	UserKnownHostsFile $T/known_hosts
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 5
CONF
	ip netns exec "${NS[$h]}" /usr/sbin/sshd -D -e -f "$T/$h/sshd_config" \
		2>"$T/$h/sshd.log" &
	eval "SSHD_$h=$!"
	cleanup_pid "$!"
done
SSH="ssh -F $T/ssh_config"
for h in "${HOSTS[@]}"; do
	for i in $(seq 50); do
		rc=0
		$SSH "host$h" true 2>/dev/null || rc=$?
		# the forced command refuses 'true' (126): sshd answered and authenticated us
		[ "$rc" -eq 126 ] && break
		sleep 0.1
	done
	[ "$rc" -eq 126 ] || { cat "$T/$h/sshd.log" >&2; fail "sshd of host $h: ssh exited $rc"; }
done

# recorders and shippers
for h in "${HOSTS[@]}"; do
	ifs=(-i eth0)
	[ "$h" = B ] && ifs+=(-i lo)
	ip netns exec "${NS[$h]}" "$ECAP_REC" "${ifs[@]}" --store "$T/$h/s" --no-tls \
		2>"$T/$h/rec.log" &
	eval "REC_$h=$!"
	cleanup_pid "$!"
done
for h in "${HOSTS[@]}"; do
	eval "wait_for '$T/$h/rec.log' 'recording on' \$REC_$h ecap-rec-$h"
	"$ECAP_SHIP" --to-file "$T/dsn" --store "$T/$h/s" --host "host$h" --interval 0.2 \
		2>"$T/$h/ship.log" &
	eval "SHIP_$h=$!"
	cleanup_pid "$!"
done

# traffic: servers in B (its address and its loopback) and C; curl in A and in B
mkdir "$T/www"
head -c 20000 /dev/urandom | base64 >"$T/www/data.txt"
ip netns exec "${NS[B]}" python3 -m http.server 8080 --bind "${IP[B]}" --directory "$T/www" \
	>/dev/null 2>&1 &
cleanup_pid "$!"
ip netns exec "${NS[B]}" python3 -m http.server 8081 --bind 127.0.0.1 --directory "$T/www" \
	>/dev/null 2>&1 &
cleanup_pid "$!"
ip netns exec "${NS[C]}" python3 -m http.server 8080 --bind "${IP[C]}" --directory "$T/www" \
	>/dev/null 2>&1 &
cleanup_pid "$!"
ns_answers "${NS[A]}" "http://${IP[B]}:8080/data.txt"
ns_answers "${NS[A]}" "http://${IP[C]}:8080/data.txt"
ns_answers "${NS[B]}" "http://127.0.0.1:8081/data.txt"
ns_answers "${NS[A]}" "http://${IP[B]}:8080/"
sleep 1.5
for h in "${HOSTS[@]}"; do
	eval "kill -TERM \$REC_$h; wait \$REC_$h" || fail "ecap-rec of $h failed"
done
for h in "${HOSTS[@]}"; do
	for i in $(seq 100); do
		L=$(sqlite3 "$T/$h/s/index.db" "SELECT coalesce(max(id), 0) FROM chunks")
		W=$(psqlc "SELECT shipped_chunk FROM ecap_hosts WHERE name = 'host$h'")
		[ "$W" = "$L" ] && break
		sleep 0.2
	done
	assert_shipped "$T/$h/s" "host$h"
	eval "kill -TERM \$SHIP_$h; wait \$SHIP_$h" || fail "ecap-ship of $h did not exit 0"
done
assert_ge 1 "$(psqlc "SELECT count(*) FROM ecap_procs WHERE comm = 'curl'")" "curl processes"

# which hosts saw B's address: A (its client) and B, not C
"$ECAP_LS" --fleet-file "$T/dsn" --host "${IP[B]}" >"$T/ls.txt" || fail "ecap-ls --fleet failed"
cat "$T/ls.txt" >&2
assert_eq "hostA hostB" "$(awk '/^Hosts with/ {on = 1; next} /^  host/ && on {print $1}' \
	"$T/ls.txt" | sort | tr '\n' ' ' | sed 's/ $//')" "hosts that saw ${IP[B]}"
"$ECAP_LS" --fleet-file "$T/dsn" -f --comm curl >"$T/lsf.txt" || fail "ecap-ls --fleet -f failed"
grep -q "hostA .*${IP[C]}:8080" "$T/lsf.txt" || fail "ecap-ls --fleet -f misses A's curl to C"
"$ECAP_LS" --fleet-file "$T/dsn" -p --port 8081 >"$T/lsp.txt" || fail "ecap-ls --fleet -p failed"
grep -Eq "^  hostB +[0-9]+ curl " "$T/lsp.txt" || fail "ecap-ls --fleet -p: no curl on B"
grep -Eq "^  hostB +[0-9]+ python3 " "$T/lsp.txt" || fail "ecap-ls --fleet -p: no server on B"

# issue 15's selections fleet-wide, on live records: host A's network namespace (its name
# under /run/netns) finds A's flows only; curl's executable finds the curl processes of A
# and B, with what their hosts recorded of them; one of them by pid and start time finds
# exactly its flows (--json throughout)
"$ECAP_LS" --fleet-file "$T/dsn" --json -f --netns "${NS[A]}" >"$T/ns.json" ||
	fail "ecap-ls --fleet --netns failed"
python3 - "$T/ns.json" <<'PY' || fail "ecap-ls --fleet --netns ${NS[A]}: not A's flows only"
import json, sys
d = json.load(open(sys.argv[1]))
assert [h['host'] for h in d['hosts']] == ['hostA'], d['hosts']
assert len(d['flows']) >= 3 and all(f['host'] == 'hostA' for f in d['flows']), d['flows']
PY
CURL=$(readlink -f "$(command -v curl)")
rc=0
"$ECAP_LS" --fleet-file "$T/dsn" --json -p -f --exe "$CURL" >"$T/exe.json" || rc=$?
[ "$rc" -le 1 ] || fail "ecap-ls --fleet --exe exited $rc"
pairs=()
for h in "${HOSTS[@]}"; do
	"$ECAP_LS" --json -p -f --exe "$CURL" "$T/$h/s" >"$T/$h/exe.json" 2>/dev/null || true
	pairs+=("host$h=$T/$h/exe.json")
done
python3 "$ECAP_SRC/tests/integration/fleet_json.py" same "$T/exe.json" "${pairs[@]}" || fail "ecap-ls --fleet --exe $CURL differs from the hosts' own answers"
# a curl of A by pid and start time: exactly its flows
"$ECAP_LS" --fleet-file "$T/dsn" --json -p --comm curl >"$T/curl.json" ||
	fail "ecap-ls --fleet -p --comm curl failed"
python3 - "$T/curl.json" >"$T/curlA.txt" <<'PY' || fail "no curl of A with its start time"
import json, sys
ps = json.load(open(sys.argv[1]))['processes']
a = [p for p in ps if p['host'] == 'hostA' and p.get('start_ns', 0) > 0][0]
print(a['pid'], a['start'], a['flows'])
PY
read -r CPID CSTART CFLOWS <"$T/curlA.txt"
"$ECAP_LS" --fleet-file "$T/dsn" --json -f --pid "$CPID@$CSTART" >"$T/pid.json" ||
	fail "ecap-ls --fleet --pid $CPID@$CSTART failed"
python3 - "$T/pid.json" "$CPID" "$CFLOWS" <<'PY' || fail "--fleet --pid $CPID@$CSTART"
import json, sys
d, pid, n = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
f = d['flows']
assert len(f) == n and all(x['host'] == 'hostA' for x in f), f
assert all(pid in [(x[s]['process'] or {}).get('pid') for s in 'ab'] for x in f), f
PY

# the fleet key runs nothing else
rc=0
$SSH hostA cat /etc/hostname >/dev/null 2>&1 || rc=$?
assert_eq 126 "$rc" "a command other than ecap-export over the fleet key"
rc=0
$SSH hostA "ecap-export --store /tmp --flow-ids 1 -q -o - ; id" >/dev/null 2>&1 || rc=$?
assert_eq 126 "$rc" "ecap-export with a shell suffix over the fleet key"

# --comm curl: exactly the union of the per-host exports
"$ECAP_EXPORT" --fleet-file "$T/dsn" --fleet-ssh "$SSH" --comm curl -o "$T/fleet.pcapng" \
	2>"$T/fleet.log" || { cat "$T/fleet.log" >&2; fail "ecap-export --fleet failed"; }
: >"$T/union.txt"
for h in "${HOSTS[@]}"; do
	rc=0
	"$ECAP_EXPORT" --store "$T/$h/s" --comm curl -q -o "$T/$h.pcapng" 2>/dev/null || rc=$?
	[ "$rc" -le 1 ] || fail "local export of $h exited $rc"
	python3 "$ECAP_SRC/tests/integration/fleet_pcap.py" packets "$T/$h.pcapng" "host$h" \
		>>"$T/union.txt"
done
python3 "$ECAP_SRC/tests/integration/fleet_pcap.py" packets "$T/fleet.pcapng" \
	>"$T/fleet.txt" || fail "the fleet export's packets are not all named by host"
sort -o "$T/union.txt" "$T/union.txt"
sort -o "$T/fleet.txt" "$T/fleet.txt"
assert_ge 20 "$(wc -l <"$T/fleet.txt")" "packets in the fleet export"
cmp -s "$T/union.txt" "$T/fleet.txt" || {
	diff "$T/union.txt" "$T/fleet.txt" | head >&2 || true
	fail "the fleet export is not the union of the per-host exports"
}
# (hosts share one kernel here, so C's recorder may also know A's curl as the owner of a
# socket it saw: the union decides, and it must hold A and B)
FH=$(cut -d' ' -f1 "$T/fleet.txt" | sort -u | tr '\n' ' ')
grep -q "hostA hostB" <<<"$FH" || fail "hosts in the --comm curl export: $FH"
# a time range travels to the hosts (through the forced command) and keeps these packets
"$ECAP_EXPORT" --fleet-file "$T/dsn" --fleet-ssh "$SSH" --comm curl --since 1h --until 0s \
	-o "$T/since.pcapng" 2>"$T/since.log" || { cat "$T/since.log" >&2; fail "--since failed"; }
python3 "$ECAP_SRC/tests/integration/fleet_pcap.py" packets "$T/since.pcapng" | sort |
	cmp -s - "$T/fleet.txt" || fail "the export of the last hour differs from the whole one"
SHB=$(python3 "$ECAP_SRC/tests/integration/fleet_pcap.py" shb "$T/fleet.pcapng")
grep -q "Hosts answered: hostA (.*) hostB (" <<<"$SHB" || fail "SHB: $SHB"
grep -q "Hosts not answered: none" <<<"$SHB" || fail "SHB: $SHB"
tshark -r "$T/fleet.pcapng" -c 1 >/dev/null 2>&1 || fail "tshark cannot read the fleet export"

# one connection, two observation points
"$ECAP_EXPORT" --fleet-file "$T/dsn" --fleet-ssh "$SSH" --host "${IP[B]}" --port 8080 \
	-o "$T/b.pcapng" 2>"$T/b.log" || { cat "$T/b.log" >&2; fail "export --host B failed"; }
syn_ports() { # HOST: client ports of the SYNs that HOST observed, sorted
	tshark -r "$T/b.pcapng" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0" -T fields \
		-e tcp.srcport -e frame.comment 2>/dev/null | grep "Host: $1" | cut -f1 | sort -n |
		tr '\n' ' '
}
SA=$(syn_ports hostA)
assert_ge 2 "$(wc -w <<<"$SA")" "connections from A to B observed on A"
assert_eq "$SA" "$(syn_ports hostB)" "the connections A->B as observed on B"
assert_eq "" "$(syn_ports hostC)" "connections to B observed on C"

# C unreachable: named, the rest written
kill "$SSHD_C"
wait "$SSHD_C" 2>/dev/null || true
rc=0
"$ECAP_EXPORT" --fleet-file "$T/dsn" --fleet-ssh "$SSH" --host "${IP[C]}" -o "$T/c.pcapng" \
	2>"$T/c.log" || rc=$?
assert_eq 1 "$rc" "exit status with host C unreachable"
grep -q "host hostC did not answer" "$T/c.log" || fail "C not named: $(cat "$T/c.log")"
SHB=$(python3 "$ECAP_SRC/tests/integration/fleet_pcap.py" shb "$T/c.pcapng")
grep -q "Hosts not answered: hostC" <<<"$SHB" || fail "SHB: $SHB"
python3 "$ECAP_SRC/tests/integration/fleet_pcap.py" packets "$T/c.pcapng" >"$T/c.txt"
assert_eq "hostA" "$(cut -d' ' -f1 "$T/c.txt" | sort -u)" "hosts in the export without C"
info "ok: $(wc -l <"$T/fleet.txt") packets from hosts A and B merged; C unreachable is named"
