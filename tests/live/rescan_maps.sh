# SPDX-License-Identifier: GPL-2.0-only
# rescan_maps.sh - a TLS library that a process already running maps later is watched by the
# next 10 s rescan of the processes' maps, whichever way it is mapped (what any rescan that
# visits fewer processes must still find). Four python3 processes start before ecap-rec, each
# with a copy of GnuTLS of its own (a new inode, found by no scan of the system's directories),
# and wait on a FIFO, making no mapping, until ecap-rec records; then each maps its copy
# executable in one of the ways a loader can:
#   mmap    mmap(PROT_READ|PROT_EXEC) where the kernel chooses;
#   fixed   MAP_FIXED into a region reserved before ecap-rec started (no new address range);
#   mprot   mprotect(PROT_READ|PROT_EXEC) of a read-only mapping made before ecap-rec started;
#   daemon  mmap, then fork(), the parent exiting at once: its child, which never mapped
#           anything itself, holds the library.
# Each copy must be watched within 25 s (by the first or second 10 s rescan), none before.
# Fails with the rescans left out (RESCAN_NS made an hour) or with the maps iterator's program
# writing no record (bpf/maps_iter.bpf.c: all four missing), and failed with each kind of mark
# left out of commit d9c1d8e's rescan by marks (the process's own mappings: mmap, fixed, mprot;
# a new process: daemon).
source "$ECAP_SRC/tests/lib.sh"
source "$ECAP_SRC/tests/live/live_lib.sh"
need_live
need_cmd python3 mkfifo
GNUTLS=$(readlink -f /usr/lib/x86_64-linux-gnu/libgnutls.so.30 2>/dev/null || true)
[ -f "$GNUTLS" ] || skip "no GnuTLS here (libgnutls30)"

cat >"$T/mapper.py" <<'EOF'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
R, X, PRIV, FIXED, ANON = 1, 4, 2, 0x10, 0x20
FAILED = ctypes.c_void_p(-1).value
mode, path, fifo, pidfile = sys.argv[1:5]
fd = os.open(path, os.O_RDONLY)
size = (os.fstat(fd).st_size + 4095) & ~4095
addr = None
if mode == "fixed":
    addr = libc.mmap(None, size, 0, PRIV | ANON, -1, 0)
elif mode == "mprot":
    addr = libc.mmap(None, size, R, PRIV, fd, 0)
assert addr != FAILED
os.read(os.open(fifo, os.O_RDONLY), 1)  # blocks, making no mapping, until the test says
if mode in ("mmap", "daemon"):
    ok = libc.mmap(None, size, R | X, PRIV, fd, 0) != FAILED
elif mode == "fixed":
    ok = libc.mmap(addr, size, R | X, PRIV | FIXED, fd, 0) == addr
else:
    ok = libc.mprotect(addr, size, R | X) == 0
assert ok, os.strerror(ctypes.get_errno())
if mode == "daemon":
    pid = os.fork()
    if pid:
        with open(pidfile, "w") as f:
            f.write(str(pid))
        os._exit(0)
time.sleep(60)
EOF

MODES="mmap fixed mprot daemon"
for m in $MODES; do
	mkdir -p "$T/lib/$m"
	cp "$GNUTLS" "$T/lib/$m/libgnutls.so.30"
	mkfifo "$T/go.$m"
	python3 "$T/mapper.py" "$m" "$T/lib/$m/libgnutls.so.30" "$T/go.$m" "$T/child.$m" &
	cleanup_pid $!
done
cleanup_cmd "[ -s '$T/child.daemon' ] && kill \$(cat '$T/child.daemon') 2>/dev/null"
sleep 1 # the mappers started (their own mappings made) before the recorder

PORT=$(free_port)
rec_start "$T/rec.log" -i lo --store "$T/store" "tcp port $PORT"
tls_watching "$T/rec.log" || skip "no TLS probe could be loaded: no rescans"
for m in $MODES; do
	grep -q "watching $T/lib/$m/" "$T/rec.log" && fail "$m: watched before it mapped its copy"
done
for m in $MODES; do
	timeout 5 sh -c "echo x >'$T/go.$m'" || fail "$m: the mapper is not waiting"
done
info "the copies mapped; waiting for the next rescan"
for _ in $(seq 250); do
	missing=""
	for m in $MODES; do
		grep -q "watching $T/lib/$m/libgnutls.so.30 (GnuTLS" "$T/rec.log" || missing+=" $m"
	done
	[ -z "$missing" ] && break
	sleep 0.1
done
[ -z "$missing" ] || fail "not watched within 25 s:$missing"
[ -s "$T/child.daemon" ] && kill -0 "$(cat "$T/child.daemon")" ||
	fail "the daemon's child is not there"
rec_stop
grep -q "rescans read [0-9]* processes' maps" "$T/rec.log" || fail "no rescan counts at the stop"
info "ok: each way of mapping a library was found by the rescan that followed it"
