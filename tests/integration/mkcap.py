#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# mkcap.py - writes the small capture files the replay tests need, byte by byte, so that the
# tests do not depend on a capture tool for link types, damage, comments and DSBs:
#   udp OUT N                  Ethernet pcap of N UDP packets 127.0.0.1:1000 -> 127.0.0.2:2000
#   linktypes DIR              one TCP connection each in vlan.pcap (802.1Q), sll.pcap,
#                              sll2.pcap, raw.pcap (IPv4), null.pcap (BSD loopback, IPv6)
#   portreuse OUT              two TCP connections on the same 5-tuple (FIN, then a new SYN)
#   tlsdsb OUT [be]            pcapng (big-endian with "be"): an interface "tst0" at ns
#                              resolution and "tst1" (raw IP, us) with one UDP packet, a DSB
#                              with two secrets, a TCP connection whose
#                              ClientHello is split over two segments, ptcpdump comments and
#                              epb_flags on the client's packets
#   ptcpdump IN OUT PID CMD    pcap IN to pcapng OUT with ptcpdump comments on every packet
#   longflow OUT               pcapng of two long-lived TCP flows with process comments amid
#                              16 MB of incompressible UDP: "ssh" (pid 3131 with its Args,
#                              Exe and Start, 127.0.0.1:50022
#                              -> 127.0.0.2:22) sends 5 packets at the start and 5 more 12 s
#                              later, "psql" (pid 4242, 127.0.0.5:50023 -> 127.0.0.6:5432)
#                              one every 250 ms throughout (see retention_long_flow.sh)
# Timestamps start at 1764140400.123456789 so that the tests can check nanoseconds survive.
import struct
import sys

T0_NS = 1764140400123456789
CLIENT_RANDOM = bytes(range(0x20, 0x40))


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4(src, dst, proto, payload):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                      bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, proto, payload):
    return struct.pack('!IHBB16s16s', 6 << 28, len(payload), proto, 64, bytes(src),
                       bytes(dst)) + payload


def tcp(sport, dport, seq, ack, flags, payload=b''):
    return struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, 65535, 0,
                       0) + payload


def udp(sport, dport, payload):
    return struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload


SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08


def conversation(sport=40000, dport=443, payload=b'GET / HTTP/1.0\r\n\r\n', seq0=1000):
    """(from_client, tcp segment) for a whole connection."""
    c, s = seq0, 5000
    out = [(True, tcp(sport, dport, c, 0, SYN)),
           (False, tcp(dport, sport, s, c + 1, SYN | ACK)),
           (True, tcp(sport, dport, c + 1, s + 1, ACK))]
    out.append((True, tcp(sport, dport, c + 1, s + 1, PSH | ACK, payload)))
    c += 1 + len(payload)
    out.append((False, tcp(dport, sport, s + 1, c, PSH | ACK, b'HTTP/1.0 200 OK\r\n\r\n')))
    s += 1 + 19
    out.append((True, tcp(sport, dport, c, s, FIN | ACK)))
    out.append((False, tcp(dport, sport, s, c + 1, FIN | ACK)))
    out.append((True, tcp(sport, dport, c + 1, s + 1, ACK)))
    return out


A4, B4 = [127, 0, 0, 1], [127, 0, 0, 2]
A6 = [0] * 15 + [1]
B6 = [0xfd, 0] + [0] * 13 + [2]


def eth(payload, ethertype=0x0800, vlan=None):
    h = b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01'
    if vlan is not None:
        h += struct.pack('!HH', 0x8100, vlan)
    return h + struct.pack('!H', ethertype) + payload


