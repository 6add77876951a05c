#!/usr/bin/env bash
# Fuzzes ktc's readers: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Targets (fuzz/targets.hpp, fuzz/convert_targets.hpp): npy onnx bie nef infer_args tflite caffe
# (default: all), SECONDS_PER_TARGET
# default 600. Builds fuzz/ with clang + libFuzzer + ASan + UBSan in $KTC_FUZZ_BUILD_DIR
# (default build-fuzz), runs $KTC_FUZZ_JOBS targets at once (default: the number of cores), each
# from its campaign corpus BUILD/corpus/<target> (started from the committed seeds fuzz/corpus/<target>
# and kept out of the repository) and the regressions fuzz/regressions/<target>, then merges what it
# found back into the campaign corpus, minimised (only inputs that add coverage). Crashing inputs land
# in BUILD/crashes/<target>/; the script ends with a table of executions and crashes per target and
# exits 1 if any crashed: a crash, once fixed, goes to fuzz/regressions (its README says how).
# tests/fuzz/test_fuzz_corpus.cpp reruns the seeds and the regressions in the ordinary test build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-600}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(npy onnx bie nef infer_args tflite caffe)
build=${KTC_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${KTC_FUZZ_JOBS:-$(nproc)}

bash scripts/setup.sh fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -DKTC_BUILD_FUZZERS=ON -DKTC_BUILD_TESTS=OFF \
  -DKTC_BUILD_DRIVERS=OFF -DKTC_BUILD_BENCHMARKS=OFF -DKTC_INSTALL=OFF -DCMAKE_BUILD_TYPE= >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
for t in "${targets[@]}"; do
  [[ -d fuzz/corpus/$t ]] || bash tools/fuzz_seeds.sh
  [[ -d $build/corpus/$t ]] || { mkdir -p "$build/corpus" && cp -r "fuzz/corpus/$t" "$build/corpus/$t"; }
done

# One target: fuzz for the budget (new inputs in BUILD/found/<t>), then merge and minimise.
fuzz_one() {
  local t=$1 bin=$build/fuzz/fuzz_$1
  rm -rf "$build/crashes/$t"
  mkdir -p "$build/found/$t" "$build/crashes/$t" "$build/logs"
  # 2 GB of memory and 10 s per input: beyond either, the reader has a bug (docs/reliability.md).
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -close_fd_mask=1 -artifact_prefix="$build/crashes/$t/" "$build/found/$t" "$build/corpus/$t" \
    $(ls -d "fuzz/regressions/$t" 2>/dev/null) \
    >"$build/logs/$t.log" 2>&1 || true
  local merged=$build/merged/$t
  rm -rf "$merged" && mkdir -p "$merged"
  "$bin" -merge=1 -rss_limit_mb=2048 -timeout=10 -close_fd_mask=1 "$merged" "$build/corpus/$t" "$build/found/$t" \
    >"$build/logs/$t.merge.log" 2>&1
  rm -rf "$build/corpus/$t" && mv "$merged" "$build/corpus/$t"
}

running=0
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  running=$((running + 1))
  if ((running >= jobs)); then wait -n; running=$((running - 1)); fi
done
wait

status=0
printf '%-12s %12s %8s %8s\n' target executions corpus crashes
for t in "${targets[@]}"; do
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$build/logs/$t.log" | awk '{print $2}' | tail -1)
  crashes=$(find "$build/crashes/$t" -type f | wc -l)
  printf '%-12s %12s %8s %8s\n' "$t" "${runs:-?}" "$(ls "$build/corpus/$t" | wc -l)" "$crashes"
  ((crashes == 0)) || status=1
done
exit $status
