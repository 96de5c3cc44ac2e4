#!/bin/sh
# Records the six real-program traces of tests/data/exec_layout/ (issue 18,
# item 4) and the small form of the files their execve lines ran:
#   scripts/record-exec-traces.sh OUTDIR
# writes OUTDIR/NAME.strace.xz for gcc, python, node, git, sqlite and
# chromium, and OUTDIR/root.tar.xz: every file an execve of the traces named
# (and the symlinks on the way to it, and each PT_INTERP), as sparse files of
# their real size that hold only what binfmt_elf and vmseal read (the ELF
# header, the program headers, PT_INTERP, PT_DYNAMIC, the notes, the section
# header table; the "#!" line of a script). Needs strace, gcc, python3, node,
# git, sqlite3, chromium, xz and GNU tar; run as root (Chromium wants
# --no-sandbox then).
set -eu
out=$(realpath "$1")
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' >hello.c
echo 'console.log([1, 2, 3].map((x) => x * 2).join(","));' >script.js
git init -q repo
git -C repo -c user.email=t@t -c user.name=t commit -q --allow-empty -m one
git -C repo -c user.email=t@t -c user.name=t commit -q --allow-empty -m two
# A clean environment: the PATH search of gcc and Chromium's wrapper shows
# in the trace (failed execve lines), so keep it short and the same everywhere.
run() {
  name=$1
  shift
  env -i PATH=/usr/bin:/bin HOME="$work" LANG=C.UTF-8 strace -f -y -o "$work/$name.strace" "$@" \
    >/dev/null 2>&1 || true
}
run gcc gcc -c hello.c -o hello.o
run python /usr/bin/python3 -c 'import ssl, sqlite3'
run node node script.js
(cd repo && run git git --no-pager log)
run sqlite sqlite3 :memory: 'create table t(a); insert into t values (1), (2); select sum(a) from t;'
run chromium timeout 120 chromium --headless --no-sandbox --dump-dom about:blank
for t in gcc python node git sqlite chromium; do
  xz -9 -T1 -c "$work/$t.strace" >"$out/$t.strace.xz"
done
python3 - "$work" "$work/root" <<'EOF'
import os, re, struct, sys
work, root = sys.argv[1], sys.argv[2]
paths = set()
for name in os.listdir(work):
    if name.endswith(".strace"):
        for m in re.finditer(r'execve\("([^"]+)"', open(os.path.join(work, name), errors="replace").read()):
            paths.add(m.group(1))
def keep_ranges(data):
    if data[:2] == b"#!":
        return [(0, min(len(data), 256))]
    if data[:4] != b"\x7fELF":
        return None
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 54)
    ranges = [(0, phoff + phentsize * phnum), (shoff, shoff + shentsize * shnum)]
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type in (2, 3, 4, 0x6474e553):  # DYNAMIC, INTERP, NOTE, GNU_PROPERTY
            ranges.append((p_offset, p_offset + p_filesz))
    return ranges
def copy(path):
    data = open(path, "rb").read()
    ranges = keep_ranges(data)
    if ranges is None:
        return None
    dest = root + path
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "wb") as f:
        f.truncate(len(data))
        for s, e in ranges:
            f.seek(s)
            f.write(data[s:e])
    os.chmod(dest, 0o755)
    if data[:4] == b"\x7fELF":
        phoff = struct.unpack_from("<Q", data, 32)[0]
        phentsize, phnum = struct.unpack_from("<HH", data, 54)
        for i in range(phnum):
            p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
            if p_type == 3:
                return data[p_offset:p_offset + p_filesz].split(b"\0")[0].decode()
    else:
        return data[2:256].split(b"\n")[0].strip().split()[0].decode()
    return None
def add(path, depth=0):
    if depth > 16 or not path.startswith("/") or path.startswith("/proc/"):
        return
    parts = [p for p in path.split("/") if p]
    cur = ""
    for i, comp in enumerate(parts):
        cur += "/" + comp
        if os.path.islink(cur):
            target = os.readlink(cur)
            if not os.path.lexists(root + cur):
                os.makedirs(os.path.dirname(root + cur), exist_ok=True)
                os.symlink(target, root + cur)
            resolved = os.path.normpath(os.path.join(os.path.dirname(cur), target))
            add(resolved + "".join("/" + p for p in parts[i + 1:]), depth + 1)
            return
        if not os.path.exists(cur):
            return
    if os.path.isfile(cur) and not os.path.exists(root + cur):
        nxt = copy(cur)
        if nxt:
            add(nxt, depth + 1)
for p in sorted(paths):
    add(p)
EOF
tar --sparse --owner=0 --group=0 --numeric-owner -C "$work/root" -cJf "$out/root.tar.xz" .
strace -V | head -1 >"$out/recorded-with.txt"
uname -r >>"$out/recorded-with.txt"
dpkg-query -W gcc-12 binutils-x86-64-linux-gnu python3.11 nodejs git sqlite3 chromium libc6 \
  >>"$out/recorded-with.txt" 2>/dev/null || true
