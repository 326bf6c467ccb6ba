#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench_tls_report.py - the table of tools/bench_tls_libs.sh (section 7 of BENCHMARKS.md).

  bench_tls_report.py RESULTS FACTS OUT

RESULTS: one line per client run, tab-separated: RUN WAY LIB MODE N CPU_US WALL_US REC_START_S
REC_LOOP_S OTHERS (WAY "none" or "ecap"; CPU_US the client's own CPU over its N operations;
REC_START_S ecap-rec's CPU from the client's exec to its first counted operation, REC_LOOP_S
from there to DRAIN seconds after its end; OTHERS other ecap-rec processes on the machine).
FACTS: KEY<tab>VALUE lines. Writes the section's markdown to OUT; exit 1 when a row is missing.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_report import Table, fnum  # noqa: E402


class Runs:
    def __init__(self, path):
        self.rows = []
        with open(path) as f:
            for line in f:
                run, way, lib, mode, n, cpu, wall, rstart, rloop, others = line.split('\t')
                self.rows.append(dict(run=int(run), way=way, lib=lib, mode=mode, n=int(n),
                                      cpu=float(cpu), wall=float(wall), start=float(rstart),
                                      rec=float(rloop), others=int(others)))

    def per_op(self, lib, mode, way, field='cpu', per=True):
        """One value per run, in us: FIELD per operation (PER), or in all."""
        scale = 1 if field == 'cpu' else 1e6
        return [r[field] * scale / (r['n'] if per else 1) for r in self.rows
                if (r['lib'], r['mode'], r['way']) == (lib, mode, way)]


def med(vs):
    return statistics.median(vs) if vs else None


def spread(vs, unit='us', scale=1):
    """The median and the range of the runs: '512 us (498-530)'."""
    if not vs:
        return 'MISSING'
    return '%s (%s-%s)' % (fnum(med(vs) * scale, unit), fnum(min(vs) * scale),
                           fnum(max(vs) * scale))


def extra(a, b):
    """What B (with ecap-rec) costs more than A (without), median against median."""
    ma, mb = med(a), med(b)
    if ma is None or mb is None:
        return 'MISSING'
    return '%+.1f us (%+.0f%%)' % (mb - ma, 100 * (mb - ma) / ma)


