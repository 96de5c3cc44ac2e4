#!/usr/bin/python3
"""ctest go.httpserver.VARIANT: the Go HTTP server (tests/go/httpserver) under
`vmseal run`, with a client looping against it on loopback.

  run_httpserver.py VMSEAL SERVER [REQUESTS]

Starts `VMSEAL run --report R -- SERVER 0`, reads the port from its first
line, then makes REQUESTS (default 300) requests: GET / (its fixed body),
every tenth GET /alloc?n=K (K from 1 to 200; the sum checked), checking every
status and body. Meanwhile /proc/PID/smaps must show the server's text and
read-only data sealed (VmFlags "sl") and, where its build has one, its RELRO
(PT_GNU_RELRO, pages rounded down as glibc does); the server must not be
traced. GET /quit ends it: exit status 0, and the report says sealed, no
failures.

Exit status: 0 passed; 1 failed; 77 skipped (SERVER "": go was not found at
build time; or mseal unavailable: `vmseal check` exits 5).
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

SKIP = 77
PAGE = 4096


def fail(msg):
    print(f"FAIL: {msg}")
    return 1


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        return r.status, r.read().decode()


def expected_alloc(n):
    return f"alloc {n} {65536 * sum(i % 256 for i in range(n))}\n"


def image_ranges(path, bias):
    """text, rodata and RELRO of the ELF file at `path`, loaded at `bias`
    (readelf's program headers; rodata: the largest read-only PT_LOAD)."""
    out = subprocess.run(["readelf", "-lW", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    text = rodata = relro = None
    for line in out.splitlines():
        f = line.split()
        if not f or f[0] not in ("LOAD", "GNU_RELRO"):
            continue
        vaddr, memsz = int(f[2], 16), int(f[5], 16)
        flags = "".join(f[6:-1])
        lo, hi = (bias + vaddr) & ~(PAGE - 1), (bias + vaddr + memsz + PAGE - 1) & ~(PAGE - 1)
        if f[0] == "GNU_RELRO":
            relro = (lo, (bias + vaddr + memsz) & ~(PAGE - 1))
        elif "E" in flags:
            text = (lo, hi)
        elif "W" not in flags and (rodata is None or hi - lo > rodata[1] - rodata[0]):
            rodata = (lo, hi)
    return {"text": text, "rodata": rodata, "relro": relro}


def sealed_bytes(pid, lo, hi):
    """(mapped, sealed) bytes of [lo, hi) in /proc/PID/smaps."""
    mapped = sealed = 0
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not line.startswith("VmFlags"):
                a, b = (int(x, 16) for x in head.split("-"))
                cur = (max(a, lo), min(b, hi))
                if cur[1] > cur[0]:
                    mapped += cur[1] - cur[0]
            elif line.startswith("VmFlags:") and cur and cur[1] > cur[0] and " sl" in line:
                sealed += cur[1] - cur[0]
    return mapped, sealed


def check_sealed(pid, server):
    """Failures: a planned range of the server not wholly sealed."""
    with open(f"/proc/{pid}/auxv", "rb") as f:
        aux = f.read()
    entry = next(int.from_bytes(aux[i + 8:i + 16], "little") for i in range(0, len(aux), 16)
                 if int.from_bytes(aux[i:i + 8], "little") == 9)
    hdr = subprocess.run(["readelf", "-hW", server], stdout=subprocess.PIPE, text=True, check=True).stdout
    file_entry = int(next(l.split()[-1] for l in hdr.splitlines() if "Entry point" in l), 16)
    is_dyn = any("DYN" in l for l in hdr.splitlines() if l.strip().startswith("Type:"))
    failures, seen = [], []
    for name, r in image_ranges(server, entry - file_entry if is_dyn else 0).items():
        if r is None or r[1] <= r[0]:
            seen.append(f"{name}: none")
            continue
        mapped, sealed = sealed_bytes(pid, *r)
        seen.append(f"{name} {r[0]:#x}-{r[1]:#x}: {sealed}/{r[1] - r[0]} bytes sealed")
        if mapped != r[1] - r[0] or sealed != mapped:
            failures.append(f"{name} {r[0]:#x}-{r[1]:#x} not sealed ({sealed} of {r[1] - r[0]} bytes)")
    print("smaps: " + "; ".join(seen))
    with open(f"/proc/{pid}/status") as f:
        tracer = next(l.split()[1] for l in f if l.startswith("TracerPid:"))
    if tracer != "0":
        failures.append(f"the server is traced by {tracer} after sealing")
    return failures


def client_loop(port, pid, requests):
    failures = []
    status, body = get(port, "/pid")
    if status != 200 or body.strip() != str(pid):
        failures.append(f"GET /pid: {status} {body!r}, expected {pid} (vmseal's pid is the server's)")
    for i in range(requests):
        if i % 10 == 9:
            n = 1 + (i * 7) % 200
            status, body = get(port, f"/alloc?n={n}")
            want = expected_alloc(n)
        else:
            status, body = get(port, "/")
            want = "vmseal-go-ok\n"
        if status != 200 or body != want:
            failures.append(f"request {i}: {status} {body!r}, expected {want!r}")
            break
    return failures


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    vmseal, server = sys.argv[1], sys.argv[2]
    requests = int(sys.argv[3]) if len(sys.argv) == 4 else 300
    if not server:
        print("SKIP: the Go HTTP server was not built: go not found at configure time (Debian: golang-go)")
        return SKIP
    check = subprocess.run([vmseal, "check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check.returncode == 5:
        print("SKIP: mseal(2) is not available here (`vmseal check` exited 5)")
        return SKIP
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("VMSEAL_")}
    with tempfile.TemporaryDirectory(prefix="vmseal-go-http.") as tmp:
        report = os.path.join(tmp, "report.json")
        p = subprocess.Popen([vmseal, "run", "--report", report, "--", server, "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
        failures = []
        try:
            port = int(p.stdout.readline())
            failures += check_sealed(p.pid, server)
            failures += client_loop(port, p.pid, requests)
            print(f"{requests} requests on port {port}")
            failures += check_sealed(p.pid, server)  # still sealed after the load
            get(port, "/quit")
            rc = p.wait(timeout=60)
        except (ValueError, OSError, subprocess.TimeoutExpired) as e:
            p.kill()
            p.wait()
            return fail(f"the server did not serve: {e}; stderr: {p.stderr.read()}")
        err = p.stderr.read()
        if rc != 0:
            failures.append(f"the server exited {rc}; stderr: {err}")
        if err:
            failures.append(f"stderr is not empty: {err}")
        try:
            with open(report) as f:
                r = json.load(f)
        except (OSError, ValueError) as e:
            r = {"failures": f"no usable report ({e})"}
        if r.get("failures") != 0 or not r.get("sealed_before_main"):
            failures.append(f"the report: failures={r.get('failures')} sealed_before_main={r.get('sealed_before_main')}")
    for f in failures:
        print(f"FAIL: {f}")
    if not failures:
        print(f"ok: {os.path.basename(server)} sealed and served {requests} requests")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
