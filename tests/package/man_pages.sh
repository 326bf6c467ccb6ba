# SPDX-License-Identifier: GPL-2.0-only
# man_pages.sh - the generated man pages (tools/man/): each renders with man -l without a
# warning, mandoc -T lint reports nothing at level warning or above (the pages made from
# --help are clean at style level too), lexgrog finds its NAME line, and every option that
# a command's --help names is in its page (the page is made from that text).
source "$ECAP_SRC/tests/lib.sh"
need_cmd man mandoc lexgrog
M=$ECAP_BUILD/tools/man
[ -d "$M" ] || skip "man pages not built (-Dman=disabled)"

check_page() { # page lint-level
	local page=$1 level=$2 out
	[ -s "$M/$page" ] || fail "$page was not generated"
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$M/$page" 2>&1 >/dev/null) ||
		fail "man -l $page failed: $out"
	[ -z "$out" ] || fail "man --warnings -l $page: $out"
	out=$(mandoc -T lint -W "$level" "$M/$page" 2>&1) || [ -z "$out" ] ||
		fail "mandoc -T lint -W $level $page: $out"
	lexgrog "$M/$page" >/dev/null || fail "lexgrog cannot read the NAME of $page"
}

declare -A bins=([ecap-rec]=recorder [ecap-export]=export [ecap-ls]=tools [ecap-fsck]=tools
		 [ecap-calibrate]=tools [ecap-verify]=tools)
declare -A sect=([ecap-rec]=8 [ecap-export]=1 [ecap-ls]=1 [ecap-fsck]=8 [ecap-calibrate]=8
		 [ecap-verify]=1)
for cmd in "${!bins[@]}"; do
	page=$cmd.${sect[$cmd]}
	check_page "$page" style
	rendered=$(MANWIDTH=200 man -l "$M/$page" 2>/dev/null)
	for opt in $("$ECAP_BUILD/${bins[$cmd]}/$cmd" --help | grep -oE -- '--[a-z][-a-z]+' | sort -u); do
		grep -qF -- "$opt" <<<"$rendered" || fail "$page lacks $opt"
	done
	lexgrog "$M/$page" | grep -qF ": \"$cmd - " || fail "$page has no NAME line for $cmd"
done
# ecap-store(5): its literal block (the chunk format from schema/chunkmeta.c, as it is) has
# lines longer than mandoc's 80-byte style advice
check_page ecap-store.5 warning
rendered=$(MANWIDTH=120 man -l "$M/ecap-store.5" 2>/dev/null)
grep -q 'u32 0x184D2A5E   skippable magic' <<<"$rendered" ||
	fail "ecap-store.5 lacks the chunk format from schema/chunkmeta.c"
grep -q '@CHUNK_FORMAT@' "$M/ecap-store.5" && fail "ecap-store.5 kept its placeholder"
info "pages checked: $(ls "$M" | tr '\n' ' ')"
