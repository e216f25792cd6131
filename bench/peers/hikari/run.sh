#!/bin/sh
# Compiles and runs the HikariCP reference for B3 (borrow + return cycles per second).
#   bench/peers/hikari/run.sh [build-dir] [--threads=8,32,64,1000,10000] [--seconds=3]
#                             [--warmup=1] [--pool=8] [--csv=<path>]
# build-dir: where the classes go (default: a temporary directory, removed at exit). Every
# argument starting with -- is passed to the harness (HikariCycleBench --help lists them).
# Needs Debian's default-jdk-headless, libhikaricp-java, libslf4j-java, libcommons-cli-java.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
jars=/usr/share/java

missing() {
  echo "hikari/run.sh: $1 is missing: apt-get install $2" >&2
  exit 3
}

command -v java >/dev/null 2>&1 || missing "java" "default-jdk-headless"
command -v javac >/dev/null 2>&1 || missing "javac" "default-jdk-headless"
[ -f "$jars/HikariCP.jar" ] || missing "$jars/HikariCP.jar" "libhikaricp-java"
[ -f "$jars/slf4j-api.jar" ] || missing "$jars/slf4j-api.jar" "libslf4j-java"
# slf4j-nop: HikariCP logs through slf4j; this binding drops every message so the output
# holds only the figures.
[ -f "$jars/slf4j-nop.jar" ] || missing "$jars/slf4j-nop.jar" "libslf4j-java"
[ -f "$jars/commons-cli.jar" ] || missing "$jars/commons-cli.jar" "libcommons-cli-java"
classpath="$jars/HikariCP.jar:$jars/slf4j-api.jar:$jars/slf4j-nop.jar:$jars/commons-cli.jar"

build=""
case "${1:-}" in
  --*|"") ;;
  *) build=$1; shift ;;
esac
if [ -z "$build" ]; then
  build=$(mktemp -d "${TMPDIR:-/tmp}/hikari-bench.XXXXXX")
  trap 'rm -rf "$build"' EXIT
fi
mkdir -p "$build"

javac -Xlint:all -Werror -d "$build" -cp "$classpath" \
  "$here/NoopJdbcDriver.java" "$here/HikariCycleBench.java"
# 10,000 threads run with 256 KiB stacks (set per thread); a fixed heap keeps GC out of the way.
java -Xms256m -Xmx256m -cp "$build:$classpath" HikariCycleBench "$@"
