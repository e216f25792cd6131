#!/usr/bin/env bash
# PK: what a consumer pays to use exapool (issue 11): examples/embedding/main.cpp built
#   installed          against `cmake --install` of an exapool build, with find_package
#   add_subdirectory   inside a parent project that adds exapool's source tree
# Both Release, without ccache (every object compiled), -j2. Prints the build time (configure +
# build), the binary's size (and stripped), and the build folder's size; appends CSV rows
# PK,embedding,<route>,0,build_s|binary_bytes|stripped_bytes|build_dir_bytes when given --csv.
#   bench/package_cost.sh [--build=<exapool build dir, default build>] [--csv=<file>]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
csv=""
for arg in "$@"; do
  case "$arg" in
  --build=?*) build="${arg#--build=}" ;;
  --csv=?*) csv="${arg#--csv=}" ;;
  *)
    echo "usage: bench/package_cost.sh [--build=<dir>] [--csv=<file>]" >&2
    exit 2
    ;;
  esac
done
[ -f "$build/CMakeCache.txt" ] || { echo "no exapool build in $build (build it first)" >&2; exit 1; }
work=$(mktemp -d /tmp/exapool-package-cost.XXXXXX)
trap 'rm -rf "$work"' EXIT
export CCACHE_DISABLE=1

cmake --install "$build" --prefix "$work/prefix" >/dev/null

# The same main.cpp in a parent project that adds the source tree.
mkdir -p "$work/parent"
cp "$top/examples/embedding/main.cpp" "$work/parent/main.cpp"
cat >"$work/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(parent LANGUAGES CXX)
add_subdirectory("$top" exapool)
add_executable(embedding main.cpp)
target_link_libraries(embedding PRIVATE exapool::runtime exapool::exasim)
CMAKE

measure() { # $1: route, $2: source dir, $3...: extra configure arguments
  local route=$1 source=$2 dir="$work/build-$1"
  shift 2
  local started
  started=$(date +%s.%N)
  cmake -S "$source" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$work/$route.log" 2>&1
  cmake --build "$dir" -j2 --target embedding >>"$work/$route.log" 2>&1 ||
    { cat "$work/$route.log" >&2; exit 1; }
  local seconds bytes stripped folder
  seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  bytes=$(stat -c %s "$dir/embedding")
  strip -o "$work/stripped" "$dir/embedding"
  stripped=$(stat -c %s "$work/stripped")
  folder=$(du -sb "$dir" | cut -f1)
  printf '%-17s %8.1f s %12s %12s %14s\n' "$route" "$seconds" "$bytes" "$stripped" "$folder"
  if [ -n "$csv" ]; then
    {
      echo "PK,embedding,$route,0,build_s,$seconds,s"
      echo "PK,embedding,$route,0,binary_bytes,$bytes,bytes"
      echo "PK,embedding,$route,0,stripped_bytes,$stripped,bytes"
      echo "PK,embedding,$route,0,build_dir_bytes,$folder,bytes"
    } >>"$csv"
  fi
}

printf '%-17s %10s %12s %12s %14s\n' route build binary stripped "build folder"
measure installed "$top/examples/embedding" "-DCMAKE_PREFIX_PATH=$work/prefix"
measure add_subdirectory "$work/parent"
