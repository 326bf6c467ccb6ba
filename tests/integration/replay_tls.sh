#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# replay_tls.sh - the main replay test on real traffic: tcpdump records loopback while curl
# talks TLS 1.2 and TLS 1.3 to openssl s_server (curl writes SSLKEYLOGFILE). Then:
#  - ecap-rec --replay cap.pcap --keylog keys.txt: two flows, two TLS sessions, every secret
#    stored once and linked to its session, every captured packet stored;
#  - the same capture with its secrets in a DSB (editcap --inject-secrets), read from stdin;
#  - ecap-export of the store decrypts both requests in tshark (when ecap-export exists).
. "$ECAP_SRC/tests/lib.sh"
need_root
need_cmd tcpdump openssl curl sqlite3 tshark editcap

cd "$T"
PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 \
	-subj /CN=localhost >/dev/null 2>&1 || fail "cannot make a certificate"
openssl s_server -accept "127.0.0.1:$PORT" -cert cert.pem -key key.pem -www -quiet \
	-keylogfile server-keys.txt </dev/null >server.log 2>&1 &
cleanup_pid $!
wait_port "$PORT"

# start the capture after the port probe so that only the two TLS connections are in it
tcpdump -i lo -U --immediate-mode -n -w cap.pcap "tcp port $PORT" 2>tcpdump.log &
TCPDUMP=$!
cleanup_pid $TCPDUMP
for _ in $(seq 100); do grep -q "listening on" tcpdump.log && break; sleep 0.05; done
grep -q "listening on" tcpdump.log || fail "tcpdump did not start: $(cat tcpdump.log)"

SSLKEYLOGFILE="$T/keys.txt" curl -sk --tlsv1.2 --tls-max 1.2 -o r12.html "https://127.0.0.1:$PORT/tls12" ||
	fail "curl TLS 1.2"
SSLKEYLOGFILE="$T/keys.txt" curl -sk --tlsv1.3 -o r13.html "https://127.0.0.1:$PORT/tls13" ||
	fail "curl TLS 1.3"
sleep 0.5
kill -INT $TCPDUMP
wait $TCPDUMP || true
NPKT=$(tcpdump -r cap.pcap -n 2>/dev/null | wc -l)
NSEC=$(grep -cv '^#' keys.txt)
info "captured $NPKT packets, $NSEC secrets"
assert_ge 10 "$NPKT" "captured packets"
assert_eq 6 "$NSEC" "key log lines (1 for TLS 1.2, 5 for TLS 1.3)"
# the test's own premise: tshark decrypts the capture with the key log
assert_eq 2 "$(tshark -r cap.pcap -o tls.keylog_file:keys.txt -d tcp.port==$PORT,tls \
	-Y http.request 2>/dev/null | wc -l)" "requests tshark decrypts from the raw capture"

check_store() { # store what
	local db="$1/index.db"
	assert_eq "$NPKT" "$(sqlite3 "$db" 'select sum(packets) from chunks')" "$2: packets"
	assert_eq 2 "$(sqlite3 "$db" "select count(*) from flows where proto=6 and port_b=$PORT")" \
		"$2: TLS flows"
	assert_eq 2 "$(sqlite3 "$db" 'select count(*) from tls_sessions')" "$2: TLS sessions"
	assert_eq 2 "$(sqlite3 "$db" 'select count(distinct flow_id) from tls_sessions')" \
		"$2: flows with a TLS session"
	assert_eq "$NSEC" "$(store_figure "$1" secrets)" "$2: secrets"
	assert_eq "$NSEC" "$(store_figure "$1" secrets_linked)" "$2: secrets linked to a session"
	store_keylog "$1" "$T/check.keys"
	assert_eq 1 "$(grep -c '^CLIENT_RANDOM ' "$T/check.keys")" "$2: TLS 1.2 master secrets"
	assert_eq 1 "$(grep -c '^CLIENT_TRAFFIC_SECRET_0 ' "$T/check.keys")" \
		"$2: TLS 1.3 traffic secrets"
	assert_eq "$NSEC" "$(wc -l < "$T/check.keys")" "$2: secrets an export carries"
}

expect_status 0 "$ECAP_REC" --replay cap.pcap --store S --keylog keys.txt -q
check_store S "pcap + key log"
# loading the same key log again adds nothing
head -c 24 cap.pcap > header-only.pcap
expect_status 0 "$ECAP_REC" --replay header-only.pcap --store S --keylog keys.txt -q
assert_eq "$NSEC" "$(store_figure S secrets)" "secrets after a second load"

# the same traffic as pcapng with a DSB, through a pipe
editcap --inject-secrets "tls,keys.txt" cap.pcap dsb.pcapng
cat dsb.pcapng | "$ECAP_REC" --replay - --store S2 -q || fail "replay of a DSB pcapng from stdin"
check_store S2 "pcapng with DSB from stdin"

if [ -x "$ECAP_LS" ]; then
	"$ECAP_LS" S > ls.txt || fail "ecap-ls failed"
fi
if [ -x "$ECAP_EXPORT" ]; then
	"$ECAP_EXPORT" --store S2 --port "$PORT" -o out.pcapng 2>export.log ||
		fail "ecap-export: $(cat export.log)"
	assert_eq 2 "$(tshark -r out.pcapng -d tcp.port==$PORT,tls -Y http.request 2>/dev/null | wc -l)" \
		"requests tshark decrypts from the export"
	assert_eq "$NPKT" "$(tshark -r out.pcapng 2>/dev/null | wc -l)" "packets in the export"
else
	info "ecap-export not built: export part not run"
fi
# live through a pipe: tcpdump -w - into ecap-rec --replay -; the flow must be in the index
# within a few seconds while tcpdump is still running (chunks close by age on a quiet pipe)
mkfifo live.fifo
"$ECAP_REC" --replay live.fifo --store P -q 2> live-rec.log &
REC=$!
cleanup_pid $REC
tcpdump -i lo -U --immediate-mode -n -w live.fifo "tcp port $PORT" 2>live-tcpdump.log &
TCPDUMP=$!
cleanup_pid $TCPDUMP
for _ in $(seq 100); do grep -q "listening on" live-tcpdump.log && break; sleep 0.05; done
curl -sk -o /dev/null "https://127.0.0.1:$PORT/live" || fail "curl through the live pipe"
flows=0
for _ in $(seq 60); do
	flows=$(sqlite3 P/index.db "select count(*) from flows where port_b=$PORT" 2>/dev/null || echo 0)
	[ "$flows" = 1 ] && break
	sleep 0.1
done
assert_eq 1 "$flows" "flow visible while the pipe is open"
kill -INT $TCPDUMP
wait $TCPDUMP || true
rc=0; wait $REC || rc=$?
assert_eq 0 $rc "ecap-rec exit status at the end of the pipe: $(cat live-rec.log)"

info "TLS 1.2 and 1.3 replayed with their secrets"
