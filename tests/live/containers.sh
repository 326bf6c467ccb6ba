# SPDX-License-Identifier: GPL-2.0-only
# containers.sh - which container and which pod, from the runtime, at record time. Podman
# (runc, cgroupfs, its own storage, network, containers.conf and API socket under the test's
# scratch directory: nothing system-wide) runs three containers from an image made here with
# podman import (busybox-static, curl and curl's libraries): A on a bridge network of the
# test's own, B in A's network namespace with the io.kubernetes.pod.* labels of a
# Kubernetes pod (as kubelet gives them to the containers of a pod under Docker), and C (in
# A's namespace too) in a podman pod that carries those labels itself. podman
# system service serves the Docker API on a socket that ecap-rec is pointed at
# (--container-api). ecap-rec runs in the containers' network namespace and records its
# eth0; curl in each container fetches from an HTTP server on the host (the bridge's
# address). Checks: ecap-export --container NAME (and the id, and its first 12 digits)
# finds exactly A's connection, every packet's comment names A's id, name and image;
# --pod NAME, NAMESPACE/NAME and the pod uid find exactly B's, whose comments carry PodName,
# PodNamespace, PodUID and the labels; --pod of C's pod finds C's (the pod's labels, asked
# of podman's own API); another name or pod finds nothing (exit 1); ecap-ls
# --processes with --container or --pod lists only that container's process, --json with
# its name, image, labels and pod; after ecap-fsck --rebuild the containers table and the
# comments are the same; an export replayed into a new store (ecap-rec --replay) is found
# there by the container's name, with the same comments. At the end: containers, image,
# network, API service, storage removed, ip_forward as it was, and the firewall rules that
# netavark added for this network deleted.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl ip nsenter iptables-save
command -v podman >/dev/null || skip "podman is not installed (tools/setup.sh installs it)"
command -v runc >/dev/null || skip "runc is not installed (tools/setup.sh installs it)"
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 ||
	skip "busybox-static is not installed (tools/setup.sh installs it)"

TAG=i15ctr$$
NET=$TAG-net
BRIDGE=${TAG:0:13}b
SUBNET=10.151.5
A=$TAG-a
B=$TAG-b
C=$TAG-c
PPOD=$TAG-ppod
POD2=$TAG-api
IMG=localhost/$TAG-img:1
POD=$TAG-web
PODNS=$TAG-ns
PODUID=$(python3 -c 'import uuid; print(uuid.uuid4())')
PORT=$(free_port)

# ---- podman, confined to the scratch directory ----
mkdir -p "$T/networks" "$T/img/bin"
cat >"$T/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
network_config_dir = "$T/networks"
EOF
export CONTAINERS_CONF=$T/containers.conf
PM=(podman --root "$T/storage" --runroot "$T/run" --tmpdir "$T/tmp" --storage-driver vfs)
cat >"$T/networks/$NET.json" <<EOF
{"name": "$NET", "id": "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')",
 "driver": "bridge", "network_interface": "$BRIDGE", "created": "2026-12-05T00:00:00Z",
 "subnets": [{"subnet": "$SUBNET.0/24", "gateway": "$SUBNET.1"}],
 "ipv6_enabled": false, "internal": false, "dns_enabled": false,
 "ipam_options": {"driver": "host-local"}}
