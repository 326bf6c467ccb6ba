# SPDX-License-Identifier: GPL-2.0-only
# full_disk.sh - live recording into a store on a filesystem that fills up: an 80 MiB tmpfs
# mounted here, lo under a steady HTTP load of incompressible bytes (curl, rate-limited; on
# lo a transfer runs at about twice curl's --limit-rate). A load at a fixed rate against fixed
# space depends on the host's speed both ways (a store needs two or three chunks after a
# deletion before it says 'room again', and a loaded machine refilled the freed space within
# that; slower, small chunks fit in the last free pages while the filler is there, and the
# store says 'full' and 'room again' by turns), so the heavy load only fills the disk: it
# stops before the deletion, and a light one (light_start, a few MiB in the seconds the test
# waits) shows the store resuming. What follows is checked on the store's own counts: the
# 'room again' line names the packets lost so far, and the last status line must name no
# more (nothing lost once there was room), every flow seen is indexed, the export holds every
# indexed packet.
#  (a) no retention: a filler file leaves the store a few MiB. The recorder says "store full"
#      (once, then at most once per 5 s status interval while it stays full), keeps running
#      and counts what it could not store; once the filler is deleted it says so and stores
#      packets again by itself (newer chunks, more packets). SIGTERM: exit 0; every flow seen
#      is indexed (the flows of the refused chunks moved on), ecap-fsck is clean and the
#      store exports every indexed packet.
#  (b) --max-size 16M beside a 14 MiB filler: more than the free space is recorded, retention
#      keeps the store inside the limit (plus one segment) all along, and no packet is lost.
#  (c) a filler that takes the disk to the last byte, also the 4 MiB the writer keeps for the
#      index: the recorder keeps running (an index commit that finds no room is rolled back
#      and its chunks are indexed from the segments later); after the deletion it resumes,
#      every flow is indexed, ecap-fsck is clean and the store exports.
# The recorder records only the test's port (PCAP-FILTER): other traffic on lo does not count.
# Needs root (mount).
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl mount umount df du

MNT="$T/mnt"
mkdir "$MNT" "$T/www"
mount -t tmpfs -o size=80m,mode=0700 ecap-live-full "$MNT" || skip "cannot mount a tmpfs"
cleanup_cmd "umount '$MNT'"
head -c 8000000 /dev/urandom >"$T/www/blob"
head -c 131072 /dev/urandom >"$T/www/small"
PORT=$(free_port)
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$T/www" >"$T/http.log" 2>&1 &
cleanup_pid "$!"
wait_port "$PORT"

