# SPDX-License-Identifier: GPL-2.0-only
# filter_vlan.sh - PCAP-FILTER in the kernel on a real Ethernet interface where the skb keeps
# a VLAN tag outside the packet bytes (tests/live/vlan_push.bpf.c tags UDP datagrams to port 9
# sent from a network namespace made here, as a NIC's VLAN acceleration does): the kernel
# filter must see the tag at offset 12, as the stored frame and tcpdump have it. With
# "vlan 100 and udp port 9" exactly the tagged datagrams are stored, the untagged ones to port
# 10 are skipped in the kernel, and the filter did not fall back to user space.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd ip

veth_setup fvl 202
veth_make
vlan_push_attach

rec_start "$T/rec.log" -i "$HOST_IF" --store "$T/s" --no-tls vlan 100 and udp port 9
ip netns exec "$NS" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(6):
    s.sendto(b'tagged %d' % i + b'.' * 100 * i, ('$HOST_IP', 9))
    s.sendto(b'plain %d' % i, ('$HOST_IP', 10))
"
sleep 0.5
rec_stop
assert_no_filters "$HOST_IF"
assert_accounting "$T/rec.log"
grep -q "filter runs in user space" "$T/rec.log" && fail "the filter fell back to user space"
LAST=$(grep "ecap-rec: stopped:" "$T/rec.log" | tail -1)
IN_KERNEL=$(echo "$LAST" | sed -n 's/.*(\([0-9]*\) in the kernel).*/\1/p')
assert_ge 6 "${IN_KERNEL:-0}" "packets filtered in the kernel (the 6 to port 10 at least)"

store_pcapng "$T/s" "$T/all.pcapng"
assert_eq 6 "$(tshark -r "$T/all.pcapng" -Y "vlan.id == 100 && udp.dstport == 9" 2>/dev/null |
	wc -l)" "tagged datagrams stored"
assert_eq 6 "$(tshark -r "$T/all.pcapng" 2>/dev/null | wc -l)" "packets stored"
info "ok: a tag outside the bytes seen by the kernel filter"
