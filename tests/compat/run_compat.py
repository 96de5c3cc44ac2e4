#!/usr/bin/python3
"""Compatibility suite for `vmseal run` (issue 5); docs/compat.md has the results.

Runs real Debian programs twice, plainly and under `vmseal run`, and checks
that stdout, stderr (where deterministic) and the exit status are identical.
Every sealed run writes one JSON report per process (--report with '%p'), and
the suite checks that sealing really happened: every process reports
failures == 0 and its program image "sealed", and each case names the programs
that must be among the sealed processes (proof that --follow-exec reached the
children) and the programs whose images have holes between their segments,
which must be reported as unmapped gaps ("mapped": false) and not as failures.
A suite that passes because nothing was sealed fails. One more check reads a
live sealed process with `vmseal inspect` and compares its smaps with the
report.

    run_compat.py VMSEAL [--profile default|strict] [--only NAME]... [--list]
                  [-j N] [-v] [--keep] [--preload LIB] [--self-test]

Outcomes, one line per case:
  PASS           identical output and status, and everything planned was sealed
  FAIL           anything else: a difference, a sealing failure, a missing process
  EXPECTED-FAIL  a documented incompatibility (EXPECTED below) showed as documented
                 (where the case itself would hang, a quick variant of it shows the
                 failure instead); the case then runs again with the documented fix
                 ("NAME+fix"), which must pass
The profile given (default or strict) selects the documented incompatibilities.

Exit status: 0 all as expected, 1 a mismatch or a sealing problem, 2 usage,
77 mseal unavailable (skipped, with a message; never a silent pass).
Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import glob
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")
SKIP = 77

@dataclasses.dataclass
class Case:
    name: str
    argv: list[str]
    what: str
    files: tuple[str, ...] = ()       # copied from cases/ into the work directory
    follow: bool = False              # --follow-exec
    stderr: bool = True               # compare stderr
    stdout_filter: Optional[Callable[[str], str]] = None
    programs: tuple[str, ...] = ()    # basenames that must be among the sealed processes
    # Programs the kernel loads with holes between their PT_LOAD segments: when
    # sealed, each of their reports must show an unmapped gap ("mapped": false).
    holes: tuple[str, ...] = ()
    timeout: float = 60
    cost: float = 1                   # rough seconds for both runs: the costly ones start first
    setup: Optional[Callable[[str], None]] = None


def drop_lines(*patterns: str) -> Callable[[str], str]:
    rx = [re.compile(p) for p in patterns]
    return lambda text: "".join(l for l in text.splitlines(True) if not any(r.search(l) for r in rx))


# CPython's own tests, in two halves of about equal time (test_json and
# test_array are the slowest), so the two jobs share the longest case.
PY_TESTS = (["test_json", "test_re", "test_zlib", "test_collections", "test_mmap", "test_csv"],
            ["test_array", "test_ctypes", "test_base64", "test_hashlib", "test_struct", "test_resource"])


def make_tree(work: str) -> None:
    """A small tree with fixed times and modes for ls, find, tar."""
    for d in ("tree/a/b", "tree/c"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    for i, p in enumerate(("tree/a/one.txt", "tree/a/b/two.txt", "tree/c/three.dat", "tree/top")):
        with open(os.path.join(work, p), "w") as f:
            f.write(("line %d of %s\n" % (i, p)) * (i * 40 + 1))
    os.symlink("a/one.txt", os.path.join(work, "tree/link"))
    for root, dirs, files in os.walk(os.path.join(work, "tree"), topdown=False):
        for n in files + dirs + [""]:
            p = os.path.join(root, n)
            os.chmod(p, 0o755 if os.path.isdir(p) else 0o644) if not os.path.islink(p) else None
            os.utime(p, (1700000000, 1700000000), follow_symlinks=False)


def need_python_tests(work: str) -> None:
    if not os.path.isfile("/usr/lib/python3.11/test/test_re.py"):
        raise RuntimeError("/usr/lib/python3.11/test/test_re.py is missing: install libpython3.11-testsuite "
                           "(scripts/setup.sh)")


# Go programs from Debian's golang-go: static (Go's linker, no RELRO), so
# `vmseal run` seals them through ptrace, one per case. Debian's /usr/bin/go is
# linked by Go's internal linker with libc and cannot be sealed by `run`
# (docs/compat.md, "Go programs").
GO_ROOT = "/usr/lib/go-1.19"
GO_TOOLS = GO_ROOT + "/pkg/tool/linux_amd64"


def go_importcfg(work: str) -> None:
    """compile's -importcfg for prog.go's imports: Debian's golang-1.19 ships
    the standard library compiled."""
    with open(os.path.join(work, "importcfg"), "w") as f:
        for pkg in ("fmt", "os", "sort", "strings", "sync"):
            path = "%s/pkg/linux_amd64/%s.a" % (GO_ROOT, pkg)
            if not os.path.isfile(path):
                raise RuntimeError("%s is missing: install golang-go (scripts/setup.sh)" % path)
            f.write("packagefile %s=%s\n" % (pkg, path))


def churn_output(text: str) -> str:
    """churn's lines that hold for any run: its checked result without the
    collection count (tests/go/churn: its sealing lines differ on purpose)."""
    return "".join(re.sub(r" gcs=\d+", "", l) for l in text.splitlines(True) if l.startswith("churn "))


def go_built_cases(go_dir: str) -> list[Case]:
    """The project's own Go program (tests/go/churn: goroutines and a
    collection per round, every result checked) in the builds `run` seals:
    static and pie through ptrace, cgo (linked externally) through the
    preload. Built by cmake/GoPrograms.cmake into GO_DIR (--go-dir)."""
    return [Case("go-churn-" + v, [os.path.join(go_dir, "churn-" + v), "6"],
                 "tests/go/churn, the %s build: 16 goroutines, 6 rounds, a collection per round" % v,
                 stdout_filter=churn_output, programs=("churn-" + v,), cost=2)
            for v in ("static", "pie", "cgo")]


# The C program of the gcc case, built static each way `vmseal run` seals a
# static program through ptrace (docs/compat.md, "Static programs"). musl's
# static-pie is linked by hand from rcrt1.o: Debian's musl-gcc specs always
# name musl's loader (as tests/CMakeLists.txt builds its helpers).
MUSL = "/usr/lib/x86_64-linux-musl"


def static_build(kind: str, out: str) -> list[list[str]]:
    if kind == "glibc-static":
        return [["gcc", "-O2", "-static", "-o", out, "prog.c", "-lm"]]
    if kind == "glibc-static-pie":
        return [["gcc", "-O2", "-fPIE", "-static-pie", "-o", out, "prog.c", "-lm"]]
    if kind == "musl-static":
        return [["musl-gcc", "-O2", "-static", "-o", out, "prog.c"]]
    libgcc = subprocess.run(["gcc", "-print-libgcc-file-name"], capture_output=True, text=True).stdout.strip()
    return [["musl-gcc", "-O2", "-fPIE", "-c", "-o", out + ".o", "prog.c"],
            ["gcc", "-nostdlib", "-static-pie", "-Wl,-z,relro,-z,now", "-o", out, MUSL + "/rcrt1.o",
             MUSL + "/crti.o", out + ".o", MUSL + "/libc.a", libgcc, MUSL + "/crtn.o"]]


def build_static(*kinds: str) -> Callable[[str], None]:
    """Builds prog.c as `prog-KIND` for each kind, in the work directory."""
    def setup(work: str) -> None:
        for kind in kinds:
            for cmd in static_build(kind, "prog-" + kind):
                if shutil.which(cmd[0]) is None:
                    raise RuntimeError("%s is not installed (scripts/setup.sh installs it)" % cmd[0])
                p = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
                if p.returncode != 0:
                    raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.strip()[-300:]))
    return setup


STATIC_KINDS = ("glibc-static", "glibc-static-pie", "musl-static", "musl-static-pie")
SH = "/bin/sh"
CASES: list[Case] = [
    *(Case("static-" + kind.replace("-static", ""), ["@WORK@/prog-" + kind, "arg"],
           "prog.c built %s: no loader, sealed through ptrace (math, setjmp, TLS, 16 MiB malloc; exit 5)" % kind,
           files=("prog.c",), setup=build_static(kind), programs=("prog-" + kind,))
      for kind in STATIC_KINDS),
    Case("static-follow-exec", [SH, "-c", "./prog-glibc-static-pie one; ./prog-musl-static two; "
                                          "./prog-glibc-static three"],
         "dash starts static programs: --follow-exec starts each through vmseal run", files=("prog.c",),
         setup=build_static("glibc-static-pie", "musl-static", "glibc-static"), follow=True,
         programs=("dash", "prog-glibc-static-pie", "prog-musl-static", "prog-glibc-static")),
    Case("dash-script", ["/usr/bin/dash", "script.sh"], "POSIX script: functions, pipes, traps, coreutils",
         files=("script.sh",), follow=True, programs=("dash", "seq", "mawk", "sort", "uniq", "tr", "sed", "wc", "grep")),
    Case("bash-script", ["/usr/bin/bash", "script.bash"], "bash: arrays, process substitution, coproc bc, exit 3",
         files=("script.bash",), follow=True, programs=("bash", "bc", "diff", "sha256sum", "cut"),
         holes=("bc",)),
    Case("coreutils-sort", [SH, "-c", "seq 1 5000 | shuf --random-source=/dev/zero | sort -n | md5sum; "
                                      "seq 1 300 | sort -k1,1r -t, | head -3; printf 'b 2\\na 10\\nc 1\\n' | sort -k2,2n"],
         "seq, shuf, sort, md5sum, head", follow=True, programs=("seq", "shuf", "sort", "md5sum", "head")),
    Case("coreutils-ls", ["/usr/bin/ls", "-lAR", "--time-style=+%F %T", "tree"], "ls -lAR of a fixed tree",
         setup=make_tree, programs=("ls",)),
    Case("coreutils-misc", [SH, "-c", "sha256sum tree/top tree/c/three.dat; b2sum tree/a/one.txt; "
                                      "base64 tree/a/b/two.txt | head -2; od -A x -t x1z -N 32 tree/top; "
                                      "stat -c '%n %s %a %Y' tree/top; du -b tree | sort; wc tree/c/three.dat; "
                                      "date -u -d @1700000000 +%FT%T; cat /nonexistent; echo status $?"],
         "sha256sum, b2sum, base64, od, stat, du, wc, date; a failing cat", setup=make_tree, follow=True,
         programs=("sha256sum", "b2sum", "base64", "od", "stat", "du", "wc", "date", "cat")),
    Case("coreutils-fail", ["/usr/bin/ls", "/nonexistent", "tree"], "ls with a missing operand: exit 2, stderr",
         setup=make_tree, programs=("ls",)),
    Case("grep-sed-awk", [SH, "-c", "seq 1 3000 | grep -P '^(\\d)\\d*\\1$' | wc -l; "
                                    "grep -rn 'line 1 ' tree | sort | head -3; "
                                    "seq 1 20 | sed -n 's/^\\(1\\)\\([0-9]\\)$/\\2-\\1/p' | paste -sd,; "
                                    "seq 1 100 | awk '{s+=$1; if ($1%25==0) printf \"%d:%d \", $1, s} END {print NR}'"],
         "grep -P (PCRE2 JIT), grep -r, sed, mawk", setup=make_tree, follow=True,
         programs=("grep", "sed", "mawk", "paste")),
    Case("tar-xz-gzip", [SH, "-c", "tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner "
                                   "-cJf t.tar.xz tree && tar -tvJf t.tar.xz && xz -l t.tar.xz | tail -1 | wc -w && "
                                   "tar -xJf t.tar.xz -C x && diff -r tree x/tree && echo same && "
                                   "gzip -9n -c t.tar.xz | gunzip | cmp - t.tar.xz && echo gzip ok && "
                                   "bzip2 -c tree/top | bzcat | cmp - tree/top && zstd -q -c tree/top | zstd -dq | md5sum"],
         "tar through xz, gzip, bzip2, zstd; diff -r", setup=lambda w: (make_tree(w), os.mkdir(os.path.join(w, "x"))),
         follow=True, programs=("tar", "xz", "gzip", "bzip2", "zstd", "diff", "cmp")),
    Case("find-xargs", [SH, "-c", "find tree -type f -name '*.txt' -print0 | sort -z | xargs -0 wc -l; "
                                  "find tree -newermt @1600000000 -printf '%y %p %s\\n' | sort"],
         "find, xargs", setup=make_tree, follow=True, programs=("find", "xargs", "wc")),
    Case("python3-script", ["/usr/bin/python3", "script.py"],
         "python3: json, hashlib, sqlite3, ctypes callbacks, mmap, subprocess, threads; exit 6",
         files=("script.py",), follow=True, programs=("python3.11", "sort")),
    *(Case("python3-testsuite-" + half, ["/usr/bin/python3", "-m", "test", "-q"] + tests,
           "CPython's own tests: " + " ".join(tests), follow=True,
           stdout_filter=drop_lines(r"load avg:", r"^Total duration:", r"^\d+ slowest tests?:?$", r"^- test_\S+: "),
           programs=("python3.11",), timeout=240, cost=10, setup=need_python_tests)
      for half, tests in zip("ab", PY_TESTS)),
    Case("perl", ["/usr/bin/perl", "script.pl"], "perl: regexes, XS modules (Digest::SHA, POSIX, Storable, Encode)",
         files=("script.pl",), programs=("perl",)),
    Case("git", [SH, "-c", "git init -q -b main repo && cd repo && git config user.name T && git config user.email t@e && "
                           "cp ../script.pl a.pl && git add . && git commit -qm one && "
                           "sed -i 's/quick/slow/' a.pl && git commit -qam two && git checkout -qb side && "
                           "echo side > s.txt && git add s.txt && git commit -qm three && git checkout -q main && "
                           "git merge -q --no-edit side && git log --oneline --graph --all && git diff HEAD~2 --stat && "
                           "git show --stat HEAD~1 | tail -3 && git gc -q && git count-objects -v | grep -v size && "
                           "git fsck --strict 2>&1 && git rev-parse HEAD^{tree} && git status --short --branch"],
         "git: init, commit, branch, merge, log --graph, diff, gc (repack), fsck", files=("script.pl",), follow=True,
         programs=("git",), cost=2),
    Case("gcc", [SH, "-c", "gcc -O2 -Wall -o prog prog.c -lm && ./prog arg"],
         "gcc compiles a C program (cc1, as, collect2, ld) and runs it; exit 5", files=("prog.c",), follow=True,
         programs=("x86_64-linux-gnu-gcc-12", "cc1", "x86_64-linux-gnu-as", "collect2", "x86_64-linux-gnu-ld.bfd", "prog")),
    Case("g++", [SH, "-c", "g++ -O2 -Wall -pthread -o progxx prog.cpp && ./progxx"],
         "g++ compiles C++ (exceptions, threads, RTTI) and runs it", files=("prog.cpp",), follow=True, cost=4,
         programs=("x86_64-linux-gnu-g++-12", "cc1plus", "x86_64-linux-gnu-as", "x86_64-linux-gnu-ld.bfd", "progxx")),
    Case("make", ["/usr/bin/make", "CC=gcc"], "make builds and runs a two-file program", files=("Makefile",),
         follow=True, programs=("make", "x86_64-linux-gnu-gcc-12", "cc1", "app"), holes=("make",)),
    Case("sqlite3", [SH, "-c", "sqlite3 db.sqlite < query.sql; echo status $?; sqlite3 db.sqlite 'select count(*) from nums'"],
         "sqlite3: file database, recursive CTE, window functions, JSON, vacuum, an error (exit 1)",
         files=("query.sql",), follow=True, programs=("sqlite3",)),
    Case("openssl", [SH, "-c", "openssl version && printf secret > m && openssl dgst -sha256 -r m && "
                               "openssl dgst -md4 -provider legacy -provider default -r m && "
                               "openssl enc -aes-256-cbc -K 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f "
                               "-iv 0f0e0d0c0b0a09080706050403020100 -in m | od -An -tx1 && "
                               "openssl genpkey -algorithm ed25519 -out k.pem && openssl pkey -in k.pem -pubout -out p.pem && "
                               "openssl pkeyutl -sign -rawin -inkey k.pem -in m -out sig && "
                               "openssl pkeyutl -verify -rawin -pubin -inkey p.pem -in m -sigfile sig && "
                               "openssl req -x509 -new -key k.pem -subj /CN=vmseal -days 1 -out c.pem && "
                               "openssl x509 -in c.pem -noout -subject -issuer && "
                               "openssl kdf -keylen 16 -kdfopt digest:SHA256 -kdfopt pass:p -kdfopt salt:s "
                               "-kdfopt iter:1000 PBKDF2"],
         "openssl: digests (legacy provider via dlopen), AES, Ed25519 sign/verify, x509, PBKDF2", follow=True,
         programs=("openssl",)),
    Case("jq-bc-tcl", [SH, "-c", "echo '{\"a\":[3,1,2],\"b\":{\"c\":\"x\"}}' | jq -S '.a |= sort | .n = (.a | add)'; "
                                 "echo 'scale=60; 4*a(1)' | bc -l; tclsh script.tcl; echo tcl $?"],
         "jq (oniguruma), bc, tclsh", files=("script.tcl",), follow=True, programs=("jq", "bc", "tclsh8.6"),
         holes=("bc",)),
    Case("file-libmagic", ["/usr/bin/file", "-b", "prog.c", "script.pl", "page.html", "/usr/bin/ls", "/etc/passwd"],
         "file: libmagic's compiled database", files=("prog.c", "script.pl", "page.html"), programs=("file",)),
    Case("bash-no-follow", ["/usr/bin/bash", "-c", "/usr/bin/echo child one; /usr/bin/sort -r <<< $'a\\nb'"],
         "bash without --follow-exec: only bash is sealed (bash defines its own setenv/unsetenv)", programs=("bash",)),
    Case("ldd", ["/usr/bin/ldd", "/usr/bin/ls"], "ldd (a bash script that runs ld.so --list)", follow=True,
         stdout_filter=lambda t: re.sub(r" \(0x[0-9a-f]+\)", "", t), programs=("bash",)),
    Case("node-largepages", ["/usr/bin/node", "--use-largepages=on", "-e", "console.log(6 * 7)"],
         "node remapping its own text onto huge pages", programs=("node",), holes=("node",)),
    Case("node", ["/usr/bin/node", "-e", "const c=require('crypto'),z=require('zlib');"
                  "console.log(c.createHash('sha256').update('x').digest('hex'));"
                  "console.log(z.gunzipSync(z.gzipSync('sealed')).toString());"
                  "let s=0;for(let i=0;i<1e6;i++)s=(s+i*i)%1000003;console.log(s);"
                  "console.log(JSON.stringify([...'abc'].map(x=>x.charCodeAt(0))))"],
         "node (V8 JIT, OpenSSL, zlib)", programs=("node",), holes=("node",)),
    Case("go-gofmt", [GO_ROOT + "/bin/gofmt", "-s", "prog.go"], "gofmt -s (static Go) rewrites a Go file",
         files=("prog.go",), programs=("gofmt",)),
    Case("go-compile", [GO_TOOLS + "/compile", "-p", "main", "-c=4", "-S", "-o", "prog.a", "-importcfg", "importcfg",
                        "prog.go"], "Go's compiler (static Go, 4 back-end goroutines) compiles it, prints its assembly",
         files=("prog.go",), setup=go_importcfg, programs=("compile",)),
    Case("go-nm", [GO_TOOLS + "/nm", "-size", "-sort", "address", GO_ROOT + "/pkg/linux_amd64/net/http.a"],
         "go tool nm (static Go) lists the symbols of net/http's compiled package", programs=("nm",)),
    Case("chromium", ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--user-data-dir=@WORK@/profile", "--dump-dom", "file://@WORK@/page.html"],
         "headless Chromium renders a page whose JavaScript writes into the DOM", files=("page.html",),
         follow=True, stderr=False,  # Chromium logs pids, timestamps and D-Bus noise
         # /usr/bin/chromium is a dash script that execs the binary in the same
         # process, so the binary's report replaces the script's (same pid).
         programs=("chromium", "chrome_crashpad_handler", "uname", "grep"), holes=("chromium", "chrome_crashpad_handler"),
         timeout=45, cost=6),
]

# --- EXPECTED: documented incompatibilities (docs/compat.md) -----------------
@dataclasses.dataclass(frozen=True)
class Expected:
    """Without the fix the case fails with `symptom` (a regex over the failure
    details); with the fix (--opt-out globs and/or a --follow-exec setting) it
    passes. `probe`: where the case itself would only hang until its timeout,
    a quick variant of it that shows the same failure; `evidence`: a check of
    that run's reports that ties the failure to its documented cause (returns
    a problem, or None)."""
    summary: str
    symptom: str
    opt_out: tuple[str, ...] = ()
    follow: Optional[bool] = None
    probe: Optional[Callable[["Case"], "Case"]] = None
    evidence: Optional[Callable[[list[dict]], Optional[str]]] = None


def elf_section(path: str, name: str) -> Optional[tuple[int, int]]:
    """(address, size) of a section of an ELF64 little-endian file, or None."""
    with open(path, "rb") as f:
        ehdr = f.read(64)
        if ehdr[:4] != b"\x7fELF" or ehdr[4] != 2 or ehdr[5] != 1:
            return None
        shoff, = struct.unpack_from("<Q", ehdr, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ehdr, 0x3A)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        sh = [struct.unpack_from("<IIQQQQ", table, i * shentsize) for i in range(shnum)]
        f.seek(sh[shstrndx][4])
        names = f.read(sh[shstrndx][5])
    for sh_name, _type, _flags, addr, _offset, size in sh:
        if names[sh_name:names.index(b"\0", sh_name)] == name.encode():
            return addr, size
    return None


CHROMIUM_BINARY = "/usr/lib/chromium/chromium"


def chromium_single_process(case: "Case") -> "Case":
    """Under strict, the renderer's write to protected memory kills every zygote
    child and the browser waits forever (the full case would only time out).
    With --single-process the renderer runs in the browser process, which dies
    of the same SIGTRAP in well under a second."""
    return dataclasses.replace(case, argv=case.argv[:1] + ["--single-process"] + case.argv[1:], timeout=20)


def protected_memory_sealed(reports: list[dict]) -> Optional[str]:
    """Chromium's protected_memory section lies in a range its report calls
    sealed data: the mprotect(PROT_READ) that fails with EPERM is on it."""
    sec = elf_section(CHROMIUM_BINARY, "protected_memory")
    if sec is None:
        return "%s has no protected_memory section" % CHROMIUM_BINARY
    seen = 0
    for rep in reports:
        prog = program_of(rep)
        if not prog or prog.get("path") != CHROMIUM_BINARY or prog.get("verdict") != "sealed":
            continue
        seen += 1
        lo = int(prog["bias"], 16) + sec[0]
        hi = lo + sec[1]
        if not any(r.get("kind") == "data" and r.get("sealed") and int(r["start"], 16) <= lo
                   and hi <= int(r["end"], 16) for r in prog.get("ranges", [])):
            return "pid %s: protected_memory %x-%x is not in a sealed data range" % (rep.get("pid"), lo, hi)
    return None if seen else "no sealed %s in the reports" % CHROMIUM_BINARY


_LDD = Expected(
    "ldd lists libvmseal_preload.so: with --follow-exec, LD_PRELOAD reaches ld.so --list, which prints every "
    "preloaded object", r"stdout differs: .*libvmseal_preload\.so", follow=False)
_LARGEPAGES = Expected(
    "node --use-largepages=on maps anonymous memory over its own sealed text: mmap(MAP_FIXED) fails with EPERM, "
    "node warns on stderr and goes on with small pages",
    r"stderr differs: .*Hugepages WARNING: Operation not permitted", opt_out=("/usr/bin/node",))
EXPECTED: dict[str, dict[str, Expected]] = {
    "default": {"ldd": _LDD, "node-largepages": _LARGEPAGES},
    "strict": {
        "ldd": _LDD,
        "node-largepages": _LARGEPAGES,
        "chromium": Expected(
            "base::ProtectedMemory: mprotect(PROT_READ) of Chromium's protected_memory section (in its sealed "
            "data segment) fails with EPERM and the process dies of SIGTRAP (shown with --single-process; "
            "the full case would wait for its dead renderers until the timeout)",
            r"exit status: plain 0, sealed -5$", opt_out=(CHROMIUM_BINARY,),
            probe=chromium_single_process, evidence=protected_memory_sealed),
    },
}


def env_for(work: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": work, "TMPDIR": os.path.join(work, ".tmp"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC",
        "TERM": "dumb", "USER": "compat", "LOGNAME": "compat", "SHELL": "/bin/sh",
        "GIT_AUTHOR_DATE": "1700000000 +0000", "GIT_COMMITTER_DATE": "1700000000 +0000",
        "GIT_CONFIG_NOSYSTEM": "1", "SOURCE_DATE_EPOCH": "1700000000", "PYTHONDONTWRITEBYTECODE": "1",
    }


@dataclasses.dataclass
class Run:
    rc: Optional[int]
    out: str
    err: str
    secs: float
    timed_out: bool = False


def kill_strays(work: str) -> None:
    """Kills, by pid, what a run left behind outside its process group
    (Chromium's crashpad handler daemonizes): processes whose command line
    or working directory names this run's work directory."""
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmdline = f.read().decode("utf-8", "replace")
            cwd = os.readlink("/proc/%s/cwd" % d)
        except OSError:
            continue
        if work in cmdline or cwd == work or cwd.startswith(work + "/"):
            try:
                os.kill(int(d), signal.SIGKILL)
            except OSError:
                pass


def execute(argv: list[str], work: str, timeout: float) -> Run:
    os.makedirs(os.path.join(work, ".tmp"), exist_ok=True)
    argv = [a.replace("@WORK@", work) for a in argv]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=work, env=env_for(work), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        kill_strays(work)
        out, err = p.communicate()
        timed_out = True
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    kill_strays(work)
    return Run(p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
               time.monotonic() - t0, timed_out)


def load_reports(rdir: str) -> list[dict]:
    reports = []
    for f in sorted(glob.glob(os.path.join(rdir, "r-*.json"))):
        with open(f) as fh:
            try:
                reports.append(json.load(fh))
            except json.JSONDecodeError as e:
                reports.append({"_broken": "%s: %s" % (os.path.basename(f), e)})
    return reports


def program_of(rep: dict) -> Optional[dict]:
    return next((o for o in rep.get("objects", []) if o.get("role") == "program"), None)


@dataclasses.dataclass
class Check:
    problems: list[str]
    processes: int = 0
    sealed_bytes: int = 0
    unmapped_gaps: int = 0


def check_reports(case: Case, reports: list[dict], profile: str, opt_outs: list[str]) -> Check:
    c = Check([])
    if not reports:
        c.problems.append("no report was written: nothing was sealed (is the preload loaded?)")
        return c
    sealed_progs: set[str] = set()
    c.processes = len(reports)
    for rep in reports:
        if "_broken" in rep:
            c.problems.append("unreadable report " + rep["_broken"])
            continue
        prog = program_of(rep)
        where = "%s (pid %s)" % (os.path.basename(prog["path"]) if prog else "?", rep.get("pid"))
        if rep.get("mseal") != "available" or rep.get("dry_run") or rep.get("profile") != profile:
            c.problems.append("%s: report says mseal=%s dry_run=%s profile=%s" % (
                where, rep.get("mseal"), rep.get("dry_run"), rep.get("profile")))
        if not rep.get("sealed_before_main"):
            c.problems.append("%s: not sealed before main" % where)
        c.sealed_bytes += rep.get("sealed_bytes", 0)
        failing = [o for o in rep.get("objects", []) if any(r.get("error") for r in o.get("ranges", []))]
        for o in failing:
            errs = sorted({"%s %s" % (r["kind"], r["error"]) for r in o["ranges"] if r.get("error")})
            c.problems.append("%s: %s not sealed: %s" % (where, o["path"], ", ".join(errs)))
        # A hole the kernel's ELF loader left between a program's segments is
        # reported as an unmapped gap; nothing else may be reported unmapped.
        for o in rep.get("objects", []):
            for r in o.get("ranges", []):
                if r.get("mapped") is False:
                    c.unmapped_gaps += 1
                    if r.get("kind") != "gap" or r.get("sealed") or r.get("error"):
                        c.problems.append("%s: %s %s-%s reported unmapped: %s" % (
                            where, o["path"], r["start"], r["end"], json.dumps(r)))
        kfail = [k for k in rep.get("kernel_mappings", []) if k.get("error")]
        for k in kfail:
            c.problems.append("%s: kernel mapping %s not sealed: %s" % (where, k.get("name"), k.get("error")))
        if rep.get("failures", 0) != len(failing) + len(kfail):
            c.problems.append("%s: failures=%s but %d failing entries" % (where, rep.get("failures"),
                                                                          len(failing) + len(kfail)))
        if prog is None:
            c.problems.append("%s: no program object in the report" % where)
            continue
        name = os.path.basename(prog["path"])
        if prog.get("verdict") == "sealed" or (prog.get("verdict") == "opted-out" and opt_outs):
            sealed_progs.add(name)
        else:
            c.problems.append("%s: program verdict %r (%s)" % (where, prog.get("verdict"), prog.get("why")))
        if name in case.holes and prog.get("verdict") == "sealed" and not any(
                r.get("kind") == "gap" and r.get("mapped") is False for r in prog.get("ranges", [])):
            c.problems.append("%s: its image has holes between segments, but the report shows no unmapped gap" % where)
        if profile == "strict" and not any(k.get("sealed") for k in rep.get("kernel_mappings", [])):
            c.problems.append("%s: strict profile but no kernel mapping ([vdso], [vvar], [stack]) sealed" % where)
    if not case.follow and len(reports) > 1:
        first = min((r for r in reports if "pid" in r), key=lambda r: r["pid"], default=None)
        others = sorted({os.path.basename(program_of(r)["path"]) for r in reports
                         if r is not first and program_of(r)})
        c.problems.append("sealed without --follow-exec: %d more process(es): %s" % (len(reports) - 1,
                                                                                     ", ".join(others)))
    missing = [p for p in case.programs if p not in sealed_progs]
    if missing:
        c.problems.append("expected sealed processes missing: %s (sealed: %s)" % (
            ", ".join(missing), ", ".join(sorted(sealed_progs)) or "none"))
    return c


def first_diff(a: str, b: str) -> str:
    al, bl = a.splitlines(), b.splitlines()
    for i in range(max(len(al), len(bl))):
        x = al[i] if i < len(al) else "<end>"
        y = bl[i] if i < len(bl) else "<end>"
        if x != y:
            return "line %d: plain %r, sealed %r" % (i + 1, x[:160], y[:160])
    return "(no line differs; trailing newline?)"


@dataclasses.dataclass
class Result:
    name: str
    status: str            # PASS, FAIL, EXPECTED-FAIL
    line: str
    details: list[str]
    mismatches: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    reports: list[dict] = dataclasses.field(default_factory=list)


PRELOAD: list[str] = []  # ["--preload", PATH] when the driver was given one
# The plain run is the reference the sealed run is held to, and vmseal plays no
# part in it. When it is broken (a crash, a timeout, nothing on stdout: Chromium
# --single-process has died of SIGSEGV in its zygote under CI load), it runs
# again, up to this many times in all, and the result line says why. The sealed
# run never runs twice: whatever it does is the outcome.
PLAIN_ATTEMPTS = 3


def plain_broken(run: "Run") -> Optional[str]:
    if run.timed_out:
        return "timed out"
    if run.rc is not None and run.rc < 0:
        return "killed by signal %d" % -run.rc
    if not run.out.strip():
        return "nothing on stdout (exit %s)" % run.rc
    return None
VERBOSE = False


def run_case(case: Case, vmseal: str, base: str, profile: str, opt_outs: list[str]) -> Result:
    cdir = os.path.join(base, case.name)
    work = os.path.join(cdir, "w")
    rdir = os.path.join(cdir, "reports")
    os.makedirs(rdir)

    def prepare() -> None:
        os.makedirs(work)
        for f in case.files:
            shutil.copy(os.path.join(CASES_DIR, f), work)
        if case.setup:
            case.setup(work)

    if "@WORK@" not in case.argv[0] and not os.access(case.argv[0], os.X_OK):
        return Result(case.name, "FAIL", "%s is not installed (scripts/setup.sh installs it)" % case.argv[0], [])
    retried: list[str] = []
    try:
        for attempt in range(PLAIN_ATTEMPTS):
            prepare()
            plain = execute(case.argv, work, case.timeout)
            broken = plain_broken(plain)
            if broken is None or attempt + 1 == PLAIN_ATTEMPTS:
                break
            retried.append(broken)
            os.rename(work, os.path.join(cdir, "plain-broken-%d" % (attempt + 1)))  # kept with --keep
        os.rename(work, os.path.join(cdir, "plain"))  # the sealed run gets the same path, fresh
        prepare()
    except Exception as e:  # noqa: BLE001 - a setup problem is a failure, with its message
        return Result(case.name, "FAIL", "setup: %s" % e, [])
    cmd = [vmseal, "run", "--profile", profile, "--report", os.path.join(rdir, "r-%p.json")] + PRELOAD
    if case.follow:
        cmd.append("--follow-exec")
    # --opt-out right before "--" on purpose: `vmseal run --opt-out G -- PROG -x`
    # was once refused (the option took the program's dash-arguments for its own).
    for g in opt_outs:
        cmd += ["--opt-out", g]
    sealed = execute(cmd + ["--"] + case.argv, work, case.timeout)
    reports = load_reports(rdir)
    chk = check_reports(case, reports, profile, opt_outs)

    s_err = sealed.err
    norm = case.stdout_filter or (lambda t: t)
    mism: list[str] = []
    if plain.timed_out or sealed.timed_out:
        mism.append("timed out after %ss (plain %s, sealed %s)" % (case.timeout, plain.timed_out, sealed.timed_out))
    if plain.rc != sealed.rc:
        mism.append("exit status: plain %s, sealed %s" % (plain.rc, sealed.rc))
    if norm(plain.out) != norm(sealed.out):
        mism.append("stdout differs: " + first_diff(norm(plain.out), norm(sealed.out)))
    if case.stderr and plain.err != s_err:
        mism.append("stderr differs: " + first_diff(plain.err, s_err))
    if not plain.out.strip():
        mism.append("the plain run printed nothing on stdout: the case is broken")

    line = "plain rc=%s %.1fs | sealed rc=%s %.1fs, %d process(es), %.1f MiB sealed" % (
        plain.rc, plain.secs, sealed.rc, sealed.secs, chk.processes, chk.sealed_bytes / 1048576)
    if chk.unmapped_gaps:
        line += ", %d unmapped gap(s)" % chk.unmapped_gaps
    if retried:
        line += " | plain run retried after: " + "; ".join(retried)
    if mism or chk.problems:
        status, details = "FAIL", mism + chk.problems
    else:
        status, details = "PASS", []
    if status == "FAIL" or VERBOSE:
        details.append("plain stderr tail: %r" % plain.err[-300:])
        details.append("sealed stderr tail: %r" % sealed.err[-300:])
    return Result(case.name, status, line, details, mism, chk.problems, reports)


def expected_case(case: Case, vmseal: str, base: str, profile: str) -> list[Result]:
    """A case, or for a documented incompatibility: the case, or its quick
    probe, which must fail as documented and seal everything as planned, and
    the case with its fix, which must pass."""
    doc = EXPECTED[profile].get(case.name)
    if doc is None:
        return [run_case(case, vmseal, base, profile, [])]
    shown_by = doc.probe(case) if doc.probe else case
    bare = run_case(shown_by, vmseal, base, profile, [])
    shown = bare.status == "FAIL" and not bare.problems and any(re.search(doc.symptom, m) for m in bare.mismatches)
    problem = doc.evidence(bare.reports) if shown and doc.evidence else None
    if shown and problem is None:
        extra = [a for a in shown_by.argv if a not in case.argv]
        bare = Result(case.name, "EXPECTED-FAIL", bare.line + (" | run with " + " ".join(extra) if extra else "") +
                      " | documented: " + doc.summary, [])
    else:
        bare.details.insert(0, "expected the documented failure /%s/%s, got %s: update docs/compat.md and "
                            "EXPECTED" % (doc.symptom, " with a complete seal" if bare.problems else "",
                                          bare.status))
        if problem:
            bare.details.insert(1, "the documented cause is not confirmed by the reports: " + problem)
        bare.status = "FAIL"
    fcase = dataclasses.replace(case, name=case.name + "+fix",
                                follow=case.follow if doc.follow is None else doc.follow)
    fixed = run_case(fcase, vmseal, base, profile, list(doc.opt_out))
    how = ["--opt-out " + g for g in doc.opt_out]
    if doc.follow is not None:
        how.append("--follow-exec" if doc.follow else "without --follow-exec")
    fixed.line += " | fix: " + " ".join(how)
    return [bare, fixed]


def inspect_cross_check(vmseal: str, base: str, profile: str) -> Result:
    """Independent of the report: `vmseal inspect` reads the smaps of a live
    sealed python3; what the report calls sealed must be sealed there, and
    what inspect says should be sealed must be, or the report says why not."""
    rdir = os.path.join(base, "inspect")
    os.makedirs(rdir)
    rpath = os.path.join(rdir, "r.json")
    p = subprocess.Popen([vmseal, "run", "--profile", profile, "--report", rpath] + PRELOAD +
                         ["--", "/usr/bin/python3", "-c", "import sys, zlib, json; sys.stdin.read()"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env_for(rdir))
    details: list[str] = []
    line = "inspect did not run"
    try:
        for _ in range(400):  # the report is written before main
            if os.path.exists(rpath) or p.poll() is not None:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # python3 goes on to import json's C module after main: dlopen, sealed or not
        q = subprocess.run([vmseal, "inspect", str(p.pid), "--json"], capture_output=True, text=True, timeout=60)
        with open(rpath) as fh:
            rep = json.load(fh)
        if q.returncode != 0:
            details.append("vmseal inspect %d exited %d: %s" % (p.pid, q.returncode, q.stderr.strip()[:300]))
        else:
            maps = json.loads(q.stdout).get("mappings", [])
            claimed = [(int(r["start"], 16), int(r["end"], 16), o["path"]) for o in rep["objects"]
                       for r in o["ranges"] if r.get("sealed")]
            for lo, hi, path in claimed:
                inside = [m for m in maps if m["start"] < hi and m["end"] > lo]
                if not inside or not all(m.get("sealed") for m in inside):
                    details.append("the report says %s %x-%x is sealed; smaps disagrees" % (path, lo, hi))
            # Left alone on purpose, and said so in the report: objects dlopen'ed
            # without RTLD_NODELETE (python's extension modules), and ranges not
            # planned (ld.so's __stack_prot page, which inspect does not know about).
            may_unload = {o["path"] for o in rep["objects"] if o["verdict"] == "may-unload"}
            left = [(int(r["start"], 16), int(r["end"], 16)) for o in rep["objects"] for r in o["ranges"]
                    if not r.get("planned")]
            unsealed = [m for m in maps if m.get("should_seal") and not m.get("sealed")
                        and m.get("name") not in may_unload
                        and not any(lo < m["end"] and hi > m["start"] for lo, hi in left)]
            if not any(m.get("sealed") for m in maps if m.get("name", "").endswith("/python3.11")):
                details.append("python3.11's own image is not sealed according to inspect")
            if unsealed:
                details.append("inspect finds %d mapping(s) that should be sealed and are not, e.g. %s" % (
                    len(unsealed), {k: unsealed[0].get(k) for k in ("name", "kind", "perms", "note")}))
            line = "%d mappings, %d sealed; %d report ranges confirmed in smaps, %d may-unload object(s)" % (
                len(maps), sum(1 for m in maps if m.get("sealed")), len(claimed), len(may_unload))
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        details.append("inspect cross-check: %s" % e)
    finally:
        try:
            p.communicate(b"", timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
    if p.returncode != 0:
        details.append("the sealed python3 exited %s" % p.returncode)
    return Result("inspect-cross-check", "FAIL" if details else "PASS", line, details)


def self_test(vmseal: str, profile: str) -> int:
    """The harness's own rules, on two synthetic cases: a reference (plain) run
    that crashes once is retried and the case passes, saying so; one that
    always crashes is retried PLAIN_ATTEMPTS times and the case fails."""
    base = tempfile.mkdtemp(prefix="vmseal-compat-self-")
    # The work directory is BASE/NAME/w, so ../flag is per case and outlives a try.
    once = Case("crashes-once", [SH, "-c", "[ -e ../flag ] || { : > ../flag; kill -SEGV $$; }; echo ok"],
                "crashes the first time it runs", programs=("dash",))
    always = Case("plain-always-crashes", [SH, "-c", "grep -q libvmseal_preload /proc/$$/maps || kill -SEGV $$; "
                  "echo ok"], "crashes whenever it runs without vmseal", programs=("dash",))
    problems: list[str] = []
    try:
        r = run_case(once, vmseal, base, profile, [])
        print("%-24s %-13s %s" % (r.name, r.status, r.line))
        if r.status != "PASS" or "retried after: killed by signal 11" not in r.line:
            problems.append("crashes-once: want PASS with one retry after signal 11, got %s: %s %s"
                            % (r.status, r.line, r.details))
        r = run_case(always, vmseal, base, profile, [])
        print("%-24s %-13s %s" % (r.name, r.status, r.line))
        tries = len(glob.glob(os.path.join(base, always.name, "plain-broken-*")))
        if r.status != "FAIL" or tries != PLAIN_ATTEMPTS - 1 or not any(
                m.startswith("exit status: plain -11, sealed 0") for m in r.mismatches):
            problems.append("plain-always-crashes: want FAIL after %d plain runs, got %s after %d: %s"
                            % (PLAIN_ATTEMPTS, r.status, tries + 1, r.mismatches))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for p in problems:
        print("FAIL: " + p)
    print("compat self-test: %s" % ("FAILED" if problems else "2 checks passed"))
    return 1 if problems else 0


def main() -> int:
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("vmseal", help="the vmseal binary (its libvmseal_preload.so is found beside it)")
    ap.add_argument("--profile", choices=("default", "strict"), default="default")
    ap.add_argument("--only", action="append", default=[], help="run only this case (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("-v", "--verbose", action="store_true", help="stderr tails for every case")
    ap.add_argument("--keep", action="store_true", help="keep the work directories and reports")
    ap.add_argument("--preload", help="pass --preload LIB to vmseal run (to try a modified preload)")
    ap.add_argument("--self-test", action="store_true",
                    help="check the harness's own retry rule on two synthetic cases, then exit")
    ap.add_argument("--go-dir", help="also run the project's Go programs built there (tests/go/churn)")
    args = ap.parse_args()
    VERBOSE = args.verbose
    if args.go_dir:
        CASES.extend(go_built_cases(os.path.abspath(args.go_dir)))
    if args.list:
        for c in CASES:
            doc = EXPECTED[args.profile].get(c.name)
            print("%-18s %s" % (c.name, c.what))
            if c.holes:
                print("%18s  holes between segments (unmapped gaps): %s" % ("", " ".join(c.holes)))
            if doc:
                print("%18s  %s: %s" % ("", args.profile, doc.summary))
        return 0
    vmseal = os.path.abspath(args.vmseal)
    if not os.access(vmseal, os.X_OK):
        print("run_compat: %s is not an executable" % vmseal, file=sys.stderr)
        return 2
    if args.preload:
        PRELOAD[:] = ["--preload", os.path.abspath(args.preload)]
    unknown = set(args.only) - {c.name for c in CASES}
    if unknown:
        print("run_compat: no such case: %s (see --list)" % ", ".join(sorted(unknown)), file=sys.stderr)
        return 2
    chk = subprocess.run([vmseal, "check"], capture_output=True, text=True)
    if chk.returncode == 5:
        print("SKIP: mseal is not available here (`vmseal check` exited 5): nothing was tested.\n" +
              chk.stdout + chk.stderr)
        return SKIP
    if chk.returncode != 0:
        print("run_compat: `vmseal check` exited %d:\n%s%s" % (chk.returncode, chk.stdout, chk.stderr))
        return 1
    if args.self_test:
        return self_test(vmseal, args.profile)
    cases = [c for c in CASES if not args.only or c.name in args.only]

    base = tempfile.mkdtemp(prefix="vmseal-compat-")
    t0 = time.monotonic()
    results: list[Result] = []
    lock = threading.Lock()
    print("vmseal compat: %d case(s), profile %s, %s%s" % (len(cases), args.profile, vmseal,
                                                           ", preload " + args.preload if args.preload else ""))
    sys.stdout.flush()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            # The costly ones first, so the jobs finish together.
            order = sorted(cases, key=lambda c: -c.cost)
            futs = [pool.submit(expected_case, c, vmseal, base, args.profile) for c in order]
            if not args.only:
                futs.append(pool.submit(lambda: [inspect_cross_check(vmseal, base, args.profile)]))
            for f in concurrent.futures.as_completed(futs):
                with lock:
                    for r in f.result():
                        print("%-24s %-13s %s" % (r.name, r.status, r.line))
                        for d in r.details:
                            print("    " + d)
                        results.append(r)
                    sys.stdout.flush()
    finally:
        if args.keep:
            print("work directories kept in " + base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    bad = counts.get("FAIL", 0)
    print("compat %s: %d checks in %.0fs: %s" % (args.profile, len(results), time.monotonic() - t0, ", ".join(
        "%d %s" % (n, s) for s, n in sorted(counts.items()))))
    if bad:
        print("FAILED: " + ", ".join(r.name for r in results if r.status == "FAIL"))
    print("%d passed, %d failed" % (len(results) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
