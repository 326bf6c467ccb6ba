#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# mkcorpus.py - writes the round-trip corpus: capture files with every oddity a replay must
# keep or say it changed, for tests/integration/roundtrip.sh (which replays each, exports
# everything and compares packet by packet with roundtrip.py).
#
#   mkcorpus.py DIR
#
#   order.pcapng     two sections, little-endian then big-endian, each with interfaces
#                    eth0 and eth1 (the same store interfaces in both): ties within and
#                    across interfaces, steps back within one interface and across, enough
#                    packets that 4 KiB chunks split them, and a burst of another flow
#                    that fills blocks of its own (16 KiB); if_tsresol 10^-9, 10^-3, 2^-20,
#                    10^-6 with an if_tsoffset
#   lengths.pcapng   snaplen 70 with packets of 82 captured bytes, snaplen 0, SPBs, an
#                    original length below the captured one, custom blocks (CB and DCB), an
#                    NRB, and a last block cut short
#   tsresol.pcapng   one interface per if_tsresol 10^-3 .. 10^-9 and 2^-10, 2^-20, 2^-30,
#                    2^-32, if_tsoffset forward and back
#   frac.pcap        microsecond pcap with fractions out of range, caplen above snaplen, a
#                    300,000-byte packet (stored cut to 262,080), a last record cut short
#   be_ns.pcap       big-endian nanosecond pcap whose times tie and step back
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mkcap import Ng, eth, ipv4, udp  # noqa: E402

T0 = 1764140400  # 2025-11-26T07:00:00Z, whole seconds


def frame(i, size=60, sport=None):
    """An Ethernet/IPv4/UDP frame of size bytes (at least 46) that names packet i; past 64 KiB
    the bytes go on after the datagram, as a capture of a larger frame would hold them."""
    n = max(0, min(size, 65000) - 46)
    payload = struct.pack('!I', i) + bytes((i + k) & 0xff for k in range(n))
    sport = 1000 + i % 7 if sport is None else sport
    f = eth(ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, udp(sport, 53, payload)))
    return f + bytes((i * k) & 0xff for k in range(size - len(f)))


class Ng2(Ng):
    """Ng with the blocks mkcap.Ng lacks: IDBs with any options and snaplen, SPB, custom
    blocks, NRB, and EPBs whose lengths differ."""

    def idb2(self, linktype, snaplen, name, tsresol=None, tsoffset=None):
        opts = self.opt(2, name)
        if tsresol is not None:
            opts += self.opt(9, bytes([tsresol]))
        if tsoffset is not None:
            opts += self.opt(14, struct.pack(self.e + 'q', tsoffset))
        opts += self.opt(0, b'')
        self.block(1, struct.pack(self.e + 'HHI', linktype, 0, snaplen) + opts)

    def epb2(self, ifid, ts, data, origlen=None, flags=0):
        opts = self.opt(2, struct.pack(self.e + 'I', flags)) + self.opt(0, b'') if flags else b''
        pad = data + b'\0' * (-len(data) % 4)
        self.block(6, struct.pack(self.e + 'IIIII', ifid, ts >> 32, ts & 0xffffffff, len(data),
                                  len(data) if origlen is None else origlen) + pad + opts)

    def spb(self, data, origlen):
        self.block(3, struct.pack(self.e + 'I', origlen) + data + b'\0' * (-len(data) % 4))

    def custom(self, btype, pen, data):
        self.block(btype, struct.pack(self.e + 'I', pen) + data)


def order(path):
    ng = Ng2(False)
    n = 0
    for sec, be in enumerate((False, True)):
        ng.e = '>' if be else '<'
        ng.shb()
        if sec == 0:
            ng.idb2(1, 65535, b'eth0', 9)          # ns
            ng.idb2(1, 65535, b'eth1', 3)          # ms
            units = (10**9, 10**3)
        else:
            ng.idb2(1, 65535, b'eth1', 6, 5)       # us, 5 s later
            ng.idb2(1, 65535, b'eth0', 0x80 | 20)  # 2^-20 s
            units = (10**6, 2**20)
        base = T0 + sec * 100
        for i in range(400):
            # interface 0 ticks 1 ms; every 10th packet steps back 3 ms; interface 1 ties
            # with interface 0 every 4th packet and steps back by 2 ms every 7th
            t0 = base * 10**9 + i * 10**6 - (3 * 10**6 if i % 10 == 9 else 0)
            t1 = t0 if i % 4 == 0 else base * 10**9 + i * 10**6 + 500000
            if i % 7 == 3:
                t1 -= 2 * 10**6
            for ifid, t in ((0, t0), (1, t1)):
                off = 5 * 10**9 if (sec == 1 and ifid == 0) else 0
                ts = (t - off) * units[ifid] // 10**9
                ng.epb2(ifid, ts, frame(n, 60 + n % 200), flags=(1 + n % 2) if n % 3 else 0)
                n += 1
            if sec == 0 and i == 200:
                # a burst of another flow on eth0 whose first half runs 20 to 55 ms ahead:
                # with 1 MiB chunks it fills blocks of its own, which an export of
                # one of the other flows skips; the packets of eth0 after it step back
                for k in range(700):
                    ahead = 20 * 10**6 + k * 100000 if k < 350 else 10**6 + k * 1000
                    ts = (t0 + ahead) * units[0] // 10**9
                    ng.epb2(0, ts, frame(n, 200, sport=2000))
                    n += 1
                # two packets with the same time on one interface
                ts = (t0 - (5 * 10**9 if sec == 1 else 0)) * units[0] // 10**9
                ng.epb2(0, ts, frame(n))
                ng.epb2(0, ts, frame(n + 1))
                n += 2
    open(path, 'wb').write(ng.out)


