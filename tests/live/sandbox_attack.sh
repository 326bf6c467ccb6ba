#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sandbox_attack.sh - a local user plants a "libssl.so.3" while ecap-rec records (issue 13):
# it must never run with root's powers, the recorder must keep recording, and ecap-rec must
# hold only the capabilities README names.
#
#  1. nobody builds a libssl.so.3 with a constructor in a directory it owns and runs
#     LD_PRELOAD=that sleep (tests/unit/planted_libssl.c, mode 0: the constructor reports
#     what it may do, then tries to write a file);
#  2. a root-owned one in a directory laid out like a container image, run by a chroot'ed
#     process in a mount namespace of its own, so reached only through /proc/PID/root (mode 1:
#     it tries socket());
# Within the recorder's rescan, each is calibrated in the sandbox and killed there (SIGSYS),
# its report says uid 65534 without any capability, no_new_privs and seccomp, /etc/shadow
# unreadable, and no file was written by it (only the attacker's own process writes one, as
# itself). The real libssl is still calibrated, curl's traffic after the attacks is recorded
# and exported. ecap-rec's /proc/PID/status shows exactly CAP_BPF, CAP_NET_ADMIN,
# CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_CHECKPOINT_RESTORE (effective, permitted,
# bounding), no ambient or inheritable one, NoNewPrivs 1; its two launchers CAP_SETUID,
# CAP_SETGID, CAP_SYS_ADMIN and CAP_PERFMON only. A libssl mapped after the drop (OpenSSL 1.1, where
# installed) is still probed, through the launcher's uprobe perf events.
. "$ECAP_SRC/tests/lib.sh"
. "$ECAP_SRC/tests/live/live_lib.sh"

need_live
need_cmd setpriv curl chroot
PLANTED="$ECAP_BUILD/tests/unit"
[ -f "$PLANTED/planted_m0.so" ] || skip "the planted libraries are not built"

# The capability masks README names: bits 40 CHECKPOINT_RESTORE, 39 BPF, 19 SYS_PTRACE,
# 12 NET_ADMIN, 2 DAC_READ_SEARCH for ecap-rec; 38 PERFMON, 21 SYS_ADMIN (uprobe perf events),
# 7 SETUID and 6 SETGID (sandboxes) for its launcher.
want_rec=$(printf '%016x' $(((1 << 40) | (1 << 39) | (1 << 19) | (1 << 12) | (1 << 2))))
want_launcher=$(printf '%016x' $(((1 << 38) | (1 << 21) | (1 << 7) | (1 << 6))))
field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

cd "$T"
chmod 755 "$T"
# 1. a user's own directory; the marker directory is writable by everyone
mkdir -p user shared
chmod 1777 shared
cp "$PLANTED/planted_m0.so" user/libssl.so.3
chown -R nobody:nogroup user
# the planted constructor writes here, whoever runs it
marker=/tmp/ecap-planted-marker
rm -f "$marker"
cleanup_cmd "rm -f $marker"

# 2. a root-owned "container image": the loader, libc and sleep, and the planted libssl
root="$T/rootfs"
mkdir -p "$root/usr/lib/x86_64-linux-gnu" "$root/lib64" "$root/usr/bin"
for f in $(ldd /usr/bin/sleep | grep -o '/[^ ]*'); do
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
done
cp /usr/bin/sleep "$root/usr/bin/sleep"
cp "$PLANTED/planted_m1.so" "$root/usr/lib/x86_64-linux-gnu/libssl.so.3"

port=$(free_port)
python3 -m http.server --bind 127.0.0.1 "$port" >server.log 2>&1 &
srv_pid=$!
cleanup_pid "$srv_pid"
wait_port "$port"
rec_start rec.log -i lo --store "$T/store" tcp port "$port"
tls_watching rec.log ".*libssl.so.3 (OpenSSL" || fail "the real libssl was not calibrated"

# Capabilities after start-up, before any attack.
assert_eq "$want_rec" "$(field "$REC_PID" CapEff)" "ecap-rec CapEff"
assert_eq "$want_rec" "$(field "$REC_PID" CapPrm)" "ecap-rec CapPrm"
assert_eq "$want_rec" "$(field "$REC_PID" CapBnd)" "ecap-rec CapBnd"
assert_eq 0000000000000000 "$(field "$REC_PID" CapAmb)" "ecap-rec CapAmb"
assert_eq 0000000000000000 "$(field "$REC_PID" CapInh)" "ecap-rec CapInh"
assert_eq 1 "$(field "$REC_PID" NoNewPrivs)" "ecap-rec NoNewPrivs"
# every thread: capabilities belong to each (the store's writer thread holds none)
for task in /proc/"$REC_PID"/task/*; do
	eff=$(awk '$1 == "CapEff:" {print $2}' "$task/status")
	[ $((0x$eff & ~0x$want_rec)) -eq 0 ] || fail "thread ${task##*/} holds CapEff $eff"
