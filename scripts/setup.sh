#!/usr/bin/env bash
# Installs everything vmseal needs to build and test on Debian 12.
set -euo pipefail
PACKAGES=(build-essential cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libseccomp-dev
  libelf-dev zlib1g-dev python3 strace util-linux libcap2-bin
  # the Debian package (cpack, dpkg-shlibdeps) and its man pages
  dpkg-dev man-db
  # the compatibility suite (tests/compat): the programs it runs
  sqlite3 openssl perl libpython3.11-testsuite chromium nodejs jq bc tcl file
  xz-utils bzip2 zstd
  # static programs for `vmseal run` through ptrace: musl's static and
  # static-pie (tests/CMakeLists.txt builds them with musl-gcc)
  musl-tools
  # Go programs for `vmseal run` (static, -buildmode=pie, cgo) and the Go
  # attack victim (tests/go, cmake/GoPrograms.cmake)
  golang-go
  # the benchmarks' scaling plot (bench/plot_scaling.sh; it uses jq too) and
  # instructions per call (bench/callgrind_per_call.py)
  gnuplot-nox valgrind
  # the fleet view's test: Prometheus' own parsers read the exposition
  python3-prometheus-client
  # systemd-analyze verifies the fleet view's service and timer
  systemd
  # the libFuzzer targets (fuzz/, scripts/fuzz.sh): clang and its fuzzer runtime
  clang libclang-rt-14-dev
  # the format check (ctest format): the .clang-format is clang-format 14's;
  # the function-size check (ctest function-size)
  clang-format clang-tidy)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -ne 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
echo "setup: all dependencies present"
