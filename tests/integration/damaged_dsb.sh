#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# damaged_dsb.sh - the TLS secrets near their session live only in their chunk's Decryption
# Secrets Block (index schema 7). A store whose DSB bytes were changed: ecap-export of the
# session's flow exits 1 naming the segment file and the chunk, and still writes the flow's
# packets; the undamaged copy exports them with the secret, which tshark then sees.
. "$ECAP_SRC/tests/lib.sh"
need_cmd python3 tshark

cd "$T"
python3 "$ECAP_SRC/tests/integration/mkcap.py" tlsdsb tls.pcapng || fail "mkcap.py failed"
"$ECAP_REC" --replay tls.pcapng --store S -q 2>/dev/null || fail "replay failed"
assert_eq 1 "$(store_figure S secrets_linked)" "the session's secret, linked"
CR=202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f

expect_status 0 "$ECAP_EXPORT" --store S --port 443 -o good.pcapng --keylog good.keys
assert_eq "CLIENT_RANDOM $CR" "$(cut -d' ' -f1,2 good.keys)" "the secret an export carries"

# one hex digit of the key log line, which the chunk's DSB block stores as literal text
cp -a S D
python3 - D "$CR" <<'PY' || fail "the DSB's text is not in the segment"
import glob, sys
path = glob.glob(sys.argv[1] + '/seg-*.ecap')[0]
data = bytearray(open(path, 'rb').read())
at = data.find(sys.argv[2][:24].encode())
if at < 0:
    sys.exit(1)
data[at + 5] ^= 0x01
open(path, 'wb').write(data)
PY
rc=0; "$ECAP_EXPORT" --store D --port 443 -o bad.pcapng --keylog bad.keys 2> err.txt || rc=$?
assert_eq 1 "$rc" "exit status of an export whose secrets cannot all be read"
grep -q "reading secrets: D/seg-00000001.ecap: offset [0-9]*: chunk 1: " err.txt ||
	fail "the error names the segment and the chunk: $(cat err.txt)"
assert_eq 0 "$(wc -c < bad.keys)" "secrets written from a damaged DSB"
pkts() { tshark -r "$1" 2>/dev/null | wc -l; }
assert_ge 1 "$(pkts good.pcapng)" "packets of the undamaged store"
assert_eq "$(pkts good.pcapng)" "$(pkts bad.pcapng)" "packets written despite the damaged DSB"
