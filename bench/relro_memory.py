#!/usr/bin/env python3
"""What `vmseal run`'s RELRO (and text) copies cost in memory.

Before it seals an object, `vmseal run` replaces its RELRO with a copy no
madvise can revert (include/vmseal/sealing/relro.hpp), as `--relro` says:

  anon   a read-only anonymous copy moved over RELRO with mremap (the default)
  memfd  a write-sealed memfd copy mapped MAP_PRIVATE read-only over it
  file   RELRO left as the loader mapped it (no copy, the old behaviour)

and `--text anon` copies text and rodata as well. This script runs real
programs in five configurations:

  plain            the program alone, no vmseal
  relro-file       vmseal run --relro file
  relro-anon       vmseal run                  (--relro anon, the default)
  relro-memfd      vmseal run --relro memfd
  text-anon        vmseal run --text anon      (with the default RELRO)

and reads /proc/PID/smaps_rollup of the measured process(es) while they run:
Rss, Pss (and its Anon/File/Shmem split, in the JSON), Private (Clean +
Dirty) and Shared_Clean / Shared_Dirty, in KiB. "relro-file" carries the
preload's own cost without any copy, so "+priv vs file" isolates what the
copies cost; "+priv vs plain" is the whole cost of running sealed.

Programs:

  python         /usr/bin/python3 -c "import time; time.sleep(...)", sampled
                 after --python-delay seconds (vmseal run execs the program
                 in place, so the pid spawned is the program's pid).
  python-ssl     the same after `import ssl, sqlite3` (more objects loaded).
  gcc            vmseal run --follow-exec -- gcc -O2 -c GEN.c: the cc1 child
                 of the driver is sampled --gcc-delay seconds after it
                 appears. GEN.c is generated, and grown until cc1 runs for
                 at least --gcc-delay + 1 s unsealed.
  chromium       headless Chromium (about:blank, loopback only, a fresh
                 profile) under vmseal run --follow-exec, sampled after
                 --chromium-delay seconds, figures summed over the whole
                 process tree (browser and children; Rss double-counts pages
                 the processes share, Pss does not). The tree is killed
                 afterwards, by process group and by session.

Each measurement is repeated --runs times; rounds are interleaved (every
configuration once per round, the order rotated per round) so a drift in
the machine hits all configurations alike. The deltas are paired by round
(config's private KiB minus the baseline's in the same round) and shown as
min / median / max like every other figure.

That the mode took effect is checked by its effect: after each sample the
process's /proc/PID/maps is read and the mappings that look like copies are
counted: anonymous r--p mappings inside an object's span (RELRO under anon,
rodata too under --text anon), anonymous r-xp ones there (text under
--text anon) and "/memfd:vmseal-relro:*" mappings (memfd). Their resident
KiB (from /proc/PID/smaps) is reported as "copy KiB". plain and relro-file
should show 0 of each.

Run (as root for Chromium, which needs --no-sandbox then), from anywhere:

  python3 bench/relro_memory.py                      # all programs, 5 runs
  python3 bench/relro_memory.py --runs 3 --programs python,gcc
  python3 bench/relro_memory.py --json results.json  # also write JSON
  python3 bench/relro_memory.py --json -             # JSON only, on stdout

The vmseal binary defaults to ../build/release/vmseal next to this script
(--vmseal PATH to change it). Standard library only; Linux only.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VMSEAL = os.path.normpath(os.path.join(HERE, "..", "build", "release", "vmseal"))

# (name, arguments to `vmseal run`, or None for the program alone)
CONFIGS = [
    ("plain", None),
    ("relro-file", ["--relro", "file"]),
    ("relro-anon", []),
    ("relro-memfd", ["--relro", "memfd"]),
    ("text-anon", ["--text", "anon"]),
]
PROGRAMS = ["python", "python-ssl", "gcc", "chromium"]

ROLLUP_KEYS = ["Rss", "Pss", "Pss_Anon", "Pss_File", "Pss_Shmem", "Shared_Clean", "Shared_Dirty",
               "Private_Clean", "Private_Dirty", "Anonymous"]
COPY_KEYS = ["anon_r", "anon_rx", "memfd_relro", "copy_kib", "relro_file", "relro_file_kib", "relro_file_private_kib",
             "memfd_pss_kib"]
# Keys of count_copies() not summed over processes (see memfd_file_kib()).
MEMFD_FILES = "memfd_files"
MEMFD_RELRO = "/memfd:vmseal-relro:"


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc ----

def read_rollup(pid):
    """/proc/PID/smaps_rollup as {key: KiB}; None when the process is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            lines = f.read().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return None
    out = {}
    for line in lines[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":"):
            try:
                out[parts[0][:-1]] = int(parts[1])
            except ValueError:
                pass
    if not out:
        return None  # a zombie, or a kernel thread: nothing mapped
    return out


