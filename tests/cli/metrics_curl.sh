#!/bin/sh
# The metrics endpoint as an operator uses it: `exapool proxy --exapool.metrics-port=P` in front
# of an exasim, real statements through it, then curl on /metrics, /health, /stats and a path
# that does not exist; last, the proxy stops on SIGTERM, exits 0 and its port closes.
# Usage: metrics_curl.sh <exapool> <node>; prints what it checked, exits non-zero on the first
# miss. node (which run.sh installs for the TypeScript driver) finds a free port and parses
# the JSON, so the test needs no package of its own beyond curl.
set -eu
exapool=$1
node=$2
password=curl-test-s3cret # must never appear in anything the endpoint or the proxy prints
dir=$(mktemp -d)
sim_pid=
proxy_pid=
cleanup() {
  [ -z "$proxy_pid" ] || kill "$proxy_pid" 2>/dev/null || true
  exec 3>&-
  [ -z "$sim_pid" ] || wait "$sim_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

fail() { echo "MISS: $1"; [ -z "${2:-}" ] || { echo "--- got:"; cat "$2"; }; exit 1; }

# Waits up to 10 s for a line matching $2 in file $1.
wait_for() {
  for _ in $(seq 1 100); do
    grep -q "$2" "$1" && return 0
    sleep 0.1
  done
  return 1
}

# exasim stops when its stdin ends: fd 3 keeps the pipe open until this script exits.
mkfifo "$dir/sim.in"
EXASIM_PASSWORD=$password "$exapool" sim --sim.port=0 --sim.login-latency=10ms \
  < "$dir/sim.in" > "$dir/sim.out" 2>&1 &
sim_pid=$!
exec 3>"$dir/sim.in"
wait_for "$dir/sim.out" "exasim ready" || fail "exasim did not start" "$dir/sim.out"
upstream=$(sed -n 's/.*dsn=\([^ ]*\).*/\1/p' "$dir/sim.out")
sim_port=${upstream##*:}

# A port nothing listens on now (the proxy takes it a moment later; a clash fails the start,
# which the next attempt survives).
free_port() {
  "$node" -e 'const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
for attempt in 1 2 3; do
  metrics_port=$(free_port)
  "$exapool" proxy --proxy.port=0 --proxy.upstream="$upstream" --exapool.max-size=2 \
    --exapool.pool-name=curl-test --exapool.metrics-port="$metrics_port" \
    > "$dir/proxy.out" 2> "$dir/proxy.err" &
  proxy_pid=$!
  wait_for "$dir/proxy.out" "exapool proxy ready" && break
  kill "$proxy_pid" 2>/dev/null || true
  wait "$proxy_pid" 2>/dev/null || true
  proxy_pid=
  [ "$attempt" -lt 3 ] || fail "the proxy did not start" "$dir/proxy.err"
done
grep -q " metrics-port=$metrics_port " "$dir/proxy.out" ||
  fail "the ready line names the metrics port $metrics_port" "$dir/proxy.out"
proxy_port=$(sed -n 's/.* port=\([0-9]*\) .*/\1/p' "$dir/proxy.out")
echo "proxy ready ok"

# Three statements through the proxy (one client process, so one pool: user sys on exasim).
EXAPOOL_PASSWORD=$password "$exapool" query --exasol.dsn="127.0.0.1:$proxy_port" \
  --exasol.plain-ws --exasol.user=sys "SELECT 1" "SELECT 2" "SELECT 3" > "$dir/query.out" 2>&1 ||
  fail "queries through the proxy" "$dir/query.out"
echo "queries ok"

# GET $1 into $dir/body; prints "<status> <content type>".
get() {
  curl -sS --max-time 10 -o "$dir/body" -w '%{http_code} %{content_type}' \
    "http://127.0.0.1:$metrics_port$1"
}

# The value of the sample whose series (the text before the value) is exactly $1.
value_of() {
  awk -v series="$1" 'substr($0, 1, length(series) + 1) == series " " { print $NF }' "$dir/body"
}

head=$(get /metrics)
[ "${head%%;*}" = "200 text/plain" ] || fail "/metrics answers 200 text/plain, not '$head'"
case "$head" in *"; version=0.0.4"*) ;; *) fail "/metrics is Prometheus text 0.0.4: '$head'" ;; esac
series="pool=\"curl-test\",label=\"sys@127.0.0.1:$sim_port\""
opened=$(value_of "exapool_pool_opened_total{$series}")
borrowed=$(value_of "exapool_pool_borrowed_total{$series}")
max_size=$(value_of "exapool_pool_max_size{$series}")
[ -n "$opened" ] && [ "$opened" -ge 1 ] && [ "$opened" -le 2 ] ||
  fail "opened_total of {$series} is 1..2, not '$opened'" "$dir/body"
[ -n "$borrowed" ] && [ "$borrowed" -ge 3 ] ||
  fail "borrowed_total of {$series} counts the 3 statements, not '$borrowed'" "$dir/body"
[ "$max_size" = 2 ] || fail "max_size of {$series} is 2, not '$max_size'" "$dir/body"
# Valid exposition: each family announced once, no series twice.
[ -z "$(grep '^# TYPE ' "$dir/body" | sort | uniq -d)" ] || fail "a family announced twice" "$dir/body"
[ -z "$(grep -v '^#' "$dir/body" | sed 's/ [^ ]*$//' | sort | uniq -d)" ] ||
  fail "a series twice" "$dir/body"
cp "$dir/body" "$dir/metrics"
echo "metrics ok: opened $opened, borrowed $borrowed"

head=$(get /health)
[ "${head%% *}" = 200 ] || fail "/health answers 200, not '$head'" "$dir/body"
[ "$(cat "$dir/body")" = ok ] || fail "/health says ok" "$dir/body"
echo "health ok"

head=$(get /stats)
[ "$head" = "200 application/json" ] || fail "/stats answers 200 application/json, not '$head'"
cp "$dir/body" "$dir/stats"
"$node" -e '
const stats = JSON.parse(require("fs").readFileSync(0, "utf8"));
const pools = stats.pools;
if (!Array.isArray(pools) || pools.length !== 1) throw new Error("one pool expected");
const p = pools[0];
if (p.name !== "curl-test") throw new Error("name " + p.name);
if (p.label !== "sys@127.0.0.1:" + process.argv[1]) throw new Error("label " + p.label);
if (!(p.opened >= 1 && p.borrowed >= 3)) throw new Error("opened " + p.opened + " borrowed " + p.borrowed);
' "$sim_port" < "$dir/stats" > "$dir/node.out" 2>&1 || fail "/stats is the pool's JSON: $(cat "$dir/node.out")" "$dir/stats"
echo "stats ok"

head=$(get /no-such-path)
[ "${head%% *}" = 404 ] || fail "an unknown path answers 404, not '$head'" "$dir/body"
echo "unknown path ok"

kill -TERM "$proxy_pid"
code=0
wait "$proxy_pid" || code=$?
proxy_pid=
[ "$code" = 0 ] || fail "the proxy exits 0 on SIGTERM, not $code" "$dir/proxy.err"
grep -q "exapool proxy stopped: pools 1, upstream sessions opened $opened" "$dir/proxy.err" ||
  fail "the proxy's summary" "$dir/proxy.err"
if curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null; then
  fail "the metrics port closes with the proxy"
fi
echo "stop ok"

for f in metrics stats proxy.out proxy.err query.out; do
  ! grep -q "$password" "$dir/$f" || fail "the password appears in $f" "$dir/$f"
done
echo "no secret ok"
echo "metrics over curl: all ok"
