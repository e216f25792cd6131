#!/bin/sh
# examples/http_service end to end, as a user runs it: exasim and the service as processes of
# their own, requests with curl, then SIGTERM. Checks, each of which fails the test:
# - rows: CREATE and INSERT answer their row counts, a SELECT its columns and rows (exact JSON);
# - an SQL error is 422 with exapool's kind (server_error) and the server's sqlCode (42000);
# - an unknown path is 404, GET /query 405 with Allow: POST;
# - a body over --max-body is 413, one just under it is served; two requests share a connection;
# - the pool exhausted (a pool of 1 held by a slow statement) is 503 with acquire_timeout;
# - SIGTERM while that slow statement runs: new connections are refused, the statement's answer
#   still arrives (200, its rows), the service exits 0;
# - the server's view: the service's sessions are live in EXA_ALL_SESSIONS while it runs and
#   none is left after it stopped; exasim's own count at its end agrees (opened = closed);
# - the password appears in no answer and no line the service printed.
# Usage: http_service_test.sh <http_service> <exasim> <exapool> <curl>
set -eu
service=$1 exasim=$2 exapool=$3 curl=$4
password=pw-6f1d-never-printed
dir=$(mktemp -d)
pid=
cleanup() {
  [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
  exec 3>&- # exasim's stdin: it stops
  rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $1"
  if [ $# -gt 1 ]; then echo "--- got:"; cat "$2"; echo; fi
  echo "--- service output:"; cat "$dir/service.out" 2>/dev/null || true
  exit 1
}

# wait_for <file> <text>: up to 10 s for the text to appear in the file.
wait_for() {
  for _ in $(seq 1 100); do
    grep -q "$2" "$1" && return 0
    sleep 0.1
  done
  fail "'$2' did not appear" "$1"
}

# post <name> <sql> [path]: the status to <name>.status, the body to <name>.json.
post() {
  "$curl" -sS --max-time 60 -o "$dir/$1.json" -w '%{http_code}' --data-binary "$2" \
    "$url${3:-/query}" > "$dir/$1.status" || true
}

# expect <name> <status> <grep -E pattern the whole body matches>
expect() {
  [ "$(cat "$dir/$1.status")" = "$2" ] ||
    fail "$1: status $(cat "$dir/$1.status"), expected $2" "$dir/$1.json"
  grep -Eqx -- "$3" "$dir/$1.json" || fail "$1: the body does not match $3" "$dir/$1.json"
  echo "$1: ok"
}

# other_sessions [condition]: live sessions other than the asking one (and meeting the
# condition), in the server's view (EXA_ALL_SESSIONS).
other_sessions() {
  EXAPOOL_PASSWORD=$password "$exapool" query --exasol.dsn="$dsn" --exasol.user=sys --format=csv \
    "SELECT COUNT(*) AS N FROM EXA_ALL_SESSIONS WHERE SESSION_ID <> CURRENT_SESSION ${1:-}" |
    tail -n 1 | tr -d '\r'
}

# exasim stops when its stdin ends: fd 3 keeps the pipe open until the end of the test.
mkfifo "$dir/sim.in"
EXASIM_PASSWORD=$password "$exasim" --sim.port=0 < "$dir/sim.in" > "$dir/sim.out" 2>&1 &
sim_pid=$!
exec 3>"$dir/sim.in"
wait_for "$dir/sim.out" "exasim ready"
dsn=$(sed -n 's/.*dsn=\([^ ]*\).*/\1/p' "$dir/sim.out")

# A pool of 1 and a short acquire timeout, so a slow statement exhausts the pool; a small body
# limit, so the 413 needs no megabytes.
EXAPOOL_DSN=$dsn EXAPOOL_USER=sys EXAPOOL_PASSWORD=$password EXAPOOL_POOL_SIZE=1 \
  "$service" --port=0 --max-body=4096 --acquire-timeout=1 > "$dir/service.out" 2>&1 &
pid=$!
wait_for "$dir/service.out" "listening on"
port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/query.*|\1|p' "$dir/service.out")
url="http://127.0.0.1:$port"

post create "CREATE TABLE visits (n DECIMAL(9,0), page VARCHAR(20))"
expect create 200 '\{"rowCount":0\}'
post insert "INSERT INTO visits VALUES (1, '/home'), (2, NULL)"
expect insert 200 '\{"rowCount":2\}'
post select "SELECT n, page FROM visits ORDER BY n"
expect select 200 '\{"columns":\[\{"name":"N","type":"DECIMAL"\},\{"name":"PAGE","type":"VARCHAR"\}\],"rows":\[\[1,"/home"\],\[2,null\]\]\}'
post sql_error "SELEC 1"
expect sql_error 422 '\{"error":\{"kind":"server_error","sqlCode":"42000","message":"[^"]*syntax error.*"\}\}'
post not_found "SELECT 1" /nope
expect not_found 404 '\{"error":\{"kind":"not_found",.*\}\}'

"$curl" -sS --max-time 30 -D "$dir/get.headers" -o /dev/null "$url/query"
grep -q '^HTTP/1.1 405' "$dir/get.headers" || fail "GET /query: not 405" "$dir/get.headers"
grep -qi '^Allow: POST' "$dir/get.headers" || fail "GET /query: no Allow: POST" "$dir/get.headers"
echo "get: ok"

spaces() { head -c "$1" /dev/zero | tr '\0' ' '; }
post too_large "SELECT 1 $(spaces 5000)"
expect too_large 413 '\{"error":\{"kind":"too_large",.*\}\}'
post under_limit "SELECT 7 AS SEVEN $(spaces 4000)"
expect under_limit 200 '\{"columns":\[\{"name":"SEVEN","type":"DECIMAL"\}\],"rows":\[\[7\]\]\}'

# Keep-alive: curl's second transfer reuses the first one's connection (0 new connects).
"$curl" -sS --max-time 30 -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
  --data-binary "SELECT 1" "$url/query" "$url/query" > "$dir/keep_alive"
printf '200 1\n200 0\n' | cmp -s - "$dir/keep_alive" || fail "keep-alive" "$dir/keep_alive"
echo "keep-alive: ok"

live=$(other_sessions)
[ "$live" -ge 1 ] || fail "the service's pooled session is not in EXA_ALL_SESSIONS ($live)"
echo "live sessions while running: $live"

# A statement that keeps SQLite busy for seconds holds the pool's only connection.
slow="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000) SELECT COUNT(*) AS N FROM c"
post slow "$slow" &
slow_pid=$!
for _ in $(seq 1 100); do
  [ "$(other_sessions "AND STATUS = 'EXECUTE SQL'")" -eq 1 ] && break
  sleep 0.1
done
[ "$(other_sessions "AND STATUS = 'EXECUTE SQL'")" -eq 1 ] || fail "the slow statement never ran"
post exhausted "SELECT 1"
expect exhausted 503 '\{"error":\{"kind":"acquire_timeout",.*\}\}'

# SIGTERM while the slow statement runs: no new connection, the statement is answered.
kill -TERM "$pid"
wait_for "$dir/service.out" "stopping: 1 request(s) in flight"
if "$curl" -sS --max-time 10 -o /dev/null --data-binary "SELECT 1" "$url/query" 2> "$dir/refused"; then
  fail "a new connection after SIGTERM was served" "$dir/refused"
fi
echo "refused after SIGTERM: ok"
wait "$slow_pid"
expect slow 200 '\{"columns":\[\{"name":"N","type":"DECIMAL"\}\],"rows":\[\[10000000\]\]\}'
status=0
wait "$pid" || status=$?
pid=
[ "$status" -eq 0 ] || fail "the service exited $status after SIGTERM"
grep -q "http_service stopped" "$dir/service.out" || fail "no 'stopped' line" "$dir/service.out"
echo "exit 0 after SIGTERM: ok"

live=$(other_sessions)
[ "$live" -eq 0 ] || fail "$live sessions left in EXA_ALL_SESSIONS after the service stopped"
echo "no session left: ok"
if grep -F -q -- "$password" "$dir"/*.json "$dir/service.out"; then
  fail "the password appears in an answer or the service's output"
fi
echo "no password printed: ok"

exec 3>&- # exasim stops and prints its counts
wait "$sim_pid"
summary=$(grep "exasim stopped" "$dir/sim.out") || fail "exasim printed no summary" "$dir/sim.out"
opened=$(echo "$summary" | sed -n 's/.*sessions opened \([0-9]*\), closed \([0-9]*\).*/\1/p')
closed=$(echo "$summary" | sed -n 's/.*sessions opened \([0-9]*\), closed \([0-9]*\).*/\2/p')
[ -n "$opened" ] && [ "$opened" = "$closed" ] || fail "exasim: $summary"
echo "exasim: $summary"
echo "http_service: all checks passed"
