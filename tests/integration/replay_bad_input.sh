#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# replay_bad_input.sh - damaged inputs to ecap-rec --replay: a file that is no capture at all,
# a pcap and a pcapng cut in their last record, a record whose length lies in the middle, the
# same through standard input, malformed key log lines (in a --keylog file and in a DSB).
# Each must exit 1, name the file and the byte offset (or line), and keep every valid packet
# and secret; missing files and bad usage exit 2.
. "$ECAP_SRC/tests/lib.sh"
need_cmd python3 sqlite3

MKCAP="$ECAP_SRC/tests/integration/mkcap.py"
cd "$T"
packets() { sqlite3 "$1/index.db" 'select coalesce(sum(packets), 0) from chunks'; }

# u.pcap: 10 UDP packets; each record is 16 + 50 bytes after the 24-byte header
python3 "$MKCAP" udp u.pcap 10
assert_eq 684 "$(stat -c %s u.pcap)" "size of the test pcap"
expect_status 0 "$ECAP_REC" --replay u.pcap --store good -q
assert_eq 10 "$(packets good)" "packets of the intact file"

# not a capture file
python3 -c 'import sys; sys.stdout.buffer.write(b"this is not a capture file\n" * 50)' > garbage.bin
rc=0; "$ECAP_REC" --replay garbage.bin --store g -q 2> err.txt || rc=$?
assert_eq 1 $rc "exit status for garbage"
grep -q "garbage.bin: offset 0: not a pcap or pcapng file" err.txt || fail "garbage: $(cat err.txt)"
assert_eq 0 "$(packets g)" "packets from garbage"

# truncated inside the last record (it starts at 24 + 9 * 66 = 618)
head -c 650 u.pcap > trunc.pcap
rc=0; "$ECAP_REC" --replay trunc.pcap --store t -q 2> err.txt || rc=$?
assert_eq 1 $rc "exit status for a truncated pcap"
grep -q "trunc.pcap: offset 618: record of 66 bytes cut short" err.txt || fail "truncated: $(cat err.txt)"
assert_eq 9 "$(packets t)" "packets kept from a truncated pcap"

# the same through a pipe
rc=0; cat trunc.pcap | "$ECAP_REC" --replay - --store tp -q 2> err.txt || rc=$?
assert_eq 1 $rc "exit status for a truncated pcap on stdin"
grep -q "(stdin): offset 618: " err.txt || fail "truncated stdin: $(cat err.txt)"
assert_eq 9 "$(packets tp)" "packets kept from a truncated pcap on stdin"

# the 5th record (at 24 + 4 * 66 = 288) claims 2 GiB: reported, skipped, the rest kept
python3 - <<'PY'
import struct
d = bytearray(open('u.pcap', 'rb').read())
d[288 + 8:288 + 12] = struct.pack('<I', 0x7fffffff)
open('lying.pcap', 'wb').write(d)
PY
rc=0; "$ECAP_REC" --replay lying.pcap --store l -q 2> err.txt || rc=$?
assert_eq 1 $rc "exit status for a lying record length"
grep -q "lying.pcap: offset 288: record claims 2147483647 captured bytes" err.txt || fail "lying: $(cat err.txt)"
grep -q "skipped 66 bytes to offset 354" err.txt || fail "lying resync: $(cat err.txt)"
assert_eq 9 "$(packets l)" "packets kept around a lying record"

# pcapng cut in its last block, read from stdin
python3 "$MKCAP" ptcpdump u.pcap u.pcapng 77 /bin/nc
size=$(stat -c %s u.pcapng)
head -c $((size - 6)) u.pcapng > trunc.pcapng
rc=0; "$ECAP_REC" --replay - --store tn -q < trunc.pcapng 2> err.txt || rc=$?
assert_eq 1 $rc "exit status for a truncated pcapng"
grep -q "(stdin): offset [0-9]*: block type 0x00000006 of [0-9]* bytes cut short" err.txt ||
	fail "truncated pcapng: $(cat err.txt)"
assert_eq 9 "$(packets tn)" "packets kept from a truncated pcapng"
assert_eq "77|nc" "$(sqlite3 tn/index.db 'select pid, comm from flow_procs')" "ptcpdump comment attribution"

