#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# progress.sh - the progress lines of long work, on a terminal only: ecap-rec --replay of an
# input over 64 MB shows bytes read of the total, the percentage, the rate and the packets,
# ending at 100%, then its summary; an export that runs over a second shows the packets
# written and examined. Without a terminal (a pipe, as here under meson) neither shows a
# progress line, and -q leaves the summary out too. The terminal comes from script(1).
. "$ECAP_SRC/tests/lib.sh"
need_cmd script

cd "$T"
"$ECAP_BUILD/tools/gen_traffic" --bytes 80000000 --seed 5 -o in.pcap 2>/dev/null
size=$(stat -c %s in.pcap)

# on a terminal
script -qec "'$ECAP_REC' --replay in.pcap --store S" /dev/null >tty.out </dev/null ||
	fail "ecap-rec under script failed: $(tail -3 tty.out)"
tr '\r' '\n' <tty.out >tty.lines
grep -qE '^.*of 76(\.[0-9])? MiB \(100%\), [0-9]+ MB/s, [0-9]+ packets' tty.lines ||
	fail "no final progress line at 100% of the $size-byte input: $(tail -5 tty.lines)"
grep -q 'packets' tty.lines && grep -qiE 'flows' tty.lines ||
	fail "no summary after the progress line: $(tail -5 tty.lines)"

# not on a terminal: the summary, no progress line; -q: nothing
"$ECAP_REC" --replay in.pcap --store P 2>pipe.err
grep -q $'\r' pipe.err && fail "a progress line went to a pipe: $(head -c 300 pipe.err)"
grep -qiE 'flows' pipe.err || fail "no summary on a pipe: $(cat pipe.err)"
"$ECAP_REC" --replay in.pcap --store Q -q 2>quiet.err
[ ! -s quiet.err ] || fail "-q still printed: $(cat quiet.err)"

# an export that takes over a second (its reader is slow): the progress line on a terminal
script -qec "'$ECAP_EXPORT' --store S -o - | (sleep 1.5; cat >/dev/null)" /dev/null \
	>exp.out </dev/null || fail "ecap-export under script failed: $(tail -3 exp.out)"
tr '\r' '\n' <exp.out | grep -qE 'ecap-export: [0-9]+ packets written \(.*\), [0-9]+ examined' ||
	fail "no export progress line: $(tr '\r' '\n' <exp.out | tail -5)"
"$ECAP_EXPORT" --store S -o - 2>exp.err | (sleep 1.5; cat >/dev/null)
grep -q 'packets written' exp.err && fail "export progress went to a pipe: $(cat exp.err)"
info "replay and export progress lines on a terminal only"
