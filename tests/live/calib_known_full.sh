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

real_libssl_secrets "$PORT" "$BOUND_S"
{ grep "$REAL_LIBSSL\|known" rec.log || true; } | sed 's/^/# /' >&2
[ -n "$SECRETS_MS" ] ||
	fail "no secret of the real libssl's sessions in the store within ${BOUND_S} s of the server's start"
info "the secrets of a session in the store $SECRETS_MS ms after the server started"
grep -q "tls: watching $REAL_LIBSSL" rec.log || fail "the server's libssl is not watched"
grep -q "tls: watching $T/planted" rec.log && fail "a planted file was probed"
rec_stop rec.log
info "ok: $N planted files did not keep a root-owned libssl found later from being watched"
