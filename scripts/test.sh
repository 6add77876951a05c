#!/usr/bin/env bash
# The README's test command: install dependencies, build, generate the model zoo, run every test,
# then check the package (ktc installed to a temporary prefix, examples/embed built against that
# installed tree alone, and its outputs equal to `ktc flow`'s on the bundled example), then run
# the unit tests again built with AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/peers.sh
bash scripts/build.sh
build=${KTC_BUILD_DIR:-$root/build}
# The zoo (torchvision exports + PyTorch reference outputs) is cached between runs.
zoo=${KTC_ZOO_DIR:-$HOME/.cache/ktc/zoo}
/usr/bin/python3 tools/zoo.py --out "$zoo"
/usr/bin/python3 tools/calibration_zoo.py --out "${KTC_CALIBRATION_DIR:-$HOME/.cache/ktc/calibration}"
# The optimizer tests compare against ONNX Runtime: here its absence is a failure, not a skip.
KTC_REQUIRE_PEERS=1 KTC_ZOO_DIR="$zoo" ctest --test-dir "$build" --output-on-failure "$@"

echo "== package: install, build examples/embed against the installed tree, compare with ktc flow"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
# Only the installed tree: no package registry, no source tree on any search path. No build type
# (-O0): it runs 8 images, and compiling it fast matters more on a 2-core machine.
cmake -S examples/embed -B "$work/embed" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE= >"$work/embed.log" 2>&1 ||
  { cat "$work/embed.log"; exit 1; }
grep -q "^ktc_DIR:PATH=$work/prefix/" "$work/embed/CMakeCache.txt" ||
  { echo "package: examples/embed did not use the installed ktc" >&2; exit 1; }
cmake --build "$work/embed" -j "$(nproc)" >>"$work/embed.log" 2>&1 || { tail -n 30 "$work/embed.log"; exit 1; }
example=examples/fashion_mnist
for chip in 520 720; do
  "$work/prefix/bin/ktc" flow "$example/fashion_cnn.onnx" --input "$example/inputs_batch.npy" \
    --platform $chip -o "$work/flow_$chip" --quiet >/dev/null
  "$work/embed/embed" "$example/fashion_cnn.onnx" "$example/inputs_batch.npy" $chip "$work/embed_$chip"
  # Integer results are the same bits whatever the compiler flags; float ones only close (FMA,
  # vectorization): the embed example is built for the compiler's default target, ktc for KTC_ARCH.
  for step in fixed hardware; do
    cmp "$work/flow_$chip/$step/logits.npy" "$work/embed_$chip/$step/logits.npy" ||
      { echo "package: KDP$chip $step outputs of examples/embed and ktc flow differ" >&2; exit 1; }
  done
  /usr/bin/python3 - "$work/flow_$chip/float/logits.npy" "$work/embed_$chip/float/logits.npy" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
if a.shape != b.shape or np.abs(a - b).max() > 1e-5 * np.abs(a).max():
    sys.exit(f"package: float outputs of examples/embed and ktc flow differ: {np.abs(a - b).max():.3g}")
PY
  echo "package: KDP$chip: examples/embed (installed ktc) == ktc flow: fixed and hardware bit for bit, float within 1e-5"
done

echo "== sanitizers: the unit tests built with ASan + UBSan (scripts/sanitize.sh)"
bash scripts/sanitize.sh
