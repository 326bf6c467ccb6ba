#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench_tls_libs.sh - what ecap's TLS probes cost (issue 14): for each TLS library ecap reads
# secrets from, the CPU a client process spends per full handshake and per write with no
# recorder, with ecap-rec --no-tls (capture alone) and with ecap-rec (capture and TLS probes),
# and ecap-rec's own CPU per TLS session. Clients: the system's shared OpenSSL, BoringSSL
# (android-boringssl) and GnuTLS (tools/bench_tls/, C), Go crypto/tls (tools/bench_tls/client.go,
# built here) and node (client.js; OpenSSL built into the executable). Each makes N handshakes
# to 127.0.0.1, then on another run N writes on one session, and measures itself over those
# alone (getrusage, all threads; not its start).
# The server is openssl s_server on a deleted copy of libssl.so.3, which ecap does not probe,
# so only the client's probes count. Medians of RUNS runs each way, the three ways taking
# turns in a different order in each run.
#
#   tools/bench_tls_libs.sh [--build DIR] [--out FILE] [--tmp DIR] [--runs N]
#                           [--handshakes N] [--writes N] [--size BYTES] [--keep]
#
#   --out FILE    the markdown file whose section "## 7. TLS libraries" is written (replaced
#                 if there, else appended; default BENCHMARKS.md at the repository root)
#   --runs N      runs each way (default 3); --handshakes (default 200), --writes (default
#                 20000) and --size (default 64) per run
#   --keep        keep the work directory
#
# Runs in a network namespace made for it (nothing leaves its loopback); every process
# started here is ended by its pid, and the namespace and the work directory are deleted at
# the end. Needs root. Exit status: 0 every row produced, 1 a row missing, 2 usage, missing
# build or not root.
set -u -o pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${ECAP_BUILD:-$SRC/build} OUT=$SRC/BENCHMARKS.md TMPBASE=${TMPDIR:-/tmp} KEEP=0
RUNS=3 NHS=200 NWR=20000 SIZE=64 DRAIN=0.3

usage() {
	sed -n '4,/^# build or not root/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=${2:?--build needs a directory}; shift ;;
	--out) OUT=${2:?--out needs a file}; shift ;;
	--tmp) TMPBASE=${2:?--tmp needs a directory}; shift ;;
	--runs) RUNS=${2:?--runs needs a number}; shift ;;
	--handshakes) NHS=${2:?--handshakes needs a number}; shift ;;
	--writes) NWR=${2:?--writes needs a number}; shift ;;
	--size) SIZE=${2:?--size needs a number}; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage 0 ;;
	*) echo "bench_tls_libs.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

