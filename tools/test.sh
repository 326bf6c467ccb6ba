#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# test.sh - install, build (warnings are errors) and run every test suite: unit (cmocka),
# integration (replay -> store -> export -> tshark), live (root + eBPF; skipped with a reason
# where they cannot run). Exits non-zero when any test fails.
#
#   tools/test.sh [meson test arguments...]    e.g. tools/test.sh --suite unit
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh -Dwerror=true
meson test -C build --print-errorlogs --num-processes 2 "$@"
