#!/usr/bin/env bash
# The benchmark suite in one command: runs every benchmark program side by side (W, B1..B5 with
# their peers), collects their rows in one CSV, and writes results.md and PNG plots from it.
# bench/README.md explains each benchmark and how to read the output. Usually run through
# `./run.sh bench`, which installs and builds first.
#
#   bench/run_suite.sh [--quick] [--out=<dir>] [--build=<dir>] [--only=<parts>] [--seconds=<s>]
#                      [--rounds=<n>]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/bench/results"
build="$top/build"
quick=0
seconds=""
rounds=""
all_parts="wire,b1,b1_ts,b2,pool,hikari,scale,remote"
parts="$all_parts"

usage() {
  cat <<EOF
usage: bench/run_suite.sh [options]
  --quick          tiny sizes (0.2 s per case, 1 and 8 sessions): checks that the suite works,
                   the figures mean nothing
  --out=<dir>      where results.csv, results.md, the PNG plots and the logs go
                   (default: bench/results)
  --build=<dir>    the CMake build directory holding bench/ and apps/exapool (default: build)
  --only=<parts>   run only these parts, comma-separated, of: $all_parts
                   (wire: W; b1: B1 C++ variants; b1_ts: B1 ExasolPool; b2: B2;
                   pool: B3 and B4 of exapool; hikari: B3 HikariCP;
                   scale: B5, threads and memory with 1,000 pooled connections;
                   remote: R1, remote sessions against local ones)
  --seconds=<s>    measured seconds per case for W and B1 (default 2; --quick: 0.2)
  --rounds=<n>     B1 rounds, 1 to 20 (default 5; --quick: 1): round 1 measures every variant,
                   rounds 2..n again exapool, the physical limit and ExasolPool, the C++ and
                   the TypeScript program taking turns; results.md shows medians, and each
                   target the median of its per-round ratios with their range
EOF
}

say() { printf '[suite] %s\n' "$*" >&2; }
die() {
  say "FAILED: $*"
  exit 1
}