def lengths(path):
    ng = Ng2(False)
    ng.shb()
    ng.idb2(1, 70, b'snap70', 9)
    ng.idb2(1, 0, b'snap0', 9)
    t = T0 * 10**9
    for i in range(20):
        ng.epb2(0, t + i * 1000, frame(i, 82))           # caplen 82 above snaplen 70
        ng.epb2(1, t + i * 1000 + 10, frame(100 + i, 90))
        if i % 5 == 0:
            d = frame(200 + i, 70)
            ng.spb(d, len(d))                           # SPB: no time
            ng.custom(0x00000BAD, 32473, b'copy me\0')
            ng.custom(0x40000BAD, 32473, b'do not copy')
            ng.epb2(1, t + i * 1000 + 20, frame(300 + i, 50), origlen=40)  # origlen < caplen
    ng.block(4, struct.pack('<HH', 0, 0))               # NRB with only its end record
    ng.epb2(0, t + 10**6, frame(999, 64))
    cut = len(ng.out)
    ng.epb2(0, t + 2 * 10**6, frame(998, 64))
    open(path, 'wb').write(ng.out[:cut + 30])          # the last block cut short


def tsresol(path):
    ng = Ng2(True)
    ng.shb()
    resols = [3, 4, 5, 6, 7, 8, 9, 0x80 | 10, 0x80 | 20, 0x80 | 30, 0x80 | 32]
    for k, r in enumerate(resols):
        ng.idb2(1, 65535, b'r%d' % k, r, (-3600 if k % 2 else 7200) if k % 3 == 0 else None)
    for i in range(60):
        k = i % len(resols)
        r = resols[k]
        units = 2 ** (r & 0x7f) if r & 0x80 else 10 ** r
        t_ns = T0 * 10**9 + i * 123456789 + 987
        ts = t_ns * units // 10**9 + (i % 3)
        ng.epb2(k, ts, frame(i))
    open(path, 'wb').write(ng.out)


def pcap_rec(e, sec, frac, data, origlen=None):
    return struct.pack(e + 'IIII', sec, frac, len(data),
                       len(data) if origlen is None else origlen) + data


def frac_pcap(path):
    e = '<'
    out = bytearray(struct.pack(e + 'IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 400000, 1))
    for i in range(30):
        frac = 1500000 + i if i % 10 == 5 else i * 1000
        out += pcap_rec(e, T0 + i, frac, frame(i, 80 if i % 3 else 1200))
    out += pcap_rec(e, T0 + 40, 7, frame(40, 300000))    # stored cut to 262,080
    out += pcap_rec(e, T0 + 41, 8, frame(41, 60), origlen=20)
    last = pcap_rec(e, T0 + 42, 9, frame(42, 60))
    out += last[:len(last) - 10]
    open(path, 'wb').write(out)


def be_ns_pcap(path):
    e = '>'
    out = bytearray(struct.pack(e + 'IHHiIII', 0xa1b23c4d, 2, 4, 0, 0, 96, 1))
    for i in range(300):
        t = T0 * 10**9 + i * 4000 - (9000 if i % 13 == 6 else 0)
        if i % 11 == 0:
            t -= 4000  # ties the packet before
        out += pcap_rec(e, t // 10**9, t % 10**9, frame(i, 60 + i % 30))
    open(path, 'wb').write(out)


def main():
    d = sys.argv[1]
    order(os.path.join(d, 'order.pcapng'))
    lengths(os.path.join(d, 'lengths.pcapng'))
    tsresol(os.path.join(d, 'tsresol.pcapng'))
    frac_pcap(os.path.join(d, 'frac.pcap'))
    be_ns_pcap(os.path.join(d, 'be_ns.pcap'))


if __name__ == '__main__':
    main()
