#!/usr/bin/env bash
# The unit tests built with AddressSanitizer and UndefinedBehaviorSanitizer (-DKTC_SANITIZE=ON)
# in $KTC_SANITIZE_BUILD_DIR (default build-sanitize), then run: any report fails the run.
# scripts/test.sh (the README's test command, and so CI) runs it after the other tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KTC_SANITIZE_BUILD_DIR:-$root/build-sanitize}
cmake -S "$root" -B "$build" -DKTC_SANITIZE=ON -DKTC_BUILD_DRIVERS=OFF -DKTC_BUILD_BENCHMARKS=OFF \
  -DKTC_INSTALL=OFF -DCMAKE_BUILD_TYPE= >/dev/null
cmake --build "$build" --target ktc_tests -j "$(nproc)"
# halt_on_error: a UBSan report is a failure, not a warning; leaks are checked at exit.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/tests/ktc_tests" "$@"
