#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# roundtrip.py - compares a capture file with the export of everything after its replay,
# packet by packet, with a reader of its own (pcap and pcapng, both byte orders):
#
#   roundtrip.py INPUT EXPORT [PORT]  exit 0 when they agree, 1 with the first difference;
#                                     with PORT, the export holds the input's IPv4 UDP
#                                     packets from or to PORT (Ethernet), in the same order
#
# What the export must hold, from the input:
# - every packet, with its interface's name (if_name when not empty, else "<file>#<n>", n counting the
#   file's interfaces from 0) and link type, time in ns, captured and original length,
#   bytes and epb_flags;
# - times: pcap sec * 10^9 + fraction (microseconds * 1000), a fraction out of range carried
#   into the seconds; pcapng units * 10^9 / if_tsresol rounded down, plus if_tsoffset
#   seconds; an SPB has the time of the packet before it in the file (0 for the first);
# - lengths: an original length below the captured one is raised to it; more than 262,080
#   captured bytes are cut to that (the original length stays);
# - order: interfaces of the same name, link type, snaplen and filter are one stream (as in
#   the store); each packet's key is the running maximum of its stream's times in file
#   order; packets sorted by key, ties in file order;
# - a packet whose comment names a process ("PID: N" or "pid=N") has a comment naming it.
# A block cut short at the end ends the input; custom, name resolution, statistics and
# secrets blocks hold no packets.
import os
import re
import struct
import sys

CAPLEN_MAX = 262080


class Pkt:
    __slots__ = ('iface', 'ts', 'caplen', 'origlen', 'data', 'flags', 'comments', 'pos')


def pcap_packets(b, base):
    magic = struct.unpack('<I', b[:4])[0]
    e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    magic = struct.unpack(e + 'I', b[:4])[0]
    ns = magic == 0xa1b23c4d
    snaplen, lt = struct.unpack(e + 'II', b[16:24])
    iface = ('%s#0' % base, lt & 0xffff, snaplen, '')
    off, out = 24, []
    while off + 16 <= len(b):
        sec, frac, cap, orig = struct.unpack(e + 'IIII', b[off:off + 16])
        if off + 16 + cap > len(b):
            break
        p = Pkt()
        p.iface, p.ts = iface, sec * 10**9 + (frac if ns else frac * 1000)
        p.caplen, p.origlen, p.data = cap, orig, b[off + 16:off + 16 + cap]
        p.flags, p.comments = 0, []
        out.append(p)
        off += 16 + cap
    return out


def options(body, e):
    o = 0
    while o + 4 <= len(body):
        code, ln = struct.unpack(e + 'HH', body[o:o + 4])
        if code == 0:
            return
        yield code, body[o + 4:o + 4 + ln]
        o += 4 + ln + (-ln % 4)


