# SPDX-License-Identifier: GPL-2.0-only
# lib.sh - shared helpers for the shell tests: where the binaries are, a scratch directory
# removed on exit, processes and namespaces to clean up, and assertions that say what failed.
# Sourced by tests/integration/*.sh and tests/live/*.sh; run under meson test, which sets
# ECAP_BUILD and ECAP_SRC.
set -euo pipefail

: "${ECAP_BUILD:?run through meson test (ECAP_BUILD unset)}"
: "${ECAP_SRC:?run through meson test (ECAP_SRC unset)}"
ECAP_REC="$ECAP_BUILD/recorder/ecap-rec"
ECAP_EXPORT="$ECAP_BUILD/export/ecap-export"
ECAP_LS="$ECAP_BUILD/tools/ecap-ls"
ECAP_FSCK="$ECAP_BUILD/tools/ecap-fsck"

T=$(mktemp -d "${ECAP_TMP_PREFIX:-/tmp/ecap}-test.XXXXXX") # a prefix: whose it is
_cleanup_pids=()
_cleanup_cmds=()

_cleanup() {
	local rc=$?
	local p c
	for p in "${_cleanup_pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for c in "${_cleanup_cmds[@]}"; do
		eval "$c" || true
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -z "${KEEP_TMP:-}" ]; then
		echo "test failed (rc=$rc); scratch kept in $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _cleanup EXIT

# Remember a background process (by pid) to end at exit.
cleanup_pid() { _cleanup_pids+=("$1"); }
# Remember a command to run at exit (TC filters, namespaces, mounts).
cleanup_cmd() { _cleanup_cmds+=("$1"); }

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
info() { echo "# $*" >&2; }

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
	done
}

need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }

# A figure of the store as `ecap-ls --json` gives it (secrets, secrets_linked, tls_sessions...):
# what a user reads, wherever the store keeps it (since index schema 7 the secrets near their
# session have no index row; the chunk's DSB holds them).
store_figure() { # store name
	"$ECAP_LS" --json "$1" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# The secrets an export of the whole store carries, as key log lines into out.
store_keylog() { # store out
	"$ECAP_EXPORT" --store "$1" -o "$2.pcapng" --keylog "$2" 2>/dev/null || true
}

# The SHA-256 of a pcapng's bytes after its first block (the SHB, whose comment holds the
# export's time and names): two exports of the same selection compare equal by it.
pcapng_after_shb() { # pcapng
	python3 -c 'import hashlib, struct, sys
d = open(sys.argv[1], "rb").read()
print(hashlib.sha256(d[struct.unpack_from("<I", d, 4)[0]:]).hexdigest())' "$1"
}

# A store kept as a fixture in the source tree, made a store in DIR (modes as ecap makes
# them, a lock file): copy_fixture_store FIXTURE_DIR DIR FILE...
copy_fixture_store() {
	local from=$1 to=$2 f
	shift 2
	mkdir -m 0700 "$to"
	for f in "$@"; do cp "$from/$f" "$to/"; done
	: > "$to/lock"
	chmod 0600 "$to"/*
}

assert_eq() { # expected actual what
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

assert_ge() { # minimum actual what
	[ "$2" -ge "$1" ] || fail "$3: expected at least $1, got $2"
}

# Run a command that must exit with the given status.
expect_status() { # status cmd...
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want"
}

# Wait until a TCP port on 127.0.0.1 accepts connections (at most ~5 s).
wait_port() {
	local port=$1 i
	for i in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	fail "nothing listens on 127.0.0.1:$port"
}

# A free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
