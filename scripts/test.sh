#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, integration, CLI, demo), first in
# the release build, then under AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/test.sh                 both
#   scripts/test.sh release|asan    one of them
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("${@:-release}")
[ $# -eq 0 ] && presets=(release asan)
scripts/bootstrap.sh
for preset in "${presets[@]}"; do
  echo "== $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset" -j2
done
