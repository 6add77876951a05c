#!/usr/bin/python3
"""ktc's int8 beside the standard int8 recipe on the model zoo (tools/zoo.py: torchvision
architectures with untrained weights), on photo crops: the measurement behind the zoo table's
recipe column in docs/numerics.md (issue 15). Not a test: the zoo's floors are
tests/models/test_quant_zoo.cpp's; this prints a markdown table.

  zoo_recipe.py --ktc build/drivers/ktc [--zoo DIR] [--models a,b] [--samples N] [--platform 720]

Calibration and test inputs are N square crops each of disjoint photo sets (the quant_real
suite's, tools/real_models/make_inputs.py), normalized as torchvision's classifiers expect
(ImageNet mean and std), NCHW. ktc runs `ktc flow` with its defaults; the recipe is
tools/real_models/qdq.py run by ONNX Runtime (tests/quant_real/run.py's `recipe`). Each SQNR is of
the logits against the same tool's float run; top-1 is the argmax agreement with it.
Needs /usr/bin/python3 with numpy, onnx and scikit-image, and ONNX Runtime (scripts/peers.sh).
"""
import argparse
import importlib.util
import os
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLASSIFIERS = ["resnet50", "mobilenet_v2", "inception_v3", "squeezenet1_1", "googlenet", "shufflenet_v2_x1_0",
               "densenet121", "efficientnet_b0", "mobilenet_v3_small"]
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def photo_set(inputs, refs, n, size, seed):
    crops = inputs.crops(refs, n, size, np.random.default_rng(seed))
    return np.stack([((c - MEAN) / STD).transpose(2, 0, 1)[None] for c in crops]).astype(np.float32)  # [N, 1, 3, H, W]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ktc", required=True)
    ap.add_argument("--zoo", default=os.environ.get("KTC_ZOO_DIR", os.path.expanduser("~/.cache/ktc/zoo")))
    ap.add_argument("--cache", default=os.path.join(os.environ.get("KTC_CACHE", os.path.expanduser("~/.cache/ktc")),
                                                    "zoo_recipe"))
    ap.add_argument("--models", default=",".join(CLASSIFIERS))
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--platform", default="720")
    args = ap.parse_args()

    suite = module(os.path.join(ROOT, "tests", "quant_real", "run.py"), "quant_real_run")
    inputs = module(os.path.join(HERE, "make_inputs.py"), "make_inputs")
    os.makedirs(args.cache, exist_ok=True)
    rows = []
    for name in args.models.split(","):
        model = os.path.join(args.zoo, name + ".onnx")
        g = onnx.load(model, load_external_data=False).graph
        size = g.input[0].type.tensor_type.shape.dim[2].dim_value
        output = g.output[0].name
        d = os.path.join(args.cache, name)
        os.makedirs(d, exist_ok=True)
        cal, test = os.path.join(d, "cal.npy"), os.path.join(d, "test.npy")
        np.save(cal, photo_set(inputs, inputs.CAL_PHOTOS, args.samples, size, 1))
        np.save(test, photo_set(inputs, inputs.TEST_PHOTOS, args.samples, size, 2))
        rd = suite.recipe(model, cal, test, args.cache, name)
        of, oq = suite.load(f"{rd}/float", output), suite.load(f"{rd}/qdq", output)
        out = os.path.join(d, "ktc")
        p = subprocess.run([args.ktc, "flow", model, "--platform", args.platform, "--layout", "nchw", "--input", test,
                            "--calibration-input", cal, "-o", out, "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            rows.append((name, f"ktc flow exit {p.returncode}", "", "", ""))
            print(p.stdout[-2000:], file=sys.stderr)
            continue
        kf, kq = suite.load(f"{out}/float", output), suite.load(f"{out}/fixed", output)
        rows.append((name, suite.sqnr(kf, kq), suite.sqnr(of, oq), suite.agreement(kf, kq, "class"),
                     suite.agreement(of, oq, "class")))
        print(f"zoo_recipe: {name} done", file=sys.stderr, flush=True)
    print(f"| model | ktc int8 SQNR dB (KDP{args.platform}) | recipe SQNR dB | ktc top-1 | recipe top-1 |")
    print("|---|---|---|---|---|")
    for name, ks, rs, kt, rt in rows:
        if isinstance(ks, str):
            print(f"| {name} | {ks} | | | |")
        else:
            print(f"| {name} | {ks:.2f} | {rs:.2f} | {kt:.0%} | {rt:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
