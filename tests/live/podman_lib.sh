# SPDX-License-Identifier: GPL-2.0-only
# podman_lib.sh - podman for the live tests (sourced after tests/lib.sh), confined to the
# test's scratch directory: runc, cgroupfs, explicit ulimits (crun and the defaults fail on
# hosts with hybrid cgroups), its own storage, run and network config directories and
# containers.conf (through CONTAINERS_CONF), nothing written system-wide.
#
#   podman_need                    skip (77) unless podman, runc and busybox-static are here
#   podman_setup NET BRIDGE SUBNET PM (an array: podman with the test's storage) and a bridge
#                                  network NET on device BRIDGE, SUBNET.0/24, gateway
#                                  SUBNET.1; at exit: every container, pod and image of the
#                                  test's storage, the firewall rules netavark added for the
#                                  network, ip_forward as it was, the storage
#   podman_image IMG               an image of busybox-static, curl and curl's libraries
#                                  (podman import), or skip when podman cannot import here
#   podman_api SOCK                podman system service serving the Docker API on SOCK

podman_need() {
	command -v podman >/dev/null || skip "podman is not installed (tools/setup.sh installs it)"
	command -v runc >/dev/null || skip "runc is not installed (tools/setup.sh installs it)"
	BUSYBOX=$(command -v busybox || true)
	[ -n "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 ||
		skip "busybox-static is not installed (tools/setup.sh installs it)"
}

podman_setup() {
	PODMAN_NET=$1 PODMAN_BRIDGE=$2 PODMAN_SUBNET=$3
	mkdir -p "$T/networks"
	cat >"$T/containers.conf" <<EOF2
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
network_config_dir = "$T/networks"
EOF2
	export CONTAINERS_CONF=$T/containers.conf
	PM=(podman --root "$T/storage" --runroot "$T/run" --tmpdir "$T/tmp" --storage-driver vfs)
	cat >"$T/networks/$PODMAN_NET.json" <<EOF2
{"name": "$PODMAN_NET", "id": "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')",
 "driver": "bridge", "network_interface": "$PODMAN_BRIDGE", "created": "2026-12-05T00:00:00Z",
 "subnets": [{"subnet": "$PODMAN_SUBNET.0/24", "gateway": "$PODMAN_SUBNET.1"}],
 "ipv6_enabled": false, "internal": false, "dns_enabled": false,
 "ipam_options": {"driver": "host-local"}}
EOF2
	PODMAN_FWD=$(sysctl -n net.ipv4.ip_forward)
	iptables-save >"$T/iptables.before" 2>/dev/null || true
	# in this order: the containers (their network goes with them), pods, images, what is
	# left of the network in the firewall and in sysctl, the storage
	cleanup_cmd "${PM[*]} rm -a -f -t 0 >/dev/null 2>&1"
	cleanup_cmd "${PM[*]} pod rm -a -f >/dev/null 2>&1"
	cleanup_cmd "${PM[*]} rmi -a -f >/dev/null 2>&1"
	cleanup_cmd "netavark_cleanup"
	cleanup_cmd "sysctl -qw net.ipv4.ip_forward=$PODMAN_FWD"
	cleanup_cmd "rm -rf '$T/storage' '$T/run' '$T/tmp'"
}

# Deletes what netavark added for the test's network: the rules that name its subnet or
# bridge and the chains they jump to (its MASQUERADE); the chains that all its networks
# share (port forwarding, NETAVARK_FORWARD), when they were not there before and no other
# network's chain is left.
netavark_cleanup() {
	local table rule chain chains
	for table in nat filter; do
		local ours="^-A .*($PODMAN_SUBNET\\.0/24|$PODMAN_BRIDGE)"
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
	# and the filter table's chain all networks' forwarding rules hang from
	grep -q "^:NETAVARK_FORWARD " "$T/iptables.before" && return 0
	iptables-save -t filter | grep -E "^-A [A-Z]+ .*-j NETAVARK_FORWARD\$" |
		while read -r rule; do
			eval "iptables -t filter -D ${rule#-A }" 2>/dev/null || true
		done
	iptables -t filter -F NETAVARK_FORWARD 2>/dev/null || true
	iptables -t filter -X NETAVARK_FORWARD 2>/dev/null || true
}

podman_image() {
	local img=$1 lib
	mkdir -p "$T/img/bin"
	cp "$BUSYBOX" "$T/img/bin/busybox"
	ln -s busybox "$T/img/bin/sh"
	ln -s busybox "$T/img/bin/sleep"
	cp "$(command -v curl)" "$T/img/bin/curl"
	for lib in $(ldd "$(command -v curl)" | grep -o '/[^ ]*'); do
		mkdir -p "$T/img$(dirname "$lib")"
		cp -L "$lib" "$T/img$lib"
	done
	tar -C "$T/img" -cf "$T/img.tar" .
	"${PM[@]}" import -q "$T/img.tar" "$img" >/dev/null 2>"$T/import.log" ||
		{ cat "$T/import.log" >&2; skip "podman cannot import an image here"; }
}

podman_api() {
	"${PM[@]}" system service --time=0 "unix://$1" >"$T/service.log" 2>&1 &
	cleanup_pid $!
	for _ in $(seq 100); do [ -S "$1" ] && break; sleep 0.1; done
	[ -S "$1" ] || fail "podman system service did not start"
}
