#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# retention_long_flow.sh - long-lived flows under retention (issue 17): a store of 1 MiB
# segments kept under 6 MB gets 16 MB of UDP with two long-lived TCP flows inside
# (mkcap.py longflow): "ssh" (pid 3131) sends 5 packets at the start, is quiet while
# retention deletes the segments that hold them, and sends 5 more at the end; "psql" (pid
# 4242) sends every 250 ms, so its first chunks (with its first record) go while its later
# ones stay. Each selection that names either flow (tuple, host, port, pid, comm) must give
# exactly the packets of that flow the store kept (counted in an export of the whole store),
# each with its owner's comment (with what was recorded of ssh's process: Args, Exe, which
# --exe selects by); and so must the index that ecap-fsck --rebuild makes from the segments
# left: byte for byte the same exports (after the SHB).
. "$ECAP_SRC/tests/lib.sh"
need_cmd tshark python3

cd "$T"
python3 "$ECAP_SRC/tests/integration/mkcap.py" longflow in.pcapng
"$ECAP_REC" --replay in.pcapng --store S --chunk-size 64K --max-size 6M >rec.txt 2>&1 ||
	fail "replay failed: $(cat rec.txt)"
[ ! -e S/seg-00000001.ecap ] || fail "retention deleted no segment: $(ls S)"

# what the store kept of each flow, from an export of everything (no flow selection)
"$ECAP_EXPORT" --store S -q -o all.pcapng || fail "export of the whole store failed"
count() { tshark -r "$1" -Y "$2" 2>/dev/null | wc -l; }
SSH_KEPT=$(count all.pcapng "tcp.port == 22")
PSQL_KEPT=$(count all.pcapng "tcp.port == 5432")
assert_eq 5 "$SSH_KEPT" "ssh packets kept (its first 5 went with their segments)"
[ "$PSQL_KEPT" -gt 0 ] && [ "$PSQL_KEPT" -lt 58 ] ||
	fail "psql packets kept: $PSQL_KEPT, expected some of its 58, not all"
info "kept: $SSH_KEPT ssh packets, $PSQL_KEPT psql packets, $(ls S/seg-*.ecap | wc -l) segments"

# select NAME PACKETS OWNER ARGS...: the export of the selection has PACKETS packets, each
# commented with OWNER (its "PID: N\nCmd: C" lines); the frames into NAME.txt.
select_is() {
	local name=$1 want=$2 owner=$3 rc=0
	shift 3
	echo "$*" >"$name.args"
	"$ECAP_EXPORT" --store S -q -o "$name.pcapng" "$@" 2>"$name.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "$tag: ecap-export $* exited $rc: $(cat "$name.err")"
	tshark -r "$name.pcapng" -T fields -e frame.time_epoch -e frame.comment 2>/dev/null \
		>"$name.txt"
	assert_eq "$want" "$(wc -l <"$name.txt")" "$tag: packets of ecap-export $*"
	local bad
	bad=$(grep -vc "$owner" "$name.txt" || true)
	assert_eq 0 "$bad" "$tag: packets of ecap-export $* without the comment '$owner'"
}

selections() { # the label of the index checked
	tag=$1
	local ssh="PID: 3131.*Cmd: ssh.*Args: ssh alice@db.*Exe: /usr/bin/ssh"
	local psql='PID: 4242.*Cmd: psql'
	select_is "$tag-ssh-tuple" "$SSH_KEPT" "$ssh" --tuple 127.0.0.1:50022-127.0.0.2:22
	select_is "$tag-ssh-host" "$SSH_KEPT" "$ssh" --host 127.0.0.2
	select_is "$tag-ssh-port" "$SSH_KEPT" "$ssh" --port 22
	select_is "$tag-ssh-pid" "$SSH_KEPT" "$ssh" --pid 3131
	select_is "$tag-ssh-comm" "$SSH_KEPT" "$ssh" --comm ssh
	select_is "$tag-ssh-exe" "$SSH_KEPT" "$ssh" --exe /usr/bin/ssh
	select_is "$tag-psql-tuple" "$PSQL_KEPT" "$psql" --tuple 127.0.0.6:5432-127.0.0.5:50023
	select_is "$tag-psql-host" "$PSQL_KEPT" "$psql" --host 127.0.0.5
	select_is "$tag-psql-port" "$PSQL_KEPT" "$psql" --port 5432
	select_is "$tag-psql-pid" "$PSQL_KEPT" "$psql" --pid 4242
	select_is "$tag-psql-comm" "$PSQL_KEPT" "$psql" --comm psql
}

selections live
# The index is a cache of the segments kept: rebuilt from them, it gives the same answers:
# each selection's export the same bytes after the SHB (whose comment holds the export's time)
# as the one checked above, so its packets and their comments too.
rm -f S/index.db S/index.db-wal S/index.db-shm
"$ECAP_FSCK" --rebuild -q S || fail "rebuild failed"
for f in live-*.pcapng; do
	args=$(head -1 "${f%.pcapng}.args")
	# shellcheck disable=SC2086
	"$ECAP_EXPORT" --store S -q -o "rebuilt-${f#live-}" $args 2>rebuilt.err ||
		fail "rebuilt: ecap-export $args: $(cat rebuilt.err)"
	[ "$(pcapng_after_shb "$f")" = "$(pcapng_after_shb "rebuilt-${f#live-}")" ] ||
		fail "${f%.pcapng}: the rebuilt index exports other packets (ecap-export $args)"
done
"$ECAP_EXPORT" --store S -q -o all2.pcapng || fail "export of the rebuilt store failed"
assert_eq "$(count all.pcapng "frame")" "$(count all2.pcapng "frame")" "packets after the rebuild"
info "every selection finds both flows' kept packets with their owners, live and rebuilt"
