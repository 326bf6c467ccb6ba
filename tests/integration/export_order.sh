#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# export_order.sh - packets come out in timestamp order across chunk boundaries, also when
# chunks overlap in time: two captures whose packets interleave (A at 0, 5, 10 ms ..., B at
# 2.5, 7.5 ms ...) are replayed one after the other into one store with 4 KiB chunks, so
# every chunk of B overlaps chunks of A. The export must alternate A, B, A, B; selections by
# port and time must keep exactly their packets; two interfaces give two IDBs and ISBs.
# Also: IPv6 tuples and hosts select their flow; a damaged chunk loses only its packets.
. "$ECAP_SRC/tests/lib.sh"
need_cmd python3 tshark tcpdump

N=1500
python3 - "$T" "$N" <<'EOF'
import struct, sys
out, n = sys.argv[1], int(sys.argv[2])
T0 = 1795672800 * 10**9  # 2026-11-26T06:00:00Z

def csum(b):
    b += b'\0' * (len(b) % 2)
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def frame(sport, dport, i):
    payload = struct.pack('!I', i) + b'x' * 40
    udp = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return b'\x02' * 6 + b'\x04' * 6 + b'\x08\x00' + ip + udp

for name, sport, off in (('a', 1000, 0), ('b', 2000, 2500000)):
    with open('%s/%s.pcap' % (out, name), 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            ts = T0 + i * 5000000 + off
            d = frame(sport, 53, i)
            f.write(struct.pack('<IIII', ts // 10**9, ts % 10**9, len(d), len(d)) + d)
EOF

"$ECAP_REC" --replay "$T/a.pcap" --store "$T/store" --chunk-size 4K -q || fail "replay a"
"$ECAP_REC" --replay "$T/b.pcap" --store "$T/store" --chunk-size 4K -q || fail "replay b"
chunks=$("$ECAP_LS" --json "$T/store" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["chunks"])')
assert_ge 20 "$chunks" "chunks in the store"
info "$chunks chunks"

# Source ports and timestamps in file order, as tshark reads them.
fields() {
	tshark -r "$1" -T fields -e udp.srcport -e frame.time_epoch 2>"$1.err"
	if grep -v '^Running as user' "$1.err" | grep -q .; then
		fail "tshark warned on $1: $(cat "$1.err")"
	fi
}

"$ECAP_EXPORT" --store "$T/store" -q -o "$T/all.pcapng" || fail "export all"
fields "$T/all.pcapng" >"$T/all.txt"
assert_eq $((2 * N)) "$(wc -l <"$T/all.txt")" "packets exported"
# Strictly alternating ports and increasing times.
awk -v n=$((2 * N)) '{ want = (NR % 2) ? 1000 : 2000
	if ($1 != want) { print "packet " NR ": port " $1 ", expected " want; exit 1 }
	if (NR > 1 && $2 <= prev) { print "packet " NR ": time goes back"; exit 1 }
	prev = $2 }' "$T/all.txt" || fail "order across chunks"
python3 "$ECAP_SRC/tests/integration/export_check.py" "$T/all.pcapng" >"$T/all.chk"
grep -qx 'blocks=SHB IDB EPB IDB EPB\*2999 ISB\*2' "$T/all.chk" ||
	fail "blocks: $(grep blocks "$T/all.chk")"
grep -qx "ifrecv=$((2 * N))" "$T/all.chk" || fail "isb_ifrecv"
assert_eq $((2 * N)) "$(tcpdump -nr "$T/all.pcapng" 2>/dev/null | wc -l)" "tcpdump reads the export"

# One flow of the two, by port: every one of its packets, in order.
"$ECAP_EXPORT" --store "$T/store" -q -o "$T/b.pcapng" --port 2000 || fail "export --port 2000"
fields "$T/b.pcapng" >"$T/b.txt"
assert_eq "$N" "$(grep -c '^2000' "$T/b.txt")" "packets of port 2000"
assert_eq "$N" "$(wc -l <"$T/b.txt")" "only port 2000"
sort -c -k2,2n "$T/b.txt" || fail "port 2000 not in time order"

# A time window in the middle: 1 s = 200 packets of each capture, inclusive bounds.
"$ECAP_EXPORT" --store "$T/store" -q -o "$T/w.pcapng" --since @1795672801 \
	--until @1795672801.9975 || fail "export a window"
fields "$T/w.pcapng" >"$T/w.txt"
assert_eq 400 "$(wc -l <"$T/w.txt")" "packets in [1 s, 1.9975 s]"
assert_eq "1000 1795672801.000000000" "$(head -1 "$T/w.txt" | tr '\t' ' ')" "first in the window"
assert_eq "2000 1795672801.997500000" "$(tail -1 "$T/w.txt" | tr '\t' ' ')" "last in the window"

# And the libpcap filter on top of the merge.
"$ECAP_EXPORT" --store "$T/store" -q -o "$T/f.pcapng" 'udp src port 1000 and ip[4:2] < 10' \
	|| fail "export with a filter"
assert_eq 10 "$(fields "$T/f.pcapng" | wc -l)" "packets through the libpcap filter"

# IPv6: a tuple in brackets and a host select one of two flows, in either direction.
python3 - "$T/v6.pcap" <<'EOF6'
import struct, sys
T0 = 1795672800 * 10**9
a, b, c = (bytes(15) + b'\x01', bytes(15) + b'\x02', bytes.fromhex('20010db8' + '00' * 11 + '07'))
frames = []
for i in range(40):
    src, dst, sport, dport = (a, b, 1000, 53) if i % 4 == 0 else (b, a, 53, 1000) \
        if i % 4 == 1 else (a, c, 2000, 53) if i % 4 == 2 else (c, a, 53, 2000)
    payload = b'y' * 20
    udp = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack('!IHBB16s16s', 6 << 28, len(udp), 17, 64, src, dst) + udp
    frames.append(b'\x02' * 6 + b'\x04' * 6 + b'\x86\xdd' + ip)
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
    for i, d in enumerate(frames):
        ts = T0 + i * 1000000
        f.write(struct.pack('<IIII', ts // 10**9, ts % 10**9, len(d), len(d)) + d)
EOF6
"$ECAP_REC" --replay "$T/v6.pcap" --store "$T/v6store" -q || fail "replay v6"
"$ECAP_EXPORT" --store "$T/v6store" -q -o "$T/v6a.pcapng" --tuple '[::2]:53-[::1]:1000' ||
	fail "export an IPv6 tuple"
assert_eq 20 "$(fields "$T/v6a.pcapng" | wc -l)" "IPv6 tuple packets"
assert_eq "" "$(fields "$T/v6a.pcapng" | awk '$1 != 1000 && $1 != 53')" "IPv6 tuple ports"
tshark -r "$T/v6a.pcapng" -T fields -e ipv6.addr 2>/dev/null | grep -q 2001:db8 &&
	fail "IPv6 tuple export holds the other flow"
"$ECAP_EXPORT" --store "$T/v6store" -q -o "$T/v6b.pcapng" --host 2001:db8::7 ||
	fail "export an IPv6 host"
assert_eq 20 "$(fields "$T/v6b.pcapng" | wc -l)" "IPv6 host packets"
rc=0
"$ECAP_EXPORT" --store "$T/v6store" -q -o "$T/v6c.pcapng" --tuple '[::1]:1000-[::2]:54' \
	2>/dev/null || rc=$?
assert_eq 1 "$rc" "an IPv6 tuple that matches nothing"

# A damaged chunk loses its packets only: the rest is exported, stderr names the chunk, exit 1.
if command -v sqlite3 >/dev/null 2>&1; then
	read -r seg off len pk < <(sqlite3 -separator ' ' "$T/store/index.db" \
		"SELECT segment, offset, length, packets FROM chunks ORDER BY id LIMIT 1 OFFSET 10")
	segfile=$(printf '%s/store/seg-%08u.ecap' "$T" "$seg")
	[ -f "$segfile" ] || fail "no segment file $segfile"
	# Flip a byte in the middle of the chunk's compressed data.
	pos=$((off + len / 2))
	byte=$(od -An -tu1 -j "$pos" -N1 "$segfile" | tr -d ' ')
	printf "$(printf '\\%03o' $(((byte + 1) % 256)))" |
		dd of="$segfile" bs=1 seek="$pos" conv=notrunc status=none
	rc=0
	"$ECAP_EXPORT" --store "$T/store" -q -o "$T/dmg.pcapng" 2>"$T/dmg.err" || rc=$?
	assert_eq 1 "$rc" "exit status with a damaged chunk"
	grep -q "unreadable" "$T/dmg.err" ||
		fail "no message about the damaged chunk: $(cat "$T/dmg.err")"
	assert_eq $((2 * N - pk)) "$(fields "$T/dmg.pcapng" | wc -l)" \
		"packets around the damaged chunk"
else
	info "sqlite3 not installed: damaged-chunk case skipped"
fi
info "ok"
