#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# export_annotate.py - turns a classic pcap (as tcpdump writes it) into a pcapng whose packets
# carry ptcpdump-style process comments, so that a replay attributes each connection's ends
# to processes the tests choose:
#
#   export_annotate.py IN.pcap OUT.pcapng PORT=PID:UID:COMM [PORT=PID:UID:COMM ...]
#
# A TCP/UDP packet whose source port is in the map gets the comment
# "PID: <pid>\nTID: <pid>\nUID: <uid>\nCmd: <comm>" and epb_flags outbound (the sender is the
# local process); other packets get neither. Handles Ethernet, raw IP and Linux cooked (SLL)
# link types, IPv4 and IPv6; timestamps keep the input's resolution.
import struct
import sys


def block(btype, body):
    body += b'\0' * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack('<II', btype, n) + body + struct.pack('<I', n)


def opt(code, value):
    return struct.pack('<HH', code, len(value)) + value + b'\0' * (-len(value) % 4)


def ip_payload(linktype, data):
    if linktype == 1 and len(data) >= 14:
        off, etype = 12, struct.unpack_from('!H', data, 12)[0]
        while etype in (0x8100, 0x88a8) and len(data) >= off + 6:
            off += 4
            etype = struct.unpack_from('!H', data, off)[0]
        return data[off + 2:]
    if linktype == 113 and len(data) >= 16:
        return data[16:]
    if linktype in (101, 228, 229):
        return data
    return b''


def source_port(linktype, data):
    ip = ip_payload(linktype, data)
    if len(ip) >= 20 and ip[0] >> 4 == 4:
        proto, l4 = ip[9], ip[(ip[0] & 15) * 4:]
    elif len(ip) >= 40 and ip[0] >> 4 == 6:
        proto, l4 = ip[6], ip[40:]
    else:
        return None
    if proto not in (6, 17) or len(l4) < 2:
        return None
    return struct.unpack_from('!H', l4, 0)[0]


def main(argv):
    if len(argv) < 3:
        sys.exit('usage: export_annotate.py IN.pcap OUT.pcapng PORT=PID:UID:COMM...')
    procs = {}
    for spec in argv[3:]:
        port, rest = spec.split('=', 1)
        pid, uid, comm = rest.split(':', 2)
        procs[int(port)] = ('PID: %s\nTID: %s\nUID: %s\nCmd: %s' % (pid, pid, uid, comm)).encode()
    raw = open(argv[1], 'rb').read()
    magic = struct.unpack_from('<I', raw, 0)[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        e = '<'
    else:
        e = '>'
        magic = struct.unpack_from('>I', raw, 0)[0]
    ns = magic == 0xa1b23c4d
    snaplen, linktype = struct.unpack_from(e + 'II', raw, 16)
    out = [block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1)),
           block(1, struct.pack('<HHI', linktype & 0xffff, 0, snaplen) +
                 opt(2, b'lo') + (opt(9, b'\x09') if ns else b'') + opt(0, b''))]
    off = 24
    while off + 16 <= len(raw):
        sec, frac, caplen, origlen = struct.unpack_from(e + 'IIII', raw, off)
        data = raw[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ts = sec * (10**9 if ns else 10**6) + frac
        comment = procs.get(source_port(linktype, data))
        opts = b''
        if comment:
            opts = opt(1, comment) + opt(2, struct.pack('<I', 2)) + opt(0, b'')
        body = struct.pack('<IIIII', 0, ts >> 32, ts & 0xffffffff, len(data), origlen)
        body += data + b'\0' * (-len(data) % 4) + opts
        out.append(block(6, body))
    open(argv[2], 'wb').write(b''.join(out))


if __name__ == '__main__':
    main(sys.argv)
