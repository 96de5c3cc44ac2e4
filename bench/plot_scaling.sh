#!/usr/bin/env bash
# Draws ns per operation against the number of VMAs (both axes log scale) from
# Google Benchmark JSON files (--benchmark_out=FILE --benchmark_out_format=json):
#   Kernel_<Op>/<N> rows (bench/kernel_bench.cpp): two lines per operation,
#     the engine's engine_ns (solid) and the kernel's kernel_ns (dashed);
#   AS_<Op>/<N> rows (bench/engine_bench.cpp, the engine alone): one line per
#     operation, "engine alone" (solid, thinner, open points): real_time for
#     the manual-time rows, cpu_time for the others (AS_Lookup*).
# A row's value is its median aggregate when the file has one, else the mean
# of its iterations; rows that report an error are left out. When several
# files give the same line and N, the last file wins. Needs jq and gnuplot
# (scripts/setup.sh installs both).
set -euo pipefail

usage() {
  cat >&2 <<'EOF'
usage: bench/plot_scaling.sh [-o OUT.svg] [-t TITLE] [-x REGEX] FILE.json [FILE.json ...]
  Plots ns per operation against the number of VMAs (log-log) from the
  Kernel_* (engine solid, kernel dashed) and AS_* (engine alone) rows of
  Google Benchmark JSON output. Default output: bench/scaling.svg.
  -x REGEX leaves out the benchmarks whose name matches (jq regex),
  e.g. -x 'Phased|Pair|Merge'.
EOF
  exit 2
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/scaling.svg"
title="vmseal engine and Linux kernel: ns per call against the number of VMAs"
exclude='^$'
while getopts "o:t:x:h" opt; do
  case "$opt" in
    o) out=$OPTARG ;;
    t) title=$OPTARG ;;
    x) exclude=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ "$#" -ge 1 ] || usage

for tool in jq gnuplot; do
  command -v "$tool" >/dev/null 2>&1 || { echo "plot_scaling: $tool is not installed (run scripts/setup.sh)" >&2; exit 1; }
done

# One TSV line per point: op, kind (kernel|engine|alone), N, ns, file index.
points=$(mktemp)
trap 'rm -f "$points"' EXIT
i=0
for f in "$@"; do
  i=$((i + 1))
  if [ ! -r "$f" ]; then
    echo "plot_scaling: cannot read $f" >&2
    exit 1
  fi
  if ! jq -e '.benchmarks | type == "array"' "$f" >/dev/null 2>&1; then
    echo "plot_scaling: $f is not Google Benchmark JSON (no .benchmarks array)" >&2
    exit 1
  fi
  jq -r --argjson idx "$i" --arg ex "$exclude" '
    def unit: {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[.time_unit // "ns"];
    [.benchmarks[]
     | select((.error_occurred // false) | not)
     | select((.run_name // .name) | test("^(Kernel|AS)_[A-Za-z0-9]+/[0-9]+(/|$)"))
     | select((.run_name // .name) | test($ex) | not)]
    | group_by(.run_name // .name)
    | .[]
    | (map(select(.run_type == "aggregate" and .aggregate_name == "median"))) as $med
    | (map(select((.run_type // "iteration") == "iteration"))) as $its
    | (if ($med | length) > 0 then [$med[0]] else $its end) as $rows
    | select(($rows | length) > 0)
    | def avg(f): ($rows | map(f) | add / length);
      ($rows[0].run_name // $rows[0].name) as $name
    | ($name | split("/")) as $parts
    | ($parts[0] | split("_")) as $fam
    | ($parts[1] | tonumber) as $n
    | if $fam[0] == "Kernel" then
        select($rows[0].kernel_ns != null and $rows[0].engine_ns != null)
        | ([$fam[1], "kernel", $n, avg(.kernel_ns), $idx], [$fam[1], "engine", $n, avg(.engine_ns), $idx])
      else
        ([$fam[1:] | join("_"), "alone", $n,
          avg(if ($name | test("manual_time")) then .real_time else .cpu_time end * unit), $idx])
      end
    | @tsv' "$f" >>"$points"
done

# The last file wins for a repeated (op, kind, N).
data=$(sort -t $'\t' -k1,1 -k2,2 -k3,3n -k5,5n "$points" |
  awk -F'\t' '{ key = $1 FS $2 FS $3; if (key != last && last != "") print line; last = key; line = $0 }
              END { if (last != "") print line }')
if [ -z "$data" ]; then
  echo "plot_scaling: no usable Kernel_* or AS_* rows in: $*" >&2
  exit 1
fi
dups=$(sort -t $'\t' -k1,3 -u "$points" | wc -l)
total=$(wc -l <"$points")
if [ "$dups" -ne "$total" ]; then
  echo "plot_scaling: $((total - dups)) repeated points; the last file's were kept" >&2
fi

colors=("#1f77b4" "#d62728" "#2ca02c" "#9467bd" "#ff7f0e" "#8c564b" "#e377c2" "#17becf" "#7f7f7f" "#bcbd22")
mapfile -t ops < <(cut -f1 <<<"$data" | sort -u)
script=$(mktemp)
trap 'rm -f "$points" "$script"' EXIT
{
  echo "set terminal svg size 1000,760 dynamic font 'sans,12' background rgb 'white'"
  printf "set output '%s'\n" "${out//\'/\'\'}"
  echo "set termoption noenhanced"
  printf "set title '%s'\n" "${title//\'/\'\'}"
  echo "set logscale xy"
  echo "set format x '%.0s%c'"
  echo "set xlabel 'VMAs in the address space (log scale)'"
  echo "set ylabel 'ns per call, thread CPU time (log scale)'"
  echo "set grid xtics ytics mxtics mytics lc rgb '#dddddd'"
  # One row of the key per operation: its engine, engine-alone and kernel lines.
  kinds=$(cut -f2 <<<"$data" | sort -u | wc -l)
  echo "set key outside below center horizontal maxcols $kinds width 2"
  read -r nmin nmax < <(awk -F'\t' 'NR == 1 { lo = $3; hi = $3 } { if ($3 < lo) lo = $3; if ($3 > hi) hi = $3 }
                                   END { print lo, hi }' <<<"$data")
  echo "set xrange [$nmin / 1.4 : $nmax * 1.4]"
  plots=()
  k=0
  for op in "${ops[@]}"; do
    color=${colors[$((k % ${#colors[@]}))]}
    k=$((k + 1))
    for kind in engine alone kernel; do
      rows=$(awk -F'\t' -v op="$op" -v kind="$kind" '$1 == op && $2 == kind { print $3, $4 }' <<<"$data")
      [ -n "$rows" ] || continue
      block="\$d$k$kind"
      printf '%s << EOD\n%s\nEOD\n' "$block" "$rows"
      case "$kind" in
        engine) style="lw 2 dt 1 pt 7 ps 0.8"; label="$op engine" ;;
        alone) style="lw 1 dt 1 pt 6 ps 0.8"; label="$op engine alone (AS_)" ;;
        kernel) style="lw 2 dt 2 pt 5 ps 0.8"; label="$op kernel" ;;
      esac
      plots+=("$block using 1:2 with linespoints lc rgb '$color' $style title '$label'")
    done
  done
  printf 'plot '
  sep=""
  for p in "${plots[@]}"; do
    printf '%s%s' "$sep" "$p"
    sep=", \\"$'\n'"     "
  done
  printf '\n'
} >"$script"
gnuplot "$script"
echo "plot_scaling: wrote $out"
