# SPDX-License-Identifier: GPL-2.0-only
# ecap.bash - bash completion for ecap-rec, ecap-export, ecap-ls, ecap-fsck, ecap-calibrate
# and ecap-verify,
# installed once per command name in bash-completion's completions directory (they load on
# demand). Options are taken from each command's --help, so they follow the binary;
# -i/--interface completes network interfaces, --store and store arguments directories,
# and --pid, --comm, --uid, --exe, --cgroup, --container (names) and --pod the values recorded
# in the store (ecap-ls --json --processes).

# The long and short options that CMD --help lists.
_ecap_options()
{
	"$1" --help 2>/dev/null | grep -oE '(^|[ ,[])--?[a-zA-Z][-a-zA-Z]*' |
		sed 's/^[ ,[]//' | sort -u
}

# The store the words typed so far name (--store DIR, -w DIR), else ecap's default.
_ecap_store()
{
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		--store | -w) printf '%s\n' "${COMP_WORDS[i + 1]}"; return ;;
		-s) # --snaplen of ecap-rec, --store of ecap-calibrate
			[ "$1" = ecap-calibrate ] && printf '%s\n' "${COMP_WORDS[i + 1]}" && return ;;
		--store=*) printf '%s\n' "${COMP_WORDS[i]#--store=}"; return ;;
		esac
	done
	printf '%s\n' /var/lib/ecap
}

# FIELD (pid, comm or uid) of every process the store holds.
_ecap_processes()
{
	local store
	store=$(_ecap_store "$2")
	[[ $store == "~"* ]] && store=$HOME${store:1}
	ecap-ls --json --processes --store "$store" 2>/dev/null |
		sed -n 's/.*"'"$1"'":"\{0,1\}\([^",]*\)"\{0,1\}[,}].*/\1/p' | sort -u
}

_ecap()
{
	local cur prev cmd=$1
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	case $prev in
	-i | --interface)
		[ "$cmd" = ecap-rec ] &&
			mapfile -t COMPREPLY < <(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")
		return ;;
	--store | -w)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return ;;
	-s)
		[ "$cmd" = ecap-calibrate ] && mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return ;;
	--pid | --comm | --uid | --exe | --cgroup)
		mapfile -t COMPREPLY < <(compgen -W "$(_ecap_processes "${prev#--}" "$cmd")" \
			-- "$cur")
		return ;;
	--container)
		mapfile -t COMPREPLY < <(compgen -W "$(_ecap_processes container_name "$cmd")" \
			-- "$cur")
		return ;;
	--pod)
		mapfile -t COMPREPLY < <(compgen -W "$(_ecap_processes pod_name "$cmd")" -- "$cur")
		return ;;
	--container-api)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return ;;
	-r | --replay | -k | --keylog | -c | --config | --libssl | -o | --output | --key | \
	--export | -e | --proof | -p)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return ;;
	--proto)
		mapfile -t COMPREPLY < <(compgen -W "tcp udp icmp icmp6" -- "$cur")
		return ;;
	--max-size | --max-age | -B | --buffer-size | --chunk-size | --segment-size | \
	--snaplen | --since | --until | --tuple | --host | --port | -n | --top | --watch)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_ecap_options "$cmd")" -- "$cur")
		return
	fi
	case $cmd in
	ecap-ls | ecap-fsck | ecap-verify) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
	ecap-calibrate) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
	esac
}

complete -F _ecap ecap-rec ecap-export ecap-ls ecap-fsck ecap-calibrate ecap-verify
