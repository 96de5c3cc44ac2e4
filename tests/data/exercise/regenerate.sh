#!/bin/sh
# Rebuilds tests/data/exercise/exercise.strace: compiles exercise.c into a
# temporary directory and runs it under
#     strace -f -y -o tests/data/exercise/exercise.strace
# (strace 6.1 prints mseal as syscall_0x1ce(...); that is expected.)
#
# To make the log byte-for-byte reproducible the run is pinned down:
#   - setarch -R          no ASLR, so every address is the same each run;
#   - env -i PATH=...     a fixed environment (execve line, stack layout);
#   - unshare --pid       a fresh PID namespace: strace is pid 1, the program
#                         pid 2, its fork child pid 3 (needs root, or user
#                         namespaces; otherwise the pids will differ);
#   - a fixed directory   /tmp/vmseal-exercise (paths appear through -y);
#   - stdin /dev/null, stdout/stderr to files in that directory.
# The log still depends on this machine's kernel, libc and /bin/true.
#
# exercise.c prints a MISMATCH line for every result that differs from what
# the reference notes predict; this script shows them and then exits 1
# (the log is written either way). Exit 77: gcc, strace or setarch missing.
set -u

here=$(cd "$(dirname "$0")" && pwd)
out="$here/exercise.strace"
work=/tmp/vmseal-exercise
CC=${CC:-gcc}

for tool in "$CC" strace setarch; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not found"
		exit 77
	fi
done

rm -rf "$work"
mkdir -p "$work" || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

if ! "$CC" -O1 -Wall -o "$work/exercise" "$here/exercise.c"; then
	echo "FAIL: could not compile exercise.c" >&2
	exit 1
fi

run() {
	# $@ = prefix that creates the PID namespace (may be empty)
	(cd "$work" && "$@" env -i PATH=/usr/bin:/bin \
		setarch "$(uname -m)" -R \
		strace -f -y -o "$out" "$work/exercise" \
		</dev/null >"$work/exercise.out" 2>"$work/exercise.err")
}

if unshare --pid --fork --mount-proc true 2>/dev/null; then
	run unshare --pid --fork --mount-proc
elif unshare --user --map-root-user --pid --fork --mount-proc true 2>/dev/null; then
	run unshare --user --map-root-user --pid --fork --mount-proc
else
	echo "WARNING: cannot create a PID namespace; the pids in the log will differ" >&2
	run
fi
rc=$?

cat "$work/exercise.out"
if [ -s "$work/exercise.err" ]; then
	cat "$work/exercise.err" >&2
fi
if [ $rc -ne 0 ]; then
	echo "FAIL: strace/exercise exited with status $rc" >&2
	exit 1
fi
echo "wrote $out ($(wc -l <"$out") lines)"
if grep -q MISMATCH "$work/exercise.out"; then
	echo "NOTE: some results differ from the reference notes (MISMATCH lines above)" >&2
	exit 1
fi
exit 0
