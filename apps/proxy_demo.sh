#!/usr/bin/env bash
# The dbt-shaped run, with and without exapool proxy: N separate client processes (`exapool
# query`, as dbt's threads or pyexasol scripts would be), P at a time, each logging in and
# running a few statements against exasim with a login latency (the seed measured ~1 s per
# connection). Direct, every process opens its own server session; through the proxy, they
# share the pool's. Prints a table and exits non-zero when a statement failed or the proxy
# opened more server sessions than its pool size.
#   apps/proxy_demo.sh EXAPOOL_BINARY [--processes=40] [--parallel=8] [--login-latency=1s]
#                      [--pool-size=8]
set -euo pipefail

exapool=${1:?usage: proxy_demo.sh EXAPOOL_BINARY [--processes=N] [--parallel=P] [--login-latency=T] [--pool-size=S]}
shift
processes=40 parallel=8 latency=1s pool=8
for arg in "$@"; do
  case "$arg" in
  --processes=*) processes=${arg#*=} ;;
  --parallel=*) parallel=${arg#*=} ;;
  --login-latency=*) latency=${arg#*=} ;;
  --pool-size=*) pool=${arg#*=} ;;
  *) echo "proxy_demo.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
pids=()
ready=
cleanup() {
  for fd in 7 8; do eval "exec $fd>&-" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a server command whose stdin is a pipe held open on file descriptor $1 (closing it
# stops the server), output in $2.out/.err; waits for its ready line and puts it in $ready.
# (Not in a command substitution: its subshell would close the pipe when it ends.)
start_server() {
  local fd=$1 name=$2
  shift 2
  mkfifo "$work/$name.in"
  "$@" <"$work/$name.in" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  eval "exec $fd>\"$work/$name.in\""
  for _ in $(seq 1 300); do
    if grep -q ' ready ' "$work/$name.out" 2>/dev/null; then
      ready=$(grep ' ready ' "$work/$name.out")
      return 0
    fi
    sleep 0.1
  done
  echo "proxy_demo.sh: $name did not start:" >&2
  cat "$work/$name.err" >&2
  exit 1
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# Stops the server on $1 (its stdin closes) and waits for its summary line in $2.err.
stop_server() {
  eval "exec $1>&-"
  for _ in $(seq 1 300); do
    grep -q 'stopped' "$work/$2.err" 2>/dev/null && return 0
    sleep 0.1
  done
}

# One client process: log in, a few dbt-like statements, disconnect.
export EXAPOOL_PASSWORD=exasol
client() { # $1: port, $2: process number
  "$exapool" query --exasol.dsn="127.0.0.1:$1" --exasol.plain-ws --exasol.user=sys \
    "SELECT $2 AS RUN_NO, COUNT(*) AS N FROM DUAL" >/dev/null 2>>"$work/clients.err"
}
export -f client
export exapool work

run_phase() { # $1: port; prints failures and seconds
  local start end failed
  start=$(date +%s%N)
  failed=$(seq 1 "$processes" | xargs -P "$parallel" -I{} bash -c "client $1 {} || echo x" | wc -l)
  end=$(date +%s%N)
  local ms=$(((end - start) / 1000000))
  printf '%s %d.%02d\n' "$failed" $((ms / 1000)) $((ms % 1000 / 10))
}

sessions_opened() { sed -n 's/.*sessions opened \([0-9]*\).*/\1/p' "$work/$1.err"; }

# Direct: every process logs in to exasim.
start_server 7 sim_direct "$exapool" sim --sim.port=0 --sim.login-latency="$latency"
read -r direct_failed direct_s <<<"$(run_phase "$(field port "$ready")")"
stop_server 7 sim_direct
direct_sessions=$(sessions_opened sim_direct)

# Through exapool proxy, in front of a fresh exasim.
start_server 7 sim_proxy "$exapool" sim --sim.port=0 --sim.login-latency="$latency"
upstream=$(field dsn "$ready")
start_server 8 proxy "$exapool" proxy --proxy.port=0 --proxy.upstream="$upstream" \
  --proxy.shared-rsa-key --exapool.max-size="$pool"
read -r proxy_failed proxy_s <<<"$(run_phase "$(field port "$ready")")"
stop_server 8 proxy
stop_server 7 sim_proxy
proxy_sessions=$(sessions_opened sim_proxy)

printf '%s processes, %s at a time, each logging in and running a statement; exasim login latency %s; pool size %s\n' \
  "$processes" "$parallel" "$latency" "$pool"
printf '%-28s %10s %20s\n' "" "direct" "via exapool proxy"
printf '%-28s %10s %20s\n' "failed processes" "$direct_failed" "$proxy_failed"
printf '%-28s %10s %20s\n' "server sessions (exasim)" "$direct_sessions" "$proxy_sessions"
printf '%-28s %10s %20s\n' "wall time (s)" "$direct_s" "$proxy_s"
if [ -s "$work/clients.err" ]; then
  echo "client errors:" >&2
  sort "$work/clients.err" | uniq -c | head -5 >&2
fi
[ "$direct_failed" = 0 ] && [ "$proxy_failed" = 0 ] && [ "$proxy_sessions" -le "$pool" ]