def parse_maps_line(line):
    parts = line.split(None, 5)
    if len(parts) < 5:
        return None
    start, end = (int(x, 16) for x in parts[0].split("-"))
    return {"start": start, "end": end, "perms": parts[1], "offset": int(parts[2], 16), "dev": parts[3],
            "inode": int(parts[4]),
            "name": parts[5].strip() if len(parts) > 5 else ""}


def read_smaps(pid):
    """/proc/PID/smaps as a list of mappings, each with its Rss and Private
    (Clean + Dirty) KiB; [] when the process is gone."""
    try:
        with open("/proc/%d/smaps" % pid) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return []
    maps = []
    for line in text.splitlines():
        head = line.split(None, 1)[0] if line else ""
        if "-" in head and ":" not in head:
            m = parse_maps_line(line)
            if m is not None:
                m["rss"] = m["pss"] = m["private"] = 0
                maps.append(m)
        elif maps and head == "Rss:":
            maps[-1]["rss"] = int(line.split()[1])
        elif maps and head == "Pss:":
            maps[-1]["pss"] = int(line.split()[1])
        elif maps and head in ("Private_Clean:", "Private_Dirty:"):
            maps[-1]["private"] += int(line.split()[1])
    return maps


def memfd_file_kib(pid, m):
    """What a memfd holds in memory, mapped or not: its allocated blocks, read
    through /proc/PID/map_files (root only); else the mapping's length.
    smaps counts only the pages a process has faulted in since the memfd was
    mapped, so the memfd's untouched pages are in no process's Rss (they are
    in /proc/meminfo's Shmem)."""
    try:
        st = os.stat("/proc/%d/map_files/%x-%x" % (pid, m["start"], m["end"]))
        return st.st_blocks * 512 // 1024
    except OSError:
        return (m["end"] - m["start"]) // 1024


def is_file(m):
    n = m["name"]
    return m["inode"] != 0 and n.startswith("/") and not n.startswith("/memfd:") and not n.startswith("/SYSV")


def is_anon(m):
    return not m["name"] and m["inode"] == 0 and m["perms"].endswith("p")


