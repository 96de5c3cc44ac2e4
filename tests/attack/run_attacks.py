#!/usr/bin/python3
"""The attack suite's driver (ctest: attack.suite).

Runs tests/attack/victim.c, built several ways (VICTIMS: the dynamic PIE the
preload seals, and static programs `vmseal run` seals through ptrace), each
several times:
  without vmseal   the control: every attack must SUCCEED here (with the
                   program's own config read-only but unsealed), otherwise an
                   EPERM under vmseal would prove nothing about the seal;
  vmseal default   `vmseal run --profile default`: code, rodata, RELRO, the
                   gaps, ld.so and the frozen config must refuse with EPERM;
                   writable data, the stack and [vdso] are not sealed;
  vmseal strict    `vmseal run --profile strict`: data, the stack and [vdso]
                   refuse too;
and with the RELRO and text choices of `vmseal run`.
The kernel gap (MADV_DONTNEED on sealed private file mappings: RELRO) must
succeed in the runs with file-backed RELRO with its consequence shown: the
relocated pointer reads back as the file's unrelocated value. An attack that
does not apply to a victim (no loader in a static program) is reported "n/a"
with the victim's own reason. Then the anonymous-RELRO probe
(tests/attack/anon_relro_probe.c) checks the countermeasure described in
docs/attacks.md.

Usage: run_attacks.py --vmseal VMSEAL --victim NAME=PATH [--victim NAME=PATH]...
(a bare PATH is the dynamic victim). A victim of VICTIMS given no PATH, or an
empty one, is not built here (no musl-gcc): said, not failed.

Exit status: 0 every expectation met; 1 one was not (or a run failed);
2 usage; 77 skipped (mseal unavailable: `vmseal check` exits 5; not Linux
x86-64).
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

SKIP = 77
OK = "OK"
EPERM = "EPERM"
# The runs: the control, the two profiles with the defaults, and the RELRO
# and text choices of `vmseal run` (docs/run.md) under the default profile.
RUNS = ("native", "default", "strict", "relro-file", "relro-memfd", "text-anon")
RUN_TITLES = {"native": "without vmseal", "default": "vmseal default", "strict": "vmseal strict",
              "relro-file": "--relro file", "relro-memfd": "--relro memfd", "text-anon": "--text anon"}
RUN_ARGS = {"default": ["--profile", "default"], "strict": ["--profile", "strict"],
            "relro-file": ["--relro", "file"], "relro-memfd": ["--relro", "memfd"], "text-anon": ["--text", "anon"]}
# Runs whose RELRO is still a file mapping, so a discard reverts it.
FILE_RELRO = ("native", "relro-file")

# The victims: the same victim.c built each way `vmseal run` seals a program.
#   runs_left_out   runs not made of it, and why;
#   not_applicable  attacks with no target in it: its control run must SKIP
#                   them (the victim's reason is printed), any other SKIP fails;
#   file_relro      what a discard of its RELRO shows where RELRO is still the
#                   file's mapping (the control run, --relro file), where that
#                   differs from the dynamic victim's: a program that is not
#                   position-independent holds final words in the file (only
#                   glibc's IRELATIVE slots are written at start-up, and revert
#                   to 0: calling through them crashes), and musl's snprintf
#                   calls through no RELRO pointer, so nothing planted runs.
# Another way of building it is one more entry here and one more
# `--victim NAME=PATH` in tests/CMakeLists.txt.
STATIC_NOT_APPLICABLE = ("munmap-ldso", "mmap-fixed-segment-gap", "mprotect-segment-gap-rwx",
                         "discard-ldso-relro-dontneed", "discard-ldso-relro-dontneed-locked",
                         "discard-ldso-relro-guard")
STATIC_RUNS_LEFT_OUT = {"relro-memfd": "not offered for a static program (`vmseal run` makes its RELRO anon)"}
RELRO_DISCARDS = ("madvise-dontneed-libc-relro",) + tuple(
    f"discard-{obj}-relro-{adv}" for obj in ("prog", "libc") for adv in ("dontneed", "dontneed-locked", "guard"))
VICTIMS = {
    "dynamic": {"title": "dynamic PIE, sealed by the preload", "runs_left_out": {}, "not_applicable": (),
                "file_relro": {}},
    "glibc-static": {"title": "glibc -static, sealed through ptrace", "runs_left_out": STATIC_RUNS_LEFT_OUT,
                     "not_applicable": STATIC_NOT_APPLICABLE,
                     "file_relro": {"madvise-dontneed-prog-relro": OK + "/kept",
                                    "madvise-dontneed-libc-relro-hijack": OK + "/crashed"}},
    "glibc-static-pie": {"title": "glibc -static-pie, sealed through ptrace", "runs_left_out": STATIC_RUNS_LEFT_OUT,
                         "not_applicable": STATIC_NOT_APPLICABLE, "file_relro": {}},
    "musl-static": {"title": "musl -static, sealed through ptrace", "runs_left_out": STATIC_RUNS_LEFT_OUT,
                    "not_applicable": STATIC_NOT_APPLICABLE,
                    "file_relro": {a: OK + "/kept" for a in RELRO_DISCARDS + (
                        "madvise-dontneed-prog-relro", "madvise-dontneed-libc-relro-hijack")}},
    "musl-static-pie": {"title": "musl static-pie, sealed through ptrace", "runs_left_out": STATIC_RUNS_LEFT_OUT,
                        "not_applicable": STATIC_NOT_APPLICABLE,
                        "file_relro": {"madvise-dontneed-libc-relro-hijack": OK + "/kept"}},
}


def victim_runs(victim):
    return tuple(r for r in RUNS if r not in victim["runs_left_out"])

# Cells are the call's result, and for the rows judged by effect a suffix:
#   /reverted  the words read back changed (to the file's unrelocated ones)
#   /kept      the call was accepted or refused and every word is unchanged
#   /ran       code the attacker planted at the object's address ran
#   /crashed   the program crashed calling through what the discard left
#   /hole-kept the child had no hole to fill
#   /faulted   the next read of the page faulted
# "=" repeats the default run's expectation.


def row(expected_default, strict=None, native=OK, file="=", memfd="=", text="="):
    return {"native": native, "default": expected_default, "strict": strict or expected_default,
            "relro-file": file, "relro-memfd": memfd, "text-anon": text}


E_ALL = row(EPERM)
E_STRICT = row(OK, strict=EPERM)
# id -> (what it means, expectations, optional)
# optional: the target may be absent here (no PKU syscall, no gap, built
# without the API): SKIP or ENOSYS in the control run makes the row "n/a".
ATTACKS = [
    ("mprotect-libc-text-rwx", "make a libc code page writable (patch code)", E_ALL, False),
    ("pkey_mprotect-libc-text-rwx", "the same through pkey_mprotect (pkey -1)", E_ALL, True),
    ("mprotect-prog-text-rwx", "make the program's own code writable", E_ALL, False),
    ("mmap-fixed-libc-text", "map fresh RWX memory over a libc code page", E_ALL, False),
    ("munmap-libc-text", "unmap a libc code page (then map something there)", E_ALL, False),
    ("munmap-ldso", "unmap the whole dynamic loader", E_ALL, False),
    ("mremap-move-libc-text", "move a libc code page elsewhere (MREMAP_FIXED)", E_ALL, False),
    ("mremap-grow-libc-text", "grow a libc code page (MREMAP_MAYMOVE)", E_ALL, False),
    ("mremap-shrink-libc-text", "shrink two libc code pages to one", E_ALL, False),
    ("mmap-fixed-prog-relro", "map writable memory over the program's RELRO (GOT)", E_ALL, False),
    ("mmap-fixed-libc-relro", "map writable memory over libc's RELRO (GOT)", E_ALL, False),
    ("mprotect-prog-relro-rw", "make the program's RELRO writable (GOT overwrite)", E_ALL, False),
    ("mprotect-libc-relro-rw", "make libc's RELRO writable (GOT overwrite)", E_ALL, False),
    ("mmap-fixed-segment-gap", "map RWX memory into a PROT_NONE gap between segments", E_ALL, True),
    ("mprotect-segment-gap-rwx", "make a gap between segments RWX", E_ALL, True),
    ("madvise-dontneed-config-sealed-alloc", "discard the frozen config (vmseal_sealed_alloc/freeze)", E_ALL, True),
    ("madvise-dontneed-config-freeze", "discard the frozen config (mmap + vmseal_freeze)", E_ALL, False),
    ("mprotect-config-rw", "make the frozen config writable again", E_ALL, False),
    ("munmap-config", "unmap the frozen config (then map a forged one)", E_ALL, False),
    ("mprotect-data-none", "mprotect the program's .data PROT_NONE", E_STRICT, False),
    ("mprotect-data-rwx", "make the program's .data executable", E_STRICT, False),
    ("mprotect-stack-rwx", "make [stack] executable", E_STRICT, False),
    ("munmap-vdso", "unmap [vdso]", E_STRICT, False),
    # RELRO discards: closed by the anonymous copy (the default), without effect
    # on a memfd copy, the old kernel gap with --relro file.
    ("madvise-dontneed-prog-relro", "discard the program's sealed RELRO, call through it",
     row(EPERM, native=OK + "/reverted", file=OK + "/reverted", memfd=OK + "/kept"), False),
    ("madvise-dontneed-libc-relro", "discard libc's sealed RELRO",
     row(EPERM, native=OK + "/reverted", file=OK + "/reverted", memfd=OK + "/kept"), False),
    ("madvise-dontneed-libc-relro-hijack", "discard it, map code low, call snprintf (code execution)",
     row(EPERM, native=OK + "/ran", file=OK + "/ran", memfd=OK + "/kept"), True),
] + [
    (f"discard-{obj}-relro-{adv}", f"{what} on {name}'s sealed RELRO, words compared",
     row(EPERM + "/kept", native=OK + "/reverted", file=OK + "/reverted", memfd=OK + "/kept"), False)
    for obj, name in (("prog", "the program"), ("libc", "libc"), ("ldso", "ld.so"))
    for adv, what in (("dontneed", "MADV_DONTNEED"), ("dontneed-locked", "MADV_DONTNEED_LOCKED"),
                      ("guard", "MADV_GUARD_INSTALL + REMOVE"))
] + [
    ("dontfork-libc-relro-fill", "MADV_DONTFORK on libc's RELRO, fork, fill the child's hole, run it",
     row(EPERM + "/hole-kept", native=OK + "/ran", file=OK + "/ran", memfd=OK + "/ran"), False),
    # userfaultfd: a private mapping of a shmem file (the memfd copy) takes
    # UFFDIO_COPY after a discard: chosen bytes in sealed RELRO. A file on
    # ext4 cannot be registered (EINVAL); the anonymous copy refuses the
    # discard, so the copy finds the page present (EPERM first).
    ("uffd-write-libc-relro", "userfaultfd: register libc's RELRO, discard it, UFFDIO_COPY chosen bytes",
     row(EPERM + "/kept", native="EINVAL/kept", file="EINVAL/kept", memfd=OK + "/written"), False),
    # Known gaps of Linux 6.18 on sealed *file* mappings (docs/attacks.md):
    # closed only by --text anon.
    ("dontfork-libc-text-fill", "KNOWN GAP: MADV_DONTFORK on libc's sealed text, fork, fill the hole, run it",
     row(OK + "/ran", native=OK + "/ran", text=EPERM + "/hole-kept"), False),
    ("guard-install-libc-text", "KNOWN GAP: MADV_GUARD_INSTALL on libc's sealed text (denial of service)",
     row(OK + "/faulted", native=OK + "/faulted", text=EPERM), False),
]
# The Go victim (tests/go/victim), in its static, pie and cgo builds: RELRO
# rows apply where the build has RELRO (pie, cgo), the gap rows where its
# segments leave holes (built with -R 0x10000). The kernel leaves those
# holes unmapped (mprotect: ENOMEM); vmseal reserves them PROT_NONE and seals.
GO_ATTACKS = [
    ("mprotect-prog-text-rwx", "make the program's own code writable", E_ALL, False),
    ("pkey_mprotect-prog-text-rwx", "the same through pkey_mprotect (pkey -1)", E_ALL, True),
    ("mmap-fixed-prog-text", "map fresh RWX memory over a code page", E_ALL, False),
    ("munmap-prog-text", "unmap a code page (then map something there)", E_ALL, False),
    ("mremap-move-prog-text", "move a code page elsewhere (MREMAP_FIXED)", E_ALL, False),
    ("mremap-grow-prog-text", "grow a code page (MREMAP_MAYMOVE)", E_ALL, False),
    ("mremap-shrink-prog-text", "shrink two code pages to one", E_ALL, False),
    ("mprotect-prog-rodata-rw", "make read-only data writable", E_ALL, False),
    ("mmap-fixed-prog-rodata", "map writable memory over read-only data", E_ALL, False),
    ("munmap-prog-rodata", "unmap a page of read-only data", E_ALL, False),
    ("mmap-fixed-prog-relro", "map writable memory over RELRO", E_ALL, True),
    ("mprotect-prog-relro-rw", "make RELRO writable and write a pointer", E_ALL, True),
] + [
    (f"discard-prog-relro-{adv}", f"{what} on the program's sealed RELRO, words compared",
     row(EPERM + "/kept", native=OK + "/reverted", file=OK + "/reverted"), True)
    for adv, what in (("dontneed", "MADV_DONTNEED"), ("dontneed-locked", "MADV_DONTNEED_LOCKED"),
                      ("guard", "MADV_GUARD_INSTALL + REMOVE"))
] + [
    ("mmap-fixed-segment-gap", "map RWX memory into a hole between segments", E_ALL, True),
    ("mprotect-segment-gap-rwx", "make a hole between segments RWX", row(EPERM, native="ENOMEM"), True),
    ("mprotect-data-none", "mprotect the program's data PROT_NONE", E_STRICT, False),
    ("mprotect-data-rwx", "make the program's data executable", E_STRICT, False),
    ("mprotect-stack-rwx", "make [stack] executable", E_STRICT, False),
    ("munmap-vdso", "unmap [vdso]", E_STRICT, False),
    ("discard-prog-text-dontneed", "KNOWN GAP: MADV_DONTNEED on sealed file-backed text (read back unchanged)",
     row(OK + "/kept", native=OK + "/kept", text=EPERM + "/kept"), False),
]
# The Go victims: tests/go/victim, its own attacks, the same output lines.
VICTIMS.update({
    "go-static": {"title": "Go, CGO_ENABLED=0, sealed through ptrace", "attacks": GO_ATTACKS,
                  "runs_left_out": STATIC_RUNS_LEFT_OUT, "not_applicable": (), "file_relro": {}},
    "go-pie": {"title": "Go -buildmode=pie, sealed through ptrace", "attacks": GO_ATTACKS,
               "runs_left_out": STATIC_RUNS_LEFT_OUT, "not_applicable": (), "file_relro": {}},
    "go-cgo": {"title": "Go with cgo, linked by gcc, sealed by the preload", "attacks": GO_ATTACKS,
               "runs_left_out": STATIC_RUNS_LEFT_OUT, "not_applicable": (), "file_relro": {}},
})
CONFIG_MAGIC = 0x76736561


def expected_cell(expectations, run):
    e = expectations[run]
    return expectations["default"] if e == "=" else e


def effect_cell(attack_id, run, got, fields_of):
    """The result, with the effect for the rows that are judged by it."""
    result = got["result"]
    if result.startswith("SKIP") or result.startswith("CRASH"):
        return result
    f = fields_of
    if attack_id.startswith("discard-"):
        m = re.match(r"(\d+)/(\d+)", f.get("words_changed", ""))
        changed = int(m.group(1)) if m else -1
        if "guard_remove_failed" in got["detail"]:
            return result + "/guard-stuck"
        return result + ("/reverted" if changed > 0 else "/kept" if changed == 0 else "/?")
    if attack_id == "madvise-dontneed-libc-relro":
        m = re.match(r"(\d+)/(\d+)", f.get("words_reverted", ""))
        if result == OK:
            return result + ("/reverted" if m and int(m.group(1)) > 0 else "/kept")
        return result
    if attack_id == "madvise-dontneed-prog-relro":
        if result == OK:
            before, after = (int(f.get(k, "0"), 16) for k in ("before", "after"))
            return result + ("/kept" if before == after else "/reverted")
        return result
    if attack_id == "madvise-dontneed-libc-relro-hijack":
        if result == OK:
            then = f.get("then", "")
            return result + ("/ran" if then == "exit42" else "/crashed" if then.startswith("SIG") else "/kept")
        return result
    if attack_id.startswith("uffd-"):
        return result + ("/written" if f.get("written") == "yes" else "/kept")
    if attack_id.startswith("dontfork-"):
        then = f.get("then")
        return result + ("/ran" if then == "exit42" else "/hole-kept" if then == "exit3" else f"/{then}")
    if attack_id == "guard-install-libc-text" and result == OK:
        return result + ("/faulted" if f.get("then") == "SIGSEGV" else f"/{f.get('then')}")
    return result


def fields(detail):
    return dict(kv.split("=", 1) for kv in detail.split() if "=" in kv)


def parse_victim(out):
    attacks, info = {}, []
    for line in out.splitlines():
        parts = line.split("\t")
        if parts[0] == "ATTACK" and len(parts) >= 4:
            attacks[parts[1]] = {
                "result": parts[2],
                "sealed": parts[3].removeprefix("sealed="),
                "detail": parts[4] if len(parts) > 4 else "",
            }
        elif parts[0] == "INFO":
            info.append(" ".join(parts[1:]))
    return attacks, info


def clean_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    for k in list(env):
        if k.startswith("VMSEAL_"):
            del env[k]
    return env


def run(cmd, timeout=120):
    try:
        p = subprocess.run(cmd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", f"timed out after {timeout}s"
    return p.returncode, p.stdout, p.stderr


def run_victim(vmseal, name, path, tmp, verbose):
    """Runs one victim once per run; returns results, commands and failures."""
    failures, results, commands = [], {}, {}
    for run_name in victim_runs(VICTIMS[name]):
        report = os.path.join(tmp, f"{name}.{run_name}.json")
        if run_name == "native":
            commands[run_name] = [path, "--no-app-seal"]
        else:
            commands[run_name] = [vmseal, "run", *RUN_ARGS[run_name], "--report", report, "--", path]
        rc, out, err = run(commands[run_name])
        title = f"{name}, {RUN_TITLES[run_name]}"
        if verbose or rc != 0 or "DONE" not in out.splitlines():
            print(f"--- {title}: {' '.join(commands[run_name])} (exit {rc})")
            print(out, end="")
            print(err, end="", file=sys.stderr)
        if rc != 0 or "DONE" not in out.splitlines():
            failures.append(f"{title}: the victim did not finish (exit {rc})")
        results[run_name], _ = parse_victim(out)
        if run_name != "native":
            failures += check_report(run_name, report, title)
    return results, commands, failures


def check_report(name, path, title):
    """The run's --report must say sealed before main, nothing failed, and
    RELRO copied as the run asked."""
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{title}: no usable --report ({e})"]
    failures = []
    if not report.get("sealed_before_main"):
        failures.append(f"{title}: the report says the program was not sealed before main")
    if report.get("failures", 0) != 0:
        bad = [f"{o.get('path')} {r.get('kind')} {r.get('start')}-{r.get('end')}: {r.get('error')}"
               for o in report.get("objects", []) for r in o.get("ranges", []) if r.get("error")]
        failures.append(f"{title}: {report['failures']} range(s) could not be sealed: " + "; ".join(bad))
    want = "file" if name == "relro-file" else "memfd" if name == "relro-memfd" else "anon"
    if report.get("relro") != want:
        failures.append(f"{title}: the report says RELRO {report.get('relro')!r}, expected {want!r}")
    backed = [f"{o.get('path')} {r.get('start')}: {r.get('backing')}" for o in report.get("objects", [])
              for r in o.get("ranges", []) if r.get("kind") == "relro" and r.get("sealed")
              and r.get("backing") != want]
    if backed:
        failures.append(f"{title}: sealed RELRO not made {want}: " + "; ".join(backed))
    return failures


def expectations_for(victim, attack_id, expectations):
    """The row's expectations for this victim (VICTIMS' file_relro)."""
    cell = victim["file_relro"].get(attack_id)
    if cell is None:
        return expectations
    return {**expectations, **{r: cell for r in FILE_RELRO}}


def check_row(attack_id, expectations, got, cells, commands, runs):
    """Compares one row with its expectations; returns its failures."""
    failures = []
    for r in runs:
        exp = expected_cell(expectations, r)
        if cells[r] == exp:
            continue
        if r == "native":
            failures.append(f"{attack_id}: the control run gives {cells[r]}, not {exp}: the attack fails even "
                            f"without the seal, so the test would prove nothing")
        elif exp.startswith(EPERM) and cells[r].startswith(OK):
            failures.append(f"{attack_id}: SUCCEEDED under {RUN_TITLES[r]} ({cells[r]}, expected {exp}): a real "
                            f"hole; smaps said sealed={got[r]['sealed']}; {got[r]['detail']}; "
                            f"reproduce: {' '.join(commands[r])}")
        else:
            failures.append(f"{attack_id}: {RUN_TITLES[r]} gives {cells[r]}, expected {exp}"
                            + (f" (smaps: sealed={got[r]['sealed']}; {got[r]['detail']})" if got[r] else ""))
    if failures:
        return failures
    # Sealing must be what refused: the target is sealed where EPERM is
    # expected and not sealed in the control run.
    for r in runs:
        if got[r] is None:
            continue
        if expected_cell(expectations, r).startswith(EPERM) and got[r]["sealed"] not in ("yes", "partial"):
            failures.append(f"{attack_id}: {RUN_TITLES[r]}: EPERM but smaps does not show the target sealed")
        if r == "native" and got[r]["sealed"] not in ("no", "n/a"):
            failures.append(f"{attack_id}: the control run's target is sealed ({got[r]['sealed']})")
    return failures + check_consequences(attack_id, got, cells, runs)


def check_config(attack_id, title, cell, f):
    want_zero = cell == OK
    magic = int(f.get("magic_after", "-1"), 16)
    if (magic == 0) != want_zero or (not want_zero and magic != CONFIG_MAGIC):
        return [f"{attack_id}: {title}: the config reads {f.get('magic_after')} after "
                f"the discard ({'zeros' if want_zero else 'intact'} expected)"]
    return []


def check_prog_relro_pointer(attack_id, title, cell, got):
    """The program's RELRO pointer after a discard: reverted to the file's
    unrelocated value (before - load bias), so calling it crashes; or kept,
    so calling it returns."""
    f = fields(got["detail"])
    if cell.endswith("/reverted"):
        before, after, file_value = (int(f.get(k, "0"), 16) for k in ("before", "after", "file"))
        bias = int(f.get("bias", "0"), 16)
        if not (after == file_value and after != before and before - bias == file_value):
            return [f"{attack_id}: {title}: expected the pointer to revert to the file's "
                    f"unrelocated value (before - load bias); got {got['detail']}"]
        if f.get("then") != "SIGSEGV":
            return [f"{attack_id}: {title}: calling through the reverted pointer gave "
                    f"{f.get('then')}, expected SIGSEGV"]
    elif f.get("then") != "exit0":
        return [f"{attack_id}: {title}: calling through the kept pointer gave {f.get('then')}, "
                f"expected a normal return"]
    return []


def check_consequences(attack_id, got, cells, runs):
    failures = []
    for r in runs:
        if got[r] is None:
            continue
        f = fields(got[r]["detail"])
        if attack_id.startswith("madvise-dontneed-config") and cells[r] in (OK, EPERM):
            failures += check_config(attack_id, RUN_TITLES[r], cells[r], f)
        if attack_id == "mprotect-prog-relro-rw" and cells[r] == OK:
            if f.get("wrote_relro_pointer") != "0x4141414141414141":
                failures.append(f"{attack_id}: {RUN_TITLES[r]}: RELRO did not take the write")
        if attack_id == "madvise-dontneed-prog-relro":
            failures += check_prog_relro_pointer(attack_id, RUN_TITLES[r], cells[r], got[r])
    return failures


def gap_lines_for(rows_got, runs):
    """What the runs with file-backed RELRO or text show, in words."""
    lines = []
    for attack_id, got, cells in rows_got:
        for r in runs:
            if r == "native" or got[r] is None:
                continue
            if attack_id == "madvise-dontneed-libc-relro" and cells[r] == OK + "/reverted":
                f = fields(got[r]["detail"])
                lines.append(f"KERNEL GAP ({RUN_TITLES[r]}): madvise(MADV_DONTNEED) on libc's SEALED file-backed "
                             f"RELRO succeeded; {f.get('words_reverted')} words reverted to the file "
                             f"({f.get('now_zero', '?')} to 0, {f.get('now_low_addresses', '?')} to low addresses)")
            if attack_id == "madvise-dontneed-libc-relro-hijack" and cells[r] == OK + "/ran":
                lines.append(f"KERNEL GAP ({RUN_TITLES[r]}): after that discard, code mapped at low addresses "
                             f"RAN when the program called snprintf")
            if attack_id in ("dontfork-libc-text-fill", "guard-install-libc-text") and cells[r].startswith(OK):
                lines.append(f"KNOWN GAP ({RUN_TITLES[r]}): {attack_id}: {cells[r]}")
    return lines


def print_table(rows, runs):
    head = ("attack",) + tuple(RUN_TITLES[r] for r in runs) + ("verdict",)
    table = [head] + [(i,) + tuple(c[r] for r in runs) + (v,) for i, c, v in rows]
    widths = [max(len(str(r[k])) for r in table) for k in range(len(head))]
    print()
    for n, r in enumerate(table):
        print(" | ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    print()


def judge_victim(name, results, commands):
    """Every attack's row for one victim: (rows, rows judged, failures)."""
    victim, runs = VICTIMS[name], victim_runs(VICTIMS[name])
    rows, rows_got, failures = [], [], []
    for attack_id, meaning, expectations, optional in victim.get("attacks", ATTACKS):
        got = {r: results.get(r, {}).get(attack_id) for r in runs}
        cells = {r: (effect_cell(attack_id, r, got[r], fields(got[r]["detail"])) if got[r] else "missing")
                 for r in runs}
        cells = {r: ("SKIP" if c.startswith("SKIP") else c) for r, c in cells.items()}
        control = cells["native"]
        why = got["native"]["result"].removeprefix("SKIP:") if got["native"] else "missing"
        if (optional and (control.startswith("SKIP") or control == "ENOSYS")) or (
                attack_id in victim["not_applicable"] and control.startswith("SKIP")):
            print(f"note: {name}: {attack_id}: not applicable ({why})")
            rows.append((attack_id, cells, "n/a"))
            continue
        if attack_id in victim["not_applicable"]:
            failures.append(f"{attack_id}: expected not to apply to {name}, but its control run gives {control}")
        row_failures = check_row(attack_id, expectations_for(victim, attack_id, expectations), got, cells, commands, runs)
        failures += row_failures
        rows.append((attack_id, cells, "FAIL" if row_failures else "ok"))
        rows_got.append((attack_id, got, cells))
    return rows, rows_got, failures


