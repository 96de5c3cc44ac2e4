#!/bin/sh
# POSIX shell (dash): functions, loops, pipes, command substitution, traps,
# here-documents, subshells, and the coreutils they call.
set -eu
greet() { printf 'hello %s\n' "$1"; }
for who in world seal mseal; do greet "$who"; done
i=0 total=0
while [ "$i" -lt 50 ]; do total=$((total + i * i)); i=$((i + 1)); done
echo "sum of squares below 50: $total"
seq 1 200 | awk '$1 % 7 == 0' | sort -rn | head -5 | tr '\n' ' '; echo
cat > words.txt <<'WORDS'
pear apple fig apple kiwi pear apple banana
WORDS
tr ' ' '\n' < words.txt | sort | uniq -c | sort -k1,1nr -k2 | sed 's/^ *//'
lines=$(wc -l < words.txt); echo "lines: $lines"
(cd / && pwd)
echo "basename: $(basename /usr/lib/x86_64-linux-gnu/libc.so.6 .so.6)"
case "$(uname -s)" in Linux) echo "kernel: Linux" ;; *) echo "kernel: other" ;; esac
trap 'echo "trap on exit"' EXIT
printf '%s\n' one two three | while read -r w; do printf '%s=%s\n' "$w" "$(printf %s "$w" | wc -c)"; done
echo "to stderr" >&2
cut -d: -f1 /etc/passwd | grep -c '^root$'
exit 0
