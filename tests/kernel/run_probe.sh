#!/bin/sh
# Usage: run_probe.sh NAME
# Compiles tests/kernel/NAME.c into a temporary directory, runs it on this
# kernel and diffs its output against tests/data/NAME.expected.
#
# Exit status: 0 = output matches, 1 = mismatch (or the program failed),
# 2 = bad usage, 77 = SKIP (no gcc, or the program found a kernel feature
# missing: mseal, a seccomp filter denying it, guard regions); 77 is the
# "skipped" code of automake and CTest's SKIP_RETURN_CODE.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 NAME   (NAME.c in tests/kernel, NAME.expected in tests/data)" >&2
	exit 2
fi
name=$1
here=$(cd "$(dirname "$0")" && pwd)
src="$here/$name.c"
expected="$here/../data/$name.expected"
CC=${CC:-gcc}

if [ ! -f "$src" ] || [ ! -f "$expected" ]; then
	echo "FAIL: $src or $expected is missing" >&2
	exit 2
fi
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "SKIP: $CC not found (needed to build $name.c)"
	exit 77
fi
if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
	echo "SKIP: needs Linux on x86-64 (this is $(uname -s) $(uname -m))"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! "$CC" -O1 -Wall -o "$tmp/$name" "$src" 2>"$tmp/cc.log"; then
	cat "$tmp/cc.log" >&2
	echo "FAIL: could not compile $src" >&2
	exit 1
fi

"$tmp/$name" >"$tmp/out.txt" 2>"$tmp/err.txt"
rc=$?
if [ $rc -eq 77 ]; then
	# The program printed "SKIP: <reason>".
	cat "$tmp/out.txt"
	exit 77
fi
cat "$tmp/err.txt" >&2

# A case the machine cannot run as recorded prints "ID: skipped (reason)"
# (c21 needs the default vm.max_map_count, kernel_seal's k2 memfd_secret;
# memfd.c's s- and h-cases need memfd_secret and an empty hugetlb pool; u12
# vm.unprivileged_userfaultfd 0). Its expected lines are left out of the
# comparison, the rest must still match, and the skip is reported.
grep -E '^[a-z]+[0-9]+[a-z]*: skipped ' "$tmp/out.txt" >"$tmp/skipped.txt"
cp "$expected" "$tmp/expected.txt"
while IFS= read -r line; do
	id=${line%%:*}
	grep -v -E "^$id[.:]" "$tmp/expected.txt" >"$tmp/e.txt"
	mv "$tmp/e.txt" "$tmp/expected.txt"
done <"$tmp/skipped.txt"
grep -v -E '^[a-z]+[0-9]+[a-z]*: skipped ' "$tmp/out.txt" >"$tmp/ran.txt"

if diff -u "$tmp/expected.txt" "$tmp/ran.txt"; then
	if [ $rc -ne 0 ]; then
		echo "FAIL: $name exited with status $rc" >&2
		exit 1
	fi
	echo "PASS: $(wc -l <"$tmp/ran.txt") observations match $expected"
	while IFS= read -r line; do
		echo "SKIPPED: $line"
	done <"$tmp/skipped.txt"
	exit 0
fi
echo "FAIL: the kernel's output differs from $expected (diff above; exit status $rc)" >&2
exit 1