EOF
FWD=$(sysctl -n net.ipv4.ip_forward)
iptables-save >"$T/iptables.before" 2>/dev/null || true
# Deletes what netavark added for this network: the rules that name its subnet or bridge
# and the chains they jump to (its MASQUERADE); the chains for port forwarding that all its
# networks share, when they were not there before and no other network's chain is left.
netavark_cleanup() {
	local table rule chain chains
	for table in nat filter; do
		local ours="^-A .*($SUBNET\\.0/24|$BRIDGE)"
		chains=$(iptables-save -t "$table" 2>/dev/null | grep -E "$ours" |
			grep -oE -- '-j NETAVARK-[0-9A-F]+' | sed 's/^-j //' | sort -u)
		iptables-save -t "$table" 2>/dev/null | grep -E "$ours" |
			while read -r rule; do
				eval "iptables -t $table -D ${rule#-A }" 2>/dev/null || true
			done
		for chain in $chains; do
			iptables -t "$table" -F "$chain" 2>/dev/null || true
			iptables -t "$table" -X "$chain" 2>/dev/null || true
		done
	done
	iptables-save -t nat 2>/dev/null | grep -qE '^:NETAVARK-[0-9A-F]+ ' && return 0
	for chain in NETAVARK-HOSTPORT-DNAT NETAVARK-HOSTPORT-MASQ NETAVARK-HOSTPORT-SETMARK; do
		grep -q "^:$chain " "$T/iptables.before" && continue
		iptables-save -t nat | grep -E "^-A [A-Z]+ .*-j $chain\$" | while read -r rule; do
			eval "iptables -t nat -D ${rule#-A }" 2>/dev/null || true
		done
		iptables -t nat -F "$chain" 2>/dev/null || true
		iptables -t nat -X "$chain" 2>/dev/null || true
	done
}
# in this order: the containers (their network goes with them), the image, what is left of
# the network in the firewall and in sysctl, the storage
# (--ignore: one that was never made does not keep the others)
cleanup_cmd "${PM[*]} rm -f -i -t 0 $C $B $A >/dev/null 2>&1"
cleanup_cmd "${PM[*]} pod rm -f -i $PPOD >/dev/null 2>&1"
cleanup_cmd "${PM[*]} rmi -f $IMG >/dev/null 2>&1"
cleanup_cmd "netavark_cleanup"
cleanup_cmd "sysctl -qw net.ipv4.ip_forward=$FWD"
cleanup_cmd "rm -rf '$T/storage' '$T/run' '$T/tmp'"

# the image: busybox-static and curl with the libraries it loads
cp "$BUSYBOX" "$T/img/bin/busybox"
ln -s busybox "$T/img/bin/sh"
ln -s busybox "$T/img/bin/sleep"
cp "$(command -v curl)" "$T/img/bin/curl"
for lib in $(ldd "$(command -v curl)" | grep -o '/[^ ]*'); do
	mkdir -p "$T/img$(dirname "$lib")"
	cp -L "$lib" "$T/img$lib"
done
tar -C "$T/img" -cf "$T/img.tar" .
"${PM[@]}" import -q "$T/img.tar" "$IMG" >/dev/null 2>"$T/import.log" ||
	{ cat "$T/import.log" >&2; skip "podman cannot import an image here"; }

# ecap-rec -i any, started before any container exists (issue 15): it must find their
# namespace and veth as they come, ask the runtime, and record each packet once (checked
# against the recorder inside the namespace below)
ANY=0
if [ -e "$ECAP_BUILD/bpf/capture_any.skel.h" ]; then
	"$ECAP_REC" -i any --store "$T/any" --no-tls --container-api "$T/api.sock" \
		"tcp port $PORT" 2>"$T/rec-any.log" &
	ANY_PID=$!
	cleanup_pid "$ANY_PID"
	for _ in $(seq 200); do
		grep -q "recording on" "$T/rec-any.log" && break
		kill -0 "$ANY_PID" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q "recording on" "$T/rec-any.log"; then
		ANY=1
	else
		info "ecap-rec -i any did not start here, its checks are left out:" \
			"$(tail -1 "$T/rec-any.log")"
	fi
fi

# A on the test's network; B in A's network namespace, labelled as a pod's container
"${PM[@]}" run -d --name "$A" --network "$NET" "$IMG" sleep 120 >"$T/a.id" 2>"$T/run.log" ||
	{ cat "$T/run.log" >&2; skip "podman cannot run a container here (runc, cgroupfs)"; }
