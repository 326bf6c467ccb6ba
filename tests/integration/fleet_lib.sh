# SPDX-License-Identifier: GPL-2.0-only
# fleet_lib.sh - helpers for the fleet tests (sourced after tests/lib.sh): a throwaway
# PostgreSQL 15 server run as the postgres user on 127.0.0.1 at a free non-default port,
# with a password (scram) and a root-only DSN file, removed at the end whatever happens;
# psql as that user; central and local rows in comparable text.
ECAP_SHIP="$ECAP_BUILD/tools/ecap-ship"
PG_BIN=/usr/lib/postgresql/15/bin

# pg_start: PG_PORT, PG_DIR, PG_DSN (with password, in $T/dsn, mode 0600), PG_PID.
pg_start() {
	need_root
	[ -x "$PG_BIN/postgres" ] || skip "postgresql-15 is not installed"
	id postgres >/dev/null 2>&1 || skip "no postgres user"
	PG_DIR=$(mktemp -d "${ECAP_TMP_PREFIX:-/tmp/ecap}-pg.XXXXXX")
	cleanup_cmd "rm -rf '$PG_DIR'"
	chown postgres: "$PG_DIR"
	PG_PORT=$(free_port)
	local pw
	pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	printf '%s\n' "$pw" >"$PG_DIR/pw"
	chown postgres: "$PG_DIR/pw"
	chmod 600 "$PG_DIR/pw"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U ecap --auth=scram-sha-256 \
		--pwfile="$PG_DIR/pw" -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
		{ cat "$PG_DIR/initdb.log" >&2; fail "initdb failed"; }
	rm -f "$PG_DIR/pw"
	pg_run
	PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=postgres user=ecap password=$pw"
	PG_DSN+=" connect_timeout=3"
	printf '%s\n' "$PG_DSN" >"$T/dsn"
	chmod 600 "$T/dsn"
	PGPASSWORD=$pw
	export PGPASSWORD
}

# pg_run: start (again) the server of pg_start; PG_PID. PG_EXTRA: more server options.
pg_run() {
	runuser -u postgres -- "$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" \
		-c listen_addresses=127.0.0.1 -c unix_socket_directories="$PG_DIR" -c fsync=off \
		-c synchronous_commit=off -c full_page_writes=off ${PG_EXTRA:-} \
		>>"$PG_DIR/pg.log" 2>&1 &
	PG_PID=$!
	cleanup_pid "$PG_PID"
	local i
	for i in $(seq 100); do
		if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
			PG_POSTMASTER=$(head -1 "$PG_DIR/data/postmaster.pid")
			cleanup_cmd "kill -INT $PG_POSTMASTER 2>/dev/null; sleep 0.5"
			return 0
		fi
		kill -0 "$PG_PID" 2>/dev/null ||
			{ cat "$PG_DIR/pg.log" >&2; fail "postgres exited"; }
		sleep 0.1
	done
	fail "postgres not ready after 10 s"
}

# pg_tls: a CA (in $T/ca.pem) and a server certificate for 127.0.0.1 signed by it; the
# server restarted with TLS on. A second, unrelated CA in $T/other.pem.
pg_tls() {
	local d=$PG_DIR/tls
	mkdir "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=ecap-test-ca -keyout "$d/ca.key" -out "$T/ca.pem" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=other-ca -keyout "$d/other.key" -out "$T/other.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$T/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null ||
		fail "cannot make the server certificate"
	chown -R postgres: "$d"
	chmod 600 "$d/server.key"
	pg_stop
	PG_EXTRA="-c ssl=on -c ssl_cert_file=$d/server.pem -c ssl_key_file=$d/server.key"
	pg_run
}

# pg_stop: fast shutdown of the server (SIGINT to the postmaster runuser started), waited for.
pg_stop() {
	kill -INT "$PG_POSTMASTER"
	wait "$PG_PID" 2>/dev/null || true
}

# psqlc SQL: one query on the central database, unaligned, no header.
psqlc() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U ecap -d postgres -c "$1"
}

# local_rows STORE: flows, their processes, process records, chunks, TLS sessions and NAT
# links of a store's index as sorted text lines, in the same form as central_rows HOST
# prints them.
local_rows() {
	sqlite3 -batch -noheader -separator ' ' "$1/index.db" "
		SELECT 'flow', id, proto, port_a, port_b, packets, bytes, first_chunk, last_chunk
		FROM flows;
		SELECT 'proc', flow_id, side, pid, uid, comm, start FROM flow_procs;
		SELECT 'process', pid, start, start_wall / 1000, ppid, parent_comm, nspid, exe,
			cgroup, container_id, runtime, pod_uid, last_chunk, args FROM processes;
		SELECT 'chunk', id, segment, packets, raw_len FROM chunks;
		SELECT 'tls', flow_id, chunk_id FROM tls_sessions;
		SELECT 'link', pre_flow, post_flow, kind, a_side, ts_ns / 1000, chunk_id
		FROM flow_links;" | sort
}

central_rows() {
	host_rows "$1" ecap_flows "'flow', t.id, proto, port_a, port_b, packets, bytes, first_chunk,
		last_chunk"
	host_rows "$1" ecap_procs "'proc', flow_id, side, pid, uid, comm, start"
	host_rows "$1" ecap_processes "'process', pid, start, (extract(epoch FROM start_ts) *
		1000000)::bigint, ppid, parent_comm, nspid, exe, cgroup, container_id, runtime,
		pod_uid, last_chunk, args"
	host_rows "$1" ecap_chunks "'chunk', t.id, segment, packets, raw_len"
	host_rows "$1" ecap_tls_sessions "'tls', flow_id, chunk_id"
	host_rows "$1" ecap_flow_links "'link', pre_flow, post_flow, kind, a_side,
		(extract(epoch FROM ts) * 1000000)::bigint, chunk_id"
}

# host_rows HOST TABLE COLUMNS: the rows of HOST in a central table, space-separated
host_rows() {
	psqlc "SELECT $3 FROM $2 t JOIN ecap_hosts h USING (host_id) WHERE h.name = '$1'" |
		tr '|' ' '
}

# assert_shipped STORE HOST: the central rows of HOST are exactly the store's.
assert_shipped() {
	local_rows "$1" >"$T/local.txt"
	central_rows "$2" | sort >"$T/central.txt"
	if ! cmp -s "$T/local.txt" "$T/central.txt"; then
		diff "$T/local.txt" "$T/central.txt" | head -20 >&2 || true
		fail "central rows of $2 differ from the local index of $1"
	fi
}

# The SQL that makes the daily partitions of ecap_flows and ecap_procs for DAYS days from T0
# (seconds, a UTC midnight), as a shipper would make them (the benchmarks' generated rows).
day_partitions_sql() { # T0 DAYS
	local sql="" d from name t
	for d in $(seq 0 $(($2 - 1))); do
		from=$(($1 + d * 86400))
		name=$(date -u -d "@$from" +%Y%m%d)
		for t in ecap_flows ecap_procs; do
			sql+="CREATE TABLE IF NOT EXISTS ${t}_p$name PARTITION OF $t FOR VALUES FROM
			(to_timestamp($from)) TO (to_timestamp($((from + 86400))));"
		done
	done
	echo "$sql"
}
