# SPDX-License-Identifier: GPL-2.0-only
# drops.sh - losses are counted and recorded: with a 16 KiB ring (ECAP_LIVE_RING_KB) a 2 MB
# transfer on lo cannot fit (64 KiB segments), so packets are lost; the final status line
# still adds up (stored + drops = seen by the kernel), the store's drops table holds the
# same count, the transfer itself is not disturbed, and small packets still get through.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl

PORT=$(free_port)
head -c 2000000 /dev/urandom >"$T/big"
python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$T" >"$T/http.log" 2>&1 &
cleanup_pid "$!"
wait_port "$PORT"

ECAP_LIVE_RING_KB=16 rec_start "$T/rec.log" -i lo --store "$T/s" --no-tls
curl -s -o "$T/got" "http://127.0.0.1:$PORT/big" || fail "curl failed"
cmp -s "$T/got" "$T/big" || fail "the transfer was disturbed"
sleep 1.2 # one loss report a second
rec_stop
assert_no_filters lo
assert_accounting "$T/rec.log"

DROPS=$(grep "ecap-rec: stopped:" "$T/rec.log" | sed -E 's/.* ([0-9]+) drops.*/\1/')
assert_ge 1 "$DROPS" "drops in the status line"
assert_eq "$DROPS" "$(sql "$T/s" "SELECT coalesce(sum(count), 0) FROM drops")" "drops in the store"
assert_ge 1 "$(sql "$T/s" "SELECT count(*) FROM flows WHERE port_b = $PORT")" \
	"the flow (its small packets fit)"
info "ok: $DROPS drops counted and stored"
