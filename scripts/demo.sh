#!/usr/bin/env bash
# The README's first command: install dependencies, build ktc, and run its main job on the
# bundled example (a small CNN trained on Fashion-MNIST, examples/fashion_mnist/): float
# inference, optimization, evaluation on both chips, quantization (520 int8, 720 int8 and int16)
# calibrated on 100 training images, and the accuracy of each over the 10,000 test images;
# then the 520 and 720 int8 models compiled into .nef files whose hardware simulation must equal
# the .bie simulation bit for bit.
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

echo "== optimize (onnx2onnx flow)"
"$ktc" optimize "$example/fashion_cnn.onnx" -o "$out/fashion_cnn.opt.onnx" --force

for chip in 520 720; do
  echo "== evaluate on KDP$chip"
  "$ktc" evaluate "$out/fashion_cnn.opt.onnx" --platform $chip --json "$out/evaluate_$chip.json" \
    --html "$out/evaluate_$chip.html" | sed -n '/Performance summary/,$p'
done

echo "== quantize: calibrate on 100 training images"
/usr/bin/python3 tools/fashion_mnist.py --split train --count 100 \
  --out-images "$out/calibration.npy" --out-labels "$out/calibration_labels.npy"
quantize() {  # name, then ktc analysis options
  local name=$1; shift
  "$ktc" analysis "$out/fashion_cnn.opt.onnx" --input "$out/calibration.npy" -o "$out/$name.bie" \
    --snr-samples 0 --quiet "$@" | head -1
  "$ktc" infer --bie "$out/$name.bie" --input "$out/test_images.npy" -o "$out/$name" --quiet
  echo -n "$name fixed point over the test set: "
  /usr/bin/python3 tools/top1.py "$out/$name/logits.npy" "$out/test_labels.npy"
}
quantize kdp520_int8 --platform 520
quantize kdp720_int8 --platform 720
quantize kdp720_int16 --platform 720 --bitwidth 16
echo "== float vs fixed point (520 int8) on the bundled inputs"
"$ktc" infer --bie "$out/kdp520_int8.bie" --input "$example/inputs_batch.npy" -o "$out/bundled_520" --quiet
"$ktc" compare "$out/bundled" "$out/bundled_520"

echo "== compile to .nef and simulate the compiled models"
for chip in 520 720; do
  "$ktc" compile --model "32768:0001:$out/kdp${chip}_int8.bie" --platform $chip -o "$out/models_$chip.nef" --quiet
  "$ktc" nef-info "$out/models_$chip.nef" | head -3
  "$ktc" infer --bie "$out/kdp${chip}_int8.bie" --input "$example/inputs_batch.npy" -o "$out/bie_$chip" --quiet
  "$ktc" infer --nef "$out/models_$chip.nef" --input "$example/inputs_batch.npy" -o "$out/nef_$chip" --quiet
  if cmp -s "$out/bie_$chip/logits.npy" "$out/nef_$chip/logits.npy"; then
    echo "KDP$chip: .nef simulation == .bie simulation, bit for bit"
  else
    echo "KDP$chip: .nef and .bie simulations differ" >&2
    exit 1
  fi
done
