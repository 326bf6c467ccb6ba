#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# export_check.py - reads a pcapng written by ecap-export block by block and prints what the
# export tests assert on, one "key=value" per line:
#   blocks       the block types in order, compressed (SHB DSB IDB EPB*12 ISB)
#   dsb_first    1 when every DSB comes before the first EPB (or there is no EPB)
#   randoms      the client_randoms of the DSB key log lines, sorted, comma-separated
#   dsb_lines    key log lines in all DSBs
#   epbs         packets; commented / flagged: packets with an opt_comment / epb_flags dir
#   comments     the distinct comments, '|'-separated, newlines as '\n'
#   shb_comment  the SHB's opt_comment, newlines as '\n'; shb_userappl likewise
#   ifrecv       the sum of isb_ifrecv; idbs the interface names
#   ts_sorted    1 when EPB timestamps never go backwards
#   usage: export_check.py FILE
import struct
import sys


def options(body):
    off = 0
    while off + 4 <= len(body):
        code, n = struct.unpack_from('<HH', body, off)
        if code == 0:
            return
        yield code, body[off + 4:off + 4 + n]
        off += 4 + n + (-n % 4)


def main(path):
    d = open(path, 'rb').read()
    off, types, randoms, comments = 0, [], [], set()
    info = {'dsb_lines': 0, 'epbs': 0, 'commented': 0, 'flagged': 0, 'ifrecv': 0,
            'shb_comment': '', 'shb_userappl': '', 'idbs': [], 'ts_sorted': 1}
    dsb_first, seen_epb, last_ts = 1, False, -1
    while off < len(d):
        if off + 12 > len(d):
            sys.exit('truncated block at %d' % off)
        btype, n = struct.unpack_from('<II', d, off)
        if n < 12 or n % 4 or off + n > len(d) or struct.unpack_from('<I', d, off + n - 4)[0] != n:
            sys.exit('bad block length at %d' % off)
        body = d[off + 8:off + n - 4]
        names = {0x0A0D0D0A: 'SHB', 1: 'IDB', 6: 'EPB', 5: 'ISB', 10: 'DSB'}
        types.append(names.get(btype, hex(btype)))
        if btype == 0x0A0D0D0A:
            for code, v in options(body[16:]):
                if code == 1:
                    info['shb_comment'] = v.decode().replace('\n', '\\n')
                if code == 4:
                    info['shb_userappl'] = v.decode()
        elif btype == 1:
            for code, v in options(body[8:]):
                if code == 2:
                    info['idbs'].append(v.decode())
        elif btype == 10:
            if seen_epb:
                dsb_first = 0
            _, ln = struct.unpack_from('<II', body, 0)
            for line in body[8:8 + ln].decode().splitlines():
                if line.strip():
                    info['dsb_lines'] += 1
                    randoms.append(line.split()[1].lower())
        elif btype == 6:
            seen_epb = True
            _, hi, lo, cap, _ = struct.unpack_from('<IIIII', body, 0)
            ts = hi << 32 | lo
            if ts < last_ts:
                info['ts_sorted'] = 0
            last_ts = ts
            info['epbs'] += 1
            for code, v in options(body[20 + cap + (-cap % 4):]):
                if code == 1:
                    info['commented'] += 1
                    comments.add(v.decode().replace('\n', '\\n'))
                if code == 2 and struct.unpack('<I', v)[0] & 3:
                    info['flagged'] += 1
        elif btype == 5:
            for code, v in options(body[12:]):
                if code == 4:
                    info['ifrecv'] += struct.unpack('<Q', v)[0]
        off += n
    compressed, i = [], 0
    while i < len(types):
        j = i
        while j < len(types) and types[j] == types[i]:
            j += 1
        compressed.append(types[i] + ('*%d' % (j - i) if j - i > 1 else ''))
        i = j
    print('blocks=' + ' '.join(compressed))
    print('dsb_first=%d' % dsb_first)
    print('randoms=' + ','.join(sorted(set(randoms))))
    print('comments=' + '|'.join(sorted(comments)))
    info['idbs'] = ','.join(info['idbs'])
    for k, v in info.items():
        print('%s=%s' % (k, v))


if __name__ == '__main__':
    main(sys.argv[1])
