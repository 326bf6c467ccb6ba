#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# old_index.sh - an index of an older schema, as an older ecap left it, is migrated and answers
# as before. tests/integration/old_index_store is a store written by ecap at e280f6e (index
# schema 8): `bench_sessions --sessions 12 --procs --keep`, 14 TLS-like sessions, a curl
# process per client and one openssl server. The answers below are what that ecap gave on it:
# the SHA-256 of each export after its SHB (whose comment holds the export's time) and of
# ecap-ls's listings. This build opens the store, migrates its index to the current schema,
# and must give the same answers; so must the index that ecap-fsck --rebuild makes from the
# segments, and the migrated store must take new chunks and verify whole.
. "$ECAP_SRC/tests/lib.sh"
need_cmd sqlite3 python3
ECAP_VERIFY="$ECAP_BUILD/tools/ecap-verify"

cd "$T"
copy_old() { # dir: the fixture as a store
	copy_fixture_store "$ECAP_SRC/tests/integration/old_index_store" "$1" \
		seg-00000001.ecap chain.ecap store.pub store.key index.db
}
before_isb() { # pcapng: the SHA-256 of its bytes after the first block and before the last ISBs
	python3 -c 'import hashlib, struct, sys
d = open(sys.argv[1], "rb").read()
at, ends = struct.unpack_from("<I", d, 4)[0], []
while at < len(d):
    kind, size = struct.unpack_from("<II", d, at)
    ends.append((kind, at))
    at += size
while ends and ends[-1][0] == 5:
    at = ends.pop()[1]
print(hashlib.sha256(d[struct.unpack_from("<I", d, 4)[0]:at]).hexdigest())' "$1"
}
structure() { # index.db: each table's columns, then the text of each index, trigger and view
	python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for kind, name, sql in db.execute("SELECT type, name, sql FROM sqlite_master"
                                  " WHERE name NOT LIKE \"sqlite_%\" ORDER BY type, name"):
    if kind == "table":
        for col in db.execute("SELECT cid, name, type, \"notnull\", dflt_value, pk"
                              " FROM pragma_table_xinfo(?)", (name,)):
            print("table", name, *col, sep="|")
    else:
        print(kind, name, sql, sep="|")' "$1"
}
# answers STORE: each selection's export and each listing as ecap at e280f6e gave them
answers() {
	local store="$1" sel want got n=0
	while IFS='|' read -r sel want; do
		n=$((n + 1))
		# shellcheck disable=SC2086 # a selection is several words
		"$ECAP_EXPORT" -q --store "$store" $sel -o "exp$n.pcapng" 2>exp.err ||
			fail "$store: export ${sel:-of everything}: $(cat exp.err)"
		got=$(pcapng_after_shb "exp$n.pcapng")
		assert_eq "$want" "$got" "$store: export ${sel:-of everything}, SHA-256 after its SHB"
		expect_status 0 "$ECAP_VERIFY" --export "exp$n.pcapng" --store "$store"
	done <<'EOF'
|e782c684dce6ac496ef4027524420edf0bf90b9fc246d05c2e9bb55f3f33d692
--pid 100005|6d9adfdbe927f329cbf894e814229e4e91ab137778cb2b0f2d4bae1817e781f5
--comm openssl|e782c684dce6ac496ef4027524420edf0bf90b9fc246d05c2e9bb55f3f33d692
--tuple 127.0.0.1:32771-127.0.0.1:4433|981d91f1485ed935077cc95600c6310c8b2e43bb83e41ba0265da28c08b2ba0a
--exe /usr/bin/curl --port 32775|17743cd106d20d8b9055871315dc9526739f36cb908e82ce52937db3c8017da7
EOF
	assert_eq 9eee62fc159ebaf2528f53eedbe3cb05b2fbe0673dbf3cf9fb0d782d2a01e7db \
		"$("$ECAP_LS" -p "$store" | sha256sum | cut -d' ' -f1)" "$store: ecap-ls -p"
	assert_eq 04e81d5eec6e74d5c321fcc7c7526cfb13b1f8ffabaaf770b0ec8b02f90e281f \
		"$("$ECAP_LS" -f "$store" | sha256sum | cut -d' ' -f1)" "$store: ecap-ls -f"
}
current=$(sed -n 's/^#define INDEX_SCHEMA_VERSION \([0-9]*\).*/\1/p' "$ECAP_SRC/schema/index.h")
[ -n "$current" ] || fail "no INDEX_SCHEMA_VERSION in schema/index.h"

