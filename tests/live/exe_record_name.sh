# SPDX-License-Identifier: GPL-2.0-only
# exe_record_name.sh - the exec probe names a known program itself (bpf/exe_path.h), and the
# name it gives is what readlink of /proc/PID/exe says from outside while the process lives;
# where it cannot be sure it gives no name and the recorder reads /proc as before. ecap-rec
# (ECAP_DEBUG=1: it says "exec of pid N named by its record: NAME") records lo while each
# client below runs curl's binary (a file it looked at when it started) in a mount namespace
# of its own (unshare -m: the first exec of the file there is always recorded), against a
# server on lo that holds its answer 0.3 s, so that the test reads /proc/PID/exe meanwhile:
#   deep     bind-mounted at a path 24 directories down;
#   bind     through a bind mount of its directory;
#   chroot   in a chroot of a recursive bind mount of / (readlink from outside names the path
#            from the namespace's root, through the chroot's directory);
#   odd      in a directory whose name has a space, a control byte and UTF-8;
#   long     at a path of 300 bytes: too long for the record, so not named by it;
#   deleted  a copy of curl run once (so that it is known), then opened, unlinked and run
#            through /proc/self/fd: not named by the record;
#   quick    a curl that exits at once (the server answers at once): named by the record,
#            with no /proc to read by the time its socket is.
# Checks: the record's name is there for exactly the cases above, equal to readlink's (as
# the store keeps it: bytes outside printable ASCII as '?', at most 255); every packet of each
# client is named by that, or, where the record gave no name, by readlink's text or nothing.
# Exits 77 without root or eBPF, or when the recorder's exec probe cannot name programs here.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl unshare mount chroot python3 tshark

S=$T/store
PORT=$(free_port)
CURL=$(readlink -f "$(command -v curl)")
slow_server "$PORT" "$T/srv.log"

ECAP_DEBUG=1 rec_start "$T/rec.log" -i lo --store "$S" "tcp port $PORT"
tls_watching "$T/rec.log" || skip "no TLS probe could be loaded: no exec probe"
! grep -q "exec records carry no names here" "$T/rec.log" ||
	skip "the exec probe cannot learn the recorder's root here: no names in exec records"

# client CASE SCRIPT: SCRIPT run by sh in a new mount namespace ($1 the curl binary, $2 the
# URL, $3 $T), which ends by exec'ing the client; its pid (the same through unshare, sh and
# the exec) in T/CASE.pid, and /proc/PID/exe's text, read once it is no longer unshare, sh or
# chroot, in T/CASE.alive.
UNSHARE=$(readlink -f "$(command -v unshare)")
SH=$(readlink -f /bin/sh)
CHROOT=$(readlink -f "$(command -v chroot)")
client() {
	local name=$1 script=$2 url="http://127.0.0.1:$PORT/slow" pid i exe
	[ "$name" = quick ] && url="http://127.0.0.1:$PORT/fast"
	unshare -m sh -c "$script" sh "$CURL" "$url" "$T" &
	pid=$!
	echo "$pid" >"$T/$name.pid"
	if [ "$name" != quick ]; then
		for i in $(seq 400); do
			exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || break
			if [ "$exe" != "$UNSHARE" ] && [ "$exe" != "$SH" ] && [ "$exe" != "$CHROOT" ]; then
				readlink "/proc/$pid/exe" >"$T/$name.alive"
				break
			fi
			sleep 0.005
		done
	fi
	wait "$pid" || fail "the $name client failed"
	[ "$name" = quick ] || [ -s "$T/$name.alive" ] ||
		fail "the $name client's /proc/$pid/exe could not be read while it ran"
}

DEEP=$T/deep
for i in $(seq 24); do DEEP=$DEEP/d$i; done
mkdir -p "$DEEP" "$T/bin2" "$T/croot" "$T/del"
: >"$DEEP/client"
ODD=$T/$'odd \001\xc3\xa9 name'
mkdir "$ODD"
: >"$ODD/client"
LONG=$T/$(printf 'l%.0s' $(seq 120))/$(printf 'm%.0s' $(seq 120))
mkdir -p "$LONG"
: >"$LONG/client"
cp "$CURL" "$T/del/client"
"$T/del/client" -s -o /dev/null "http://127.0.0.1:$PORT/fast" # looked at: known from now on
sleep 0.3

