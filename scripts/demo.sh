#!/usr/bin/env bash
# The README's first command: install dependencies, build ktc, and run its main job on the
# bundled example (a small CNN trained on Fashion-MNIST, examples/fashion_mnist/): first the
# float simulator against the logits PyTorch saved, then `ktc flow`, the whole workflow in one
# command (optimize, evaluate, float inference, analysis, fixed-point inference, compile,
# hardware inference), over the 10,000 Fashion-MNIST test images with their labels (top-1
# accuracy at every inference step), calibrated on 100 training images: KDP720 int8 and int16
# (summaries only), then KDP520 int8 step by step. It ends with that flow's summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh --target ktc_driver
ktc="${KTC_BUILD_DIR:-$root/build}/drivers/ktc"
example=examples/fashion_mnist
out=${KTC_DEMO_OUT:-$root/build/demo}
mkdir -p "$out"

echo "== float inference on the bundled inputs ($example/inputs_batch.npy) against PyTorch"
"$ktc" infer --onnx "$example/fashion_cnn.onnx" --input "$example/inputs_batch.npy" -o "$out/bundled" --quiet
/usr/bin/python3 - "$out/bundled" "$example" <<'PY'
import sys, numpy as np
out, example = sys.argv[1], sys.argv[2]
logits = np.load(f"{out}/logits.npy").reshape(8, -1)
expected = np.load(f"{example}/expected_logits.npy").reshape(8, -1)
labels = [l.split()[-1] for l in open(f"{example}/inputs/labels.txt") if l.strip()]
print("predicted:", logits.argmax(1).tolist())
print("labels:   ", labels)
print(f"max |ktc - pytorch| over the bundled logits: {np.abs(logits - expected).max():.3g}")
PY

echo "== Fashion-MNIST: 10,000 test images with labels, 100 training images for calibration"
/usr/bin/python3 tools/fashion_mnist.py --split test --count 10000 \
  --out-images "$out/test_images.npy" --out-labels "$out/test_labels.npy"
/usr/bin/python3 tools/fashion_mnist.py --split train --count 100 \
  --out-images "$out/calibration.npy" --out-labels "$out/calibration_labels.npy"
flow() {  # OUTDIR, then more ktc flow options
  local dir=$1; shift
  "$ktc" flow "$example/fashion_cnn.onnx" --input "$out/test_images.npy" --labels "$out/test_labels.npy" \
    --calibration-input "$out/calibration.npy" -o "$out/$dir" "$@"
}
echo "== ktc flow on KDP720, int8 and int16"
flow flow_720_int8 --platform 720 --quiet
flow flow_720_int16 --platform 720 --bitwidth 16 --quiet
echo "== ktc flow on KDP520, int8"
flow flow_520_int8 --platform 520
