#!/usr/bin/python3
"""The real-model quantization suite of issue 15 (ctest -L quant_real).

For every trained third-party model (MobileNetV1 0.25/128 TFLite, mini-Xception fer2013 Keras,
MTCNN P/R/O-Net Caffe, PaddleOCR v2 cls and PP-OCRv4 det), on real inputs from Debian-packaged data
(tools/real_models/make_inputs.py; calibration and test sets disjoint):
  - `ktc convert` to ONNX (the PaddleOCR nets are ONNX already), `ktc edit --remove-op-type
    Softmax` where the model ends in one (logits SQNR), the input shape fixed where it is dynamic;
  - `ktc flow` for KDP520 int8, KDP720 int8 and KDP720 int16 (--calibration-input the calibration
    set, --input the test set): float/, fixed/ and hardware/ outputs;
  - the standard int8 recipe (tools/real_models/qdq.py: per-channel int8 weights, per-tensor uint8
    min-max activations with float scales, QDQ after fused Relu/Clip) run by ONNX Runtime
    (onnxruntime-node, tools/real_models/ort_batch.js) on the same inputs;
and prints one table row per model and platform/bits: logits SQNR and top-1 agreement of ktc
(against ktc's float output) and of the recipe (against ONNX Runtime's float output), and whether
the .nef's outputs equal the .bie's byte for byte.

Always asserted: every flow's hardware outputs equal its fixed outputs byte for byte; ktc's float
outputs agree with ONNX Runtime's (max |ktc - ort| <= 1e-4 max |ort|, every output). The floors of
issue 15 ("Done when") are asserted too, except those listed in tests/quant_real/pending.txt: they
print PENDING (issue 15), and the suite fails if one of them now holds (remove it from the list).

Generated inputs and the recipe's results are cached under ${KTC_CACHE:-~/.cache/ktc}/quant_real,
keyed by the hash of the scripts and files they come from; the ktc flows always run.
Missing node, onnxruntime-node or data: a skip (exit 77), a failure when KTC_REQUIRE_PEERS=1.

usage: /usr/bin/python3 tests/quant_real/run.py --ktc PATH/TO/ktc [--cache DIR] [--work DIR]
                                                [--models ID,ID] [--markdown] [--flow-option=--bias-correction]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, "tools", "real_models")
CONV = os.path.join(ROOT, "tests", "data", "converters")
OCR = os.path.join(ROOT, "tools", "peers", "node_modules", "@gutenye", "ocr-models", "assets")
ORT = os.path.join(ROOT, "tools", "peers", "node_modules", "onnxruntime-node")
SKIP = 77

# id, label, source files, how to make the float ONNX, the output scored, its kind:
#   class: logits [1, C, ...], top-1 = argmax over C agrees at every position;
#   map:   PP-OCRv4 det's probability map, "top-1" = pixels on the same side of 0.3 (PaddleOCR's
#          binarisation threshold).
MODELS = [
    dict(id="mobilenet_v1", label="MobileNetV1 0.25/128 (TFLite)",
         convert=["--from", "tflite", f"{CONV}/tflite/mobilenet_v1_0.25_128.tflite"],
         edit=["--remove-op-type", "Softmax"], output="MobilenetV1/Predictions/Reshape_1", kind="class"),
    dict(id="mini_xception", label="mini-Xception fer2013 (Keras)",
         convert=["--from", "keras", f"{CONV}/keras/fer2013_mini_XCEPTION.102-0.66.hdf5"],
         edit=["--remove-op-type", "Softmax"], output="predictions", kind="class"),
    dict(id="mtcnn_pnet", label="MTCNN P-Net (Caffe)",
         convert=["--from", "caffe", f"{CONV}/caffe/mtcnn_det1.prototxt", f"{CONV}/caffe/mtcnn_det1.caffemodel"],
         edit=["--remove-op-type", "Softmax"], output="prob1", kind="class"),
    dict(id="mtcnn_rnet", label="MTCNN R-Net (Caffe)",
         convert=["--from", "caffe", f"{CONV}/caffe/mtcnn_det2.prototxt", f"{CONV}/caffe/mtcnn_det2.caffemodel"],
         edit=["--remove-op-type", "Softmax"], output="prob1", kind="class"),
    dict(id="mtcnn_onet", label="MTCNN O-Net (Caffe)",
         convert=["--from", "caffe", f"{CONV}/caffe/mtcnn_det3.prototxt", f"{CONV}/caffe/mtcnn_det3.caffemodel"],
         edit=["--remove-op-type", "Softmax"], output="prob1", kind="class"),
    dict(id="ppocr_cls", label="PaddleOCR v2 cls (ONNX)", onnx=f"{OCR}/ch_ppocr_mobile_v2.0_cls_infer.onnx",
         edit=["--remove-op-type", "Softmax", "--input-shape", "x=1,3,48,192"],
         output="softmax_0.tmp_0", kind="class"),
    dict(id="ppocr_det", label="PP-OCRv4 det 160x160 (ONNX)", onnx=f"{OCR}/ch_PP-OCRv4_det_infer.onnx",
         edit=["--input-shape", "x=1,3,160,160"], output="sigmoid_0.tmp_0", kind="map",
         # Its two ConvTranspose (the upsampling head) are not in KDP520's operator table (the
         # vendor's Table 1.1) and have no CPU fallback: the flow must stop at evaluate, exit 3.
         unsupported={"520": "ConvTranspose"}),
]
CONFIGS = [("520", 8), ("720", 8), ("720", 16)]
FLOAT_TOLERANCE = 1e-4  # max |ktc float - ORT float| relative to max |ORT float|
INT16_FLOOR_DB = 45.0
MEDIAN_MARGIN_DB = 10.0
# How clearly a pending floor must hold before the suite asks for its removal (in the floor's unit).
PENDING_MARGIN_DB = 0.5
PENDING_MARGIN_TOP1 = 0.01
TOP1_FLOOR = 0.90


def cfg_name(platform, bits):
    return f"{platform}-int{bits}"


def sha(paths, extra=b""):
    h = hashlib.sha256(extra)
    for p in paths:
        h.update(os.path.basename(p).encode())
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def run(cmd, what):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {r.returncode}): {' '.join(cmd)}\n{r.stdout.strip()}")
    return r.stdout


def file_name(output):
    return output.replace("/", "_").replace("\\", "_").replace(":", "_")


def missing_peers():
    missing = []
    if shutil.which("node") is None:
        missing.append("node (scripts/setup.sh installs nodejs)")
    if not os.path.isdir(ORT):
        missing.append(f"{ORT} (scripts/peers.sh)")
    for m in MODELS:
        for p in [m["onnx"]] if "onnx" in m else [a for a in m["convert"] if a.startswith(CONV)]:
            if not os.path.isfile(p):
                missing.append(p + (" (scripts/peers.sh)" if "onnx" in m else ""))
    try:
        import numpy, onnx, skimage, matplotlib, PIL  # noqa: F401
    except ImportError as e:
        missing.append(f"python module {e.name} (scripts/setup.sh: python3-numpy, python3-onnx, "
                       "python3-skimage, python3-matplotlib, python3-pil)")
    if not os.path.isfile("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        missing.append("/usr/share/fonts/truetype/dejavu (fonts-dejavu-core)")
    return missing


def prune(cache, prefix, keep):
    """Remove older cache entries of the same kind (generated from other scripts or models)."""
    for e in os.listdir(cache):
        if e.startswith(prefix) and e != os.path.basename(keep):
            shutil.rmtree(os.path.join(cache, e), ignore_errors=True)


def ensure_inputs(cache):
    key = sha([os.path.join(TOOLS, "make_inputs.py")])
    d = os.path.join(cache, "inputs-" + key)
    if not os.path.isfile(os.path.join(d, "done")):
        tmp = d + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        run([sys.executable, os.path.join(TOOLS, "make_inputs.py"), tmp], "make_inputs.py")
        open(os.path.join(tmp, "done"), "w").close()
        shutil.rmtree(d, ignore_errors=True)
        os.replace(tmp, d)
        prune(cache, "inputs-", d)
    return d


def float_model(ktc, m, work):
    d = os.path.join(work, m["id"])
    os.makedirs(d, exist_ok=True)
    src = m.get("onnx")
    if src is None:
        src = os.path.join(d, "converted.onnx")
        run([ktc, "convert", *m["convert"], "-o", src, "-q"], f"{m['id']}: ktc convert")
    out = os.path.join(d, m["id"] + ".onnx")
    run([ktc, "edit", src, "-o", out, *m["edit"], "-q"], f"{m['id']}: ktc edit")
    return out


def recipe(model, cal, test, cache, mid):
    """ONNX Runtime's float outputs and the standard recipe's outputs on the test set (cached)."""
    key = sha([os.path.join(TOOLS, "qdq.py"), os.path.join(TOOLS, "ort_batch.js"), model, cal, test])
    d = os.path.join(cache, f"recipe-{mid}-{key}")
    if not os.path.isfile(os.path.join(d, "done")):
        tmp = d + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        qdq, js = os.path.join(TOOLS, "qdq.py"), os.path.join(TOOLS, "ort_batch.js")
        py = sys.executable
        run([py, qdq, "prep", model, f"{tmp}/prep.onnx"], f"{mid}: qdq.py prep")
        run([py, qdq, "augment", f"{tmp}/prep.onnx", f"{tmp}/augmented.onnx"], f"{mid}: qdq.py augment")
        run(["node", js, f"{tmp}/augmented.onnx", cal, "--ranges", f"{tmp}/ranges.json"], f"{mid}: ORT ranges")
        os.remove(f"{tmp}/augmented.onnx")
        run([py, qdq, "build", f"{tmp}/prep.onnx", f"{tmp}/ranges.json", f"{tmp}/qdq.onnx"], f"{mid}: qdq.py build")
        run(["node", js, model, test, f"{tmp}/float"], f"{mid}: ORT float")
        run(["node", js, f"{tmp}/qdq.onnx", test, f"{tmp}/qdq"], f"{mid}: ORT QDQ")
        open(os.path.join(tmp, "done"), "w").close()
        shutil.rmtree(d, ignore_errors=True)
        os.replace(tmp, d)
        prune(cache, f"recipe-{mid}-", d)
    return d


def sqnr(f, q):
    import numpy as np
    f, q = f.astype(np.float64), q.astype(np.float64)
    noise = ((f - q) ** 2).sum()
    return float("inf") if noise == 0 else float(10 * np.log10((f ** 2).sum() / noise))


def agreement(f, q, kind):
    """Fraction of samples (class: argmax over the class axis, every position) or of pixels (map:
    binarised at 0.3) on which q agrees with f; f, q stacked [N, 1, C, ...]."""
    import numpy as np
    if kind == "map":
        return float(((f > 0.3) == (q > 0.3)).mean())
    same = f.argmax(axis=2) == q.argmax(axis=2)
    return float(same.reshape(len(f), -1).all(axis=1).mean())


def load(d, output):
    import numpy as np
    return np.load(os.path.join(d, file_name(output) + ".npy"))


def read_pending(path):
    pending = {}
    if os.path.isfile(path):
        with open(path) as f:
            for n, line in enumerate(f, 1):
                body, _, comment = line.partition("#")
                fid = " ".join(body.split())
                if fid:
                    pending[fid] = comment.strip()
    return pending


def fmt_db(x):
    return "-" if x is None else ("inf" if x == float("inf") else f"{x:.2f}")


def fmt_agree(a, n, kind):
    if a is None:
        return "-"
    return f"{100 * a:.1f}% px" if kind == "map" else f"{round(a * n)}/{n}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ktc", required=True, help="the ktc binary")
    ap.add_argument("--cache", default=os.path.join(os.environ.get("KTC_CACHE") or
                                                    os.path.join(os.path.expanduser("~"), ".cache", "ktc"),
                                                    "quant_real"))
    ap.add_argument("--work", help="folder for the converted models and flow outputs (default: CACHE/work, emptied first)")
    ap.add_argument("--models", help="comma-separated ids (default: all; the suite floors need all)")
    ap.add_argument("--pending", default=os.path.join(ROOT, "tests", "quant_real", "pending.txt"))
    ap.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    ap.add_argument("--flow-option", action="append", default=[],
                    help="an option for every ktc flow, e.g. --flow-option=--bias-correction (repeatable); "
                         "the floors and pending.txt are for the defaults")
    args = ap.parse_args()
    t0 = time.time()
    required = os.environ.get("KTC_REQUIRE_PEERS") == "1"

    ktc = os.path.abspath(args.ktc)
    if not os.access(ktc, os.X_OK):
        print(f"quant_real: FAIL: {ktc} is not an executable ktc", flush=True)
        return 1
    missing = missing_peers()
    if missing:
        for m in missing:
            print(f"quant_real: missing: {m}")
        if required:
            print("quant_real: FAIL: peers or data missing but KTC_REQUIRE_PEERS=1")
            return 1
        print("quant_real: SKIP: peers or data missing (scripts/setup.sh, scripts/peers.sh)")
        return SKIP

    import numpy as np
    models = MODELS
    if args.models:
        ids = args.models.split(",")
        unknown = [i for i in ids if i not in {m["id"] for m in MODELS}]
        if unknown:
            print(f"quant_real: unknown model id(s) {unknown}")
            return 2
        models = [m for m in MODELS if m["id"] in ids]
    os.makedirs(args.cache, exist_ok=True)
    work = args.work or os.path.join(args.cache, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    inputs = ensure_inputs(args.cache)
    print(f"quant_real: inputs {inputs}", flush=True)
    hard_failures = []
    results = []  # per model: dict
    for m in models:
        mid = m["id"]
        cal, test = f"{inputs}/{mid}/cal.npy", f"{inputs}/{mid}/test.npy"
        n = int(np.load(test, mmap_mode="r").shape[0])
        r = dict(model=m, n=n, flows={})
        results.append(r)
        try:
            model = float_model(ktc, m, work)
            rd = recipe(model, cal, test, args.cache, mid)
        except RuntimeError as e:
            hard_failures.append(str(e))
            print(f"quant_real: {e}", flush=True)
            continue
        ort_float, ort_qdq = load(f"{rd}/float", m["output"]), load(f"{rd}/qdq", m["output"])
        r["recipe"] = (sqnr(ort_float, ort_qdq), agreement(ort_float, ort_qdq, m["kind"]))
        for platform, bits in CONFIGS:
            c = cfg_name(platform, bits)
            out = os.path.join(work, mid, c)
            cmd = [ktc, "flow", model, "--platform", platform, "--bitwidth", str(bits), "--layout", "nchw",
                   "--input", test, "--calibration-input", cal, "-o", out, "--quiet"] + args.flow_option
            t = time.time()
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            fl = dict(seconds=time.time() - t)
            r["flows"][c] = fl
            op = m.get("unsupported", {}).get(platform)
            if op is not None:
                fl["na"] = f"{op} not on KDP{platform}"
                if p.returncode != 3 or f"({op})" not in p.stdout:
                    hard_failures.append(f"{mid} {c}: expected ktc flow to refuse the {op} nodes (exit 3), got exit "
                                         f"{p.returncode}: if KDP{platform} now runs {op}, drop 'unsupported' in run.py")
                continue
            if p.returncode != 0:
                err = [l for l in p.stdout.splitlines() if "error" in l] or p.stdout.splitlines()[-1:]
                fl["error"] = f"exit {p.returncode}: {err[0] if err else ''}"
                print(f"quant_real: {mid} {c}: ktc flow failed, {fl['error']}", flush=True)
                continue
            kf, kq = load(f"{out}/float", m["output"]), load(f"{out}/fixed", m["output"])
            fl["sqnr"], fl["top1"] = sqnr(kf, kq), agreement(kf, kq, m["kind"])
            # nef == bie, byte for byte, every output.
            names = sorted(os.listdir(f"{out}/fixed"))
            fl["nef_eq_bie"] = names == sorted(os.listdir(f"{out}/hardware")) and all(
                open(f"{out}/fixed/{x}", "rb").read() == open(f"{out}/hardware/{x}", "rb").read() for x in names)
            if not fl["nef_eq_bie"]:
                hard_failures.append(f"{mid} {c}: hardware outputs differ from fixed outputs (nef != bie)")
            # ktc float vs ONNX Runtime float, every output (once per model: the float run is the same).
            if "float_rel" not in r:
                worst = 0.0
                for x in names:
                    a = np.load(f"{out}/float/{x}").astype(np.float64)
                    b = np.load(f"{rd}/float/{x}").astype(np.float64)
                    if a.shape != b.shape:
                        hard_failures.append(f"{mid}: float output {x}: ktc shape {a.shape}, ORT {b.shape}")
                        worst = float("inf")
                        continue
                    worst = max(worst, float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)))
                r["float_rel"] = worst
                if not worst <= FLOAT_TOLERANCE:
                    hard_failures.append(f"{mid}: ktc float vs ONNX Runtime float: max |diff| / max |ort| "
                                         f"{worst:.3g} > {FLOAT_TOLERANCE:g}")
        print(f"quant_real: {mid} done ({time.time() - t0:.0f} s)", flush=True)

    # The floors of issue 15, by id.
    floors = {}  # id -> (holds, detail, by how many margins it holds)
    every = len(models) == len(MODELS)
    for r in results:
        mid, rec = r["model"]["id"], r.get("recipe")
        for platform, bits in CONFIGS:
            c = cfg_name(platform, bits)
            fl = r["flows"].get(c)
            if fl and "na" in fl:
                continue
            ran = fl is not None and "error" not in fl
            floors[f"flow {mid} {c}"] = (ran, fl.get("error", "quantized and compiled") if fl else "not run",
                                         1.0 if ran else -1.0)
            if not fl or "error" in fl:
                continue
            if bits == 8 and rec:
                floors[f"int8-sqnr-vs-recipe {mid} {platform}"] = (
                    fl["sqnr"] >= rec[0], f"ktc {fmt_db(fl['sqnr'])} dB vs recipe {fmt_db(rec[0])} dB",
                    (fl["sqnr"] - rec[0]) / PENDING_MARGIN_DB)
            if bits == 16:
                floors[f"int16-sqnr {mid}"] = (fl["sqnr"] >= INT16_FLOOR_DB,
                                               f"{fmt_db(fl['sqnr'])} dB (floor {INT16_FLOOR_DB:g})",
                                               (fl["sqnr"] - INT16_FLOOR_DB) / PENDING_MARGIN_DB)
    if every:
        for platform in ("520", "720"):
            c = cfg_name(platform, 8)
            # Over the models the chip can run (PP-OCRv4 det is not one on KDP520).
            runs = [r for r in results if "na" not in r["flows"].get(c, {})]
            ks = [r["flows"].get(c, {}).get("sqnr", float("-inf")) for r in runs]
            rs = [r.get("recipe", (float("-inf"), 0))[0] for r in runs]
            km, rm = float(np.median(ks)), float(np.median(rs))
            floors[f"int8-median-vs-recipe {platform}"] = (
                km >= rm + MEDIAN_MARGIN_DB, f"median ktc {fmt_db(km)} dB vs recipe {fmt_db(rm)} + {MEDIAN_MARGIN_DB:g} dB",
                (km - rm - MEDIAN_MARGIN_DB) / PENDING_MARGIN_DB)
            agree = sum(r["flows"].get(c, {}).get("top1", 0.0) * r["n"] for r in runs)
            total = sum(r["n"] for r in runs)
            rec_agree = sum(r.get("recipe", (0, 0.0))[1] * r["n"] for r in runs)
            floors[f"int8-top1-pooled {platform}"] = (
                agree / total >= TOP1_FLOOR,
                f"ktc {100 * agree / total:.1f}% vs floor {100 * TOP1_FLOOR:g}% (recipe {100 * rec_agree / total:.1f}%)",
                (agree / total - TOP1_FLOOR) / PENDING_MARGIN_TOP1)

    pending = read_pending(args.pending)
    status = {}
    floor_failures = []
    for fid, (holds, detail, margins) in floors.items():
        if fid in pending:
            # A pending floor must hold clearly (by PENDING_MARGIN_*) before the suite asks for its
            # removal: one that holds by a hair here may not on another CPU's float rounding.
            clearly = margins >= 1.0
            status[fid] = ("FAIL: pending floor now holds, remove it from pending.txt" if clearly
                           else "PENDING (issue 15, holds by less than the margin)" if holds else "PENDING (issue 15)")
            if clearly:
                floor_failures.append(f"{fid}: now holds ({detail}): remove it from {args.pending}")
        else:
            status[fid] = "ok" if holds else "FAIL"
            if not holds:
                floor_failures.append(f"{fid}: {detail}")
    # Every floor the suite can assert; a pending line naming none of them is a typo or stale.
    universe = {f"int8-median-vs-recipe {p}" for p in ("520", "720")} | {f"int8-top1-pooled {p}" for p in ("520", "720")}
    for m in MODELS:
        for platform, bits in CONFIGS:
            if platform in m.get("unsupported", {}):
                continue
            universe.add(f"flow {m['id']} {cfg_name(platform, bits)}")
            universe.add(f"int8-sqnr-vs-recipe {m['id']} {platform}" if bits == 8 else f"int16-sqnr {m['id']}")
    for fid in pending:
        if fid not in universe:
            floor_failures.append(f"{args.pending}: '{fid}' is not a floor of the suite")
        elif fid not in floors:
            print(f"floor {fid}: pending, not evaluated in this run")

    # The table.
    head = ["model", "platform", "ktc SQNR dB", "recipe SQNR dB", "ktc top-1", "recipe top-1", "nef==bie", "floors"]
    rows = []
    for r in results:
        m = r["model"]
        rec = r.get("recipe")
        for platform, bits in CONFIGS:
            c = cfg_name(platform, bits)
            fl = r["flows"].get(c, {})
            ids = [f"flow {m['id']} {c}",
                   f"int8-sqnr-vs-recipe {m['id']} {platform}" if bits == 8 else f"int16-sqnr {m['id']}"]
            st = [status[i] for i in ids if i in status]
            verdict = ("FAIL" if any(s.startswith("FAIL") for s in st) else
                       "PENDING (issue 15)" if any(s.startswith("PENDING") for s in st) else "ok")
            if fl.get("nef_eq_bie") is False:
                verdict = "FAIL"
            if "na" in fl:
                verdict = "n/a: " + fl["na"]
            rows.append([m["id"], f"{platform} int{bits}",
                         "n/a" if "na" in fl else "failed" if "error" in fl else fmt_db(fl.get("sqnr")),
                         fmt_db(rec[0]) if rec and bits == 8 else ("(int8) " + fmt_db(rec[0]) if rec else "-"),
                         fmt_agree(fl.get("top1"), r["n"], m["kind"]),
                         fmt_agree(rec[1], r["n"], m["kind"]) if rec else "-",
                         {True: "yes", False: "NO"}.get(fl.get("nef_eq_bie"), "-"), verdict])
    widths = [max(len(str(x[i])) for x in [head] + rows) for i in range(len(head))]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
    print()
    for r in results:
        if "float_rel" in r:
            print(f"float check {r['model']['id']}: ktc float vs ONNX Runtime float, max |diff| / max |ort| = "
                  f"{r['float_rel']:.2e} (tolerance {FLOAT_TOLERANCE:g}); test samples {r['n']}")
    print()
    for fid, (holds, detail, _) in floors.items():
        print(f"floor {fid}: {status[fid]} ({detail})")
    if args.markdown:
        print()
        print("| " + " | ".join(head[:-1]) + " |")
        print("|" + "---|" * (len(head) - 1))
        for row in rows:
            print("| " + " | ".join(str(x) for x in row[:-1]) + " |")
    summary = {r["model"]["id"]: dict(n=r["n"], recipe=r.get("recipe"), float_rel=r.get("float_rel"),
                                      flows=r["flows"]) for r in results}
    with open(os.path.join(work, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)
    print(f"\nquant_real: {time.time() - t0:.0f} s; outputs in {work}")
    for e in hard_failures + floor_failures:
        print(f"quant_real: FAIL: {e}")
    if hard_failures or floor_failures:
        return 1
    print("quant_real: passed" + (f" ({sum(s.startswith('PENDING') for s in status.values())} floors pending, "
                                  "tests/quant_real/pending.txt)" if pending else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
