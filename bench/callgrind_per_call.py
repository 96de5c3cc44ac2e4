#!/usr/bin/env python3
"""Instructions per engine call, under callgrind (deterministic, unlike time).

    bench/callgrind_per_call.py BENCH_BINARY FILTER FUNCTION...

runs BENCH_BINARY (build/release/bench/vmseal_bench) under
`valgrind --tool=callgrind` with --benchmark_filter=FILTER, and prints for each
FUNCTION (a demangled name prefix, e.g. "vmseal::AddressSpace::mprotect(")
the calls made to it and the instructions executed inside it per call,
callees included. Every call counts, the benchmark's own warm-up runs too,
so the figure is an average over thousands of calls of the same kind.

Example (bench/README.md, "Instructions per call"):
    bench/callgrind_per_call.py build/release/bench/vmseal_bench \
        'AS_MprotectPairHot/1000/' 'vmseal::AddressSpace::mprotect('
"""
import os
import re
import subprocess
import sys
import tempfile


def run(binary, bench_filter):
    out = tempfile.NamedTemporaryFile(prefix="callgrind.", delete=False).name
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--compress-strings=no", "--compress-pos=no",
         f"--callgrind-out-file={out}", binary, f"--benchmark_filter={bench_filter}",
         "--benchmark_min_time=0.2"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def per_call(path, prefixes):
    """Sums, over every call site, the calls to and the inclusive cost of
    each function whose name starts with one of `prefixes`."""
    calls = {p: 0 for p in prefixes}
    cost = {p: 0 for p in prefixes}
    target = None
    pending = None  # the prefix of the call whose cost line comes next
    with open(path) as f:
        for line in f:
            if line.startswith("cfn="):
                name = line[4:].strip()
                target = next((p for p in prefixes if name.startswith(p)), None)
            elif line.startswith("calls="):
                if target is not None:
                    calls[target] += int(line.split()[0][6:])
                    pending = target
            elif pending is not None and re.match(r"^[+-]?\d", line):
                cost[pending] += int(line.split()[1])  # "line Ir": inclusive Ir of the call
                pending = None
    return calls, cost


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    binary, bench_filter, prefixes = sys.argv[1], sys.argv[2], sys.argv[3:]
    path = run(binary, bench_filter)
    try:
        calls, cost = per_call(path, prefixes)
    finally:
        os.unlink(path)
    for p in prefixes:
        n = calls[p]
        print(f"{p}\tcalls {n}\tinstructions per call "
              f"{cost[p] / n:.1f}" if n else f"{p}\tnot called")


if __name__ == "__main__":
    main()
