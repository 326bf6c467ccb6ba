# SPDX-License-Identifier: GPL-2.0-only
# deb.sh - the Debian package, end to end, on this machine (root; skipped otherwise, and when
# an ecap package is installed already: that one is not touched):
# - built out of tree (a copy of the source files git knows) with dpkg-buildpackage -us -uc
#   -b; the tree's git status is the same afterwards; lintian reports no error;
# - installed (apt-get, which waits for the dpkg lock); the files' modes and owners; the
#   unit is neither enabled nor started; /var/lib/ecap is 0700 root;
# - the installed ecap-rec --replay (into the default store when the package created it)
#   and ecap-export, whose export tshark reads; ecap-rec --config with the installed file;
#   the installed man pages and completion; systemd-analyze verify on the installed unit and
#   the exposure score of systemd-analyze security --offline=yes;
# - remove keeps the configuration, purge removes it (and /etc/ecap), and the store stays.
# The machine is left as it was: the package is purged on every exit, and /var/lib/ecap is
# removed only when this test's install created it.
source "$ECAP_SRC/tests/lib.sh"
need_root
need_cmd dpkg-buildpackage lintian apt-get systemd-analyze git tshark man
if dpkg-query -W -f='${Status}' ecap 2>/dev/null | grep -q "installed"; then
	skip "an ecap package is installed already; not touching it"
fi
dpkg-checkbuilddeps "$ECAP_SRC/debian/control" 2>"$T/deps.txt" ||
	skip "build dependencies missing (tools/setup.sh installs them): $(cat "$T/deps.txt")"

APT=(apt-get -y -qq -o DPkg::Lock::Timeout=300)
store_existed=no
[ -e /var/lib/ecap ] && store_existed=yes
purge_package() {
	if dpkg-query -W -f='${Status}' ecap 2>/dev/null | grep -q "installed\|config-files"; then
		DEBIAN_FRONTEND=noninteractive "${APT[@]}" purge ecap >/dev/null 2>&1 ||
			dpkg --purge ecap >/dev/null 2>&1 || true
	fi
	[ "$store_existed" = yes ] || rm -rf /var/lib/ecap
}
cleanup_cmd purge_package

# ---- build, out of tree -----------------------------------------------------------------
status_before=$(git -C "$ECAP_SRC" status --porcelain --ignored)
mkdir "$T/src" "$T/src/ecap"
git -C "$ECAP_SRC" ls-files -co --exclude-standard -z |
	(cd "$ECAP_SRC" && xargs -0 cp --parents -t "$T/src/ecap")