"${PM[@]}" run -d --name "$B" --network "container:$A" \
	--label io.kubernetes.pod.name="$POD" --label io.kubernetes.pod.namespace="$PODNS" \
	--label io.kubernetes.pod.uid="$PODUID" --label io.kubernetes.container.name=web \
	--label 'tricky="quote\and back"' "$IMG" sleep 120 >"$T/b.id" 2>"$T/run.log" ||
	{ cat "$T/run.log" >&2; fail "podman run of the pod's container failed"; }
ID_A=$(cat "$T/a.id")
ID_B=$(cat "$T/b.id")
SANDBOX=$("${PM[@]}" inspect --format '{{.NetworkSettings.SandboxKey}}' "$A")
[ -e "$SANDBOX" ] || fail "container $A has no network namespace ($SANDBOX)"
# C in a podman pod whose labels (the pod's, not C's) name a Kubernetes pod
"${PM[@]}" pod create --infra=false --name "$PPOD" --label io.kubernetes.pod.name="$POD2" \
	--label io.kubernetes.pod.namespace="$PODNS" >/dev/null 2>"$T/run.log" ||
	{ cat "$T/run.log" >&2; fail "podman pod create failed"; }
"${PM[@]}" run -d --pod "$PPOD" --name "$C" --network "ns:$SANDBOX" "$IMG" sleep 120 \
	>"$T/c.id" 2>"$T/run.log" || { cat "$T/run.log" >&2; fail "podman run in the pod failed"; }

# the Docker API, as podman serves it
"${PM[@]}" system service --time=0 "unix://$T/api.sock" >"$T/service.log" 2>&1 &
cleanup_pid $!
for _ in $(seq 100); do [ -S "$T/api.sock" ] && break; sleep 0.1; done
[ -S "$T/api.sock" ] || fail "podman system service did not start"

mkdir "$T/www"
head -c 100000 /dev/urandom >"$T/www/blob"
python3 -m http.server "$PORT" --bind "$SUBNET.1" --directory "$T/www" >"$T/http.log" 2>&1 &
cleanup_pid $!
for _ in $(seq 50); do curl -s -o /dev/null "http://$SUBNET.1:$PORT/" && break; sleep 0.1; done

S=$T/store
nsenter --net="$SANDBOX" "$ECAP_REC" -i eth0 --store "$S" --no-tls \
	--container-api "$T/api.sock" "tcp port $PORT" 2>"$T/rec.log" &
REC_PID=$!
cleanup_pid "$REC_PID"
wait_for "$T/rec.log" "recording on" "$REC_PID" "ecap-rec"
"${PM[@]}" exec "$A" curl -s -o /dev/null "http://$SUBNET.1:$PORT/blob" || fail "curl in $A"
"${PM[@]}" exec "$B" curl -s -o /dev/null "http://$SUBNET.1:$PORT/blob?b" || fail "curl in $B"
"${PM[@]}" exec "$C" curl -s -o /dev/null "http://$SUBNET.1:$PORT/blob?c" || fail "curl in $C"
sleep 1 # the lookups are answered (the recorder also waits for them when it stops)
rec_stop
if [ "$ANY" = 1 ]; then
	kill -TERM "$ANY_PID"
	wait "$ANY_PID" || fail "ecap-rec -i any exited $? after SIGTERM"
fi
grep -E "container metadata|containers:" "$T/rec.log" >&2 || true

comments() {
	tshark -r "$1" -T fields -e frame.comment 2>/dev/null | sed 's/^/|/; s/\\n/|/g; s/$/|/'
}
# export SEL...: into $T/sel.pcapng, its comments (a line per packet) into $T/sel.txt, its
# packet count in GOT
export_sel() {
	"$ECAP_EXPORT" --store "$S" "$@" -o "$T/sel.pcapng" -q || fail "export $* failed"
	comments "$T/sel.pcapng" >"$T/sel.txt"
	GOT=$(wc -l <"$T/sel.txt")
}

export_sel --container "$A"
N_A=$GOT
assert_ge 8 "$N_A" "packets of $A's connection"
for want in "ContainerId: $ID_A|" "ContainerName: $A|" "ContainerImage: $IMG|" \
	"ContainerRuntime: podman|" "ContainerLabels: {}|"; do
	assert_eq "$N_A" "$(grep -cF -- "$want" "$T/sel.txt" || true)" \
		"packets of $A whose comment has '$want'"
