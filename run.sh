#!/usr/bin/env bash
# exapool's two set-up commands for a fresh Debian 12 machine (run as root):
#   ./run.sh main   install what is missing, build, run the main job (exapool main, then demo:
#                   the pool's sessions, then 40 client processes direct and via exapool proxy)
#   ./run.sh test   install what is missing, build, check formatting, run every test
#   ./run.sh bench  install what is missing, build, run the benchmark suite (bench/README.md);
#                   options after "bench" go to bench/run_suite.sh, e.g. ./run.sh bench --quick
# The sanitizer and fuzz parts of "test", alone (sanitizers/README.md, fuzz/README.md):
#   ./run.sh asan         ASan+UBSan build (build-asan): unit, concurrency, proxy, remote and reliability
#                         suites
#   ./run.sh tsan         TSan build (build-tsan): the same suites (not part of "test")
#   ./run.sh fuzz [SECS [N]]  libFuzzer targets (build-fuzz, clang): SECS each, 20 by default;
#                         0 with N: N inputs each from a fixed seed ("test": 0 50000); 0 alone
#                         replays the corpora only
# All are idempotent: a second run installs nothing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")"
top=$(pwd)
build="$top/build"

apt_packages=(g++ cmake make libcaf-dev catch2 libboost1.81-dev libboost-json1.81-dev libssl-dev
  libsqlite3-dev zlib1g-dev libspdlog-dev pkg-config openssl ca-certificates clang-format curl
  clang libclang-rt-14-dev llvm
  gnuplot-nox default-jdk-headless libhikaricp-java libslf4j-java libcommons-cli-java)

log() { printf '[run.sh] %s\n' "$*" >&2; }

# A fresh build folder needs about $1 GB: say so before the linker runs out of room mid-way.
check_disk_space() { # $1: GB a fresh build folder needs
  local free_gb
  free_gb=$(df --output=avail -BG "$top" | tail -1 | tr -dc '0-9')
  if [ "${free_gb:-0}" -lt "$1" ]; then
    log "only ${free_gb} GB free on the disk of $top; a fresh build folder needs about $1 GB"
    exit 1
  fi
}

