# SPDX-License-Identifier: GPL-2.0-only
# commit_wait_wake.sh - a packet that comes while the store waits only for its group commit (a
# chunk closed by its size, written and indexed; no chunk open) is queryable within 1.5 s, the
# record -> queryable promise. The loop sleeps until the store's next deadline; with no chunk
# open that deadline is the commit, up to a second away, and a record left in its ring until
# then began its chunk's second of age only then (fails on main 0e016c4: 1.6-1.8 s here). Now
# the capture's next record wakes that sleep (bpf/reader_wake.h), as it does a quiet
# recorder's. ecap-rec records lo of a network namespace of the test's own with 4 KiB chunks, so
# that one datagram of 6,000 bytes closes a chunk by its size (each datagram goes to a bound
# socket: no ICMP error follows it as a record of its own). Three rounds, each after 2.5 s of
# quiet: a small datagram of a new flow, whose chunk closes by its age and is committed at
# once; as soon as its flow is in the index, a large one of the same flow (a chunk of its own,
# whose commit is due a second after the first); once the main thread slept twice more (after
# that chunk's drain, and after the tick that took it back from the writer), a small datagram
# of a new flow, timed until its flow is in the index.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip
in_own_netns cwait
S=$T/store

rec_start "$T/rec.log" -i lo --store "$S" --no-tls --container-api none --chunk-size 4K

PORT=$(free_port)
python3 - "$REC_PID" "$S/index.db" "$PORT" >"$T/rounds.log" 2>&1 <<'PY' ||
import socket, sqlite3, sys, time
pid, index, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

def switches():
    with open(f"/proc/{pid}/task/{pid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches"):
                return int(line.split()[1])

def in_index(p):
    try:
        db = sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=1)
        n = db.execute("SELECT count(*) FROM flows WHERE proto = 17 AND "
                       "(port_a = ? OR port_b = ?)", (p, p)).fetchone()[0]
        db.close()
        return n > 0
    except sqlite3.Error:
        return False

def ms_until_indexed(p, t0):
    """ms from t0 (ns) until p's flow is in the index, polled every 10 ms for 4 s"""
    while time.time_ns() - t0 < 4_000_000_000:
        if in_index(p):
            return (time.time_ns() - t0) // 1_000_000
        time.sleep(0.01)
    sys.exit(f"the datagram to port {p} is not in the index after 4 s")

def asleep_again(times=1):
    """until the main thread has gone to sleep that many times more (a quiet recorder sleeps
    up to 5 s at a time)"""
    a = switches()
    deadline = time.time() + 7
    while switches() < a + times:
        if time.time() > deadline:
            sys.exit("the recorder's main thread did not sleep again within 7 s")
        time.sleep(0.002)

for r in range(3):
    base = port + 10 * r
    # bound, so that no ICMP port unreachable follows a datagram (a record of its own)
    sinks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for i, k in enumerate(sinks):
        k.bind(("127.0.0.1", base + i))
    time.sleep(2.5)
    asleep_again()
    # a new flow: its chunk (with its owner) closes by its age and is committed at once
    sock.sendto(b"first", ("127.0.0.1", base))
    first = ms_until_indexed(base, time.time_ns())
    # the same flow again, one chunk of its own closed by its size: nothing else opens one
    sock.sendto(b"L" * 6000, ("127.0.0.1", base))
    # its drain, then the tick that takes it back from the writer: the loop sleeps after each
    asleep_again(2)
    t0 = time.time_ns()
    sock.sendto(b"s", ("127.0.0.1", base + 1))
    print(f"round {r + 1} first {first} small {ms_until_indexed(base + 1, t0)}", flush=True)
PY
	fail "the rounds did not run: $(tail -3 "$T/rounds.log")"
rec_stop "$T/rec.log"
[ "$(grep -c '^round' "$T/rounds.log")" = 3 ] || fail "not three rounds: $(cat "$T/rounds.log")"
late=
while read -r _ r _ first _ ms; do
	info "round $r: the first chunk in the index after $first ms; the small datagram after $ms ms"
	[ "$ms" -le 1500 ] || late="$late $r"
done <"$T/rounds.log"
[ -z "$late" ] || fail "round(s)$late: the small datagram was in the index after more than 1500 ms"
info "ok: a packet while only a commit was due was queryable within 1.5 s, three times"
