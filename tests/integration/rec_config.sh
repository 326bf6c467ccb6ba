# SPDX-License-Identifier: GPL-2.0-only
# rec_config.sh - ecap-rec --config and --print-config through the real binary: the file's
# settings and the command line's overrides (a repeatable option's values replaced as a
# whole, the filter replaced), yes/no options, each kind of bad line reported as FILE:LINE
# with exit 2, a missing file, and a replay that takes its store and retention from the file.
source "$ECAP_SRC/tests/lib.sh"
cd "$T"

cat >rec.conf <<CONF
# a comment
   # an indented comment

interface = eth0
interface=eth1
store = $T/st
max-size = 512M
max-age = 36h
snaplen = 128
no-tls = yes
quiet = no
filter = tcp port 443 and not host 10.0.0.1
CONF
"$ECAP_REC" --config rec.conf --print-config >eff.txt
for l in "store = $T/st" "interface = eth0" "interface = eth1" "max-size = 512M" \
	"max-age = 36h" "snaplen = 128" "no-tls = yes" "quiet = no" \
	"filter = tcp port 443 and not host 10.0.0.1" "chunk-size = 1M" "# keylog = (none)"; do
	grep -qxF -- "$l" eff.txt || fail "--print-config lacks '$l': $(cat eff.txt)"
done
# what --print-config prints is itself a configuration that gives the same settings
"$ECAP_REC" --config eff.txt --print-config | tail -n +2 >eff2.txt
tail -n +2 eff.txt | diff - eff2.txt || fail "--print-config output does not read back the same"

# the command line overrides: -i replaces both interfaces, a filter replaces the filter
"$ECAP_REC" -c rec.conf -i lo --max-age 2d --print-config udp port 53 >ov.txt
grep -qxF "interface = lo" ov.txt || fail "override -i: $(cat ov.txt)"
[ "$(grep -c '^interface = ' ov.txt)" = 1 ] || fail "the file's interfaces stayed: $(cat ov.txt)"
grep -qxF "max-age = 2d" ov.txt || fail "override --max-age: $(cat ov.txt)"
grep -qxF "filter = udp port 53" ov.txt || fail "override of the filter: $(cat ov.txt)"
grep -qxF "max-size = 512M" ov.txt || fail "a setting not overridden: $(cat ov.txt)"
# options before --config on the command line still win over the file
"$ECAP_REC" --store /tmp/elsewhere -c rec.conf --print-config | grep -qxF "store = /tmp/elsewhere" ||
	fail "a command line option before --config lost to the file"

# bad lines: exit 2, FILE:LINE and the reason
bad() { # line-content line-number expected-message
	printf 'store = /x\n%s\n' "$1" >bad.conf
	local rc=0
	"$ECAP_REC" --config bad.conf --print-config >/dev/null 2>err.txt || rc=$?
	assert_eq 2 "$rc" "exit status for '$1'"
	grep -qF "ecap-rec: bad.conf:$2: $3" err.txt || fail "for '$1': $(cat err.txt)"
}
bad "interface eth0" 2 "'interface' is not followed by '= value'"
bad "Store = /y" 2 "a line starts with a key"
bad "max-size = lots" 2 "--max-size: 'lots' is not a size"
bad "max-size =" 2 "'max-size' has an empty value"
bad "colour = blue" 2 "unknown setting 'colour'"
bad "help = yes" 2 "unknown setting 'help'"
bad "config = other.conf" 2 "unknown setting 'config'"
bad "no-tls = maybe" 2 "no-tls: 'maybe' is not yes or no"
bad "snaplen = -1" 2 "--snaplen: '-1' is not a byte count"
rc=0; "$ECAP_REC" --config missing.conf -i lo 2>err.txt || rc=$?
assert_eq 2 "$rc" "exit status for a missing file"
grep -qF "ecap-rec: --config missing.conf: No such file or directory" err.txt || fail "$(cat err.txt)"
# no-tls = no leaves it off
printf 'no-tls = no\nquiet = false\n' >b.conf
"$ECAP_REC" -c b.conf --print-config | grep -qxF "no-tls = no" || fail "no-tls = no"

# a replay with the store and retention from the file
python3 "$ECAP_SRC/tests/integration/mkcap.py" udp u.pcap 30
printf 'store = %s/rs\nmax-age = 7d\nquiet = yes\n' "$T" >replay.conf
"$ECAP_REC" -c replay.conf --replay u.pcap 2>err.txt || fail "replay with --config: $(cat err.txt)"
[ ! -s err.txt ] || fail "quiet = yes from the file was not applied: $(cat err.txt)"
assert_eq 30 "$(sqlite3 rs/index.db 'select sum(packets) from chunks')" "packets replayed into the file's store"
# a filter from the file with a replay is refused like one on the command line
printf 'store = %s/rs\nfilter = udp\n' "$T" >rf.conf
rc=0; "$ECAP_REC" -c rf.conf --replay u.pcap 2>err.txt || rc=$?
assert_eq 2 "$rc" "a filter with --replay"
grep -q "works on live capture only" err.txt || fail "$(cat err.txt)"
