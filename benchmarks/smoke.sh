#!/usr/bin/env bash
# CI's short mode of the benchmarks (ctest -L bench): each benchmark once on one zoo model, to show
# that it still builds, runs and prints its ratio against ONNX Runtime. No timing is checked:
# timings belong to the benchmarks' own runs, not to tests.
# usage: smoke.sh BENCH_FLOAT BENCH_FIXED   (the zoo: $KTC_ZOO_DIR or ~/.cache/ktc/zoo)
# Without the zoo model or ONNX Runtime: a skip (77), a failure when KTC_REQUIRE_PEERS=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
zoo=${KTC_ZOO_DIR:-$HOME/.cache/ktc/zoo}
missing=()
[[ -f $zoo/mobilenet_v2.onnx && -f $zoo/mobilenet_v2.input.npy ]] || missing+=("$zoo/mobilenet_v2.onnx (tools/zoo.py)")
command -v node >/dev/null && [[ -d $root/tools/peers/node_modules/onnxruntime-node ]] ||
  missing+=("onnxruntime-node (scripts/setup.sh, scripts/peers.sh)")
if ((${#missing[@]})); then
  echo "bench_smoke: missing ${missing[*]}"
  [[ ${KTC_REQUIRE_PEERS:-0} == 1 ]] && exit 1
  exit 77
fi
run() {  # BENCH ARGS...: exit 0 and a row for the model with a ratio
  local out
  out=$("$@" mobilenet_v2) || { echo "$out"; echo "bench_smoke: $1 failed" >&2; exit 1; }
  echo "$out"
  grep -Eq '^mobilenet_v2 +[0-9]' <<<"$out" || { echo "bench_smoke: $1 printed no figures" >&2; exit 1; }
}
run "$1" --zoo "$zoo" --runs 1
run "$2" --zoo "$zoo" --runs 1 --samples 2
