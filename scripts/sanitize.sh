#!/usr/bin/env bash
# The unit tests built with AddressSanitizer and UndefinedBehaviorSanitizer (-DKTC_SANITIZE=ON)
# in $KTC_SANITIZE_BUILD_DIR (default build-sanitize), then run: any report fails the run.
# scripts/test.sh (the README's test command, and so CI) runs it after the other tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KTC_SANITIZE_BUILD_DIR:-$root/build-sanitize}
cmake -S "$root" -B "$build" -DKTC_SANITIZE=ON -DKTC_BUILD_DRIVERS=OFF -DKTC_BUILD_BENCHMARKS=OFF \
  -DKTC_INSTALL=OFF -DCMAKE_BUILD_TYPE= >/dev/null
# The compiler's output (GCC warns at length under the sanitizers) goes to a log, as in build.sh.
log="$build/build.log"
echo "sanitize: compiling the unit tests with ASan + UBSan into $build (log: $log)"
if ! cmake --build "$build" --target ktc_tests -j "$(nproc)" >"$log" 2>&1; then
  grep -E "error" "$log" | head -n 20 || true
  tail -n 20 "$log"
  echo "sanitize: build FAILED (full log: $log)" >&2
  exit 1
fi
# halt_on_error: a UBSan report is a failure, not a warning; leaks are checked at exit.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/tests/ktc_tests" "$@"
