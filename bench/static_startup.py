#!/usr/bin/env python3
"""Start-up cost of `vmseal run` for static programs (ptrace) against the preload.

Paired runs: each pair runs the program plainly, then under `vmseal run`, and
keeps the difference; prints min / median / max of the differences per case.
Run from a build directory: python3 bench/static_startup.py BUILD_DIR [PAIRS]
"""
import os
import statistics
import subprocess
import sys
import time


def elapsed_ms(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - start) * 1e3


def main():
    build = sys.argv[1]
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    vmseal = os.path.join(build, "vmseal")
    helper = ["exit", "0"]
    # The Go builds of tests/go/churn (cmake/GoPrograms.cmake), "0": report and exit.
    cases = [("glibc static (ptrace)", "vmseal_run_helper_static", helper),
             ("glibc static-pie (ptrace)", "vmseal_run_helper_static_pie", helper),
             ("musl static (ptrace)", "vmseal_run_helper_musl_static", helper),
             ("dynamic PIE (preload)", "vmseal_run_helper", helper),
             ("Go static (ptrace)", "go/churn-static", ["0"]),
             ("Go -buildmode=pie (ptrace)", "go/churn-pie", ["0"]),
             ("Go cgo, external link (preload)", "go/churn-cgo", ["0"])]
    for name, exe, args in cases:
        program = os.path.join(build, "tests", exe)
        if not os.path.exists(program):
            continue
        diffs = sorted(elapsed_ms([vmseal, "run", "--", program, *args]) -
                       elapsed_ms([program, *args]) for _ in range(pairs))
        print(f"{name}: extra ms min / median / max = {diffs[0]:.2f} / "
              f"{statistics.median(diffs):.2f} / {diffs[-1]:.2f}")


if __name__ == "__main__":
    main()