copy_old O
assert_eq 8 "$(sqlite3 O/index.db 'PRAGMA user_version')" "the fixture's index schema"
answers O
assert_eq "$current" "$(sqlite3 O/index.db 'PRAGMA user_version')" "the migrated index's schema"
expect_status 0 "$ECAP_FSCK" -q O
# the migrated index and a new one have the same tables, columns (ALTER TABLE ADD COLUMN
# words the table's text differently from CREATE TABLE: the columns are compared), indexes,
# triggers and views (a migration that forgot
# one leaves a store whose queries plan differently from a new store's)
structure O/index.db > migrated.schema
copy_old R
"$ECAP_FSCK" --rebuild R 2>fsck.err || fail "ecap-fsck --rebuild of the old store: $(cat fsck.err)"
structure R/index.db > rebuilt.schema
diff -u rebuilt.schema migrated.schema > schema.diff ||
	fail "the migrated index's schema is not a new index's: $(cat schema.diff)"
# and the same owners and sessions in the same places (schema 10: the flows' columns, the
# sessions past a flow's first in tls_sessions_extra)
rows() {
	sqlite3 "$1/index.db" "SELECT id, a_pid, a_tid, a_uid, a_gid, a_comm, a_cgroup_id, a_netns,
		a_start, b_pid, b_tid, b_uid, b_gid, b_comm, b_cgroup_id, b_netns, b_start,
		hex(client_random), session_chunk FROM flows ORDER BY id;
		SELECT flow_id, hex(client_random), chunk_id FROM tls_sessions_extra ORDER BY 1, 2;"
}
rows O > migrated.rows
rows R > rebuilt.rows
diff -u rebuilt.rows migrated.rows > rows.diff ||
	fail "the migrated index's owners and sessions are not a rebuilt one's: $(head -20 rows.diff)"
# owner_flows: the migrated rows stay rows of one process each (schema 11: pid_last NULL), where
# a rebuild makes a row of the curls of a chunk together (pid_last set); in both every flow's
# owner lies in a row that may hold it, and every row holds a flow of its owners
owner_rows() { # dir: rows of one process (pid_last NULL), rows of groups, owners uncovered, rows stale
	sqlite3 "$1/index.db" "SELECT count(*) FILTER (WHERE pid_last IS NULL),
		count(*) FILTER (WHERE pid_last IS NOT NULL) FROM owner_flows;
		SELECT count(*) FROM flow_procs p WHERE NOT EXISTS (SELECT 1 FROM owner_flows o
		WHERE o.uid = p.uid AND o.comm = p.comm AND o.netns = p.netns AND p.pid BETWEEN
		o.pid AND coalesce(o.pid_last, o.pid) AND (o.pid_last IS NOT NULL OR
		o.start = p.start) AND p.flow_id BETWEEN o.first_flow AND o.last_flow);
		SELECT count(*) FROM owner_flows o WHERE NOT EXISTS (SELECT 1 FROM flow_procs p
		WHERE o.uid = p.uid AND o.comm = p.comm AND o.netns = p.netns AND p.pid BETWEEN
		o.pid AND coalesce(o.pid_last, o.pid) AND (o.pid_last IS NOT NULL OR
		o.start = p.start) AND p.flow_id BETWEEN o.first_flow AND o.last_flow);" | tr '\n|' '  '
}
assert_eq "15 0 0 0 " "$(owner_rows O)" "the migrated index's owner_flows rows"
assert_eq "1 1 0 0 " "$(owner_rows R)" "the rebuilt index's owner_flows rows"
assert_eq 14 "$(sqlite3 O/index.db 'SELECT count(*) FROM tls_sessions')" \
	"the fixture's sessions after the migration"
answers R

# the migrated store takes new chunks, and verifies whole
"$ECAP_BUILD/tools/gen_traffic" -o more.pcap --bytes 200000 --seed 11 2>/dev/null
"$ECAP_REC" -q --replay more.pcap --store O --chunk-size 16K --segment-size 64K 2>rec.err ||
	fail "replay into the migrated store: $(cat rec.err)"
"$ECAP_VERIFY" O > v.txt || fail "the migrated store with new chunks does not verify: $(cat v.txt)"
# the same packets, blocks and secrets as before; only the interface statistics at the end
# (isb_endtime: the store's newest packet) moved with the new chunks
"$ECAP_EXPORT" -q --store O --pid 100005 -o again.pcapng 2>exp.err || fail "export: $(cat exp.err)"
"$ECAP_EXPORT" -q --store R --pid 100005 -o before.pcapng 2>exp.err || fail "export: $(cat exp.err)"
assert_eq "$(before_isb before.pcapng)" "$(before_isb again.pcapng)" \
	"export --pid 100005 after new chunks, SHA-256 between its SHB and its statistics"
info "an index of schema 8 migrated to $current: 5 exports and 2 listings as ecap at e280f6e gave them, the rows of a rebuilt index, and so after ecap-fsck --rebuild"