t0=$(date +%s.%N)
# debhelper builds with ninja -j1 unless DEB_BUILD_OPTIONS says otherwise
(cd "$T/src/ecap" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
	{ tail -n 40 "$T/build.log" >&2; fail "dpkg-buildpackage failed"; }
t1=$(date +%s.%N)
info "package built in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
[ "$(git -C "$ECAP_SRC" status --porcelain --ignored)" = "$status_before" ] ||
	fail "the package build changed the source tree"
DEB=$(ls "$T"/src/ecap_*_amd64.deb)
lintian "$T"/src/ecap_*.changes >"$T/lintian.txt" 2>&1 || true
grep -v "running with root privileges is not recommended" "$T/lintian.txt" >&2 || true
grep -q "^E: " "$T/lintian.txt" && fail "lintian errors"
info "lintian: $(grep -c '^W: ' "$T/lintian.txt" || true) warnings, no error"

# ---- install -----------------------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive "${APT[@]}" install "$DEB" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log" >&2; fail "the package does not install"; }
mode() { stat -c '%a %U:%G' "$1"; }
for f in /usr/sbin/ecap-rec /usr/bin/ecap-export /usr/bin/ecap-ls /usr/bin/ecap-fsck \
	/usr/bin/ecap-calibrate /usr/bin/ecap-verify; do
	assert_eq "755 root:root" "$(mode "$f")" "$f"
done
for f in /etc/ecap/ecap-rec.conf /lib/systemd/system/ecap-rec.service \
	/usr/share/bash-completion/completions/ecap-rec /usr/share/man/man8/ecap-rec.8.gz \
	/usr/share/man/man1/ecap-export.1.gz /usr/share/man/man1/ecap-ls.1.gz \
	/usr/share/man/man8/ecap-fsck.8.gz /usr/share/man/man8/ecap-calibrate.8.gz \
	/usr/share/man/man1/ecap-verify.1.gz \
	/usr/share/man/man5/ecap-store.5.gz /usr/share/doc/ecap/README.md.gz \
	/usr/share/doc/ecap/BENCHMARKS.md.gz; do
	assert_eq "644 root:root" "$(mode "$f")" "$f"
done
for c in ecap-export ecap-ls ecap-fsck ecap-calibrate ecap-verify; do
	assert_eq ecap-rec "$(readlink "/usr/share/bash-completion/completions/$c")" "completion $c"
done
assert_eq "700 root:root" "$(mode /var/lib/ecap)" "/var/lib/ecap"
grep -qx /etc/ecap/ecap-rec.conf /var/lib/dpkg/info/ecap.conffiles || fail "the config is no conffile"
# installed disabled, not started
[ ! -e /etc/systemd/system/multi-user.target.wants/ecap-rec.service ] || fail "the unit was enabled"
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	systemctl is-active --quiet ecap-rec && fail "the unit was started"
fi

# ---- use ---------------------------------------------------------------------------------
cd "$T"
python3 "$ECAP_SRC/tests/integration/mkcap.py" udp u.pcap 40
python3 "$ECAP_SRC/tests/integration/mkcap.py" ptcpdump u.pcap p.pcapng 4242 /usr/bin/curl
STORE=/var/lib/ecap
[ "$store_existed" = no ] || STORE=$T/store # someone's store: not ours to write into
/usr/sbin/ecap-rec --replay p.pcapng --store "$STORE" -q || fail "installed ecap-rec --replay"
/usr/bin/ecap-export --store "$STORE" --pid 4242 -o out.pcapng -q || fail "installed ecap-export"
assert_eq 40 "$(tshark -r out.pcapng 2>/dev/null | wc -l)" "packets exported"
tshark -r out.pcapng -T fields -e frame.comment 2>/dev/null | head -n1 | grep -q "PID: 4242" ||
	fail "no process comment in the export"
assert_eq "700 root:root" "$(mode "$STORE")" "the store directory"
/usr/bin/ecap-fsck -q "$STORE" || fail "ecap-fsck on the new store"
/usr/sbin/ecap-rec --config /etc/ecap/ecap-rec.conf --print-config >eff.txt ||
	fail "the installed configuration does not parse"
grep -qx "store = /var/lib/ecap" eff.txt || fail "installed config: $(cat eff.txt)"
# no interface in the default file: the service would stop at once with exit 2 (no restart)
rc=0; /usr/sbin/ecap-rec --config /etc/ecap/ecap-rec.conf 2>/dev/null || rc=$?
assert_eq 2 "$rc" "ecap-rec with the default configuration"
man -w ecap-rec ecap-store >/dev/null || fail "man does not find the installed pages"
out=$(bash -c 'source /usr/share/bash-completion/bash_completion 2>/dev/null
	__load_completion ecap-export && complete -p ecap-export')
grep -q "_ecap ecap-export" <<<"$out" || fail "the completion does not load: $out"

systemd-analyze verify /lib/systemd/system/ecap-rec.service >verify.txt 2>&1 ||
	{ cat verify.txt >&2; fail "systemd-analyze verify"; }
[ ! -s verify.txt ] || { cat verify.txt >&2; fail "systemd-analyze verify said something"; }
systemd-analyze security --offline=yes /lib/systemd/system/ecap-rec.service >sec.txt 2>&1 ||
	true
score=$(sed -n 's/.*Overall exposure level for ecap-rec.service: \([0-9.]*\).*/\1/p' sec.txt)
[ -n "$score" ] || { cat sec.txt >&2; fail "no exposure score"; }
info "systemd-analyze security --offline=yes: exposure $score"
awk -v s="$score" 'BEGIN { exit !(s <= 4.0) }' || fail "exposure $score is above 4.0"

# ---- remove, purge -----------------------------------------------------------------------
DEBIAN_FRONTEND=noninteractive "${APT[@]}" remove ecap >/dev/null 2>&1 || fail "apt-get remove"
[ ! -e /usr/sbin/ecap-rec ] || fail "remove left the binary"
[ -f /etc/ecap/ecap-rec.conf ] || fail "remove deleted the configuration"
DEBIAN_FRONTEND=noninteractive "${APT[@]}" purge ecap >/dev/null 2>&1 || fail "apt-get purge"
[ ! -e /etc/ecap ] || fail "purge left /etc/ecap: $(ls -la /etc/ecap)"
[ -z "$(dpkg-query -W -f='${Status}' ecap 2>/dev/null | grep -v not-installed)" ] ||
	fail "ecap still known to dpkg after purge"
[ -f "$STORE/index.db" ] && ls "$STORE"/seg-*.ecap >/dev/null 2>&1 ||
	fail "the store did not survive the purge"
assert_eq "700 root:root" "$(mode "$STORE")" "the store after purge"
info "purged; the store $STORE is still there"
