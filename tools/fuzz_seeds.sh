#!/usr/bin/env bash
# Writes the seed corpus of every fuzz target whose folder OUT/<target>/ (default fuzz/corpus) does
# not exist yet: small valid files of each format, made with numpy, the onnx package, the ONNX
# backend test models (libonnx-testdata), ktc itself (KTC, default build/drivers/ktc) and, for the
# converters, the small third-party models of $KTC_CONVERTER_TESTDATA_DIR (default
# tests/data/converters; MANIFEST.txt there gives their licenses). scripts/fuzz.sh runs it
# when a target's corpus is missing; the committed corpus (fuzz/corpus) is these seeds, and what
# the fuzzer finds stays in its campaign corpus (build-fuzz/corpus, docs/reliability.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
final=${1:-$root/fuzz/corpus}
ktc=${KTC:-$root/build/drivers/ktc}
converters=${KTC_CONVERTER_TESTDATA_DIR:-$root/tests/data/converters}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/seeds
mkdir -p "$out"/{npy,onnx,bie,nef,infer_args,tflite,caffe}

/usr/bin/python3 - "$out" "$work" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
out, work = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
arrays = {
    "f32_1x4": rng.standard_normal((1, 4)).astype(np.float32),
    "f64_scalar": np.float64(2.5),
    "i8_2x2": np.array([[-128, 1], [2, 127]], np.int8),
    "u8_3": np.array([0, 7, 255], np.uint8),
    "i16_fortran": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
    "bool_2": np.array([True, False]),
    "i64_empty": np.zeros((0, 3), np.int64),
    "f32_nchw": rng.standard_normal((1, 3, 4, 4)).astype(np.float32),
}
for name, a in arrays.items():
    np.save(f"{out}/npy/{name}.npy", a)
with open(f"{out}/npy/f32_v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.ones((2, 2), np.float32), version=(2, 0))

# A small CNN with the layer kinds the NPU runs: conv+BN+relu, depthwise, pool, add, gemm.
def init(name, a): return numpy_helper.from_array(a.astype(np.float32), name)
nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["r1"]),
    helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], group=4),
    helper.make_node("Add", ["c2", "r1"], ["a"]),
    helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Flatten", ["p"], ["f"]),
    helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], transB=1),
]
inits = [init("w1", rng.standard_normal((4, 3, 3, 3)) * 0.3), init("b1", rng.standard_normal(4) * 0.1),
         init("w2", rng.standard_normal((4, 1, 3, 3)) * 0.3),
         init("w3", rng.standard_normal((5, 16)) * 0.3), init("b3", rng.standard_normal(5) * 0.1)]
g = helper.make_graph(nodes, "small_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(m)
onnx.save(m, f"{out}/onnx/small_cnn.onnx")
onnx.save(m, f"{work}/small_cnn.onnx")
np.save(f"{work}/x.npy", rng.standard_normal((4, 1, 4, 4, 3)).astype(np.float32))
PY

# The ONNX backend node tests: one small model per operator ktc reads.
testdata=/usr/share/libonnx-testdata/data/node
for t in abs add averagepool_2d_default batchnorm_example clip concat_1d_axis_0 conv_with_strides_padding \
         convtranspose depthtospace_example div flatten_axis1 gemm_default_single_elem_vector_bias \
         globalaveragepool leakyrelu matmul_2d maxpool_2d_pads mul prelu_example reduce_mean_keepdims_example \
         relu reshape_reordered_all_dims resize_upsample_scales_nearest sigmoid slice softmax_axis_1 split_equal_parts_1d \
         squeeze sub tanh transpose_default unsqueeze_axis_0 pad constant gather_0 where_example; do
  [[ -f $testdata/test_$t/model.onnx ]] && cp "$testdata/test_$t/model.onnx" "$out/onnx/$t.onnx"
done

# .bie and .nef of the small CNN: int8 on both chips, int16 on the KDP720; one two-model .nef.
for q in "520 8" "720 8" "720 16"; do
  set -- $q
  "$ktc" analysis --model "$work/small_cnn.onnx" --platform "$1" --bitwidth "$2" --input "x=$work/x.npy" \
    -o "$out/bie/small_cnn_$1_int$2.bie" --snr-samples 0 --threads 1 --quiet >/dev/null
  mkdir -p "$work/nef_$1_$2"
  "$ktc" compile -m "32769:0001:$out/bie/small_cnn_$1_int$2.bie" --platform "$1" \
    -o "$work/nef_$1_$2/m.nef" --quiet
  cp "$work/nef_$1_$2/m.nef" "$out/nef/small_cnn_$1_int$2.nef"
done
mkdir -p "$work/two"
"$ktc" compile -m "32769:0001:$out/bie/small_cnn_720_int8.bie" -m "32770:0002:$out/bie/small_cnn_720_int16.bie" \
  --platform 720 --weight-compress -o "$work/two/two.nef" --quiet
cp "$work/two/two.nef" "$out/nef/two_models_720_compressed.nef"

# `ktc infer` command lines, one argument per line.
i=0
for line in "--onnx m.onnx --input x.npy -o out" "--bie m.bie -i x=a.npy -i y=b.npy -o out --radix 7 --platform 720" \
            "--nef m.nef --model-id 32769 --input in -o out --layout nchw -q" "--help" "--onnx m.onnx -o out --layout sideways"; do
  i=$((i + 1)); printf '%s\n' $line >"$out/infer_args/seed_$i.txt"
done
# The converters: the float and int8 hello_world TFLite models, and MTCNN's first net as one
# input (a 4-byte little-endian prototxt length, the prototxt, the caffemodel).
for f in hello_world_float.tflite int8/hello_world_int8.tflite; do
  [[ -f $converters/tflite/$f ]] && cp "$converters/tflite/$f" "$out/tflite/"
done
if [[ -f $converters/caffe/mtcnn_det1.prototxt ]]; then
  /usr/bin/python3 - "$converters/caffe/mtcnn_det1" "$out/caffe/mtcnn_det1.bin" <<'PY'
import struct, sys
text, weights = open(sys.argv[1] + ".prototxt", "rb").read(), open(sys.argv[1] + ".caffemodel", "rb").read()
open(sys.argv[2], "wb").write(struct.pack("<I", len(text)) + text + weights)
PY
fi

chmod -R u+w "$out"  # the third-party files are read-only where they come from
mkdir -p "$final"
for t in "$out"/*/; do
  t=$(basename "$t")
  if [[ ! -d $final/$t ]]; then
    cp -r "$out/$t" "$final/$t"
    echo "fuzz seeds: $t: $(ls "$final/$t" | wc -l) files in $final/$t"
  fi
done
