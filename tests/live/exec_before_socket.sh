# SPDX-License-Identifier: GPL-2.0-only
# exec_before_socket.sh - a short-lived client's executable is named by its exec record even
# when its socket record is read first. Each drain reads the exec records' ring before the
# sockets' ring, then rescans /proc every 10 s; a client that execs, connects and exits
# meanwhile (here: while gdb holds the recorder at the rescan, as a busy host or a long
# rescan would) has both records waiting, in two rings, and its socket's was read first:
# the process, gone by then, was stored without its executable (fails on main: no Exe in
# the client's packets). The client runs curl in a mount namespace of its own (unshare -m),
# where no name is remembered from before. Exits 77 without root, eBPF, gdb or the
# recorder's symbols.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl unshare gdb tshark

PORT=$(free_port)
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$T" >"$T/http.log" 2>&1 &
cleanup_pid "$!"
wait_port "$PORT"
ECAP_DEBUG=1 rec_start "$T/rec.log" -i lo --store "$T/store" "tcp port $PORT"
tls_watching "$T/rec.log" || skip "no TLS probe could be loaded: no exec records"
! grep -q "exec records carry no names here" "$T/rec.log" ||
	skip "the exec probe cannot learn the recorder's root here: no names in exec records"
CURL=$(readlink -f "$(command -v curl)")
curl -s -o /dev/null "http://127.0.0.1:$PORT/" || fail "curl failed" # curl is known now

# gdb stops the recorder at its next rescan (within 10 s), runs the client, lets it go on
cat >"$T/gdb.cmd" <<EOF
set pagination off
break live_keylog_rescan
continue
shell unshare -m sh -c 'exec "\$0" -s -o /dev/null "\$1"' "$CURL" "http://127.0.0.1:$PORT/quick" & echo \$! >"$T/quick.pid"; wait
delete
detach
quit
EOF
timeout 60 gdb -q -batch -p "$REC_PID" -x "$T/gdb.cmd" >"$T/gdb.log" 2>&1 || true
grep -q "Breakpoint 1, live_keylog_rescan" "$T/gdb.log" ||
	skip "gdb could not stop ecap-rec at its rescan: $(grep -v '^\[' "$T/gdb.log" | tail -2)"
[ -s "$T/quick.pid" ] || fail "the client did not run: $(tail -3 "$T/gdb.log")"
PID=$(cat "$T/quick.pid")
kill -0 "$REC_PID" 2>/dev/null || fail "ecap-rec did not survive gdb: $(tail -3 "$T/rec.log")"
sleep 0.5
rec_stop "$T/rec.log"

grep -q "exec of pid $PID named by its record: $CURL" "$T/rec.log" ||
	fail "the exec record of pid $PID did not name $CURL: $(grep "pid $PID" "$T/rec.log")"
"$ECAP_EXPORT" --store "$T/store" --pid "$PID" -o "$T/quick.pcapng" -q ||
	fail "export --pid $PID found nothing"
exes=$(tshark -r "$T/quick.pcapng" -T fields -e frame.comment 2>/dev/null |
	PYTHONPATH="$ECAP_SRC/tests/live" python3 -c '
import sys
from comment_owners import owners
print(" ".join(sorted({owners(l).get(sys.argv[1], {}).get("Exe", "") for l in sys.stdin})))' "$PID")
assert_eq "$CURL" "$exes" "the executable the client's packets name (pid $PID)"
info "ok: pid $PID named $exes, its exec record read before its socket's"
