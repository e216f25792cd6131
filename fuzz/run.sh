#!/usr/bin/env bash
# The longer fuzz run (fuzz/README.md): builds the targets with clang in build-fuzz, then runs
# each for SECONDS (default 600), one after the other, from its seed corpus plus what earlier
# runs found (build-fuzz/corpus-<target>). A crash stops that target, saves its reproducer as
# build-fuzz/artifacts/<target>-crash-<sha1> and makes this script exit 1 after the others ran.
#   fuzz/run.sh [SECONDS] [TARGET...]      TARGET: dsn response exasim (default: all three)
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(dsn response exasim)
out="$top/build-fuzz"

if [ ! -f "$out/CMakeCache.txt" ]; then
  CXX=clang++ cmake -S "$top/fuzz" -B "$out" >/dev/null || exit 1
fi
cmake --build "$out" -j"$(nproc)" || exit 1

export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus-$t" "$out/artifacts"
  echo "== fuzz_$t for $seconds s"
  if ! "$out/fuzz_$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
    "$out/corpus-$t" "$top/fuzz/corpus/$t" 2>"$out/fuzz_$t.log"; then
    failed=1
    echo "fuzz_$t FOUND A PROBLEM: see $out/fuzz_$t.log and $out/artifacts/"
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done|^INFO: .*corpus' "$out/fuzz_$t.log" |
    tail -n 4
done
exit $failed
