#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, integration, CLI, demo).
#   scripts/test.sh          release build
#   scripts/test.sh asan     the same under AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
scripts/bootstrap.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" -j2
