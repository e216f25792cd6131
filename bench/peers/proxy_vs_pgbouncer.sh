#!/usr/bin/env bash
# P1 side by side, in one run on one machine: pgbouncer's overhead (pgbouncer_bench.sh: pgbench -S
# direct against PostgreSQL 15 and through pgbouncer, transaction mode, pool of 8) and exapool
# proxy's (build/bench/proxy_bench: SELECT 1 direct against exasim and through `exapool proxy`,
# transaction mode, pool of 8), with the same client counts and seconds. Prints both programs'
# own tables, then one table of ratios only: each pooler's queries/s divided by its server's
# direct queries/s at the same client count. The machine is shared and noisy, so nothing about
# the figures is asserted; a failed step fails the script.
#
#   bench/peers/proxy_vs_pgbouncer.sh [--seconds=10] [--clients=1,8,32,128] [--build=build]
#                                     [--csv=FILE]
#
# --csv appends both programs' P1 rows (bench/README.md) to FILE.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
seconds=10
clients=1,8,32,128
build="$here/../../build"
csv=
for arg in "$@"; do
  case "$arg" in
  --seconds=*) seconds=${arg#*=} ;;
  --clients=*) clients=${arg#*=} ;;
  --build=*) build=${arg#*=} ;;
  --csv=*) csv=${arg#*=} ;;
  *)
    echo "proxy_vs_pgbouncer: unknown option '$arg' (--seconds=, --clients=, --build=, --csv=)" >&2
    exit 2
    ;;
  esac
done
# pgbench -T takes whole seconds, so both take whole seconds.
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "proxy_vs_pgbouncer: --seconds wants a positive whole number, not '$seconds'" >&2; exit 2; }
[[ "$clients" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "proxy_vs_pgbouncer: --clients wants positive whole numbers, not '$clients'" >&2; exit 2; }
proxy_bench="$build/bench/proxy_bench"
[ -x "$proxy_bench" ] || { echo "proxy_vs_pgbouncer: $proxy_bench is missing (cmake --build $build --target proxy_bench)" >&2; exit 1; }

rows=$(mktemp /tmp/proxy_vs_pgbouncer.XXXXXX.csv)
trap 'rm -f "$rows"' EXIT

echo "== load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "== pgbouncer: bench/peers/pgbouncer_bench.sh --seconds=$seconds --clients=$clients"
"$here/pgbouncer_bench.sh" --seconds="$seconds" --clients="$clients" --csv="$rows"
echo
echo "== exapool proxy: $proxy_bench --bench.seconds=$seconds --bench.clients=$clients"
"$proxy_bench" --bench.seconds="$seconds" --bench.clients="$clients" --bench.csv="$rows"
echo

# The ratios from the rows both programs wrote (P1,<workload>,<variant>,<n>,<metric>,<v>,<unit>).
ratio_of() { # $1 variant, $2 clients
  awk -F, -v v="$1" -v n="$2" '$1 == "P1" && $3 == v && $4 == n && $5 == "ratio_vs_direct" {r = $6} END {if (r == "") exit 1; printf "%.2fx", r}' "$rows"
}
echo "P1: queries/s through the pooler / queries/s direct to its server (pool of 8, transaction mode,"
echo "    $seconds s per phase; pgbouncer: pgbench -S on PostgreSQL 15; exapool proxy: SELECT 1 on exasim)"
printf '%8s | %17s | %21s\n' clients pgbouncer/direct "exapool proxy/direct"
IFS=, read -ra counts <<<"$clients"
for n in "${counts[@]}"; do
  pg=$(ratio_of pgbouncer "$n") || { echo "proxy_vs_pgbouncer: no pgbouncer ratio for $n clients" >&2; exit 1; }
  px=$(ratio_of exapool_proxy "$n") || { echo "proxy_vs_pgbouncer: no exapool proxy ratio for $n clients" >&2; exit 1; }
  printf '%8s | %17s | %21s\n' "$n" "$pg" "$px"
done
if [ -n "$csv" ]; then
  cat "$rows" >>"$csv"
fi