def count_copies(pid):
    """The mappings of PID that look like vmseal's copies (see the docstring),
    and RELRO still mapped from its file."""
    maps = read_smaps(pid)
    out = dict.fromkeys(COPY_KEYS, 0)
    # Anonymous memory belongs to an object when it lies inside the span of
    # the object's file mappings, or when it runs without a hole up to the
    # object's first file mapping and that one does not start at offset 0
    # (under --text anon only the data segment is left file-backed).
    spans, first = {}, {}
    for i, m in enumerate(maps):
        if is_file(m):
            s = spans.setdefault(m["name"], [m["start"], m["end"], 0])
            s[0], s[1], s[2] = min(s[0], m["start"]), max(s[1], m["end"]), s[2] + 1
            first.setdefault(m["name"], i)
    objects = [(s, e) for s, e, n in spans.values() if n >= 2]
    head = set()
    for name, i in first.items():
        if maps[i]["perms"] != "rw-p" or not maps[i]["offset"]:
            continue
        j = i - 1
        while j >= 0 and is_anon(maps[j]) and maps[j]["perms"] in ("r--p", "r-xp") \
                and maps[j]["end"] == maps[j + 1]["start"]:
            head.add(j)
            j -= 1
    next_of_file, last = {}, {}
    for i, m in enumerate(maps):
        if is_file(m):
            if m["name"] in last:
                next_of_file[last[m["name"]]] = i
            last[m["name"]] = i
    out[MEMFD_FILES] = {}
    for i, m in enumerate(maps):
        if m["name"].startswith(MEMFD_RELRO):
            out["memfd_relro"] += 1
            out["copy_kib"] += m["rss"]
            out["memfd_pss_kib"] += m["pss"]
            out[MEMFD_FILES][m["dev"], m["inode"]] = memfd_file_kib(pid, m)
            continue
        if is_file(m):
            # RELRO from the file: the object's last read-only mapping before
            # its first writable one (in the same PT_LOAD as the data with GNU
            # ld, in one of its own with lld), not its headers at offset 0;
            # only a reserved hole may lie between (a copy in between means
            # this is rodata).
            nxt = next_of_file.get(i)
            if m["perms"] == "r--p" and m["offset"] != 0 and nxt is not None and maps[nxt]["perms"] == "rw-p" \
                    and all(maps[k]["perms"] == "---p" for k in range(i + 1, nxt)):
                out["relro_file"] += 1
                out["relro_file_kib"] += m["rss"]
                out["relro_file_private_kib"] += m["private"]
            continue
        if not is_anon(m) or m["perms"] not in ("r--p", "r-xp"):
            continue
        if i not in head and not any(s <= m["start"] and m["end"] <= e for s, e in objects):
            continue
        out["anon_r" if m["perms"] == "r--p" else "anon_rx"] += 1
        out["copy_kib"] += m["rss"]
    return out


