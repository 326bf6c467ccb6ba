#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench_report.py - the measuring and reporting half of tools/bench.sh.

bench.sh runs the commands; this file times them and writes the table. Subcommands:

  measure RUNS LABEL -- CMD...  run CMD (stdin /dev/null, stdout and stderr inherited), append
                                one JSON line to RUNS: label, wall seconds, user and system CPU
                                seconds and peak RSS (KiB) of CMD from wait4(); exit with CMD's
                                status (128+N when killed by signal N)
  fact FACTS KEY VALUE          record a fact (the last value of a key wins)
  pick PCAP [FRACTION]          the first TCP SYN at or after FRACTION (default 0.5) of the file's
                                bytes: prints "CLIENT CPORT SERVER SPORT EPOCH_SECONDS"
  count FILE                    packets in a pcap or pcapng file
  procstat PID                  "CPU_SECONDS VMHWM_KIB VMRSS_KIB RSSANON_KIB BPFMAPS_KIB" of a
                                running process (CPU from the threads' schedstat, in ns;
                                BPFMAPS: resident BPF map mappings)
  lostat                        loopback tx packets and bytes: "PACKETS BYTES"
  evict PATH...                 write back and drop the page cache of files (dirs: their files)
  json FILE KEY                 a top-level number or string of a JSON document (ecap-ls --json)
  report RUNS FACTS OUT MODE    write the markdown table; MODE full or quick. In quick mode,
                                exit 1 when a row was not produced (timings are never judged)

