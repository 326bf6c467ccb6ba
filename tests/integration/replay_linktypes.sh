#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# replay_linktypes.sh - ecap-rec --replay on one TCP connection carried over each link type
# the recorder reads (Ethernet with an 802.1Q tag, Linux cooked SLL and SLL2, raw IPv4
# written big-endian, BSD loopback with IPv6), and on two connections that reuse one
# 5-tuple: the index must hold exactly the right flows, with nanosecond first times where
# the input has nanoseconds, and the interfaces named after the file.
. "$ECAP_SRC/tests/lib.sh"
need_cmd python3 sqlite3

MKCAP="$ECAP_SRC/tests/integration/mkcap.py"
cd "$T"
python3 "$MKCAP" linktypes .
python3 "$MKCAP" portreuse reuse.pcap

V4B=00000000000000000000FFFF7F000002
V6B=FD000000000000000000000000000002
check() { # file linktype addr_b first_ns
	local f=$1 store="$T/store-$1"
	expect_status 0 "$ECAP_REC" --replay "$f.pcap" --store "$store" -q
	local q="select count(*)||' '||proto||' '||port_a||' '||port_b||' '||packets||' '||hex(addr_b)||' '||first_ns from flows"
	assert_eq "1 6 40000 443 8 $3 $4" "$(sqlite3 "$store/index.db" "$q")" "$f: the flow"
	assert_eq "$f.pcap#0|$2" "$(sqlite3 "$store/index.db" 'select name, linktype from interfaces')" \
		"$f: the interface"
	assert_eq 8 "$(sqlite3 "$store/index.db" 'select sum(packets) from chunks')" "$f: packets"
}
check vlan 1 $V4B 1764140400123456000
check sll 113 $V4B 1764140400123456000
check sll2 276 $V4B 1764140400123456789
check raw 101 $V4B 1764140400123456000
check null 0 $V6B 1764140400123456000

# port reuse: a new SYN after FIN starts a second flow on the same 5-tuple
expect_status 0 "$ECAP_REC" --replay reuse.pcap --store "$T/reuse" -q
assert_eq "2" "$(sqlite3 "$T/reuse/index.db" 'select count(*) from flows where port_a=41000 and port_b=8080')" \
	"flows on a reused 5-tuple"
assert_eq "8 8" "$(sqlite3 "$T/reuse/index.db" "select group_concat(packets, ' ') from flows")" \
	"packets per reused flow"

# replaying into the same store again adds packets under the same interface
expect_status 0 "$ECAP_REC" --replay vlan.pcap --store "$T/store-vlan" -q
assert_eq 16 "$(sqlite3 "$T/store-vlan/index.db" 'select sum(packets) from chunks')" "packets after two replays"
assert_eq 1 "$(sqlite3 "$T/store-vlan/index.db" 'select count(*) from interfaces')" "interfaces after two replays"
info "all link types replayed"
