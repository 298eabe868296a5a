#!/usr/bin/env bash
# The README's demo runs end to end: capture a local server's traffic, record, replay at 2x.
. "$(dirname "$0")/../support/cli_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skipped: the demo captures packets and needs root"; exit 0; }
expect_exit 0 "scripts/demo.sh" env COREPLAY_BIN="$BIN" "$SRC/scripts/demo.sh"
expect_in "$WORK/out" "demo: ok" "demo replayed every request to staging"
finish
