#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# fleet_json.py - checks ecap-ls --fleet --json against the hosts' own ecap-ls --json:
#   fleet_json.py same [--procs-within] FLEET.json HOST=LOCAL.json...
# The fleet's "processes" and "flows" (each with a "host" member) must be exactly the union of
# the hosts' local lists, in the fleet's order (host, then the local order), and "hosts" exactly
# the hosts with a matching flow. --procs-within: the fleet's processes need only be among the
# hosts' (for a local ecap-ls that lists the other ends of selected flows too). Central times are microseconds: every "KEY_ns" is compared
# floored to microseconds and its text "KEY" left out. A flow's "nat" (its NAT links on its
# host) must be the same too. A missing LOCAL file (the host matched
# nothing: ecap-ls exits 1 and prints no JSON) counts as empty lists.
import json
import os
import sys


def us(o):
    if isinstance(o, dict):
        return {k: (v // 1000 * 1000 if k.endswith('_ns') else us(v)) for k, v in o.items()
                if k + '_ns' not in o}
    return [us(x) for x in o] if isinstance(o, list) else o


def same(fleet_path, pairs, procs_within=False):
    fleet = json.load(open(fleet_path))
    want = {'processes': [], 'flows': []}
    hosts = []
    for pair in sorted(pairs):
        host, path = pair.split('=', 1)
        loc = json.load(open(path)) if os.path.getsize(path) else {}
        for k in want:
            want[k] += [dict(x, host=host) for x in loc.get(k, [])]
        if loc.get('flows'):
            hosts.append(host)
    for k in want:
        if k not in fleet:
            continue
        got = us(fleet[k])
        exp = us(want[k])
        if k == 'processes' and procs_within:
            exp = [x for x in exp if x in got]
        if got != exp:
            sys.exit('%s differ: fleet %d, hosts %d\nfleet: %s\nhosts: %s' %
                     (k, len(got), len(exp), got[:3], exp[:3]))
    got_hosts = [h['host'] for h in fleet['hosts']]
    if 'flows' in fleet and got_hosts != hosts:
        sys.exit('hosts with matching flows: fleet %s, hosts %s' % (got_hosts, hosts))


if __name__ == '__main__':
    args = sys.argv[2:]
    within = args[:1] == ['--procs-within']
    args = args[1:] if within else args
    if len(sys.argv) < 3 or sys.argv[1] != 'same' or not args:
        sys.exit('usage: fleet_json.py same [--procs-within] FLEET.json HOST=LOCAL.json...')
    same(args[0], args[1:], within)