parse_arguments() {
  for arg in "$@"; do
    case "$arg" in
    --quick) quick=1 ;;
    --out=?*) out="${arg#--out=}" ;;
    --build=?*) build="${arg#--build=}" ;;
    --only=?*) parts="${arg#--only=}" ;;
    --seconds=?*) seconds="${arg#--seconds=}" ;;
    --rounds=?*) rounds="${arg#--rounds=}" ;;
    --help | -h)
      usage
      exit 0
      ;;
    *)
      say "unknown or incomplete option: $arg"
      usage >&2
      exit 2
      ;;
    esac
  done
  local p
  for p in ${parts//,/ }; do
    [[ ",$all_parts," == *",$p,"* ]] || {
      say "--only: unknown part '$p' (parts: $all_parts)"
      exit 2
    }
  done
  if [ -n "$seconds" ] && ! [[ "$seconds" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    say "--seconds: not a number of seconds: $seconds"
    exit 2
  fi
  if [ -n "$rounds" ] && ! { [[ "$rounds" =~ ^[0-9]+$ ]] && ((rounds >= 1 && rounds <= 20)); }; then
    say "--rounds: not a number of rounds from 1 to 20: $rounds"
    exit 2
  fi
  mkdir -p "$out" || die "cannot create the output directory $out"
  out=$(cd "$out" && pwd)
  [ -d "$build" ] || die "no build directory $build (build first, or ./run.sh bench)"
  build=$(cd "$build" && pwd)
}

wants() { [[ ",$parts," == *",$1,"* ]]; }

# The sizes of each benchmark: the full run, or --quick's tiny one.
set_sizes() {
  if [ "$quick" = 1 ]; then
    seconds=${seconds:-0.2}
    rounds=${rounds:-1}
    b1_sessions="1,8"
    wire_args=(--bench.rows=2000)
    b2_args=(--bench.opens=2 --bench.borrows=20 --bench.seed-latency=50ms)
    pool_args=(--cycles=2000 --borrowers=8,32 --waiters=200,1000)
    hikari_args=(--threads=8,32 --seconds=0.2 --warmup=0.1)
    ts_args=(--warmup=0.1)
    scale_connections=50
    remote_args=(--bench.sessions=1,8 --bench.seconds=0.2)
  else
    seconds=${seconds:-2}
    rounds=${rounds:-5}
    b1_sessions="1,8,32,128"
    wire_args=(--bench.rows=100000)
    b2_args=(--bench.opens=20 --bench.borrows=20000 --bench.seed-latency=1s)
    pool_args=(--cycles=1000000 --repeat=3 --borrowers=8,32,64,1000,10000 --waiters=1000,10000,100000)
    hikari_args=(--threads=8,32,64,1000,10000 --seconds=3 --warmup=1)
    ts_args=(--warmup=0.5)
    scale_connections=1000
    remote_args=(--bench.sessions=1,8,32 --bench.seconds=2)
  fi
}

# B1's machine layout: exasim alone on one core, the client programs on another, so the
# clients' CPU time per statement (cpu_us_per_query) and their throughput do not compete with
# the server's work for the same core. The two cores are the first two this process may use
# (taskset -c with the ids of its affinity list, which need not start at 0).
server_pin=()
client_pin=()
b1_layout="unpinned"
set_layout() {
  local cpus
  if ! command -v taskset >/dev/null; then
    b1_layout="unpinned (no taskset: install util-linux)"
  elif [ "$(nproc)" -lt 2 ]; then
    b1_layout="unpinned (one core: exasim and the clients share it)"
  else
    # "0-3,6" -> "0 1 2 3 6": the CPUs this process may run on, in order.
    cpus=$(taskset -cp $$ | sed 's/.*: *//' | tr ',' '\n' |
      awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) printf "%d ", c }')
    read -r -a cpus <<<"$cpus"
    if [ "${#cpus[@]}" -ge 2 ]; then
      server_pin=(taskset -c "${cpus[0]}")
      client_pin=(taskset -c "${cpus[1]}")
      b1_layout="exasim on CPU ${cpus[0]} (taskset -c ${cpus[0]}), the B1 clients on CPU ${cpus[1]} (taskset -c ${cpus[1]})"
      return 0
    fi
    b1_layout="unpinned (taskset found fewer than 2 allowed CPUs: ${cpus[*]})"
  fi
  if wants b1 || wants b1_ts || wants scale; then say "warning: B1 and B5 run $b1_layout"; fi
}

require_file() {
  [ -e "$1" ] || die "$2: $1 is missing (${3:-build it first})"
}

check_tools() {
  command -v gnuplot >/dev/null ||
    die "gnuplot is not installed (Debian: gnuplot-nox; ./run.sh bench installs it)"
  command -v node >/dev/null || die "node is not installed (./run.sh bench installs it)"
  wants wire && require_file "$build/bench/wire_bench" "W"
  wants b1 && require_file "$build/bench/end_to_end_bench" "B1"
  if wants b1 || wants b1_ts || wants scale; then require_file "$build/apps/exapool" "exasim for B1/B5"; fi
  if wants wire || wants b1_ts; then
    require_file "$top/integration/peers/node_modules" "the TypeScript driver" \
      "npm ci in integration/peers"
  fi
  wants b1_ts &&
    require_file "$top/bench/peers/exasolpool_bench.js" "B1 ExasolPool" "not in this checkout"
  wants b2 && require_file "$build/bench/connection_cost_bench" "B2"
  wants pool && require_file "$build/bench/pool_bench" "B3/B4"
  wants hikari && require_file "$top/bench/peers/hikari/run.sh" "B3 HikariCP" "not in this checkout"
  wants scale && require_file "$build/bench/scale_bench" "B5"
  wants remote && require_file "$build/bench/remote_bench" "R1"
  return 0
}

write_machine() {
  local cpu mem commit
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
  mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)
  commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
  # Changes to the code measured, not the suite's own output (bench/results and this run's
  # README section are tracked, and rewritten by every full run).
  if [ -n "$(git -C "$top" status --porcelain --untracked-files=no -- . ':(exclude)bench/results' \
    ':(exclude)bench/README.md' 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes)"
  fi
  {
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$commit"
    echo "cores (nproc)=$(nproc)"
    echo "CPU=${cpu:-unknown}"
    echo "memory=${mem:-unknown}"
    echo "system=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), kernel $(uname -r)"
    # Other work on the machine slows every variant (ratios hold better than absolute figures).
    echo "load average at start (1, 5, 15 min)=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    local size="full"
    [ "$quick" = 0 ] || size="--quick (tiny sizes: the figures mean nothing)"
    echo "run=$size, parts $parts, $seconds s per W/B1 case"
    echo "B1 layout=$b1_layout"
    echo "B1 rounds=$rounds (round 1: every variant; rounds 2-$rounds: exapool, physical_limit and ts_exasolpool, taking turns; medians shown)"
  } >"$out/machine.txt"
}

# Runs one step: its output goes to the terminal and to logs/<name>.log; a failure stops the
# suite naming the step.
step() {
  local name=$1
  shift
  local log="$out/logs/$name.log"
  say "step $name: $*"
  local started=$SECONDS
  "$@" 2>&1 | tee "$log" || die "step '$name' exited with an error (log: $log)"
  say "step $name done in $((SECONDS - started)) s"
}

# After a step, every variant it should have measured must have rows: no silently missing part.
require_rows() {
  local name=$1 benchmark=$2
  shift 2
  local variant
  for variant in "$@"; do
    awk -F, -v b="$benchmark" -v v="$variant" '$1 == b && $3 == v {found = 1} END {exit !found}' \
      "$csv" ||
      die "step '$name' wrote no $benchmark rows for variant '$variant' (log: $out/logs/$name.log)"
  done
}

# One exasim for both B1 programs, so the C++ variants and the TypeScript pool meet the same
# server, both over wss with its certificate pinned (as against Exasol 8, which requires TLS).
# Its stdin is a FIFO the suite holds open: closing it (or the suite dying) stops it. Arguments
# are more options of `exapool sim`.
sim_pid=""
start_exasim() {
  local fifo="$out/logs/exasim.stdin"
  rm -f "$fifo"
  mkfifo "$fifo"
  "${server_pin[@]}" "$build/apps/exapool" sim --sim.port=0 "$@" <"$fifo" >"$out/logs/exasim.out" 2>"$out/logs/exasim.log" &
  sim_pid=$!
  exec {sim_stdin}>"$fifo"
  local i
  for i in $(seq 1 300); do
    if grep -q '^exasim ready ' "$out/logs/exasim.out"; then break; fi
    kill -0 "$sim_pid" 2>/dev/null ||
      die "exasim (exapool sim) ended at start: $(cat "$out/logs/exasim.log")"
    sleep 0.1
  done
  local ready
  ready=$(grep '^exasim ready ' "$out/logs/exasim.out") ||
    die "exasim (exapool sim) did not report ready within 30 s"
  sim_dsn=$(sed -n 's/.* dsn=\([^ ]*\).*/\1/p' <<<"$ready")
  sim_fingerprint=$(sed -n 's/.* fingerprint=\([0-9a-f]*\).*/\1/p' <<<"$ready")
  sim_port=$(sed -n 's/.* port=\([0-9]*\).*/\1/p' <<<"$ready")
  [ -n "$sim_dsn" ] && [ -n "$sim_fingerprint" ] && [ -n "$sim_port" ] ||
    die "exasim's ready line has no port/fingerprint/dsn: $ready"
  say "exasim ready: $sim_dsn"
}

stop_exasim() {
  [ -n "$sim_pid" ] || return 0
  exec {sim_stdin}>&-
  wait "$sim_pid" || say "exasim exited with an error: $(cat "$out/logs/exasim.log")"
  sim_pid=""
}

kill_exasim_on_exit() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
}

