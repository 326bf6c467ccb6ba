# SPDX-License-Identifier: GPL-2.0-only
# steady_wake.sh - under a steady load the recorder's main thread wakes about once per chunk:
# the chunk's close, its commit and the once-a-second duty share one wake-up (recorder/live.c,
# wake_at and the sleep after a close). Before, it woke for the close, polled 100 ms later to
# open the next chunk, and woke again for the duty: about three wake-ups a second, each of
# which costs a virtual machine 100-300 us of CPU whatever the loop then does (BENCHMARKS.md,
# i23main). ecap-rec records lo of a namespace of the test's own (no TLS probes; a filter on
# the test's ports, so that other sockets of the host make no record that would wake it) while
# a datagram goes every 20 ms. Over 6 s: at most 9 calls of epoll_wait by the main thread
# (counted by strace; 18 before), no more chunks than one a second (the same as before: a
# chunk per chunk age and poll interval); and a datagram of a new flow, sent while the load
# goes on and after it, is in the index within 1.5 s, the record -> queryable promise. And the
# duty reads the capture's per-CPU loss counters (a bpf() system call) only when the program
# counted a loss, and every 5 s for the status line: at most 2 reads in 6 s with nothing lost
# (one a second before).
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip strace python3 sqlite3 bpftool
in_own_netns steadyw
S=$T/store

rec_start "$T/rec.log" -i lo --store "$S" --no-tls --container-api none \
	"udp portrange 40000-40099"

python3 - 2>"$T/sender.log" <<'PY' &
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(500):
    s.sendto(b'steady', ('127.0.0.1', 40000 + i % 50))
    time.sleep(0.02)
PY
SENDER=$!
cleanup_pid "$SENDER"
sleep 2.5
C0=$(sql "$S" "SELECT count(*) FROM chunks")
# without -f: the main thread alone (the loop's thread; the writer waits on a condition)
timeout -s INT 6 strace -c -e trace=epoll_wait -o "$T/epoll.trace" -p "$REC_PID" 2>/dev/null || true
C1=$(sql "$S" "SELECT count(*) FROM chunks")
# the recorder's descriptor of its "counters" map (the capture's per-CPU loss counters)
CFD=
for f in /proc/"$REC_PID"/fdinfo/*; do
	id=$(awk '/^map_id:/ { print $2 }' "$f" 2>/dev/null)
	[ -n "$id" ] && bpftool map show id "$id" 2>/dev/null | grep -q ' name counters ' &&
		{ CFD=${f##*/}; break; }
done
[ -n "$CFD" ] || fail "no counters map among the recorder's descriptors"
timeout -s INT 6 strace -qq -e trace=bpf -o "$T/bpf.trace" -p "$REC_PID" 2>/dev/null || true
READS=$(grep -c "BPF_MAP_LOOKUP_ELEM, {map_fd=$CFD," "$T/bpf.trace" || true)
CALLS=$(awk '$NF == "epoll_wait" { print $4 }' "$T/epoll.trace")
[ -n "$CALLS" ] || { cat "$T/epoll.trace" >&2; fail "strace counted no epoll_wait"; }
# indexed_ms PORT: sends a datagram to PORT and prints the ms from its sending until its flow
# is in the index (polled every 50 ms for 4 s), or nothing
indexed_ms() {
	local t0 n
	t0=$(python3 -c "import socket, time
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'new flow', ('127.0.0.1', $1))
print(time.time_ns())")
	for _ in $(seq 80); do
		n=$(sql "$S" "SELECT count(*) FROM flows WHERE proto = 17 AND
			(port_a = $1 OR port_b = $1)" 2>/dev/null || echo 0)
		if [ "${n:-0}" -ge 1 ]; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return
		fi
		sleep 0.05
	done
}
# a datagram of a new flow while the load goes on, and one after it
DURING=$(indexed_ms 40098)
wait "$SENDER" || fail "the datagram sender failed: $(tail -3 "$T/sender.log")"
AFTER=$(indexed_ms 40099)
info "a datagram every 20 ms: $CALLS epoll_wait calls and $((C1 - C0)) chunks in 6 s; a new flow's datagram in the index after ${DURING:-?} ms during the load, ${AFTER:-?} ms after it"
[ "$CALLS" -le 9 ] || fail "the main thread called epoll_wait $CALLS times in 6 s (at most 9)"
info "the loss counters read $READS times in 6 s with nothing lost"
[ "$READS" -le 2 ] || fail "the loss counters were read $READS times in 6 s with nothing lost (at most 2)"
[ $((C1 - C0)) -le 6 ] || fail "$((C1 - C0)) chunks in 6 s (at most one a second)"
for ms in "${DURING:-}" "${AFTER:-}"; do
	[ -n "$ms" ] && [ "$ms" -le 1500 ] ||
		fail "a datagram is not in the index within 1.5 s (${ms:-never}; during the load ${DURING:-never}, after it ${AFTER:-never})"
done
rec_stop "$T/rec.log"
assert_accounting "$T/rec.log"
info "ok: a steady load wakes the recorder about once per chunk"
