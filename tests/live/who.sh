# SPDX-License-Identifier: GPL-2.0-only
# who.sh - who owned a connection, in full, and selections by it. A curl runs in a cgroup v2
# directory made here that is named as podman names a container's (libpod-<64 hex digits>,
# under a parent of this test's own), talking to a python3 http.server on lo; ecap-rec
# records lo. Checks: every packet's comment names, for curl, its command line (Args), its
# executable (Exe), its parent (this shell: ParentPID, ParentCmd), its pid in its pid
# namespace, its start, its cgroup path, and the container id and runtime read from that
# path; the server's block names python3's own executable and no container. ecap-export
# --container (a 12-digit prefix), --exe, --cgroup (the parent directory) and --netns each
# find exactly curl's connection; another container id finds nothing; ecap-ls --processes
# --json shows the container; and after ecap-fsck --rebuild (the index made again from the
# segments alone) the comments are the same.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl findmnt

CG2=$(findmnt -t cgroup2 -n -o TARGET | head -1)
[ -n "$CG2" ] || skip "no cgroup v2 hierarchy is mounted"
ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
PARENT="ecap-i15-who-$$"
CG="/$PARENT/libpod-$ID"
mkdir -p "$CG2$CG" || skip "cannot make cgroups under $CG2"
cleanup_cmd "rmdir '$CG2$CG' '$CG2/$PARENT'"

S=$T/store
PORT=$(free_port)
mkdir "$T/www"
head -c 300000 /dev/urandom >"$T/www/big.bin"
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 &
SRV=$!
cleanup_pid "$SRV"
wait_port "$PORT"

rec_start "$T/rec.log" -i lo --store "$S" --no-tls "tcp port $PORT"
# two requests 1 s apart: it is still there when its first socket record is read
bash -c "echo \$\$ >'$CG2$CG/cgroup.procs' && exec curl -s --rate 1/s -o '$T/got' \
	-A ecap-who-test http://127.0.0.1:$PORT/big.bin -o '$T/got2' \
	http://127.0.0.1:$PORT/big.bin" &
CURL=$!
wait "$CURL" || fail "curl failed"
cmp -s "$T/got" "$T/www/big.bin" || fail "curl got other bytes"
# one that is over at once: what the kernel saw of it (an executable only if named before)
bash -c "echo \$\$ >'$CG2$CG/cgroup.procs' && exec curl -s -o /dev/null \
	http://127.0.0.1:$PORT/big.bin?short" &
SHORT=$!
wait "$SHORT" || fail "the short curl failed"
sleep 0.3
rec_stop

CURL_EXE=$(readlink -f "$(command -v curl)")
SRV_EXE=$(readlink "/proc/$SRV/exe")
# comments PCAPNG: one line per packet, its comment's lines each between '|'
comments() {
	tshark -r "$1" -T fields -e frame.comment 2>/dev/null | sed 's/^/|/; s/\\n/|/g; s/$/|/'
}

"$ECAP_EXPORT" --store "$S" --pid "$CURL" -o "$T/pid.pcapng" -q || fail "export --pid failed"
N=$(comments "$T/pid.pcapng" | wc -l)
assert_ge 10 "$N" "packets of curl's connection"
ARGS="curl -s --rate 1/s -o $T/got -A ecap-who-test http://127.0.0.1:$PORT/big.bin -o $T/got2"
ARGS="$ARGS http://127.0.0.1:$PORT/big.bin"
# every packet: curl's block (its own, or the Peer one) and the server's, key by key
tshark -r "$T/pid.pcapng" -T fields -e frame.comment 2>/dev/null | PYTHONPATH="$ECAP_SRC/tests/live" python3 -c '
import sys
from comment_owners import owners
curl, srv, args, exe, ppid, cg, cid, srv_exe = sys.argv[1:]
n = 0
for line in sys.stdin:
    who = owners(line)
    c, s = who[curl], who[srv]
    want = {"Args": args, "Exe": exe, "ParentPID": ppid, "ParentCmd": "bash", "NsPID": curl,
            "Cgroup": cg, "ContainerId": cid, "ContainerRuntime": "podman", "Cmd": "curl"}
    for k, v in want.items():
        assert c.get(k) == v, (k, c.get(k), v)
    assert c["Start"].startswith("20") and c["Start"].endswith("Z"), c["Start"]
    assert s.get("Exe") == srv_exe and "ContainerId" not in s and s.get("Cmd") == "python3", s
    n += 1
print(n)
' "$CURL" "$SRV" "$ARGS" "$CURL_EXE" "$$" "$CG" "$ID" "$SRV_EXE" >"$T/checked" ||
	fail "comments of curl's connection are not complete (above)"
