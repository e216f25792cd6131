#!/bin/sh
# `exapool demo` shows its progress while it runs: small, with a report every 20 ms (each phase
# lasts at least one 100 ms login), its stderr not a terminal (so every report is a line). For
# each phase the reports must come several times, their counts never go back, end at the
# total, and agree with what the phase can do (no pool: a connection per statement; exapool and
# the proxy: at most the pool's 3). The table still follows on stdout, and no progress line
# lands there.
# Usage: demo_progress.sh <exapool>; prints what it checked, exits non-zero on the first miss.
set -eu
exapool=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

fail() { echo "MISS: $1"; echo "--- stderr:"; cat "$dir/err"; echo "--- stdout:"; cat "$dir/out"; exit 1; }

code=0
env EXAPOOL_POOL_SIZE= DBT_CONN_POOL_SIZE=3 "$exapool" demo --demo.sessions=2 \
  --demo.statements=6 --demo.login-latency=100ms --demo.processes=4 --demo.parallel=2 \
  --demo.progress-interval=20ms > "$dir/out" 2> "$dir/err" || code=$?
[ "$code" = 0 ] || fail "the demo exits 0, not $code"

# One phase's reports: "  <label>: <done>/<total> <unit>, <opened> <what>, <seconds> s".
# Checks them against the phase's rules; prints how many there were and their done counts.
check_phase() {
  label=$1 unit=$2 total=$3 min_opened_final=$4 max_opened_final=$5 max_ahead=$6
  awk -v label="$label" -v unit="$unit" -v total="$total" -v lo="$min_opened_final" \
    -v hi="$max_opened_final" -v ahead="$max_ahead" '
    function bad(why) { print "MISS: " label ": " why " at \"" $0 "\""; failed = 1; exit 1 }
    index($0, "  " label ": ") == 1 {
      rest = substr($0, length(label) + 5)
      if (split(rest, f, /[\/, ]+/) != 8 || f[3] != unit || f[8] != "s") bad("not a report")
      done = f[1] + 0; opened = f[4] + 0; secs = f[7] + 0
      if (f[2] + 0 != total) bad("total is not " total)
      if (n > 0 && (done < last_done || opened < last_opened || secs < last_secs)) bad("went back")
      if (done > total) bad("more done than the total")
      if (opened > done + ahead) bad("more opened than done + " ahead)
      if (n == 0 || done != last_done) dones = dones " " done
      n++; last_done = done; last_opened = opened; last_secs = secs
    }
    END {
      if (failed) exit 1
      if (n < 2) { print "MISS: " label ": " n " reports, want at least 2"; exit 1 }
      if (last_done != total) { print "MISS: " label ": ends at " last_done "/" total; exit 1 }
      if (last_opened < lo || last_opened > hi) {
        print "MISS: " label ": " last_opened " opened at the end, want " lo ".." hi; exit 1
      }
      print label ": " n " reports, done" dones
    }' "$dir/err"
}

# no pool: a connection per statement, each opened just before its statement (2 sessions: at
# most 2 ahead of the statements done), 12 in all.
check_phase "no pool" statements 12 12 12 2 > "$dir/check" || fail "$(cat "$dir/check")"
cat "$dir/check"
# Counts that moved while the phase ran, not only at its end: 3 or more distinct done counts.
[ "$(sed 's/.*done//' "$dir/check" | wc -w)" -ge 3 ] || fail "no pool: done counts did not rise"
check_phase exapool statements 12 1 3 3 > "$dir/check" || fail "$(cat "$dir/check")"
cat "$dir/check"
check_phase direct processes 4 4 4 2 > "$dir/check" || fail "$(cat "$dir/check")"
cat "$dir/check"
check_phase "via proxy" processes 4 1 3 3 > "$dir/check" || fail "$(cat "$dir/check")"
cat "$dir/check"
echo "progress ok"

! grep -q "statements, \|processes, " "$dir/out" || fail "progress lines on stdout"
grep -Eq "connections opened +12 +[1-3] " "$dir/out" || fail "the pool table"
grep -Eq "failed statements +0 +0" "$dir/out" || fail "no failed statement"
grep -Eq "failed processes +0 +0" "$dir/out" || fail "the processes table"
echo "summary ok"
echo "demo progress: all ok"