def process_table():
    """{pid: (ppid, session, comm)} for every process now."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # comm is in parentheses and may hold anything: split after the last ')'.
        lpar, rpar = stat.find("("), stat.rfind(")")
        rest = stat[rpar + 2:].split()
        table[int(entry)] = (int(rest[1]), int(rest[3]), stat[lpar + 1:rpar])
    return table


def descendants(root, table=None):
    """root and every process below it, by parent pid."""
    table = process_table() if table is None else table
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def exe_of(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


# --------------------------------------------------------- processes ----

class Child:
    """A program started in its own session and process group, always cleaned
    up: the group, then anything left in the session or below the leader."""

    def __init__(self, argv, cwd=None, env=None, marker=None):
        self.marker = marker  # a string in the command line of every process of this run
        self.errfile = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=self.errfile, cwd=cwd, env=env, start_new_session=True)
        except OSError as e:
            self.errfile.close()
            raise BenchError("cannot run %s: %s" % (argv[0], e))
        self.pid = self.proc.pid

    def stderr_tail(self, n=600):
        self.errfile.seek(0)
        data = self.errfile.read().decode(errors="replace").strip()
        return data[-n:]

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError("%s did not finish within %.0f s" % (self.proc.args[0], timeout))

    def members(self):
        table = process_table()
        pids = set(descendants(self.pid, table))
        pids.update(p for p, (_, sid, _) in table.items() if sid == self.pid)
        if self.marker:
            # Helpers that leave the session (Chromium's crashpad handler double-forks and setsid()s).
            for p in table:
                try:
                    with open("/proc/%d/cmdline" % p, "rb") as f:
                        if self.marker.encode() in f.read():
                            pids.add(p)
                except OSError:
                    pass
        pids.discard(os.getpid())
        return pids

    def kill(self, grace=3.0):
        pids = self.members() if self.proc.poll() is None else set()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            for p in self.members() | pids:
                try:
                    os.kill(p, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 10.0)
            while time.monotonic() < deadline:
                self.proc.poll()
                if not [p for p in (self.members() | pids) if alive(p)]:
                    break
                time.sleep(0.05)
            else:
                continue
            break
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        left = [p for p in (self.members() | pids) if alive(p)]
        self.errfile.close()
        if left:
            raise BenchError("processes %s survived SIGKILL" % left)


def alive(pid):
    """Running (not a zombie, not gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


def command_for(vmseal, config_args, follow_exec, program_argv):
    if config_args is None:
        return list(program_argv)
    return [vmseal, "run"] + (["--follow-exec"] if follow_exec else []) + config_args + ["--"] + list(program_argv)


def sample(pids):
    """smaps_rollup and the copy counts, summed over pids that are still there."""
    total = dict.fromkeys(ROLLUP_KEYS, 0)
    copies = dict.fromkeys(COPY_KEYS, 0)
    memfds = {}  # a memfd inherited by fork is one file, however many map it
    seen = 0
    for pid in pids:
        r = read_rollup(pid)
        if r is None:
            continue
        c = count_copies(pid)
        if read_rollup(pid) is None:
            continue  # exited between the two reads
        seen += 1
        for k in ROLLUP_KEYS:
            total[k] += r.get(k, 0)
        for k in COPY_KEYS:
            copies[k] += c[k]
        memfds.update(c[MEMFD_FILES])
    if seen == 0:
        return None
    total["Private"] = total["Private_Clean"] + total["Private_Dirty"]
    total["Shared"] = total["Shared_Clean"] + total["Shared_Dirty"]
    total.update(copies)
    total["memfd_file_kib"] = sum(memfds.values())
    # Pss with the memfd copies counted whole: their mapped share out, the files in.
    total["Pss_with_memfd"] = total["Pss"] - total["memfd_pss_kib"] + total["memfd_file_kib"]
    total["processes"] = seen
    return total


# ------------------------------------------------------------ programs ----

def measure_python(args, vmseal, config_args, imports):
    code = "%simport time; time.sleep(%r)" % (imports, args.python_delay + 2.0)
    argv = command_for(vmseal, config_args, False, [args.python, "-c", code])
    child = Child(argv)
    try:
        time.sleep(args.python_delay)
        if child.proc.poll() is not None:
            raise BenchError("%s exited early (%s): %s" % (argv[0], child.proc.returncode, child.stderr_tail()))
        want = os.path.realpath(args.python)
        if os.path.realpath(exe_of(child.pid)) != want:
            raise BenchError("pid %d runs %s, not %s, after %.1f s" % (child.pid, exe_of(child.pid), want,
                                                                        args.python_delay))
        s = sample([child.pid])
        if s is None:
            raise BenchError("%s vanished before its sample" % args.python)
        status = child.wait(args.timeout)
        if status != 0:
            raise BenchError("%s exited %d: %s" % (" ".join(argv), status, child.stderr_tail()))
        return s
    finally:
        child.kill()


def generate_c(path, functions):
    parts = ["#include <stddef.h>\n"]
    for i in range(functions):
        parts.append("""
int f%(i)d(const int *a, size_t n, int k) {
  int s = %(i)d;
  for (size_t j = 0; j < n; ++j) {
    switch ((a[j] + k) & 7) {
      case 0: s += a[j] * %(m)d; break;
      case 1: s ^= a[j] << %(sh)d; break;
      case 2: s -= a[j] / (%(d)d + 1); break;
      case 3: if (s > %(i)d) s = s * 3 + 1; else s /= 2; break;
      default: s += (int)(j * %(a)d);
    }
  }
  return s;
}
""" % {"i": i, "m": i % 13 + 1, "sh": i % 5, "d": i % 7, "a": i % 11 + 2})
    with open(path, "w") as f:
        f.write("".join(parts))


def find_cc1(driver_pid):
    for pid in descendants(driver_pid):
        if pid != driver_pid and os.path.basename(exe_of(pid)) == "cc1":
            return pid
    return None


def run_gcc(args, vmseal, config_args, workdir, src, sample_after):
    """Runs the compile; returns (sample or None, seconds cc1 ran for)."""
    obj = os.path.join(workdir, "gen.o")
    argv = command_for(vmseal, config_args, True, [args.cc, "-O2", "-c", src, "-o", obj])
    child = Child(argv, cwd=workdir)
    try:
        deadline = time.monotonic() + args.timeout
        cc1 = None
        while cc1 is None:
            if child.proc.poll() is not None:
                raise BenchError("%s exited (%s) before cc1 was seen: %s"
                                 % (" ".join(argv), child.proc.returncode, child.stderr_tail()))
            if time.monotonic() > deadline:
                raise BenchError("no cc1 under %s within %.0f s" % (args.cc, args.timeout))
            cc1 = find_cc1(child.pid)
            if cc1 is None:
                time.sleep(0.01)
        seen = time.monotonic()
        s = None
        if sample_after is not None:
            time.sleep(sample_after)
            if alive(cc1):
                s = sample([cc1])
                if s is not None and not alive(cc1):
                    s = None
        while alive(cc1) and time.monotonic() < deadline:
            time.sleep(0.02)
        ran = time.monotonic() - seen
        status = child.wait(max(1.0, deadline - time.monotonic()))
        if status != 0:
            raise BenchError("%s exited %d: %s" % (" ".join(argv), status, child.stderr_tail()))
        return s, ran
    finally:
        child.kill()


def prepare_gcc(args, workdir):
    src = os.path.join(workdir, "gen.c")
    functions = args.gcc_functions
    while True:
        generate_c(src, functions)
        _, ran = run_gcc(args, None, None, workdir, src, None)
        log("  gen.c with %d functions: cc1 ran %.2f s unsealed" % (functions, ran))
        if ran >= args.gcc_delay + 1.0:
            return src
        if functions >= 64 * args.gcc_functions:
            raise BenchError("cc1 stays under %.1f s even with %d functions" % (args.gcc_delay + 1.0, functions))
        functions *= 2


def measure_gcc(args, vmseal, config_args, workdir, src):
    s, ran = run_gcc(args, vmseal, config_args, workdir, src, args.gcc_delay)
    if s is None:
        raise BenchError("cc1 finished (after %.2f s) before its sample at %.2f s: raise --gcc-functions"
                         % (ran, args.gcc_delay))
    return s


def measure_chromium(args, vmseal, config_args):
    profile = tempfile.mkdtemp(prefix="relro-memory-chromium-")
    try:
        argv = command_for(vmseal, config_args, True, [
            args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + profile, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            "about:blank"])
        child = Child(argv, env=dict(os.environ, HOME=profile), marker=profile)
        try:
            time.sleep(args.chromium_delay)
            if child.proc.poll() is not None:
                raise BenchError("%s exited early (%s): %s"
                                 % (args.chromium, child.proc.returncode, child.stderr_tail()))
            s = sample(sorted(child.members()))
            if s is None:
                raise BenchError("no Chromium process left to sample")
            return s
        finally:
            child.kill()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# -------------------------------------------------------------- report ----

def stats(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def summarise(rounds):
    """rounds: [{config: sample}] -> {config: {figure: stats}}"""
    figures = ["Rss", "Pss", "Private", "Shared_Clean", "Shared_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem",
               "Anonymous"] + COPY_KEYS + ["memfd_file_kib", "Pss_with_memfd", "processes"]
    out = {}
    for name, _ in CONFIGS:
        samples = [r[name] for r in rounds if name in r]
        if not samples:
            continue
        summary = {f: stats([s[f] for s in samples]) for f in figures}
        for base in ("relro-file", "plain"):
            deltas = [r[name]["Private"] - r[base]["Private"] for r in rounds if name in r and base in r]
            if deltas:
                summary["private_vs_" + base.replace("relro-", "")] = stats(deltas)
        summary["runs"] = len(samples)
        out[name] = summary
    return out


def fmt(st, median_only=False):
    def n(x):
        return ("%d" % x) if float(x).is_integer() else ("%.1f" % x)
    if median_only or st["min"] == st["max"]:
        return n(st["median"])
    return "%s / **%s** / %s" % (n(st["min"]), n(st["median"]), n(st["max"]))


def markdown(program, desc, summary):
    lines = ["### %s" % program, "", desc, "",
             "KiB from smaps_rollup, min / **median** / max; the deltas are Private, paired by round. "
             "copies: anonymous r--p / r-xp mappings inside objects and memfd RELRO mappings, then their Rss; "
             "memfd size: the memfd copies' own pages (each file once), resident whether a process maps them "
             "or not (smaps counts only the pages faulted in since, so Rss, Pss and Private miss the rest); "
             "Pss+memfd: Pss with the memfd copies counted whole (their Pss out, their size in); "
             "file RELRO: RELRO mappings still file-backed, then their Private / Rss (medians).", "",
             "| config | Rss | Pss | Private | Shared_Clean | Shared_Dirty | +priv vs file | +priv vs plain "
             "| copies r-- / r-x / memfd | copy Rss | memfd size | Pss+memfd | file RELRO: n, Private / Rss |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, _ in CONFIGS:
        s = summary.get(name)
        if s is None:
            continue
        copies = "%s / %s / %s" % (fmt(s["anon_r"]), fmt(s["anon_rx"]), fmt(s["memfd_relro"]))
        relro = "%s, %s / %s" % (fmt(s["relro_file"]), fmt(s["relro_file_private_kib"], True),
                                 fmt(s["relro_file_kib"], True))
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, fmt(s["Rss"]), fmt(s["Pss"]), fmt(s["Private"]), fmt(s["Shared_Clean"]), fmt(s["Shared_Dirty"]),
            fmt(s["private_vs_file"]) if "private_vs_file" in s else "–",
            fmt(s["private_vs_plain"]) if "private_vs_plain" in s else "–", copies, fmt(s["copy_kib"]),
            fmt(s["memfd_file_kib"]), fmt(s["Pss_with_memfd"]), relro))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main ----

def check_setup(args):
    if not (os.path.isfile(args.vmseal) and os.access(args.vmseal, os.X_OK)):
        raise BenchError("vmseal binary not found or not executable: %s (build it, or pass --vmseal PATH)"
                         % args.vmseal)
    try:
        r = subprocess.run([args.vmseal, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError("%s does not run: %s" % (args.vmseal, e))
    if r.returncode != 0:
        raise BenchError("%s --version exited %d: %s" % (args.vmseal, r.returncode, r.stdout.decode(errors="replace")))
    needed = {"python": args.python, "python-ssl": args.python, "chromium": args.chromium,
              "gcc": shutil.which(args.cc) or args.cc}
    for p in args.programs:
        if not (os.path.isfile(needed[p]) and os.access(needed[p], os.X_OK)):
            raise BenchError("%s: %s not found (pass its path, or leave %s out of --programs)" % (p, needed[p], p))
    if "chromium" in args.programs and os.geteuid() == 0:
        pass  # --no-sandbox is what lets it run as root
    return r.stdout.decode(errors="replace").strip()


def interrupted(signum, frame):
    raise KeyboardInterrupt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vmseal", default=DEFAULT_VMSEAL, help="the vmseal binary (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=5, help="rounds per program (default: %(default)s)")
    ap.add_argument("--programs", default=",".join(PROGRAMS),
                    help="comma-separated subset of %s (default: all)" % ",".join(PROGRAMS))
    ap.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH ('-': stdout, no tables)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds any one run may take (default: %(default)s)")
    ap.add_argument("--python", default="/usr/bin/python3", help="(default: %(default)s)")
    ap.add_argument("--python-delay", type=float, default=1.0, help="seconds before the sample (default: %(default)s)")
    ap.add_argument("--cc", default="gcc", help="the compiler driver (default: %(default)s)")
    ap.add_argument("--gcc-functions", type=int, default=300,
                    help="functions in the generated C file to start from (default: %(default)s)")
    ap.add_argument("--gcc-delay", type=float, default=1.0,
                    help="seconds after cc1 appears before its sample (default: %(default)s)")
    ap.add_argument("--chromium", default="/usr/bin/chromium", help="(default: %(default)s)")
    ap.add_argument("--chromium-delay", type=float, default=4.0,
                    help="seconds before the sample (default: %(default)s)")
    args = ap.parse_args()
    args.vmseal = os.path.abspath(args.vmseal)
    args.programs = [p.strip() for p in args.programs.split(",") if p.strip()]
    bad = [p for p in args.programs if p not in PROGRAMS]
    if bad or args.runs < 1:
        ap.error("unknown program(s) %s" % bad if bad else "--runs must be at least 1")

    # A SIGTERM (or ^C) unwinds through every Child's cleanup.
    signal.signal(signal.SIGTERM, interrupted)

    try:
        version = check_setup(args)
        uname = os.uname()
        result = {"vmseal": args.vmseal, "vmseal_version": version, "kernel": uname.release,
                  "machine": uname.machine, "runs": args.runs,
                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "programs": {}}
        with tempfile.TemporaryDirectory(prefix="relro-memory-") as workdir:
            for program in args.programs:
                if program == "python":
                    desc = "`%s -c 'import time; time.sleep(...)'`, sampled after %.1f s." % (
                        args.python, args.python_delay)
                    measure = lambda c: measure_python(args, args.vmseal, c, "")
                elif program == "python-ssl":
                    desc = "`%s -c 'import ssl, sqlite3, time; time.sleep(...)'`, sampled after %.1f s." % (
                        args.python, args.python_delay)
                    measure = lambda c: measure_python(args, args.vmseal, c, "import ssl, sqlite3; ")
                elif program == "gcc":
                    log("gcc: sizing the generated C file")
                    src = prepare_gcc(args, workdir)
                    desc = "cc1 of `%s -O2 -c gen.c` (%d KiB of C), --follow-exec, sampled %.1f s after cc1 " \
                           "appeared." % (args.cc, os.path.getsize(src) // 1024, args.gcc_delay)
                    measure = lambda c, src=src: measure_gcc(args, args.vmseal, c, workdir, src)
                else:
                    desc = "headless `%s` on about:blank, --follow-exec, sampled after %.1f s, summed over " \
                           "the process tree (Rss double-counts shared pages, Pss does not)." % (
                               args.chromium, args.chromium_delay)
                    measure = lambda c: measure_chromium(args, args.vmseal, c)
                rounds = []
                for i in range(args.runs):
                    order = CONFIGS[i % len(CONFIGS):] + CONFIGS[:i % len(CONFIGS)]
                    this = {}
                    for name, config_args in order:
                        log("%s round %d/%d: %s" % (program, i + 1, args.runs, name))
                        this[name] = measure(config_args)
                    rounds.append(this)
                summary = summarise(rounds)
                result["programs"][program] = {"description": desc, "summary": summary, "samples": rounds}
                if args.json != "-":
                    print(markdown(program, desc, summary), flush=True)
        if args.json:
            text = json.dumps(result, indent=2, sort_keys=True) + "\n"
            if args.json == "-":
                sys.stdout.write(text)
            else:
                with open(args.json, "w") as f:
                    f.write(text)
    except BenchError as e:
        log("relro_memory: error: %s" % e)
        return 1
    except KeyboardInterrupt:
        log("relro_memory: interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