assert_eq "$N" "$(cat "$T/checked")" "packets whose comments name both processes in full"

# the short one: its command line (from the kernel), parent, container
"$ECAP_EXPORT" --store "$S" --pid "$SHORT" -o "$T/short.pcapng" -q || fail "export --pid $SHORT"
NS=$(comments "$T/short.pcapng" | wc -l)
assert_ge 5 "$NS" "packets of the short curl"
for want in "Args: curl -s -o /dev/null http://127.0.0.1:$PORT/big.bin?short|" \
	"ParentPID: $$|" "ParentCmd: bash|" "ContainerId: $ID|" "Cgroup: $CG|"; do
	assert_eq "$NS" "$(comments "$T/short.pcapng" | grep -cF -- "$want" || true)" \
		"packets of the short curl whose comment has '$want'"
done

# each selection finds exactly the curls' connections (both are in the container)
for sel in "--container ${ID:0:12}" "--container $ID" "--exe $CURL_EXE" "--cgroup /$PARENT" \
	"--netns $(stat -L -c %i /proc/self/ns/net)"; do
	# shellcheck disable=SC2086
	"$ECAP_EXPORT" --store "$S" $sel -o "$T/sel.pcapng" -q || fail "export $sel failed"
	assert_eq "$N" "$(comments "$T/sel.pcapng" | grep -cF "PID: $CURL|" || true)" \
		"packets of the first curl exported by $sel"
	GOT=$(tshark -r "$T/sel.pcapng" 2>/dev/null | wc -l)
	# the short curl may be gone before its executable could be read: --exe may miss it
	[ "$GOT" -eq $((N + NS)) ] || { [ "$sel" = "--exe $CURL_EXE" ] && [ "$GOT" -eq "$N" ]; } ||
		fail "export $sel: $GOT packets, expected $((N + NS))"
done
expect_status 1 "$ECAP_EXPORT" --store "$S" --container "${ID:1:12}" -o "$T/none.pcapng" -q
expect_status 1 "$ECAP_EXPORT" --store "$S" --cgroup "/$PARENT-not" -o "$T/none.pcapng" -q
# a name no container had (names come from runtimes: live.containers), and no name at all
expect_status 1 "$ECAP_EXPORT" --store "$S" --container not-hex-at-all -o "$T/none.pcapng" -q
expect_status 2 "$ECAP_EXPORT" --store "$S" --container "not a name" -o "$T/none.pcapng" -q

"$ECAP_LS" --processes --json "$S" >"$T/ls.json"
python3 - "$T/ls.json" "$CURL" "$ID" "$CURL_EXE" <<'PY' || fail "ecap-ls --processes --json"
import json, sys
doc = json.load(open(sys.argv[1]))
mine = [p for p in doc["processes"] if p["pid"] == int(sys.argv[2])]
assert len(mine) == 1, mine
p = mine[0]
assert p["container_id"] == sys.argv[3] and p["runtime"] == "podman", p
assert p["exe"] == sys.argv[4] and p["args"].startswith("curl -s --rate 1/s"), p
PY

"$ECAP_EXPORT" --store "$S" --container "${ID:0:12}" -o "$T/before.pcapng" -q ||
	fail "export --container before the rebuild failed"
comments "$T/before.pcapng" >"$T/before.txt"
"$ECAP_FSCK" --rebuild "$S" >"$T/fsck.log" 2>&1 || { cat "$T/fsck.log" >&2; fail "rebuild failed"; }
"$ECAP_EXPORT" --store "$S" --container "${ID:0:12}" -o "$T/after.pcapng" -q ||
	fail "export --container after the rebuild failed"
comments "$T/after.pcapng" >"$T/after.txt"
cmp -s "$T/before.txt" "$T/after.txt" || fail "comments differ after ecap-fsck --rebuild"
info "curl $CURL in container $ID: $N packets, every comment complete, found by each selection"

# ecap-rec --replay reads the comments back: the export replayed into a new store is found
# there by the same container id, with the same details
"$ECAP_REC" --replay "$T/pid.pcapng" --store "$T/again" 2>"$T/replay.log" ||
	{ cat "$T/replay.log" >&2; fail "replay of the export failed"; }
"$ECAP_EXPORT" --store "$T/again" --container "$ID" -o "$T/again.pcapng" -q ||
	fail "export --container from the replayed store failed"
assert_eq "$N" "$(tshark -r "$T/again.pcapng" 2>/dev/null | wc -l)" \
	"packets found by --container in the replayed store"
assert_eq "$N" "$(comments "$T/again.pcapng" | grep -cF "ContainerId: $ID|" || true)" \
	"replayed packets whose comment names the container"
info "the replayed export keeps the container: $N packets"
