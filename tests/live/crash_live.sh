# SPDX-License-Identifier: GPL-2.0-only
# crash_live.sh - SIGKILL while recording live: a recorder on lo under a steady HTTP load is
# killed with kill -9 at random moments, several times, each time restarted on the same store.
# After each kill, before the restart, the committed chunks are snapshotted (rows and a SHA-1
# of their bytes). At the end: every snapshotted chunk is still indexed at the same place with
# the same bytes, ecap-fsck is clean, the whole store exports and tshark reads it, and after
# the last SIGTERM no filter of ours is left on lo. CRASH_LIVE_KILLS sets the number of kills.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl python3

CHECK="$ECAP_SRC/tests/integration/crash_check.py"
KILLS=${CRASH_LIVE_KILLS:-4}
PORT=$(free_port)
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$ECAP_SRC" >"$T/http.log" 2>&1 &
cleanup_pid "$!"
wait_port "$PORT"
# the load: requests for a few files in a loop, bounded to the kills' time (3 s each at most)
(
	end=$((SECONDS + 30 + 4 * KILLS))
	while [ $SECONDS -lt $end ]; do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/README.md" || true
		curl -s -o /dev/null "http://127.0.0.1:$PORT/schema/store.c" || true
	done
) &
cleanup_pid "$!"

S="$T/store"
: >"$T/snap"
for k in $(seq "$KILLS"); do
	rec_start "$T/rec$k.log" -i lo --store "$S" --no-tls --chunk-size 64K
	sleep "$(python3 -c 'import random; print(round(random.uniform(1.2, 3.0), 2))')"
	kill -9 "$REC_PID"
	wait "$REC_PID" 2>/dev/null || true
	python3 "$CHECK" snap "$S" "$T/snap.new" "$T/snap" || fail "snapshot after kill $k"
	mv "$T/snap.new" "$T/snap"
	info "kill $k: $(wc -l <"$T/snap") committed chunks so far"
done
rec_start "$T/rec-last.log" -i lo --store "$S" --no-tls --chunk-size 64K
sleep 1.5
rec_stop
assert_no_filters lo
assert_ge 1 "$(wc -l <"$T/snap")" "committed chunks before the kills"
python3 "$CHECK" verify "$S" "$T/snap" >"$T/verify.log" || fail "$(cat "$T/verify.log")"
"$ECAP_FSCK" "$S" >"$T/fsck.log" || fail "ecap-fsck after $KILLS kills: $(cat "$T/fsck.log")"
"$ECAP_EXPORT" --store "$S" -o "$T/all.pcapng" 2>"$T/export.log" ||
	fail "export after the kills: $(cat "$T/export.log")"
N=$(tshark -r "$T/all.pcapng" 2>/dev/null | wc -l)
assert_eq "$(sql "$S" 'SELECT sum(packets) FROM chunks')" "$N" "packets exported vs indexed"
info "$KILLS kills survived; $(wc -l <"$T/snap") committed chunks intact; $N packets export"
