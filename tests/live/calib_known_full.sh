# SPDX-License-Identifier: GPL-2.0-only
# calib_known_full.sh - a user's planted files cannot use up the libssl files ecap-rec keeps
# track of. 70 files named libssl.so.3 that are no library, each in a directory of its own and
# owned by nobody, are mapped by a process before ecap-rec starts: each is calibrated, fails,
# and is kept as known (so as not to be calibrated again at each rescan), which on main
# 86290f2 filled the table of 64 known files for good: a server started later with a libssl
# of its own (a copy of the system's, root's) was never watched, and its sessions' secrets
# were lost. Now a file only root can have written takes the place of one a user could have
# written that failed: the server's libssl must be watched, and the secrets of its sessions
# stored, within BOUND_S of its start. In a network namespace of its own.
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
BOUND_S=40
N=70
need_live
need_cmd openssl ldd pgrep
in_own_netns calibfull
need_tls_live
for i in $(seq "$N"); do
	mkdir -p "planted/$i"
	printf 'not a library %s\n' "$i" > "planted/$i/libssl.so.3"
done
chown -R 65534:65534 planted
python3 -c "import mmap, sys, time
maps = []
for i in range(1, $N + 1):
    f = open('$T/planted/%d/libssl.so.3' % i, 'rb')
    maps.append(mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ | mmap.PROT_EXEC))
time.sleep(120)" &
cleanup_pid $!
sleep 1
PORT=$(free_port)
rec_start rec.log -i lo --store "$T/store" --container-api none "tcp port $PORT"
# the planted files' calibrations: each fails
for _ in $(seq 600); do
	[ "$(grep -c "planted/.*cannot calibrate" rec.log)" -ge 63 ] && break
	sleep 0.1
done
failed=$(grep -c "planted/.*cannot calibrate" rec.log || true)
info "$failed planted files calibrated and given up on"
[ "$failed" -ge 63 ] || fail "only $failed planted files were calibrated in 60 s"

sys=$(ldd "$(command -v openssl)" | awk '$1 ~ /^libssl\.so/ { print $3 }')
[ -f "$sys" ] || skip "openssl does not use a shared libssl here"
mkdir real
cp "$sys" real/
chmod 0644 real/*
name=$(basename "$sys")
T0=$(date +%s%N)
LD_LIBRARY_PATH="$T/real" openssl s_server -www -accept "$PORT" -cert cert.pem -key key.pem \
	-quiet >/dev/null 2>&1 &
SERVER=$!
cleanup_pid "$SERVER"
wait_port "$PORT"
found=
for i in $(seq "$BOUND_S"); do
	LD_LIBRARY_PATH="$T/real" openssl s_client -connect "127.0.0.1:$PORT" \
		-keylogfile "kl.$i" </dev/null >/dev/null 2>&1
	store_keylog "$T/store" store.kl
	for k in kl.*; do
		cr=$(awk '$1 == "CLIENT_HANDSHAKE_TRAFFIC_SECRET" { print $2; exit }' "$k")
		if [ -n "$cr" ] && grep -q "$cr" store.kl 2>/dev/null; then
			found=$k
			break 2
		fi
	done
	[ $((($(date +%s%N) - T0) / 1000000000)) -lt "$BOUND_S" ] || break
	sleep 1
done
ms=$((($(date +%s%N) - T0) / 1000000))
{ grep "$T/real/$name\|known" rec.log || true; } | sed 's/^/# /' >&2
[ -n "$found" ] || fail "no secret of the real libssl's sessions in the store ${ms} ms after the server started (bound ${BOUND_S} s)"
info "the secrets of a session ($found) in the store $ms ms after the server started"
grep -q "tls: watching $T/real/$name" rec.log || fail "the server's libssl is not watched"
grep -q "tls: watching $T/planted" rec.log && fail "a planted file was probed"
rec_stop rec.log
info "ok: $N planted files did not keep a root-owned libssl found later from being watched"
