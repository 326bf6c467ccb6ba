#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# verify_store.sh - ecap-verify on a store's seal chain, through the real binaries: an
# untouched store verifies (exit 0); each kind of tampering is named with its file and
# offset (exit 1): a flipped byte in a sealed segment's data and in its metadata, in a seal,
# in the chain's links, in the chain file's header, a middle segment deleted, two segments
# swapped, the key replaced (also against a trusted copy, --key). A torn chain tail is a
# crash (exit 4), which the next ecap-rec repairs; retention is not a break; a store
# whose chain and key are lost gets late seals from the next writer.
. "$ECAP_SRC/tests/lib.sh"
ECAP_VERIFY="$ECAP_BUILD/tools/ecap-verify"

cd "$T"
"$ECAP_BUILD/tools/gen_traffic" -o in.pcap --bytes 6000000 --seed 11 2>/dev/null
"$ECAP_REC" --replay in.pcap --store S --chunk-size 64K --segment-size 1M 2>rec.err ||
	fail "replay failed: $(cat rec.err)"
grep -q "made the store's Ed25519 signing key, fingerprint SHA256:[0-9a-f]\{64\}" rec.err ||
	fail "the new store's key fingerprint was not printed: $(cat rec.err)"
[ "$(stat -c %a S/store.key)" = 600 ] || fail "store.key has mode $(stat -c %a S/store.key)"
openssl pkey -pubin -in S/store.pub -noout || fail "store.pub is not a PEM public key"
cp S/store.pub trusted.pub

expect_status 0 "$ECAP_VERIFY" S
"$ECAP_VERIFY" -v S > v.txt
NSEAL=$(grep -c '^chain.ecap: seal [0-9]*: segment' v.txt)
assert_ge 3 "$NSEAL" "seals"
grep -q "seg-00000003.ecap: sealed by seal 2, [0-9]* chunks, digest matches" v.txt ||
	fail "segment 3 is not reported as sealed: $(cat v.txt)"
grep -q "not sealed yet" v.txt || fail "the open segment is not reported: $(cat v.txt)"
expect_status 0 "$ECAP_VERIFY" --key trusted.pub S
expect_status 0 "$ECAP_FSCK" -q S

