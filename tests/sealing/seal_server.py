#!/usr/bin/env python3
"""`vmseal seal PID` on a real, busy server (ctest seal.*): any program that
serves HTTP on loopback (--url) or prints numbered lines (--lines), given as
a command line with {port} where its port goes, e.g.

  seal_server.py --vmseal VMSEAL --server "python3 -m http.server --bind 127.0.0.1 {port}" \\
      --url "http://127.0.0.1:{port}/" --compare-run
  seal_server.py --vmseal VMSEAL --server "python3 busy_threads.py 8" --lines
  seal_server.py --vmseal VMSEAL --server "GO_SERVER -addr 127.0.0.1:{port}" --url ... --kill 20

While a client keeps it busy, the server is sealed; then it must have kept
answering (no failed request, or every thread's count going on by one with
no gap), be neither stopped nor traced, and `vmseal inspect` must show its
images sealed. With --compare-run the same program started by `vmseal run`
must show the same coverage per object (the preload's library aside). With
--kill N, N fresh servers are sealed by a vmseal killed at a random point
(seeded): SIGKILL to its whole process group after a random delay, or to its
sealer at a random step (VMSEAL_TEST_KILL_AT); each must keep serving and
be neither stopped nor traced. Exit 0 pass, 1 fail, 77 skip (no mseal, or
ptrace not allowed)."""
import argparse
import json
import os
import random
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from seal_common import proc_state, seal, why_skip


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The server, and a client that keeps it busy and counts."""

    def __init__(self, args, under_run=False):
        self.args = args
        self.port = free_port()
        cmd = shlex.split(args.server.replace("{port}", str(self.port)))
        if under_run:
            cmd = [args.vmseal, "run", "--"] + cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, text=True, bufsize=1)
        self.ok = 0
        self.failed = []
        self.seq = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.client = threading.Thread(target=self.serve_lines if args.lines else self.drain,
                                       daemon=True)
        self.client.start()
        if not args.lines:
            self.url = args.url.replace("{port}", str(self.port))
            self.wait_up()
            self.http = threading.Thread(target=self.loop_http, daemon=True)
            self.http.start()

    def drain(self):
        for _ in self.proc.stdout:
            pass

    def wait_up(self):
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url, timeout=2).read()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.args.server} never answered on {self.url}")

    def loop_http(self):
        while not self.stop.is_set():
            try:
                urllib.request.urlopen(self.url, timeout=10).read()
                with self.lock:
                    self.ok += 1
            except OSError as e:
                with self.lock:
                    self.failed.append(str(e))

    def serve_lines(self):
        for line in self.proc.stdout:
            parts = line.split()
            if len(parts) != 3 or not parts[0].startswith("T"):
                continue
            with self.lock:
                last = self.seq.get(parts[0], 0)
                if int(parts[1]) != last + 1 or parts[2] != "ok":
                    self.failed.append(f"{parts[0]}: {last} then {parts[1]} {parts[2]}")
                self.seq[parts[0]] = int(parts[1])
                self.ok += 1

    def progress(self):
        with self.lock:
            return self.ok

    def wait_progress(self, more, timeout=30):
        """Until `more` answers (requests or lines) came in since now."""
        target = self.progress() + more
        end = time.time() + timeout
        while self.progress() < target and time.time() < end:
            time.sleep(0.01)
        return self.progress() >= target

    def close(self):
        self.stop.set()
        self.proc.kill()
        self.proc.wait()


def coverage(args, pid):
    """{object file name + segment kind: "sealed/bytes"} from vmseal inspect."""
    out = subprocess.run([args.vmseal, "inspect", "--json", str(pid)], capture_output=True,
                         text=True).stdout
    cov = {}
    for o in json.loads(out)["objects"]:
        name = o["path"].rsplit("/", 1)[-1]
        if "libvmseal_preload" in name:
            continue
        for kind, c in o["by_segment"].items():
            cov[f"{name} {kind}"] = f"{c['bytes_sealed']}/{c['bytes']}"
    return cov


def check_alive(server, what):
    """Failures: the server stopped, traced, or no longer answering."""
    fails = []
    state, tracer = proc_state(server.proc.pid)
    if state in "tT":
        fails.append(f"{what}: left stopped ({state})")
    if tracer != 0:
        fails.append(f"{what}: left traced by {tracer}")
    if not server.wait_progress(20):
        fails.append(f"{what}: stopped answering")
    if server.failed:
        fails.append(f"{what}: {len(server.failed)} failures, first {server.failed[0]}")
    return fails


def seal_once(args):
    fails = []
    server = Server(args)
    try:
        server.wait_progress(20)
        before = coverage(args, server.proc.pid)
        code, report, err = seal(args.vmseal, server.proc.pid)
        if code != 0 or report is None or report["status"] != "sealed":
            fails.append(f"seal: exit {code}: {err.strip()} {report and report['status']}")
        else:
            print(f"sealed: {report['threads']} threads stopped {report['pause_us']} us, "
                  f"{report['sealed_bytes']} bytes")
        fails += check_alive(server, "after the seal")
        after = coverage(args, server.proc.pid)
        if after == before:
            fails.append("inspect shows no change after the seal")
        code, report, err = seal(args.vmseal, server.proc.pid)
        if code != 0 or report is None or report["status"] != "already-sealed":
            fails.append(f"second seal: exit {code} {err.strip()}")
        if args.compare_run:
            fails += compare_with_run(args, after)
    finally:
        server.close()
    return fails


def compare_with_run(args, sealed_cov):
    """The same server under `vmseal run`: the same coverage per object."""
    run = Server(args, under_run=True)
    try:
        run.wait_progress(20)
        run_cov = coverage(args, run.proc.pid)
    finally:
        run.close()
    both = sorted(set(run_cov) & set(sealed_cov))
    if not both:
        return ["no object in common with the same program under vmseal run"]
    if all(run_cov[k].startswith("0/") for k in both):
        # `vmseal run` warned and ran it unsealed (a cgo Go program does not
        # start through glibc's _start: docs/compat.md): nothing to compare.
        print("note: vmseal run leaves this program unsealed; seal PID sealed it")
        return []
    # An object `vmseal run` leaves alone may be sealed by seal PID (ld.so of
    # a Go -buildmode=pie: run stops at ld.so's RELRO mprotect and seals the
    # program only): said, not failed. Anything else must be equal.
    more = [k for k in both if run_cov[k].startswith("0/") and not sealed_cov[k].startswith("0/")]
    for k in more:
        print(f"note: {k}: seal PID seals {sealed_cov[k]}, vmseal run leaves it")
    diff = [f"{k}: seal {sealed_cov[k]}, run {run_cov[k]}" for k in both
            if sealed_cov[k] != run_cov[k] and k not in more]
    return [f"coverage differs from vmseal run's: {d}" for d in diff]


def kill_iterations(args):
    fails = []
    rng = random.Random(args.seed)
    for i in range(args.kill):
        server = Server(args)
        try:
            server.wait_progress(5)
            env = None
            kill_after = None
            if rng.random() < 0.5:
                env = dict(os.environ, VMSEAL_TEST_KILL_AT=str(rng.randint(1, 80)))
                how = f"sealer killed at step {env['VMSEAL_TEST_KILL_AT']}"
            else:
                kill_after = rng.uniform(0, args.max_delay_us) / 1e6
                how = f"vmseal's group killed after {kill_after * 1e6:.0f} us"
            seal(args.vmseal, server.proc.pid, env, kill_after)
            fails += check_alive(server, f"iteration {i} ({how})")
        finally:
            server.close()
    print(f"{args.kill} kill iterations, seed {args.seed}")
    return fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmseal", required=True)
    ap.add_argument("--server", required=True, help="command line; {port} is replaced")
    ap.add_argument("--url", help="HTTP URL to load in a loop ({port} is replaced)")
    ap.add_argument("--lines", action="store_true", help='the server prints "T<i> <n> ok" lines')
    ap.add_argument("--compare-run", action="store_true")
    ap.add_argument("--kill", type=int, default=0, help="kill iterations")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-delay-us", type=float, default=20000)
    args = ap.parse_args()
    if not args.lines and not args.url:
        ap.error("give --url or --lines")
    program = (shlex.split(args.server) or [""])[0]
    if not os.path.isfile(program) and not program.startswith("/usr/"):
        # A program of the build that was not built here (the Go servers without go).
        print(f"SKIP: the server {program or '(none)'!r} was not built here "
              "(Go programs need golang-go: scripts/setup.sh)")
        return 77
    if skip := why_skip(args.vmseal):
        print("SKIP:", skip)
        return 77
    fails = kill_iterations(args) if args.kill else seal_once(args)
    for f in fails:
        print("FAIL:", f)
    print("ok" if not fails else f"{len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