REC=$BUILD/recorder/ecap-rec LS=$BUILD/tools/ecap-ls CL=$BUILD/tools/bench_tls
PY="python3 $SRC/tools/bench_report.py"
for b in "$REC" "$LS"; do
	[ -x "$b" ] || { echo "bench_tls_libs.sh: $b is missing: build first" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench_tls_libs.sh: needs root (ecap-rec -i lo)" >&2; exit 2; }
for t in openssl ip python3; do
	command -v "$t" >/dev/null || { echo "bench_tls_libs.sh: $t is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d "$TMPBASE/ecap-bench-tls.XXXXXX") || exit 2
RES=$WORK/results.tsv FACTS=$WORK/facts.tsv LOG=$WORK/log
T0=$(date +%s) BENCH=bench_tls_libs RPID=''
# shellcheck source=tools/bench_lib.sh
. "$SRC/tools/bench_lib.sh"

# Other recorders on the machine (other users' test runs): their probes are on the same
# library files and would be paid by our clients too; counted at every run.
others() { pgrep -x ecap-rec | grep -cvx "${RPID:-0}"; }

fact date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
fact loadavg.start "$(cut -d' ' -f1-3 /proc/loadavg)"
fact nproc "$(nproc)"
fact commit "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
	[ -n "$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null)" ] &&
	echo ' with uncommitted changes')"
fact params "$RUNS $NHS $NWR $SIZE $DRAIN"

# ---------------------------------------------------------------- the clients
# client NAME DESCRIPTION WHY-NOT CMD...: a client to run (CMD PORT MODE N [SIZE]) unless
# WHY-NOT says why it cannot; LIBS lists those that run, CMD their commands.
declare -A CMD
LIBS=()
client() {
	local name=$1 desc=$2 why=$3
	shift 3
	fact "lib.$name.desc" "$desc"
	if [ -n "$why" ]; then fact "lib.$name.status" "$why"; return; fi
	CMD[$name]="$*"
	LIBS+=("$name")
}
have() { [ -x "$1" ] && echo "" || echo "$2"; }
client openssl "shared OpenSSL ($(openssl version | cut -d' ' -f1-2), libssl.so.3)" \
	"$(have "$CL/bench_tls_openssl" "not built (libssl-dev)")" "$CL/bench_tls_openssl"
client boringssl "BoringSSL (android-boringssl, libssl.so.0)" \
	"$(have "$CL/bench_tls_boringssl" "not built (android-boringssl)")" "$CL/bench_tls_boringssl"
client gnutls "GnuTLS $(pkg-config --modversion gnutls 2>/dev/null) (shared)" \
	"$(have "$CL/bench_tls_gnutls" "not built (libgnutls28-dev)")" "$CL/bench_tls_gnutls"
why=
if command -v go >/dev/null; then
	GOCACHE="$BUILD/go-cache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS='' \
		go build -o "$WORK/goclient" "$SRC/tools/bench_tls/client.go" >>"$LOG" 2>&1 ||
		why="go build failed"
else
	why="golang-go is not installed"
fi
client go "Go crypto/tls ($(go version 2>/dev/null | cut -d' ' -f3), in the executable)" \
	"$why" "$WORK/goclient"
client node "node $(node --version 2>/dev/null) (OpenSSL $(node -p process.versions.openssl \
	2>/dev/null) in the executable)" "$(command -v node >/dev/null || echo "nodejs is not \
installed")" node "$SRC/tools/bench_tls/client.js"

# ---------------------------------------------------------------- the server
NETNS=ecap-bench-tls-$$
if ! ip netns add "$NETNS" 2>>"$LOG" || ! ip -n "$NETNS" link set lo up 2>>"$LOG"; then
	NETNS=
	echo "bench_tls_libs.sh: cannot create a network namespace" >&2
	exit 2
fi
NX=(ip netns exec "$NETNS")
PORT=4433
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >>"$LOG" 2>&1
mkdir "$WORK/hidden"
cp "$(ldd "$(command -v openssl)" | awk '/libssl.so/ { print $3 }')" "$WORK/hidden/" || exit 2
# Its stdin is a pipe that stays open and empty: at the end of a file (/dev/null) s_server
# at times writes an empty record and closes the session it serves.
mkfifo "$WORK/server.in"
exec {SIN}<>"$WORK/server.in"
LD_LIBRARY_PATH=$WORK/hidden "${NX[@]}" openssl s_server -accept "127.0.0.1:$PORT" \
	-cert "$WORK/cert.pem" -key "$WORK/key.pem" -quiet >/dev/null 2>>"$WORK/server.err" \
	<&"$SIN" &
SPID=$!
PIDS+=("$SPID")
for _ in $(seq 100); do
	grep -q "libssl.so.3" "/proc/$SPID/maps" 2>/dev/null && break
	sleep 0.05
done
sleep 0.3
rm -f "$WORK"/hidden/libssl.so*
grep -q "$WORK/hidden/libssl.so.3 (deleted)" "/proc/$SPID/maps" ||
	{ echo "bench_tls_libs.sh: the server does not run on the hidden libssl copy" >&2; exit 1; }

# ---------------------------------------------------------------- the runs
start_rec() { # DIR [ARG]
	"${NX[@]}" "$REC" -i lo --store "$1" ${2:+"$2"} "tcp port $PORT" >/dev/null \
		2>"$WORK/rec.err" </dev/null &
	RPID=$!
	PIDS+=("$RPID")
	for _ in $(seq 300); do
		grep -q 'recording on' "$WORK/rec.err" && return 0
		kill -0 "$RPID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$WORK/rec.err" >&2
	echo "bench_tls_libs.sh: ecap-rec did not start" >&2
	exit 1
}
rec_cpu() { [ -n "$RPID" ] && $PY procstat "$RPID" | cut -d' ' -f1 || echo 0; }

# one RUN WAY LIB MODE: one client run; appends a line to the results. The recorder's CPU is
# sampled before the exec, when the client says "start" (its probes attached, its first
# session done) and DRAIN seconds after the client's end (the ring drains every 100 ms).
one() {
	local run=$1 way=$2 lib=$3 mode=$4 args c0 c1 c2 line out='' o cp fd
	case "$mode" in handshakes) args="$NHS" ;; writes) args="$NWR $SIZE" ;; esac
	o=$(others)
	rm -f "$WORK/fifo"; mkfifo "$WORK/fifo"
	c0=$(rec_cpu)
	# shellcheck disable=SC2086
	"${NX[@]}" ${CMD[$lib]} "$PORT" "$mode" $args >"$WORK/fifo" 2>>"$LOG" </dev/null &
	cp=$!
	PIDS+=("$cp")
	exec {fd}<"$WORK/fifo"
	read -r -u "$fd" line && [ "$line" = start ] && c1=$(rec_cpu) && read -r -u "$fd" out
	exec {fd}<&-
	wait "$cp" || out=''
	mapfile -t PIDS < <(forget "$cp")
	if [ -z "$out" ]; then
		fact "fail.$lib.$mode.$way.$run" "the client failed; see the log"
		say "$lib $mode under $way: the client failed"
		return
	fi
	[ "$way" = none ] || sleep "$DRAIN"
	c2=$(rec_cpu)
	# RUN WAY LIB MODE N CPU_US WALL_US REC_START_S REC_LOOP_S OTHERS
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$way" "$lib" "$mode" "${out// /$'\t'}" \
		"$(awk -v a="$c0" -v b="$c1" -v c="$c2" 'BEGIN { printf "%.6f\t%.6f", b - a, c - b }')	$o" \
		>>"$RES"
}

