#!/usr/bin/python3
"""The attack suite's driver (ctest: attack.suite).

Runs tests/attack/victim.c three times:
  without vmseal   the control: every attack must SUCCEED here (with the
                   program's own config read-only but unsealed), otherwise an
                   EPERM under vmseal would prove nothing about the seal;
  vmseal default   `vmseal run --profile default`: code, rodata, RELRO, the
                   gaps, ld.so and the frozen config must refuse with EPERM;
                   writable data, the stack and [vdso] are not sealed;
  vmseal strict    `vmseal run --profile strict`: data, the stack and [vdso]
                   refuse too.
The kernel gap (MADV_DONTNEED on sealed private file mappings: RELRO) must
succeed in all three runs with its consequence shown: the relocated pointer
reads back as the file's unrelocated value. Then the anonymous-RELRO probe
(tests/attack/anon_relro_probe.c) checks the countermeasure described in
docs/attacks.md.

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
RUNS = ("native", "default", "strict")
RUN_TITLES = {"native": "without vmseal", "default": "vmseal default", "strict": "vmseal strict"}

# id -> (what it means, expected {native, default, strict}, optional, group)
# optional: the target may be absent here (no PKU syscall, no gap, built
# without the API): SKIP or ENOSYS in the control run makes the row "n/a".
ATTACKS = [
    ("mprotect-libc-text-rwx", "make a libc code page writable (patch code)", (OK, EPERM, EPERM), False),
    ("pkey_mprotect-libc-text-rwx", "the same through pkey_mprotect (pkey -1)", (OK, EPERM, EPERM), True),
    ("mprotect-prog-text-rwx", "make the program's own code writable", (OK, EPERM, EPERM), False),
    ("mmap-fixed-libc-text", "map fresh RWX memory over a libc code page", (OK, EPERM, EPERM), False),
    ("munmap-libc-text", "unmap a libc code page (then map something there)", (OK, EPERM, EPERM), False),
    ("munmap-ldso", "unmap the whole dynamic loader", (OK, EPERM, EPERM), False),
    ("mremap-move-libc-text", "move a libc code page elsewhere (MREMAP_FIXED)", (OK, EPERM, EPERM), False),
    ("mremap-grow-libc-text", "grow a libc code page (MREMAP_MAYMOVE)", (OK, EPERM, EPERM), False),
    ("mremap-shrink-libc-text", "shrink two libc code pages to one", (OK, EPERM, EPERM), False),
    ("mmap-fixed-prog-relro", "map writable memory over the program's RELRO (GOT)", (OK, EPERM, EPERM), False),
    ("mmap-fixed-libc-relro", "map writable memory over libc's RELRO (GOT)", (OK, EPERM, EPERM), False),
    ("mprotect-prog-relro-rw", "make the program's RELRO writable (GOT overwrite)", (OK, EPERM, EPERM), False),
    ("mprotect-libc-relro-rw", "make libc's RELRO writable (GOT overwrite)", (OK, EPERM, EPERM), False),
    ("mmap-fixed-segment-gap", "map RWX memory into a PROT_NONE gap between segments", (OK, EPERM, EPERM), True),
    ("mprotect-segment-gap-rwx", "make a gap between segments RWX", (OK, EPERM, EPERM), True),
    ("madvise-dontneed-config-sealed-alloc", "discard the frozen config (vmseal_sealed_alloc/freeze)", (OK, EPERM, EPERM), True),
    ("madvise-dontneed-config-freeze", "discard the frozen config (mmap + vmseal_freeze)", (OK, EPERM, EPERM), False),
    ("mprotect-config-rw", "make the frozen config writable again", (OK, EPERM, EPERM), False),
    ("munmap-config", "unmap the frozen config (then map a forged one)", (OK, EPERM, EPERM), False),
    ("mprotect-data-none", "mprotect the program's .data PROT_NONE", (OK, OK, EPERM), False),
    ("mprotect-data-rwx", "make the program's .data executable", (OK, OK, EPERM), False),
    ("mprotect-stack-rwx", "make [stack] executable", (OK, OK, EPERM), False),
    ("munmap-vdso", "unmap [vdso]", (OK, OK, EPERM), False),
    ("madvise-dontneed-prog-relro", "KERNEL GAP: discard the program's sealed RELRO", (OK, OK, OK), False),
    ("madvise-dontneed-libc-relro", "KERNEL GAP: discard libc's sealed RELRO", (OK, OK, OK), False),
    ("madvise-dontneed-libc-relro-hijack", "KERNEL GAP: discard it, map code low, call snprintf", (OK, OK, OK), True),
]
GAP_IDS = ("madvise-dontneed-prog-relro", "madvise-dontneed-libc-relro")
CONFIG_MAGIC = 0x76736561


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vmseal", required=True, help="the vmseal binary")
    ap.add_argument("--victim", required=True, help="the attack victim (tests/attack/victim.c)")
    ap.add_argument("--probe", help="the anonymous-RELRO probe (tests/attack/anon_relro_probe.c)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the victim's output")
    a = ap.parse_args()

    if platform.system() != "Linux" or platform.machine() != "x86_64":
        print(f"SKIP: the attack suite needs Linux on x86-64 (this is {platform.system()} {platform.machine()})")
        return SKIP
    for path in (a.vmseal, a.victim) + ((a.probe,) if a.probe else ()):
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

    failures = []
    results, infos = {}, {}
    with tempfile.TemporaryDirectory(prefix="vmseal-attack.") as tmp:
        commands = {
            "native": [a.victim, "--no-app-seal"],
            "default": [a.vmseal, "run", "--profile", "default", "--report", os.path.join(tmp, "default.json"), "--",
                        a.victim],
            "strict": [a.vmseal, "run", "--profile", "strict", "--report", os.path.join(tmp, "strict.json"), "--",
                       a.victim],
        }
        for name in RUNS:
            rc, out, err = run(commands[name])
            if a.verbose or rc != 0 or "DONE" not in out.splitlines():
                print(f"--- {RUN_TITLES[name]}: {' '.join(commands[name])} (exit {rc})")
                print(out, end="")
                print(err, end="", file=sys.stderr)
            if rc != 0 or "DONE" not in out.splitlines():
                failures.append(f"{RUN_TITLES[name]}: the victim did not finish (exit {rc})")
            results[name], infos[name] = parse_victim(out)
            if name != "native":
                report_path = os.path.join(tmp, f"{name}.json")
                try:
                    with open(report_path) as f:
                        report = json.load(f)
                except (OSError, ValueError) as e:
                    failures.append(f"{RUN_TITLES[name]}: no usable --report ({e})")
                    continue
                if not report.get("sealed_before_main"):
                    failures.append(f"{RUN_TITLES[name]}: the report says the program was not sealed before main")
                if report.get("failures", 0) != 0:
                    bad = [f"{o.get('path')} {r.get('kind')} {r.get('start')}-{r.get('end')}: {r.get('error')}"
                           for o in report.get("objects", []) for r in o.get("ranges", []) if r.get("error")]
                    failures.append(f"{RUN_TITLES[name]}: {report['failures']} range(s) could not be sealed: "
                                    + "; ".join(bad))

    # --- compare with the expectations ------------------------------------------
    rows = []
    gap_lines = []
    for attack_id, meaning, expected, optional in ATTACKS:
        got = {r: results.get(r, {}).get(attack_id) for r in RUNS}
        cells = {r: (got[r]["result"] if got[r] else "missing") for r in RUNS}
        cells = {r: ("SKIP" if c.startswith("SKIP") else c) for r, c in cells.items()}
        exp = dict(zip(RUNS, expected))
        verdict = "ok"
        control = cells["native"]
        if optional and (control.startswith("SKIP") or control == "ENOSYS"):
            verdict = "n/a"
            why = got["native"]["result"].removeprefix("SKIP:") if got["native"] else "missing"
            print(f"note: {attack_id}: not applicable here ({why})")
        else:
            for r in RUNS:
                if cells[r] != exp[r]:
                    verdict = "FAIL"
                    if r == "native":
                        failures.append(f"{attack_id}: the control run gives {cells[r]}, not {exp[r]}: the attack "
                                        f"fails even without the seal, so the test would prove nothing")
                    elif exp[r] == EPERM and cells[r] == OK:
                        failures.append(f"{attack_id}: SUCCEEDED under {RUN_TITLES[r]} (expected EPERM): a real "
                                        f"hole; smaps said sealed={got[r]['sealed']}; {got[r]['detail']}; "
                                        f"reproduce: {' '.join(commands[r])}")
                    else:
                        failures.append(f"{attack_id}: {RUN_TITLES[r]} gives {cells[r]}, expected {exp[r]}"
                                        + (f" (smaps: sealed={got[r]['sealed']}; {got[r]['detail']})" if got[r] else ""))
            # Sealing must be what refused: the target is sealed where EPERM
            # is expected and not sealed in the control run.
            for r in RUNS:
                if got[r] is None or verdict == "FAIL":
                    continue
                if exp[r] == EPERM and got[r]["sealed"] not in ("yes", "partial"):
                    verdict = "FAIL"
                    failures.append(f"{attack_id}: {RUN_TITLES[r]}: EPERM but smaps does not show the target sealed")
                if r == "native" and got[r]["sealed"] not in ("no", "n/a"):
                    verdict = "FAIL"
                    failures.append(f"{attack_id}: the control run's target is sealed ({got[r]['sealed']})")
            # The consequences.
            for r in RUNS:
                if got[r] is None:
                    continue
                f = fields(got[r]["detail"])
                if attack_id.startswith("madvise-dontneed-config") and cells[r] in (OK, EPERM):
                    want_zero = cells[r] == OK
                    magic = int(f.get("magic_after", "-1"), 16)
                    if (magic == 0) != want_zero or (not want_zero and magic != CONFIG_MAGIC):
                        verdict = "FAIL"
                        failures.append(f"{attack_id}: {RUN_TITLES[r]}: the config reads {f.get('magic_after')} after "
                                        f"the discard ({'zeros' if want_zero else 'intact'} expected)")
                if attack_id == "mprotect-prog-relro-rw" and cells[r] == OK:
                    if f.get("wrote_relro_pointer") != "0x4141414141414141":
                        verdict = "FAIL"
                        failures.append(f"{attack_id}: {RUN_TITLES[r]}: RELRO did not take the write")
                if attack_id == "madvise-dontneed-prog-relro" and cells[r] == OK:
                    before, after, file_value = (int(f.get(k, "0"), 16) for k in ("before", "after", "file"))
                    bias = int(f.get("bias", "0"), 16)
                    if not (after == file_value and after != before and before - bias == file_value):
                        verdict = "FAIL"
                        failures.append(f"{attack_id}: {RUN_TITLES[r]}: expected the pointer to revert to the file's "
                                        f"unrelocated value (before - load bias); got {got[r]['detail']}")
                    elif f.get("then") != "SIGSEGV":
                        verdict = "FAIL"
                        failures.append(f"{attack_id}: {RUN_TITLES[r]}: calling through the reverted pointer gave "
                                        f"{f.get('then')}, expected SIGSEGV")
                    elif r != "native":
                        gap_lines.append(
                            f"KERNEL GAP ({RUN_TITLES[r]}): madvise(MADV_DONTNEED) on the program's SEALED RELRO "
                            f"succeeded; a relocated pointer went from {before:#x} to the file's unrelocated "
                            f"{after:#x} (= before - load bias); calling through it: SIGSEGV")
                if attack_id == "madvise-dontneed-libc-relro" and cells[r] == OK:
                    m = re.match(r"(\d+)/(\d+)", f.get("words_reverted", ""))
                    if not m or int(m.group(1)) == 0:
                        verdict = "FAIL"
                        failures.append(f"{attack_id}: {RUN_TITLES[r]}: no word of libc's RELRO changed")
                    elif r != "native":
                        gap_lines.append(f"KERNEL GAP ({RUN_TITLES[r]}): madvise(MADV_DONTNEED) on libc's SEALED "
                                         f"RELRO succeeded; {m.group(1)} of {m.group(2)} words reverted to the file: "
                                         f"{f.get('now_zero', '?')} to 0, {f.get('now_low_addresses', '?')} to "
                                         f"low addresses (unrelocated offsets) where nothing is mapped or sealed")
                if attack_id == "madvise-dontneed-libc-relro-hijack" and cells[r] == OK and r != "native":
                    # The madvise is the expectation; where the next libc call
                    # goes depends on libc's build, so this part only reports.
                    if f.get("then") == "exit42":
                        gap_lines.append(f"KERNEL GAP ({RUN_TITLES[r]}): after that discard, code mapped at "
                                         f"{f.get('sled')} (unsealed low memory) RAN when the program called "
                                         f"snprintf: the reverted pointers lead where the attacker maps code")
                    else:
                        print(f"note: {attack_id}: {RUN_TITLES[r]}: the call after the discard did not reach the "
                              f"mapped code on this libc (then={f.get('then')}); the discard itself succeeded")
        rows.append((attack_id, cells, "/".join(expected), verdict, meaning))

    # --- the table ----------------------------------------------------------------
    head = ("attack", RUN_TITLES["native"], RUN_TITLES["default"], RUN_TITLES["strict"], "expected", "verdict")
    table = [head] + [(i, c["native"], c["default"], c["strict"], e, v) for i, c, e, v, _ in rows]
    widths = [max(len(str(r[k])) for r in table) for k in range(len(head))]
    print()
    for n, r in enumerate(table):
        print(" | ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())
        if n == 0:
            print("-+-".join("-" * w for w in widths))
    print()
    for line in gap_lines:
        print(line)
    if gap_lines:
        print("KERNEL GAP: Linux 6.18 allows MADV_DONTNEED on sealed private FILE mappings (only anonymous read-only "
              "memory is protected). The bytes revert to the file's, which the attacker cannot choose; but in a PIE "
              "or a shared library those bytes are unrelocated offsets, low addresses where an attacker who can mmap "
              "may put code. See docs/attacks.md.")

    # --- the anonymous-RELRO probe --------------------------------------------------
    if a.probe:
        rc, out, err = run([a.probe])
        print()
        print("anonymous-RELRO probe (docs/attacks.md, what can be done):")
        print(out + err, end="")
        if rc == SKIP:
            failures.append("the anonymous-RELRO probe skipped although vmseal check found mseal")
        elif rc != 0:
            failures.append(f"the anonymous-RELRO probe failed (exit {rc})")

    print()
    if failures:
        for f in failures:
            print(f"FAIL: {f}")
        print(f"attack suite: {len(failures)} expectation(s) not met")
        return 1
    applicable = sum(1 for r in rows if r[3] == "ok")
    print(f"attack suite: all {applicable} applicable attacks behave as expected "
          f"({len(rows) - applicable} not applicable here)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
