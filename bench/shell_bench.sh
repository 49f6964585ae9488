#!/usr/bin/env bash
# osqi start-to-exit cost against baselines measured in the same run.
#   bench/shell_bench.sh [BUILD_DIR]      (default: build; use a Release build)
# 1. osqi "select 1"                vs  sqlite3 :memory: "select 1"   goal <= 1.5x
# 2. osqi "select * from processes" vs  ps -eo pid,ppid,uid,comm,args goal <= 1.0x
# Wall time: hyperfine when installed, else a loop timed by bash. Peak RSS:
# the median of /usr/bin/time -f %M.
set -euo pipefail
BUILD=${1:-${OSQ_BUILD:-build}}
OSQI=$(readlink -f "$BUILD/osqi")
RUNS=${RUNS:-200}
[ -x "$OSQI" ] || { echo "no osqi in $BUILD" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time) is needed" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export HOME=$TMP # osqi's ~/.osq lives here

# mean wall seconds of a command (argv as one string for hyperfine)
wall() {
  local cmd=$1
  if command -v hyperfine >/dev/null; then
    hyperfine -N -w 10 -r "$RUNS" --export-json "$TMP/h.json" "$cmd" >/dev/null 2>&1
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' "$TMP/h.json"
  else
    python3 - "$cmd" "$RUNS" <<'PY'
import shlex, subprocess, sys, time
argv, n = shlex.split(sys.argv[1]), int(sys.argv[2])
for _ in range(10):
    subprocess.run(argv, stdout=subprocess.DEVNULL)
t = time.perf_counter()
for _ in range(n):
    subprocess.run(argv, stdout=subprocess.DEVNULL)
print((time.perf_counter() - t) / n)
PY
  fi
}

# median peak RSS in KiB over 15 runs (GNU time; a forking python would
# count its own pages, as ru_maxrss survives exec)
rss() {
  local i
  for i in $(seq 15); do
    eval "/usr/bin/time -f %M -o $TMP/rss $1" >/dev/null 2>&1
    cat "$TMP/rss"
  done | sort -n | sed -n 8p
}

row() { # name osqi-cmd base-cmd goal
  local a b ra rb
  a=$(wall "$2"); b=$(wall "$3"); ra=$(rss "$2"); rb=$(rss "$3")
  python3 - "$1" "$a" "$b" "$ra" "$rb" "$4" <<'PY'
import sys
name, a, b, ra, rb, goal = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
r = a / b
print("%-22s osqi %7.2f ms %6d KiB | base %7.2f ms %6d KiB | wall %.2fx (goal <= %.1fx%s) rss %.2fx"
      % (name, a * 1e3, ra, b * 1e3, rb, r, goal, "" if r <= goal else ", MISSED", ra / rb))
PY
}

echo "osqi: $OSQI ($(nproc) CPUs, $RUNS runs each, $(command -v hyperfine >/dev/null && echo hyperfine || echo python loop))"
row "select 1" "$OSQI 'select 1'" "sqlite3 :memory: 'select 1'" 1.5
row "processes" "$OSQI 'select * from processes'" "ps -eo pid,ppid,uid,comm,args" 1.0