Facts and runs are plain files in the bench's work directory; bench.sh documents the keys.
"""
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import time


def die(msg):
    print('bench_report: ' + msg, file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------- measuring

def cmd_measure(args):
    if len(args) < 4 or args[2] != '--':
        die('usage: measure RUNS LABEL -- CMD...')
    runs, label, cmd = args[0], args[1], args[3:]
    t0 = time.perf_counter()
    try:
        pid = os.posix_spawnp(cmd[0], cmd, os.environ,
                              file_actions=[(os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0)])
    except OSError as e:
        die('cannot run %s: %s' % (cmd[0], e.strerror))
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        rc = 128 - rc
    rec = {'label': label, 'wall': wall, 'user': ru.ru_utime, 'sys': ru.ru_stime,
           'rss_kb': ru.ru_maxrss, 'rc': rc}
    with open(runs, 'a') as f:
        f.write(json.dumps(rec) + '\n')
    sys.exit(rc)


def cmd_fact(args):
    if len(args) != 3:
        die('usage: fact FACTS KEY VALUE')
    with open(args[0], 'a') as f:
        f.write('%s\t%s\n' % (args[1], args[2].replace('\n', ' ').replace('\t', ' ')))


def pcap_records(path):
    """Yields (offset, ts_seconds, caplen, origlen, file) of a classic pcap file's records; the
    file is positioned at the record's data."""
    with open(path, 'rb') as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return
        magic = struct.unpack('<I', hdr[:4])[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            end = '<'
        elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
            end = '>'
        else:
            raise ValueError('%s: not a classic pcap file' % path)
        nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
        off = 24
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, cl, ol = struct.unpack(end + 'IIII', h)
            yield off, sec + frac / (1e9 if nano else 1e6), cl, ol, f
            off += 16 + cl


def cmd_pick(args):
    path = args[0]
    frac = float(args[1]) if len(args) > 1 else 0.5
    start = int(os.path.getsize(path) * frac)
    for off, ts, cl, _, f in pcap_records(path):
        if off < start:
            f.seek(cl, 1)
            continue
        d = f.read(cl)
        if len(d) < 54 or d[12:14] != b'\x08\x00' or d[23] != 6:
            continue
        ihl = (d[14] & 15) * 4
        t = d[14 + ihl:]
        if len(t) < 14 or not (t[13] & 0x02) or (t[13] & 0x10):
            continue
        sp, dp = struct.unpack('>HH', t[:4])
        print('%s %d %s %d %d' % ('.'.join(map(str, d[26:30])), sp,
                                  '.'.join(map(str, d[30:34])), dp, int(ts)))
        return
    die('%s: no TCP SYN after %.0f%% of the file' % (path, frac * 100))


def count_packets(path, want_bytes=False):
    n, b = count_blocks(path)
    return (n, b) if want_bytes else n


def count_blocks(path):
    """Packets in a pcap or pcapng file and the sum of their original (wire) lengths."""
    with open(path, 'rb') as f:
        head = f.read(4)
    if len(head) < 4:
        return 0, 0
    n = b = 0
    if struct.unpack('<I', head)[0] == 0x0A0D0D0A:
        with open(path, 'rb') as f:
            end = '<'
            while True:
                h = f.read(12)
                if len(h) < 12:
                    return n, b
                btype = struct.unpack(end + 'I', h[:4])[0]
                if btype == 0x0A0D0D0A:
                    end = '<' if h[8:12] == b'\x4d\x3c\x2b\x1a' else '>'
                    btype = struct.unpack(end + 'I', h[:4])[0]
                blen = struct.unpack(end + 'I', h[4:8])[0]
                if blen < 12:
                    raise ValueError('%s: bad block length' % path)
                if btype in (6, 2):   # EPB, obsolete PB: original length at +24
                    body = f.read(16)
                    if len(body) < 16:
                        return n, b
                    n += 1
                    b += struct.unpack(end + 'I', body[12:16])[0]
                    f.seek(blen - 28, 1)
                    continue
                if btype == 3:        # SPB: original length at +8
                    n += 1
                    b += struct.unpack(end + 'I', h[8:12])[0]
                f.seek(blen - 12, 1)
    for _, _, cl, ol, f in pcap_records(path):
        b += ol
        f.seek(cl, 1)
        n += 1
    return n, b


def cmd_count(args):
    n, b = count_blocks(args[0])
    print('%d %d' % (n, b) if args[1:] == ['bytes'] else n)


def cmd_procstat(args):
    pid = args[0]
    # CPU time in nanoseconds, summed over the threads (/proc/PID/task/*/schedstat, first
    # field): utime+stime of /proc/PID/stat count in 10 ms ticks, too coarse for loads that
    # cost a recorder a few tens of milliseconds.
    cpu = None
    try:
        ns = 0
        for tid in os.listdir('/proc/%s/task' % pid):
            with open('/proc/%s/task/%s/schedstat' % (pid, tid)) as f:
                ns += int(f.read().split()[0])
        cpu = ns / 1e9
    except (OSError, ValueError, IndexError):
        pass
    if cpu is None:
        with open('/proc/%s/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    hwm = rss = anon = 0
    with open('/proc/%s/status' % pid) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                hwm = int(line.split()[1])
            elif line.startswith('VmRSS:'):
                rss = int(line.split()[1])
            elif line.startswith('RssAnon:'):
                anon = int(line.split()[1])
    # Resident BPF maps (the capture ring buffer) are mapped files, not heap.
    bpf, name = 0, ''
    try:
        with open('/proc/%s/smaps' % pid) as f:
            for line in f:
                if re.match(r'^[0-9a-f]+-[0-9a-f]+ ', line):
                    parts = line.split()
                    name = parts[5] if len(parts) > 5 else ''
                elif line.startswith('Rss:') and name == 'anon_inode:bpf-map':
                    bpf += int(line.split()[1])
    except OSError:
        pass
    print('%.4f %d %d %d %d' % (cpu, hwm, rss, anon, bpf))


def cmd_lostat(args):
    base = '/sys/class/net/lo/statistics/'
    with open(base + 'tx_packets') as f:
        p = f.read().strip()
    with open(base + 'tx_bytes') as f:
        b = f.read().strip()
    print(p, b)


def cmd_evict(args):
    files = []
    for p in args:
        if os.path.isdir(p):
            files += [os.path.join(p, n) for n in sorted(os.listdir(p))]
        else:
            files.append(p)
    for p in files:
        if not os.path.isfile(p):
            continue
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cmd_json(args):
    with open(args[0]) as f:
        doc = json.load(f)
    v = doc
    for k in args[1].split('.'):
        v = v[k]
    print(v)


# ---------------------------------------------------------------- reporting

class Data:
    def __init__(self, runs_path, facts_path):
        self.runs = {}
        self.facts = {}
        self.all = {}          # every value of a fact written more than once, in order
        if os.path.exists(runs_path):
            with open(runs_path) as f:
                for line in f:
                    r = json.loads(line)
                    self.runs.setdefault(r['label'], []).append(r)
        if os.path.exists(facts_path):
            with open(facts_path) as f:
                for line in f:
                    k, _, v = line.rstrip('\n').partition('\t')
                    self.facts[k] = v
                    self.all.setdefault(k, []).append(v)
        self.missing = []

    def fact(self, key):
        return self.facts.get(key)

    def num(self, key, run=None):
        """A number; run: the value the run-th write gave (repeated live runs)."""
        v = self.facts.get(key)
        if run is not None:
            vs = self.all.get(key, [])
            v = vs[run] if run < len(vs) else None
        try:
            return float(v)
        except (TypeError, ValueError):
            return None

    def median_run(self, cpu_key, bytes_key):
        """Of repeated live runs, the one with the median CPU per byte (None: no run)."""
        per = []
        for i in range(len(self.all.get(cpu_key, []))):
            c, b = self.num(cpu_key, i), self.num(bytes_key, i)
            if c is not None and b:
                per.append((c / b, i))
        if not per:
            return None
        per.sort()
        return per[(len(per) - 1) // 2][1]

    def ok_runs(self, label):
        return [r for r in self.runs.get(label, []) if r['rc'] == 0]

    def med(self, label, field):
        rs = self.ok_runs(label)
        if not rs:
            return None
        if field == 'cpu':
            return statistics.median(r['user'] + r['sys'] for r in rs)
        return statistics.median(r[field] for r in rs)

    def nruns(self, label):
        return len(self.ok_runs(label))


def fnum(v, unit='', digits=None):
    if v is None:
        return 'MISSING'
    if digits is None:
        a = abs(v)
        digits = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 0.1 else 3
    s = '{:,.{d}f}'.format(v, d=digits)
    return s + (' ' + unit if unit else '')


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fratio(a, b):
    r = ratio(a, b)
    return 'MISSING' if r is None else ('%.3fx' % r if r < 0.1 else '%.2fx' % r)


def verdict(ok):
    if ok is None:
        return 'MISSING'
    return 'met' if ok else '**missed**'


class Table:
    def __init__(self, out, data, head):
        self.out, self.data, self.n = out, data, len(head)
        out.append('| ' + ' | '.join(head) + ' |')
        out.append('|' + '---|' * len(head))

    def row(self, name, cells):
        cells = [str(c) for c in cells]
        if any('MISSING' in c for c in cells):
            self.data.missing.append(name)
        self.out.append('| ' + ' | '.join([name] + cells) + ' |')


def machine(out, d):
    model = cores = '?'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
        cores = os.cpu_count()
    except OSError:
        pass
    mem = '?'
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemTotal:'):
                mem = '%.1f GiB' % (int(line.split()[1]) / 1048576)
    du = shutil.disk_usage(d.fact('tmpdir') or '/tmp')
    fs = d.fact('tmpfs') or '?'
    out.append('| | |')
    out.append('|---|---|')
    out.append('| CPU | %s, %s cores (online: %s) |' % (model, cores, d.fact('nproc') or '?'))
    out.append('| Memory | %s |' % mem)
    out.append('| Kernel | %s %s (%s) |' % (platform.system(), platform.release(),
                                           d.fact('os') or '?'))
    out.append('| Disk | work files in %s on %s: %.0f GiB free of %.0f GiB |' % (
        d.fact('tmpdir'), fs, du.free / 2**30, du.total / 2**30))
    out.append('| Load average | at start %s, at end %s (other work on the machine shows here) |'
               % (d.fact('loadavg.start'), d.fact('loadavg.end')))
    out.append('| Tools | %s |' % (d.fact('versions') or '?'))
    out.append('| ecap | commit %s, build %s |' % (d.fact('commit'), d.fact('build')))


def plural(n, word):
    return '%s %s%s' % (n, word, '' if str(n) == '1' else 's')


def runs_note(d, label, want):
    n = d.nruns(label)
    return '' if n >= want else ' (%d run%s)' % (n, '' if n == 1 else 's')


def kept_sections(path):
    """The sections 7 and later of an existing report: other scripts write them
    (tools/bench_tls_libs.sh section 7, tools/bench_fleet.sh section 8, tools/bench_sparse.sh
    section 10), so a run of this
    one keeps them as they are."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return []
    m = re.search(r'^## ([7-9]|[1-9][0-9])\. ', text, re.M)
    return [text[m.start():].rstrip('\n')] if m else []


def section_ingest(out, d, want):
    out.append('## 1. Ingest: `ecap-rec --replay` vs `tcpdump -r FILE -w OUT`\n')
    size = d.num('ingest.bytes')
    pk = d.num('ingest.packets')
    out.append('Input: %s bytes of generated pcap, %s packets, %s TCP connections plus DNS '
               'exchanges (%s flows in the store), nanosecond timestamps. ecap parses, tracks '
               'flows, compresses (LZ4), indexes (SQLite) and fsyncs; tcpdump copies records. '
               'Medians of %s, input in the page cache, outputs on the same disk. The goal is '
               'judged against the plain copy, which leaves its output in the page cache.\n'
               % (fnum(size, digits=0), fnum(pk, digits=0), d.fact('ingest.connections'),
                  d.fact('ingest.flows'), plural(want, 'run')))
    t = Table(out, d, ['figure', 'ecap-rec --replay', 'tcpdump -r -w', 'ours/theirs',
                       'goal', 'result'])
    ow, tw = d.med('ingest.ecap', 'wall'), d.med('ingest.tcpdump', 'wall')
    r = ratio(ow, tw)
    t.row('wall time', [fnum(ow, 's') + runs_note(d, 'ingest.ecap', want),
                        fnum(tw, 's') + runs_note(d, 'ingest.tcpdump', want), fratio(ow, tw),
                        '<= 2x tcpdump', verdict(None if r is None else r <= 2.0)])
    ts = d.med('ingest.tcpdump_sync', 'wall')
    t.row('wall time vs a durable copy (tcpdump, then fsync of its output)',
          [fnum(ow, 's'), fnum(ts, 's') + runs_note(d, 'ingest.tcpdump_sync', want),
           fratio(ow, ts), 'information', ''])
    oc, tc = d.med('ingest.ecap', 'cpu'), d.med('ingest.tcpdump', 'cpu')
    t.row('CPU time (user+sys)', [fnum(oc, 's'), fnum(tc, 's'), fratio(oc, tc), '', ''])
    rate = lambda n, w: None if n is None or w is None or w == 0 else n / w
    t.row('packets/s', [fnum(rate(pk, ow), digits=0), fnum(rate(pk, tw), digits=0),
                        fratio(rate(pk, ow), rate(pk, tw)), '', ''])
    mb = None if size is None else size / 1e6
    t.row('MB/s', [fnum(rate(mb, ow)), fnum(rate(mb, tw)), fratio(rate(mb, ow), rate(mb, tw)),
                   '', ''])
    orss, trss = d.med('ingest.ecap', 'rss_kb'), d.med('ingest.tcpdump', 'rss_kb')
    t.row('peak RSS', [fnum(None if orss is None else orss / 1024, 'MiB'),
                       fnum(None if trss is None else trss / 1024, 'MiB'),
                       fratio(orss, trss), '', ''])
    out.append('')


QUERIES = [('tuple', 'one connection'), ('client', 'one host (a client)'),
           ('server', 'one host (a server)'), ('window', 'one 10-second window')]


def section_retrieval(out, d, want):
    out.append('## 2. Retrieval: `ecap-export` vs `tcpdump -r FILE -w OUT FILTER` and '
               '`tshark -r FILE -Y FILTER -w OUT`\n')
    out.append('From the store of section 1 (ecap) and the same packets as one pcap (tcpdump, '
               'tshark), all files in the page cache. tcpdump has no time filter: for the window '
               'the "tcpdump" column is `editcap -A START -B END` (Wireshark\'s tool for time '
               'slices). Counts: packets in each output file; they must agree. Medians of %s '
               'unless noted.\n' % plural(want, 'run'))
    t = Table(out, d, ['query', 'packets ecap / tcpdump / tshark', 'ecap-export',
                       'tcpdump', 'tshark', 'ecap/tcpdump', 'ecap/tshark', 'goal', 'result'])
    for q, name in QUERIES:
        p = 'ret.' + q
        ne, nt, ns = d.fact(p + '.n_ecap'), d.fact(p + '.n_tcpdump'), d.fact(p + '.n_tshark')
        agree = ne is not None and ne == nt and ne == ns
        counts = '%s / %s / %s%s' % (ne or 'MISSING', nt or 'MISSING', ns or 'MISSING',
                                     '' if agree else ' **DIFFER**')
        if not agree:
            d.missing.append('%s (packet counts differ)' % name)
        oe, ot, os_ = (d.med(p + '.' + w, 'wall') for w in ('ecap', 'tcpdump', 'tshark'))
        goal, res = '', ''
        if q == 'tuple':
            r = ratio(oe, ot)
            goal, res = '<= 1/20 of tcpdump', verdict(None if r is None else r <= 0.05)
        t.row('%s: `%s`' % (name, d.fact(p + '.spec') or '?'),
              [counts, fnum(oe, 's') + runs_note(d, p + '.ecap', want),
               fnum(ot, 's') + runs_note(d, p + '.tcpdump', want),
               fnum(os_, 's') + runs_note(d, p + '.tshark', want),
               fratio(oe, ot), fratio(oe, os_), goal, res])
    oe, ot = d.med('cold.ecap', 'wall'), d.med('cold.tcpdump', 'wall')
    t.row('one connection, cold page cache', [
        '%s / %s / -' % (d.fact('ret.tuple.n_ecap'), d.fact('ret.tuple.n_tcpdump')),
        fnum(oe, 's') + runs_note(d, 'cold.ecap', want),
        fnum(ot, 's') + runs_note(d, 'cold.tcpdump', want), 'not run', fratio(oe, ot), '',
        'information', ''])
    out.append('\nThe cold row evicts the store and the pcap from the page cache '
               '(fsync + POSIX_FADV_DONTNEED) before each run; the goal is judged on the warm '
               'row.\n')

    out.append('### One connection against stores of %s sizes\n' % sizes_word(d))
    out.append('The same connection (`%s`, from the middle of the smallest input) is exported '
               'from stores of growing size; the smaller inputs are prefixes of the larger ones. '
               'Goal: the cost follows the answer, not the store: ecap\'s time grows by less than '
               'half the growth of the store.\n' % (d.fact('grow.spec') or '?'))
    t = Table(out, d, ['input pcap', 'store on disk', 'packets ecap / tcpdump',
                       'ecap-export', 'tcpdump', 'ecap/tcpdump'])
    sizes = (d.fact('grow.sizes') or '').split()
    for s in sizes:
        p = 'grow.%s' % s
        ne, nt = d.fact(p + '.n_ecap'), d.fact(p + '.n_tcpdump')
        if ne is None or ne != nt:
            d.missing.append('growth %s (packet counts differ)' % s)
        oe, ot = d.med(p + '.ecap', 'wall'), d.med(p + '.tcpdump', 'wall')
        t.row('%s MB' % fnum(float(s) / 1e6, digits=0),
              [fnum(d.num(p + '.store_bytes') and d.num(p + '.store_bytes') / 1e6, 'MB'),
               '%s / %s' % (ne or 'MISSING', nt or 'MISSING'),
               fnum(oe, 's') + runs_note(d, p + '.ecap', want),
               fnum(ot, 's') + runs_note(d, p + '.tcpdump', want), fratio(oe, ot)])
    if len(sizes) >= 2:
        a, b = 'grow.%s' % sizes[0], 'grow.%s' % sizes[-1]
        te = ratio(d.med(b + '.ecap', 'wall'), d.med(a + '.ecap', 'wall'))
        tt = ratio(d.med(b + '.tcpdump', 'wall'), d.med(a + '.tcpdump', 'wall'))
        sg = ratio(d.num(b + '.store_bytes'), d.num(a + '.store_bytes'))
        ok = None if te is None or sg is None else te <= 1 + (sg - 1) / 2
        out.append('\nLargest vs smallest: the store grows %s, ecap-export\'s time %s, '
                   'tcpdump\'s %s. Goal (less than half the store\'s growth): %s.\n'
                   % (fratio(sg, 1), fratio(te, 1), fratio(tt, 1), verdict(ok)))
        if te is None:
            d.missing.append('growth summary')
    else:
        d.missing.append('growth table')
        out.append('')
    section_sparse(out, d, want)


def sizes_word(d):
    """How many store sizes the growth and sparse sections compare, in words (a full run has
    three, --quick two)."""
    n = len((d.fact('grow.sizes') or '').split())
    return {2: 'two', 3: 'three'}.get(n, str(n))


def section_sparse(out, d, want):
    out.append('### A long-lived sparse flow against stores of %s sizes\n' % sizes_word(d))
    out.append('One TCP flow (`%s`) with a 100-byte segment every %s s of capture time over the '
               'whole input, as an SSH session or a beacon: its packets are spread thinly over '
               'the store, one per chunk or fewer. Goals: ecap-export in <= 1/20 of tcpdump\'s '
               'time, and <= 50 us per exported packet.\n'
               % (d.fact('sparse.spec') or '?', d.fact('sparse.every') or '?'))
    t = Table(out, d, ['input pcap', 'chunks in the store', 'packets ecap / tcpdump',
                       'ecap-export', 'tcpdump', 'ecap/tcpdump', 'ecap per exported packet',
                       'goal', 'result'])
    sizes = (d.fact('grow.sizes') or '').split()
    for s in sizes:
        p = 'sparse.%s' % s
        ne, nt = d.fact(p + '.n_ecap'), d.fact(p + '.n_tcpdump')
        if ne is None or ne != nt:
            d.missing.append('sparse %s (packet counts differ)' % s)
        oe, ot = d.med(p + '.ecap', 'wall'), d.med(p + '.tcpdump', 'wall')
        n = d.num(p + '.n_ecap')
        per = oe / n if oe is not None and n else None
        r = ratio(oe, ot)
        ok = None if r is None or per is None else r <= 0.05 and per <= 50e-6
        t.row('%s MB' % fnum(float(s) / 1e6, digits=0),
              [d.fact(p + '.chunks') or '?', '%s / %s' % (ne or 'MISSING', nt or 'MISSING'),
               fnum(oe, 's') + runs_note(d, p + '.ecap', want),
               fnum(ot, 's') + runs_note(d, p + '.tcpdump', want), fratio(oe, ot),
               fnum(per and per * 1e6, 'us'), '<= 1/20 of tcpdump, <= 50 us/packet',
               verdict(ok)])
    out.append('')


def window_key(d, q):
    """The bytes CPU is measured over: those after the warm-up (reports from before the
    warm-up existed have only the whole run's)."""
    return q + 'window_bytes' if d.all.get(q + 'window_bytes') else q + 'bytes'


def section_live(out, d):
    out.append('## 3. Live capture on lo: `ecap-rec -i lo` vs `tcpdump -i lo -w FILE`\n')
    out.append('Each load runs under each recorder in turn (never both at once), three times '
               'in a full run; each recorder\'s figures come from its run with the median CPU '
               'per byte. The loads run on the '
               'loopback of a network namespace made for the bench, so that the kernel\'s own '
               'counters (lo tx_packets, tx_bytes, between the recorder being ready and being '
               'stopped) count the load and nothing else. Bytes are compared from the IP header '
               'on, '
               'as lo counts them. The '
               'packet counts differ in kind: ecap\'s TC hook sees TCP segmentation-offload '
               'super-packets (up to ~128 KiB) before the kernel splits them, tcpdump and the '
               'counter see them after, so bytes are the fair comparison. CPU: the time the '
               'recorder\'s threads ran in nanoseconds (/proc/PID/task/*/schedstat), from the '
               'end of a first second of the load (a warm-up: start-up costs such as the first '
               'touches of the recorder\'s tables are not costs per byte) to half a second '
               'after its end, per byte the kernel counted in that window (TLS loops: per '
               'request completed in it); work done in the kernel on the '
               'sender\'s behalf (the TC program, AF_PACKET copies) is charged to the sender and '
               'not counted for either. Peak memory: VmHWM. CPU per Gbit/s uses the kernel\'s '
               'byte count. Goal: no drops where tcpdump has none, and less CPU per Gbit/s than '
               'tcpdump.\n')
    st = d.fact('live.status')
    if st:
        out.append('**Live capture not measured: %s**\n' % st)
    t = Table(out, d, ['load', 'sent (kernel, lo)', 'ecap captured / drops',
                       'tcpdump captured / drops', 'ecap CPU / per Gbit/s',
                       'tcpdump CPU / per Gbit/s',
                       'CPU/Gbit ours/theirs', 'peak RSS ecap / tcpdump', 'goal', 'result'])
    for load in (d.fact('live.loads') or '').split():
        p = 'live.%s.' % load
        desc = d.fact(p + 'desc') or load
        cells = []
        res = {}
        for tool in ('ecap', 'tcpdump'):
            q = p + tool + '.'
            if d.fact(q + 'status'):
                res[tool] = None
                continue
            # repeated runs: every figure from the run with the median CPU per byte
            wkey = window_key(d, q)
            i = d.median_run(q + 'cpu', wkey)
            sent, cap, drops = (d.num(q + k, i) for k in ('sent', 'captured', 'drops'))
            cpu, byt, hwm = (d.num(q + k, i) for k in ('cpu', 'bytes', 'hwm'))
            wbyt = d.num(wkey, i)
            gb = None if wbyt is None else wbyt * 8 / 1e9
            res[tool] = dict(sent=sent, cap=cap, drops=drops, cpu=cpu, gb=gb, hwm=hwm,
                             cpg=ratio(cpu, gb), byt=byt, capb=d.num(q + 'captured_bytes', i),
                             runs=len(d.all.get(q + 'cpu', [])), run=i)
        e, c = res.get('ecap'), res.get('tcpdump')

        def capcell(r, tool):
            if r is None:
                return d.fact(p + tool + '.status')
            # lo's tx_bytes counts from the IP header (eth_type_trans pulled the 14-byte
            # Ethernet header before the count); compare the same bytes.
            l3 = None if r['capb'] is None or r['cap'] is None else r['capb'] - 14 * r['cap']
            share = ratio(l3, r['byt'])
            return '%s pkts, %s of bytes / %s' % (
                fnum(r['cap'], digits=0),
                'MISSING' if share is None else '%.1f%%' % (share * 100),
                fnum(r['drops'], digits=0))

        def cpucell(r):
            return '' if r is None else '%s / %s' % (fnum(r['cpu'], 's'), fnum(r['cpg'], 's'))
        sent = '; '.join('%s: %s pkts, %s' % (k, fnum(v['sent'], digits=0),
                                              fnum(v['byt'] and v['byt'] / 1e6, 'MB'))
                         for k, v in (('ecap run', e), ('tcpdump run', c)) if v)
        extra = d.fact(p + 'extra')
        extras = d.all.get(p + 'extra', [])
        if e and e['run'] is not None and e['run'] < len(extras):
            extra = extras[e['run']]  # the TLS requests of the run shown
        if extra:
            desc += ' (%s)' % extra
        cpu_ratio = fratio(e and e['cpg'], c and c['cpg'])
        if e is None or c is None:
            died = 'exited during' in (d.fact(p + 'ecap.status') or '')
            verdict_s = '**missed** (ecap-rec exited under load)' if died else 'not measured'
            cpu_ratio = '-'
        else:
            ok_drops = e['drops'] == 0 or (c['drops'] or 0) > 0
            if e['cpg'] is None or c['cpg'] is None:
                # no byte counted in the window (the load did not run): nothing to compare
                cpu_ratio = '-'
                verdict_s = 'not measured (no load in the window)'
            elif not e['cpu'] or not c['cpu']:
                # Below the clock tick (10 ms): no ratio, the goal is judged on drops.
                cpu_ratio = 'n/a (CPU below 10 ms)'
                verdict_s = verdict(ok_drops) + (' (drops)' if not ok_drops else '') + \
                    ' (on drops only: CPU not measurable)'
            else:
                ok_cpu = e['cpg'] < c['cpg']
                verdict_s = verdict(ok_drops and ok_cpu) + ('' if ok_drops else ' (drops)') + \
                    ('' if ok_cpu else ' (CPU)')
        hw = '%s / %s' % ('-' if e is None else fnum(e['hwm'] and e['hwm'] / 1024, 'MiB'),
                          '-' if c is None else fnum(c['hwm'] and c['hwm'] / 1024, 'MiB'))
        t.row(desc, [sent, capcell(e, 'ecap'), capcell(c, 'tcpdump'), cpucell(e), cpucell(c),
                     cpu_ratio, hw,
                     'no drops unless tcpdump drops; CPU/Gbit < tcpdump', verdict_s])
    if not (d.fact('live.loads') or '').split():
        d.missing.append('live loads')
    out.append('')
    per = []
    for load in (d.fact('live.loads') or '').split():
        if not load.startswith(('tls-', 'stime-')):
            continue
        cells, us = [], {}
        for tool in ('ecap', 'tcpdump'):
            q = 'live.%s.%s.' % (load, tool)
            i = d.median_run(q + 'cpu', window_key(d, q))
            cpu, reqs = d.num(q + 'cpu', i), d.num(q + 'requests', i)
            if cpu and reqs:
                us[tool] = cpu / reqs * 1e6
                cells.append('%s %.0f us' % (tool, us[tool]))
        if len(us) == 2:
            r = us['ecap'] / us['tcpdump']
            cells.append('%.2fx (goal <= 2.0x: %s)' % (r, verdict(r <= 2.0)))
        if cells:
            per.append('%s: %s' % (d.fact('live.%s.desc' % load) or load, ', '.join(cells)))
    if per:
        out.append('CPU per TLS session (one request each) in the TLS loops: ' +
                   '; '.join(per) + '. Per session ecap-rec derives and stores the session\'s '
                   'secrets (five in TLS 1.3) and indexes the flow, its two owning processes '
                   '(both ends are local), the session and the secrets: 19 SQLite b-tree '
                   'entries since index schema 4 (the secrets are one row), made durable by the '
                   'commit of every second (section 6 gives the store\'s share, '
                   '`bench_sessions`). tcpdump does none of this.\n')
    q = (d.fact('query.ms') or '').split()
    if q:
        ms = sorted(int(x) for x in q)
        out.append('Record to queryable: from the end of a curl process (its connection\'s last '
                   'packet) until `ecap-export --pid` (run every 20 ms) finds its packets, with '
                   'an s_time load running: %s ms (median %d ms, most %d ms; goal <= 1500 ms: '
                   '%s).\n' % (', '.join(q), ms[len(ms) // 2], ms[-1],
                                verdict(ms[-1] <= 1500)))
    elif d.fact('query.status'):
        out.append('Record to queryable: %s.\n' % d.fact('query.status'))


def section_storage(out, d):
    out.append('## 4. Storage: bytes on disk per GB captured\n')
    pcap = d.num('storage.pcap')
    out.append('The store of section 1 against the same pcap, and the pcap compressed with '
               '`gzip -1` and `zstd -1` (each once; their times for information).\n')
    t = Table(out, d, ['form', 'bytes', 'per GB of pcap', 'ours/theirs', 'time', 'goal',
                       'result'])
    store = d.num('storage.store')
    t.row('pcap (tcpdump -w)', [fnum(pcap, digits=0), '1.000 GB', fratio(store, pcap), '', '',
                                ''])
    per = lambda v: None if v is None or not pcap else v / pcap
    t.row('ecap store (segments + index)', [fnum(store, digits=0), fnum(per(store), 'GB', 3),
                                            '', '', '', ''])
    seg, idx = d.num('storage.segments'), d.num('storage.index')
    t.row('  of which segments (LZ4 pcapng)', [fnum(seg, digits=0), fnum(per(seg), 'GB', 3), '',
                                               '', '', ''])
    t.row('  of which index (SQLite)', [fnum(idx, digits=0), fnum(per(idx), 'GB', 3), '', '',
                                        '', ''])
    for k, name in (('gzip', 'gzip -1'), ('zstd', 'zstd -1')):
        v = d.num('storage.' + k)
        t.row(name + ' of the pcap', [fnum(v, digits=0), fnum(per(v), 'GB', 3),
                                      fratio(store, v), fnum(d.med('storage.' + k, 'wall'), 's'),
                                      '', ''])
    share = ratio(idx, store)
    t.row('index share of the store', ['', '', '', '', '< 5%',
                                       verdict(None if share is None else share < 0.05) +
                                       ('' if share is None else ' (%.2f%%)' % (share * 100))])
    out.append('\n"ours/theirs" is the ecap store\'s size over that form\'s size.\n')


def section_memory(out, d):
    out.append('## 5. Recorder memory: peak RSS does not grow with the store\n')
    t = Table(out, d, ['run', 'store at the end', 'peak RSS (VmHWM / ru_maxrss)', 'goal',
                       'result'])
    sizes = (d.fact('grow.sizes') or '').split()
    peaks = []
    for s in sizes:
        rss = d.med('grow.%s.replay' % s, 'rss_kb')
        peaks.append(rss)
        st = d.num('grow.%s.store_bytes' % s)
        ok = None if rss is None else rss < 64 * 1024
        t.row('replay of %s MB' % fnum(float(s) / 1e6, digits=0),
              [fnum(st and st / 1e6, 'MB'), fnum(rss and rss / 1024, 'MiB'), '< 64 MiB',
               verdict(ok)])
    if len(peaks) >= 2:
        g = ratio(peaks[-1], peaks[0])
        t.row('replay: largest vs smallest', ['', fratio(peaks[-1], peaks[0]), '<= 1.10x',
                                              verdict(None if g is None else g <= 1.10)])
    if d.fact('mem.live.status'):
        t.row('live, %s' % (d.fact('mem.live.desc') or 'long run'),
              ['', d.fact('mem.live.status'), '< 64 MiB, not growing', 'not measured'])
    else:
        first, last, hwm = (d.num('mem.live.' + k) for k in ('rss_first', 'rss_last', 'hwm'))
        st = d.num('mem.live.store_bytes')
        t.row('live, %s: RSS after %s s / at the end' % (
            d.fact('mem.live.desc') or '?', d.fact('mem.live.first_at') or '?'),
            [fnum(st and st / 1e6, 'MB'), '%s / %s' % (fnum(first and first / 1024, 'MiB'),
                                                       fnum(last and last / 1024, 'MiB')),
             '<= 1.10x', verdict(None if first is None or last is None else
                                 last <= first * 1.10)])
        t.row('live, peak', ['', fnum(hwm and hwm / 1024, 'MiB'), '< 64 MiB',
                             verdict(None if hwm is None else hwm < 64 * 1024)])
        anon, bpf = d.num('mem.live.anon'), d.num('mem.live.bpfmaps')
        t.row('live, at the end: heap and other anonymous memory / resident BPF maps',
              ['', '%s / %s' % (fnum(anon and anon / 1024, 'MiB'),
                                fnum(bpf and bpf / 1024, 'MiB')), 'information', ''])
    out.append('')
    out.append('What grows between the replays is bounded: SQLite\'s page cache, which fills '
               'as the index grows until its cap (`cache_size`, 16 MiB; the 1 GB store\'s '
               'index is about 15 MB, so these sizes are all below it), and the flow table, '
               'which holds the flows alive within their idle times (about 250 bytes each). '
               'Past the cap the peak stays put: replaying twice the largest input here adds a '
               'few MiB, not another 16.\n')


BS_LINE = re.compile(r'^\s*(?P<mode>.*?)\s*(?P<size>\d+)-byte packets:\s*(?P<pps>[\d.]+) packets/s'
                     r'\s+(?P<mbs>[\d.]+) MB/s.*ratio (?P<ratio>[\d.]+)\s+index (?P<index>[\d.]+)%')


def section_store(out, d):
    out.append('## 6. Store append (`bench_store`, issue 2)\n')
    out.append('`store_append_packet()` with group commits (fdatasync, then COMMIT, every second); '
               'generated packets over 4096 flows, half random, half text payloads; "one thread" '
               'is the one-core figure the goals name, "writer thread" compresses and writes on a '
               'second thread. No "theirs": the goals are absolute.\n')
    raw = d.fact('bs.raw')
    rows = []
    if raw:
        out.append('```\n' + raw.replace(' || ', '\n') + '\n```\n')
        for line in raw.split(' || '):
            mt = BS_LINE.match(line)
            if mt:
                rows.append(mt.groupdict())
    t = Table(out, d, ['mode', 'packet size', 'packets/s', 'MB/s', 'compression ratio',
                       'index share of stored bytes', 'goal', 'result'])
    for size in ('64', '1500'):
        found = [r for r in rows if r['size'] == size]
        if not found:
            t.row('MISSING', [size, 'MISSING', '', '', '', '', ''])
        for r in found:
            pps, mbs, idx = float(r['pps']), float(r['mbs']), float(r['index'])
            if size == '64':
                goal, ok = '>= 1,000,000 packets/s; index < 5%', pps >= 1e6 and idx < 5
            else:
                goal, ok = '>= 300 MB/s; index < 5%', mbs >= 300 and idx < 5
            why = [w for w, bad in (('rate', (pps < 1e6) if size == '64' else (mbs < 300)),
                                    ('index', idx >= 5)) if bad]
            t.row(r['mode'] or 'one thread',
                  [size + ' B', fnum(pps, digits=0), fnum(mbs), r['ratio'], '%.2f%%' % idx, goal,
                   verdict(ok) + (' (%s)' % ', '.join(why) if why else '')])
    out.append('')
    raw = d.fact('bss.raw')
    if raw:
        out.append('What the store costs per TLS session (`bench_sessions`): a new flow with both '
                   'owners, 18 packets (8.2 KB) of a TLS 1.3 request, the session and its five '
                   'secrets reported by both ends, at a steady 200 sessions/s on a simulated '
                   'clock, so that the group commit runs once per simulated second; CPU of all '
                   'threads, after a warm-up, in a fresh store and in one already holding '
                   'many sessions. This is the store\'s share of the TLS loop\'s cost per '
                   'request in section 3.\n')
        out.append('```\n' + raw.replace(' || ', '\n') + '\n```\n')
    else:
        d.missing.append('bench_sessions')


def cmd_report(args):
    runs, facts, outp, mode = args
    d = Data(runs, facts)
    want = int(d.fact('runs') or 3)
    out = ['# ecap benchmarks', '']
    out.append('Written by `tools/bench.sh%s` on %s (took %s s). Every figure is ecap ("ours") '
               'next to the tool a user would use instead ("theirs"), measured in the same run on '
               'the same data, with ours/theirs as the ratio; goals come from issues 2-7 and each '
               'is marked met or missed. Nothing here is tuned to a goal.\n'
               % (' --quick' if mode == 'quick' else '', d.fact('date'),
                  d.fact('elapsed') or '?'))
    out.append('## Machine\n')
    machine(out, d)
    out.append('')
    section_ingest(out, d, want)
    section_retrieval(out, d, want)
    section_live(out, d)
    section_storage(out, d)
    section_memory(out, d)
    section_store(out, d)
    failed = [r['label'] for rs in d.runs.values() for r in rs if r['rc'] != 0]
    if failed:
        out.append('Commands that failed (excluded from medians): ' +
                   ', '.join(sorted(set(failed))) + '\n')
    out.extend(kept_sections(outp))
    with open(outp, 'w') as f:
        f.write('\n'.join(out) + '\n')
    if d.missing:
        print('bench_report: rows not produced: ' + '; '.join(d.missing), file=sys.stderr)
        return 1
    return 0


def main():
    if len(sys.argv) < 2:
        die('usage: bench_report.py measure|fact|pick|count|procstat|lostat|evict|json|report ...')
    cmd, args = sys.argv[1], sys.argv[2:]
    table = {'measure': cmd_measure, 'fact': cmd_fact, 'pick': cmd_pick, 'count': cmd_count,
             'procstat': cmd_procstat, 'lostat': cmd_lostat, 'evict': cmd_evict,
             'json': cmd_json, 'report': cmd_report}
    if cmd not in table:
        die('unknown subcommand ' + cmd)
    try:
        rc = table[cmd](args)
    except (OSError, ValueError, KeyError, IndexError) as e:
        die('%s: %s' % (cmd, e))
    sys.exit(rc or 0)


if __name__ == '__main__':
    main()
