#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# setup.sh - install what ecap needs from Debian's archive (when missing) and build it into
# ./build. Idempotent: a second run only rebuilds what changed.
#
#   tools/setup.sh [MESON-OPTION...]      e.g. tools/setup.sh -Dwerror=true
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
	meson ninja-build pkg-config gcc
	libbpf-dev libelf-dev zlib1g-dev libsqlite3-dev liblz4-dev libpcap-dev libssl-dev nettle-dev libcmocka-dev
	libseccomp-dev libcap-dev libgnutls28-dev libcurl4-openssl-dev libjson-c-dev
	clang llvm bpftool libclang-rt-14-dev
	tshark tcpdump lz4 sqlite3 iproute2 iptables curl openssl python3 zstd iperf3 procps nginx-light libcap2-bin
	bsdutils golang-go nodejs wget gnutls-bin android-boringssl gdb
	libsystemd-dev
	dpkg-dev debhelper lintian systemd man-db mandoc bash-completion
	libpq-dev postgresql-15 openssh-server openssh-client
	podman runc netavark busybox-static iptables
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: missing packages: ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "setup.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# OpenSSL 1.1.1 for the live test of that branch (live.tls_openssl11): Debian 12 has only
# 3.x, so libssl1.1 comes from Debian 11 (bullseye, with its security updates) in the same
# archive. Those suites are listed only for this install, pinned below bookworm so that
# nothing else comes from them, and removed afterwards, whatever happens; libssl1.1 installs
# beside libssl3 (its own sonames) and no program of the system uses it. Best effort:
# without it that test is skipped and says why.
install_libssl11() {
	local src=/etc/apt/sources.list.d/ecap-bullseye.sources
	local pin=/etc/apt/preferences.d/ecap-bullseye
	trap 'rm -f "$src" "$pin"' EXIT INT TERM
	{
		printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bullseye\n'
		printf 'Components: main\nSigned-By: %s\n\n' /usr/share/keyrings/debian-archive-keyring.gpg
		printf 'Types: deb\nURIs: http://deb.debian.org/debian-security\n'
		printf 'Suites: bullseye-security\nComponents: main\nSigned-By: %s\n' \
			/usr/share/keyrings/debian-archive-keyring.gpg
	} >"$src" &&
	printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n\n' bullseye bullseye-security \
		>"$pin" &&
	DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libssl1.1 \
		>/dev/null
	local rc=$?
	rm -f "$src" "$pin"
	trap - EXIT INT TERM
	return $rc
}
if [ "$(id -u)" -eq 0 ] &&
	! dpkg-query -W -f='${Status}' libssl1.1 2>/dev/null | grep -q "install ok installed"; then
	echo "setup.sh: installing libssl1.1 (OpenSSL 1.1.1, from Debian 11) for live.tls_openssl11" >&2
	install_libssl11 ||
		echo "setup.sh: libssl1.1 could not be installed; live.tls_openssl11 will be skipped" >&2
fi

if [ ! -f build/build.ninja ]; then
	meson setup build "$@" >/dev/null
elif [ "$#" -gt 0 ]; then
	meson configure build "$@" >/dev/null
fi
ninja -C build >/dev/null
echo "setup.sh: built into $(pwd)/build" >&2
