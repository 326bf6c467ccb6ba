#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# store_paths.sh - a store is reached only through a path no other user could have bent
# (schema/store_path.h). As root, with a user (nobody) who owns things under a sticky /tmp-like
# directory:
#  - a store directory that nobody owns is refused (exit 2) by ecap-rec, ecap-export, ecap-ls
#    and ecap-fsck, naming it;
#  - a symlink that nobody planted, leading to a store of ours, is refused;
#  - a store under a directory that nobody owns is refused;
#  - a store under a group-writable directory that is not sticky is refused;
#  - a store written by group or others is refused;
#  - a symlink of root's, in a directory of root's, leads to the store: accepted;
#  - a new store is made 0700 and the refused ones were left untouched.
. "$ECAP_SRC/tests/lib.sh"
need_root
need_cmd setpriv

cd "$T"
chmod 755 "$T"
"$ECAP_BUILD/tools/gen_traffic" -o in.pcap --bytes 200000 --seed 3 2>/dev/null
mkdir -p pub && chmod 1777 pub
"$ECAP_REC" -q --replay in.pcap --store good || fail "a store of our own was refused"
assert_eq 700 "$(stat -c %a good)" "mode of a new store"

refused() { # what store-path: every command refuses it and names it
	local what=$1 dir=$2
	expect_status 2 "$ECAP_REC" -q --replay in.pcap --store "$dir" 2>err.txt
	grep -q "store $dir refused" err.txt || fail "$what: no clear message: $(cat err.txt)"
	expect_status 2 "$ECAP_EXPORT" --store "$dir" -o /dev/null 2>err.txt
	grep -q "refused" err.txt || fail "$what: export's message: $(cat err.txt)"
	expect_status 2 "$ECAP_FSCK" "$dir" >err.txt 2>&1
	grep -q "refused" err.txt || fail "$what: fsck's message: $(cat err.txt)"
	expect_status 2 "$ECAP_BUILD/tools/ecap-ls" "$dir" 2>err.txt
	grep -q "refused" err.txt || fail "$what: ecap-ls's message: $(cat err.txt)"
	info "$what: refused"
}

# nobody's own directory as a store
mkdir pub/theirs && chown nobody pub/theirs && chmod 700 pub/theirs
refused "a store nobody owns" "$T/pub/theirs"
[ -z "$(ls pub/theirs)" ] || fail "files were written into nobody's directory"

# nobody's symlink in the sticky directory, to our good store
setpriv --reuid nobody --regid nogroup --clear-groups ln -s "$T/good" pub/link
refused "a symlink nobody planted" "$T/pub/link"

# a store under nobody's directory
mkdir -p pub/nd && chown nobody pub/nd
mkdir pub/nd/store && chmod 700 pub/nd/store
refused "a store under nobody's directory" "$T/pub/nd/store"

# under a group-writable directory without the sticky bit
mkdir -p gw && chmod 775 gw
refused "a store under a group-writable, not sticky directory" "$T/gw/store"
[ ! -e gw/store ] || fail "a store was created under the group-writable directory"

# a store that others may write
cp -a good loose && chmod 777 loose
refused "a store writable by others" "$T/loose"

# root's symlink in root's directory: fine
ln -s "$T/good" rootlink
"$ECAP_EXPORT" --store "$T/rootlink" -o out.pcapng 2>err.txt ||
	fail "a symlink of root's was refused: $(cat err.txt)"
exit 0
