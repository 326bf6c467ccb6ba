# SPDX-License-Identifier: GPL-2.0-only
# filter.sh - PCAP-FILTER on a live recording: only matching packets are stored, the others
# are skipped in the kernel (the final status line counts them "in the kernel"), the interface
# records the expression; with ECAP_FILTER_USERSPACE=1 the filter runs in user space (said on
# stderr) with the same result; a bad expression is a usage error (exit 2) that leaves nothing
# attached; --snaplen cuts packets and is recorded.
# Also: without CAP_NET_ADMIN ecap-rec says which capability is missing and exits 2.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd curl

P1=$(free_port)
P2=$(free_port)
for p in "$P1" "$P2"; do
	python3 -m http.server "$p" --bind 127.0.0.1 --directory "$T" >"$T/http$p.log" 2>&1 &
	cleanup_pid "$!"
	wait_port "$p"
done
head -c 5000 /dev/urandom >"$T/blob"

rec_start "$T/rec.log" -i lo --store "$T/s" --no-tls --snaplen 100 tcp port "$P1"
for p in "$P1" "$P2" "$P1"; do
	curl -s -o /dev/null "http://127.0.0.1:$p/blob" || fail "curl to $p failed"
done
sleep 0.5
rec_stop
assert_no_filters lo
assert_accounting "$T/rec.log"
# every packet not stored was skipped in the kernel, none in user space
LAST=$(grep "ecap-rec: stopped:" "$T/rec.log" | tail -1)
FILTERED=$(echo "$LAST" | sed -n 's/.* \([0-9]*\) filtered out.*/\1/p')
IN_KERNEL=$(echo "$LAST" | sed -n 's/.*(\([0-9]*\) in the kernel).*/\1/p')
assert_ge 1 "${FILTERED:-0}" "packets filtered out"
assert_eq "$FILTERED" "$IN_KERNEL" "packets filtered in the kernel"
grep -q "filter runs in user space" "$T/rec.log" && fail "the filter fell back to user space"

assert_eq 2 "$(sql "$T/s" "SELECT count(*) FROM flows WHERE port_b = $P1")" "flows to $P1"
assert_eq 0 "$(sql "$T/s" "SELECT count(*) FROM flows WHERE port_b = $P2")" "flows to $P2"
assert_eq "lo|tcp port $P1|100" "$(sql "$T/s" "SELECT name, filter, snaplen FROM interfaces")" \
	"interface record"
store_pcapng "$T/s" "$T/all.pcapng"
assert_eq 0 "$(tshark -r "$T/all.pcapng" -Y "tcp.port == $P2" 2>/dev/null | wc -l)" \
	"packets to $P2"
assert_ge 10 "$(tshark -r "$T/all.pcapng" -Y "tcp.port == $P1" 2>/dev/null | wc -l)" \
	"packets to $P1"
MAXCAP=$(tshark -r "$T/all.pcapng" -T fields -e frame.cap_len 2>/dev/null | sort -n | tail -1)
MAXLEN=$(tshark -r "$T/all.pcapng" -T fields -e frame.len 2>/dev/null | sort -n | tail -1)
assert_eq 100 "$MAXCAP" "largest captured length with --snaplen 100"
assert_ge 1000 "$MAXLEN" "largest wire length"

# The same in user space.
ECAP_FILTER_USERSPACE=1 rec_start "$T/user.log" -i lo --store "$T/su" --no-tls tcp port "$P1"
for p in "$P2" "$P1"; do
	curl -s -o /dev/null "http://127.0.0.1:$p/blob" || fail "curl to $p failed"
done
sleep 0.5
rec_stop
assert_no_filters lo
assert_accounting "$T/user.log"
grep -q "ecap-rec: the filter runs in user space: ECAP_FILTER_USERSPACE=1" "$T/user.log" ||
	fail "no message for the user-space filter"
grep "ecap-rec: stopped:" "$T/user.log" | grep -q "in the kernel" &&
	fail "ECAP_FILTER_USERSPACE=1 still filtered in the kernel"
assert_eq 1 "$(sql "$T/su" "SELECT count(*) FROM flows WHERE port_b = $P1")" "flows to $P1 (user)"
assert_eq 0 "$(sql "$T/su" "SELECT count(*) FROM flows WHERE port_b = $P2")" "flows to $P2 (user)"

rc=0
"$ECAP_REC" -i lo --store "$T/s2" --no-tls "tcp port nonsense" 2>"$T/bad.log" &
BAD=$!
wait "$BAD" || rc=$?
assert_eq 2 "$rc" "exit status for a bad filter"
grep -q "bad filter expression" "$T/bad.log" || fail "no message for the bad filter"
assert_no_filters lo "$BAD"
# Without CAP_NET_ADMIN: a usage error naming the missing capability.
if command -v capsh >/dev/null 2>&1; then
	rc=0
	capsh --drop=cap_net_admin,cap_sys_admin -- -c \
		"exec '$ECAP_REC' -i lo --store '$T/s3' --no-tls" 2>"$T/caps.log" || rc=$?
	assert_eq 2 "$rc" "exit status without CAP_NET_ADMIN"
	grep -q "missing CAP_NET_ADMIN" "$T/caps.log" || fail "the missing capability is not named"
else
	info "capsh not installed: capability check not run"
fi
info "ok: filter in the kernel and in user space, snaplen, bad filter, missing capability"