client deep "mount --bind \"\$1\" '$DEEP/client' && exec '$DEEP/client' -s -o /dev/null \"\$2\""
client bind "mount --bind \"\$(dirname \"\$1\")\" \"\$3/bin2\" &&
	exec \"\$3/bin2/\$(basename \"\$1\")\" -s -o /dev/null \"\$2\""
client chroot "mount --rbind / \"\$3/croot\" && exec chroot \"\$3/croot\" \"\$1\" -s -o /dev/null \"\$2\""
client odd "mount --bind \"\$1\" \"\$3/\$(printf 'odd \\001\\303\\251 name')/client\" &&
	exec \"\$3/\$(printf 'odd \\001\\303\\251 name')/client\" -s -o /dev/null \"\$2\""
client long "mount --bind \"\$1\" '$LONG/client' && exec '$LONG/client' -s -o /dev/null \"\$2\""
client deleted "exec 3<\"\$3/del/client\" && rm \"\$3/del/client\" && exec /proc/self/fd/3 -s -o /dev/null \"\$2\""
client quick "exec \"\$1\" -s -o /dev/null \"\$2\""
echo "$CURL" >"$T/quick.alive"
sleep 0.5
rec_stop

for name in deep bind chroot odd long deleted quick; do
	pid=$(cat "$T/$name.pid")
	"$ECAP_EXPORT" --store "$S" --pid "$pid" -o "$T/$name.pcapng" -q ||
		fail "export --pid $pid ($name) found nothing"
	tshark -r "$T/$name.pcapng" -T fields -e frame.comment 2>/dev/null >"$T/$name.comments"
done
ok=0
PYTHONPATH="$ECAP_SRC/tests/live" python3 - "$T" "$T/rec.log" "$UNSHARE" "$SH" "$CHROOT" <<'EOF' || ok=$?
import os, re, sys
from comment_owners import owners

t, log, before = sys.argv[1], sys.argv[2], set(sys.argv[3:])  # what each client ran first
named = {}
for line in open(log, "rb").read().decode("ascii", "replace").splitlines():
    m = re.match(r"ecap-rec: tls: exec of pid (\d+) named by its record: (.*)$", line)
    if m:
        named.setdefault(m.group(1), []).append(m.group(2))

def stored(raw):  # recorder/proc_info.c proc_info_printable(), ECAP_EXE_MAX 256
    return "".join(chr(c) if 0x20 <= c < 0x7f else "?" for c in raw)[:255].rstrip(" ")

bad = 0
for name, by_record in [("deep", True), ("bind", True), ("chroot", True), ("odd", True),
                        ("long", False), ("deleted", False), ("quick", True)]:
    pid = open(f"{t}/{name}.pid").read().strip()
    alive = stored(open(f"{t}/{name}.alive", "rb").read().rstrip(b"\n"))
    recs = named.get(pid, [])
    exes = set()
    for line in open(f"{t}/{name}.comments"):
        exes.add(owners(line).get(pid, {}).get("Exe", ""))
    print(f"# {name}: pid {pid}, readlink {alive!r}, record {recs!r}, packets {sorted(exes)!r}")
    if by_record and recs[-1:] != [alive]:
        print(f"FAIL: {name}: the exec record did not name {alive!r}")
        bad += 1
    if not by_record and not set(recs) <= before:
        print(f"FAIL: {name}: an exec record named {recs!r}; it should have given no name")
        bad += 1
    allowed = {alive} if by_record else {alive, ""}
    if not exes or not exes <= allowed:
        print(f"FAIL: {name}: packets name {sorted(exes)!r}, not {alive!r}")
        bad += 1
sys.exit(1 if bad else 0)
EOF
[ "$ok" -eq 0 ] || fail "the names above"
