#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# crash_test.sh - the crash tests outside meson. Replay (tests/integration/crash_replay.sh):
# SIGKILL ecap-rec at random moments while it replays a steady load into one store, recover,
# and check after every kill that ecap-fsck is clean, every committed chunk is byte-identical,
# export works and the stored packets are a prefix of each run's input; prints a line of
# figures per kill and a summary (kills survived, bytes cut, chunks re-indexed). Live
# (--live, root: tests/live/crash_live.sh): a recorder on lo under HTTP load is killed at
# random moments and restarted on the same store; every committed chunk must keep its place
# and bytes, and at the end ecap-fsck is clean, everything exports and no filter is left.
#
#   tools/crash_test.sh [--live] [--long] [--kills N] [--max-delay MS] [--keep DIR]
#     (default)       10 kills within ~60 s, as CI runs it (live: 4 kills in CI, 10 here)
#     --long          60 kills (live: 50), up to 2.5 s of recording between kills, no time
#                     budget, a new store every 10 kills (the checks read the whole store)
#     --live          the live test instead of the replay one (--max-delay, --keep: replay)
#     --kills N       N kills
#     --max-delay MS  longest recording time before a kill (default 800, --long 2500)
#     --keep DIR      build the store in DIR (kept afterwards; must not exist)
#   Environment: ECAP_BUILD (default ./build).
set -euo pipefail
cd "$(dirname "$0")/.."
kills=10 budget=60 delay=800 keep= live=0 long=0
while [ $# -gt 0 ]; do
	case "$1" in
	--live) live=1 ;;
	--long) long=1; kills=60; budget=100000; delay=2500; export CRASH_ROTATE=10 ;;
	--kills) kills=${2:?}; budget=100000; shift ;;
	--max-delay) delay=${2:?}; shift ;;
	--keep) keep=${2:?}; shift ;;
	-h|--help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "crash_test.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
export ECAP_BUILD=${ECAP_BUILD:-$(pwd)/build} ECAP_SRC=$(pwd)
if [ ! -x "$ECAP_BUILD/recorder/ecap-rec" ]; then
	echo "crash_test.sh: build first (tools/setup.sh)" >&2
	exit 1
fi
if [ "$live" = 1 ]; then
	[ "$long" = 1 ] && [ "$kills" = 60 ] && kills=50
	CRASH_LIVE_KILLS=$kills exec bash tests/live/crash_live.sh
fi
export CRASH_KILLS=$kills CRASH_BUDGET=$budget CRASH_MAX_DELAY=$delay
[ -n "$keep" ] && export CRASH_STORE=$keep
exec bash tests/integration/crash_replay.sh
