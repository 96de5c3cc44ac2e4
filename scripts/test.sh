#!/usr/bin/env bash
# Builds vmseal three ways and runs every test in the debug and the ASan+UBSan
# builds; the release build (the README's main command) is built and its main
# job run. Tests that need a kernel feature skip with a message when it is
# missing. Exit status is non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
echo "=== release: configure, build and run the main job"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
./build/release/vmseal sim --check --smaps examples/sealing.strace >/dev/null
for preset in debug asan; do
  echo "=== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "=== $preset: test"
  ctest --preset "$preset" -j "$jobs" --timeout 600
done
