#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# full_disk.sh - a store on a filesystem that fills up: a 24 MiB tmpfs mounted by the test,
# and a generated capture of about 80 MB replayed into it.
#  (a) without retention: ecap-rec stops writing before the index has no room left, exits 3
#      with one message naming the store and "No space left", counts the packets it could
#      not store; the store stays whole: ecap-fsck is clean, the next ecap-rec run opens it
#      (recovery), ecap-export and ecap-ls read it, and what was stored is a prefix of the
#      input (packet count and last timestamp agree with the input's first N packets).
#  (b) with --max-size 16M: the same replay runs to its end and exits 0, the filesystem
#      never fills (its use is sampled while the replay runs) and the store ends within
#      the limit, clean.
# Needs root (mount).
. "$ECAP_SRC/tests/lib.sh"
need_root
need_cmd sqlite3 python3 mount umount
GEN="$ECAP_BUILD/tools/gen_traffic"

cd "$T"
"$GEN" --bytes 80000000 --seed 11 -o big.pcap 2>/dev/null
python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<IHHiIII",
	0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))' > empty.pcap
mkdir mnt
mount -t tmpfs -o size=24m,mode=0700 ecap-full-disk mnt || skip "cannot mount a tmpfs"
cleanup_cmd "umount '$T/mnt'"

# ---- (a) no retention -------------------------------------------------------------------
S="$T/mnt/a"
rc=0
"$ECAP_REC" --replay big.pcap --store "$S" -q 2> a.err || rc=$?
info "(a) exit $rc: $(cat a.err)"
assert_eq 3 "$rc" "(a) exit status of a replay that filled the disk"
grep -q "$S/.*No space left on device" a.err ||
	fail "(a) no message naming the store and 'No space left': $(cat a.err)"
lost=$(sed -n 's/.*: \([0-9]*\) packets could not be stored.*/\1/p' a.err)
[ -n "$lost" ] && [ "$lost" -gt 0 ] || fail "(a) the message does not count the packets not stored"
[ "$(grep -c 'No space left' a.err)" -eq 1 ] ||
	fail "(a) the disk-full error is repeated: $(cat a.err)"
"$ECAP_FSCK" "$S" > fsck-a.txt ||
	fail "(a) ecap-fsck right after the failure: $(head -5 fsck-a.txt)"
"$ECAP_REC" --replay empty.pcap --store "$S" -q 2> recover.err ||
	fail "(a) the next ecap-rec run cannot open the full store: $(cat recover.err)"
"$ECAP_FSCK" "$S" > fsck-a2.txt || fail "(a) ecap-fsck after recovery: $(head -5 fsck-a2.txt)"
"$ECAP_EXPORT" --store "$S" -q -o "$T/a.pcapng" || fail "(a) ecap-export of the full store"
"$ECAP_LS" "$S" > ls-a.txt || fail "(a) ecap-ls of the full store"
stored=$(sqlite3 "$S/index.db" 'select coalesce(sum(packets), 0) from chunks')
assert_ge 1000 "$stored" "(a) packets stored before the disk was full"
exported=$(python3 - "$T/a.pcapng" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
o = n = 0
while o + 12 <= len(d):
    t, l = struct.unpack_from('<II', d, o)
    n += t == 6
    o += l
print(n)
EOF
)
assert_eq "$stored" "$exported" "(a) packets exported from the full store"
# the stored packets are the input's first ones, chunk by chunk (crash_check.py prefix)
prefix=$("$GEN" --packets "$stored" --seed 11 2>/dev/null |
	python3 "$ECAP_SRC/tests/integration/crash_check.py" prefix "$S" 0 9223372036854775807) ||
	fail "(a) the stored packets are not the input's first ones"
assert_eq "$stored" "$prefix" "(a) stored packets that are the input's first ones"
used_a=$(df -k --output=used mnt | tail -1)
info "(a) stored $stored packets, $lost not stored, $((used_a / 1024)) MiB of 24 used;" \
	"fsck clean, export and ls work"
rm -rf "$S" "$T/a.pcapng"

# ---- (b) retention keeps the store inside its limit -----------------------------------
S="$T/mnt/b"
"$ECAP_REC" --replay big.pcap --store "$S" --max-size 16M -q 2> b.err &
rec=$!
cleanup_pid "$rec"
peak=0
while kill -0 "$rec" 2>/dev/null; do
	u=$(df -k --output=used mnt | tail -1)
	[ "$u" -gt "$peak" ] && peak=$u
	sleep 0.02
done
rc=0
wait "$rec" || rc=$?
assert_eq 0 "$rc" "(b) exit status with --max-size 16M ($(cat b.err))"
"$ECAP_FSCK" "$S" > fsck-b.txt || fail "(b) ecap-fsck: $(head -5 fsck-b.txt)"
size=$(du -sk "$S" | cut -f1)
[ "$size" -le $((16 * 1024)) ] || fail "(b) the store ends at $size KiB, above 16 MiB"
[ "$peak" -lt $((24 * 1024)) ] || fail "(b) the filesystem filled up ($peak KiB used)"
nseg=$(ls "$S" | grep -c "^seg-" || true)
"$ECAP_EXPORT" --store "$S" -q -o /dev/null || fail "(b) ecap-export"
info "(b) replay of 80 MB into a 24 MiB filesystem with --max-size 16M: exit 0, peak use" \
	"$((peak / 1024)) MiB, store $((size / 1024)) MiB in $nseg segments at the end, fsck clean"
