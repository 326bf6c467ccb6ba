#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# roundtrip.sh - replay, then export of everything, reproduces the recording: every file of
# the corpus that mkcorpus.py writes (ties and steps back within and across interfaces and
# chunks, caplen above snaplen, snaplen 0, two sections in both byte orders, if_tsresol
# 10^-3..10^-9 and 2^-n, if_tsoffset, SPBs, custom blocks, a last record cut short) and every
# capture of the capfile fuzz corpus is replayed into a store of 4 KiB chunks and exported;
# roundtrip.py compares input and export packet by packet (order, interface, link type,
# time, lengths, bytes, flags, process comments). tcpdump (libpcap) must read every export
# whose interfaces share a link type, all its packets. The replay's last line must name what
# it did not keep as the input has it, with the counts the corpus holds.
. "$ECAP_SRC/tests/lib.sh"
need_cmd python3 tcpdump

python3 "$ECAP_SRC/tests/integration/mkcorpus.py" "$T"

# Replays $1 into its own store, exports everything, compares; stderr of the replay in
# $T/<name>.err. Damaged inputs (exit 1) are compared too: what parses is kept.
roundtrip() {
	local f=$1 b rc=0
	b=$(basename "$f")
	"$ECAP_REC" --replay "$f" --store "$T/s_$b" --chunk-size 4K -q 2>"$T/$b.err" || rc=$?
	[ "$rc" -le 1 ] || fail "$b: replay exit $rc: $(cat "$T/$b.err")"
	"$ECAP_EXPORT" --store "$T/s_$b" -q -o "$T/$b.out" || fail "$b: export"
	python3 "$ECAP_SRC/tests/integration/roundtrip.py" "$f" "$T/$b.out" >"$T/$b.cmp" ||
		fail "$b: $(cat "$T/$b.cmp")"
	local n
	n=$(sed -n 's/^\([0-9]*\) packets identical$/\1/p' "$T/$b.cmp")
	if python3 - "$T/$b.out" <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read()
off, lts = 0, set()
while off + 12 <= len(b):
    t, n = struct.unpack('<II', b[off:off + 8])
    if t == 1:
        lts.add(struct.unpack('<H', b[off + 8:off + 10])[0])
    off += n
sys.exit(0 if len(lts) <= 1 else 1)
EOF
	then
		assert_eq "$n" "$(tcpdump -r "$T/$b.out" --count 2>/dev/null | sed -n \
			's/^\([0-9]*\) packets\{0,1\}$/\1/p')" "$b: packets tcpdump reads"
		info "$b: $n packets identical, tcpdump reads them all"
	else
		info "$b: $n packets identical (several link types: not for libpcap)"
	fi
}

for f in "$T"/*.pcap "$T"/*.pcapng "$ECAP_SRC"/tests/fuzz/corpus/capfile/*; do
	roundtrip "$f"
done

# Selections keep the order: one flow, by port, from a store of 1 MiB chunks whose 16 KiB
# blocks of another flow's burst the export skips, and the whole of that store too.
"$ECAP_REC" --replay "$T/order.pcapng" --store "$T/big" -q 2>/dev/null || fail "replay order"
"$ECAP_EXPORT" --store "$T/big" -q -o "$T/big.out" || fail "export of the 1 MiB store"
python3 "$ECAP_SRC/tests/integration/roundtrip.py" "$T/order.pcapng" "$T/big.out" >"$T/big.cmp" ||
	fail "1 MiB chunks: $(cat "$T/big.cmp")"
for port in 1003 2000; do
	"$ECAP_EXPORT" --store "$T/big" -q -o "$T/p$port.out" --port "$port" ||
		fail "export --port $port"
	python3 "$ECAP_SRC/tests/integration/roundtrip.py" "$T/order.pcapng" "$T/p$port.out" \
		"$port" >"$T/p$port.cmp" || fail "--port $port: $(cat "$T/p$port.cmp")"
	info "--port $port: $(cat "$T/p$port.cmp")"
done
"$ECAP_EXPORT" --store "$T/big" -q -o "$T/f.out" "udp port 1005" || fail "export a filter"
python3 "$ECAP_SRC/tests/integration/roundtrip.py" "$T/order.pcapng" "$T/f.out" 1005 \
	>"$T/f.cmp" || fail "filter 'udp port 1005': $(cat "$T/f.cmp")"

# What was not kept, said once, with the corpus's counts.
said() { # file text
	grep -q "not kept as the input has it: .*$2" "$T/$1.err" ||
		fail "$1: the replay does not say '$2': $(cat "$T/$1.err")"
	assert_eq 1 "$(grep -c 'not kept as the input has it' "$T/$1.err")" "$1: lines saying it"
}
said lengths.pcapng "8 custom blocks (CB, DCB) dropped"
said lengths.pcapng "1 name resolution or unknown blocks dropped"
said lengths.pcapng "4 simple packet blocks given the time of the packet before"
said lengths.pcapng "4 original lengths below the captured length raised to it"
said frac.pcap "3 timestamps out of range normalised"
said frac.pcap "1 packets longer than 262080 bytes cut to it"
said tsresol.pcapng "timestamps rounded down to the nanosecond"
said order.pcapng "timestamps rounded down to the nanosecond"
grep -q "not kept" "$T/be_ns.pcap.err" && fail "be_ns.pcap: $(cat "$T/be_ns.pcap.err")"
grep -q "cut short" "$T/lengths.pcapng.err" || fail "lengths.pcapng: the cut block is not named"
info "ok"
