#!/usr/bin/env bash
# Every test: the normal build, the ASan+UBSan build, and the fuzz targets
# for a bounded time. Assumes scripts/setup.sh has installed the packages.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
n_normal=$(cd build && ctest -N | sed -n 's/^Total Tests: //p')

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DOSQ_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$jobs")
n_asan=$(cd build-asan && ctest -N | sed -n 's/^Total Tests: //p')
n_fuzz=0

if [ -f fuzz/CMakeLists.txt ] && command -v clang >/dev/null; then
  echo "== fuzz (bounded)"
  CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DOSQ_FUZZ=ON -DOSQ_TESTS=OFF >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzz_targets
  for f in build-fuzz/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus=fuzz/corpus/${name#fuzz_}
    mkdir -p /tmp/osq-fuzz-$name
    echo "-- $name (${FUZZ_SECONDS:-30}s)"
    "$f" -max_total_time="${FUZZ_SECONDS:-30}" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=/tmp/osq-fuzz-$name/crash- \
      /tmp/osq-fuzz-$name $( [ -d "$corpus" ] && echo "$corpus" ) 2>&1 | tail -n 3
    n_fuzz=$((n_fuzz + 1))
  done
fi
echo "== all tests passed: $n_normal tests (RelWithDebInfo), $n_asan tests (ASan+UBSan), $n_fuzz fuzz targets"
echo "total: $((n_normal + n_asan + n_fuzz)) passed, 0 failed"
