#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench_rec_callgrind.sh - instructions per TLS session of ecap-rec's main-thread paths outside
# the packets (issue 17): the socket records (live_sockets_on_event, learn_process,
# proc_owner_info), the exec records (live_keylog.c's on_event without its /proc scans of
# programs not met before) and the TLS 1.3 derivation (derive_keep), counted by callgrind, so
# that a change of a few hundred instructions a session shows where CPU time under a shared
# load cannot (this VM has no hardware counters for perf stat).
#
# The recorder records `tcp port 4466` on the loopback of a namespace of its own (a port no
# other benchmark uses, so that the socket records of other namespaces stay out of scope in the
# kernel); it runs once natively first, to calibrate libssl into the store (the calibration's
# sandbox cannot be set up under valgrind), then under callgrind with collection off. After
# 4x10 curls, collection is on for 4 loops of K curls (each through `ip netns exec`, a new
# process and mount namespace each, as bench_tls_sessions.sh's curl4), then off. Each figure is
# a function's inclusive count over its calls; the socket paths are also given per session of
# ours (two socket records, one new process, K*4 sessions), less the exec records they take
# first and the store's copy of the process record. Other recorders' TLS sessions on the
# host reach the OpenSSL probes too: on_event's per-call figure mixes them in, derive_keep's does
# not (sessions recorded here only). valgrind has no openat2 (a program's libraries are not
# looked at in its root under it): the exec figures are of programs met before.
#
#   tools/bench_rec_callgrind.sh BUILD [K] [OUT]    (K default 25; OUT: keep the profile there)
#
# Needs root, valgrind, openssl, curl, python3. Prints one line per figure.
set -u -o pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$1 K=${2:-25} KEEP=${3:-}
NAME=ecap-cg-$$ PORT=4466
# shellcheck source=tools/bench_tls_server.sh
. "$SRC/tools/bench_tls_server.sh"
curls() {
	local k ps=()
	for k in 1 2 3 4; do
		( for ((i = 0; i < $1; i++)); do
			"${NX[@]}" curl -sk -o /dev/null "https://127.0.0.1:$PORT/" ||
				echo "curl failed" >&2
		done ) &
		ps+=($!)
	done
	wait "${ps[@]}"
}
rec_start "$BUILD" "$WORK/st"
rec_stop
grep -q "libssl.so.3 (OpenSSL" "$WORK/rec.err" || { echo "libssl was not calibrated" >&2; exit 1; }
: >"$WORK/rec.err"
valgrind --tool=callgrind --trace-children=yes --separate-threads=yes --instr-atstart=no \
	--callgrind-out-file="$WORK/cg" "${NR[@]}" "$BUILD/recorder/ecap-rec" -i lo \
	--store "$WORK/st" "tcp port $PORT" >/dev/null 2>"$WORK/rec.err" </dev/null &
R=$!; PIDS+=("$R")
for _ in $(seq 900); do grep -q 'recording on' "$WORK/rec.err" && break; sleep 0.2; done
curls 10; sleep 3
callgrind_control -i on "$R" >/dev/null
curls "$K"; sleep 3
callgrind_control -i off "$R" >/dev/null
rec_stop
[ -n "$KEEP" ] && cp "$WORK/cg-01" "$KEEP"
callgrind_annotate --inclusive=yes --threshold=100 --show-percs=no "$WORK/cg-01" |
python3 -c '
import re, sys
sessions, raw = int(sys.argv[1]), sys.argv[2]
want = ["live_sockets.c:live_sockets_on_event", "live_sockets.c:learn_process",
        "proc_owner.c:proc_owner_info", "store_owners.c:store_put_process",
        "pipeline.c:pipeline_socket_owner", "live_keylog.c:on_event", "live_keylog.c:scan_pid",
        "pipeline.c:derive_keep", "live_tls.c:on_event", "live.c:take_execs"]
ir = {}
for line in sys.stdin:
    for fn in want:
        if re.search(r"^\s*[\d,]+(\s+[\d,.]+)*\s+\S*/" + re.escape(fn) + r" ", line) \
                and fn not in ir:
            ir[fn] = int(line.split()[0].replace(",", ""))
# calls from the profile itself: "cfi=(id) file" and "cfn=(id) name" once, then by id alone,
# before each "calls=N"; without a cfi line the callee is in the file of the caller (fl)
names, files, calls, fl, cfile, callee = {}, {}, {}, "", "", None
for line in open(raw):
    m = re.match(r"(c?)(fi|fe|fl|fn)=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
    if m:
        called, kind, key, name = m.group(1), m.group(2), m.group(3), m.group(4)
        table = names if kind == "fn" else files
        if name is not None:
            table[key] = name
        if kind == "fl" and not called:
            fl = cfile = files.get(key, "")
        elif kind == "fn" and not called:
            cfile = fl
        elif called and kind != "fn":
            cfile = files.get(key, "")
        elif called:
            callee = cfile.rsplit("/", 1)[-1] + ":" + names.get(key, "")
        continue
    if line.startswith("calls=") and callee:
        calls[callee] = calls.get(callee, 0) + int(line[6:].split()[0])
        callee, cfile = None, fl
n = lambda fn: calls.get(fn, 0)
for fn in want:
    c = n(fn)
    print(f"{fn:40s} {c:6d} calls {ir.get(fn, 0) / c if c else 0:9.0f} a call")
g = lambda f: ir.get(f, 0)
# the exec records a socket record takes first (live_sockets_set_execs_first) are counted
# apart, and so is the copy of a process record into the store (its chunk array grows)
print(f"socket records less the store copy and the exec records: "
      f"{(g(want[0]) - g(want[3]) - g(want[9])) / sessions:.0f} a session")
ex = n(want[5])
print(f"exec records without scan_pid: {(g(want[5]) - g(want[6])) / ex if ex else 0:.0f} a record")
' $((4 * K)) "$WORK/cg-01"