def main():
    res, facts_path, outp = sys.argv[1:4]
    facts = {}
    with open(facts_path) as f:
        for line in f:
            k, _, v = line.rstrip('\n').partition('\t')
            facts[k] = v
    d = Runs(res) if os.path.exists(res) else Runs(os.devnull)
    runs, nhs, nwr, size, drain = facts['params'].split()
    libs = [k[4:-5] for k in facts if k.startswith('lib.') and k.endswith('.desc')]

    class Missing:
        missing = []
    out = ['## 7. TLS libraries: what a probed process pays, and ecap-rec per session\n']
    out.append(
        'Written by `tools/bench_tls_libs.sh` on %s (took %s s), commit %s; load average %s at '
        'the start, %s at the end, on %s cores shared with other work. Each client makes %s full '
        'TLS handshakes to `openssl s_server` on 127.0.0.1 (one TCP connection each, TLS 1.3, '
        'ECDSA P-256 certificate not checked), then, in another run, %s writes of %s bytes on '
        'one session; it measures its own CPU (getrusage, user + system, all threads) over '
        'those operations alone, after a first one that is not counted and half a second in '
        'which the recorder attaches its probes at the exec. Three ways: no recorder; '
        '`ecap-rec --no-tls -i lo \'tcp port 4433\'` (capture alone: its TC program runs in the '
        'client\'s context for every packet the client sends or receives); and `ecap-rec` the '
        'same with its TLS probes. The server runs on a deleted copy of libssl.so.3, which ecap '
        'does not probe, so only the client\'s probes count. %s runs each way, the ways taking '
        'turns in a different order in each run; median, with the range of the runs in '
        'brackets; "probes" is the median with ecap-rec less the median with --no-tls, '
        '"recording" the median with ecap-rec less the median without a recorder. Instruction '
        'counts are not given: this VM has no hardware counters (`perf stat -e instructions` '
        'is "not supported").\n'
        % (facts.get('date'), facts.get('elapsed', '?'), facts.get('commit'),
           facts.get('loadavg.start'), facts.get('loadavg.end'), facts.get('nproc', '?'),
           nhs, nwr, size, runs))

    def client_table(mode, what):
        out.append('Client CPU per %s:\n' % what)
        t = Table(out, Missing, ['client (TLS library)', 'no recorder', 'ecap-rec --no-tls',
                                 'ecap-rec', 'recording costs', 'of which the probes'])
        for lib in libs:
            desc = facts['lib.%s.desc' % lib]
            if 'lib.%s.status' % lib in facts:
                out.append('| %s | not run: %s |' % (desc, facts['lib.%s.status' % lib]) +
                           ' |' * 4)
                continue
            n, c, e = (d.per_op(lib, mode, w) for w in ('none', 'capture', 'ecap'))
            t.row(desc, [spread(n), spread(c), spread(e), extra(n, e), extra(c, e)])
        out.append('')
    client_table('handshakes', 'full handshake (TCP connect and close included)')
    client_table('writes', '%s-byte write on an open session' % size)

    out.append('ecap-rec\'s CPU:\n')
    t = Table(out, Missing, ['client (TLS library)', 'per TLS session', 'per TLS session, '
                             '--no-tls', 'per write', 'per write, --no-tls',
                             'per client start', 'per client start, --no-tls'])
    for lib in libs:
        if 'lib.%s.status' % lib in facts:
            continue
        cells = []
        for mode, field, per, unit, scale in (('handshakes', 'rec', True, 'us', 1),
                                              ('writes', 'rec', True, 'us', 1),
                                              ('handshakes', 'start', False, 'ms', 1e-3)):
            for w in ('ecap', 'capture'):
                cells.append(spread(d.per_op(lib, mode, w, field, per), unit, scale))
        t.row(facts['lib.%s.desc' % lib], cells)
    out.append('')
    idle = {w: [float(v) for k, v in facts.items() if k.startswith('idle.%s.' % w)]
            for w in ('ecap', 'capture')}
    sess = {'%s.%s' % (k, w): ', '.join(facts.get('%s.%s.%d' % (k, w, i + 1), '?')
                                        for i in range(int(runs)))
            for k in ('sessions', 'secrets') for w in ('ecap', 'capture')}
    others = max([r['others'] for r in d.rows] or [0])
    hs = [r for r in d.rows if r['way'] == 'ecap' and r['mode'] == 'handshakes']
    idle_us = med(idle['ecap']) * 1e6 if idle['ecap'] else None
    share = (med([idle_us * (r['wall'] / 1e6 + float(drain)) / r['n'] for r in hs])
             if hs and idle_us is not None else None)
    out.append(
        'ecap-rec\'s CPU (/proc/PID/task/*/schedstat) is sampled before the client\'s exec, '
        'when the client begins its counted operations, and %s s after its end (the ring '
        'drains every 100 ms); per TLS session or per write: the second interval over N. '
        '"Per client start": the first interval, in which ecap-rec finds and probes the '
        'client\'s executable and libraries (the probes attach at the exec) and records its '
        'first session. These include what the recorder does with no traffic of ours: %s per '
        'second with its probes, %s with --no-tls (median of a 1 s sample per run, with other '
        'users\' builds and tests running: ecap-rec looks at every exec on the machine). At '
        'that rate the background alone comes to about %s per session of a handshake run, of '
        'the order of the figures themselves, which are therefore upper bounds on what a TLS '
        'session costs the recorder. TLS sessions recorded per recorder run: %s (expected '
        '%s: every handshake of every client), with %s secrets (five per TLS 1.3 session, '
        'four from Go, which logs no exporter secret; more are other processes\' on the machine: '
        'the probes are on library files, for every process, and the port filter limits the '
        'packets, not the secrets, so their work is in the recorder\'s figures too); with '
        '--no-tls: %s sessions (seen on the wire) and %s secrets. Other ecap-rec processes on '
        'the machine during the runs (other users\' tests; their probes on the same library '
        'files would be paid by the clients too): at most %d.\n'
        % (drain, fnum(idle_us / 1e3 if idle_us is not None else None, 'ms'),
           fnum(med(idle['capture']) * 1e3 if idle['capture'] else None, 'ms'),
           fnum(share, 'us'), sess['sessions.ecap'], facts.get('expected.sessions', '?'),
           sess['secrets.ecap'], sess['sessions.capture'], sess['secrets.capture'], others))
    for k, v in sorted(facts.items()):
        if k.startswith('fail.'):
            out.append('Failed: %s: %s\n' % (k[5:], v))
    with open(outp, 'w') as f:
        f.write('\n'.join(out) + '\n')
    if Missing.missing:
        print('bench_tls_report: rows not produced: ' + '; '.join(Missing.missing),
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
