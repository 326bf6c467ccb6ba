#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# damaged_store.sh - a hostile or damaged store: clear errors naming the file and offset, no
# crash, and the rest of the store still exports. On copies of one store (6 segments of
# 64 KiB chunks):
#   - a foreign file in the store directory: ecap-fsck names it; export is unaffected;
#   - an index row pointing past the end of its segment (sqlite3 UPDATE): ecap-fsck names the
#     row, ecap-export exits 1 naming the chunk and writes every other packet;
#   - a segment whose frame lengths lie (a metadata frame's size field grown by 1000, another
#     set to 0xfffffff0, a data frame's length in a metadata header): the same;
#   - many chunks unreadable: ecap-export names the first 20, counts them all;
#   - a truncated index.db: ecap-fsck says to rebuild, readers fail with a message (no crash),
#     ecap-fsck --rebuild recreates it from the segments and everything exports again.
. "$ECAP_SRC/tests/lib.sh"
need_cmd sqlite3 python3

cd "$T"
"$ECAP_BUILD/tools/gen_traffic" --bytes 8000000 --seed 3 -o in.pcap 2>/dev/null
"$ECAP_REC" --replay in.pcap --store S --chunk-size 64K --segment-size 1M -q ||
	fail "building the store"
total=$(sqlite3 S/index.db 'select sum(packets) from chunks')

epbs() { # packets in a pcapng file
	python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
o = n = 0
while o + 12 <= len(d):
    t, l = struct.unpack_from('<II', d, o)
    if l < 12:
        break
    n += t == 6
    o += l
print(n)
EOF
}

# Copy the store, apply damage, and check fsck (exit 1, output matching a pattern) and an
# export of everything (exit status, the packets it must still hold; - for none to check).
check() { # name fsck-pattern export-status packets-expected
	local name=$1 pat=$2 want_rc=$3 want_pkts=$4 rc=0
	"$ECAP_FSCK" "$name" > "$name.fsck" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || fail "$name: ecap-fsck exited $rc, expected 1: $(cat "$name.fsck")"
	grep -qE "$pat" "$name.fsck" || fail "$name: ecap-fsck does not say '$pat': $(cat "$name.fsck")"
	rc=0
	"$ECAP_EXPORT" --store "$name" -q -o "$name.pcapng" 2> "$name.err" || rc=$?
	[ "$rc" -eq "$want_rc" ] ||
		fail "$name: ecap-export exited $rc, expected $want_rc: $(cat "$name.err")"
	[ "$want_pkts" = - ] ||	assert_eq "$want_pkts" "$(epbs "$name.pcapng")" "$name: packets exported"
	info "$name: fsck: $(head -1 "$name.fsck")"
	[ -s "$name.err" ] && info "$name: export: $(head -1 "$name.err")"
	return 0
}

chunk_at() { # store segment n -> "offset packets" of the segment's n-th chunk (0-based)
	sqlite3 -separator ' ' "$1/index.db" "select offset, packets from chunks where segment = $2
		order by offset limit 1 offset $3"
}

patch_u32() { # file offset value
	python3 -c 'import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); f.write(struct.pack("<I", int(sys.argv[3], 0)))' "$@"
}

# a foreign file (with the store's private mode, so readers accept the directory)
cp -a S foreign
(umask 077; echo "not ours" > foreign/notes.txt)
check foreign "foreign/notes.txt: not a file of an ecap store" 0 "$total"

# an index row pointing past the end of its segment
cp -a S pastend
read -r off pk < <(chunk_at pastend 2 0)
size=$(stat -c %s pastend/seg-00000002.ecap)
past=$((size + 4096))
sqlite3 pastend/index.db "update chunks set offset = $past where segment = 2 and offset = $off"
check pastend "seg-00000002.ecap: offset $past: index row of chunk [0-9]+ points at no valid" \
	1 $((total - pk))
