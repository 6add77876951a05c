#!/usr/bin/python3
"""Where ktc's int8 loses to the standard recipe, tensor by tensor (issue 15): the SQNR of every
intermediate tensor of the model under ktc (`ktc analysis -v --snr-input`) beside the same
tensor's under the standard QDQ recipe run by ONNX Runtime, both on the same held-out samples and
each against its own tool's float run. Not a test: it prints a markdown table in the float
model's node order, with the difference per tensor, so that the first tensor where the gap opens
is the one to read.

  tensors_vs_recipe.py --ktc build/drivers/ktc --model M.onnx --cal CAL.npy --test TEST.npy
                       [--samples 8] [--platform 720] [-- extra ktc analysis options]

CAL.npy and TEST.npy hold stacked NCHW float32 samples [N, 1, C, H, W] (as tests/quant_real and
tools/real_models/zoo_recipe.py write them); the recipe is calibrated on CAL.npy as the suite's
is (tests/quant_real/run.py's `recipe`, cached the same way), ktc on CAL.npy with its defaults.
Only tensors both tools keep under the same name are compared: ktc fuses and renames some
(a Conv's output read only by its Relu is the Relu's), the recipe's tensors keep the float
model's names. ktc's figures come rounded to 0.1 dB; a name too long for ktc's name column is on a
line of its own, its figures on the next.
Needs /usr/bin/python3 with numpy and onnx, and ONNX Runtime (scripts/peers.sh).
"""
import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# A row of `ktc analysis -v`'s table: tensor, op, bits, radix, scale, SNR dB; FIGURES alone is the
# second line of a row whose name stood alone on the line before.
FIGURES = r"(\S+)\s+(\d+)\s+(-?\d+)\s+(\S+)\s+(-?[\d.]+|exact|-inf)(?:\s+\(graph output\))?\s*$"
ROW = re.compile(r"^  (\S+)\s+" + FIGURES)
NAME_ALONE = re.compile(r"^  (\S+)\s*$")
FIGURES_ALONE = re.compile(r"^\s+" + FIGURES)


def module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"tensors_vs_recipe: {' '.join(cmd[:3])} ... exit {p.returncode}\n{p.stdout[-2000:]}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ktc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--cal", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--platform", default="720")
    ap.add_argument("--cache", default=os.path.join(os.environ.get("KTC_CACHE", os.path.expanduser("~/.cache/ktc")),
                                                    "tensors_vs_recipe"))
    ap.add_argument("analysis_options", nargs="*", help="after --: more `ktc analysis` options")
    args = ap.parse_args()

    suite = module(os.path.join(ROOT, "tests", "quant_real", "run.py"), "quant_real_run")
    qdq, js = os.path.join(HERE, "qdq.py"), os.path.join(HERE, "ort_batch.js")
    model = onnx.load(args.model, load_external_data=False)
    input_name = model.graph.input[0].name
    mid = os.path.splitext(os.path.basename(args.model))[0]
    os.makedirs(args.cache, exist_ok=True)
    recipe_dir = suite.recipe(args.model, args.cal, args.test, args.cache, mid)

    with tempfile.TemporaryDirectory(prefix="ktc-tensors-") as tmp:
        test = os.path.join(tmp, "test.npy")
        np.save(test, np.load(args.test)[: args.samples])
        outputs = {}
        for kind in ("prep", "qdq"):  # the recipe's float model and its QDQ model, every tensor an output
            augmented = os.path.join(tmp, kind + "_all.onnx")
            run([sys.executable, qdq, "augment", os.path.join(recipe_dir, kind + ".onnx"), augmented])
            run(["node", js, augmented, test, os.path.join(tmp, kind)])
            outputs[kind] = os.path.join(tmp, kind)
        table = run([args.ktc, "analysis", args.model, "--platform", args.platform, "--layout", "nchw", "-i",
                     f"{input_name}={args.cal}", "--snr-input", f"{input_name}={test}", "--snr-samples",
                     str(args.samples), "-o", os.path.join(tmp, "model.bie"), "-v", "--quiet"] +
                    args.analysis_options)
        ktc = {}  # by the file name ort_batch.js writes the tensor under: its SNR dB
        name = None
        for line in table.splitlines():
            row, alone = ROW.match(line), FIGURES_ALONE.match(line) if name else None
            if row or alone:
                snr = (row or alone).group(6 if row else 5)
                ktc[suite.file_name(row.group(1) if row else name)] = float("inf") if snr == "exact" else float(snr)
            m = NAME_ALONE.match(line)
            name = m.group(1) if m else None

        rows = []
        for node in onnx.load(os.path.join(recipe_dir, "prep.onnx"), load_external_data=False).graph.node:
            for name in node.output:
                key = suite.file_name(name)
                f, q = os.path.join(outputs["prep"], key + ".npy"), os.path.join(outputs["qdq"], key + ".npy")
                if key not in ktc or not os.path.isfile(f) or not os.path.isfile(q):
                    continue
                fv, qv = np.load(f), np.load(q)
                if fv.shape == qv.shape:
                    rows.append((name, node.op_type, suite.sqnr(fv, qv), ktc[key]))

    print(f"{mid}: per-tensor SQNR dB on {args.samples} held-out samples, KDP{args.platform} int8 "
          f"({len(rows)} tensors both tools keep)\n")
    print("| tensor | op | recipe | ktc | ktc - recipe |")
    print("|---|---|---|---|---|")
    for name, op, r, k in rows:
        print(f"| {name} | {op} | {r:.2f} | {k:.1f} | {k - r:+.2f} |")
    if rows:
        gaps = sorted(k - r for _, _, r, k in rows)
        print(f"\nmedian ktc - recipe: {gaps[len(gaps) // 2]:+.2f} dB; ktc ahead on "
              f"{sum(g > 0 for g in gaps)} of {len(gaps)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
