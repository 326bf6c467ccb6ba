#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# flow_chunk_runs.sh - a flow's chunk list (index schema 9, flows.chunk_runs,
# schema/chunk_runs.h): a store with a sparse flow (one packet every 0.5 s, each in another
# chunk) among many others. Every flow has a list; the sparse flow's names fewer chunks than
# its range. Exports through the lists (the sparse flow, a dense one, a host, a port, random
# tuples) are the same, after the SHB (whose comment holds the export's time and name), as
# those of the same store made a schema-8 index (the column dropped, version 8), which the
# export migrates and whose flows then have no list, so that their ranges are scanned as
# before version 9; ecap-verify passes on each. ecap-fsck --rebuild of the migrated store makes
# the lists the recorder made, byte for byte, and its exports are the same again. A recorder
# that goes on writing into the migrated store gives the new flows lists and leaves the old
# ones without.
. "$ECAP_SRC/tests/lib.sh"
need_cmd sqlite3 python3
ECAP_VERIFY="$ECAP_BUILD/tools/ecap-verify"

cd "$T"
# FLOW_RUNS_BYTES: the input's size (tools/test.sh gives the sanitizer run a smaller one: the
# sparse flow still spans dozens of chunks and every kind of selection is made)
"$ECAP_BUILD/tools/gen_traffic" -o in.pcap --bytes "${FLOW_RUNS_BYTES:-6000000}" --flows-active 300 --seed 7 \
	--pps 2000 --start 1764140400 --sparse-every 0.5 2>gen.err || fail "gen_traffic: $(cat gen.err)"
"$ECAP_REC" -q --replay in.pcap --store S --chunk-size 32K >rec.txt 2>&1 ||
	fail "replay failed: $(cat rec.txt)"
