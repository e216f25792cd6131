#!/usr/bin/env bash
# Checks what bench/run_suite.sh wrote to a directory, independently of the suite's own checks
# (ctest runs the suite with --quick, then this): the CSV has its header once and well-formed
# rows for every benchmark, workload, variant and metric of the parts that ran; results.md has a
# table for each; every plot is a real PNG. Prints each missing thing; exit 1 when any.
#
#   bench/check_results.sh <out dir> [parts, comma-separated, as the suite's --only]
set -uo pipefail

dir=${1:?usage: check_results.sh <out dir> [parts]}
parts=${2:-wire,b1,b1_ts,b2,pool,hikari,scale}
csv="$dir/results.csv"
md="$dir/results.md"
problems=0

problem() {
  printf 'check_results: %s\n' "$*" >&2
  problems=$((problems + 1))
}

wants() { [[ ",$parts," == *",$1,"* ]]; }

check_csv_shape() {
  [ -s "$csv" ] || {
    problem "no $csv"
    return
  }
  [ "$(head -1 "$csv")" = "benchmark,workload,variant,sessions,metric,value,unit" ] ||
    problem "$csv does not start with the header line"
  local headers
  headers=$(grep -c '^benchmark,' "$csv")
  [ "$headers" = 1 ] || problem "$csv has the header $headers times"
  awk -F, 'NR > 1 && (NF != 7 || $4 !~ /^[0-9]+$/ || $6 !~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ || $7 == "") {
             printf "check_results: malformed row %d: %s\n", NR, $0; bad = 1 }
           END { exit bad }' "$csv" >&2 || problems=$((problems + 1))
}

# A row for each combination: benchmark, workload(s), variant(s), metric(s).
expect_rows() {
  local benchmark=$1 workloads=$2 variants=$3 metrics=$4 w v m
  for w in $workloads; do
    for v in $variants; do
      for m in $metrics; do
        awk -F, -v b="$benchmark" -v w="$w" -v v="$v" -v m="$m" \
          '$1 == b && $2 == w && $3 == v && $5 == m {found = 1} END {exit !found}' "$csv" ||
          problem "no $benchmark row for workload $w, variant $v, metric $m"
      done
    done
  done
}

expect_table() {
  grep -q "^### $1" "$md" || problem "results.md has no table '### $1'"
}

expect_png() {
  local png="$dir/$1"
  [ -s "$png" ] || {
    problem "no plot $png"
    return
  }
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    problem "$png is not a PNG (wrong magic bytes)"
}

check_csv_shape
[ -s "$md" ] || problem "no $md"
[ -s "$csv" ] && [ -s "$md" ] || exit 1
grep -q '^- commit: ' "$md" || problem "results.md does not name the commit"
grep -q '^- CPU: ' "$md" || problem "results.md does not name the CPU"

if wants wire; then
  expect_rows W "select1_ws select1_wss" "cpp_client ts_driver" rt_per_s
  expect_rows W parse cpp_client "throughput rows_per_s"
  expect_table "W: rt_per_s"
fi
b1_variants=""
wants b1 && b1_variants="exapool no_pool lock_seed lock_tuned physical_limit physical_limit_8"
wants b1_ts && b1_variants="$b1_variants ts_exasolpool"
if [ -n "$b1_variants" ]; then
  expect_rows B1 "select1 rows1000" "$b1_variants" "qps p99_latency cpu_us_per_query"
  expect_table "B1 select1: qps"
  expect_table "B1 select1: cpu_us_per_query"
  # Whether exasim and the clients were pinned to their own cores (or why not).
  grep -q '^- B1 layout: ' "$md" || problem "results.md does not say B1's machine layout"
  expect_table "B1 rows1000: p99_latency"
  # The rounds (run_suite.sh --rounds): exapool has a row per round for each workload, session
  # count and metric, and the targets pair them into that many per-round ratios.
  b1_rounds=$(sed -n 's/^- B1 rounds: \([0-9]*\).*/\1/p' "$md")
  if [ -z "$b1_rounds" ]; then
    problem "results.md does not say how many B1 rounds ran"
  elif wants b1; then
    awk -F, -v n="$b1_rounds" '$1 == "B1" && $3 == "exapool" { count[$2 "," $4 "," $5]++ }
      END { for (k in count) if (count[k] != n) bad = 1; exit bad }' "$csv" ||
      problem "B1 exapool rows are not one per round ($b1_rounds rounds)"
    grep -q "| physical_limit | .* | $b1_rounds: [0-9.]*–[0-9.]* |\$" "$md" ||
      problem "results.md's targets do not pair $b1_rounds rounds against physical_limit"
  fi
  expect_png b1_qps.png
  expect_png b1_p99.png
  expect_png b1_cpu.png
fi
if wants b1 && wants b1_ts; then
  grep -q 'exapool ÷ variant' "$md" || problem "results.md has no B1 ratio table"
fi
if wants b2; then
  expect_rows B2 "$(awk -F, '$1 == "B2" {print $2}' "$csv" | sort -u | head -2 | tr '\n' ' ')" \
    "open_ws open_wss borrow_exapool" latency
  [ "$(awk -F, '$1 == "B2" {print $2}' "$csv" | sort -u | wc -l)" = 2 ] ||
    problem "B2 should have rows at two login latencies"
  expect_table "B2: latency"
  expect_png b2_cost.png
fi
if wants pool; then
  expect_rows B3 cycle "exapool floor" "cycles_per_s ns_per_cycle"
  expect_rows B4 waiting exapool "bytes_per_waiter ns_per_cycle"
  expect_table "B3 cycle: cycles_per_s"
  expect_table "B4 waiting: bytes_per_waiter"
  expect_png b4_scale.png
fi
wants hikari && expect_rows B3 cycle hikaricp cycles_per_s
if wants pool || wants hikari; then expect_png b3_cycles.png; fi
if wants scale; then
  expect_rows B5 pooled exapool "threads thread_limit rss_bytes_per_connection prewarm_ms"
  expect_rows B5 select1 exapool "threads statements_ms"
  awk -F, '$1 == "B5" && $5 == "threads" && $4 == 0 {found = 1} END {exit !found}' "$csv" ||
    problem "no B5 threads row before any connection (sessions 0)"
  expect_table "B5: threads and memory"
  grep -q '^target (issue 10) threads with [0-9,]* pooled connections' "$md" ||
    problem "results.md has no B5 thread target line"
fi

[ "$problems" = 0 ] || {
  echo "check_results: $problems problem(s) in $dir" >&2
  exit 1
}
echo "check_results: $dir complete for parts $parts"
