#!/usr/bin/env bash
# pgbouncer's overhead on this machine: the yardstick for `exapool proxy` (issue 9).
# `pgbench -S` (a SELECT by primary key per transaction) runs directly against PostgreSQL 15
# and through pgbouncer in transaction mode with a pool of 8, at each client count, in one run.
# PostgreSQL and pgbouncer run as the postgres user from a scratch directory on private ports
# and Unix sockets; the system's own clusters are not touched. Installs pgbouncer from Debian
# when it is missing (as root).
#
#   bench/peers/pgbouncer_bench.sh [--seconds=10] [--clients=1,32,128] [--csv=FILE]
#
# Prints a table and appends CSV rows in the suite's convention (bench/README.md):
#   P1,select_pk,postgres,32,qps,<n>,queries/s      P1,select_pk,pgbouncer,32,p99_ms,<n>,ms
#   P1,select_pk,pgbouncer,32,ratio_vs_direct,<n>,x
set -euo pipefail

seconds=10
clients=1,32,128
csv=
for arg in "$@"; do
  case "$arg" in
  --seconds=*) seconds=${arg#*=} ;;
  --clients=*) clients=${arg#*=} ;;
  --csv=*) csv=${arg#*=} ;;
  *)
    echo "pgbouncer_bench: unknown option '$arg' (--seconds=, --clients=, --csv=)" >&2
    exit 2
    ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "pgbouncer_bench: --seconds wants a positive whole number, not '$seconds'" >&2; exit 2; }
[[ "$clients" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "pgbouncer_bench: --clients wants positive whole numbers, not '$clients'" >&2; exit 2; }

pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/pgbench" ] || { echo "pgbouncer_bench: PostgreSQL 15 is missing (apt-get install postgresql-15)" >&2; exit 1; }
if ! command -v pgbouncer >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "pgbouncer_bench: pgbouncer is missing (apt-get install pgbouncer)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
fi

pg_port=55432
bouncer_port=56432
work=$(mktemp -d /tmp/pgbouncer_bench.XXXXXX)
chown postgres: "$work"
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  [ -f "$work/bouncer.pid" ] && kill "$(cat "$work/bouncer.pid")" 2>/dev/null || true
  as_pg "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# Clients connect over TCP to both, so the only difference is pgbouncer's hop.
as_pg "$pgbin/initdb" -D "$work/data" -A trust -U postgres >/dev/null
as_pg "$pgbin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w \
  -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
as_pg "$pgbin/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -i -q -s 10 postgres >/dev/null 2>&1

cat >"$work/pgbouncer.ini" <<EOF
[databases]
postgres = host=127.0.0.1 port=$pg_port dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir = $work
auth_type = trust
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = 8
max_client_conn = 1000
pidfile = $work/bouncer.pid
logfile = $work/bouncer.log
EOF
echo '"postgres" ""' >"$work/userlist.txt"
chown postgres: "$work/pgbouncer.ini" "$work/userlist.txt"
as_pg pgbouncer -d "$work/pgbouncer.ini"
for _ in $(seq 50); do [ -f "$work/bouncer.pid" ] && break; sleep 0.1; done

# One pgbench run: prints "<tps> <p99 ms>". -l logs every transaction's latency (µs, 3rd field).
run() { # $1 port, $2 clients
  local dir="$work/run-$1-$2" out
  mkdir -p "$dir" && chown postgres: "$dir"
  out=$(cd "$dir" && as_pg "$pgbin/pgbench" -h 127.0.0.1 -p "$1" -U postgres -S -n \
    -c "$2" -j "$(($2 < 2 ? 1 : 2))" -T "$seconds" -l postgres 2>&1)
  local tps p99
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -1)
  [ -n "$tps" ] || { echo "pgbouncer_bench: pgbench failed on port $1 with $2 clients: $out" >&2; exit 1; }
  p99=$(cat "$dir"/pgbench_log.* | awk '{print $3}' | sort -n |
    awk '{v[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.3f", v[i]/1000}')
  echo "$tps $p99"
}

printf '%8s %14s %14s %10s %12s %12s\n' clients direct_qps pgbouncer_qps ratio direct_p99 bouncer_p99
IFS=, read -ra counts <<<"$clients"
for n in "${counts[@]}"; do
  read -r d_qps d_p99 < <(run "$pg_port" "$n")
  read -r b_qps b_p99 < <(run "$bouncer_port" "$n")
  ratio=$(awk -v b="$b_qps" -v d="$d_qps" 'BEGIN {printf "%.2f", b / d}')
  printf '%8s %14.0f %14.0f %9sx %10s ms %10s ms\n' "$n" "$d_qps" "$b_qps" "$ratio" "$d_p99" "$b_p99"
  if [ -n "$csv" ]; then
    {
      echo "P1,select_pk,postgres,$n,qps,$d_qps,queries/s"
      echo "P1,select_pk,postgres,$n,p99_ms,$d_p99,ms"
      echo "P1,select_pk,pgbouncer,$n,qps,$b_qps,queries/s"
      echo "P1,select_pk,pgbouncer,$n,p99_ms,$b_p99,ms"
      echo "P1,select_pk,pgbouncer,$n,ratio_vs_direct,$ratio,x"
    } >>"$csv"
  fi
done