def pcap(path, linktype, frames, ns=False, be=False, snaplen=65535):
    e = '>' if be else '<'
    with open(path, 'wb') as f:
        f.write(struct.pack(e + 'IHHiIII', 0xa1b23c4d if ns else 0xa1b2c3d4, 2, 4, 0, 0,
                            snaplen, linktype))
        for i, fr in enumerate(frames):
            t = T0_NS + i * 1000000
            frac = t % 1000000000 if ns else (t % 1000000000) // 1000
            f.write(struct.pack(e + 'IIII', t // 1000000000, frac, len(fr), len(fr)) + fr)


def cmd_udp(out, n):
    frames = [eth(ipv4(A4, B4, 17, udp(1000, 2000, b'packet %d' % i))) for i in range(int(n))]
    pcap(out, 1, frames)


def cmd_linktypes(d):
    conv = conversation()
    v4 = [ipv4(A4 if c else B4, B4 if c else A4, 6, seg) for c, seg in conv]
    v6 = [ipv6(A6 if c else B6, B6 if c else A6, 6, seg) for c, seg in conv]
    pcap(d + '/vlan.pcap', 1, [eth(p, 0x0800, vlan=42) for p in v4])
    sll = [struct.pack('!HHH8sH', 4 if c else 0, 772, 6, b'\x02' * 6 + b'\0\0', 0x0800) + p
           for (c, _), p in zip(conv, v4)]
    pcap(d + '/sll.pcap', 113, sll)
    sll2 = [struct.pack('!HHIHBB8s', 0x0800, 0, 1, 772, 4 if c else 0, 6, b'\x02' * 6 + b'\0\0')
            + p for (c, _), p in zip(conv, v4)]
    pcap(d + '/sll2.pcap', 276, sll2, ns=True)
    pcap(d + '/raw.pcap', 101, v4, be=True)
    pcap(d + '/null.pcap', 0, [struct.pack('<I', 24) + p for p in v6])


def cmd_portreuse(out):
    frames = []
    for _ in range(2):
        for c, seg in conversation(sport=41000, dport=8080):
            frames.append(eth(ipv4(A4 if c else B4, B4 if c else A4, 6, seg)))
    pcap(out, 1, frames)


def client_hello():
    body = struct.pack('!H', 0x0303) + CLIENT_RANDOM + b'\0'
    body += struct.pack('!H', 2) + b'\x13\x01' + b'\x01\x00'
    sni = b'example.test'
    ext = struct.pack('!HHHBH', 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
    body += struct.pack('!H', len(ext)) + ext
    hs = b'\x01' + struct.pack('!I', len(body))[1:] + body
    return b'\x16\x03\x01' + struct.pack('!H', len(hs)) + hs


class Ng:
    """A pcapng writer in either byte order."""

    def __init__(self, be):
        self.e = '>' if be else '<'
        self.out = bytearray()

    def block(self, btype, body):
        body += b'\0' * (-len(body) % 4)
        n = len(body) + 12
        self.out += struct.pack(self.e + 'II', btype, n) + body + struct.pack(self.e + 'I', n)

    def opt(self, code, val):
        return struct.pack(self.e + 'HH', code, len(val)) + val + b'\0' * (-len(val) % 4)

    def shb(self):
        self.block(0x0A0D0D0A, struct.pack(self.e + 'IHHq', 0x1A2B3C4D, 1, 0, -1))

    def idb(self, linktype, name, tsresol):
        opts = self.opt(2, name) + self.opt(9, bytes([tsresol])) + self.opt(0, b'')
        self.block(1, struct.pack(self.e + 'HHI', linktype, 0, 0) + opts)

    def dsb(self, text):
        pad = text + b'\0' * (-len(text) % 4)
        self.block(0xA, struct.pack(self.e + 'II', 0x544c534b, len(text)) + pad)

    def epb(self, ifid, ts, data, flags=0, comments=()):
        opts = b''
        for c in comments:
            opts += self.opt(1, c)
        if flags:
            opts += self.opt(2, struct.pack(self.e + 'I', flags))
        if opts:
            opts += self.opt(0, b'')
        pad = data + b'\0' * (-len(data) % 4)
        self.block(6, struct.pack(self.e + 'IIIII', ifid, ts >> 32, ts & 0xffffffff,
                                  len(data), len(data)) + pad + opts)


def cmd_tlsdsb(out, be=''):
    ng = Ng(be == 'be')
    ng.shb()
    ng.idb(1, b'tst0', 9)
    ng.idb(101, b'tst1', 6)
    ng.epb(1, T0_NS // 1000, ipv4(A4, B4, 17, udp(5353, 5353, b'raw')))
    keys = ('CLIENT_RANDOM %s %s\r\n' % (CLIENT_RANDOM.hex(), 'ab' * 48)
            + '# a comment\n'
            + 'CLIENT_TRAFFIC_SECRET_0 %s %s\n' % ('CD' * 32, 'EF' * 32)).encode()
    ng.dsb(keys)
    hello = client_hello()
    conv = conversation(payload=hello)
    comment = b'PID: 4242\nCmd: /usr/bin/curl-with-a-long-name\nArgs: https://example.test/'
    for i, (c, seg) in enumerate(conv):
        ts = T0_NS + i * 1000
        src, dst = (A4, B4) if c else (B4, A4)
        if c and seg[13] & PSH:
            # split the ClientHello over two segments
            sport, dport, seq, ack = struct.unpack('!HHII', seg[:12])
            first = tcp(sport, dport, seq, ack, ACK, hello[:20])
            second = tcp(sport, dport, seq + 20, ack, PSH | ACK, hello[20:])
            for j, part in enumerate((first, second)):
                ng.epb(0, ts + j, eth(ipv4(src, dst, 6, part)), 2,
                       (comment, b'ThreadId: 4243\nThreadName: curl'))
            continue
        ng.epb(0, ts, eth(ipv4(src, dst, 6, seg)), 2 if c else 1,
               (comment,) if c else ())
    with open(out, 'wb') as f:
        f.write(ng.out)


def cmd_ptcpdump(inp, out, pid, cmd, extra=''):
    # extra: more comment lines ("Key: value", separated by '\n' in the argument)
    with open(inp, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    e = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    magic, _, _, _, _, snaplen, linktype = struct.unpack(e + 'IHHiIII', data[:24])
    ns = magic == 0xa1b23c4d
    ng = Ng(False)
    ng.shb()
    ng.idb(linktype & 0xffff, b'', 9)
    off = 24
    comment = ('PID: %s\nCmd: %s\nArgs: -k' % (pid, cmd)).encode()
    if extra:
        comment += b'\n' + extra.replace('\\n', '\n').encode()
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(e + 'IIII', data[off:off + 16])
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ng.epb(0, sec * 1000000000 + (frac if ns else frac * 1000), pkt, 0, (comment,))
    with open(out, 'wb') as f:
        f.write(ng.out)


def cmd_longflow(out):
    import random
    rnd = random.Random(7)
    ms = 1000000
    frames = []  # (ts, ip packet, comment, epb flags)

    def conn(t, a, b, sport, dport, segs, comment):
        for i, (from_client, seg) in enumerate(segs):
            src, dst = (a, b) if from_client else (b, a)
            frames.append((t + i * ms, ipv4(src, dst, 6, seg), comment,
                           2 if from_client else 1))

    ssh = (b'PID: 3131\nCmd: ssh\nArgs: ssh alice@db\nExe: /usr/bin/ssh\n'
           b'Start: 2025-11-26T07:00:00.00Z')
    psql = b'PID: 4242\nCmd: psql'
    L = conversation(50022, 22, b'ls\n')
    conn(0, A4, B4, 50022, 22, L[:5], ssh)
    conn(12200 * ms, A4, B4, 50022, 22,
         [(True, tcp(50022, 22, 1004, 5020, PSH | ACK, b'exit\n'))] + L[4:], ssh)
    K, P = [127, 0, 0, 5], [127, 0, 0, 6]
    conn(0, K, P, 50023, 5432, conversation(50023, 5432)[:3], psql)
    for i in range(1, 56):
        conn(i * 250 * ms, K, P, 50023, 5432,
             [(True, tcp(50023, 5432, 1000 + i, 5001, PSH | ACK, b'select 1;'))], psql)
    U, V = [127, 0, 0, 3], [127, 0, 0, 4]
    for i in range(13500):
        t = (100 + i + (200 if i >= 12000 else 0)) * ms
        frames.append((t, ipv4(U, V, 17, udp(5000, 6000, rnd.randbytes(1200))), None, 0))
    frames.sort(key=lambda f: f[0])
    ng = Ng(False)
    ng.shb()
    ng.idb(1, b'lo', 9)
    for ts, ip, comment, flags in frames:
        ng.epb(0, T0_NS + ts, eth(ip), flags, (comment,) if comment else ())
    with open(out, 'wb') as f:
        f.write(ng.out)


if __name__ == '__main__':
    cmds = {'udp': cmd_udp, 'linktypes': cmd_linktypes, 'portreuse': cmd_portreuse,
            'tlsdsb': cmd_tlsdsb, 'ptcpdump': cmd_ptcpdump, 'longflow': cmd_longflow}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit('usage: mkcap.py {%s} ARGS...' % ','.join(cmds))
    cmds[sys.argv[1]](*sys.argv[2:])
