#!/bin/sh
# exapool query against an exasim of its own: --format=csv and json, statements from stdin
# ('-', split at ';' outside quotes and comments), and the hint for an untrusted certificate.
# Usage: query_formats.sh <exapool>; prints what it checked, exits non-zero on the first miss.
set -eu
exapool=$1
dir=$(mktemp -d)
trap 'exec 3>&-; rm -rf "$dir"' EXIT
mkfifo "$dir/stdin"
# exasim stops when its stdin ends: fd 3 keeps the pipe open until this script exits.
"$exapool" sim --sim.port=0 < "$dir/stdin" > "$dir/sim.out" 2>&1 &
exec 3>"$dir/stdin"
for _ in $(seq 1 100); do
  grep -q "exasim ready" "$dir/sim.out" && break
  sleep 0.1
done
dsn=$(sed -n 's/.*dsn=\([^ ]*\).*/\1/p' "$dir/sim.out")
[ -n "$dsn" ] || { echo "exasim did not start:"; cat "$dir/sim.out"; exit 1; }
port=${dsn##*:}
export EXAPOOL_USER=sys EXAPOOL_PASSWORD=exasol

fail() { echo "MISS: $1"; echo "--- got:"; cat "$2"; exit 1; }

"$exapool" query --exasol.dsn="$dsn" --format=csv \
  "SELECT 1 AS a, 'x,\"y\"' AS b, NULL AS c" > "$dir/csv"
printf 'A,B,C\r\n1,"x,""y""",\r\n' | cmp -s - "$dir/csv" || fail "csv" "$dir/csv"
echo "csv ok"

"$exapool" query --exasol.dsn="$dsn" --format=json "SELECT 2 AS n, 'z' AS s" > "$dir/json"
grep -qx '{"results":\[{"columns":\["N","S"\],"rows":\[\[2,"z"\]\]}\]}' "$dir/json" ||
  fail "json" "$dir/json"
echo "json ok"

printf "CREATE TABLE t (v VARCHAR(10));\nINSERT INTO t VALUES ('a;b'); -- a comment; not a split\n/* ; */ SELECT v FROM t;\n" |
  "$exapool" query --exasol.dsn="$dsn" --format=json - > "$dir/stdin.json"
[ "$(wc -l < "$dir/stdin.json")" -eq 3 ] || fail "three statements from stdin" "$dir/stdin.json"
grep -q '"rows":\[\["a;b"\]\]' "$dir/stdin.json" || fail "the quoted ';' kept" "$dir/stdin.json"
echo "stdin ok"

# A self-signed certificate without a pinned fingerprint: refused, with the hint.
if "$exapool" query --exasol.dsn="127.0.0.1:$port" "SELECT 1" > "$dir/untrusted" 2>&1; then
  fail "an untrusted certificate must fail" "$dir/untrusted"
fi
grep -q "hint: the server's certificate is not trusted" "$dir/untrusted" ||
  fail "the certificate hint" "$dir/untrusted"
echo "certificate hint ok"
echo "query formats: all ok"