# way RUN WAY: every client in both modes, WAY being "none" (no recorder), "capture"
# (ecap-rec --no-tls: packets only, no probe) or "ecap" (ecap-rec with its TLS probes).
way() {
	local run=$1 w=$2 lib mode c0
	say "run $run/$RUNS, $w"
	if [ "$w" != none ]; then
		start_rec "$WORK/store" "$([ "$w" = capture ] && echo --no-tls)"
		# The recorder's CPU with no traffic, for comparison with what a session costs it.
		c0=$(rec_cpu); sleep 1
		fact "idle.$w.$run" "$(awk -v a="$(rec_cpu)" -v b="$c0" 'BEGIN { print a - b }')"
	fi
	for lib in "${LIBS[@]}"; do
		for mode in handshakes writes; do one "$run" "$w" "$lib" "$mode"; done
	done
	if [ "$w" != none ]; then
		stop_pid "$RPID" INT
		RPID=''
		if "$LS" --json "$WORK/store" >"$WORK/ls.json" 2>>"$LOG"; then
			fact "sessions.$w.$run" "$($PY json "$WORK/ls.json" tls_sessions)"
			fact "secrets.$w.$run" "$($PY json "$WORK/ls.json" secrets)"
		fi
		grep "tls: watching" "$WORK/rec.err" >>"$LOG"
		rm -rf "$WORK/store"
	fi
}

# The three ways take turns in a different order in each run.
WAYS=(none capture ecap)
for r in $(seq "$RUNS"); do
	for k in 0 1 2; do way "$r" "${WAYS[$(((r + k) % 3))]}"; done
done
fact expected.sessions $((${#LIBS[@]} * (NHS + 2)))
fact loadavg.end "$(cut -d' ' -f1-3 /proc/loadavg)"
fact elapsed $(($(date +%s) - T0))

rc=0
python3 "$SRC/tools/bench_tls_report.py" "$RES" "$FACTS" "$WORK/section.md" || rc=1
# The section replaces its previous version (up to the next section), or is appended.
python3 - "$OUT" "$WORK/section.md" <<'PYEOF' || rc=1
import re, sys
out, sec = sys.argv[1], open(sys.argv[2]).read()
try:
    text = open(out).read()
except FileNotFoundError:
    text = ''
m = re.search(r'^## 7\. TLS libraries.*?(?=^## |\Z)', text, re.M | re.S)
text = text[:m.start()] + sec + text[m.end():] if m else text.rstrip('\n') + '\n\n' + sec
open(out, 'w').write(text)
PYEOF
say "section written to $OUT"
exit $rc
