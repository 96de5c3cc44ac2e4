#!/bin/bash
# bash: arrays, associative arrays, [[ ]], process substitution, here-strings,
# brace expansion, regex matching, coprocesses, and a non-zero exit status.
set -uo pipefail
declare -A colour=([apple]=red [kiwi]=green [banana]=yellow)
for k in $(printf '%s\n' "${!colour[@]}" | sort); do echo "$k is ${colour[$k]}"; done
nums=({1..10})
echo "count ${#nums[@]}, last ${nums[-1]}, slice ${nums[*]:2:3}"
if [[ "vmseal-0.1.0" =~ ^([a-z]+)-([0-9.]+)$ ]]; then echo "name=${BASH_REMATCH[1]} version=${BASH_REMATCH[2]}"; fi
diff <(seq 1 5) <(seq 1 6) || echo "diff status $?"
read -r a b c <<< "x y z"; echo "$c$b$a"
s="Memory Sealing"; echo "${s,,} ${s^^} ${s// /_} ${#s}"
coproc BC { bc -l; }
bc_pid=$BC_PID bc_in=${BC[1]}  # bash unsets BC and BC_PID as soon as it reaps bc
echo 'scale=20; 4*a(1)' >&"$bc_in"
read -r pi <&"${BC[0]}"; echo "pi=$pi"
exec {bc_in}>&-
wait "$bc_pid" 2>/dev/null
printf '%05.1f|%-6s|%x\n' 3.14159 ab 255
mapfile -t lines < <(printf 'l1\nl2\nl3\n'); echo "mapfile ${#lines[@]} ${lines[1]}"
f() { local -n ref=$1; ref=changed; }; v=orig; f v; echo "nameref $v"
echo "error line" >&2
false | true; echo "pipefail status $?"
sha256sum <<< "sealed" | cut -c1-16
exit 3
