# SPDX-License-Identifier: GPL-2.0-only
# notify.sh - ecap-rec under a stand-in for systemd (Type=notify, WatchdogSec=): a datagram
# socket in NOTIFY_SOCKET receives READY=1 (with a STATUS= naming interface and store) only
# after ecap-rec says it records, WATCHDOG=1 about every second (WATCHDOG_USEC of 4 s), and
# STOPPING=1 after SIGTERM. A SIGHUP while recording is ignored and said on stderr, and
# recording goes on. Also ecap-rec reading its settings from --config as the unit runs it.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live

SOCK=$T/notify.sock
python3 - "$SOCK" "$T/msgs" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], 'w', buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        out.write('%.3f %s\n' % (time.monotonic(), msg.replace('\n', '|')))
        if 'STOPPING=1' in msg:
            break
PY
RCV=$!
cleanup_pid "$RCV"
for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || fail "the notify socket was not created"

printf 'interface = lo\nstore = %s\nno-tls = yes\nfilter = udp port 9\n' "$T/store" >"$T/rec.conf"
# WATCHDOG_PID must name ecap-rec itself: the shell that sets it becomes ecap-rec (exec)
NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=4000000 bash -c \
	'export WATCHDOG_PID=$$; exec "$0" --config "$1"' "$ECAP_REC" "$T/rec.conf" 2>"$T/rec.log" &
REC_PID=$!
cleanup_pid "$REC_PID"
wait_for "$T/rec.log" "recording on" "$REC_PID" "ecap-rec"
for i in $(seq 50); do grep -q READY=1 "$T/msgs" && break; sleep 0.1; done
grep -q "READY=1|STATUS=recording on 1 interface into $T/store" "$T/msgs" ||
	fail "no READY=1 with its status: $(cat "$T/msgs")"
[ "$(head -n1 "$T/msgs" | grep -c READY=1)" = 1 ] || fail "READY=1 is not the first message"

kill -HUP "$REC_PID"
sleep 3.2
kill -0 "$REC_PID" 2>/dev/null || fail "ecap-rec died of SIGHUP"
grep -q "SIGHUP ignored: settings are read at start only" "$T/rec.log" ||
	fail "SIGHUP not reported: $(cat "$T/rec.log")"
rec_stop
wait "$RCV" || fail "the receiver failed"
info "messages: $(cut -d' ' -f2- "$T/msgs" | sort | uniq -c | tr -s ' \n' ' ')"
WD=$(grep -c '^[0-9.]* WATCHDOG=1$' "$T/msgs" || true)
assert_ge 3 "$WD" "watchdog pings in about 3 s"
tail -n1 "$T/msgs" | grep -q "STOPPING=1" || fail "the last message is not STOPPING=1"
# the pings come about once a second, and never more than 2 s apart
awk '$2 == "WATCHDOG=1" { if (last && $1 - last > 2) bad = 1; last = $1 } END { exit bad }' \
	"$T/msgs" || fail "watchdog pings more than 2 s apart: $(cat "$T/msgs")"
assert_no_filters lo
