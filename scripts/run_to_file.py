#!/usr/bin/env python3
"""Runs COMMAND ARGS... and writes what it prints to OUT (for build steps that
make a file from a program's output). usage: run_to_file.py OUT COMMAND [ARGS...]"""
import subprocess
import sys

if len(sys.argv) < 3:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
result = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, check=False)
if result.returncode != 0:
    sys.exit(f"run_to_file: {' '.join(sys.argv[2:])} exited {result.returncode}")
with open(sys.argv[1], "wb") as out:
    out.write(result.stdout)