done
[ "$(grep -c "PodName" "$T/sel.txt" || true)" -eq 0 ] ||
	fail "$A is in no pod, yet its comments name one"
cp "$T/sel.pcapng" "$T/a.pcapng"
cp "$T/sel.txt" "$T/a.txt"
for sel in "$ID_A" "${ID_A:0:12}"; do
	export_sel --container "$sel"
	assert_eq "$N_A" "$GOT" "packets found by --container $sel"
done
info "$A: $N_A packets, comments name its id, name and image"
if [ "$ANY" = 1 ]; then
	# the same connection from the -i any store: the same packets, once, on the container's
	# end of its veth (NAME@NETNS), with the same container in every comment
	"$ECAP_EXPORT" --store "$T/any" --container "$A" -o "$T/any-a.pcapng" -q ||
		fail "export --container $A from the -i any store"
	comments "$T/any-a.pcapng" >"$T/any-a.txt"
	assert_eq "$N_A" "$(wc -l <"$T/any-a.txt")" "packets of $A recorded by -i any"
	assert_eq "$N_A" "$(grep -cF -- "ContainerName: $A|" "$T/any-a.txt" || true)" \
		"packets of $A from -i any whose comment names it"
	ifs=$(tshark -r "$T/any-a.pcapng" -T fields -e frame.interface_name 2>/dev/null | sort -u)
	[ "$(echo "$ifs" | wc -l)" = 1 ] && [[ "$ifs" == eth0@* ]] ||
		fail "-i any recorded $A's packets on '$ifs', not once on its eth0@NETNS"
	# the same packets, each direction in the same order, and time never steps back (-i
	# any merges its CPUs' packets by time). The two directions may interleave differently:
	# TC sees a packet at another point of its path than the tracepoints (README, -i any).
	for dir in "tcp.srcport == $PORT" "tcp.dstport == $PORT"; do
		cmp -s <(tshark -r "$T/a.pcapng" -Y "$dir" -T fields -e tcp.seq_raw -e tcp.len \
			2>/dev/null) \
			<(tshark -r "$T/any-a.pcapng" -Y "$dir" -T fields -e tcp.seq_raw -e tcp.len \
				2>/dev/null) ||
			fail "-i any and the recorder inside the namespace hold different packets of" \
				"$A, or in another order ($dir)"
	done
	assert_time_order "$T/any-a.pcapng" "$A's packets from the -i any store"
	info "-i any, started before the containers: $A's $N_A packets once, on $ifs"
fi

export_sel --pod "$POD"
N_B=$GOT
assert_ge 8 "$N_B" "packets of $B's connection"
LABELS='{"io.kubernetes.container.name":"web","io.kubernetes.pod.name":"'$POD'"'
LABELS+=',"io.kubernetes.pod.namespace":"'$PODNS'","io.kubernetes.pod.uid":"'$PODUID'"'
LABELS+=',"tricky":"\"quote\\and back\""}'
for want in "ContainerId: $ID_B|" "ContainerName: $B|" "PodName: $POD|" \
	"PodNamespace: $PODNS|" "PodUID: $PODUID|" "ContainerLabels: $LABELS|"; do
	assert_eq "$N_B" "$(grep -cF -- "$want" "$T/sel.txt" || true)" \
		"packets of $B whose comment has '$want'"
done
for sel in "$PODNS/$POD" "$PODUID"; do
	export_sel --pod "$sel"
	assert_eq "$N_B" "$GOT" "packets found by --pod $sel"
done
export_sel --container "$B"
assert_eq "$N_B" "$GOT" "packets found by --container $B"
# the size of one packet's comment, from its line of comments (a '|' for each line break)
comment_bytes() { head -1 "$1" | awk '{ print length($0) - 2 }'; }
info "$B: $N_B packets, comments name pod $PODNS/$POD ($PODUID); comment bytes per" \
	"packet: $(comment_bytes "$T/a.txt") ($A), $(comment_bytes "$T/sel.txt") ($B)"
