#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# old_digests.sh - chunks of both digest kinds (schema/chunk_digest.c): a store written by ecap
# before the digest over data blocks (tests/integration/old_store: ecap at e72592a, whose
# chunks hold the SHA-256 of the data frame in one stream and no section 19) is rebuilt,
# verified, exported and checked as before: its seal and chunk digests match, its export is
# the one that ecap wrote (the bytes after the SHB, whose comment holds the time of the
# export), and the export's proof verifies. The same store with chunks of the new kind
# appended verifies whole; a flipped byte in a data block of either kind is named by chunk
# and block.
. "$ECAP_SRC/tests/lib.sh"
need_cmd sqlite3 python3
ECAP_VERIFY="$ECAP_BUILD/tools/ecap-verify"
# SHA-256 of the export of the whole old store after its SHB, as ecap at e72592a wrote it
# (`ecap-export --store O -o out.pcapng`, its index rebuilt by that ecap's ecap-fsck --rebuild)
OLD_EXPORT=9b3037875e566aedcf064c0d29ed7a1e7c84301bbc1564fee00099acf2a6d143

cd "$T"
copy_old() { # dir: the fixture as a store
	copy_fixture_store "$ECAP_SRC/tests/integration/old_store" "$1" \
		seg-00000001.ecap chain.ecap store.pub store.key
}
flip() { # file offset: xor one bit of the byte
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 1]))' "$1" "$2"
}
# expect_break STORE PATTERN: ecap-verify STORE exits 1 and its first break matches PATTERN
expect_break() {
	local rc=0
	"$ECAP_VERIFY" "$1" > out.txt || rc=$?
	[ "$rc" -eq 1 ] || fail "$1: ecap-verify exit $rc, expected 1: $(cat out.txt)"
	tail -1 out.txt | grep -q -- "$2" || fail "$1: the break is not named ($2): $(tail -1 out.txt)"
	info "$(tail -1 out.txt | cut -c1-200)"
}

copy_old O
"$ECAP_FSCK" --rebuild O 2>fsck.err || fail "ecap-fsck --rebuild of the old store: $(cat fsck.err)"
expect_status 0 "$ECAP_FSCK" -q O
"$ECAP_VERIFY" -v O > v.txt || fail "the old store does not verify: $(cat v.txt)"
grep -q "seg-00000001.ecap: sealed by seal 0, 7 chunks, digest matches" v.txt ||
	fail "the old segment's seal is not matched: $(cat v.txt)"
"$ECAP_EXPORT" --store O -o old.pcapng 2>exp.err || fail "export of the old store: $(cat exp.err)"
assert_eq "$OLD_EXPORT" "$(pcapng_after_shb old.pcapng)" "SHA-256 of the old store's export after its SHB"
expect_status 0 "$ECAP_VERIFY" --export old.pcapng --store O

# new chunks after the old ones: the store verifies whole, and its export's proof
"$ECAP_BUILD/tools/gen_traffic" -o more.pcap --bytes 200000 --seed 9 2>/dev/null
cp -a O M
"$ECAP_REC" -q --replay more.pcap --store M --chunk-size 16K --segment-size 64K 2>rec.err ||
	fail "replay into the old store: $(cat rec.err)"
"$ECAP_VERIFY" -v M > m.txt || fail "the old store with new chunks does not verify: $(cat m.txt)"
grep -q "seg-00000002.ecap: sealed by seal 1, [0-9]* chunks, digest matches" m.txt ||
	fail "the new segment's seal is not matched: $(cat m.txt)"
"$ECAP_EXPORT" --store M -o mixed.pcapng 2>exp.err || fail "export of the mixed store: $(cat exp.err)"
expect_status 0 "$ECAP_VERIFY" --export mixed.pcapng --store M

# a flipped byte 64 bytes before the end of a chunk (in its last data block): an old chunk
# (the sealed segment 1) and a new one (segment 2, sealed)
for seg in 1 2; do
	IFS='|' read -r AT ID < <(sqlite3 M/index.db "SELECT offset + length - 64, id FROM chunks
		WHERE segment = $seg ORDER BY id LIMIT 1 OFFSET 1")
	rm -rf X
	cp -a M X
	flip "X/seg-0000000$seg.ecap" "$AT"
	expect_break X "X/seg-0000000$seg.ecap: offset [0-9]*: chunk $ID: the data frame's SHA-256 differs from the one in its chunk metadata: data block \([0-9]*\) of \1 (data frame bytes [0-9]*\.\.[0-9]*): data block [a-z ]*\(CRC-32C\|LZ4\) (sealed segment"
done
