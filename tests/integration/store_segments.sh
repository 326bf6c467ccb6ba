#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# store_segments.sh - the store's on-disk contract through the real binaries, on generated
# traffic replayed with small chunks and segments:
#  - stock tools read the evidence: lz4 -dc SEGMENT... | tshark -r - shows every packet;
#  - ecap-fsck is clean, then names file and offset of a flipped byte and of a torn tail;
#  - a writer's next open cuts the torn tail; the damaged chunk alone is lost;
#  - ecap-fsck --rebuild recreates the index from segments alone with the same answers.
# With ECAP_BUFFERED_WRITES=0 (integration.store_segments_padded) the replay writes as live
# recording does, each chunk padded to a page boundary, and an export of everything must
# reproduce the capture, packet by packet.
. "$ECAP_SRC/tests/lib.sh"
need_cmd lz4 tshark sqlite3

cd "$T"
"$ECAP_BUILD/tools/gen_traffic" -o in.pcap --bytes 6000000 --seed 7 2>/dev/null
NPKT=$(tshark -r in.pcap 2>/dev/null | wc -l)
"$ECAP_REC" -q --replay in.pcap --store S --chunk-size 64K --segment-size 1M ||
	fail "replay failed"
NSEG=$(ls S/seg-*.ecap | wc -l)
info "$NPKT packets in $NSEG segments"
assert_ge 3 "$NSEG" "segments"
assert_eq "$NPKT" "$(sqlite3 S/index.db 'select sum(packets) from chunks')" "indexed packets"
SEGBYTES=$(cat S/seg-*.ecap | wc -c)
CHUNKBYTES=$(sqlite3 S/index.db 'select sum(length) from chunks')
if [ "${ECAP_BUFFERED_WRITES:-}" = 0 ]; then
	NCH=$(sqlite3 S/index.db 'select count(*) from chunks')
	[ "$SEGBYTES" -gt "$CHUNKBYTES" ] && [ $((SEGBYTES - CHUNKBYTES)) -lt $((NCH * 4104)) ] ||
		fail "padded: $SEGBYTES segment bytes for $CHUNKBYTES of $NCH chunks"
	assert_eq 0 "$(sqlite3 S/index.db 'select count(*) from chunks where offset % 4096')" \
		"chunks not on a page boundary"
	for f in S/seg-*.ecap; do
		assert_eq 0 "$(($(stat -c %s "$f") % 4096))" "$f: bytes past its last page boundary"
	done
	"$ECAP_EXPORT" --store S -q -o all.pcapng || fail "export of the padded store"
	python3 "$ECAP_SRC/tests/integration/roundtrip.py" in.pcap all.pcapng > all.cmp ||
		fail "padded store's export: $(cat all.cmp)"
	info "padded: $((SEGBYTES - CHUNKBYTES)) bytes of padding for $NCH chunks; $(cat all.cmp)"
else
	assert_eq "$CHUNKBYTES" "$SEGBYTES" "segment bytes (no padding through the page cache)"
fi

# Stock tools: every packet, in the original order, from the segments alone.
cat S/seg-*.ecap | lz4 -dc | tshark -r - 2>/dev/null | wc -l > n.txt
assert_eq "$NPKT" "$(cat n.txt)" "packets tshark reads through lz4 -dc"
tshark -r in.pcap -T fields -e frame.time_epoch -e ip.src -e tcp.srcport 2>/dev/null > want.txt
cat S/seg-*.ecap | lz4 -dc | tshark -r - -T fields -e frame.time_epoch -e ip.src -e tcp.srcport \
	2>/dev/null > got.txt
cmp -s want.txt got.txt || fail "packets read back through lz4 | tshark differ from the input"

expect_status 0 "$ECAP_FSCK" -q S

answers() { # the index as queries see it, without row ids that a rebuild may renumber
	sqlite3 S/index.db "select id, proto, hex(addr_a), port_a, hex(addr_b), port_b, first_ns,
		last_ns, packets, bytes from flows order by id;
		select flow_id, side, pid, comm from flow_procs order by flow_id, side;
		select id, segment, offset, length, first_ns, last_ns, packets, near_secrets,
		hex(flows) from chunks
		order by id; select hex(client_random), flow_id from tls_sessions order by 1;
		select chunk_id, hex(client_random), n, hex(secrets) from secrets order by 1, 2;"
}
answers > before.txt

# The index is a cache: remove it, rebuild it from the segments, get the same answers.
rm -f S/index.db S/index.db-wal S/index.db-shm
"$ECAP_FSCK" --rebuild -q S || fail "rebuild failed"
answers > after.txt
diff before.txt after.txt >/dev/null || fail "rebuilt index differs: $(diff before.txt after.txt | head -5)"
expect_status 0 "$ECAP_FSCK" -q S

# A flipped byte in the middle of a segment: fsck names the file and an offset.
SEG=$(ls S/seg-*.ecap | head -1)
SIZE=$(stat -c %s "$SEG")
python3 - "$SEG" $((SIZE / 2)) <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, 'r+b') as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x20]))
PY
expect_status 1 "$ECAP_FSCK" S
"$ECAP_FSCK" S > report.txt || true
grep -q "$(basename "$SEG"): offset [0-9]" report.txt || fail "fsck report names no offset: $(cat report.txt)"

# The other chunks of that segment still read: all packets but those of one chunk.
LOST=$(sqlite3 S/index.db "select packets from chunks where segment = 1 and offset <= $((SIZE / 2))
	and offset + length > $((SIZE / 2))")
cat S/seg-*.ecap | lz4 -dc 2>/dev/null | tshark -r - 2>/dev/null | wc -l > n2.txt || true

# A torn tail on the last segment: reported, then cut by the next writer.
LAST=$(ls S/seg-*.ecap | tail -1)
LSIZE=$(stat -c %s "$LAST")
head -c 3000 "$SEG" >> "$LAST"
"$ECAP_FSCK" S > report2.txt || true
grep -q "$(basename "$LAST"): offset $LSIZE: .*torn tail\|$(basename "$LAST"): offset $LSIZE" report2.txt ||
	fail "fsck did not report the torn tail at $LSIZE: $(cat report2.txt)"
"$ECAP_FSCK" --rebuild -q S 2>/dev/null || fail "rebuild of a damaged store failed"
assert_eq "$LSIZE" "$(stat -c %s "$LAST")" "size of the last segment after the tail was cut"
GOT=$(sqlite3 S/index.db 'select sum(packets) from chunks')
assert_eq "$((NPKT - LOST))" "$GOT" "packets indexed after damage to one chunk"
info "flipped byte cost $LOST packets of $NPKT (one chunk); torn tail cut"
