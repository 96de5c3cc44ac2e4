#!/usr/bin/env python3
"""How long `vmseal seal PID` holds a running process stopped.

Each round starts a fresh target, lets it run, seals it once with
`vmseal seal --json`, and keeps the report's `pause_us`: what vmseal itself
measured from the first thread's stop to the last one's release (the
program's noticeable pause). Prints min / median / max per target, and the
threads stopped and calls injected.

  python3 bench/seal_pid_pause.py BUILD_DIR [ROUNDS]

Targets: the run helper (tests/sealing/run/run_helper.c serve), dynamic and
glibc static, idle and with 4 worker threads; python3 with 8 busy threads
(tests/sealing/run/busy_threads.py); python3's http.server. Needs ptrace of
a process vmseal did not start (root, or Yama's ptrace_scope 0).
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def targets(build):
    helper = os.path.join(build, "tests", "vmseal_run_helper")
    static = os.path.join(build, "tests", "vmseal_run_helper_static")
    busy = os.path.join(HERE, "..", "tests", "sealing", "run", "busy_threads.py")
    return [
        ("dynamic C, idle (1 thread)", [helper, "serve"], []),
        ("dynamic C, 4 worker threads", [helper, "serve"], ["threads 4"]),
        ("glibc static, 4 worker threads", [static, "serve"], ["threads 4"]),
        ("python3, 8 busy threads", ["/usr/bin/python3", busy, "8"], None),
        ("python3 http.server", ["/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1",
                                 "{port}"], None),
    ]


def start(cmd, commands):
    port = str(free_port())
    cmd = [c.replace("{port}", port) for c in cmd]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    if commands is not None:  # the run helper: wait for "ready", then each command's "done"
        p.stdout.readline()
        for c in commands:
            p.stdin.write(c + "\n")
            p.stdin.flush()
            while not p.stdout.readline().startswith("done"):
                pass
    else:
        subprocess.Popen(["cat"], stdin=p.stdout, stdout=subprocess.DEVNULL)  # keep it writing
    time.sleep(1.0)  # running, threads started, modules imported
    return p


def main():
    build = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    vmseal = os.path.join(build, "vmseal")
    print(f"{rounds} rounds each, {vmseal}")
    print("| target | pause, us: min / median / max | threads | calls injected |")
    print("|---|---|---|---|")
    for name, cmd, commands in targets(build):
        pauses, threads, calls = [], set(), set()
        for _ in range(rounds):
            p = start(cmd, commands)
            try:
                r = subprocess.run([vmseal, "seal", "--json", str(p.pid)], capture_output=True,
                                   text=True)
                report = json.loads(r.stdout)
                if report["status"] != "sealed":
                    sys.exit(f"{name}: {report['status']}: {report['why']}")
                pauses.append(report["pause_us"])
                threads.add(report["threads"])
                calls.add(report["injected_calls"])
            finally:
                p.kill()
                p.wait()
        pauses.sort()
        print(f"| {name} | {pauses[0]} / {statistics.median(pauses):.0f} / {pauses[-1]} | "
              f"{'-'.join(map(str, sorted(threads)))} | {'-'.join(map(str, sorted(calls)))} |")


if __name__ == "__main__":
    main()
