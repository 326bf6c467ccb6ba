#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# crash_replay.sh - SIGKILL the recorder at random moments while it replays a steady load
# (gen_traffic --bytes 2000000000 --seed N | ecap-rec --replay - --store S), again and again
# into the same store, and check after each kill what a forensic store promises:
#   - right after the kill, ecap-verify finds the seal chain whole or with a torn tail
#     (exit 0 or 4: a crash is never reported as tampering), and after recovery whole;
#   - before the restart, every committed chunk row (id, segment, offset, length) and a
#     SHA-1 of the chunk's bytes are snapshotted (crash_check.py snap);
#   - the next ecap-rec run recovers the store (an empty capture, so that the check sees the
#     recovered store and not a newly killed one); then ecap-fsck is clean, every
#     snapshotted chunk is still indexed at the same place with byte-identical bytes, and
#     ecap-export reads the run's slice (exit 0);
#   - the packets stored for the run are exactly the first N packets of its input, no hole
#     (crash_check.py prefix against gen_traffic --packets N of the same seed);
#   - figures per kill: packets stored, chunks that recovery re-indexed (written, not yet
#     committed), bytes it cut (a torn last chunk), how old the last segment write was.
# Each run has its own input timeline (--start one day after the previous run's), so a
# run's chunks are the ones whose packets lie in its day.
#
# Environment: CRASH_KILLS (default 10), CRASH_BUDGET seconds (default 60: stop killing
# when it is spent, after 3 kills at least), CRASH_MAX_DELAY ms between start and kill
# (default 800), CRASH_ROTATE (start a new store every N kills, so that the checks of a
# long run do not grow with the whole run; default: never), CRASH_STORE (keep the store
# there instead of in the scratch directory; no rotation).
# tools/crash_test.sh runs it in long mode (50 kills and more).
. "$ECAP_SRC/tests/lib.sh"
need_cmd python3 sqlite3 mkfifo

GEN="$ECAP_BUILD/tools/gen_traffic"
CHECK="$ECAP_SRC/tests/integration/crash_check.py"
kills=${CRASH_KILLS:-10}
budget=${CRASH_BUDGET:-60}
max_delay=${CRASH_MAX_DELAY:-800}
S=${CRASH_STORE:-$T/store}
rotate=${CRASH_ROTATE:-0}
[ -n "${CRASH_STORE:-}" ] && rotate=0
day0=1764115200

cd "$T"
python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<IHHiIII",
	0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))' > empty.pcap
mkfifo load.fifo
now_ms() { date +%s%3N; }
t_start=$(now_ms)

printf '# %4s %7s %9s %9s %9s %9s %10s %9s\n' kill after_ms committed reindexed cut_bytes \
	packets last_wr_ms verified >&2