def pcapng_packets(b, base):
    """Packets with the ecap replay's rules for names and SPB times."""
    off, e, ifaces, sec_ifaces, out, last_ts = 0, '<', [], [], [], 0
    while off + 12 <= len(b):
        btype = struct.unpack('<I', b[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            bom = b[off + 8:off + 12]
            e = '<' if bom == b'\x4d\x3c\x2b\x1a' else '>'
        btype, blen = struct.unpack(e + 'II', b[off:off + 8])
        if blen < 12 or off + blen > len(b):
            break  # cut short: the end
        body = b[off + 8:off + blen - 4]
        off += blen
        if btype == 0x0A0D0D0A:
            sec_ifaces = []
        elif btype == 1:
            lt, _, snap = struct.unpack(e + 'HHI', body[:8])
            name, units, tsoff, filt = None, 10**6, 0, ''
            for code, v in options(body[8:], e):
                if code == 2:
                    name = v.split(b'\0')[0].decode('utf-8', 'replace')
                elif code == 9:
                    units = 2 ** (v[0] & 0x7f) if v[0] & 0x80 else 10 ** v[0]
                elif code == 14:
                    tsoff = struct.unpack(e + 'q', v[:8])[0]
                elif code == 11 and v and v[0] == 0:
                    filt = v[1:].split(b'\0')[0].decode('utf-8', 'replace')
            if not name:  # absent or empty
                name = '%s#%d' % (base, len(ifaces))
            ifc = ((name, lt, snap, filt), units, tsoff)
            ifaces.append(ifc)
            sec_ifaces.append(ifc)
        elif btype in (6, 3):
            p = Pkt()
            p.flags, p.comments = 0, []
            if btype == 6:
                ifid, hi, lo, cap, orig = struct.unpack(e + 'IIIII', body[:20])
                (key, units, tsoff) = sec_ifaces[ifid]
                ns = (hi << 32 | lo) * 10**9 // units + tsoff * 10**9
                p.ts = min(max(ns, 0), 2**64 - 1)
                last_ts = p.ts
                data = body[20:20 + cap]
                for code, v in options(body[20 + cap + (-cap % 4):], e):
                    if code == 1:
                        p.comments.append(v)
                    elif code == 2:
                        p.flags = struct.unpack(e + 'I', v[:4])[0]
            else:
                key = sec_ifaces[0][0]
                orig = struct.unpack(e + 'I', body[:4])[0]
                cap = min(orig, len(body) - 4)
                if key[2] and cap > key[2]:
                    cap = key[2]
                data = body[4:4 + cap]
                p.ts = last_ts
            p.iface, p.caplen, p.origlen, p.data = key, cap, orig, data
            out.append(p)
    return out


def read(path, base):
    b = open(path, 'rb').read()
    if b[:4] == b'\x0a\x0d\x0d\x0a':
        return pcapng_packets(b, base)
    return pcap_packets(b, base)


def expected(pkts):
    """The input as the store keeps it, in export order."""
    run = {}
    for i, p in enumerate(pkts):
        if p.origlen < p.caplen:
            p.origlen = p.caplen
        if p.caplen > CAPLEN_MAX:
            p.caplen, p.data = CAPLEN_MAX, p.data[:CAPLEN_MAX]
        run[p.iface] = max(run.get(p.iface, 0), p.ts)
        p.pos = (run[p.iface], i)
    return sorted(pkts, key=lambda p: p.pos)


def pid_of(comments):
    for c in comments:
        m = re.search(rb'(?:^|\n)PID: *(\d+)|(?:^|\s)pid=(\d+)', c, re.I)
        if m:
            return int(m.group(1) or m.group(2))
    return None


def main():
    inp, exp = sys.argv[1], sys.argv[2]
    want = expected(read(inp, os.path.basename(inp)[:39]))
    if len(sys.argv) > 3:
        port = int(sys.argv[3])
        want = [p for p in want if p.iface[1] == 1 and p.data[12:14] == b'\x08\x00' and
                p.data[23] == 17 and port in struct.unpack('!HH', p.data[34:38])]
    got = read(exp, 'export')
    for i in range(min(len(want), len(got))):
        w, g = want[i], got[i]
        wk = (w.iface[0], w.iface[1], w.ts, w.caplen, w.origlen, w.flags)
        gk = (g.iface[0], g.iface[1], g.ts, g.caplen, g.origlen, g.flags)
        if wk != gk or w.data != g.data:
            print('packet %d: input (if, linktype, ns, caplen, origlen, flags) %s, export %s%s'
                  % (i + 1, wk, gk, '' if w.data == g.data else ', bytes differ'))
            return 1
        pid = pid_of(w.comments)
        if pid is not None and pid_of(g.comments) != pid:
            print('packet %d: input comment names pid %d, export comment %r'
                  % (i + 1, pid, g.comments))
            return 1
    if len(want) != len(got):
        print('input has %d packets, export %d' % (len(want), len(got)))
        return 1
    print('%d packets identical' % len(want))
    return 0


if __name__ == '__main__':
    sys.exit(main())
