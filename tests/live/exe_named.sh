# SPDX-License-Identifier: GPL-2.0-only
# exe_named.sh - the executable of a process that is over before its socket's record is read
# (a curl of one small page; the ring is read every 100 ms), named at its exec: ecap-rec, with
# its TLS probes (whose exec handler names programs), records lo while curl runs three times
# against a python3 http.server, each time in a mount namespace of its own (unshare -m), in
# which curl was never named: nothing remembered from earlier processes can answer, and
# /proc/PID/exe is gone by the time the socket record is read. Checks: every packet of each
# curl names its executable (Exe: the curl binary) and its command line, and the server's
# block names python3's own executable.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl unshare python3 tshark

S=$T/store
PORT=$(free_port)
mkdir "$T/www"
echo small >"$T/www/small.txt"
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 &
SRV=$!
cleanup_pid "$SRV"
wait_port "$PORT"

rec_start "$T/rec.log" -i lo --store "$S" "tcp port $PORT"
tls_watching "$T/rec.log" || skip "no TLS probe could be loaded: no exec handler"
CURLS=()
for i in 1 2 3; do
	unshare -m curl -s -o /dev/null "http://127.0.0.1:$PORT/small.txt?$i" &
	CURLS+=($!)
	wait "${CURLS[-1]}" || fail "curl $i failed"
	sleep 0.2
done
sleep 0.3
rec_stop

CURL_EXE=$(readlink -f "$(command -v curl)")
SRV_EXE=$(readlink "/proc/$SRV/exe")
for i in 1 2 3; do
	pid=${CURLS[$((i - 1))]}
	"$ECAP_EXPORT" --store "$S" --pid "$pid" -o "$T/c$i.pcapng" -q ||
		fail "export --pid $pid (curl $i) found nothing"
	tshark -r "$T/c$i.pcapng" -T fields -e frame.comment 2>/dev/null | PYTHONPATH="$ECAP_SRC/tests/live" python3 -c '
import sys
from comment_owners import owners
pid, exe, args, srv, srv_exe = sys.argv[1:]
n = 0
for line in sys.stdin:
    who = owners(line)
    c, s = who[pid], who[srv]
    assert c.get("Exe") == exe and c.get("Args") == args, c
    assert s.get("Exe") == srv_exe, s
    n += 1
assert n >= 5, n
' "$pid" "$CURL_EXE" "curl -s -o /dev/null http://127.0.0.1:$PORT/small.txt?$i" "$SRV" "$SRV_EXE" ||
		fail "curl $i (pid $pid): its packets do not all name its executable (above)"
done
