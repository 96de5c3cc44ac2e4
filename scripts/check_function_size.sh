#!/usr/bin/env bash
# No function of vmseal's own code (src/, cli/) is over 80 lines, as
# clang-tidy's readability-function-size counts them, except the engine
# functions that mirror one kernel function each; those say so where they
# are defined (NOLINTNEXTLINE(readability-function-size) with the kernel
# function's name). Usage: check_function_size.sh BUILD_DIR (one with
# compile_commands.json). Exit 0 none, 1 some (listed), 77 no clang-tidy.
set -uo pipefail
build=$(realpath "${1:?usage: check_function_size.sh BUILD_DIR}")
cd "$(dirname "$0")/.."
command -v clang-tidy >/dev/null || { echo "SKIP: clang-tidy is missing (scripts/setup.sh installs it)"; exit 77; }
[ -f "$build/compile_commands.json" ] || { echo "FAIL: no $build/compile_commands.json"; exit 1; }
mapfile -t files < <(ls src/*/*.cpp cli/*.cpp)
config='{Checks: "-*,readability-function-size", CheckOptions: [{key: readability-function-size.LineThreshold, value: 80}]}'
long=$(printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet --config="$config" \
    --extra-arg=-Wno-unknown-warning-option 2>/dev/null |
  sed -n "s|^$PWD/\(.*\): warning: function '\(.*\)' exceeds recommended size.*|\1 \2|p" | sort -u)
if [ -n "$long" ]; then
  echo "FAIL: functions over 80 lines (split them into named steps):"
  echo "$long"
  exit 1
fi
echo "ok: ${#files[@]} files, no function over 80 lines outside the engine's kernel mirrors"