max_cut=0 max_reindexed=0 max_age=0 total_pkts=0 done_kills=0 RANDOM=$$
for k in $(seq 1 "$kills"); do
	elapsed=$(( ($(now_ms) - t_start) / 1000 ))
	if [ "$k" -gt 3 ] && [ "$elapsed" -ge "$budget" ]; then
		info "time budget of ${budget}s spent after $done_kills kills"
		break
	fi
	if [ "$rotate" -gt 0 ] && [ "$k" -gt 1 ] && [ $(((k - 1) % rotate)) -eq 0 ]; then
		"$ECAP_EXPORT" --store "$S" -q -o /dev/null || fail "export of the whole store failed"
		info "store $(( (k - 1) / rotate )) done ($(du -sm "$S" | cut -f1) MiB); a new store"
		rm -rf "$S" snap.txt
	fi
	start=$((day0 + k * 86400))
	t_run=$(now_ms)
	"$GEN" --bytes 2000000000 --seed "$k" --start "$start" > load.fifo 2>/dev/null &
	gen=$!
	cleanup_pid "$gen"
	"$ECAP_REC" --replay - --store "$S" -q < load.fifo 2>>rec.log &
	rec=$!
	delay=$(( 150 + (RANDOM * 32768 + RANDOM) % (max_delay - 150 + 1) ))
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	t_kill=$(now_ms)
	kill -KILL "$rec" 2>/dev/null ||
		fail "kill $k: the recorder ended before it was killed: $(tail -3 rec.log)"
	wait "$rec" 2>/dev/null || true
	kill "$gen" 2>/dev/null || true
	wait "$gen" 2>/dev/null || true

	# what the killed recorder had committed, and when it last wrote a segment (-1: it
	# wrote none)
	last_wr=-1
	newest=$(ls -t "$S"/seg-*.ecap 2>/dev/null | head -1 || true)
	if [ -n "$newest" ] && [ "$(date -r "$newest" +%s%3N)" -ge "$t_run" ]; then
		last_wr=$(( t_kill - $(date -r "$newest" +%s%3N) ))
		[ "$last_wr" -lt 0 ] && last_wr=0
	fi
	# a crash is never tampering: the chain verifies, or has a torn tail (exit 4); a
	# recorder killed before its store had a segment (a loaded host: the kill after 150 ms
	# can come first) has no chain yet either (exit 3, "not a store"), and nothing to verify
	rc=0
	"$ECAP_BUILD/tools/ecap-verify" "$S" > verify.txt 2>&1 || rc=$?
	if [ "$rc" -eq 3 ] && ! compgen -G "$S/seg-*.ecap" >/dev/null; then
		info "kill $k: killed before its first segment: no chain to verify"
		rc=0
	fi
	[ "$rc" -eq 0 ] || [ "$rc" -eq 4 ] ||
		fail "kill $k: ecap-verify after the kill exited $rc: $(tail -3 verify.txt)"
	committed=0
	if [ -f "$S/index.db" ]; then
		python3 "$CHECK" snap "$S" snap.txt snap.txt || fail "kill $k: snapshot failed"
		committed=$(wc -l < snap.txt)
	fi

	# the next run recovers the store
	"$ECAP_REC" --replay empty.pcap --store "$S" -q 2> recover.log ||
		fail "kill $k: recovery run failed: $(cat recover.log)"
	cut=$(sed -n 's/.*: cut \([0-9]*\) damaged or torn bytes.*/\1/p' recover.log |
		awk '{s+=$1} END{print s+0}')
	after=$(sqlite3 "$S/index.db" 'select count(*) from chunks')
	reindexed=$((after - committed))

	"$ECAP_FSCK" -q "$S" > fsck.txt 2>&1 ||
		fail "kill $k: ecap-fsck after recovery: $(head -5 fsck.txt)"
	"$ECAP_BUILD/tools/ecap-verify" "$S" > verify.txt 2>&1 ||
		fail "kill $k: ecap-verify after recovery: $(tail -3 verify.txt)"
	verified=0
	[ -f snap.txt ] && { verified=$(python3 "$CHECK" verify "$S" snap.txt) ||
		fail "kill $k: a committed chunk did not survive"; }
	n=$(sqlite3 "$S/index.db" "select coalesce(sum(packets), 0) from chunks where
		first_ns >= ${start}000000000 and first_ns < $((start + 86400))000000000")
	# exit 1 is "nothing matched": right when the kill came before the first chunk
	rc=0
	"$ECAP_EXPORT" --store "$S" -q --since "@$start" --until "@$((start + 86399))" \
		-o /dev/null 2> export.log || rc=$?
	[ "$rc" -eq $((n > 0 ? 0 : 1)) ] ||
		fail "kill $k: ecap-export exited $rc with $n packets stored: $(cat export.log)"
	if [ "$n" -gt 0 ]; then
		got=$("$GEN" --packets "$n" --seed "$k" --start "$start" 2>/dev/null |
			python3 "$CHECK" prefix "$S" "${start}000000000" "$((start + 86400))000000000") ||
			fail "kill $k: the stored packets are not a prefix of the input"
		assert_eq "$n" "$got" "kill $k: packets checked against the input"
	fi

	printf '# %4d %7d %9d %9d %9d %9d %10d %9d\n' "$k" "$delay" "$committed" \
		"$reindexed" "$cut" "$n" "$last_wr" "$verified" >&2
	[ "$cut" -gt "$max_cut" ] && max_cut=$cut
	[ "$reindexed" -gt "$max_reindexed" ] && max_reindexed=$reindexed
	[ "$last_wr" -gt "$max_age" ] && max_age=$last_wr
	total_pkts=$((total_pkts + n))
	done_kills=$k
done
[ "$done_kills" -ge 3 ] || fail "only $done_kills kills"
"$ECAP_EXPORT" --store "$S" -q -o /dev/null || fail "export of the whole store failed"
"$ECAP_LS" "$S" > ls.txt || fail "ecap-ls failed"
stored=$(du -sm "$S" | cut -f1)
info "crash test: $done_kills SIGKILLs survived; $total_pkts packets stored, all a prefix of"
info "  their run's input; every committed chunk byte-identical after recovery; ecap-fsck clean"
info "  each time. At most $max_cut bytes of a torn chunk cut and $max_reindexed written-but-"
info "  uncommitted chunks re-indexed per kill; last segment write at most ${max_age} ms before"
info "  the kill. Store: ${stored} MiB."
