#!/usr/bin/python3
"""Turns a Keras model saved by model.save (.h5/.hdf5) into a TensorFlow.js layers model folder:
OUTDIR/model.json (the Keras topology + a weights manifest) and OUTDIR/weights.bin.

Part of the Keras oracle (tools/oracles/keras/run.js): it reads the file with h5py, independently
of ktc's own HDF5 reader, so the two can disagree when one of them is wrong.

usage: /usr/bin/python3 h5_to_tfjs.py MODEL.h5 OUTDIR
"""
import json
import os
import sys

import h5py
import numpy as np


def text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: h5_to_tfjs.py MODEL.h5 OUTDIR")
    source, out_dir = sys.argv[1], sys.argv[2]
    with h5py.File(source, "r") as f:
        topology = json.loads(text(f.attrs["model_config"]))
        root = f["model_weights"] if "model_weights" in f else f
        specs, blobs = [], []
        for layer in root.attrs["layer_names"]:
            layer = text(layer)
            group = root[layer]
            for weight in group.attrs.get("weight_names", []):
                weight = text(weight)
                data = np.asarray(group[weight], dtype="<f4")
                # tfjs matches weights by "<layer>/<weight>": the group path inside the layer's
                # group may carry another prefix (e.g. "conv2d_1_1/kernel:0").
                base = weight.split("/")[-1].split(":")[0]
                specs.append({"name": layer + "/" + base, "shape": list(data.shape), "dtype": "float32"})
                blobs.append(data.tobytes())
        keras_version = text(f.attrs.get("keras_version", "2.2.4"))
        backend = text(f.attrs.get("backend", "tensorflow"))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "weights.bin"), "wb") as w:
        for b in blobs:
            w.write(b)
    model = {
        "format": "layers-model",
        "modelTopology": {"keras_version": keras_version, "backend": backend, "model_config": topology},
        "weightsManifest": [{"paths": ["weights.bin"], "weights": specs}],
    }
    with open(os.path.join(out_dir, "model.json"), "w") as m:
        json.dump(model, m)


if __name__ == "__main__":
    main()