done
# two launchers: one for calibrations, one for uprobe perf events
launchers=$(pgrep -P "$REC_PID" -x ecap-calib) || fail "no calibration launcher under ecap-rec"
assert_eq 2 "$(echo "$launchers" | wc -l)" "launchers under ecap-rec"
for launcher in $launchers; do
	assert_eq "$want_launcher" "$(field "$launcher" CapEff)" "launcher $launcher CapEff"
	assert_eq "$want_launcher" "$(field "$launcher" CapBnd)" "launcher $launcher CapBnd"
	assert_eq 1 "$(field "$launcher" NoNewPrivs)" "launcher $launcher NoNewPrivs"
done

setpriv --reuid nobody --regid nogroup --clear-groups \
	env LD_PRELOAD="$T/user/libssl.so.3" sleep 40 2>attacker.log &
cleanup_pid $!
# in a mount namespace of its own, on a tmpfs the host does not see: only /proc/PID/root
# leads to its files
mkdir -p ns_root
unshare --mount --propagation private sh -c "mount -t tmpfs tmpfs '$T/ns_root' &&
	cp -a '$root/.' '$T/ns_root/' &&
	LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libssl.so.3 exec chroot '$T/ns_root' /usr/bin/sleep 40" \
	2>container.log &
ctr_pid=$!	# unshare, sh and chroot exec one another: this is the sleep's pid
cleanup_pid "$ctr_pid"

# A real libssl that appears after the drop is calibrated and probed all the same.
late=/usr/lib/x86_64-linux-gnu/libssl.so.1.1
if [ -f "$late" ]; then
	python3 -c "import ctypes, time; ctypes.CDLL('$late'); time.sleep(40)" &
	cleanup_pid $!
fi

# The rescan comes every 10 s.
for i in $(seq 300); do
	# ours only: another recorder's test may plant libraries at the same time
	grep -q "$T/user/libssl.so.3: cannot calibrate" rec.log &&
		grep -q "/proc/$ctr_pid/map_files/[0-9a-f-]*: cannot calibrate" rec.log &&
		{ [ ! -f "$late" ] || grep -q "tls: watching $late" rec.log; } && break
	sleep 0.1
done
cat rec.log >&2
grep "$T/user/libssl.so.3: cannot calibrate" rec.log > user.txt ||
	fail "the user's planted libssl was not reported"
grep "/proc/$ctr_pid/map_files/[0-9a-f-]*: cannot calibrate" rec.log \
	> container.txt || fail "the container's planted libssl was not reported"
for f in user.txt container.txt; do
	grep -q "killed by the sandbox (SIGSYS" $f || fail "$f: not killed by seccomp"
	grep -q "planted: constructor uid=65534 euid=65534 capeff=0000000000000000 capbnd=0000000000000000 nnp=1 seccomp=2 shadow=no" $f ||
		fail "$f: the planted code ran with more than nobody's rights: $(cat $f)"
done
if [ -f "$late" ]; then
	grep -q "tls: watching $late (OpenSSL 1.1" rec.log ||
		fail "a libssl mapped after start-up was not probed"
fi
# Only the attacker's own process (nobody, no seccomp) may have written the marker.
if [ -e "$marker" ]; then
	grep -v "as uid 65534$" "$marker" && fail "the marker was written by another uid"
	[ "$(stat -c %U "$marker")" = nobody ] || fail "the marker belongs to $(stat -c %U "$marker")"
fi
[ -e /root/ecap-planted ] && fail "something was written under /root"

# Recording went on: a request after the attacks is stored and exported.
curl -sS -o /dev/null "http://127.0.0.1:$port/" 2>curl.err || fail "curl failed: $(cat curl.err) (the server $(kill -0 "$srv_pid" 2>/dev/null && echo runs || echo "is gone: $(tail -3 server.log)"))"
sleep 1.5
rec_stop
"$ECAP_EXPORT" --store "$T/store" --port "$port" -o out.pcapng 2>export.log ||
	fail "export failed: $(cat export.log)"
n=$(tshark -r out.pcapng -Y http.request 2>/dev/null | wc -l)
assert_ge 1 "$n" "HTTP requests exported after the attacks"
exit 0
