#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# verify_export.sh - exports carry their provenance: the SHB comment names the host, the
# machine-id, the recorder version, the store key and the newest covering seal; the signed
# proof beside the file (OUT.ecap-proof) verifies with the store and with a trusted copy of
# its public key, also after retention deleted the source segments. One altered byte, a
# packet removed, a DSB added, an altered proof, or another key fail, each named. Wireshark
# (tshark) reads the export with no warning.
. "$ECAP_SRC/tests/lib.sh"
need_cmd tshark
ECAP_VERIFY="$ECAP_BUILD/tools/ecap-verify"

cd "$T"
"$ECAP_BUILD/tools/gen_traffic" -o in.pcap --bytes 4000000 --seed 21 2>/dev/null
"$ECAP_REC" -q --replay in.pcap --store S --chunk-size 64K --segment-size 1M 2>/dev/null ||
	fail "replay failed"
cp S/store.pub trusted.pub
"$ECAP_EXPORT" --store S -o out.pcapng 2>exp.err || fail "export failed: $(cat exp.err)"
[ -s out.pcapng.ecap-proof ] || fail "no proof beside the export"
NPKT=$(tshark -r in.pcap 2>/dev/null | wc -l)

# Wireshark opens it with no warning, and sees every packet (no extra frames).
tshark -r out.pcapng > frames.txt 2> tshark.err || fail "tshark failed: $(cat tshark.err)"
grep -v 'Running as user "root"' tshark.err > warn.txt || true
[ ! -s warn.txt ] || fail "tshark warns: $(cat warn.txt)"
assert_eq "$NPKT" "$(wc -l < frames.txt)" "frames tshark shows"
capinfos out.pcapng > info.txt 2>&1 || true
FP=$(openssl pkey -pubin -in S/store.pub -outform DER | tail -c 32 | sha256sum | cut -c1-64)
grep -q "Store key: SHA256:$FP" info.txt || fail "the SHB comment lacks the key fingerprint: $(cat info.txt)"
grep -q "Machine-ID: $(cat /etc/machine-id)" info.txt || fail "no machine-id in the SHB comment"
grep -q "Host: $(hostname)" info.txt || fail "no host in the SHB comment"
grep -q "Recorded by: ecap [0-9]" info.txt || fail "no recorder version in the SHB comment"
grep -q "Seal: [0-9]* of the store's chain (segment [0-9]*, SHA-256 [0-9a-f]\{64\})" info.txt ||
	fail "no seal in the SHB comment: $(cat info.txt)"

expect_status 0 "$ECAP_VERIFY" --export out.pcapng --store S
"$ECAP_VERIFY" --export out.pcapng --store S > v.txt
grep -q "$NPKT packets looked up in [0-9]* source chunks: $NPKT found, 0 not" v.txt ||
	fail "packets not looked up in the source chunks: $(cat v.txt)"
expect_status 0 "$ECAP_VERIFY" --export out.pcapng --key trusted.pub