# a key log with a malformed line: the good lines are stored, the bad one named by line
CR=$(printf '%064d' 7)
{
	echo "# keys"
	echo "CLIENT_RANDOM $CR $(printf '%096d' 1)"
	echo "CLIENT_RANDOM nothex $(printf '%096d' 2)"
	echo "SERVER_TRAFFIC_SECRET_0 $CR $(printf '%064d' 3)"
} > keys.txt
# (--keep-all-secrets: no session of the capture has these client_randoms; by default their
# secrets would be dropped, and counted)
rc=0; "$ECAP_REC" --replay u.pcap --store n --keylog keys.txt -q 2> err.txt || rc=$?
assert_eq 1 $rc "exit status for a malformed key log line"
grep -q "^2 TLS secrets of sessions not recorded were not kept" err.txt ||
	fail "secrets of sessions not in the capture: $(cat err.txt)"
assert_eq 0 "$(store_figure n secrets)" \
	"secrets of sessions not in the capture"
rc=0; "$ECAP_REC" --replay u.pcap --store k --keylog keys.txt -q --keep-all-secrets 2> err.txt ||
	rc=$?
assert_eq 1 $rc "exit status for a malformed key log line"
grep -q "keys.txt:3" err.txt || fail "malformed key log line: $(cat err.txt)"
assert_eq 2 "$(store_figure k secrets)" "secrets kept from the key log"
assert_eq 10 "$(packets k)" "packets with a bad key log"

# the same key log inside a DSB
if command -v editcap >/dev/null 2>&1; then
	editcap --inject-secrets tls,keys.txt u.pcap dsb.pcapng
	rc=0; "$ECAP_REC" --replay dsb.pcapng --store d -q --keep-all-secrets 2> err.txt || rc=$?
	assert_eq 1 $rc "exit status for a malformed DSB line"
	grep -q "dsb.pcapng: offset [0-9]*: decryption secrets block, line 3" err.txt ||
		fail "malformed DSB line: $(cat err.txt)"
	assert_eq 2 "$(store_figure d secrets)" "secrets kept from the DSB"
	assert_eq 10 "$(packets d)" "packets with a bad DSB line"
else
	info "editcap missing: DSB part not run"
fi

# usage and unreadable inputs: 2
expect_status 2 "$ECAP_REC" --replay does-not-exist.pcap --store x -q
expect_status 2 "$ECAP_REC" --replay u.pcap --store x --keylog missing-keys.txt -q
expect_status 2 "$ECAP_REC" --store x
expect_status 2 "$ECAP_REC" --replay u.pcap -i lo --store x
expect_status 2 "$ECAP_REC" -i any -i lo --store x
[ ! -e x ] || fail "a usage error made a store"
expect_status 2 "$ECAP_REC" --replay u.pcap --store x --max-size lots
expect_status 2 "$ECAP_REC" --replay u.pcap --store x --max-age soon
expect_status 2 "$ECAP_REC" --replay u.pcap --store x tcp port 80
expect_status 2 "$ECAP_REC" --bogus-option
"$ECAP_REC" --help > help.txt || fail "--help failed"
grep -q "EXIT STATUS" help.txt || fail "--help lacks the exit status"
assert_eq "ecap-rec" "$("$ECAP_REC" --version | cut -d" " -f1)" "--version"

# SIGINT while waiting on a pipe that stays open: stops, keeps what was read, exits 0
mkfifo fifo
"$ECAP_REC" --replay fifo --store sig -q 2> sig.txt &
REC=$!
cleanup_pid $REC
exec 3> fifo
cat u.pcap >&3
for _ in $(seq 50); do [ "$(packets sig 2>/dev/null || echo 0)" = 10 ] && break; sleep 0.1; done
kill -INT $REC
rc=0; wait $REC || rc=$?
exec 3>&-
assert_eq 0 $rc "exit status after SIGINT"
assert_eq 10 "$(packets sig)" "packets kept after SIGINT"

# the stores written from damaged inputs are consistent
if [ -x "$ECAP_FSCK" ]; then
	for s in g t tp l tn k sig; do
		"$ECAP_FSCK" "$s" > fsck.txt 2>&1 || fail "ecap-fsck $s: $(cat fsck.txt)"
	done
fi
info "bad inputs reported and valid data kept"