flip() { # file offset: xor one bit of the byte
	python3 -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 1]))' "$1" "$2"
}
SEAL1=$(grep -o '^chain.ecap: seal 1' v.txt >/dev/null && python3 -c '
import struct
b = open("S/chain.ecap", "rb").read()
off = 64 + struct.unpack_from("<I", b, 68)[0]
print(off)')

# case NAME STATUS PATTERN SETUP...: on a fresh copy X of S, SETUP, then ecap-verify X must
# exit STATUS and its last line (the first break) match PATTERN.
case_() {
	local name=$1 want=$2 pat=$3 rc=0
	shift 3
	rm -rf X
	cp -a S X
	eval "$@"
	"$ECAP_VERIFY" ${KEYARG:-} X > out.txt || rc=$?
	[ "$rc" -eq "$want" ] || fail "$name: exit $rc, expected $want: $(cat out.txt)"
	tail -1 out.txt | grep -q -- "$pat" ||
		fail "$name: the report does not name it ($pat): $(tail -1 out.txt)"
	info "$name: $(tail -1 out.txt | cut -c1-160)"
}

# a byte near the end of the second chunk of segment 2: in its data frame's last block, which
# the report names (chunk id, block n of n) after the chunk's digest of its blocks differs
IFS='|' read -r DATA2 CHUNK2 < <(sqlite3 S/index.db "SELECT offset + length - 64, id FROM chunks
	WHERE segment = 2 ORDER BY id LIMIT 1 OFFSET 1")
case_ "byte flipped in a sealed segment's data" 1 \
	"X/seg-00000002.ecap: offset [1-9][0-9]*: chunk $CHUNK2: the data frame's SHA-256 differs .*: data block \([0-9]*\) of \1 (data frame bytes [0-9]*\.\.[0-9]*): data block fails its CRC-32C (sealed segment" \
	flip X/seg-00000002.ecap "$DATA2"
case_ "byte flipped in a chunk's metadata" 1 \
	"X/seg-00000002.ecap: offset 0: metadata checksum mismatch" \
	flip X/seg-00000002.ecap 20
case_ "byte flipped in a seal (its segment digest)" 1 \
	"X/chain.ecap: offset 64: seal 0 (segment 1): the signature does not verify" \
	flip X/chain.ecap $((64 + 90))
case_ "byte flipped in the chain's link" 1 \
	"X/chain.ecap: offset $SEAL1: seal 1 (segment 2) does not link to the seal before it" \
	flip X/chain.ecap $((SEAL1 + 120))
case_ "byte flipped in the chain file's header" 1 \
	"X/chain.ecap: offset 0: the chain file's header fails its checksum" \
	flip X/chain.ecap 20
case_ "a middle segment deleted" 1 \
	"X/seg-00000002.ecap: missing, but it was sealed (seal 1" \
	rm X/seg-00000002.ecap
case_ "two segments swapped" 1 \
	"X/seg-00000002.ecap: holds chunks [0-9.]*, but seal 1 .* swapped" \
	"mv X/seg-00000002.ecap X/t && mv X/seg-00000003.ecap X/seg-00000002.ecap && mv X/t X/seg-00000003.ecap"
NEWKEY='openssl genpkey -algorithm ed25519 -out X/store.key 2>/dev/null &&
	openssl pkey -in X/store.key -pubout -out X/store.pub'
case_ "the key replaced" 1 "X/chain.ecap: offset 16: the chain was begun for key .* replaced" \
	"$NEWKEY"
KEYARG="--key trusted.pub" case_ "the key replaced, against a trusted copy" 1 \
	"X/store.pub: holds key SHA256:[0-9a-f]*, not the trusted key" "$NEWKEY"
openssl genpkey -algorithm ed25519 -out other.key 2>/dev/null
openssl pkey -in other.key -pubout -out other.pub
KEYARG="--key other.pub" case_ "another trusted key" 1 "not the trusted key" true

# A torn seal record (a crash while sealing) is not tampering; the next writer cuts it.
case_ "a torn chain tail" 4 "verified, except a torn tail" truncate -s -50 X/chain.ecap
grep -q "X/chain.ecap: offset [0-9]*: torn tail" out.txt || fail "torn tail not named"
"$ECAP_BUILD/tools/gen_traffic" -o more.pcap --bytes 1500000 --seed 12 2>/dev/null
"$ECAP_REC" -q --replay more.pcap --store X --chunk-size 64K --segment-size 1M 2>rec2.err ||
	fail "replay after the torn tail failed: $(cat rec2.err)"
grep -q "cut a torn seal record" rec2.err || fail "the writer did not cut the torn seal"
expect_status 0 "$ECAP_VERIFY" X
expect_status 0 "$ECAP_FSCK" -q X

# Retention deletes the oldest segments; their seals stay and the chain verifies.
rm -rf R
cp -a S R
"$ECAP_REC" -q --replay more.pcap --store R --chunk-size 64K --segment-size 1M --max-size 3M \
	2>/dev/null || fail "replay with retention failed"
[ ! -e R/seg-00000001.ecap ] || fail "retention deleted nothing"
"$ECAP_VERIFY" R > r.txt || fail "the chain does not verify after retention: $(cat r.txt)"
grep -q "segments deleted by retention (their seals kept)" r.txt || fail "$(cat r.txt)"
grep -q "^R: [0-9]* seals, [1-9][0-9]* segments deleted by retention" r.txt ||
	fail "retention not counted: $(cat r.txt)"

# A store without seals (an older ecap's, here with its chain and key removed): the next
# writer makes a key and seals every sealed segment late; the chain then verifies.
rm -rf L
cp -a S L
rm L/chain.ecap L/store.key L/store.pub
expect_status 3 "$ECAP_VERIFY" L
"$ECAP_REC" -q --replay more.pcap --store L --chunk-size 64K --segment-size 1M 2>l.err ||
	fail "replay into the store without seals failed"
grep -q "late seals" l.err || fail "no late seals said: $(cat l.err)"
"$ECAP_VERIFY" -v L > l.txt || fail "late seals do not verify: $(cat l.txt)"
grep -q "seal 0: segment 1, .* (late)" l.txt || fail "seal 0 is not marked late: $(cat l.txt)"

# A digest published off the host pins the chain: one rewritten and signed again with the
# store's own key (here: the chain removed, so that the next writer seals everything anew)
# verifies by itself, but not against the published digest.
PUB=$("$ECAP_VERIFY" S | sed -n 's/^S: newest seal \([0-9]*\) (segment [0-9]*): SHA-256 \([0-9a-f]*\)$/\1:\2/p')
[ -n "$PUB" ] || fail "the newest seal's digest is not printed"
expect_status 0 "$ECAP_VERIFY" --published "$PUB" S
rm -rf W
cp -a S W
rm W/chain.ecap
"$ECAP_REC" -q --replay more.pcap --store W --chunk-size 64K --segment-size 1M 2>/dev/null ||
	fail "replay into the store without its chain failed"
expect_status 0 "$ECAP_VERIFY" W
rc=0
"$ECAP_VERIFY" --published "$PUB" W > w.txt || rc=$?
[ "$rc" -eq 1 ] || fail "a rewritten chain verified against the published digest: $(cat w.txt)"
tail -1 w.txt | grep -q "W/chain.ecap: offset [0-9]*: seal ${PUB%%:*} differs from the digest published" ||
	fail "the rewrite is not named: $(tail -1 w.txt)"
expect_status 2 "$ECAP_VERIFY" --published 3:abc S

# A store that another user could change on the way is refused, as by the other commands.
mkdir -m 0777 open
cp -a S open/S
expect_status 2 "$ECAP_VERIFY" open/S
