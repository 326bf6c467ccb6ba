#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench_sparse_report.py - the table of tools/bench_sparse.sh: section 10 of BENCHMARKS.md
(replaced when there, else appended), from the runs (bench_report.py measure) and facts it
wrote.

    bench_sparse_report.py RUNS.jsonl FACTS.tsv OUT.md

Exit status 1 when a row could not be produced (a figure missing, packet counts that
differ)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_report import Data, Table, fnum, fratio, ratio, verdict  # noqa: E402

HEAD = '## 10. Long-lived sparse flows'
GOAL_RATIO = 0.05      # ecap-export <= 1/20 of tcpdump (issues 7 and 17)
GOAL_PER_PACKET_US = 50  # <= 50 us per exported packet, each in another chunk (issue 17)


def per_packet(d, label, field, n):
    t = d.med(label, field)
    return t * 1e6 / n if t is not None and n else None


def judge(d, ok):
    return 'not judged (--quick)' if d.fact('mode') == 'quick' else verdict(ok)


def section(d):
    out = []
    runs = int(d.fact('runs') or 0)
    sizes = (d.fact('sizes') or '').split()
    out.append(HEAD + ' (issue 17; `tools/bench_sparse.sh`)\n')
    out.append('Written by `tools/bench_sparse.sh%s` on %s (took %s s), commit %s; load average '
               '%s at the start, %s at the end (2 cores shared with other work; ecap and tcpdump '
               'ran in turns on the same load, so goals are judged on CPU time, user + system, '
               'and wall times are given beside). %s\n'
               % (' --quick' if d.fact('mode') == 'quick' else '', d.fact('date'),
                  d.fact('elapsed') or '?', d.fact('commit') or '?',
                  d.fact('loadavg.start') or '?', d.fact('loadavg.end') or '?',
                  d.fact('versions') or ''))
    out.append('Each store is `ecap-rec --replay` of a generated pcap (the inputs of all sizes '
               'come from one seed: the smaller are prefixes of the larger). The sparse flow '
               '(`%s`) has a 100-byte segment every %s s of capture time over the whole input, '
               'as an SSH session or a beacon: chunks close about every 0.07 s of this capture, '
               'so each of its packets is in another chunk. The dense flow (`%s`) is one '
               'connection from the middle of the smallest input. ecap-export writes a signed '
               'export (`-o FILE`, with its proof); tcpdump filters the same packets from the '
               'pcap (`tcpdump -r PCAP -w OUT FILTER`), both in the page cache. Times: medians '
               'of %d runs. Segment preads and opens: those of the store\'s segment files, '
               'counted by strace in one more run (the index\'s and the libraries\' are left '
               'out).\n'
               % (d.fact('sparse.spec') or '?', d.fact('every') or '?',
                  d.fact('dense.spec') or '?', runs))
    t = Table(out, d, ['input pcap', 'store (chunks)', 'flow', 'packets ecap / tcpdump',
                       'ecap-export CPU / wall', 'tcpdump CPU / wall', 'ecap/tcpdump CPU / wall',
                       'ecap CPU per exported packet', 'segment preads / opens per packet',
                       'goal', 'result'])
    for s in sizes:
        for q in ('sparse', 'dense'):
            p = '%s.%s' % (s, q)
            ne, nt = d.fact(p + '.n_ecap'), d.fact(p + '.n_tcpdump')
            if ne is None or ne != nt:
                d.missing.append('%s (packet counts differ)' % p)
            n = d.num(p + '.n_ecap')
            ce, we = d.med(p + '.ecap', 'cpu'), d.med(p + '.ecap', 'wall')
            ct, wt = d.med(p + '.tcpdump', 'cpu'), d.med(p + '.tcpdump', 'wall')
            r = ratio(ce, ct)
            pr, op = d.num(p + '.preads'), d.num(p + '.opens')
            sc = '%s / %s' % (fnum(pr / n if pr is not None and n else None),
                              fnum(op / n if op is not None and n else None))
            store = '%s (%s)' % (fnum((d.num(s + '.store_bytes') or 0) / 1e6, 'MB', 0),
                                 d.fact(s + '.chunks') or '?')
            t.row('%s MB' % fnum(float(s) / 1e6, digits=0),
                  [store, q, '%s / %s' % (ne or 'MISSING', nt or 'MISSING'),
                   '%s / %s' % (fnum(ce, 's'), fnum(we, 's')),
                   '%s / %s' % (fnum(ct, 's'), fnum(wt, 's')),
                   '%s / %s' % (fratio(ce, ct), fratio(we, wt)),
                   fnum(per_packet(d, p + '.ecap', 'cpu', n), 'us'), sc, '<= 1/20 of tcpdump',
                   judge(d, None if r is None else r <= GOAL_RATIO)])
    out.append('')
    if len(sizes) < 2:
        # not missing: one size was asked for, and a slope needs two
        out.append('(One store size: no slope of the cost of one more exported packet.)\n')
        return out
    a, b = sizes[0], sizes[-1]
    out.append('What one more exported packet costs: the slope of ecap-export\'s time between '
               'the smallest and the largest store, over the packets it exported more, so that '
               'the process\'s fixed start-up (loading its libraries, opening the index, reading '
               'the store key, writing and syncing the proof) is left out; the table\'s "per '
               'exported packet" is the whole run over its packets.\n')
    t = Table(out, d, ['flow', 'packets, smallest / largest store', 'CPU per packet',
                       'wall per packet', 'goal', 'result'])
    na, nb = d.num('%s.sparse.n_ecap' % a), d.num('%s.sparse.n_ecap' % b)
    slope = {}
    for f in ('wall', 'cpu'):
        ta, tb = d.med('%s.sparse.ecap' % a, f), d.med('%s.sparse.ecap' % b, f)
        slope[f] = ((tb - ta) * 1e6 / (nb - na)
                    if None not in (ta, tb, na, nb) and nb > na else None)
    ok = None if slope['cpu'] is None else slope['cpu'] <= GOAL_PER_PACKET_US
    t.row('sparse', ['%s / %s' % (fnum(na, digits=0), fnum(nb, digits=0)),
                     fnum(slope['cpu'], 'us'), fnum(slope['wall'], 'us'),
                     '<= 50 us per exported packet', judge(d, ok)])
    te = ratio(d.med('%s.dense.ecap' % b, 'cpu'), d.med('%s.dense.ecap' % a, 'cpu'))
    sg = ratio(d.num(b + '.store_bytes'), d.num(a + '.store_bytes'))
    ok = None if te is None or sg is None else te <= 1 + (sg - 1) / 2
    out.append('\nThe dense flow, largest store against smallest: the store grows %s, '
               'ecap-export\'s CPU time %s. Goal (less than half the store\'s growth): %s.\n'
               % (fratio(sg, 1), fratio(te, 1), judge(d, ok)))
    return out


def main():
    if len(sys.argv) != 4:
        print('usage: bench_sparse_report.py RUNS.jsonl FACTS.tsv OUT.md', file=sys.stderr)
        return 2
    d = Data(sys.argv[1], sys.argv[2])
    text = '\n'.join(section(d)).rstrip('\n') + '\n'
    outp = sys.argv[3]
    try:
        with open(outp) as f:
            old = f.read()
    except OSError:
        old = ''
    m = re.search('^' + re.escape(HEAD) + '.*?(?=^## |\\Z)', old, re.M | re.S)
    if m:
        new = old[:m.start()] + text + ('\n' + old[m.end():] if old[m.end():] else '')
    else:
        new = old.rstrip('\n') + ('\n\n' if old else '') + text
    with open(outp, 'w') as f:
        f.write(new)
    if d.missing:
        print('bench_sparse_report: rows not produced: ' + '; '.join(d.missing),
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
