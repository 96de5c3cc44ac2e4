#!/usr/bin/env bash
# The fleet view's systemd units (packaging/systemd), as configured by the
# build: `systemd-analyze verify` accepts them, and the service's ExecStart,
# run as written (its vmseal swapped for the build's, its output for a
# temporary file), writes metrics the textfile collector can read.
# usage: check_units.sh VMSEAL UNIT_DIR
# Exit 0 ok, 1 failure, 77 skipped (no systemd-analyze).
set -u
vmseal=$(readlink -f "${1:?usage: check_units.sh VMSEAL UNIT_DIR}")
units=${2:?usage: check_units.sh VMSEAL UNIT_DIR}
fail() { echo "FAIL: $*"; exit 1; }
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze is missing (package systemd)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
service="$units/vmseal-metrics.service"
[ -f "$service" ] || fail "$service was not configured"
exec_line=$(sed -n 's/^ExecStart=//p' "$service")
case "$exec_line" in
  /*/vmseal\ inspect\ --all\ --format\ openmetrics\ --output\ /var/lib/prometheus/node-exporter/vmseal.prom) ;;
  *) fail "unexpected ExecStart: $exec_line" ;;
esac
sed "s#^ExecStart=[^ ]*#ExecStart=$vmseal#" "$service" >"$work/vmseal-metrics.service"
cp "$units/vmseal-metrics.timer" "$work/"
systemd-analyze verify --man=no "$work/vmseal-metrics.service" "$work/vmseal-metrics.timer" ||
  fail "systemd-analyze verify"
# The command itself, with the unit's arguments.
read -r -a argv <<<"$exec_line"
argv[0]=$vmseal
argv[${#argv[@]}-1]="$work/vmseal.prom"
"${argv[@]}"; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 5 ] || fail "the service's command exited $rc"
[ "$(stat -c %a "$work/vmseal.prom")" = 644 ] || fail "the metrics file is not 0644"
tail -n 1 "$work/vmseal.prom" | grep -qx '# EOF' || fail "the metrics file does not end in # EOF"
echo "ok: the units verify and the service's command writes the metrics"
