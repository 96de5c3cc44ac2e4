#!/bin/sh
# Compiles tests/kernel/reference_cases.c into a temporary directory, runs it
# on this kernel and diffs its output against tests/data/reference_cases.expected.
#
# Exit status: 0 = output matches, 1 = mismatch (or the program failed),
# 77 = SKIP (no gcc, the kernel lacks mseal, or a seccomp filter denies it);
# 77 is the "skipped" code of automake and CTest's SKIP_RETURN_CODE.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src="$here/reference_cases.c"
expected="$here/../data/reference_cases.expected"
CC=${CC:-gcc}

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "SKIP: $CC not found (needed to build reference_cases.c)"
	exit 77
fi
if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
	echo "SKIP: needs Linux on x86-64 (this is $(uname -s) $(uname -m))"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/reference_cases.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! "$CC" -O1 -Wall -o "$tmp/reference_cases" "$src" 2>"$tmp/cc.log"; then
	cat "$tmp/cc.log" >&2
	echo "FAIL: could not compile $src" >&2
	exit 1
fi

"$tmp/reference_cases" >"$tmp/out.txt" 2>"$tmp/err.txt"
rc=$?
if [ $rc -eq 77 ]; then
	# The program printed "SKIP: <reason>" (ENOSYS or EPERM from its mseal probe).
	cat "$tmp/out.txt"
	exit 77
fi
cat "$tmp/err.txt" >&2

if diff -u "$expected" "$tmp/out.txt"; then
	if [ $rc -ne 0 ]; then
		echo "FAIL: reference_cases exited with status $rc" >&2
		exit 1
	fi
	echo "PASS: $(wc -l <"$tmp/out.txt") observations match $expected"
	exit 0
fi
echo "FAIL: the kernel's output differs from $expected (diff above; exit status $rc)" >&2
exit 1
