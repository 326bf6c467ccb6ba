# SPDX-License-Identifier: GPL-2.0-only
# exe_mntns.sh - a remembered executable name never answers for another mount namespace that
# happens to have the same inode number. The kernel gives a freed namespace's inode number to
# the next new one at once, so two namespaces made one after the other (unshare -m) usually
# share it. In each, curl's binary is bind-mounted at a path of its own ($T/aN/client, then
# $T/bN/client: the very same file, device and inode) and run from there as a TCP client of a
# server on lo that ecap-rec records; the server answers after 0.3 s, so the recorder can read
# /proc/PID/exe while the client runs (with or without the TLS probes' exec handler). Checks:
# every packet of the first connection names $T/aN/client, and no packet of the second names
# the first path: $T/bN/client or nothing (unknown). Exits 77 when no pair of namespaces got
# the same inode number in three tries (something else on the host made namespaces between).
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl unshare mount python3 tshark

S=$T/store
PORT=$(free_port)
CURL=$(readlink -f "$(command -v curl)")
slow_server "$PORT" "$T/srv.log"

rec_start "$T/rec.log" -i lo --store "$S" "tcp port $PORT"

# run_in_ns DIR: curl's binary bind-mounted at DIR/client in a new mount namespace, run from
# there; its pid (the same through unshare, sh and exec) in CLIENT_PID, the namespace's inode
# in DIR/ns.
run_in_ns() {
	local dir=$1
	mkdir "$dir"
	: >"$dir/client"
	unshare -m sh -c 'mount --bind "$1" "$2/client" && readlink /proc/self/ns/mnt >"$2/ns" &&
		exec "$2/client" -s -o /dev/null "http://127.0.0.1:$3/slow"' sh "$CURL" "$dir" "$PORT" &
	CLIENT_PID=$!
	wait "$CLIENT_PID" || fail "the client in $dir failed"
}

# exe_of_pid PID OUT: the Exe line of PID's block in each packet comment of its export.
exe_of_pid() {
	"$ECAP_EXPORT" --store "$S" --pid "$1" -o "$T/$1.pcapng" -q ||
		fail "export --pid $1 found nothing"
	tshark -r "$T/$1.pcapng" -T fields -e frame.comment 2>/dev/null |
		PYTHONPATH="$ECAP_SRC/tests/live" python3 -c '
import sys
from comment_owners import owners
pid = sys.argv[1]
for line in sys.stdin:
    print(owners(line).get(pid, {}).get("Exe", ""))
' "$1" >"$2"
	[ -s "$2" ] || fail "the export of pid $1 has no packet comments"
}

pair=0
for try in 1 2 3; do
	run_in_ns "$T/a$try"
	A_PID=$CLIENT_PID
	run_in_ns "$T/b$try"
	B_PID=$CLIENT_PID
	if [ "$(cat "$T/a$try/ns")" = "$(cat "$T/b$try/ns")" ]; then
		pair=$try
		break
	fi
	info "try $try: the namespaces were $(cat "$T/a$try/ns") and $(cat "$T/b$try/ns")"
done
sleep 0.5
rec_stop
[ "$pair" -gt 0 ] ||
	skip "no two namespaces made one after the other shared an inode number (3 tries)"
info "both namespaces were $(cat "$T/a$pair/ns"): pids $A_PID, then $B_PID"

exe_of_pid "$A_PID" "$T/a.exe"
exe_of_pid "$B_PID" "$T/b.exe"
if grep -vxF "$T/a$pair/client" "$T/a.exe" >&2; then
	fail "packets of the first namespace's client (pid $A_PID) do not name $T/a$pair/client"
fi
if grep -xF "$T/a$pair/client" "$T/b.exe" >&2; then
	fail "the second namespace's client (pid $B_PID) is named by the first one's path"
fi
if grep -vxF -e "$T/b$pair/client" -e "" "$T/b.exe" >&2; then
	fail "packets of the second namespace's client (pid $B_PID) name another executable"
fi
info "pid $B_PID named: $(sort -u "$T/b.exe" | tr '\n' ' ')"