# load_start SECONDS PAUSE CURL-ARGS...: curl CURL-ARGS again and again, PAUSE seconds apart
# (0: none), for at most SECONDS; LOAD_PID. load_stop ends its curl too (no transfer goes on
# after it).
load_start() {
	local secs=$1 pause=$2
	shift 2
	(
		trap 'kill "$c" 2>/dev/null; exit 0' TERM
		end=$((SECONDS + secs))
		while [ $SECONDS -lt $end ]; do
			curl -s -o /dev/null --max-time 2 "$@" &
			c=$!
			wait "$c" || true
			[ "$pause" = 0 ] && continue
			sleep "$pause" &
			c=$!
			wait "$c" || true
		done
	) &
	LOAD_PID=$!
	cleanup_pid "$LOAD_PID"
}
# heavy_start SECONDS RATE: the blob at about RATE. (Each new connection on lo starts with a
# burst as large as the socket buffers, whatever the rate: a light load is light_start's.)
heavy_start() { load_start "$1" 0 --limit-rate "$2" "http://127.0.0.1:$PORT/blob"; }
# light_start: after the deletion, 128 KiB every 0.2 s at most (at most 0.7 MB/s on a quiet
# machine, less on a loaded one) for 30 s at most, against 33 MiB and more freed
light_start() { load_start 30 0.2 "http://127.0.0.1:$PORT/small"; }
load_stop() {
	kill "$LOAD_PID" 2>/dev/null || true
	wait "$LOAD_PID" 2>/dev/null || true
}
free_kib() { df -k --output=avail "$MNT" | tail -1; }
# fill KIB [FILE]: a filler file (filler) that leaves KIB free (an empty one when less is)
fill() {
	local left=$1 avail
	avail=$(free_kib)
	[ "$avail" -gt "$left" ] || avail=$left
	dd if=/dev/zero of="$MNT/${2:-filler}" bs=1K count=$((avail - left)) status=none
}
packets() { sql "$1" "SELECT coalesce(sum(packets), 0) FROM chunks"; }
# notices LOG: the recorder's full and room lines, F and R, one a line
notices() { sed -n 's/^ecap-rec: store full:.*/F/p; s/^ecap-rec: the store has room again.*/R/p' "$1"; }
# lost_at_room LOG FROM: the packets lost so far that the first 'room again' line after line
# FROM names
lost_at_room() {
	tail -n +$(($2 + 1)) "$1" |
		sed -n 's/.*has room again; recording resumed (\([0-9]*\) packets.*/\1/p' | awk 'NR == 1'
}
# lost_settled LOG: once the load has stopped, the packets lost so far as the periodic status
# lines count them, when two in a row name the same count (the load's last chunks refused
# and counted, however slow the machine); at most 25 s
lost_settled() {
	local from i v
	from=$(wc -l <"$1")
	for i in $(seq 250); do
		v=$(tail -n +$((from + 1)) "$1" |
			sed -n 's/^ecap-rec: [0-9]* packets (.*, \([0-9]*\) not stored (store full).*/\1/p' |
			tail -2 | uniq -c)
		[ "$(echo "$v" | awk '{ print $1 }')" = 2 ] && break
		sleep 0.1
	done
	[ "$(echo "$v" | awk '{ print $1 }')" = 2 ] || fail "no two status lines alike in 25 s: $(cat "$1")"
	echo "$v" | awk '{ print $2 }'
}
# lost_final LOG: the packets lost that the last status line counts (0 when it counts none)
lost_final() {
	local n
	n=$(sed -n 's/.*, \([0-9]*\) not stored (store full).*/\1/p' "$1" | tail -1)
	echo "${n:-0}"
}
last_ns() { sql "$1" "SELECT coalesce(max(last_ns), 0) FROM chunks"; }

# ---- (a) no retention: full, then room again --------------------------------------------
S="$MNT/a"
rec_start "$T/a.log" -i lo --store "$S" --no-tls tcp port "$PORT"
fill $((7 * 1024))
info "(a) filler written: $(($(free_kib) / 1024)) MiB left for the store"
heavy_start 60 2M
T_FULL0=$SECONDS
wait_for "$T/a.log" "ecap-rec: store full: [0-9]* packets not stored so far; recording resumes" \
	"$REC_PID" "ecap-rec"
info "(a) full after $((SECONDS - T_FULL0)) s: $(grep "store full" "$T/a.log" | head -1)"
sleep 6 # a second interval: at most one more line while it stays full
kill -0 "$REC_PID" 2>/dev/null || fail "(a) ecap-rec stopped on the full disk"
# the notices, not the status line (its "N not stored (store full)" is a count, not a
# notice): a 'store full' line right after another one only once per 5 s interval, so no
# more than two such repeats in the 7 s or so (near the limit a small chunk may still fit:
# 'room again', then 'full' again, news each time)
FULL_LINES=$(notices "$T/a.log" | grep -c F)
REPEATS=$(notices "$T/a.log" | uniq -c | awk '$2 == "F" { n += $1 - 1 } END { print n + 0 }')
[ "$REPEATS" -le 2 ] ||
	fail "(a) $REPEATS 'store full' lines repeated in about 7 s: $(cat "$T/a.log")"
# so that no chunk fits until the deletion, however small (a load's last packets): a second
# filler leaves less than the 4 MiB the writer keeps for the index (room for its commits)
fill $((3 * 1024)) filler2
for i in $(seq 100); do
	[ "$(notices "$T/a.log" | tail -1)" = F ] && break
	sleep 0.1
done
[ "$(notices "$T/a.log" | tail -1)" = F ] ||
	fail "(a) the store does not say it is full before the deletion: $(cat "$T/a.log")"
