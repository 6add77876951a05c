#!/usr/bin/env bash
# Configures and builds ktc (drivers, tests, benchmarks) into build/ (or $KTC_BUILD_DIR).
# Extra arguments go to `cmake --build` (e.g. --target ktc_driver). The compiler's output goes to
# build/build.log; its tail is shown when the build fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${KTC_BUILD_DIR:-$root/build}
mkdir -p "$build"
log="$build/build.log"
echo "build: compiling ktc into $build (log: $log)"
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release &&
       cmake --build "$build" -j "$(nproc)" "$@"; } >"$log" 2>&1; then
  grep -E "error|Error" "$log" | head -n 20 || true
  tail -n 20 "$log"
  echo "build: FAILED (full log: $log)" >&2
  exit 1
fi
echo "build: done"
