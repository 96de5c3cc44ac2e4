#!/usr/bin/python3
"""The fleet view read by Prometheus' own parsers (python3-prometheus-client):
`vmseal inspect --all --format openmetrics` must parse as the Prometheus text
format (what node_exporter's textfile collector reads) and as strict
OpenMetrics, with a sealed program under a hostile path (a quote, a backslash,
a newline and a byte that is not UTF-8) counted in its own series.

usage: check_exposition.py VMSEAL
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    from prometheus_client.openmetrics import parser as om_parser
    from prometheus_client import parser as text_parser
except ImportError:
    sys.exit("FAIL: python3-prometheus-client is missing (scripts/setup.sh installs it)")

VMSEAL = sys.argv[1]


def fail(msg):
    sys.exit("FAIL: " + msg)


def exposition(*args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "vmseal.prom")
        r = subprocess.run([VMSEAL, "inspect", "--all", "--format", "openmetrics", "--output", out, *args],
                           capture_output=True, text=True, timeout=120)
        if r.returncode not in (0, 5):
            fail(f"vmseal inspect exited {r.returncode}: {r.stderr}")
        if oct(os.stat(out).st_mode & 0o7777) != "0o644":
            fail("the metrics file is not mode 0644")
        if [f for f in os.listdir(d) if f != "vmseal.prom"]:
            fail("a temporary file was left beside the metrics file")
        with open(out, encoding="utf-8") as f:
            return f.read(), r.returncode


def families(text):
    """Both parsers; they must agree on every sample."""
    prom = {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_parser.text_string_to_metric_families(text) for s in fam.samples}
    om = {(s.name, tuple(sorted(s.labels.items()))): s.value
          for fam in om_parser.text_string_to_metric_families(text) for s in fam.samples}
    if prom != om:
        fail("the Prometheus and OpenMetrics parsers read different samples")
    return prom


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def main():
    work = tempfile.mkdtemp(prefix="vmseal-fleet-")
    hostile = os.path.join(work.encode(), b'sl"ee\\p\nx\xff')
    shutil.copy("/bin/sleep", hostile)
    os.chmod(hostile, 0o755)
    sleeper = subprocess.Popen([VMSEAL, "run", "--", hostile, "60"])
    try:
        time.sleep(0.5)
        text, rc = exposition()
        samples = families(text)
        label = hostile.decode("utf-8", errors="replace")
        if value(samples, "vmseal_processes", exe=label) != 1:
            fail(f"no series for the hostile executable {label!r}")
        sealed = rc == 0
        if value(samples, "vmseal_mseal_available") != (1 if sealed else 0):
            fail("vmseal_mseal_available disagrees with the exit status")
        if sealed:
            if not value(samples, "vmseal_sealed_bytes", exe=label) > 0:
                fail("the sealed program shows no sealed bytes")
            if value(samples, "vmseal_processes_vmseal_run", exe=label) != 1:
                fail("the program vmseal run started is not counted as such")
        else:
            print("SKIP (part): mseal is not available, sealed bytes not checked")
        # Bounded: one executable and "(other)".
        text, _ = exposition("--max-groups", "1")
        exes = {dict(k[1]).get("exe") for k in families(text) if k[0] == "vmseal_processes"}
        if len(exes) > 2 or "(other)" not in exes:
            fail(f"--max-groups 1 gave {exes}")
        # --per-pid: the sleeper by its pid.
        text, _ = exposition("--per-pid")
        pids = {dict(k[1]).get("pid") for k in families(text) if k[0] == "vmseal_process_sealed_bytes"}
        if str(sleeper.pid) not in pids:
            fail(f"--per-pid has no series for pid {sleeper.pid}")
    finally:
        sleeper.kill()
        sleeper.wait()
        shutil.rmtree(work)
    print("ok: the exposition parses as Prometheus text and OpenMetrics, hostile labels included")


main()