load_stop
LOST_BEFORE=$(lost_settled "$T/a.log")
P1=$(packets "$S")
L1=$(last_ns "$S")
T_FREE=$(date +%s%N)
T_FREE_MS=$(($(date +%s%N) / 1000000))
LINES=$(wc -l <"$T/a.log")
rm "$MNT/filler" "$MNT/filler2"
light_start
# (not wait_for: only lines after the deletion count)
for i in $(seq 200); do
	tail -n +$((LINES + 1)) "$T/a.log" | grep -q "the store has room again" && break
	kill -0 "$REC_PID" 2>/dev/null || fail "(a) ecap-rec stopped"
	sleep 0.1
done
tail -n +$((LINES + 1)) "$T/a.log" | grep -q "the store has room again" ||
	fail "(a) no 'room again' line within 20 s of the deletion: $(cat "$T/a.log")"
RESUME_MS=$(($(date +%s%N) / 1000000 - T_FREE_MS))
LOST_AT_ROOM=$(lost_at_room "$T/a.log" "$LINES")
sleep 3 # chunk age and commit interval: 1 s each
load_stop
sleep 0.5
P2=$(packets "$S")
L2=$(last_ns "$S")
rec_stop
info "(a) $(grep "stopped:" "$T/a.log")"
LOST=$(lost_final "$T/a.log")
[ "$LOST" -gt 0 ] || fail "(a) the final status line counts no lost packets"
assert_ge 1 "$P1" "(a) packets stored before the disk was full"
# with room (33 MiB and more) and the light load, the store loses nothing more: as its own
# counts say (from the deletion to 'room again', and to the end), and no 'store full' line
# after the 'room again'
assert_eq "$LOST_BEFORE" "$LOST_AT_ROOM" "(a) packets lost at 'room again' (those at the deletion)"
assert_eq "$LOST_AT_ROOM" "$LOST" "(a) packets lost at the end (those at 'room again')"
AGAIN=$(tail -n +$((LINES + 1)) "$T/a.log" | sed -n '/has room again/,$p' |
	grep -c "ecap-rec: store full:" || true)
[ "$AGAIN" = 0 ] || fail "(a) the store said 'full' again after the deletion: $(cat "$T/a.log")"
# the flows of refused chunks moved on to later ones: every flow the recorder saw is indexed
FLOWS=$(sed -n 's/.* \([0-9]*\) flows,.*/\1/p' "$T/a.log" | tail -1)
assert_eq "$FLOWS" "$(sql "$S" "SELECT count(*) FROM flows")" "(a) flows indexed vs seen"
[ "$P2" -gt "$P1" ] || fail "(a) no packet stored after the filler was deleted ($P1 -> $P2)"
[ "$L2" -gt "$T_FREE" ] || fail "(a) the newest chunk ($L2) is older than the deletion ($T_FREE)"
[ "$L1" -lt "$T_FREE" ] || fail "(a) chunks newer than the deletion before it (test is void)"
"$ECAP_FSCK" "$S" >"$T/fsck-a.log" || fail "(a) ecap-fsck: $(head -5 "$T/fsck-a.log")"
"$ECAP_EXPORT" --store "$S" -q -o "$T/a.pcapng" || fail "(a) export"
PF=$(packets "$S")
assert_eq "$PF" "$(tshark -r "$T/a.pcapng" 2>/dev/null | wc -l)" "(a) packets exported vs indexed"
info "(a) stored $P1 packets until full, $PF at the end; $LOST not stored while full;" \
	"$FULL_LINES 'store full' lines; 'room again' $RESUME_MS ms after the deletion; fsck clean"
rm -rf "$S" "$T/a.pcapng"

# ---- (b) retention inside the limit -----------------------------------------------------
S="$MNT/b"
fill $((26 * 1024))
rec_start "$T/b.log" -i lo --store "$S" --no-tls --max-size 16M tcp port "$PORT"
heavy_start 9 6M
peak=0
while kill -0 "$LOAD_PID" 2>/dev/null; do
	# (retention may delete a segment between du's listing and its look at it: du says so,
	# exits 1, and still counts the rest)
	u=$({ du -sk "$S" 2>/dev/null || true; } | cut -f1)
	[ "$u" -gt "$peak" ] && peak=$u
	sleep 0.1
