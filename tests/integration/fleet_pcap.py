#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# fleet_pcap.py - the packets of a pcapng file as comparable lines, for the fleet tests:
#   packets FILE [HOST]   one line per EPB: HOST TS_NS SHA256(DATA) IFACE; HOST from the
#                         packet's "Host: " comment line when not given (then IFACE is the
#                         interface name without "@HOST", which must be there)
#   shb FILE              the SHB comment
#   dsbs FILE             "DSB" for each DSB before the first packet, "EPB" at the first packet
import hashlib
import struct
import sys


def blocks(path):
    data = open(path, 'rb').read()
    off, e = 0, '<'
    while off + 12 <= len(data):
        btype = struct.unpack_from(e + 'I', data, off)[0]
        if btype == 0x0A0D0D0A:
            e = '<' if data[off + 8:off + 12] == b'\x4d\x3c\x2b\x1a' else '>'
        blen = struct.unpack_from(e + 'I', data, off + 4)[0]
        yield btype, data[off + 8:off + blen - 4], e
        off += blen


def options(body, e):
    out, off = [], 0
    while off + 4 <= len(body):
        code, ln = struct.unpack_from(e + 'HH', body, off)
        if code == 0:
            break
        out.append((code, body[off + 4:off + 4 + ln]))
        off += 4 + ((ln + 3) & ~3)
    return out


def packets(path, host=None):
    ifs, res = [], []
    for t, body, e in blocks(path):
        if t == 1:
            name, tsres = '', 6
            for c, v in options(body[8:], e):
                if c == 2:
                    name = v.decode()
                if c == 9:
                    tsres = v[0]
            ifs.append((name, 10 ** tsres))
        elif t == 6:
            ifid, hi, lo, cap, orig = struct.unpack_from(e + 'IIIII', body, 0)
            ts = (hi << 32 | lo) * 10 ** 9 // ifs[ifid][1]
            pkt = body[20:20 + cap]
            opts = options(body[20 + ((cap + 3) & ~3):], e)
            comments = [v.decode() for c, v in opts if c == 1]
            name = ifs[ifid][0]
            h = host
            if h is None:
                first = comments[0].split('\n')[0] if comments else ''
                if not first.startswith('Host: '):
                    sys.exit('a packet without a Host: comment')
                h = first[6:]
                if not name.endswith('@' + h):
                    sys.exit('interface %s of a packet from %s' % (name, h))
                name = name[:-len(h) - 1]
            res.append('%s %d %s %s' % (h, ts, hashlib.sha256(pkt).hexdigest(), name))
    return res


cmd = sys.argv[1]
if cmd == 'packets':
    for line in packets(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None):
        print(line)
elif cmd == 'shb':
    for t, body, e in blocks(sys.argv[2]):
        if t == 0x0A0D0D0A:
            for c, v in options(body[16:], e):
                if c == 1:
                    print(v.decode())
elif cmd == 'dsbs':
    for t, body, e in blocks(sys.argv[2]):
        if t == 10:
            print('DSB')
        if t == 6:
            print('EPB')
            break