install_missing_packages() {
  local missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    [ "$(id -u)" = 0 ] || { log "installing packages needs root"; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# A debootstrap-made Debian has no /etc/hosts, so "localhost" does not resolve there; every
# installed Debian has the standard line, and the TLS tests verify the name localhost.
ensure_localhost_resolves() {
  getent hosts localhost >/dev/null 2>&1 && return 0
  log "localhost does not resolve: adding Debian's standard localhost lines to /etc/hosts"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >>/etc/hosts
}

install_node_modules() {
  local peers="$top/integration/peers"
  # npm ci only when the lock file changed since the last install.
  if [ ! -f "$peers/node_modules/.package-lock.json" ] ||
    [ "$peers/package-lock.json" -nt "$peers/node_modules/.package-lock.json" ]; then
    log "npm ci in integration/peers"
    (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Debug info as line tables only (-g1): backtraces and sanitizer reports keep file:line, and
# the build folder is 1.4 GB instead of 4 GB (a full -g build once filled a CI disk).
build_all() {
  if [ ! -f "$build/CMakeCache.txt" ]; then
    check_disk_space 3
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
  fi
  cmake --build "$build" -j"$(nproc)"
}

# Sanitizer builds: our code instrumented (EXAPOOL_SANITIZE in CMakeLists.txt), Debian's
# libraries not. -O0 because g++ with ASan+UBSan compiles -O1 2.7x slower (session_core.cpp:
# 40 s of CPU at -O1, 15 s at -O0, as long as the plain -O2 build); asserts stay on (no NDEBUG).
build_sanitized() { # $1: address or thread, $2: build directory
  if [ ! -f "$2/CMakeCache.txt" ]; then
    check_disk_space 3
    cmake -S "$top" -B "$2" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1" -DEXAPOOL_SANITIZE="$1" >/dev/null
  fi
  cmake --build "$2" -j"$(nproc)" --target sanitized_suites
}

# Every finding stops the test that made it. The suppression files name only findings inside
# Debian's libraries (each with its reason); nothing in our code is suppressed.
sanitizer_environment() {
  local supp="$top/sanitizers"
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_string_checks=1"
  ASAN_OPTIONS+=":suppressions=$supp/asan.supp"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
}

# The suites CI runs under a sanitizer (see sanitized_suites in CMakeLists.txt).
sanitized_suites_labels='^(unit|concurrency|reliability|proxy|remote|sanitized)$'

run_sanitized() { # $1: address or thread, $2: build directory
  sanitizer_environment
  local start=$SECONDS
  build_sanitized "$1" "$2"
  (cd "$2" && ctest --output-on-failure -j2 --timeout 600 -L "$sanitized_suites_labels")
  log "sanitizer=$1 build and suites took $((SECONDS - start)) s"
}

# libFuzzer targets (fuzz/CMakeLists.txt, a clang project of its own): each runs its corpus, then
# fuzzes for $1 seconds (0: the corpus only).
run_fuzz() { # $1: seconds per target; with 0, $2: seeded inputs per target (0: replay only)
  local start=$SECONDS fuzz_build="$top/build-fuzz"
  if [ ! -f "$fuzz_build/CMakeCache.txt" ]; then
    CXX=clang++ cmake -S "$top/fuzz" -B "$fuzz_build" >/dev/null
  fi
  cmake -S "$top/fuzz" -B "$fuzz_build" -Dfuzz_seconds="$1" -Dfuzz_runs="${2:-0}" >/dev/null
  cmake --build "$fuzz_build" -j"$(nproc)"
  (cd "$fuzz_build" && ctest --output-on-failure -j2 -L fuzz)
  log "fuzz targets ($1 s, ${2:-0} seeded inputs each) took $((SECONDS - start)) s"
}

check_format() {
  local files
  mapfile -t files < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null ||
    find actors apps bench examples fuzz include integration messages proxy tests -name '*.[ch]pp')
  [ ${#files[@]} -eq 0 ] || clang-format --dry-run -Werror "${files[@]}"
  log "format check passed (${#files[@]} files)"
}

case "${1:-}" in
main)
  install_missing_packages
  build_all
  "$build/apps/exapool" main
  exec "$build/apps/exapool" demo
  ;;
test)
  install_missing_packages
  ensure_localhost_resolves
  install_node_modules
  build_all
  check_format
  (cd "$build" && ctest --output-on-failure -j2 --timeout 600)
  # The unit, concurrency and reliability suites again under ASan+UBSan, halt_on_error=1
  # (sanitizers/README.md: about 520 s to build without a cache and 220 s to run on 2 cores).
  # In a subshell: the sanitizer environment must not reach the fuzz targets' own settings.
  (run_sanitized address "$top/build-asan")
  # The fuzz targets replay their
  # corpora (seeds and reproducers of fixed findings), then run 50,000 inputs each (exasim 1,000)
  # from a fixed seed: a real bounded run that gives the same inputs every time, so CI never
  # fails at random (timed runs differ from run to run).
  run_fuzz 0 50000
  ;;
asan | tsan)
  install_missing_packages
  ensure_localhost_resolves
  run_sanitized "$([ "$1" = asan ] && echo address || echo thread)" "$top/build-$1"
  ;;
fuzz)
  install_missing_packages
  run_fuzz "${2:-20}" "${3:-0}"
  ;;
bench)
  install_missing_packages
  ensure_localhost_resolves
  install_node_modules
  build_all
  exec "$top/bench/run_suite.sh" --build="$build" "${@:2}"
  ;;
*)
  echo "usage: ./run.sh main | test | bench [suite options] | asan | tsan | fuzz [seconds]" >&2
  exit 2
  ;;
esac