run_wire() {
  step wire "$build/bench/wire_bench" --bench.seconds="$seconds" "${wire_args[@]}" --bench.csv="$csv"
  require_rows wire W cpp_client ts_driver
}

# One B1 round of each program that runs. $1: the round (1: every C++ variant; later rounds
# only those the targets compare, so that a round costs about a minute). A variant's rows of
# round k are its k-th rows in the CSV: report.js pairs them into per-round ratios.
run_b1_round() {
  local round=$1 suffix="" variants=()
  if [ "$round" -gt 1 ]; then
    suffix="_r$round"
    variants=(--bench.variants=exapool,physical_limit)
  fi
  if wants b1; then
    step "b1$suffix" "${client_pin[@]}" "$build/bench/end_to_end_bench" --bench.dsn="127.0.0.1:$sim_port" \
      --bench.wss --bench.fingerprint="$sim_fingerprint" --bench.sessions="$b1_sessions" \
      --bench.seconds="$seconds" "${variants[@]}" --bench.csv="$csv"
    if [ "$round" = 1 ]; then
      require_rows "b1$suffix" B1 exapool no_pool lock_seed lock_tuned physical_limit physical_limit_8
    fi
  fi
  if wants b1_ts; then
    step "b1_ts$suffix" "${client_pin[@]}" node "$top/bench/peers/exasolpool_bench.js" --dsn="$sim_dsn" \
      --fingerprint="$sim_fingerprint" --sessions="$b1_sessions" --seconds="$seconds" \
      "${ts_args[@]}" --csv="$csv"
    require_rows "b1_ts$suffix" B1 ts_exasolpool
  fi
}

