# SPDX-License-Identifier: GPL-2.0-only
# completion.sh - the bash completion (tools/dist/ecap.bash) called as bash calls it: long
# options from each command's --help, interface names after -i, directories after --store,
# and --pid, --comm and --uid values from the store named on the line (ecap-ls --json).
source "$ECAP_SRC/tests/lib.sh"
cd "$T"
PATH=$ECAP_BUILD/recorder:$ECAP_BUILD/export:$ECAP_BUILD/tools:$PATH
# shellcheck source=/dev/null
source "$ECAP_SRC/tools/dist/ecap.bash"

# complete WORD...: COMPREPLY for the command line WORD... with the cursor in the last word
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	_ecap "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}"
}
has() { # what expected-word output
	grep -qxF -- "$2" <<<"$3" || fail "$1: '$2' not offered: $(tr '\n' ' ' <<<"$3")"
}

out=$(complete_line ecap-rec --max-)
has "ecap-rec --max-" --max-size "$out"
has "ecap-rec --max-" --max-age "$out"
[ "$(wc -l <<<"$out")" = 2 ] || fail "ecap-rec --max-: $(tr '\n' ' ' <<<"$out")"
has "ecap-rec --pr" --print-config "$(complete_line ecap-rec --pr)"
has "ecap-export --fo" --follow "$(complete_line ecap-export --fo)"
has "ecap-fsck --reb" --rebuild "$(complete_line ecap-fsck --reb)"
has "ecap-rec -i" lo "$(complete_line ecap-rec -i l)"
mkdir -p stores/one
has "--store" stores/one "$(complete_line ecap-export --store stores/o)"

python3 "$ECAP_SRC/tests/integration/mkcap.py" udp u.pcap 10
python3 "$ECAP_SRC/tests/integration/mkcap.py" ptcpdump u.pcap p.pcapng 4242 /usr/bin/curl
ecap-rec --replay p.pcapng --store st -q
python3 "$ECAP_SRC/tests/integration/mkcap.py" ptcpdump u.pcap q.pcapng 515 /usr/sbin/nginx
ecap-rec --replay q.pcapng --store st -q
out=$(complete_line ecap-export --store st --comm "")
has "--comm" curl "$out"
has "--comm" nginx "$out"
has "--pid" 4242 "$(complete_line ecap-ls --store st --pid 4)"
[ -z "$(complete_line ecap-ls --store st --pid 9)" ] || fail "--pid 9 offered a pid"
has "--uid" 0 "$(complete_line ecap-export --store=st --uid "")"
# no store there: nothing offered, nothing printed
[ -z "$(complete_line ecap-export --store nostore --comm "" 2>&1)" ] ||
	fail "a missing store gave completions or messages"
