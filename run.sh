#!/usr/bin/env bash
# exapool's two set-up commands for a fresh Debian 12 machine (run as root):
#   ./run.sh main   install what is missing, build, run the main job (exapool main, then demo)
#   ./run.sh test   install what is missing, build, check formatting, run every test
#   ./run.sh bench  install what is missing, build, run the benchmark suite (bench/README.md);
#                   options after "bench" go to bench/run_suite.sh, e.g. ./run.sh bench --quick
# All are idempotent: a second run installs nothing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")"
top=$(pwd)
build="$top/build"

apt_packages=(g++ cmake make libcaf-dev catch2 libboost1.81-dev libboost-json1.81-dev libssl-dev
  libsqlite3-dev zlib1g-dev openssl ca-certificates clang-format
  gnuplot-nox default-jdk-headless libhikaricp-java libslf4j-java libcommons-cli-java)

log() { printf '[run.sh] %s\n' "$*" >&2; }

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

build_all() {
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$build" -j"$(nproc)"
}

check_format() {
  local files
  mapfile -t files < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null ||
    find actors messages integration apps bench tests -name '*.[ch]pp')
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
  cd "$build"
  ctest --output-on-failure -j2 --timeout 600
  ;;
bench)
  install_missing_packages
  ensure_localhost_resolves
  install_node_modules
  build_all
  exec "$top/bench/run_suite.sh" --build="$build" "${@:2}"
  ;;
*)
  echo "usage: ./run.sh main | ./run.sh test | ./run.sh bench [suite options]" >&2
  exit 2
  ;;
esac
