#!/usr/bin/env bash
# Every C and C++ source git knows (test data aside) is as .clang-format
# says. Exit 0 formatted, 1 not (the files are listed), 77 no clang-format.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "SKIP: clang-format is missing (scripts/setup.sh installs it)"; exit 77; }
command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "SKIP: not a git checkout"; exit 77; }
mapfile -t files < <(git ls-files | grep -E '\.(cpp|hpp|c|h)$' | grep -v '^tests/data/')
bad=$(clang-format --dry-run "${files[@]}" 2>&1 | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: warning: code should be clang-formatted.*/\1/p' | sort -u)
if [ -n "$bad" ]; then
  echo "FAIL: not formatted (clang-format -i FILE):"
  echo "$bad"
  exit 1
fi
echo "ok: ${#files[@]} files formatted"
