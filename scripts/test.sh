#!/usr/bin/env bash
# Builds vmseal three ways and runs every test in the debug and the ASan+UBSan
# builds; runs the libFuzzer targets briefly; the release build (the README's main command) is built, its main
# job run, and a bounded difftest of the engine against this kernel run. Tests that need a kernel feature skip with a message when it is
# missing. Exit status is non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
echo "=== release: configure, build and run the main job"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
./build/release/vmseal sim --check --smaps examples/sealing.strace >/dev/null

# The engine against this kernel: 100,000 calls from a fixed seed (the same
# every run), then 50,000 from a fresh random seed that is printed first, so a
# divergence found by chance can be reproduced with --seed N. Exit 5 means the
# kernel has no mseal (or a seccomp filter denies it): reported, not failed.
difftest() {
  local rc=0
  ./build/release/vmseal difftest "$@" --ops 100 -j "$jobs" --out build/difftest-divergences || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "SKIP: vmseal difftest needs mseal(2) (see the message above)"
  elif [ "$rc" -ne 0 ]; then
    echo "FAIL: vmseal difftest $* exited with $rc (reproductions in build/difftest-divergences)" >&2
    return "$rc"
  fi
}
echo "=== release: difftest, fixed seed"
difftest --seed 1 -n 1000
echo "=== release: difftest, random seed"
difftest --seed random -n 500
# The Debian package: built with the "package" preset (prefix /usr), its
# contents and Depends checked, and in CI installed with apt-get and tried.
echo "=== package: build the Debian package and check it"
cmake --preset package >/dev/null
cmake --build --preset package -j "$jobs"
(cd build/package && cpack >/dev/null)
./tests/package/check_deb.sh build/package/vmseal_*_amd64.deb
# The readers of untrusted text under libFuzzer (clang, ASan, UBSan): each
# target a fixed short time from the seeds; a finding fails the run.
echo "=== fuzz: build the libFuzzer targets and run each for ${VMSEAL_FUZZ_SECONDS:-20} s"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
./scripts/fuzz.sh "${VMSEAL_FUZZ_SECONDS:-20}"
for preset in debug asan; do
  echo "=== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "=== $preset: test"
  ctest --preset "$preset" -j "$jobs" --timeout 600
done
