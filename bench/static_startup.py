#!/usr/bin/env python3
"""Start-up cost of `vmseal run` for static programs (ptrace) against the preload.

Paired runs: each pair runs the program plainly, then under `vmseal run`, and
keeps the difference; prints min / median / max of the differences per case.
Then, for the programs sealed through ptrace, how long the sealer held the
program stopped (the report's `seal_ns`) over as many runs.
Run from the source directory: python3 bench/static_startup.py BUILD_DIR [PAIRS]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def elapsed_ms(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - start) * 1e3


def stopped_us(vmseal, program, args):
    """One `vmseal run --report`: the report's seal_ns in us, and the
    system calls traced before the RELRO point."""
    with tempfile.TemporaryDirectory(prefix="vmseal-bench.") as tmp:
        report = os.path.join(tmp, "report.json")
        subprocess.run([vmseal, "run", "--report", report, "--", program, *args],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        with open(report) as f:
            r = json.load(f)
    return r["seal_ns"] / 1e3, r.get("startup_syscalls_traced", 0)


def triple(values, fmt):
    values = sorted(values)
    return " / ".join(fmt.format(v) for v in (values[0], statistics.median(values), values[-1]))


def main():
    build = sys.argv[1]
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    vmseal = os.path.join(build, "vmseal")
    helper = ["exit", "0"]
    # The Go builds of tests/go/churn (cmake/GoPrograms.cmake), "0": report and exit.
    cases = [("glibc static (ptrace)", "vmseal_run_helper_static", helper),
             ("glibc static-pie (ptrace)", "vmseal_run_helper_static_pie", helper),
             ("musl static (ptrace)", "vmseal_run_helper_musl_static", helper),
             ("musl static-pie (ptrace)", "vmseal_run_helper_musl_static_pie", helper),
             ("dynamic PIE (preload)", "vmseal_run_helper", helper),
             ("Go static (ptrace)", "go/churn-static", ["0"]),
             ("Go -buildmode=pie (ptrace)", "go/churn-pie", ["0"]),
             ("Go cgo, external link (preload)", "go/churn-cgo", ["0"])]
    print(f"{pairs} pairs each; ms of extra wall time, us held stopped: min / median / max")
    for name, exe, args in cases:
        program = os.path.join(build, "tests", exe)
        if not os.path.exists(program) or os.path.getsize(program) == 0:
            print(f"{name}: not built here, skipped")
            continue
        diffs = [elapsed_ms([vmseal, "run", "--", program, *args]) - elapsed_ms([program, *args])
                 for _ in range(pairs)]
        line = f"{name}: extra ms {triple(diffs, '{:.2f}')}"
        if "ptrace" in name:
            stops = [stopped_us(vmseal, program, args) for _ in range(pairs)]
            line += (f"; stopped us {triple([s for s, _ in stops], '{:.0f}')}"
                     f"; system calls traced {stops[0][1]}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
