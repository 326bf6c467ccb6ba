#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# reader_leaves_index.sh - reading a store does not write its index (schema/store.c,
# reader_leaves_log): with no recorder running,
#  - a write-ahead log that a killed writer left with a transaction in it stays as it is
#    through ecap-export and ecap-ls (index.db unchanged byte for byte, the log the same size),
#    and both see that transaction's rows;
#  - the next writer takes the transaction in and, when it closes, removes the log;
#  - an export of a store without a log leaves the empty log it made (and its shared index)
#    for the next reader, and the next writer's close removes them again.
. "$ECAP_SRC/tests/lib.sh"
need_cmd python3
need_cmd sqlite3

cd "$T"
"$ECAP_BUILD/tools/gen_traffic" -o a.pcap --bytes 300000 --seed 5 2>/dev/null
"$ECAP_BUILD/tools/gen_traffic" -o b.pcap --bytes 200000 --seed 6 --start 1764150000 2>/dev/null
"$ECAP_BUILD/tools/gen_traffic" -o c.pcap --bytes 200000 --seed 7 --start 1764160000 2>/dev/null
"$ECAP_REC" -q --replay a.pcap --store S || fail "replay failed"
[ ! -e S/index.db-wal ] || fail "the writer's close left its log"

# A writer killed after a commit: its transaction is in the log only (no checkpoint at exit).
python3 - S/index.db <<'EOF'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA wal_autocheckpoint = 0")
db.execute("INSERT INTO settings(key, value) VALUES ('reader_test_marker', 7)")
os._exit(0)
EOF
wal_bytes=$(stat -c %s S/index.db-wal)
assert_ge 4096 "$wal_bytes" "the log of the killed writer"
before=$(sha256sum < S/index.db)

"$ECAP_EXPORT" -q --store S -o all.pcapng || fail "export failed"
"$ECAP_LS" S >/dev/null || fail "ecap-ls failed"
assert_eq "$before" "$(sha256sum < S/index.db)" "index.db after two readers"
assert_eq "$wal_bytes" "$(stat -c %s S/index.db-wal)" "the log's size after two readers"
assert_eq 7 "$(sqlite3 'file:S/index.db?mode=ro' \
	"SELECT value FROM settings WHERE key = 'reader_test_marker'")" "the logged row, read"
info "readers left the killed writer's log and index.db as they were"

"$ECAP_REC" -q --replay b.pcap --store S || fail "the second replay failed"
[ ! -e S/index.db-wal ] || fail "the writer's close left the log"
assert_eq 7 "$(sqlite3 'file:S/index.db?mode=ro' \
	"SELECT value FROM settings WHERE key = 'reader_test_marker'")" "the logged row, after the writer"
info "the next writer took the log in and removed it"

"$ECAP_EXPORT" -q --store S -o all2.pcapng || fail "export failed"
assert_eq 0 "$(stat -c %s S/index.db-wal)" "the log an export made"
"$ECAP_REC" -q --replay c.pcap --store S || fail "the third replay failed"
[ ! -e S/index.db-wal ] && [ ! -e S/index.db-shm ] || fail "the writer's close left the log"
info "an export's empty log stays until a writer closes"
