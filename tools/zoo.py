#!/usr/bin/python3
"""Export a zoo of torchvision models to ONNX (opset 11) for ktc tests and benchmarks.

    /usr/bin/python3 tools/zoo.py --out DIR [--models a,b,...] [--force] [--list]

No downloads: weights are random (weights=None, torch.manual_seed(0)). To keep activations
realistic, every BatchNorm is recalibrated before export: BN layers alone go to train mode with
running stats reset and momentum=None (cumulative average), 4 batches of 8 N(0,1) images run
through under torch.no_grad(), then the model is put back in eval(). So each BN output is about
zero-mean / unit-variance on the data, as in a trained network, instead of exploding or vanishing.

For each model, writes
  DIR/<name>.onnx         static shapes, batch 1, input "input", output "output",
                          do_constant_folding=True (eval-mode export folds BN into a preceding conv)
  DIR/<name>.input.npy    float32 [1,3,H,W], N(0,1), numpy default_rng(INPUT_SEED)
  DIR/<name>.output.npy   float32, the PyTorch eval output for that input
and DIR/manifest.txt (every model whose files are in DIR). A model whose three files exist is
skipped (cache) unless --force. Each export is checked with onnx.checker (full_check) and its
output checked for NaN/Inf and degeneracy.
"""
import argparse
import os
import sys
import time

import numpy as np

TORCH_SEED = 0        # weights
CALIB_SEED = 1        # calibration images
INPUT_SEED = 2        # the saved test input
CALIB_BATCHES = 4
CALIB_BATCH_SIZE = 8
OPSET = 11

# name -> (constructor kwargs, input H=W)
MODELS = {
    "resnet50": ({}, 224),
    "mobilenet_v2": ({}, 224),
    "inception_v3": (dict(aux_logits=False, init_weights=True, transform_input=False), 299),
    "squeezenet1_1": ({}, 224),
    "googlenet": (dict(aux_logits=False, init_weights=True, transform_input=False), 224),
    "shufflenet_v2_x1_0": ({}, 224),
    "densenet121": ({}, 224),
    "efficientnet_b0": ({}, 224),
    "mobilenet_v3_small": ({}, 224),
}


def paths(out, name):
    return (os.path.join(out, f"{name}.onnx"),
            os.path.join(out, f"{name}.input.npy"),
            os.path.join(out, f"{name}.output.npy"))


def build(name):
    import torch
    import torchvision
    kwargs, size = MODELS[name]
    torch.manual_seed(TORCH_SEED)
    model = getattr(torchvision.models, name)(weights=None, **kwargs)
    return model, size


def recalibrate_bn(model, size):
    """Make BatchNorm running stats match N(0,1) input data (cumulative average)."""
    import torch
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    model.eval()                       # dropout / stochastic depth stay off
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    g = torch.Generator().manual_seed(CALIB_SEED)
    with torch.no_grad():
        for _ in range(CALIB_BATCHES):
            model(torch.randn(CALIB_BATCH_SIZE, 3, size, size, generator=g))
    model.eval()
    for m in bns:                      # back to the usual value, so the exported attribute is too
        m.momentum = 0.1
    return len(bns)


def op_types(onnx_model):
    return sorted({n.op_type for n in onnx_model.graph.node})


def shape_of(value_info):
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
            for d in value_info.type.tensor_type.shape.dim]


def check_output(name, y):
    if not np.all(np.isfinite(y)):
        raise RuntimeError(f"{name}: output has NaN or Inf")
    if float(np.std(y)) < 1e-6 or np.all(y == y.flat[0]):
        raise RuntimeError(f"{name}: output is degenerate (std {np.std(y):.3g})")


def export(name, out):
    import torch
    import onnx
    onnx_path, in_path, out_path = paths(out, name)
    model, size = build(name)
    n_bn = recalibrate_bn(model, size)
    x = np.random.default_rng(INPUT_SEED).standard_normal((1, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy().astype(np.float32)
    check_output(name, y)

    tmp = onnx_path + ".tmp"
    torch.onnx.export(model, torch.from_numpy(x), tmp, opset_version=OPSET,
                      do_constant_folding=True, input_names=["input"], output_names=["output"],
                      training=torch.onnx.TrainingMode.EVAL)
    m = onnx.load(tmp)
    onnx.checker.check_model(m, full_check=True)
    ins = [shape_of(v) for v in m.graph.input if v.name == "input"]
    outs = [shape_of(v) for v in m.graph.output if v.name == "output"]
    if ins != [list(x.shape)] or outs != [list(y.shape)]:
        raise RuntimeError(f"{name}: ONNX shapes {ins} -> {outs}, PyTorch {x.shape} -> {y.shape}")
    # npy files first, the .onnx last: the cache test needs all three
    np.save(in_path, x)
    np.save(out_path, y)
    os.replace(tmp, onnx_path)
    return n_bn


def describe(out, name):
    import onnx
    onnx_path, in_path, out_path = paths(out, name)
    m = onnx.load(onnx_path, load_external_data=False)
    x = np.load(in_path, mmap_mode="r")
    y = np.load(out_path)
    return dict(input=list(x.shape), output=list(y.shape), bytes=os.path.getsize(onnx_path),
                ops=op_types(m), nodes=len(m.graph.node), maxabs=float(np.max(np.abs(y))),
                std=float(np.std(y)))


def write_manifest(out):
    lines = ["# name input_shape output_shape onnx_bytes ops"]
    for name in MODELS:
        if all(os.path.exists(p) for p in paths(out, name)):
            d = describe(out, name)
            lines.append(" ".join([name, "x".join(map(str, d["input"])),
                                   "x".join(map(str, d["output"])), str(d["bytes"]),
                                   ",".join(d["ops"])]))
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description="export torchvision models (random weights, "
                                             "recalibrated BN) to ONNX opset 11")
    ap.add_argument("--out", help="output folder")
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated subset (default: all)")
    ap.add_argument("--force", action="store_true", help="re-export even if the files exist")
    ap.add_argument("--list", action="store_true", help="list the model names and exit")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    a = ap.parse_args(argv)
    if a.list:
        for name, (_, size) in MODELS.items():
            print(f"{name} 1x3x{size}x{size}")
        return 0
    if not a.out:
        ap.error("--out is required")
    names = [n.strip() for n in a.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(MODELS)}")
    import torch
    if a.threads:
        torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)

    failed = []
    for name in names:
        t0 = time.time()
        cached = not a.force and all(os.path.exists(p) for p in paths(a.out, name))
        try:
            n_bn = None if cached else export(name, a.out)
            d = describe(a.out, name)
        except Exception as e:       # report and go on with the other models
            print(f"{name}: FAILED: {e}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        how = "cached" if cached else f"exported ({n_bn} BN recalibrated)"
        print(f"{name:20s} {time.time() - t0:6.1f} s  {how}  "
              f"in {'x'.join(map(str, d['input']))} out {'x'.join(map(str, d['output']))}  "
              f"{d['bytes'] / 1e6:.1f} MB  {d['nodes']} nodes  "
              f"max|output| {d['maxabs']:.4g} std {d['std']:.4g}", flush=True)
        print(f"{'':20s} ops: {' '.join(d['ops'])}", flush=True)
    write_manifest(a.out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