run_b1() {
  start_exasim
  local round
  for round in $(seq 1 "$rounds"); do run_b1_round "$round"; done
  if [ "$rounds" -gt 1 ]; then
    if wants b1; then require_rounds B1 exapool physical_limit; fi
    if wants b1_ts; then require_rounds B1 ts_exasolpool; fi
  fi
  stop_exasim
}

# After the rounds: each named variant has a row per round for every workload, session count
# and metric (a round that wrote fewer rows would pair the wrong figures into ratios).
require_rounds() {
  local benchmark=$1 variant
  shift
  for variant in "$@"; do
    awk -F, -v b="$benchmark" -v v="$variant" -v n="$rounds" '
      $1 == b && $3 == v { count[$2 "," $4 "," $5]++ }
      END { for (k in count) if (count[k] != n) { print k ": " count[k]; bad = 1 }; exit bad }' \
      "$csv" >"$out/logs/rounds.txt" ||
      die "$benchmark variant $variant lacks rows of some of the $rounds rounds: $(head -3 "$out/logs/rounds.txt")"
  done
}

# B5: 1,000 pooled connections (--quick: 50) to an exasim of their own, over wss as B1, with the
# same pinning as B1. exasim shares one RSA key between the sessions (1,000 fresh keys would
# make the prewarm time exasim's key generation) and lets slow logins wait: they all arrive
# at once on a shared machine.
run_scale() {
  start_exasim --sim.shared-rsa-key --sim.login-timeout=5min
  step scale "${client_pin[@]}" "$build/bench/scale_bench" --bench.dsn="127.0.0.1:$sim_port" \
    --bench.wss --bench.fingerprint="$sim_fingerprint" --bench.connections="$scale_connections" \
    --bench.csv="$csv"
  require_rows scale B5 exapool
  stop_exasim
}

# R1: the same SELECT 1 workload through local sessions and through a service node in another
# process (remote_bench starts it), one pool node, one in-process exasim.
run_remote() {
  step remote "$build/bench/remote_bench" "${remote_args[@]}" --bench.csv="$csv"
  require_rows remote R1 local remote
}

run_b2() {
  step b2 "$build/bench/connection_cost_bench" "${b2_args[@]}" --bench.csv="$csv"
  require_rows b2 B2 open_ws open_wss borrow_exapool
}

