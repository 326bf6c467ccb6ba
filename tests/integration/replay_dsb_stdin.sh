#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# replay_dsb_stdin.sh - a pcapng read from standard input, in both byte orders, carrying what
# pcapng can carry: two interfaces (if_name, different link types and if_tsresol), a DSB with
# a TLS 1.2 secret for the connection in the file and one for no session, a ClientHello split
# over two TCP segments, ptcpdump's per-packet process comments and epb_flags. The store must
# link the session, drop the secret of no session (and count it; --keep-all-secrets keeps it),
# attribute the flow to the commented process and keep nanosecond timestamps.
. "$ECAP_SRC/tests/lib.sh"
need_cmd python3 sqlite3

MKCAP="$ECAP_SRC/tests/integration/mkcap.py"
cd "$T"
for order in le be; do
	python3 "$MKCAP" tlsdsb "t-$order.pcapng" $order
	S="$T/S-$order"
	cat "t-$order.pcapng" | "$ECAP_REC" --replay - --store "$S" 2> summary.txt ||
		fail "$order: replay failed: $(cat summary.txt)"
	db="$S/index.db"
	assert_eq "0|tst0|1 1|tst1|101" \
		"$(sqlite3 "$db" "select group_concat(id||'|'||name||'|'||linktype, ' ') from interfaces")" \
		"$order: interfaces"
	assert_eq 10 "$(sqlite3 "$db" 'select sum(packets) from chunks')" "$order: packets"
	assert_eq "6|40000|443|1764140400123456789" \
		"$(sqlite3 "$db" 'select proto, port_a, port_b, first_ns from flows where proto=6')" \
		"$order: the TCP flow, to the nanosecond"
	assert_eq "17|1764140400123456000" \
		"$(sqlite3 "$db" 'select proto, first_ns from flows where proto=17')" \
		"$order: the UDP flow on the microsecond interface"
	assert_eq 1 "$(sqlite3 "$db" 'select count(*) from tls_sessions')" "$order: TLS sessions"
	assert_eq 202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F \
		"$(sqlite3 "$db" 'select hex(client_random) from tls_sessions')" "$order: client_random"
	# the DSB's second secret belongs to no session of the capture: not kept
	assert_eq 1 "$(store_figure "$S" secrets)" "$order: secrets"
	assert_eq 1 "$(store_figure "$S" secrets_linked)" "$order: linked secrets"
	store_keylog "$S" "$T/check.keys"
	assert_eq "CLIENT_RANDOM 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f" \
		"$(cut -d' ' -f1,2 "$T/check.keys")" "$order: the linked secret"
	assert_eq "0|4242|curl-with-a-lon" \
		"$(sqlite3 "$db" 'select side, pid, comm from flow_procs')" "$order: process attribution"
	grep -q "1 linked to a session, 0 unlinked" summary.txt ||
		fail "$order: summary: $(cat summary.txt)"
	grep -q "^1 TLS secret of sessions not recorded was not kept" summary.txt ||
		fail "$order: summary: $(cat summary.txt)"
	grep -q "6 packets with a process comment" summary.txt || fail "$order: summary: $(cat summary.txt)"
done
# --keep-all-secrets keeps the unlinked one too
"$ECAP_REC" --replay "t-$order.pcapng" --store "$T/S-all" --keep-all-secrets 2> summary.txt ||
	fail "replay --keep-all-secrets failed: $(cat summary.txt)"
assert_eq 2 "$(store_figure "$T/S-all" secrets)" \
	"--keep-all-secrets: secrets"
grep -q "1 linked to a session, 1 unlinked" summary.txt || fail "summary: $(cat summary.txt)"
grep -q "not kept" summary.txt && fail "--keep-all-secrets dropped secrets: $(cat summary.txt)"
info "pcapng from stdin with DSB, comments and two interfaces"
