#!/usr/bin/env bash
# The README's first command: install dependencies, build ktc, and run its main job on the
# bundled example (a small CNN trained on Fashion-MNIST, examples/fashion_mnist/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh --target ktc_driver
ktc="${KTC_BUILD_DIR:-$root/build}/drivers/ktc"
example=examples/fashion_mnist
out=${KTC_DEMO_OUT:-$root/build/demo}
mkdir -p "$out"

echo "== float inference on the bundled inputs ($example/inputs_batch.npy)"
"$ktc" infer --onnx "$example/fashion_cnn.onnx" --input "$example/inputs_batch.npy" -o "$out/bundled"
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

echo "== float inference over the Fashion-MNIST test set (10,000 images)"
/usr/bin/python3 tools/fashion_mnist.py --split test --count 10000 \
  --out-images "$out/test_images.npy" --out-labels "$out/test_labels.npy"
"$ktc" infer --onnx "$example/fashion_cnn.onnx" --input "$out/test_images.npy" -o "$out/test" --quiet
/usr/bin/python3 tools/top1.py "$out/test/logits.npy" "$out/test_labels.npy"
