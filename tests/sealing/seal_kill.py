#!/usr/bin/env python3
"""vmseal killed while it seals a running process (ctest seal.kill,
docs/run.md "If vmseal dies half-way").

Each iteration starts the run helper in its serve mode (tests/sealing/run/
serve.c) with worker threads, puts its main thread in a state (blocked in
read, spinning in user code with known register values, in nanosleep, in
epoll_wait), starts `vmseal seal PID` and kills it: its sealer process at one
step of its work (VMSEAL_TEST_KILL_AT=N: every step in turn, then random
ones), or its whole process group with SIGKILL after a random delay. Then the
program must be neither stopped nor traced, answer, have kept its registers,
blocked signals and alternate stack, have seen no EINTR and no sleep cut
short, and a second `vmseal seal` must seal it completely. Seeded: the seed
is printed, and --seed repeats a run. Exit 0 pass, 1 fail, 77 skip."""
import argparse
import os
import random
import select
import subprocess
import sys
import time

from seal_common import proc_state, seal, why_skip

SCENARIOS = {
    # the main thread's state while vmseal works: command, wait before sealing (s)
    "idle": (None, 0),
    "spin": ("spin 900", 0.15),
    "sleep": ("sleep 900", 0.15),
    "epoll": ("epoll 900", 0.15),
    "futex": ("futex 900", 0.15),
    # alone (no worker threads: the injection is its), in a call that swaps
    # its signal mask for the call (ppoll with SIGUSR1 blocked)
    "ppoll-alone": ("ppoll 900", 0.15),
}


class Helper:
    def __init__(self, path):
        self.p = subprocess.Popen([path, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        self.buf = ""
        ready = self.line()
        if not ready.startswith("ready"):
            raise RuntimeError(f"{path} serve: {ready!r}")

    def line(self, timeout=20):
        while "\n" not in self.buf:
            r, _, _ = select.select([self.p.stdout], [], [], timeout)
            if not r:
                return ""
            chunk = os.read(self.p.stdout.fileno(), 4096).decode()
            if not chunk:
                return ""
            self.buf += chunk
        line, self.buf = self.buf.split("\n", 1)
        return line

    def send(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def answer(self):
        out = {}
        while True:
            line = self.line()
            if not line or line.startswith("done "):
                return out
            key, _, rest = line.partition(" ")
            out[key] = rest

    def ask(self, cmd):
        self.send(cmd)
        return self.answer()

    def close(self):
        self.p.kill()
        self.p.wait()


def check(h, scenario, killed_early_ok=False):
    """What is wrong with the helper after the kill (empty: nothing).
    killed_early_ok: the kill came at a random time, perhaps between a
    thread's PTRACE_INTERRUPT and its stop, where Linux has already ended an
    epoll_wait with EINTR and nothing is left to restart it (docs/run.md,
    "If vmseal dies half-way"): tolerated, counted."""
    bad = []
    cmd, _ = SCENARIOS[scenario]
    if cmd is not None:
        a = h.answer()
        if scenario == "spin" and not a.get("spin", "").startswith("ok"):
            bad.append(f"spin: {a}")
        if scenario == "sleep":
            slept = a.get("slept", "0 eintr 1").split()
            if slept[2] != "0" or int(slept[0]) < 900:
                bad.append(f"sleep: {a}")
        if scenario == "epoll" and a.get("epoll") != "timeout":
            if killed_early_ok and a.get("epoll") == "Interrupted system call":
                check.tolerated += 1
            else:
                bad.append(f"epoll: {a}")
        if scenario == "futex":
            futex = a.get("futex", "? 0").split()
            if futex[0] != "timeout" or int(futex[1]) < 900:
                bad.append(f"futex: {a}")
        if scenario == "ppoll-alone" and a.get("ppoll") != "timeout":
            bad.append(f"ppoll: {a}")
    state, tracer = proc_state(h.p.pid)
    if state in "tT" or tracer != 0:
        bad.append(f"state {state}, TracerPid {tracer}")
    if "pong" not in h.ask("ping"):
        bad.append("no pong")
    t = h.ask("threads-status").get("threads", "")
    if not t.startswith("ok") or not t.endswith("eintr 0") or (
            scenario != "ppoll-alone" and t.startswith("ok rounds 0 ")):
        bad.append(f"threads: {t}")
    s = h.ask("state")
    if s.get("state") != "ok" or s.get("read_eintr") != "0":
        bad.append(f"state: {s}")
    return bad


check.tolerated = 0


def iteration(args, program, scenario, env, kill_after):
    h = Helper(program)
    try:
        if not scenario.endswith("-alone"):
            h.ask("threads 2")
        cmd, wait = SCENARIOS[scenario]
        if cmd is not None:
            h.send(cmd)
            time.sleep(wait)
        seal(args.vmseal, h.p.pid, env, kill_after)
        bad = check(h, scenario, killed_early_ok=kill_after is not None)
        code, report, err = seal(args.vmseal, h.p.pid)
        if code != 0 or report is None or report["status"] not in ("sealed", "already-sealed"):
            bad.append(f"the second seal: exit {code}: {err.strip()}")
        elif h.ask("status").get("program_text") != "sealed":
            bad.append("the second seal did not seal the text")
        return bad
    finally:
        h.close()


def steps_of(args, program):
    h = Helper(program)
    try:
        h.ask("threads 2")
        code, report, err = seal(args.vmseal, h.p.pid)
        if code != 0 or report is None:
            raise RuntimeError(f"seal of {program}: exit {code}: {err}")
        return report["steps"]
    finally:
        h.close()


def plan(args, rng):
    """(program, scenario, kill step or None, delay or None) per iteration:
    every step of the first program in turn (idle and spinning), then random."""
    runs = []
    steps = {p: steps_of(args, p) for p in args.programs}
    first = args.programs[0]
    for k in range(1, steps[first] + 1):
        runs.append((first, "spin" if k % 2 else "idle", k, None))
    for _ in range(args.iterations):
        program = rng.choice(args.programs)
        scenario = rng.choice(sorted(SCENARIOS))
        if rng.random() < 0.5:
            runs.append((program, scenario, rng.randint(1, steps[program]), None))
        else:
            runs.append((program, scenario, None, rng.uniform(0, args.max_delay_us) / 1e6))
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmseal", required=True)
    ap.add_argument("--iterations", type=int, default=100, help="random ones, after the sweep")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-delay-us", type=float, default=15000)
    ap.add_argument("programs", nargs="+", help="run helper builds (dynamic, static, ...)")
    args = ap.parse_args()
    if skip := why_skip(args.vmseal):
        print("SKIP:", skip)
        return 77
    seed = args.seed if args.seed is not None else int(time.time())
    print(f"seed {seed} (--seed {seed} repeats this run)")
    rng = random.Random(seed)
    fails = 0
    runs = plan(args, rng)
    for i, (program, scenario, step, delay) in enumerate(runs):
        env = dict(os.environ, VMSEAL_TEST_KILL_AT=str(step)) if step else None
        how = f"sealer killed at step {step}" if step else f"group killed after {delay * 1e6:.0f} us"
        bad = iteration(args, program, scenario, env, delay)
        if bad:
            fails += 1
            print(f"FAIL {i}: {os.path.basename(program)} {scenario}, {how}: {'; '.join(bad)}")
    print(f"{len(runs)} iterations, {fails} failed; {check.tolerated} epoll_wait EINTR from a "
          "kill between a thread's interrupt and its stop (documented)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
