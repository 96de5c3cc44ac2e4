#!/usr/bin/env bash
# Runs vmseal's libFuzzer targets (fuzz/, built by the "fuzz" preset) for a
# fixed time each, from the seeds in tests/data and examples/. A crash, a
# leak, a sanitizer report, an input slower than 10 s or over 2 GB fails the
# run; the input is kept in build/fuzz/artifacts/. Prints each target's
# executions.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 30)
# Exit 0 no finding, 1 a finding, 2 the targets are not built.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
bin=build/fuzz/fuzz
work=build/fuzz/run
rm -rf "$work"
mkdir -p "$work" build/fuzz/artifacts
seed() {  # seed TARGET FILES...: a seed directory for TARGET
  local dir="$work/seeds-$1"
  shift
  mkdir -p "$dir"
  cp "$@" "$dir/"
}
seed strace_sim tests/data/strace/*.txt tests/data/process_state/*.strace examples/sealing.strace
seed script_compare examples/designs/*.vms tests/data/scripts/*.vms examples/sealing.strace tests/data/process_state/*.strace
seed predict_recording tests/data/strace/*.txt
status=0
for target in strace_sim script_compare predict_recording; do
  exe="$bin/vmseal_fuzz_$target"
  [ -x "$exe" ] || { echo "fuzz: $exe is not built (cmake --preset fuzz && cmake --build --preset fuzz)"; exit 2; }
  mkdir -p "$work/corpus-$target"
  log="$work/$target.log"
  "$exe" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=build/fuzz/artifacts/"$target"- "$work/corpus-$target" "$work/seeds-$target" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ $rc -ne 0 ]; then
    echo "fuzz: $target FOUND a problem (exit $rc) after ${runs:-?} runs; input in build/fuzz/artifacts/; log:"
    tail -n 40 "$log"
    status=1
  else
    echo "fuzz: $target: ${runs:-?} runs in ${seconds} s, no finding"
  fi
done
exit $status
