#!/usr/bin/env bash
# The normal build's whole test suite, RUNS times in a row (default 5),
# while `stress-ng --cpu 2` keeps two cores busy: a test that depends on
# the machine's speed fails here. Stops at the first failing run and names
# it and its failing tests. Usage: scripts/stress-test.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-${RUNS:-5}}
case $runs in '' | *[!0-9]* | 0) echo "usage: $0 [RUNS >= 1]" >&2; exit 2 ;; esac
jobs=$(nproc)

if ! command -v stress-ng >/dev/null; then
  echo "== installing stress-ng"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y -q stress-ng >/dev/null
fi

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" >/dev/null
logs=build/stress-test
mkdir -p "$logs"

stress_pid=""
stop_stress() {
  if [ -n "$stress_pid" ]; then
    kill "$stress_pid" 2>/dev/null || true
    wait "$stress_pid" 2>/dev/null || true
    stress_pid=""
  fi
}
trap stop_stress EXIT
trap 'exit 130' INT TERM
stress-ng --cpu 2 --timeout 0 --quiet &
stress_pid=$!
echo "== stress-ng --cpu 2 running (pid $stress_pid)"

for run in $(seq 1 "$runs"); do
  log=$logs/run-$run.log
  start=$SECONDS
  if (cd build && ctest --output-on-failure -j"$jobs") >"$log" 2>&1; then
    echo "run $run/$runs: passed ($(sed -n 's/.*tests passed, //p' "$log"), $((SECONDS - start)) s)"
  else
    echo "run $run/$runs: FAILED after $((SECONDS - start)) s; failing tests:"
    sed -n '/The following tests FAILED:/,$p' "$log" | sed '1d' | grep -E '^\s+[0-9]+ - ' || true
    echo "full output: $log"
    echo "stress-test: FAILED in run $run of $runs under stress-ng --cpu 2"
    exit 1
  fi
done
echo "stress-test: $runs of $runs runs passed under stress-ng --cpu 2 ($(cd build && ctest -N | sed -n 's/^Total Tests: //p') tests each)"