done
load_stop
sleep 1
kill -0 "$REC_PID" 2>/dev/null || fail "(b) ecap-rec stopped"
rec_stop
grep -q "store full" "$T/b.log" && fail "(b) packets lost with retention: $(cat "$T/b.log")"
SEGS=$(sql "$S" "SELECT count(*) FROM segments")
DELETED=$(sql "$S" "SELECT coalesce(min(id), 1) - 1 FROM segments")
[ "$DELETED" -ge 1 ] || fail "(b) retention deleted nothing: the load was too small (test is void)"
# the limit plus one segment (max-size / 8) and the index
[ "$peak" -le $((16 * 1024 + 2 * 1024 + 1024)) ] ||
	fail "(b) the store reached $peak KiB, above 16 MiB + one 2 MiB segment + 1 MiB index"
"$ECAP_FSCK" "$S" >"$T/fsck-b.log" || fail "(b) ecap-fsck: $(head -5 "$T/fsck-b.log")"
"$ECAP_EXPORT" --store "$S" -q -o /dev/null || fail "(b) export"
info "(b) --max-size 16M on $((26)) MiB free: peak $((peak / 1024)) MiB, $DELETED segments" \
	"deleted, $SEGS kept, no loss; $(grep "stopped:" "$T/b.log")"
rm -rf "$S" "$MNT/filler"

# ---- (c) the disk fills up to the last byte: no room for the index either ----------------
S="$MNT/c"
rec_start "$T/c.log" -i lo --store "$S" --no-tls tcp port "$PORT"
heavy_start 60 1M
sleep 1.5
dd if=/dev/zero of="$MNT/filler" bs=64K status=none 2>/dev/null || true # until ENOSPC
wait_for "$T/c.log" "ecap-rec: store full:" "$REC_PID" "ecap-rec"
sleep 3
kill -0 "$REC_PID" 2>/dev/null || fail "(c) ecap-rec stopped on the full disk: $(cat "$T/c.log")"
load_stop
LOST_BEFORE=$(lost_settled "$T/c.log")
LINES=$(wc -l <"$T/c.log")
rm "$MNT/filler"
light_start
for i in $(seq 200); do
	tail -n +$((LINES + 1)) "$T/c.log" | grep -q "the store has room again" && break
	kill -0 "$REC_PID" 2>/dev/null || fail "(c) ecap-rec stopped: $(cat "$T/c.log")"
	sleep 0.1
done
LOST_AT_ROOM=$(lost_at_room "$T/c.log" "$LINES")
sleep 2
load_stop
sleep 0.5
rec_stop
tail -n +$((LINES + 1)) "$T/c.log" | grep -q "the store has room again" ||
	fail "(c) no 'room again' line within 20 s of the deletion: $(cat "$T/c.log")"
assert_eq "$LOST_BEFORE" "$LOST_AT_ROOM" "(c) packets lost at 'room again' (those at the deletion)"
assert_eq "$LOST_AT_ROOM" "$(lost_final "$T/c.log")" "(c) packets lost at the end (those at 'room again')"
FLOWS=$(sed -n 's/.* \([0-9]*\) flows,.*/\1/p' "$T/c.log" | tail -1)
assert_eq "$FLOWS" "$(sql "$S" "SELECT count(*) FROM flows")" "(c) flows indexed vs seen"
"$ECAP_FSCK" "$S" >"$T/fsck-c.log" || fail "(c) ecap-fsck: $(head -5 "$T/fsck-c.log")"
"$ECAP_EXPORT" --store "$S" -q -o "$T/c.pcapng" || fail "(c) export"
assert_eq "$(packets "$S")" "$(tshark -r "$T/c.pcapng" 2>/dev/null | wc -l)" \
	"(c) packets exported vs indexed"
BEHIND=no
grep -q "indexed now" "$T/c.log" && BEHIND=yes
info "(c) filled to the last byte: $(grep "stopped:" "$T/c.log"); index commit refused and" \
	"caught up later: $BEHIND; lost $LOST_AT_ROOM while full, none after; fsck clean"
