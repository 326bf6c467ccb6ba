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
	libbpf-dev libelf-dev zlib1g-dev libsqlite3-dev liblz4-dev libpcap-dev libssl-dev libcmocka-dev
	clang llvm bpftool
	tshark tcpdump lz4 sqlite3 iproute2 curl openssl python3 zstd iperf3 procps nginx-light libcap2-bin
	bsdutils
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

if [ ! -f build/build.ninja ]; then
	meson setup build "$@" >/dev/null
elif [ "$#" -gt 0 ]; then
	meson configure build "$@" >/dev/null
fi
ninja -C build >/dev/null
echo "setup.sh: built into $(pwd)/build" >&2