def parse_victims(given):
    """--victim NAME=PATH (a bare PATH: the dynamic victim) -> {name: path}."""
    victims = {}
    for v in given:
        name, sep, path = v.partition("=")
        if not sep:
            name, path = "dynamic", v
        if name not in VICTIMS:
            raise ValueError(f"unknown victim {name!r} (known: {', '.join(VICTIMS)})")
        victims[name] = path
    return victims


def preflight(a, victims):
    """Skip or fail before any run: None to go on, else the exit status."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        print(f"SKIP: the attack suite needs Linux on x86-64 (this is {platform.system()} {platform.machine()})")
        return SKIP
    for path in (a.vmseal, *(p for p in victims.values() if p)) + ((a.probe,) if a.probe else ()):
        if not os.access(path, os.X_OK):
            print(f"FAIL: {path} is missing or not executable (build first)")
            return 1
    rc, out, err = run([a.vmseal, "check"])
    if rc == 5:
        print("SKIP: mseal(2) is not available here (`vmseal check` exited 5), so nothing can be sealed:")
        print((out + err).strip())
        return SKIP
    if rc != 0:
        print(f"FAIL: `vmseal check` exited {rc}:\n{out}{err}")
        return 1
    return None


def run_probe(probe):
    rc, out, err = run([probe])
    print()
    print("anonymous-RELRO probe (docs/attacks.md, what can be done):")
    print(out + err, end="")
    if rc == SKIP:
        return ["the anonymous-RELRO probe skipped although vmseal check found mseal"]
    if rc != 0:
        return [f"the anonymous-RELRO probe failed (exit {rc})"]
    return []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vmseal", required=True, help="the vmseal binary")
    ap.add_argument("--victim", required=True, action="append",
                    help="NAME=PATH: a build of tests/attack/victim.c (NAME one of VICTIMS; repeatable)")
    ap.add_argument("--probe", help="the anonymous-RELRO probe (tests/attack/anon_relro_probe.c)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the victim's output")
    a = ap.parse_args()
    try:
        victims = parse_victims(a.victim)
    except ValueError as e:
        print(f"usage: {e}")
        return 2
    status = preflight(a, victims)
    if status is not None:
        return status

    failures, summary = [], []
    for name in VICTIMS:
        if not victims.get(name):
            print(f"note: victim {name} ({VICTIMS[name]['title']}) is not built here: not run")
            summary.append(f"{name}: not built here")
            continue
        print(f"=== victim {name}: {VICTIMS[name]['title']} ({victims[name]})")
        for run_name, why in VICTIMS[name]["runs_left_out"].items():
            print(f"note: {name}: no {RUN_TITLES[run_name]} run: {why}")
        with tempfile.TemporaryDirectory(prefix="vmseal-attack.") as tmp:
            results, commands, run_failures = run_victim(a.vmseal, name, victims[name], tmp, a.verbose)
        rows, rows_got, row_failures = judge_victim(name, results, commands)
        print_table(rows, victim_runs(VICTIMS[name]))
        for line in gap_lines_for(rows_got, victim_runs(VICTIMS[name])):
            print(f"{name}: {line}")
        failures += [f"{name}: {f}" for f in run_failures + row_failures]
        applicable = sum(1 for r in rows if r[2] == "ok")
        summary.append(f"{name}: {applicable} applicable attacks in {len(victim_runs(VICTIMS[name]))} runs, "
                       f"{len(rows) - applicable} not applicable")

    if a.probe:
        failures += run_probe(a.probe)
    print()
    for line in summary:
        print(f"summary: {line}")
    if failures:
        for f in failures:
            print(f"FAIL: {f}")
        print(f"attack suite: {len(failures)} expectation(s) not met")
        return 1
    print("attack suite: every applicable attack behaves as expected against every victim built here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