# edit FILE OP: change a copy of the export with python (pcapng blocks, little-endian)
edit() {
	python3 - "$@" <<'PY'
import struct, sys
path, op = sys.argv[1], sys.argv[2]
b = bytearray(open(path, 'rb').read())
blocks, off = [], 0
while off < len(b):
    t, n = struct.unpack_from('<II', b, off)
    blocks.append((off, t, n)); off += n
epbs = [x for x in blocks if x[1] == 6]
if op == 'flip':        # one byte of a packet's data in the middle of the file
    o = epbs[len(epbs) // 2][0] + 40
    b[o] ^= 1
elif op == 'drop':      # remove one packet
    o, t, n = epbs[len(epbs) // 2]
    del b[o:o + n]
elif op == 'dsb':       # add a DSB with a key log line after the first IDB
    text = b'CLIENT_RANDOM ' + b'00' * 32 + b' ' + b'11' * 48 + b'\n'
    text += b'\0' * (-len(text) % 4)
    n = 20 + len(text)
    dsb = struct.pack('<IIII', 10, n, 0x544c534b, len(text.rstrip(b'\0'))) + text + struct.pack('<I', n)
    o = [x for x in blocks if x[1] == 1][0]
    b[o[0] + o[2]:o[0] + o[2]] = dsb
open(path, 'wb').write(b)
PY
}

# case NAME PATTERN SETUP...: on a fresh copy E.pcapng (and its proof), SETUP; then
# ecap-verify --export E.pcapng --store S must exit 1 naming PATTERN.
case_() {
	local name=$1 pat=$2 rc=0
	shift 2
	cp out.pcapng E.pcapng
	cp out.pcapng.ecap-proof E.pcapng.ecap-proof
	eval "$@"
	"$ECAP_VERIFY" --export E.pcapng ${KEYARG:---store S} > out.txt || rc=$?
	[ "$rc" -eq 1 ] || fail "$name: exit $rc, expected 1: $(cat out.txt)"
	tail -1 out.txt | grep -q -- "$pat" || fail "$name: not named ($pat): $(tail -1 out.txt)"
	info "$name: $(tail -1 out.txt | cut -c1-150)"
}
case_ "one byte altered" "E.pcapng: its SHA-256 differs from the proof's" edit E.pcapng flip
grep -q "E.pcapng: offset [0-9]*: a packet that none of the proof's source chunks holds" out.txt ||
	fail "the altered packet is not named: $(cat out.txt)"
case_ "a packet removed" "E.pcapng: holds $((NPKT - 1)) packets, the proof says $NPKT: packets were removed" \
	edit E.pcapng drop
case_ "a DSB added" "E.pcapng: holds 1 Decryption Secrets Blocks, the proof says 0: DSBs were added" \
	edit E.pcapng dsb
KEYARG="--key trusted.pub" case_ "a DSB added (key only)" "DSBs were added" edit E.pcapng dsb
case_ "the proof altered" "E.pcapng.ecap-proof: the signature does not verify" \
	"sed -i '0,/^chunk /s/^chunk \([0-9]*\) /chunk \1 /; s/^packets .*/packets 1/' E.pcapng.ecap-proof"
openssl genpkey -algorithm ed25519 -out other.key 2>/dev/null
openssl pkey -in other.key -pubout -out other.pub
KEYARG="--key other.pub" case_ "another key" "signed for key SHA256:$FP, which is not the key given" true

# Retention deletes the source segments: the proof still verifies, by its signature and seals.
"$ECAP_BUILD/tools/gen_traffic" -o more.pcap --bytes 6000000 --seed 22 2>/dev/null
"$ECAP_REC" -q --replay more.pcap --store S --chunk-size 64K --segment-size 1M --max-size 3M \
	2>/dev/null || fail "replay with retention failed"
[ ! -e S/seg-00000001.ecap ] || fail "retention deleted nothing"
"$ECAP_VERIFY" --export out.pcapng --store S > r.txt || fail "after retention: $(cat r.txt)"
grep -q "source chunks are gone (retention)" r.txt || fail "$(cat r.txt)"
expect_status 0 "$ECAP_VERIFY" --export out.pcapng --key trusted.pub
expect_status 0 "$ECAP_VERIFY" S

# To standard output there is no file to sign beside: the export says so, and works.
"$ECAP_EXPORT" --store S -o - 2>stdout.err > /dev/null || fail "export to stdout failed"
[ ! -e -.ecap-proof ] || fail "a proof named after '-'"

# Usage: --help documents the exit statuses; --export without a key to trust is bad usage.
"$ECAP_VERIFY" --help | grep -q "4  verified, except a torn tail" || fail "--help lacks the exit statuses"
expect_status 2 "$ECAP_VERIFY" --export out.pcapng
expect_status 2 "$ECAP_VERIFY" --proof x S
expect_status 3 "$ECAP_VERIFY" --export nothing.pcapng --key trusted.pub
