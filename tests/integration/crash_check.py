#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# crash_check.py - the checks of the crash test (crash_replay.sh) that the shell cannot do
# cheaply: what a killed recorder had committed, and whether it survived recovery.
#
#   snap STORE SNAP [OLD]      write SNAP: every committed chunk row (id segment offset
#                              length) with a SHA-1 of the chunk's bytes in its segment;
#                              hashes of rows that OLD holds unchanged are carried over
#   verify STORE SNAP          every row of SNAP is still in the index at the same place
#                              and its bytes are byte-identical; prints the rows checked
#   prefix STORE FROM_NS TO_NS the chunks whose packets lie in [FROM, TO) hold exactly the
#                              first N packets of the capture read from stdin (pcap, as
#                              gen_traffic writes it; N = their packet count): chunk by chunk
#                              in id order, first_ns and last_ns are those of input packets
#                              k+1 and k+packets. The input timestamps strictly increase, so
#                              equal counts and equal end points leave no room for a hole.
# The index is opened read-only. Exit status 0 when the check holds, 1 with a message if not.
import hashlib
import os
import sqlite3
import struct
import sys


def rows(store):
    db = sqlite3.connect('file:%s/index.db?mode=ro' % store, uri=True)
    try:
        return db.execute('SELECT id, segment, offset, length FROM chunks ORDER BY id').fetchall()
    finally:
        db.close()


def chunk_hash(store, seg, off, length, files):
    f = files.get(seg)
    if f is None:
        f = files[seg] = open('%s/seg-%08u.ecap' % (store, seg), 'rb')
    f.seek(off)
    data = f.read(length)
    if len(data) != length:
        return 'short:%d' % len(data)
    return hashlib.sha1(data).hexdigest()


def load(path):
    out = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                cid, seg, off, length, h = line.split()
                out[int(cid)] = (int(seg), int(off), int(length), h)
    return out


def cmd_snap(store, snap, old=None):
    prev = load(old)
    files = {}
    with open(snap + '.tmp', 'w') as out:
        for cid, seg, off, length in rows(store):
            p = prev.get(cid)
            if p and p[:3] == (seg, off, length):
                h = p[3]
            else:
                h = chunk_hash(store, seg, off, length, files)
            out.write('%d %d %d %d %s\n' % (cid, seg, off, length, h))
    os.rename(snap + '.tmp', snap)
    return 0


def cmd_verify(store, snap):
    want = load(snap)
    have = {r[0]: r[1:] for r in rows(store)}
    files = {}
    bad = 0
    for cid, (seg, off, length, h) in sorted(want.items()):
        if have.get(cid) != (seg, off, length):
            print('chunk %d: was at seg %d offset %d (%d bytes), now %s'
                  % (cid, seg, off, length, have.get(cid)), file=sys.stderr)
            bad += 1
        elif chunk_hash(store, seg, off, length, files) != h:
            print('chunk %d: bytes at seg %d offset %d changed' % (cid, seg, off),
                  file=sys.stderr)
            bad += 1
        if bad > 10:
            break
    print(len(want))
    return 1 if bad else 0


def input_ts(stream):
    hdr = stream.read(24)
    if len(hdr) < 24:
        return
    magic = struct.unpack('<I', hdr[:4])[0]
    if magic not in (0xa1b2c3d4, 0xa1b23c4d):
        raise SystemExit('prefix: input is not a little-endian pcap')
    mult = 1000 if magic == 0xa1b2c3d4 else 1
    while True:
        rec = stream.read(16)
        if len(rec) < 16:
            return
        sec, frac, caplen, _ = struct.unpack('<IIII', rec)
        stream.read(caplen)
        yield sec * 1000000000 + frac * mult


def cmd_prefix(store, lo, hi):
    db = sqlite3.connect('file:%s/index.db?mode=ro' % store, uri=True)
    chunks = db.execute('SELECT id, first_ns, last_ns, packets FROM chunks WHERE first_ns >= ? '
                        'AND first_ns < ? ORDER BY id', (int(lo), int(hi))).fetchall()
    db.close()
    ts = input_ts(sys.stdin.buffer)
    k = 0
    for cid, first, last, n in chunks:
        got = [next(ts, None) for _ in range(n)]
        if None in got:
            print('prefix: chunk %d: the input has fewer than %d packets' % (cid, k + n),
                  file=sys.stderr)
            return 1
        if got[0] != first or got[-1] != last:
            print('prefix: chunk %d holds packets %d..%d of the input? its first/last ts '
                  '%d/%d, the input has %d/%d there: a hole or a reordering'
                  % (cid, k + 1, k + n, first, last, got[0], got[-1]), file=sys.stderr)
            return 1
        k += n
    print(k)
    return 0


def main(argv):
    cmds = {'snap': cmd_snap, 'verify': cmd_verify, 'prefix': cmd_prefix}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__ or 'usage: crash_check.py snap|verify|prefix ...', file=sys.stderr)
        return 2
    return cmds[argv[1]](*argv[2:])


if __name__ == '__main__':
    sys.exit(main(sys.argv))
