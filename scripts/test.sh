#!/usr/bin/env bash
# Builds vmseal twice (debug, and RelWithDebInfo with ASan+UBSan) and runs every
# test in both. Tests that need a kernel feature skip with a message when it is
# missing. Exit status is non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
for preset in debug asan; do
  echo "=== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "=== $preset: test"
  ctest --preset "$preset" -j "$jobs" --timeout 600
done