q() { sqlite3 "$1/index.db" "$2"; }
assert_eq 0 "$(q S "SELECT count(*) FROM flows WHERE chunk_runs IS NULL")" "flows without a list"
SPARSE="--tuple 10.4.0.1:40022-10.4.0.2:22"
read -r RUNS_LEN RANGE < <(q S "SELECT length(chunk_runs), last_chunk - first_chunk + 1 FROM
	flows WHERE port_a = 40022 AND port_b = 22" | tr '|' ' ')
[ -n "$RANGE" ] && [ "$RANGE" -gt 20 ] || fail "the sparse flow spans $RANGE chunks, expected many"
info "the sparse flow: $RANGE chunks in its range, a list of $RUNS_LEN bytes"
# each flow's list is what the chunks whose flow list holds it make by chunk_runs.h's rule: a
# run passes over up to 4 chunks without the flow (no list here reaches CHUNK_RUNS_MAX runs)
python3 - S/index.db <<'EOF' || fail "a list differs from the chunks that hold its flow"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
def leb(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
        if not c & 0x80: return v, i
holds = {}
for cid, blob in db.execute("SELECT id, flows FROM chunks"):
    i = fid = 0
    while i < len(blob):
        d, i = leb(blob, i); fid += d; holds.setdefault(fid, set()).add(cid)
bad = 0
for fid, runs in db.execute("SELECT id, chunk_runs FROM flows"):
    i = nxt = 0; got = []
    while i < len(runs):
        gap, i = leb(runs, i); extra, i = leb(runs, i)
        lo = nxt + gap; got.append((lo, lo + extra)); nxt = lo + extra + 1
    want = []
    for c in sorted(holds.get(fid, ())):
        if want and c - want[-1][1] <= 5:
            want[-1] = (want[-1][0], c)
        else:
            want.append((c, c))
    if got != want:
        bad += 1
        print("flow %d: list %s, expected %s" % (fid, got[:8], want[:8]))
sys.exit(1 if bad else 0)
EOF
read -r CA CP SA SP _ < <(python3 "$ECAP_SRC/tools/bench_report.py" pick in.pcap)
DENSE="--tuple $CA:$CP-$SA:$SP"
TUPLES=$(python3 - S/index.db <<'EOF'
import ipaddress, random, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
rows = db.execute("SELECT addr_a, port_a, addr_b, port_b FROM flows WHERE proto = 6 "
                  "ORDER BY id").fetchall()
random.seed(17)
for a, pa, b, pb in random.sample(rows, 4):
    print("--tuple=%s:%d-%s:%d" % (ipaddress.ip_address(bytes(a)).ipv4_mapped, pa,
                                   ipaddress.ip_address(bytes(b)).ipv4_mapped, pb))
EOF
)
# exports STORE [noverify]: each selection's export of STORE, verified (unless noverify: the
# same bytes were); "name hash" lines to STORE.sums
exports() {
	local i=0 a
	: > "$1.sums"
	for a in "$SPARSE" "$DENSE" "--host 10.2.0.94" "--port 22" $TUPLES; do
		i=$((i + 1))
		# shellcheck disable=SC2086
		"$ECAP_EXPORT" -q --store "$1" $a -o "$1-$i.pcapng" 2>exp.err ||
			fail "$1: ecap-export $a: $(cat exp.err)"
		[ -n "${2:-}" ] || expect_status 0 "$ECAP_VERIFY" --export "$1-$i.pcapng" --store "$1"
		echo "$a $(pcapng_after_shb "$1-$i.pcapng")" >> "$1.sums"
	done
}
exports S

# the same store with a schema-8 index: migrated by the export, no lists, the same answers
cp -a S O
sqlite3 O/index.db < "$ECAP_SRC/tests/index_to_v9.sql" # schema 9's layout, then 8's
q O "ALTER TABLE flows DROP COLUMN chunk_runs; PRAGMA user_version = 8"
exports O
current=$(sed -n 's/^#define INDEX_SCHEMA_VERSION \([0-9]*\).*/\1/p' "$ECAP_SRC/schema/index.h")
assert_eq "$current" "$(q O "PRAGMA user_version")" "the index's version after the migration"
assert_eq 0 "$(q O "SELECT count(*) FROM flows WHERE chunk_runs IS NOT NULL")" \
	"lists made by the migration"
cmp -s S.sums O.sums || fail "exports differ without the lists: $(diff S.sums O.sums)"

# rebuilt from the segments: the recorder's lists, byte for byte, and the same exports
"$ECAP_FSCK" --rebuild O >fsck.txt 2>&1 || fail "ecap-fsck --rebuild: $(cat fsck.txt)"
lists() { q "$1" "SELECT id, first_chunk, last_chunk, hex(chunk_runs) FROM flows ORDER BY id"; }
lists S > s.lists
lists O > o.lists
cmp -s s.lists o.lists || fail "the rebuilt lists differ: $(diff s.lists o.lists | head -5)"
exports O noverify
cmp -s S.sums O.sums || fail "exports of the rebuilt index differ: $(diff S.sums O.sums)"

# a recorder going on in a migrated store: old flows keep no list, new ones get one
cp -a S M
sqlite3 M/index.db < "$ECAP_SRC/tests/index_to_v9.sql" # schema 9's layout, then 8's
q M "ALTER TABLE flows DROP COLUMN chunk_runs; PRAGMA user_version = 8"
"$ECAP_BUILD/tools/gen_traffic" -o more.pcap --bytes 1000000 --flows-active 50 --seed 9 \
	--pps 2000 --start 1764150400 2>/dev/null
"$ECAP_REC" -q --replay more.pcap --store M --chunk-size 32K >rec2.txt 2>&1 ||
	fail "replay into the migrated store: $(cat rec2.txt)"
OLD_MAX=$(q S "SELECT max(id) FROM flows")
assert_eq 0 "$(q M "SELECT count(*) FROM flows WHERE id <= $OLD_MAX AND chunk_runs IS NOT NULL")" \
	"old flows with a list after more recording"
assert_eq 0 "$(q M "SELECT count(*) FROM flows WHERE id > $OLD_MAX AND chunk_runs IS NULL")" \
	"new flows without a list"
"$ECAP_EXPORT" -q --store M --port 443 -o m.pcapng 2>exp.err || fail "export of M: $(cat exp.err)"
expect_status 0 "$ECAP_VERIFY" --export m.pcapng --store M
info "$(wc -l < S.sums) selections the same with and without the lists"