run_pool() {
  step pool "$build/bench/pool_bench" "${pool_args[@]}" --csv="$csv"
  require_rows pool B3 exapool floor
  require_rows pool B4 exapool
}

run_hikari() {
  step hikari "$top/bench/peers/hikari/run.sh" "${hikari_args[@]}" --csv="$csv"
  require_rows hikari B3 hikaricp
}

# A data file the report wrote, or a failure naming the plot that needed it.
plot() {
  local script=$1 png=$2
  shift 2
  local file
  for file in "$@"; do
    [ -s "$out/data/$file" ] || die "plot $png: no data file data/$file (did its benchmark write rows?)"
  done
  say "plot $png"
  gnuplot -e "data='$out/data'; out='$out/$png'; plots='$top/bench/plots'" \
    "$top/bench/plots/$script" >"$out/logs/plot-$png.log" 2>&1 ||
    die "gnuplot $script failed: $(cat "$out/logs/plot-$png.log")"
  [ "$(head -c 8 "$out/$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    die "plot $png: gnuplot wrote no PNG"
}

report() {
  say "report: $out/results.md"
  node "$top/bench/plots/report.js" "$csv" "$out/machine.txt" "$out" || die "report.js failed"
  rm -f "$out"/*.png
  if wants b1 || wants b1_ts; then
    plot b1_qps.gp b1_qps.png B1_select1_qps.dat B1_rows1000_qps.dat
    plot b1_p99.gp b1_p99.png B1_select1_p99_latency.dat B1_rows1000_p99_latency.dat
    plot b1_cpu.gp b1_cpu.png B1_select1_cpu_us_per_query.dat B1_rows1000_cpu_us_per_query.dat
  fi
  wants b2 && plot b2_cost.gp b2_cost.png B2_latency.dat
  if wants pool || wants hikari; then plot b3_cycles.gp b3_cycles.png B3_cycle_cycles_per_s.dat; fi
  wants pool && plot b4_scale.gp b4_scale.png B4_waiting_ns_per_cycle.dat B4_waiting_bytes_per_waiter.dat
  return 0
}

# A full run into bench/results also refreshes the "Results of one run" section of
# bench/README.md: results.md between the markers, headings two levels down, plot paths from
# bench/.
update_readme() {
  local readme="$top/bench/README.md"
  [ "$out" = "$top/bench/results" ] && [ "$quick" = 0 ] && [ "$parts" = "$all_parts" ] || return 0
  grep -q '^<!-- results:begin' "$readme" && grep -q '^<!-- results:end' "$readme" ||
    die "bench/README.md has no results:begin/results:end markers"
  awk -v md="$out/results.md" '
    /^<!-- results:begin/ {
      print
      while ((getline line < md) > 0) {
        if (line ~ /^#/) line = "##" line
        if (line ~ /^!\[/) sub(/\]\(/, "](results/", line)
        print line
      }
      skipping = 1
      next
    }
    /^<!-- results:end/ { skipping = 0 }
    !skipping { print }
  ' "$readme" >"$readme.new" && mv "$readme.new" "$readme"
  say "bench/README.md: results section refreshed"
}

main() {
  parse_arguments "$@"
  set_sizes
  check_tools
  set_layout
  trap kill_exasim_on_exit EXIT
  rm -rf "$out/logs" "$out/data"
  mkdir -p "$out/logs"
  csv="$out/results.csv"
  echo "benchmark,workload,variant,sessions,metric,value,unit" >"$csv"
  write_machine
  local started=$SECONDS
  wants wire && run_wire
  if wants b1 || wants b1_ts; then run_b1; fi
  wants b2 && run_b2
  wants pool && run_pool
  wants hikari && run_hikari
  wants scale && run_scale
  wants remote && run_remote
  report
  update_readme
  say "done in $((SECONDS - started)) s: $csv, $out/results.md and the plots $(cd "$out" &&
    ls *.png 2>/dev/null | tr '\n' ' ')"
}

main "$@"