export_sel --pod "$POD2"
N_C=$GOT
assert_ge 8 "$N_C" "packets of $C's connection"
for want in "ContainerName: $C|" "ContainerLabels: {}|" "PodName: $POD2|" \
	"PodNamespace: $PODNS|"; do
	assert_eq "$N_C" "$(grep -cF -- "$want" "$T/sel.txt" || true)" \
		"packets of $C whose comment has '$want'"
done
info "$C: $N_C packets, in podman pod $PPOD whose labels name pod $PODNS/$POD2"
for sel in "--container $TAG-none" "--pod $TAG-none" "--pod other/$POD"; do
	# shellcheck disable=SC2086
	expect_status 1 "$ECAP_EXPORT" --store "$S" $sel -o "$T/none.pcapng" -q
done

# ecap-ls: only the selected container's process, with what its runtime said
"$ECAP_LS" --processes --container "$A" "$S" >"$T/ls.txt" || fail "ecap-ls --container"
grep -q "name $A image $IMG" "$T/ls.txt" || { cat "$T/ls.txt" >&2; fail "ecap-ls: $A's line"; }
[ "$(grep -c "container:" "$T/ls.txt")" -eq 1 ] || { cat "$T/ls.txt" >&2; fail "ecap-ls: one"; }
"$ECAP_LS" --processes --json --pod "$POD" "$S" >"$T/ls.json" || fail "ecap-ls --pod"
python3 - "$T/ls.json" "$ID_B" "$B" "$IMG" "$POD" "$PODNS" "$PODUID" <<'PY' ||
import json, sys
doc = json.load(open(sys.argv[1]))
cid, name, img, pod, ns, uid = sys.argv[2:]
procs = doc["processes"]
assert len(procs) == 1, procs
p = procs[0]
assert p["comm"] == "curl" and p["container_id"] == cid, p
assert p["container_name"] == name and p["container_image"] == img, p
assert (p["pod_name"], p["pod_namespace"], p["pod_uid"]) == (pod, ns, uid), p
assert json.loads(p["container_labels"])["io.kubernetes.pod.uid"] == uid, p
PY
	fail "ecap-ls --processes --json --pod"

# the index made again from the segments keeps the containers
q="SELECT id, runtime, name, image, labels, pod_name, pod_namespace, pod_uid FROM containers"
sqlite3 "$S/index.db" "$q ORDER BY id" >"$T/ctr.before" || fail "containers table"
assert_eq 3 "$(wc -l <"$T/ctr.before")" "containers in the index"
"$ECAP_FSCK" --rebuild "$S" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log" >&2; fail "rebuild"; }
sqlite3 "$S/index.db" "$q ORDER BY id" >"$T/ctr.after"
cmp -s "$T/ctr.before" "$T/ctr.after" || fail "the containers table differs after a rebuild"
export_sel --container "$A"
cmp -s "$T/a.txt" "$T/sel.txt" ||
	fail "comments of $A differ after ecap-fsck --rebuild"

# read back: the export replayed into another store is found by the container's name
"$ECAP_REC" --replay "$T/a.pcapng" --store "$T/again" -q 2>"$T/replay.log" ||
	{ cat "$T/replay.log" >&2; fail "replay of the export"; }
"$ECAP_EXPORT" --store "$T/again" --container "$A" -o "$T/again.pcapng" -q ||
	fail "export --container $A from the replayed store"
# a replay keeps the process a comment names, not its "Peer " lines (the other end, named
# since the socket that sent a packet through the veth is known: README, NAT links)
own() { sed -E 's/\|Peer [^|]*//g' "$@"; }
cmp -s <(own "$T/a.txt") <(comments "$T/again.pcapng" | own) ||
	fail "comments of the replayed export differ"
info "the index rebuilt and an export replayed keep both containers' names, image and pod"