grep -q "seg-00000002.ecap: offset $past" pastend.err ||
	fail "pastend: export does not name the chunk"

# frame lengths that lie: a meta frame 1000 bytes longer than it is, one of 4 GiB, and a
# data frame length changed in a metadata header
cp -a S lying
read -r off1 pk1 < <(chunk_at lying 3 2)
len1=$(python3 -c 'import struct, sys
f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[2]) + 4)
print(struct.unpack("<I", f.read(4))[0])' lying/seg-00000003.ecap "$off1")
patch_u32 lying/seg-00000003.ecap $((off1 + 4)) $((len1 + 1000))
read -r off2 pk2 < <(chunk_at lying 4 1)
patch_u32 lying/seg-00000004.ecap $((off2 + 4)) 0xfffffff0
read -r off3 pk3 < <(chunk_at lying 5 3)
patch_u32 lying/seg-00000005.ecap $((off3 + 8 + 44)) 17
check lying "seg-00000003.ecap: offset $off1: metadata body length disagrees" 1 \
	$((total - pk1 - pk2 - pk3))
grep -q "seg-00000004.ecap: offset $off2: metadata frame length is implausible" lying.fsck ||
	fail "lying: fsck does not name the 4 GiB frame: $(cat lying.fsck)"
grep -q "seg-00000005.ecap: offset $off3: metadata checksum mismatch" lying.fsck ||
	fail "lying: fsck does not name the changed data length: $(cat lying.fsck)"
[ "$(grep -c 'unreadable' lying.err)" -eq 3 ] ||
	fail "lying: export names $(grep -c unreadable lying.err) bad chunks, not 3"
# many unreadable chunks: the first 20 are named, the rest only counted in the summary
cp -a S many
sqlite3 many/index.db 'update chunks set offset = offset + 100000000 where segment >= 2'
nbad=$(sqlite3 many/index.db 'select count(*) from chunks where segment >= 2')
[ "$nbad" -gt 20 ] || fail "many: only $nbad chunks to damage"
check many "index row of chunk [0-9]+ points at no valid chunk" 1 \
	"$(sqlite3 many/index.db 'select sum(packets) from chunks where segment = 1')"
assert_eq 20 "$(grep -c 'unreadable' many.err)" "many: unreadable chunks named"
grep -q "further unreadable chunks are counted" many.err ||
	fail "many: the 20th line does not say the rest are only counted: $(cat many.err)"
grep -q "^ecap-export: $nbad chunks could not be read" many.err ||
	fail "many: the summary does not count all $nbad chunks: $(tail -3 many.err)"

# a rebuild keeps every chunk around the damage (the scan resynchronises after it)
"$ECAP_FSCK" --rebuild -q lying 2> lying.rebuild || true
assert_eq $((total - pk1 - pk2 - pk3)) \
	"$(sqlite3 lying/index.db 'select sum(packets) from chunks')" "lying: packets indexed by a rebuild"

# a truncated index
cp -a S truncated
truncate -s $(( $(stat -c %s truncated/index.db) / 2 )) truncated/index.db
check truncated "no readable index .* run ecap-fsck --rebuild" 1 -
grep -q "truncated/index.db" truncated.err ||
	fail "truncated: export does not name the index: $(cat truncated.err)"
rc=0
"$ECAP_LS" truncated > /dev/null 2> ls.err || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "truncated: ecap-ls exited $rc: $(cat ls.err)"
"$ECAP_FSCK" --rebuild -q truncated || fail "truncated: rebuild failed"
"$ECAP_FSCK" -q truncated || fail "truncated: not clean after the rebuild"
"$ECAP_EXPORT" --store truncated -q -o truncated.pcapng ||
	fail "truncated: export after the rebuild"
assert_eq "$total" "$(epbs truncated.pcapng)" "truncated: packets exported after the rebuild"
info "damaged stores: $total packets in the intact store; every damage named by ecap-fsck," \
	"the rest exported"
